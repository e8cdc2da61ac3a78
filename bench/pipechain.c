/*
 * bench/pipechain.c — workload 2, the pipe chain of libevent's and libev's own benchmarks
 * (room: bench/; see harness.h).
 *
 * N pipes, each read end registered level-triggered with a callback that reads one byte and,
 * while the round has writes left, writes one byte into the next pipe. A round writes into A
 * pipes spread evenly over the chain and runs the loop until the A tokens have made W further
 * writes between them (W = min(N, 1000) by default, so that a round over 10 000 pipes with one
 * token stays about a second long on a poll() loop, whose every hop scans all N fds): W + A
 * reads, W + A callbacks. One operation is one round. Unlike the original benchmark the registrations persist across
 * rounds (that benchmark deletes and re-adds every event with a timeout each round, which
 * measures libevent's timer heap as much as the backend).
 */
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int n, (*pipes)[2];
static long long writes_left, reads;

static void on_read(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)ev;
    int i = (int)(intptr_t)w->arg;
    char c;
    CHECK(C->read(w->fd, &c, 1) == 1);
    reads++;
    if (writes_left > 0) {
        writes_left--;
        CHECK(C->write(pipes[(i + 1) % n][1], "e", 1) == 1);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "pipechain", "n=100 a=1 w=0 warmup=1", 0);
    n = (int)bench_opt_ll("n");
    int a = (int)bench_opt_ll("a");
    long long wr = bench_opt_ll("w");
    if (wr <= 0) wr = n < 1000 ? n : 1000;
    if (n < 1 || a < 1 || a > n) bench_die("need 1 <= a <= n");
    bench_fds(2L * n + 256);
    pipes = calloc(n, sizeof *pipes);
    struct bw **ws = calloc(n, sizeof *ws);
    CHECK(pipes && ws);
    struct bl *l = C->loop_new(0);
    for (int i = 0; i < n; i++) {
        CHECK(pipe2(pipes[i], O_NONBLOCK | O_CLOEXEC) == 0);
        ws[i] = bench_watcher(pipes[i][0], BL_IN, on_read, (void *)(intptr_t)i);
        CHECK(C->add(l, ws[i]) == 0);
    }
    long long warm = bench_opt_ll("warmup"), round = 0;
    for (;;) {
        if (round == warm) bench_start();
        if (round > warm && !bench_more(round - warm)) break;
        reads = 0;
        writes_left = wr;
        for (int j = 0; j < a; j++) CHECK(C->write(pipes[(long long)j * n / a][1], "e", 1) == 1);
        while (reads < wr + a) CHECK(C->run_once(l, -1) >= 0);
        round++;
    }
    bench_result(round - warm, "metric=us_per_round reads_per_round=%lld", wr + a);
    for (int i = 0; i < n; i++) {
        CHECK(C->del(l, ws[i]) == 0);
        bench_watcher_free(ws[i]);
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    C->loop_free(l);
    return 0;
}
