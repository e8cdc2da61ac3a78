/*
 * target_kernel.c — the "kernel" target: glibc's own epoll/eventfd and fd calls on the real
 * kernel. The only file of the suite that includes <sys/epoll.h>, <sys/eventfd.h>, <sys/timerfd.h>
 * and <sys/signalfd.h> (Linux).
 */
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
