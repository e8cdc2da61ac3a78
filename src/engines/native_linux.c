/*
 * native_linux.c — the "native" engine (engines room): the kernel's own epoll, eventfd, timerfd
 * and signalfd, reached by direct system calls.
 *
 * Not through glibc: the drop-in build exports epoll_*, eventfd and syscall() itself, so calling
 * glibc's names from here would come straight back into anypoll. On x86_64 and aarch64 the
 * calls are made with inline assembly; on another Linux architecture glibc's syscall() is the
 * fallback (the drop-in must then not be used there). Only the calls aarch64 also has are used
 * (epoll_create1, epoll_ctl, epoll_pwait, epoll_pwait2, eventfd2, timerfd_create/settime/
 * gettime, signalfd4), so one path serves both.
 *
 * Everything else (read, write, close, dup, poll) is the host's own: these are real kernel fds.
 * Built by a Cosmopolitan toolchain it is usable when the binary runs on Linux; built for
 * another host, it is an engine whose usable() says no.
 */
#include "engines/engine.h"
#include "host/raw_syscall_linux.h"

#include <errno.h>
#include <limits.h>

#if defined(__COSMOPOLITAN__) && (defined(__x86_64__) || defined(__aarch64__))
/* One binary for every host: the kernel is Linux only when IsLinux() says so at run time, and
 * Cosmopolitan's headers carry its own portable numbers, so Linux's (fixed by its ABI) are
 * spelled out here. */
#include "host/sys.h"
#define HAVE_NATIVE 1
#define ON_LINUX() IsLinux()
#if defined(__x86_64__)
#define NR_epoll_create1 291
#define NR_epoll_ctl 233
#define NR_epoll_pwait 281
#define NR_eventfd2 290
#define NR_close 3
#define NR_timerfd_create 283
#define NR_timerfd_settime 286
#define NR_timerfd_gettime 287
#define NR_signalfd4 289
#else
#define NR_epoll_create1 20
#define NR_epoll_ctl 21
#define NR_epoll_pwait 22
#define NR_eventfd2 19
#define NR_close 57
#define NR_timerfd_create 85
#define NR_timerfd_settime 86
#define NR_timerfd_gettime 87
#define NR_signalfd4 74
#endif
#define NR_epoll_pwait2 441
#elif defined(__linux__) && !defined(__COSMOPOLITAN__)
#include <asm/unistd.h>
#define HAVE_NATIVE 1
#define ON_LINUX() 1
#if !defined(__x86_64__) && !defined(__aarch64__)
#include <unistd.h> /* syscall() */
#endif
#else
#define HAVE_NATIVE 0
#define ON_LINUX() 0
#endif

#if HAVE_NATIVE && !defined(__COSMOPOLITAN__)
#define NR_epoll_create1 __NR_epoll_create1
#define NR_epoll_ctl __NR_epoll_ctl
#define NR_epoll_pwait __NR_epoll_pwait
#define NR_eventfd2 __NR_eventfd2
#define NR_close __NR_close
#define NR_timerfd_create __NR_timerfd_create
#define NR_timerfd_settime __NR_timerfd_settime
#define NR_timerfd_gettime __NR_timerfd_gettime
#define NR_signalfd4 __NR_signalfd4
#ifdef __NR_epoll_pwait2
#define NR_epoll_pwait2 __NR_epoll_pwait2
#else
#define NR_epoll_pwait2 441 /* the same number on every architecture; headers may predate it */
#endif
#elif !HAVE_NATIVE
#define NR_epoll_create1 0
#define NR_epoll_ctl 0
#define NR_epoll_pwait 0
#define NR_eventfd2 0
#define NR_close 0
#define NR_epoll_pwait2 0
#define NR_timerfd_create 0
#define NR_timerfd_settime 0
#define NR_timerfd_gettime 0
#define NR_signalfd4 0
#endif

#define KERNEL_SIGSET_SIZE 8 /* _NSIG / 8: what the kernel checks, not glibc's sigset_t size */

/* One system call; returns the kernel's raw result (-errno on failure). */
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if HAVE_NATIVE && AP_HAVE_RAW_SYSCALL
    return ap_raw_syscall(n, a, b, c, d, e, f);
#elif HAVE_NATIVE
    int saved = errno;
    long r = syscall(n, a, b, c, d, e, f);
    if (r == -1) r = -errno;
    errno = saved;
    return r;
