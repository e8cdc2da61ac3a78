/*
 * bench/churn.c — workload 4, registration churn (room: bench/; see harness.h).
 *
 * A waiter thread blocks in the loop (one registration: a stop pipe); the main thread cycles
 * through K idle pipes: ADD (IN), MOD (IN|OUT — never ready on a pipe's read end), DEL. One
 * operation is one ctl call. On the kernel a change does not disturb the waiter; a poll()-based
 * loop must wake it for every change it has to see (the `wakeups` figure counts the waiter's
 * returns). Contenders without a thread-safe loop use their documented pattern: a mutex and a
 * wake pipe for the bare poll() loop, evthread_use_pthreads() for libevent, the release/acquire
 * callbacks and an ev_async for libev.
 */
#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static struct bl *loop;
static atomic_int stop;
static long long wakeups;
static int stop_pipe[2];

static void on_stop(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)w, (void)ev;
    atomic_store(&stop, 1);
}

static void on_idle(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l;
    bench_die("idle fd %d reported ready (%#x)", w->fd, ev);
}

static void *waiter(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        CHECK(C->run_once(loop, -1) >= 0);
        wakeups++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "churn", "k=64 warmup=3000", 1);
    int k = (int)bench_opt_ll("k");
    bench_fds(2L * k + 256);
    loop = C->loop_new(1);
    CHECK(pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) == 0);
    struct bw *sw = bench_watcher(stop_pipe[0], BL_IN, on_stop, NULL);
    CHECK(C->add(loop, sw) == 0);
    int(*p)[2] = calloc(k, sizeof *p);
    struct bw **ws = calloc(k, sizeof *ws);
    CHECK(p && ws);
    for (int i = 0; i < k; i++) {
        CHECK(pipe2(p[i], O_NONBLOCK | O_CLOEXEC) == 0);
        ws[i] = bench_watcher(p[i][0], BL_IN, on_idle, NULL);
    }
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
    long long warm = bench_opt_ll("warmup"), ops = 0, w0 = 0;
    for (long long c = 0;; c++) {
        if (ops == warm) {
            bench_start();
            w0 = wakeups; /* racy read, a diagnostic only */
        }
        if (ops > warm && !bench_more(ops - warm)) break;
        struct bw *w = ws[c % k];
        w->events = BL_IN;
        CHECK(C->add(loop, w) == 0);
        CHECK(C->mod(loop, w, BL_IN | BL_OUT) == 0);
        CHECK(C->del(loop, w) == 0);
        ops += 3;
    }
    long long wk = wakeups - w0;
    bench_result(ops - warm, "metric=ctl_per_s wakeups=%lld", wk);
    CHECK(write(stop_pipe[1], "s", 1) == 1);
    CHECK(pthread_join(t, NULL) == 0);
    for (int i = 0; i < k; i++) {
        bench_watcher_free(ws[i]);
        close(p[i][0]);
        close(p[i][1]);
    }
    return 0;
}
