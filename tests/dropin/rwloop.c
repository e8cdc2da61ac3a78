/*
 * rwloop.c — what the drop-in costs a plain read/write loop: one byte written into a pipe and
 * read back, N times, through glibc's names. Run bare, under `anypoll run` (each engine), or
 * linked with libanypoll.a first; compare the ns/round it prints. Room: the drop-in's tests.
 *   rwloop [ROUNDS]   prints `rwloop: ROUNDS rounds, X ns/round` (best of 5 runs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    int p[2];
    char c = 'x';
    if (pipe(p) < 0) return 1;
    double best = 1e30;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (long i = 0; i < rounds; i++)
            if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) return 2;
        double per = (now() - t0) / rounds;
        if (per < best) best = per;
    }
    printf("rwloop: %ld rounds, %.1f ns/round\n", rounds, best);
    return close(p[0]) || close(p[1]) ? 3 : 0;
}
