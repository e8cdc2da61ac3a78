/*
 * bench/idle.c — workload 3, idle scaling (room: bench/; see harness.h).
 *
 * N idle fds registered for reading (level-triggered) — kernel eventfds with a zero counter,
 * one fd each so that N goes as far as RLIMIT_NOFILE allows — then one pipe, registered last,
 * that one byte makes ready. One operation: write the byte, one wait (which returns that one
 * fd), the callback reads it. The cost against N shows what each idle registration adds to a
 * wait: nothing for the kernel's epoll, a slot scanned by the kernel (and perhaps by user
 * space) for anything built on poll().
 */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static long long got;

static void on_read(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)ev;
    char c;
    CHECK(C->read(w->fd, &c, 1) == 1);
    got++;
}

static void on_idle(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)ev;
    bench_die("idle fd %d reported ready", w->fd);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "idle", "n=1000 warmup=100", 0);
    long n = bench_opt_ll("n");
    bench_fds(n + 256);
    int(*p)[2] = calloc(n + 1, sizeof *p);
    struct bw **ws = calloc(n + 1, sizeof *ws);
    CHECK(p && ws);
    struct bl *l = C->loop_new(0);
    for (long i = 0; i <= n; i++) {
        if (i == n) {
            CHECK(pipe2(p[i], O_NONBLOCK | O_CLOEXEC) == 0);
        } else {
            p[i][0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            p[i][1] = -1;
            CHECK(p[i][0] >= 0);
        }
        ws[i] = bench_watcher(p[i][0], BL_IN, i == n ? on_read : on_idle, NULL);
        CHECK(C->add(l, ws[i]) == 0);
    }
    long long warm = bench_opt_ll("warmup"), ops = 0;
    int wfd = p[n][1];
    for (;;) {
        if (ops == warm) bench_start();
        if (ops > warm && !bench_more(ops - warm)) break;
        CHECK(C->write(wfd, "i", 1) == 1);
        long long before = got;
        while (got == before) CHECK(C->run_once(l, -1) >= 0);
        ops++;
    }
    bench_result(ops - warm, "metric=us_per_wait");
    for (long i = 0; i <= n; i++) {
        CHECK(C->del(l, ws[i]) == 0);
        bench_watcher_free(ws[i]);
        close(p[i][0]);
        if (p[i][1] >= 0) close(p[i][1]);
    }
    C->loop_free(l);
    return 0;
}
