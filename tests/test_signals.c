/*
 * test_signals.c — a handler running during a wait makes it fail with EINTR (never restarted,
 * even with SA_RESTART); epoll_pwait/pwait2 apply their signal mask atomically.
 */
#include "runner.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

static volatile sig_atomic_t hits;

static void on_signal(int sig)
{
    (void)sig;
    hits++;
}

static void install(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
    hits = 0;
}

struct kicker {
    pthread_t target;
    pid_t tid;
    atomic_int armed;
    int repeat;
    struct flag done;
};

/* Signals the target thread once it is blocked; if `repeat`, again every 50 ms until done (so
 * a signal that arrived before the wait began cannot make the case hang). */
static void *kick(void *p)
{
    struct kicker *k = p;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    wait_until_blocked(k->tid, &k->armed);
    do pthread_kill(k->target, SIGUSR1);
    while (k->repeat && !flag_wait(&k->done, 50));
    return NULL;
}

static pthread_t start_kicker(struct kicker *k, int repeat)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->done.m, NULL);
    pthread_cond_init(&k->done.c, NULL);
    k->target = pthread_self();
    k->tid = current_tid();
    k->repeat = repeat;
    return start_thread(kick, k);
}

/* The signal held during the wait is delivered once the caller's mask is back: at once on
 * Linux, at the next system call under qemu-user. Waits (bounded) for the handler to have run
 * `want` times. */
static int handler_ran(int want)
{
    int64_t t0 = now_ns();
    while (hits < want && elapsed_ms(t0) < 2000) {
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
    }
    return hits;
}

static void finish_kicker(struct kicker *k, pthread_t t)
{
    flag_set(&k->done);
    join_thread(t);
    pthread_mutex_destroy(&k->done.m);
    pthread_cond_destroy(&k->done.c);
}

