/*
 * test_wakeups.c — an eventfd write from another thread ends a wait blocked with no time limit
 * (issue 16): the wake-up comes from the write itself, never from a timer.
 *
 * The poll engine blocks in ppoll() with a timeout only while it must look again later by
 * itself (its 10 ms ticks: EPOLLET suspects, signalfds, nested entries seen high); a wait on
 * an instance of eventfds alone has none. Each round checks that structurally: the waiter is
 * seen asleep in its waiting system call with no time limit (/proc/self/task/N/syscall: a NULL
 * timespec or a negative timeout; hosts without that file only count), then another thread
 * writes, and the wait must return that eventfd. A wake-up lost by the engine would leave the
 * waiter asleep for ever (the runner's watchdog fails the case); one left to a timer would show
 * as a timed sleep. Counted, never timed.
 */
#include "runner.h"

#include <stdatomic.h>

#define ROUNDS 200

struct untimed_waiter {
    int ep, efd;
    pid_t tid;
    atomic_int armed, round;
    int bad, err;
};

/* Each round: wait without a limit, expect exactly the eventfd, reset it, count the round. */
static void *untimed_wait(void *p)
{
    struct untimed_waiter *w = p;
    w->tid = current_tid();
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&w->armed, 1);
        struct epoll_event ev[4];
        int n = T.epoll_wait(w->ep, ev, 4, -1);
        atomic_store(&w->armed, 0);
        if (n != 1 || ev[0].events != EPOLLIN || ev[0].data.u64 != 11) {
            w->err = n < 0 ? errno : 0;
            w->bad++;
            return NULL;
        }
        uint64_t v;
        if (T.read(w->efd, &v, 8) != 8 || v != 1) {
            w->bad++;
            return NULL;
        }
        atomic_store(&w->round, r + 1);
    }
    return NULL;
}

static void untimed_rounds(uint32_t events)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, events, 11);
    struct untimed_waiter w = {.ep = ep, .efd = efd};
    pthread_t t = start_thread(untimed_wait, &w);
    while (!atomic_load(&w.armed)) sched_yield(); /* w.tid is known */
    int observed = 0;
    for (int r = 0; r < ROUNDS; r++) {
        /* the previous round is over (its read done) before this one's write */
        while (atomic_load(&w.round) != r && !w.bad) sched_yield();
        CHECK_EQ(w.bad, 0);
        int u = blocked_untimed(w.tid, &w.armed);
        CHECK(u != 0); /* asleep in a wait that a timer could end */
        observed += u == 1;
        efd_write(efd, 1);
    }
    join_thread(t);
    CHECK_EQ(w.bad, 0);
    CHECK_EQ(w.err, 0);
    CHECK_EQ(atomic_load(&w.round), ROUNDS);
    /* where /proc tells, every round was seen asleep without a limit */
    CHECK(observed == 0 || observed == ROUNDS);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(thread_eventfd_write_ends_untimed_wait_lt) { untimed_rounds(EPOLLIN); }

TEST(thread_eventfd_write_ends_untimed_wait_et) { untimed_rounds(EPOLLIN | EPOLLET); }

/* An EPOLLET eventfd already non-zero and reported: the next write is a new edge that must end
 * the wait too (its user end is readable already, so no poll() of it can tell; the engine's
 * wake channel must). */
struct nonzero_waiter {
    int ep;
    pid_t tid;
    atomic_int armed;
    int n, err;
    struct epoll_event ev;
};

static void *nonzero_wait(void *p)
{
    struct nonzero_waiter *w = p;
    w->tid = current_tid();
    atomic_store(&w->armed, 1);
    w->n = T.epoll_wait(w->ep, &w->ev, 1, -1);
    w->err = w->n < 0 ? errno : 0;
    return NULL;
}

TEST(thread_eventfd_second_write_ends_untimed_wait_et)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 12);
    WAIT_EXPECT(ep, EV(EPOLLIN, 12));
    WAIT_NONE(ep);
    for (int r = 0; r < 20; r++) {
        struct nonzero_waiter w = {.ep = ep};
        pthread_t t = start_thread(nonzero_wait, &w);
        while (!atomic_load(&w.armed)) sched_yield(); /* w.tid is known */
        CHECK(blocked_untimed(w.tid, &w.armed) != 0);
        efd_write(efd, 1);
        join_thread(t);
        CHECK_EQ(w.n, 1);
        CHECK_EQ(w.ev.events, EPOLLIN);
        CHECK_EQ(w.ev.data.u64, 12);
    }
    CHECK_EQ(efd_read(efd), 21);
    CLOSE(efd);
    CLOSE(ep);
}
