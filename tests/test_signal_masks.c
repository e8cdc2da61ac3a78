/*
 * test_signal_masks.c — every wait that takes a signal mask (epoll_pwait, epoll_pwait2, ppoll,
 * pselect), over an epoll fd, a pipe or an eventfd, with a zero, short or infinite timeout,
 * with nothing ready or something ready, called while a handled signal is pending and blocked
 * and with a mask that unblocks it: whether the call fails with EINTR, and whether the handler
 * ran during the call, are the kernel's, case by case (issue 13, item 2).
 */
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

/* handler runs; atomic (lock-free, so signal-safe): the kicker thread reads it too */
static atomic_int ran;
static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&ran, 1);
}

enum wait_kind { EPWAIT, EPWAIT2, PPOLL_EP, PPOLL_PIPE, PPOLL_EFD, PSELECT_EP, PSELECT_PIPE };
enum { T_ZERO, T_SHORT, T_INFINITE };

struct outcome {
    int ret, err, ran;
};

/* One call of `kind` with SIGUSR1 pending and blocked, under a mask that unblocks it. */
static struct outcome masked_call(enum wait_kind kind, int timeout, int ready)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
    ran = 0;
    int ep = new_epoll(), efd = new_eventfd(ready ? 1 : 0, EFD_NONBLOCK), p[2];
    make_pipe(p, O_NONBLOCK);
    if (ready) write_str(p[1], "x");
    ADD(ep, efd, EPOLLIN, 1);
    sigset_t block, old, open_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    open_mask = old;
    sigdelset(&open_mask, SIGUSR1);
    CHECK_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    CHECK_EQ(ran, 0);
    int ms = timeout == T_ZERO ? 0 : timeout == T_SHORT ? 20 : -1;
    struct timespec ts = {0, (long)ms * 1000000L}, *tsp = ms < 0 ? NULL : &ts;
    struct epoll_event evs[4];
    int fd = kind == PPOLL_EP || kind == PSELECT_EP ? ep : kind == PPOLL_EFD ? efd : p[0];
    struct pollfd pfd = {fd, POLLIN, 0};
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    errno = 0;
    struct outcome o = {0, 0, 0};
    switch (kind) {
    case EPWAIT: o.ret = T.epoll_pwait(ep, evs, 4, ms, &open_mask); break;
    case EPWAIT2: o.ret = T.epoll_pwait2(ep, evs, 4, tsp, &open_mask); break;
    case PPOLL_EP:
    case PPOLL_PIPE:
    case PPOLL_EFD: o.ret = T.ppoll(&pfd, 1, tsp, &open_mask); break;
    case PSELECT_EP:
    case PSELECT_PIPE: o.ret = T.pselect(fd + 1, &rd, NULL, NULL, tsp, &open_mask); break;
    }
    o.err = o.ret < 0 ? errno : 0;
    /* The caller's mask is back: the signal is blocked, and still pending unless the call let
     * it through (its handler then ran — under TSan, at TSan's next chance: waited for). */
    sigset_t now, pending;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    CHECK(sigismember(&now, SIGUSR1));
    sigpending(&pending);
    o.ran = !sigismember(&pending, SIGUSR1);
    CHECK_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0); /* a pending one runs now */
    int64_t t0 = now_ns();
    while (ran < 1 && elapsed_ms(t0) < 2000) {
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
    }
    CHECK_EQ(ran, 1);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(efd);
    CLOSE(ep);
    return o;
}

static const char *const kind_name[] = {"epoll_pwait", "epoll_pwait2", "ppoll(epoll fd)",
                                        "ppoll(pipe)", "ppoll(eventfd)", "pselect(epoll fd)",
                                        "pselect(pipe)"};

/* The kernel's answer (Linux 5.11 and later; checked on the kernel target): with something
 * ready every call returns it and the handler waits for the caller's mask; with nothing ready
 * poll, ppoll and pselect look at pending signals before the timeout (EINTR even with a zero
 * timeout), epoll_pwait and epoll_pwait2 look at the timeout first (0, handler not run). */
