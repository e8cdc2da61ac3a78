/*
 * dropin.c — the drop-in: the standard names (epoll_ctl, eventfd, read, close, poll...) as
 * anypoll's own, for programs that cannot be rebuilt.
 *
 * Room: the drop-in. It only forwards, each name to its anypoll_ function in api.c, and has no
 * state. The one thing it knows about engines: one with no fd hooks (the native engine: real
 * kernel fds, nothing to learn from I/O) needs nothing from read, write and the socket I/O
 * calls, so once such an engine is chosen those go straight to the kernel (sys.h) — no lock,
 * no table, a load and two tests more than the system call itself. Exported from libanypoll.so (LD_PRELOAD, `anypoll run`)
 * and from libanypoll.a (linked before libc); the conformance suite, the `anypoll` command and
 * the examples link libanypoll-prefixed.a, which leaves this file out, so that the suite's
 * kernel target keeps reaching glibc and the sanitizers' own interceptors of read, close...
 * are never shadowed in those builds.
 *
 * It exists only where the library reaches the kernel by direct system calls (AP_SYS_DIRECT,
 * sys_linux.c): anywhere else the library's own read() would be this file's. The syscall()
 * entry point, which needs Linux's call numbers, is in dropin_linux.c. fork() is not replaced:
 * glibc's fork runs the emulation's pthread_atfork handlers, which is all it needs.
 */
#undef _FORTIFY_SOURCE /* its inline wrappers would clash with the definitions below */
#include "engines/engine.h"
#include "api/engine_choice.h"
#include "host/sys.h"

#if AP_SYS_DIRECT

#include <stdarg.h>
#include <fcntl.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* glibc declares the sockaddr arguments as transparent unions when _GNU_SOURCE is set; musl
 * (and glibc without _GNU_SOURCE) as plain pointers. */
#ifndef __GLIBC__
#define __SOCKADDR_ARG struct sockaddr *restrict
#define __CONST_SOCKADDR_ARG const struct sockaddr *
#endif
#ifdef __SOCKADDR_ARG
#define SA(x) (x)
#define CSA(x) (x)
#else
#define SA(x) ((x).__sockaddr__)
#define CSA(x) ((x).__sockaddr__)
#endif

/* I/O on fds the chosen engine has no interest in: straight to the kernel. Before the first
 * choice, and for any engine with fd hooks, api.c decides. */
static inline int direct_io(void)
{
    const struct ap_engine *e = ap_engine_chosen();
    return e && !e->owns && !e->io_seen;
}

/* The static link's guard (docs/dropin.md, "Static binaries"): the documented link line for
 * each libc ends in -Wl,--defsym=anypoll_guard=anypoll_dropin_glibc (or _musl), so a program linked
 * without the drop-in (libanypoll-prefixed.a, a build without direct system calls, no anypoll
 * at all) or with an archive compiled for the other libc fails to link instead of running on
 * libc's epoll_ctl and the kernel's ENOSYS. musl defines no macro of its own: a Linux libc that
 * is not glibc is taken to be musl, the only other one anypoll is built and tested with. */
#ifdef __GLIBC__
EXPORT const char anypoll_dropin_glibc[] = "anypoll drop-in, built for glibc";
#else
EXPORT const char anypoll_dropin_musl[] = "anypoll drop-in, built for musl";
#endif

EXPORT int epoll_create(int size) { return anypoll_epoll_create(size); }
EXPORT int epoll_create1(int flags) { return anypoll_epoll_create1(flags); }
EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    return anypoll_epoll_ctl(epfd, op, fd, event);
}
EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    return anypoll_epoll_wait(epfd, events, maxevents, timeout);
}
EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                       const sigset_t *sigmask)
{
    return anypoll_epoll_pwait(epfd, events, maxevents, timeout, sigmask);
}
EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                        const struct timespec *timeout, const sigset_t *sigmask)
{
    return anypoll_epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
}
EXPORT int eventfd(unsigned int initval, int flags) { return anypoll_eventfd(initval, flags); }
EXPORT int eventfd_read(int fd, eventfd_t *value) { return anypoll_eventfd_read(fd, value); }
EXPORT int eventfd_write(int fd, eventfd_t value) { return anypoll_eventfd_write(fd, value); }

