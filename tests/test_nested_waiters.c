/*
 * test_nested_waiters.c — an edge-triggered instance watching another, with several threads
 * blocked at once (on the outer instance, or one on each): every wait wakes as the kernel wakes
 * it, a blocked waiter burns no CPU (getrusage(RUSAGE_THREAD) over its time asleep: a second
 * in one case, 150 ms in the others), and a
 * handled signal (no SA_RESTART) ends each blocked epoll_wait with EINTR (issue 13, item 1).
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

/* How a waiter blocks: epoll_wait on the instance, or ppoll/pselect on its fd (then a
 * zero-timeout epoll_wait takes what it reported: poll() of an epoll fd consumes nothing). */
enum how { BY_EPOLL_WAIT, BY_PPOLL, BY_PSELECT };
static enum how waiters_block_by;

static int block_once(int ep, struct epoll_event *evs, int max)
{
    if (waiters_block_by == BY_EPOLL_WAIT) return T.epoll_wait(ep, evs, max, -1);
    int r;
    if (waiters_block_by == BY_PPOLL) {
        struct pollfd p = {ep, POLLIN, 0};
        r = T.ppoll(&p, 1, NULL, NULL);
    } else {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ep, &rd);
        r = T.pselect(ep + 1, &rd, NULL, NULL, NULL, NULL);
    }
    return r <= 0 ? r : T.epoll_wait(ep, evs, max, 0);
}

/* One thread waiting on `ep` until a wait fails: counts the waits that returned events, and
 * keeps the CPU time and the duration of the wait that failed. */
struct waiter {
    int ep;
    pthread_t th;
    _Atomic pid_t tid;
    atomic_int armed; /* set once tid is */
    atomic_int events; /* waits that returned events */
    int once;          /* return after the first event, until `again` is set */
    struct flag got, again;
    int last, err;     /* what the last wait returned */
    int64_t cpu_us, wall_ms; /* of the last wait */
};

/* The calling thread's CPU time: getrusage(RUSAGE_THREAD) on Linux; hosts without it (macOS,
 * where the suite is built but not run here) read the thread's CPU clock. */
static int64_t thread_cpu_us(void)
{
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) FAIL("getrusage: %s", errno_name(errno));
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
#else
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) FAIL("clock_gettime: %s", errno_name(errno));
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#endif
}

static void *waiter_main(void *p)
{
    struct waiter *w = p;
    w->tid = current_tid();
    for (;;) {
        struct epoll_event evs[8];
        int64_t c0 = thread_cpu_us(), t0 = now_ns();
        w->armed = 1;
        errno = 0;
        int n = block_once(w->ep, evs, 8);
        w->err = errno;
        w->cpu_us = thread_cpu_us() - c0;
        w->wall_ms = elapsed_ms(t0);
        w->last = n;
        if (n < 0) return NULL;
        if (n == 0) continue; /* ppoll/pselect: another waiter took the event first */
        atomic_fetch_add(&w->events, 1);
        if (w->once) {
            w->once = 0;
            flag_set(&w->got);
            if (!flag_wait(&w->again, 10000)) FAIL("never told to wait again");
        }
    }
}

static void start_waiter(struct waiter *w, int ep, int once)
{
    memset(w, 0, sizeof *w);
    w->ep = ep;
    w->once = once;
    pthread_mutex_init(&w->got.m, NULL);
    pthread_cond_init(&w->got.c, NULL);
    pthread_mutex_init(&w->again.m, NULL);
    pthread_cond_init(&w->again.c, NULL);
    w->th = start_thread(waiter_main, w);
}

/* Waits (bounded) until the waiter sleeps in its first wait. */
static void blocked(struct waiter *w)
{
    int64_t t0 = now_ns();
    while (!atomic_load(&w->armed) && elapsed_ms(t0) < WAIT_MS) {
        struct timespec tick = {0, 200000};
        nanosleep(&tick, NULL);
    }
    wait_until_blocked(atomic_load(&w->tid), NULL);
}

/* Waits (bounded) until `a` (+ `b`) waits returned events `want` times in all. */
static int events_reach(struct waiter *a, struct waiter *b, int want)
{
    int64_t t0 = now_ns();
    while (atomic_load(&a->events) + (b ? atomic_load(&b->events) : 0) < want &&
           elapsed_ms(t0) < WAIT_MS) {
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
    }
    return atomic_load(&a->events) + (b ? atomic_load(&b->events) : 0);
}

