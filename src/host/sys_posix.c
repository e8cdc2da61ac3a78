/*
 * sys_posix.c — the host's fd calls on POSIX hosts (Linux, the BSDs, macOS, Cosmopolitan).
 *
 * Plain libc calls where the library cannot make system calls itself; on Linux x86_64/aarch64
 * sys_linux.c makes the fd calls directly instead (AP_SYS_DIRECT), so that the drop-in's own
 * read, close, poll... are never reached from inside. Nothing here knows about epoll; the only
 * host differences are the few calls some systems lack (ppoll, dup3, accept4), filled in below.
 * In a Cosmopolitan binary, sys_cosmo.c serves the calls marked AP_SYS_COSMO below instead.
 */
#include "host/sys.h"

#include <errno.h>
#include <string.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if !AP_SYS_DIRECT
#if !AP_SYS_COSMO /* sys_cosmo.c's: these wait on Windows although the fd is non-blocking */
ssize_t ap_sys_read(int fd, void *buf, size_t n) { return read(fd, buf, n); }
ssize_t ap_sys_write(int fd, const void *buf, size_t n) { return write(fd, buf, n); }
ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n) { return readv(fd, iov, n); }
ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n) { return writev(fd, iov, n); }
ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags) { return recv(fd, buf, n, flags); }
ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    return recvfrom(fd, buf, n, flags, a, al);
}
ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    return sendto(fd, buf, n, flags, a, al);
}
ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags) { return recvmsg(fd, m, flags); }
ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags) { return sendmsg(fd, m, flags); }
#endif /* !AP_SYS_COSMO */
#if !AP_SYS_COSMO /* sys_cosmo.c's: Windows remembers it */
int ap_sys_shutdown(int fd, int how) { return shutdown(fd, how); }
#endif
int ap_sys_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    return select(n, r, w, x, tv);
}
int ap_sys_pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *mask)
{
    return pselect(n, r, w, x, ts, mask);
}
int ap_sys_dup(int fd) { return dup(fd); }
#if !AP_SYS_COSMO /* sys_cosmo.c's */
ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags)
{
    return send(fd, buf, n, flags);
}
int ap_sys_close(int fd) { return close(fd); }
int ap_sys_fcntl(int fd, int cmd, intptr_t arg) { return fcntl(fd, cmd, arg); }

int ap_sys_accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
#if defined(__APPLE__)
    int s = accept(fd, a, al);
    if (s >= 0) {
        if ((flags & SOCK_CLOEXEC) && fcntl(s, F_SETFD, FD_CLOEXEC) < 0) goto fail;
        if ((flags & SOCK_NONBLOCK) && fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) < 0)
            goto fail;
    }
    return s;
fail:
    close(s);
    return -1;
#else
    return accept4(fd, a, al, flags);
#endif
}
#endif /* !AP_SYS_COSMO */

int ap_sys_dup3(int oldfd, int newfd, int flags)
{
#if defined(__APPLE__)
    if (oldfd == newfd) {
        errno = EINVAL;
        return -1;
    }
    if (flags & ~O_CLOEXEC) {
        errno = EINVAL;
        return -1;
    }
    int r = dup2(oldfd, newfd);
    if (r >= 0 && (flags & O_CLOEXEC)) fcntl(r, F_SETFD, FD_CLOEXEC);
    return r;
#else
    return dup3(oldfd, newfd, flags);
#endif
}

#if !AP_SYS_COSMO /* sys_cosmo.c's: Windows answers Winsock's bits, and pipes need help */
int ap_sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
#if defined(__APPLE__)
    /* No ppoll: the mask is applied around poll(), which is not atomic. */
    sigset_t old;
    int ms = -1;
    if (ts) {
        int64_t t = (int64_t)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
        ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
    }
    if (mask) pthread_sigmask(SIG_SETMASK, mask, &old);
    int r = poll(fds, n, ms);
    if (mask) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
    }
    return r;
#else
    return ppoll(fds, n, ts, mask);
#endif
}
#endif /* !AP_SYS_COSMO */

#endif /* !AP_SYS_DIRECT */

#if !AP_SYS_RAW_SIGTIMEDWAIT
#if defined(__APPLE__) || defined(__OpenBSD__)
/* A signal of `set` pending now (one of them), or 0. */
static int pending_in(const sigset_t *set)
{
    sigset_t p;
    if (sigpending(&p) < 0) return 0;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(set, sig) == 1 && sigismember(&p, sig) == 1) return sig;
    return 0;
}