EXPORT ssize_t read(int fd, void *buf, size_t count)
{
    if (direct_io()) return ap_sys_read(fd, buf, count);
    return anypoll_read(fd, buf, count);
}
EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    if (direct_io()) return ap_sys_write(fd, buf, count);
    return anypoll_write(fd, buf, count);
}
EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (direct_io()) return ap_sys_readv(fd, iov, iovcnt);
    return anypoll_readv(fd, iov, iovcnt);
}
EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (direct_io()) return ap_sys_writev(fd, iov, iovcnt);
    return anypoll_writev(fd, iov, iovcnt);
}
EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    if (direct_io()) return ap_sys_recv(fd, buf, len, flags);
    return anypoll_recv(fd, buf, len, flags);
}
EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    if (direct_io()) return ap_sys_send(fd, buf, len, flags);
    return anypoll_send(fd, buf, len, flags);
}
EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG addr,
                        socklen_t *addrlen)
{
    if (direct_io()) return ap_sys_recvfrom(fd, buf, len, flags, SA(addr), addrlen);
    return anypoll_recvfrom(fd, buf, len, flags, SA(addr), addrlen);
}
EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG addr,
                      socklen_t addrlen)
{
    if (direct_io()) return ap_sys_sendto(fd, buf, len, flags, CSA(addr), addrlen);
    return anypoll_sendto(fd, buf, len, flags, CSA(addr), addrlen);
}
EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (direct_io()) return ap_sys_recvmsg(fd, msg, flags);
    return anypoll_recvmsg(fd, msg, flags);
}
EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (direct_io()) return ap_sys_sendmsg(fd, msg, flags);
    return anypoll_sendmsg(fd, msg, flags);
}
EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *addrlen)
{
    return anypoll_accept(fd, SA(addr), addrlen);
}
EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *addrlen, int flags)
{
    return anypoll_accept4(fd, SA(addr), addrlen, flags);
}

EXPORT int shutdown(int fd, int how) { return anypoll_shutdown(fd, how); }
EXPORT int close(int fd) { return anypoll_close(fd); }
EXPORT int dup(int fd) { return anypoll_dup(fd); }
EXPORT int dup2(int oldfd, int newfd) { return anypoll_dup2(oldfd, newfd); }
EXPORT int dup3(int oldfd, int newfd, int flags) { return anypoll_dup3(oldfd, newfd, flags); }

/* fcntl's third argument is an int or a pointer; both travel in one register-sized slot. */
#define FCNTL_BODY                                                                                 \
    va_list ap;                                                                                    \
    va_start(ap, cmd);                                                                             \
    intptr_t arg = va_arg(ap, intptr_t);                                                           \
    va_end(ap);                                                                                    \
    return anypoll_fcntl(fd, cmd, arg)
EXPORT int fcntl(int fd, int cmd, ...) { FCNTL_BODY; }
/* What programs built with 64-bit file offsets call since glibc 2.28 (python3, node, libuv). */
int fcntl64(int fd, int cmd, ...);
EXPORT int fcntl64(int fd, int cmd, ...) { FCNTL_BODY; }

EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    return anypoll_poll(fds, nfds, timeout);
}
EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                 const sigset_t *sigmask)
{
    return anypoll_ppoll(fds, nfds, timeout, sigmask);
}
EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout)
{
    return anypoll_select(nfds, r, w, x, timeout);
}
EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *timeout,
                   const sigset_t *sigmask)
{
    return anypoll_pselect(nfds, r, w, x, timeout, sigmask);
}

EXPORT int timerfd_create(int clockid, int flags) { return anypoll_timerfd_create(clockid, flags); }
EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                           struct itimerspec *old_value)
{
    return anypoll_timerfd_settime(fd, flags, new_value, old_value);
}
EXPORT int timerfd_gettime(int fd, struct itimerspec *curr_value)
{
    return anypoll_timerfd_gettime(fd, curr_value);
}
EXPORT int signalfd(int fd, const sigset_t *mask, int flags) { return anypoll_signalfd(fd, mask, flags); }

#ifdef __GLIBC__ /* musl has no _FORTIFY_SOURCE entry points (nor __chk_fail) */
/* _FORTIFY_SOURCE's entry points: the same calls, after glibc's buffer-size check. */
extern void __chk_fail(void) __attribute__((__noreturn__));
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                const sigset_t *sigmask, size_t fdslen);

EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    if (count > buflen) __chk_fail();
    return anypoll_read(fd, buf, count);
}
EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen) __chk_fail();
    return anypoll_recv(fd, buf, len, flags);
}
EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                              struct sockaddr *addr, socklen_t *addrlen)
{
    if (len > buflen) __chk_fail();
    return anypoll_recvfrom(fd, buf, len, flags, addr, addrlen);
}
EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds) __chk_fail();
    return anypoll_poll(fds, nfds, timeout);
}
EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                       const sigset_t *sigmask, size_t fdslen)
{
    if (fdslen / sizeof *fds < nfds) __chk_fail();
    return anypoll_ppoll(fds, nfds, timeout, sigmask);
}
#endif /* __GLIBC__ */

#else
typedef int ap_dropin_unused; /* no direct system calls on this host: no drop-in */
#endif
