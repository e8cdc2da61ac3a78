/*
 * bench/pingpong.c — workload 1, wake-up latency (room: bench/; see harness.h).
 *
 * Two threads, each with its own loop, bounce a token through two eventfds: the main thread
 * waits for eventfd A, reads it and writes eventfd B; the other thread waits for B, reads it and
 * writes A. One operation is one round trip (two wake-ups). The eventfds are the contender's:
 * anypoll's (emulated by the poll engine, the kernel's under the native engine) or the kernel's.
 * Registered EPOLLIN|EPOLLET where the contender has edge triggering; bare poll(), libevent's
 * and libev's poll backends are level-triggered, which is the same here since every callback
 * reads the counter to zero.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>

static int efd_a, efd_b;
static atomic_int stop;
static long long rounds;

static void kick(int fd)
{
    uint64_t one = 1;
    CHECK(C->write(fd, &one, 8) == 8);
}

static void drain(int fd)
{
    uint64_t v;
    CHECK(C->read(fd, &v, 8) == 8);
}

static void on_a(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)w, (void)ev;
    drain(efd_a);
    rounds++;
}

static void on_b(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)ev;
    drain(efd_b);
    if (atomic_load(&stop)) {
        *(int *)w->arg = 1;
        return;
    }
    kick(efd_a);
}

static void *partner(void *arg)
{
    (void)arg;
    struct bl *l = C->loop_new(0);
    int done = 0;
    struct bw *w = bench_watcher(efd_b, BL_IN | BL_ET, on_b, &done);
    CHECK(C->add(l, w) == 0);
    while (!done) CHECK(C->run_once(l, -1) >= 0);
    CHECK(C->del(l, w) == 0);
    bench_watcher_free(w);
    C->loop_free(l);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "pingpong", "warmup=2000", 0);
    efd_a = C->eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    efd_b = C->eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(efd_a >= 0 && efd_b >= 0);
    struct bl *l = C->loop_new(0);
    struct bw *w = bench_watcher(efd_a, BL_IN | BL_ET, on_a, NULL);
    CHECK(C->add(l, w) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, partner, NULL) == 0);

    long long warm = bench_opt_ll("warmup");
    for (;;) {
        kick(efd_b);
        long long before = rounds;
        while (rounds == before) CHECK(C->run_once(l, -1) >= 0);
        if (rounds == warm) bench_start();
        if (rounds > warm && !bench_more(rounds - warm)) break;
    }
    bench_result(rounds - warm, "metric=round_trips_per_s");
    atomic_store(&stop, 1);
    kick(efd_b);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(C->del(l, w) == 0);
    bench_watcher_free(w);
    C->loop_free(l);
    C->close(efd_a);
    C->close(efd_b);
    return 0;
}
