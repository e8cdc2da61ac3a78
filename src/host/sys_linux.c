/*
 * sys_linux.c — the host's fd calls on Linux (x86_64, aarch64): direct system calls.
 *
 * Room: the sys layer (see sys.h). The drop-in build exports read, write, close, poll, select...
 * itself (dropin.c), so the library cannot reach the kernel through those names: from a
 * preloaded libanypoll.so they would come back into anypoll, and in a program statically
 * linked with libanypoll.a they *are* anypoll. Here every fd call the library makes is one
 * `syscall`/`svc #0` instruction, with libc's conventions (-1 and errno; errno untouched on
 * success). Only calls both architectures have are used (aarch64 lacks poll, select, dup2).
 * Other Linux architectures and every other host use sys_posix.c (AP_SYS_DIRECT is 0).
 *
 * Unlike libc's wrappers these are not pthread cancellation points; anypoll's callers (libuv,
 * tokio, Python) do not cancel threads.
 */
#include "host/sys.h"
#include "host/raw_syscall_linux.h"

#if AP_SYS_DIRECT

#include <asm/unistd.h>
#include <errno.h>
#include <fcntl.h>

#define KERNEL_SIGSET_SIZE 8 /* _NSIG / 8: what the kernel checks, not glibc's sigset_t size */

long ap_sys_raw(long n, long a, long b, long c, long d, long e, long f)
{
    return ap_raw_syscall(n, a, b, c, d, e, f);
}

/* A failure as libc reports it: -1 and errno. Out of line, so that the success path of every
 * call below saves no register. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, cold))
#endif
static long fail(long r)
{
    errno = (int)-r;
    return -1;
}

/* The kernel's answer as libc gives it. */
static inline long res(long r) { return r < 0 && r > -4096 ? fail(r) : r; }

#define SYS3(n, a, b, c) res(ap_raw_syscall3((n), (long)(a), (long)(b), (long)(c)))
#define SYS6(n, a, b, c, d, e, f)                                                                  \
    res(ap_sys_raw((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

ssize_t ap_sys_read(int fd, void *buf, size_t n) { return SYS3(__NR_read, fd, buf, n); }
ssize_t ap_sys_write(int fd, const void *buf, size_t n) { return SYS3(__NR_write, fd, buf, n); }
ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n) { return SYS3(__NR_readv, fd, iov, n); }
ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n)
{
    return SYS3(__NR_writev, fd, iov, n);
}
ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    return SYS6(__NR_recvfrom, fd, buf, n, flags, a, al);
}
ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    return SYS6(__NR_sendto, fd, buf, n, flags, a, al);
}
ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags)
{
    return ap_sys_recvfrom(fd, buf, n, flags, NULL, NULL);
}
ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags)
{
    return ap_sys_sendto(fd, buf, n, flags, NULL, 0);
}
ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
    return SYS3(__NR_recvmsg, fd, m, flags);
}
int ap_sys_shutdown(int fd, int how) { return (int)SYS3(__NR_shutdown, fd, how, 0); }
ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
    return SYS3(__NR_sendmsg, fd, m, flags);
}
int ap_sys_accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
    return (int)SYS6(__NR_accept4, fd, a, al, flags, 0, 0);
}
int ap_sys_close(int fd) { return (int)SYS3(__NR_close, fd, 0, 0); }
int ap_sys_dup(int fd) { return (int)SYS3(__NR_dup, fd, 0, 0); }
int ap_sys_dup3(int oldfd, int newfd, int flags) { return (int)SYS3(__NR_dup3, oldfd, newfd, flags); }
int ap_sys_fcntl(int fd, int cmd, intptr_t arg) { return (int)SYS3(__NR_fcntl, fd, cmd, arg); }

int ap_sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    struct timespec left; /* the kernel writes the time left back: not into the caller's */
    if (ts) left = *ts;
    return (int)SYS6(__NR_ppoll, fds, n, ts ? &left : NULL, mask, KERNEL_SIGSET_SIZE, 0);
}


/* pselect6's sixth argument: the mask and its size, together. */
struct sigset_arg {
    const sigset_t *ss;
    size_t len;
};

int ap_sys_pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *mask)
{
    struct timespec left;
    struct sigset_arg sa = {mask, KERNEL_SIGSET_SIZE};
    if (ts) left = *ts;
    return (int)SYS6(__NR_pselect6, n, r, w, x, ts ? &left : NULL, &sa);
}

/* select: Linux writes the time left back into the caller's timeval. */
int ap_sys_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
#ifdef __NR_select
    return (int)SYS6(__NR_select, n, r, w, x, tv, 0);
#else
    struct timespec ts;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0) {
            errno = EINVAL;
            return -1;
        }
        ts.tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
        ts.tv_nsec = (long)(tv->tv_usec % 1000000) * 1000;
    }
    int rc = (int)SYS6(__NR_pselect6, n, r, w, x, tv ? &ts : NULL, NULL);
    if (tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
    }
    return rc;
#endif
}

#else
typedef int ap_sys_linux_unused; /* another host: sys_posix.c serves it */
#endif

#if AP_SYS_RAW_SIGTIMEDWAIT
#include <asm/unistd.h>
#include <errno.h>

/* Also when the fd calls take the libc path (AP_SYS_DIRECT=0): see AP_SYS_RAW_SIGTIMEDWAIT. */
int ap_sys_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
    long r = ap_raw_syscall(__NR_rt_sigtimedwait, (long)set, (long)info, (long)ts, 8, 0, 0);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return (int)r;
}
#endif