/* How long a waiter is left blocked before the signal; its CPU time is measured over that. A
 * full second in the first case (nest_et_waiters_outer_and_inner_eventfd), 150 ms in the others:
 * enough to tell a waiter that sleeps from one that spins (which burns most of it), without
 * making every run of the suite (some 30 per `make check`) seconds longer per case. */
static long block_ms = 150;

/* Interrupts the waiter (blocked in its wait), joins it: the wait must have failed with EINTR
 * after blocking about block_ms, using a small fraction of that time's CPU. */
static void interrupt_waiter(struct waiter *w)
{
    struct timespec span = {block_ms / 1000, (block_ms % 1000) * 1000000L};
    nanosleep(&span, NULL);
    pthread_kill(w->th, SIGUSR1);
    join_thread(w->th);
    if (w->last != -1 || w->err != EINTR)
        FAIL("blocked nested wait interrupted by a handled signal: got %d (%s), expected -1 "
             "EINTR", w->last, errno_name(w->err));
    if (w->wall_ms < block_ms * 9 / 10) FAIL("the wait returned after %lld ms", (long long)w->wall_ms);
    /* a waiter that spins burns most of that time; one that sleeps, almost nothing */
    if (w->cpu_us * 10 > w->wall_ms * 1000)
        FAIL("a waiter blocked %lld ms used %lld us of CPU", (long long)w->wall_ms,
             (long long)w->cpu_us);
    pthread_mutex_destroy(&w->got.m);
    pthread_cond_destroy(&w->got.c);
    pthread_mutex_destroy(&w->again.m);
    pthread_cond_destroy(&w->again.c);
}

enum source { EVENTFD, PIPE };
enum placement { OUTER_AND_INNER, BOTH_OUTER };

/* outer watches inner with EPOLLIN|EPOLLET, inner watches the source (level-triggered); the
 * source is written once, each waiter wakes once, the source is drained (drain: 1, or 2: then
 * written and drained again) or not (0), and the waiters then sleep until a signal ends their
 * waits. */
static void nested_et_waiters(enum source src, enum placement where, uint32_t inner_et,
                              int drain)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
    int outer = new_epoll(), inner = new_epoll();
    int p[2];
    if (src == EVENTFD) p[0] = p[1] = new_eventfd(0, EFD_NONBLOCK);
    else make_pipe(p, O_NONBLOCK);
    ADD(inner, p[0], EPOLLIN | inner_et, 1);
    ADD(outer, inner, EPOLLIN | EPOLLET, 2);
    struct waiter a, b;
    start_waiter(&a, outer, 0);
    /* a waiter on the inner instance (level-triggered) returns once, then waits again after
     * the drain; a second waiter on the outer one shares its single edge */
    start_waiter(&b, where == BOTH_OUTER ? outer : inner, where == OUTER_AND_INNER);
    blocked(&a);
    blocked(&b);
    if (src == EVENTFD) efd_write(p[1], 1);
    else write_str(p[1], "x");
    if (where == OUTER_AND_INNER) {
        CHECK_EQ(events_reach(&a, NULL, 1), 1);
        CHECK(flag_wait(&b.got, WAIT_MS));
    } else {
        CHECK_EQ(events_reach(&a, &b, 1), 1);
    }
    if (drain && src == EVENTFD) CHECK_U64(efd_read(p[0]), 1);
    else if (drain) CHECK_EQ(drain_fd(p[0]), 1);
    if (drain > 1) { /* drained and written again: a new edge inside, a new edge outside */
        if (src == EVENTFD) efd_write(p[1], 1);
        else write_str(p[1], "x");
        CHECK_EQ(events_reach(&a, &b, 2), 2);
        if (src == EVENTFD) CHECK_U64(efd_read(p[0]), 1);
        else CHECK_EQ(drain_fd(p[0]), 1);
    }
    flag_set(&b.again);
    interrupt_waiter(&a);
    interrupt_waiter(&b);
    /* one edge outside: one wake-up with events in all on the outer instance */
    if (where == OUTER_AND_INNER) {
        CHECK_EQ(atomic_load(&a.events), 1);
        CHECK_EQ(atomic_load(&b.events), 1);
    } else {
        CHECK_EQ(atomic_load(&a.events) + atomic_load(&b.events), drain > 1 ? 2 : 1);
    }
    if (src == PIPE) CLOSE(p[1]);
    CLOSE(p[0]);
    CLOSE(inner);
    CLOSE(outer);
}