static void eintr_case(int flags, int which)
{
    install(SIGUSR1, flags);
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    struct epoll_event evs[4];
    struct kicker k;
    pthread_t t = start_kicker(&k, 1);
    int64_t t0 = now_ns();
    k.armed = 1;
    errno = 0;
    int r;
    if (which == 0) r = T.epoll_wait(ep, evs, 4, 10000);
    else if (which == 1) r = T.epoll_pwait(ep, evs, 4, -1, NULL);
    else r = T.epoll_pwait2(ep, evs, 4, NULL, NULL);
    int err = errno;
    finish_kicker(&k, t);
    if (r != -1 || err != EINTR)
        FAIL("wait during a signal handler: got %d (%s), expected -1 EINTR", r, errno_name(err));
    CHECK(hits >= 1);
    CHECK(elapsed_ms(t0) < 8000);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(signal_handler_eintr_without_sa_restart) { eintr_case(0, 0); }

TEST(signal_handler_eintr_even_with_sa_restart) { eintr_case(SA_RESTART, 0); }

TEST(signal_handler_eintr_pwait_infinite) { eintr_case(SA_RESTART, 1); }

TEST(signal_handler_eintr_pwait2_null_timeout) { eintr_case(0, 2); }

/* The signal is blocked for the duration of epoll_pwait only: the wait runs to its timeout and
 * the handler runs once the call has restored the mask. */
TEST(signal_pwait_masked_runs_to_timeout)
{
    install(SIGUSR1, 0);
    int ep = new_epoll();
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    struct epoll_event evs[4];
    struct kicker k;
    pthread_t t = start_kicker(&k, 0);
    int64_t t0 = now_ns();
    k.armed = 1;
    int r = T.epoll_pwait(ep, evs, 4, 300, &block);
    int64_t took = elapsed_ms(t0);
    finish_kicker(&k, t);
    CHECK_EQ(r, 0);
    CHECK(took >= 300);
    CHECK_EQ(handler_ran(1), 1); /* held during the wait, delivered after it */
    CLOSE(ep);
}

TEST(signal_pwait2_masked_runs_to_timeout)
{
    install(SIGUSR1, SA_RESTART);
    int ep = new_epoll();
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    struct epoll_event evs[4];
    struct kicker k;
    pthread_t t = start_kicker(&k, 0);
    struct timespec ts = {0, 250 * 1000000L};
    int64_t t0 = now_ns();
    k.armed = 1;
    int r = T.epoll_pwait2(ep, evs, 4, &ts, &block);
    int64_t took = elapsed_ms(t0);
    finish_kicker(&k, t);
    CHECK_EQ(r, 0);
    CHECK(took >= 250);
    CHECK_EQ(handler_ran(1), 1);
    CLOSE(ep);
}

/* A signal pending while blocked is delivered by a pwait whose mask unblocks it: atomically, so
 * the wait fails at once with EINTR instead of sleeping. */
TEST(signal_pwait_unblocks_pending_signal_atomically)
{
    install(SIGUSR1, 0);
    sigset_t block, old, none;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    int ep = new_epoll();
    CHECK_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    CHECK_EQ(hits, 0);
    struct epoll_event evs[4];
    int64_t t0 = now_ns();
    CHECK_ERR(T.epoll_pwait(ep, evs, 4, 5000, &none), EINTR);
    CHECK(elapsed_ms(t0) < 2000);
    CHECK_EQ(hits, 1);
    /* the caller's mask is back: blocked again */
    sigset_t now;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    CHECK(sigismember(&now, SIGUSR1));
    CHECK_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    CLOSE(ep);
}

TEST(signal_pwait2_unblocks_pending_signal_atomically)
{
    install(SIGUSR1, 0);
    sigset_t block, old, none, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    int ep = new_epoll();
    CHECK_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    CHECK_EQ(hits, 0);
    struct epoll_event evs[4];
    struct timespec ts = {5, 0};
    int64_t t0 = now_ns();
    CHECK_ERR(T.epoll_pwait2(ep, evs, 4, &ts, &none), EINTR);
    CHECK(elapsed_ms(t0) < 2000);
    CHECK_EQ(hits, 1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    CHECK(sigismember(&now, SIGUSR1));
    CHECK_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    CLOSE(ep);
}

/* Events already pending: the wait returns them and errno is left alone even though a handler
 * ran just before. */
TEST(signal_successful_wait_leaves_errno)
{
    install(SIGUSR1, 0);
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 2);
    CHECK_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    CHECK_EQ(hits, 1);
    errno = EINTR;
    struct epoll_event evs[4];
    int n = T.epoll_wait(ep, evs, 4, 0);
    CHECK_EQ(errno, EINTR);
    CHECK_EVENTS(n, evs, EV(EPOLLIN, 2));
    errno = EAGAIN;
    n = T.epoll_pwait(ep, evs, 4, 1000, NULL);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EVENTS(n, evs, EV(EPOLLIN, 2));
    CLOSE(efd);
    CLOSE(ep);
}

/* libev writes its eventfd from a signal handler. The handler ran during the wait, so the wait
 * fails with EINTR; the write it made is the next wait's event. */
static int handler_efd = -1;
static volatile sig_atomic_t handler_writes;

static void write_from_handler(int sig)
{
    (void)sig;
    int saved = errno;
    uint64_t one = 1;
    if (T.write(handler_efd, &one, 8) == 8) handler_writes++;
    errno = saved;
}

static void install_writer(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = write_from_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
}

TEST(signal_handler_writes_eventfd)
{
    int ep = new_epoll();
    handler_efd = new_eventfd(0, EFD_NONBLOCK);
    handler_writes = 0;
    install_writer(SIGUSR1);
    ADD(ep, handler_efd, EPOLLIN | EPOLLET, 0x51);
    struct kicker k;
    pthread_t t = start_kicker(&k, 0);
    struct epoll_event evs[4];
    k.armed = 1;
    int r = T.epoll_wait(ep, evs, 4, 10000);
    int err = errno;
    finish_kicker(&k, t);
    CHECK_EQ(handler_writes, 1);
    if (r == -1) CHECK_EQ(err, EINTR);
    else FAIL("epoll_wait returned %d while a handler ran, expected -1 EINTR", r);
    WAIT_EXPECT(ep, EV(EPOLLIN, 0x51));
    WAIT_NONE(ep);
    CHECK_U64(efd_read(handler_efd), 1);
    CLOSE(handler_efd);
    CLOSE(ep);
}

/* The eventfd write path is async-signal-safe: a handler writing the eventfd that interrupts
 * the same eventfd's write/read/poll in the main thread neither deadlocks nor loses a count. */
struct storm {
    pthread_t target;
    atomic_int stop;
    int sent;
};

static void *signal_storm(void *p)
{
    struct storm *s = p;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&s->stop) && s->sent < 3000) {
        pthread_kill(s->target, SIGUSR2);
        s->sent++;
        if (s->sent % 64 == 0) sched_yield();
    }
    return NULL;
}

TEST(signal_handler_eventfd_write_is_async_signal_safe)
{
    int ep = new_epoll();
    handler_efd = new_eventfd(0, EFD_NONBLOCK);
    handler_writes = 0;
    install_writer(SIGUSR2);
    ADD(ep, handler_efd, EPOLLIN | EPOLLET, 1);
    struct storm s = {.target = pthread_self(), .sent = 0};
    atomic_init(&s.stop, 0);
    pthread_t t = start_thread(signal_storm, &s);
    uint64_t total = 0;
    int mine = 0;
    int64_t t0 = now_ns();
    while (elapsed_ms(t0) < 300) {
        uint64_t one = 1, v;
        if (T.write(handler_efd, &one, 8) == 8) mine++;
        struct epoll_event evs[2];
        (void)T.epoll_wait(ep, evs, 2, 0);
        if (T.read(handler_efd, &v, 8) == 8) total += v;
        struct pollfd pf = {.fd = handler_efd, .events = POLLIN};
        (void)T.poll(&pf, 1, 0);
    }
    atomic_store(&s.stop, 1);
    join_thread(t);
    /* collect what is left: the handler may still run for signals already sent */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    uint64_t v;
    if (T.read(handler_efd, &v, 8) == 8) total += v;
    signal(SIGUSR2, SIG_IGN); /* discards one still pending */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    CHECK_U64(total, (uint64_t)mine + (uint64_t)handler_writes);
    CHECK(handler_writes > 0);
    CLOSE(handler_efd);
    CLOSE(ep);
}