static struct outcome kernel_answer(enum wait_kind kind, int timeout, int ready)
{
    if (ready) return (struct outcome){1, 0, 0};
    int epoll_wait_kind = kind == EPWAIT || kind == EPWAIT2;
    if (epoll_wait_kind && timeout == T_ZERO) return (struct outcome){0, 0, 0};
    return (struct outcome){-1, EINTR, 1};
}

static void masked_matrix(enum wait_kind kind)
{
    for (int ready = 0; ready < 2; ready++)
        for (int timeout = T_ZERO; timeout <= T_INFINITE; timeout++) {
            struct outcome got = masked_call(kind, timeout, ready);
            struct outcome want = kernel_answer(kind, timeout, ready);
            if (getenv("CONFORMANCE_PRINT_MASKS"))
                fprintf(stderr, "%s timeout=%d ready=%d: ret %d %s ran %d\n", kind_name[kind],
                        timeout, ready, got.ret, errno_name(got.err), got.ran);
            if (got.ret != want.ret || got.err != want.err || got.ran != want.ran)
                FAIL("%s, %s timeout, %s: got %d (%s), handler ran %d; expected %d (%s), %d",
                     kind_name[kind], timeout == T_ZERO ? "zero" : timeout == T_SHORT ? "short"
                                                                                      : "infinite",
                     ready ? "an fd ready" : "nothing ready", got.ret, errno_name(got.err),
                     got.ran, want.ret, errno_name(want.err), want.ran);
        }
}

TEST(signal_mask_epoll_pwait) { masked_matrix(EPWAIT); }
TEST(signal_mask_epoll_pwait2) { masked_matrix(EPWAIT2); }
TEST(signal_mask_ppoll_epoll_fd) { masked_matrix(PPOLL_EP); }
TEST(signal_mask_ppoll_pipe) { masked_matrix(PPOLL_PIPE); }
TEST(signal_mask_ppoll_eventfd) { masked_matrix(PPOLL_EFD); }
TEST(signal_mask_pselect_epoll_fd) { masked_matrix(PSELECT_EP); }
TEST(signal_mask_pselect_pipe) { masked_matrix(PSELECT_PIPE); }

/* A handled signal during a *blocking* call: poll, ppoll, select, pselect and epoll_wait fail
 * with EINTR whatever SA_RESTART says; a blocking eventfd, timerfd or signalfd read fails with
 * EINTR without SA_RESTART and is restarted with it (the kernel's -ERESTARTSYS), here until the
 * kicker makes it readable after three handler runs (writes the eventfd, fires the timer, sends
 * the signalfd's SIGUSR2 to the reading thread). */
enum blocking_kind { B_POLL_PIPE, B_POLL_EP, B_SELECT_EP, B_PSELECT_PIPE, B_EFD_READ, B_TFD_READ, B_SFD_READ };

struct repeat_kick {
    pthread_t target;
    enum blocking_kind kind;
    int efd, tfd; /* written (fired) once the handler ran three times */
    atomic_int stop;
};

static int is_read(enum blocking_kind kind) { return kind == B_EFD_READ || kind == B_TFD_READ || kind == B_SFD_READ; }

static void *kick_repeatedly(void *p)
{
    struct repeat_kick *k = p;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    int wrote = 0;
    while (!atomic_load(&k->stop)) {
        struct timespec tick = {0, 30 * 1000000L};
        nanosleep(&tick, NULL);
        if (ran >= 3 && !wrote) {
            uint64_t one = 1;
            struct itimerspec now = {{0, 0}, {0, 1}};
            if (k->kind == B_TFD_READ) {
                if (T.timerfd_settime(k->tfd, 0, &now, NULL) != 0) FAIL("timerfd_settime");
            } else if (k->kind == B_SFD_READ) {
                pthread_kill(k->target, SIGUSR2);
            } else if (T.write(k->efd, &one, sizeof one) != sizeof one) {
                FAIL("eventfd write");
            }
            wrote = 1;
        }
        pthread_kill(k->target, SIGUSR1);
    }
    return NULL;
}