int ap_sys_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
    int64_t deadline = ts ? ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
    for (;;) {
        int sig = pending_in(set);
        if (sig || !ts) {
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            /* blocks only if another thread took it meanwhile, or (no timeout) until one comes */
            int rc = sigwait(sig ? &one : set, &sig);
            if (rc) {
                errno = rc;
                return -1;
            }
            if (info) {
                memset(info, 0, sizeof *info);
                info->si_signo = sig;
                info->si_code = SI_USER;
            }
            return sig;
        }
        if (ap_sys_now_ns() >= deadline) {
            errno = EAGAIN;
            return -1;
        }
        struct timespec step = {0, 1000000};
        nanosleep(&step, NULL);
    }
}
#else
int ap_sys_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
    return sigtimedwait(set, info, ts);
}
#endif
#endif /* !AP_SYS_RAW_SIGTIMEDWAIT */

#if !AP_SYS_COSMO /* sys_cosmo.c's */
int ap_sys_fstat(int fd, struct stat *st) { return fstat(fd, st); }

int ap_sys_socketpair_cloexec_nonblock(int sv[2])
{
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        ap_sys_fcntl(sv[i], F_SETFD, FD_CLOEXEC);
        ap_sys_fcntl(sv[i], F_SETFL, ap_sys_fcntl(sv[i], F_GETFL, 0) | O_NONBLOCK);
    }
    return 0;
#endif
}

int ap_sys_dup_sends(void) { return 1; }
#endif /* !AP_SYS_COSMO */

int ap_sys_move_high(int fd)
{
    if (!ap_sys_dup_sends()) return fd; /* the number is all there is */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < 64)
        return fd;
    /* the top of the table, but not so far up that the kernel must grow it by megabytes */
    long top = (long)rl.rlim_cur > 4096 + 256 ? 4096 : (long)rl.rlim_cur - (long)rl.rlim_cur / 4;
    if (fd >= top) return fd;
    int hi = ap_sys_fcntl(fd, F_DUPFD_CLOEXEC, (int)top);
    if (hi < 0) return fd;
    ap_sys_close(fd);
    return hi;
}

int64_t ap_sys_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t ap_sys_clock_ns(int clockid)
{
    struct timespec t;
    if (clock_gettime(clockid, &t) < 0) clock_gettime(CLOCK_MONOTONIC, &t); /* no BOOTTIME here */
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void *ap_sys_shared_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ap_sys_shared_free(void *p, size_t n) { munmap(p, n); }

void ap_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    pthread_atfork(prepare, parent, child);
}

int ap_sys_thread_start(void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &a, fn, arg);
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int ap_sys_privileged(void) { return geteuid() == 0; }

#if defined(_NSIG)
#define SYS_NSIG _NSIG
#elif defined(NSIG)
#define SYS_NSIG NSIG
#else
#define SYS_NSIG 65
#endif
int ap_sys_handler_restarts(void)
{
    sigset_t cur;
    int handled = 0, err = errno; /* (sigaction fails for libc's own signals) */
    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0) return 0;
    /* a fault's signal comes in the faulting thread's own run, never into its sleep (and
     * sanitizers handle them without SA_RESTART); not static: run-time values on some hosts */
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof sync_sigs / sizeof *sync_sigs; i++) sigaddset(&cur, sync_sigs[i]);
    for (int s = 1; s < SYS_NSIG; s++) {
        struct sigaction sa;
        if (sigismember(&cur, s) == 1 || sigaction(s, NULL, &sa) != 0) continue; /* (EINVAL: libc's own) */
        /* (valgrind answers SIG_IGN with SA_SIGINFO for a signal it keeps) */
        if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) continue;
        if (!(sa.sa_flags & SA_RESTART)) {
            errno = err;
            return 0;
        }
        handled = 1;
    }
    errno = err;
    return handled;
}

int ap_sys_bell_open(struct ap_bell *b)
{
    int sv[2];
    if (ap_sys_socketpair_cloexec_nonblock(sv) < 0) return -1;
    b->r = ap_sys_move_high(sv[0]);
    b->w = ap_sys_move_high(sv[1]);
    return 0;
}

void ap_sys_bell_close(struct ap_bell *b)
{
    ap_sys_close(b->r);
    ap_sys_close(b->w);
    b->r = b->w = -1;
}

void ap_sys_bell_ring(struct ap_bell *b) { ap_sys_send(b->w, "b", 1, AP_DONTWAIT | MSG_NOSIGNAL); }

void ap_sys_bell_clear(struct ap_bell *b)
{
    /* A stream socket's receive takes everything queued, up to the buffer: one call unless it
     * filled the buffer (rings are coalesced, so there are few). Where a host's receive
     * stopped short, a ring left over would only end the next wait early, never wrongly. */
    char buf[64];
    while (ap_sys_recv(b->r, buf, sizeof buf, AP_DONTWAIT) == (ssize_t)sizeof buf) {
    }
}

void ap_sys_bell_wait(struct ap_bell *b, int64_t timeout_ns)
{
    struct pollfd p = {.fd = b->r, .events = POLLIN};
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    ap_sys_ppoll(&p, 1, timeout_ns < 0 ? NULL : &ts, NULL);
}
