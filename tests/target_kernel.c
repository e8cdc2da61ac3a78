/*
 * target_kernel.c — the "kernel" target: glibc's own epoll/eventfd and fd calls on the real
 * kernel. The only file of the suite that includes <sys/epoll.h>, <sys/eventfd.h>, <sys/timerfd.h>
 * and <sys/signalfd.h> (Linux; elsewhere an empty target the runner refuses).
 */
#if defined(__linux__) && !defined(__COSMOPOLITAN__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef __GLIBC__
/* musl (1.2.3) has no epoll_pwait2 wrapper: the kernel's call by number, as glibc's wrapper
 * makes it. Weak, so that a drop-in linked into the suite (mk/static.mk) replaces it as it
 * replaces every other name here. */
#include <sys/syscall.h>
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                 const struct timespec *timeout, const sigset_t *sigmask);
__attribute__((weak)) int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                                       const struct timespec *timeout, const sigset_t *sigmask)
{
    return (int)syscall(SYS_epoll_pwait2, epfd, events, maxevents, timeout, sigmask, 8);
}
#endif

const struct target target_kernel = {
    .name = "kernel",
    .epoll_create = epoll_create,
    .epoll_create1 = epoll_create1,
    .epoll_ctl = epoll_ctl,
    .epoll_wait = epoll_wait,
    .epoll_pwait = epoll_pwait,
    .epoll_pwait2 = epoll_pwait2,
    .eventfd = eventfd,
    .eventfd_read = eventfd_read,
    .eventfd_write = eventfd_write,
    .read = read,
    .write = write,
    .readv = readv,
    .writev = writev,
    .recv = recv,
    .send = send,
    .recvfrom = recvfrom,
    .sendto = sendto,
    .recvmsg = recvmsg,
    .shutdown = shutdown,
    .sendmsg = sendmsg,
    .accept = accept,
    .accept4 = accept4,
    .close = close,
    .dup = dup,
    .dup2 = dup2,
    .dup3 = dup3,
    .fcntl = fcntl,
    .poll = poll,
    .ppoll = ppoll,
    .select = select,
    .pselect = pselect,
    .timerfd_create = timerfd_create,
    .timerfd_settime = timerfd_settime,
    .timerfd_gettime = timerfd_gettime,
    .signalfd = signalfd,
};

#else
#include "runner.h"

/* Another host has no kernel epoll: the target exists, empty, and the runner refuses it. */
const struct target target_kernel = {.name = "kernel"};
#endif