#else
    (void)n, (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
    return -ENOSYS;
#endif
}

/* The kernel's result as the C library would return it: -1 with errno, errno untouched on success. */
static long result(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

static int native_epoll_create1(int flags)
{
    return (int)result(sys6(NR_epoll_create1, flags, 0, 0, 0, 0, 0));
}

static int native_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    return (int)result(sys6(NR_epoll_ctl, epfd, op, fd, (long)event, 0, 0));
}

/* A wait with a timespec (epoll_pwait2), apart: the common wait saves no registers for it. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int native_epoll_wait_ts(int epfd, struct epoll_event *events, int maxevents,
                                const struct timespec *ts, const sigset_t *sigmask)
{
    long r = sys6(NR_epoll_pwait2, epfd, (long)events, maxevents, (long)ts, (long)sigmask,
                  KERNEL_SIGSET_SIZE);
    if (r != -ENOSYS) return (int)result(r);
    /* Kernel older than 5.11: the same wait in whole milliseconds, rounded up. */
    long long ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
    int timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
    return (int)result(sys6(NR_epoll_pwait, epfd, (long)events, maxevents, timeout_ms,
                            (long)sigmask, KERNEL_SIGSET_SIZE));
}

static int native_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms,
                             const struct timespec *ts, const sigset_t *sigmask)
{
    if (ts) return native_epoll_wait_ts(epfd, events, maxevents, ts, sigmask);
    return (int)result(sys6(NR_epoll_pwait, epfd, (long)events, maxevents, timeout_ms,
                            (long)sigmask, KERNEL_SIGSET_SIZE));
}

static int native_eventfd(unsigned int initval, int flags)
{
    return (int)result(sys6(NR_eventfd2, (long)initval, flags, 0, 0, 0, 0));
}

/* timerfd and signalfd pass through: the kernel's own objects, read with the host's read(). */
static int native_timerfd_create(int clockid, int flags)
{
    return (int)result(sys6(NR_timerfd_create, clockid, flags, 0, 0, 0, 0));
}

static int native_timerfd_settime(int fd, int flags, const struct itimerspec *nv,
                                  struct itimerspec *ov)
{
    return (int)result(sys6(NR_timerfd_settime, fd, flags, (long)nv, (long)ov, 0, 0));
}

static int native_timerfd_gettime(int fd, struct itimerspec *cur)
{
    return (int)result(sys6(NR_timerfd_gettime, fd, (long)cur, 0, 0, 0, 0));
}

static int native_signalfd(int fd, const sigset_t *mask, int flags)
{
    return (int)result(sys6(NR_signalfd4, fd, (long)mask, KERNEL_SIGSET_SIZE, flags, 0, 0));
}

/* Usable when the calls work here: not so under a seccomp filter (or a kernel) that refuses
 * them. One eventfd in one epoll instance, polled once, exercises every call we make. */
static int native_usable(void)
{
    if (!HAVE_NATIVE || !ON_LINUX()) return 0;
    long ep = sys6(NR_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0);
    long ev = sys6(NR_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0);
    int ok = 0;
    if (ep >= 0 && ev >= 0) {
        struct epoll_event in = {.events = EPOLLOUT, .data = {.u64 = 7}}, out = {0};
        ok = sys6(NR_epoll_ctl, ep, EPOLL_CTL_ADD, ev, (long)&in, 0, 0) == 0 &&
             sys6(NR_epoll_pwait, ep, (long)&out, 1, 0, 0, KERNEL_SIGSET_SIZE) == 1 &&
             out.events == EPOLLOUT && out.data.u64 == 7;
    }
    if (ep >= 0) sys6(NR_close, ep, 0, 0, 0, 0, 0);
    if (ev >= 0) sys6(NR_close, ev, 0, 0, 0, 0, 0);
    return ok;
}

const struct ap_engine ap_engine_native = {
    .name = "native",
    .direct = 1, /* sys6 and result() set errno on failure only; no emulated files */
    .usable = native_usable,
    .epoll_create1 = native_epoll_create1,
    .epoll_ctl = native_epoll_ctl,
    .epoll_wait = native_epoll_wait,
    .eventfd = native_eventfd,
    .timerfd_create = native_timerfd_create,
    .timerfd_settime = native_timerfd_settime,
    .timerfd_gettime = native_timerfd_gettime,
    .signalfd = native_signalfd,
};
