/*
 * dropin_linux.c — the drop-in's syscall(): programs that make the epoll, eventfd and fd
 * system calls by number through libc's syscall() reach anypoll too.
 *
 * Room: the drop-in (see dropin.c). Linux only, as the call numbers are. The numbers anypoll
 * implements go to the anypoll_ functions with the kernel's argument conventions;
 * io_uring_setup fails with ENOSYS, so libuv (>= 1.45, bundled in Node 20) keeps to epoll
 * instead of submitting work the emulation cannot see; every other number goes to the kernel
 * unchanged. Raw `syscall` instructions in a program (Go's runtime) are out of reach.
 */
#include "host/sys.h"

#if AP_SYS_DIRECT

#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define KERNEL_SIGSET_SIZE 8

/* The kernel's checks of a sigset argument's size, before anypoll sees the call. */
static int bad_sigsetsize(long mask, long size) { return mask && size != KERNEL_SIGSET_SIZE; }

struct pselect6_mask { /* pselect6's sixth argument */
    const sigset_t *ss;
    size_t len;
};

EXPORT long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    switch (n) {
#ifdef SYS_epoll_create
    case SYS_epoll_create:
        return anypoll_epoll_create((int)a);
#endif
    case SYS_epoll_create1:
        return anypoll_epoll_create1((int)a);
    case SYS_epoll_ctl:
        return anypoll_epoll_ctl((int)a, (int)b, (int)c, (struct epoll_event *)d);
#ifdef SYS_epoll_wait
    case SYS_epoll_wait:
        return anypoll_epoll_wait((int)a, (struct epoll_event *)b, (int)c, (int)d);
#endif
    case SYS_epoll_pwait:
        if (bad_sigsetsize(e, f)) break;
        return anypoll_epoll_pwait((int)a, (struct epoll_event *)b, (int)c, (int)d,
                                   (const sigset_t *)e);
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
#else
    case 441:
#endif
        if (bad_sigsetsize(e, f)) break;
        return anypoll_epoll_pwait2((int)a, (struct epoll_event *)b, (int)c,
                                    (const struct timespec *)d, (const sigset_t *)e);
#ifdef SYS_eventfd
    case SYS_eventfd:
        return anypoll_eventfd((unsigned)a, 0);
#endif
    case SYS_eventfd2:
        return anypoll_eventfd((unsigned)a, (int)b);
    case SYS_read:
        return anypoll_read((int)a, (void *)b, (size_t)c);
    case SYS_write:
        return anypoll_write((int)a, (const void *)b, (size_t)c);
    case SYS_readv:
        return anypoll_readv((int)a, (const struct iovec *)b, (int)c);
    case SYS_writev:
        return anypoll_writev((int)a, (const struct iovec *)b, (int)c);
    case SYS_recvfrom:
        return anypoll_recvfrom((int)a, (void *)b, (size_t)c, (int)d, (struct sockaddr *)e,
                                (socklen_t *)f);
    case SYS_sendto:
        return anypoll_sendto((int)a, (const void *)b, (size_t)c, (int)d,
                              (const struct sockaddr *)e, (socklen_t)f);
    case SYS_recvmsg:
        return anypoll_recvmsg((int)a, (struct msghdr *)b, (int)c);
    case SYS_sendmsg:
        return anypoll_sendmsg((int)a, (const struct msghdr *)b, (int)c);
    case SYS_accept:
        return anypoll_accept((int)a, (struct sockaddr *)b, (socklen_t *)c);
    case SYS_accept4:
        return anypoll_accept4((int)a, (struct sockaddr *)b, (socklen_t *)c, (int)d);
    case SYS_shutdown:
        return anypoll_shutdown((int)a, (int)b);
    case SYS_close:
        return anypoll_close((int)a);
    case SYS_dup:
        return anypoll_dup((int)a);
#ifdef SYS_dup2
    case SYS_dup2:
        return anypoll_dup2((int)a, (int)b);
#endif
    case SYS_dup3:
        return anypoll_dup3((int)a, (int)b, (int)c);
    case SYS_fcntl:
        return anypoll_fcntl((int)a, (int)b, (intptr_t)c);
#ifdef SYS_poll
    case SYS_poll:
        return anypoll_poll((struct pollfd *)a, (nfds_t)b, (int)c);
#endif
    case SYS_ppoll:
        if (bad_sigsetsize(d, e)) break;
        return anypoll_ppoll((struct pollfd *)a, (nfds_t)b, (const struct timespec *)c,
                             (const sigset_t *)d);
#ifdef SYS_select
    case SYS_select:
        return anypoll_select((int)a, (fd_set *)b, (fd_set *)c, (fd_set *)d,
                              (struct timeval *)e);
#endif
    case SYS_pselect6: {
        const struct pselect6_mask *sa = (const struct pselect6_mask *)f;
        const sigset_t *mask = sa ? sa->ss : NULL;
        if (sa && bad_sigsetsize((long)mask, (long)sa->len)) break;
        return anypoll_pselect((int)a, (fd_set *)b, (fd_set *)c, (fd_set *)d,
                               (const struct timespec *)e, mask);
    }
    case SYS_timerfd_create:
        return anypoll_timerfd_create((int)a, (int)b);
    case SYS_timerfd_settime:
        return anypoll_timerfd_settime((int)a, (int)b, (const struct itimerspec *)c,
                                       (struct itimerspec *)d);
    case SYS_timerfd_gettime:
        return anypoll_timerfd_gettime((int)a, (struct itimerspec *)b);
#ifdef SYS_signalfd
    case SYS_signalfd: /* the kernel checks the mask's size first: only 8 bytes is a sigset */
        if (c != 8) break;
        return anypoll_signalfd((int)a, (const sigset_t *)b, 0);
#endif
    case SYS_signalfd4:
        if (c != 8) break;
        return anypoll_signalfd((int)a, (const sigset_t *)b, (int)d);
    case SYS_io_uring_setup:
        errno = ENOSYS;
        return -1;
    default: {
        long r = ap_sys_raw(n, a, b, c, d, e, f);
        if (r < 0 && r > -4096) {
            errno = (int)-r;
            return -1;
        }
        return r;
    }
    }
    errno = EINVAL; /* a sigset size the kernel refuses */
    return -1;
}

#else
typedef int ap_dropin_linux_unused; /* another host: no syscall() to replace */
#endif
