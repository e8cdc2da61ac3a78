/*
 * test_churn.c — many ADD/MOD/DEL from one thread while another is blocked in epoll_wait on
 * the same instance (found by bench/churn.c, issue 5). The waiter must survive every change
 * and report only the one fd that becomes ready; counted, never timed.
 */
#include "runner.h"

#include <fcntl.h>
#include <stdatomic.h>

#define CHURN_FDS 64
#define CHURN_CYCLES 20000
#define STOP_DATA 0x5709

struct churn_waiter {
    int ep;
    pid_t tid;
    atomic_int armed;
    int returns, stray, got_stop, err;
    uint64_t stray_data;
};

static void *churn_wait(void *p)
{
    struct churn_waiter *w = p;
    w->tid = current_tid();
    w->armed = 1;
    while (!w->got_stop) {
        struct epoll_event evs[8];
        int n = T.epoll_wait(w->ep, evs, 8, 20000);
        if (n <= 0) {
            w->err = n < 0 ? errno : ETIMEDOUT;
            return NULL;
        }
        w->returns++;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == STOP_DATA) {
                w->got_stop = 1;
            } else {
                w->stray++;
                w->stray_data = evs[i].data.u64;
            }
        }
    }
    return NULL;
}

TEST(thread_churn_while_waiter_blocked)
{
    int ep = new_epoll();
    int stop = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, stop, EPOLLIN, STOP_DATA);
    int p[CHURN_FDS][2];
    for (int i = 0; i < CHURN_FDS; i++) make_pipe(p[i], O_NONBLOCK | O_CLOEXEC);
    struct churn_waiter w = {.ep = ep};
    pthread_t t = start_thread(churn_wait, &w);
    /* w.tid is known once armed is set; then wait for the thread to sleep in epoll_wait */
    for (int64_t t0 = now_ns(); !atomic_load(&w.armed) && elapsed_ms(t0) < 2000;) {
        struct timespec tick = {0, 100000};
        nanosleep(&tick, NULL);
    }
    CHECK(wait_until_blocked(w.tid, &w.armed));
    /* A pipe's read end with nothing in it is never ready for IN, and never for OUT. */
    for (int c = 0; c < CHURN_CYCLES; c++) {
        int fd = p[c % CHURN_FDS][0];
        ADD(ep, fd, EPOLLIN, (uint64_t)c);
        MOD(ep, fd, EPOLLIN | EPOLLOUT, (uint64_t)c);
        DEL(ep, fd);
    }
    efd_write(stop, 1);
    join_thread(t);
    CHECK_EQ(w.err, 0);
    CHECK_EQ(w.got_stop, 1);
    CHECK_EQ(w.stray, 0);
    for (int i = 0; i < CHURN_FDS; i++) {
        CLOSE(p[i][0]);
        CLOSE(p[i][1]);
    }
    CLOSE(stop);
    CLOSE(ep);
}