/* the source drained before the waiters sleep again */
TEST(nest_et_waiters_outer_and_inner_eventfd)
{
    block_ms = 1000; /* the measure: a second blocked */
    nested_et_waiters(EVENTFD, OUTER_AND_INNER, 0, 1);
}
TEST(nest_et_waiters_outer_and_inner_pipe) { nested_et_waiters(PIPE, OUTER_AND_INNER, 0, 1); }
TEST(nest_et_waiters_both_outer_eventfd) { nested_et_waiters(EVENTFD, BOTH_OUTER, 0, 1); }
TEST(nest_et_waiters_both_outer_pipe) { nested_et_waiters(PIPE, BOTH_OUTER, 0, 1); }
TEST(nest_et_waiters_both_outer_pipe_et) { nested_et_waiters(PIPE, BOTH_OUTER, EPOLLET, 1); }
/* drained, written and drained again */
TEST(nest_et_waiters_refill_both_outer_eventfd) { nested_et_waiters(EVENTFD, BOTH_OUTER, 0, 2); }
TEST(nest_et_waiters_refill_both_outer_pipe) { nested_et_waiters(PIPE, BOTH_OUTER, 0, 2); }
TEST(nest_et_waiters_refill_both_outer_pipe_et) { nested_et_waiters(PIPE, BOTH_OUTER, EPOLLET, 2); }
/* the source left readable: the outer edge was taken, the waiters sleep on. (Not with a waiter
 * on the inner instance: level-triggered it returns at once, edge-triggered it takes the inner
 * event before or after the outer waiter looks, as the threads run.) */
TEST(nest_et_waiters_kept_both_outer_eventfd) { nested_et_waiters(EVENTFD, BOTH_OUTER, 0, 0); }
TEST(nest_et_waiters_kept_both_outer_pipe) { nested_et_waiters(PIPE, BOTH_OUTER, 0, 0); }
TEST(nest_et_waiters_kept_both_outer_pipe_et) { nested_et_waiters(PIPE, BOTH_OUTER, EPOLLET, 0); }
/* the waiters block in ppoll or pselect on the outer instance's fd (anypoll_poll's own loop) */
static void by(enum how h, enum source src, uint32_t inner_et, int drain)
{
    waiters_block_by = h;
    nested_et_waiters(src, BOTH_OUTER, inner_et, drain);
}
TEST(nest_et_waiters_ppoll_refill_pipe) { by(BY_PPOLL, PIPE, 0, 2); }
TEST(nest_et_waiters_ppoll_kept_pipe) { by(BY_PPOLL, PIPE, 0, 0); }
TEST(nest_et_waiters_pselect_refill_eventfd) { by(BY_PSELECT, EVENTFD, 0, 2); }
TEST(nest_et_waiters_pselect_kept_pipe_et) { by(BY_PSELECT, PIPE, EPOLLET, 0); }

/* An EPOLLET registration whose wake-ups report nothing: a pipe's write end watched for
 * EPOLLWRBAND (pipes show OUT|WRNORM, never WRBAND: the kernel wakes the registration on room
 * to write and reports nothing), a socket watched for EPOLLPRI after the peer's SHUT_WR (a
 * wake-up with IN|RDHUP, nothing of the interest). Two waiters on the instance sleep until a
 * signal ends their waits, with no event and no CPU burnt (the poll engine once asked poll()
 * for those bits at every round: ready at once, a busy loop that no signal ended; found by the
 * differential fuzzer's waiting threads). */
static void nothing_reportable(int pipe_wrband)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) FAIL("sigaction: %s", errno_name(errno));
    int ep = new_epoll(), p[2];
    if (pipe_wrband) {
        make_pipe(p, O_NONBLOCK);
        ADD(ep, p[1], EPOLLWRBAND | EPOLLET, 1);
    } else {
        make_socketpair(p, SOCK_STREAM);
        CHECK_EQ(T.shutdown(p[1], SHUT_WR), 0);
        ADD(ep, p[0], EPOLLPRI | EPOLLET, 1);
    }
    struct waiter a, b;
    start_waiter(&a, ep, 0);
    start_waiter(&b, ep, 0);
    blocked(&a);
    blocked(&b);
    interrupt_waiter(&a);
    interrupt_waiter(&b);
    CHECK_EQ(atomic_load(&a.events) + atomic_load(&b.events), 0);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}
TEST(et_waiters_pipe_wrband_nothing_reportable_sleep) { nothing_reportable(1); }
TEST(et_waiters_socket_pri_after_peer_shut_wr_sleep) { nothing_reportable(0); }