static void blocking_call(enum blocking_kind kind, int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
    ran = 0;
    int ep = new_epoll(), efd = new_eventfd(0, 0), p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 1);
    int tfd = T.timerfd_create(CLOCK_MONOTONIC, 0), sfd = -1;
    CHECK(tfd >= 0);
    struct itimerspec later = {{0, 0}, {3600, 0}}; /* fired by the kicker, never by time */
    CHECK_EQ(T.timerfd_settime(tfd, 0, &later, NULL), 0);
    sigset_t usr2, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    if (kind == B_SFD_READ) {
        CHECK_EQ(pthread_sigmask(SIG_BLOCK, &usr2, &old), 0);
        sfd = T.signalfd(-1, &usr2, 0);
        CHECK(sfd >= 0);
    }
    struct repeat_kick k = {pthread_self(), kind, efd, tfd, 0};
    pthread_t t = start_thread(kick_repeatedly, &k);
    struct pollfd pfd = {kind == B_POLL_EP ? ep : p[0], POLLIN, 0};
    int fd = kind == B_SELECT_EP ? ep : p[0];
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    uint64_t v = 0;
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof si);
    errno = 0;
    long r = -3;
    switch (kind) {
    case B_POLL_PIPE:
    case B_POLL_EP: r = T.poll(&pfd, 1, -1); break;
    case B_SELECT_EP: r = T.select(fd + 1, &rd, NULL, NULL, NULL); break;
    case B_PSELECT_PIPE: r = T.pselect(fd + 1, &rd, NULL, NULL, NULL, NULL); break;
    case B_EFD_READ: r = T.read(efd, &v, sizeof v); break;
    case B_TFD_READ: r = T.read(tfd, &v, sizeof v); break;
    case B_SFD_READ: r = T.read(sfd, &si, sizeof si); break;
    }
    int err = errno;
    atomic_store(&k.stop, 1);
    join_thread(t);
    if (kind == B_SFD_READ) { /* a SIGUSR2 the kicker sent after the read ended: taken here */
        struct timespec zero = {0, 0};
        while (sigtimedwait(&usr2, NULL, &zero) > 0) {
        }
        CHECK_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    }
    if (is_read(kind) && restart) {
        long want = kind == B_SFD_READ ? (long)sizeof si : (long)sizeof v;
        if (r != want || (kind != B_SFD_READ && v != 1) || (kind == B_SFD_READ && si.ssi_signo != SIGUSR2))
            FAIL("blocking read (kind %d) under SA_RESTART: got %ld (%s), expected %ld bytes", (int)kind, r,
                 errno_name(err), want);
        CHECK(ran >= 3);
    } else {
        if (r != -1 || err != EINTR)
            FAIL("blocking call (kind %d, SA_RESTART %d) during a handler: got %ld (%s), "
                 "expected -1 EINTR", (int)kind, restart, r, errno_name(err));
        CHECK(ran >= 1);
    }
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(efd);
    CLOSE(tfd);
    if (sfd >= 0) CLOSE(sfd);
    CLOSE(ep);
}

TEST(signal_blocking_poll_pipe_eintr) { blocking_call(B_POLL_PIPE, 0); }
TEST(signal_blocking_poll_epoll_fd_eintr_even_with_sa_restart) { blocking_call(B_POLL_EP, 1); }
TEST(signal_blocking_select_epoll_fd_eintr_even_with_sa_restart) { blocking_call(B_SELECT_EP, 1); }
TEST(signal_blocking_pselect_pipe_eintr) { blocking_call(B_PSELECT_PIPE, 0); }
TEST(signal_blocking_eventfd_read_eintr) { blocking_call(B_EFD_READ, 0); }
TEST(signal_blocking_eventfd_read_restarted_with_sa_restart) { blocking_call(B_EFD_READ, 1); }
TEST(signal_blocking_timerfd_read_eintr) { blocking_call(B_TFD_READ, 0); }
TEST(signal_blocking_timerfd_read_restarted_with_sa_restart) { blocking_call(B_TFD_READ, 1); }
TEST(signal_blocking_signalfd_read_eintr) { blocking_call(B_SFD_READ, 0); }
TEST(signal_blocking_signalfd_read_restarted_with_sa_restart) { blocking_call(B_SFD_READ, 1); }
