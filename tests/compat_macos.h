/*
 * compat_macos.h — what the suite's cases and helpers call that macOS lacks: pipe2, socket
 * types with SOCK_NONBLOCK/SOCK_CLOEXEC (anypoll.h gives those names the host's O_ flags, which
 * anypoll_accept4 takes), and the real-time signal calls. Included by runner.h on macOS only.
 *
 * The signal stand-ins only let the suite build: sigqueue fails with ENOSYS, SIGRTMIN is
 * SIGUSR2 and SI_TKILL is Linux's value, so the cases that need them fail on macOS with that
 * reason rather than pass. Nothing runs a macOS binary here (README, "Hosts").
 */
#ifndef COMPAT_MACOS_H
#define COMPAT_MACOS_H
#if defined(__APPLE__)

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline int compat_flags(int fd, int flags)
{
    if (fd >= 0 && (flags & O_CLOEXEC)) fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static inline int compat_pipe2(int p[2], int flags)
{
    if (pipe(p) != 0) return -1;
    compat_flags(p[0], flags);
    compat_flags(p[1], flags);
    return 0;
}
#define pipe2(p, flags) compat_pipe2((p), (flags))

static inline int compat_socket(int domain, int type, int proto)
{
    int extra = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    return compat_flags(socket(domain, type & ~extra, proto), extra);
}
#define socket(d, t, p) compat_socket((d), (t), (p))

static inline int compat_socketpair(int domain, int type, int proto, int sv[2])
{
    int extra = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (socketpair(domain, type & ~extra, proto, sv) != 0) return -1;
    compat_flags(sv[0], extra);
    compat_flags(sv[1], extra);
    return 0;
}
#define socketpair(d, t, p, sv) compat_socketpair((d), (t), (p), (sv))

static inline int compat_sigqueue(pid_t pid, int sig, union sigval v)
{
    (void)pid, (void)sig, (void)v;
    errno = ENOSYS;
    return -1;
}
#define sigqueue(pid, sig, v) compat_sigqueue((pid), (sig), (v))
#ifndef SIGRTMIN
#define SIGRTMIN SIGUSR2
#endif
#ifndef SI_TKILL
#define SI_TKILL (-6)
#endif

/* Zero timeout only, as the suite uses it: a pending signal of the set, taken. */
static inline int compat_sigtimedwait(const sigset_t *set, siginfo_t *info,
                                      const struct timespec *ts)
{
    sigset_t p;
    (void)ts;
    if (sigpending(&p) == 0)
        for (int sig = 1; sig < NSIG; sig++)
            if (sigismember(set, sig) == 1 && sigismember(&p, sig) == 1) {
                sigset_t one;
                sigemptyset(&one);
                sigaddset(&one, sig);
                int got = 0;
                if (sigwait(&one, &got) != 0) return -1;
                if (info) info->si_signo = got;
                return got;
            }
    errno = EAGAIN;
    return -1;
}
#define sigtimedwait(s, i, t) compat_sigtimedwait((s), (i), (t))

#endif
#endif
