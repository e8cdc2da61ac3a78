/*
 * stress.c — lost wake-up stress (reliability room, issue 4; tests only, touches no library
 * file). Writer threads write units (1 to an eventfd, 1 byte to a pipe or a stream socket) while
 * a churn thread MODs, DELs and re-ADDs the registrations (and adds and removes objects of its
 * own) and waiter threads block in epoll_wait on one instance, every registration EPOLLET, and
 * drain what they are told about until EAGAIN. Every unit written must be read: a lost wake-up
 * leaves units unread and every waiter asleep, which the watchdog reports (no progress for
 * --stall seconds) with the counts — a hang detector, not a timed assertion.
 *
 *   stress [--engine kernel|native|poll] [--units N] [--writers N] [--waiters N] [--stall S]
 */
#include "runner.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXW 8
#define PER_WRITER 3 /* eventfd, pipe, stream socket */
#define NCHURN 4

static const struct target *X;
static int ep, stopfd;
static int nwriters = 3, nwaiters = 2;
static long units = 100000;
static int stall_s = 60;

struct obj {
    int kind; /* 0 eventfd, 1 pipe, 2 socket */
    int rfd, wfd;
    _Atomic long sent, received;
};
static struct obj objs[MAXW * PER_WRITER];
static int nobjs;
static int churn_efd[NCHURN];

static _Atomic long total_received, total_events, total_waits, total_ctl, total_reads, churn_units;
static _Atomic int done;

static void die(const char *what)
{
    fprintf(stderr, "stress: %s: %s\n", what, errno_name(errno));
    _exit(2);
}

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    unsigned seed = (unsigned)w * 7919u + 1;
    for (long i = 0; i < units; i++) {
        seed = seed * 1103515245u + 12345u;
        struct obj *o = &objs[w * PER_WRITER + (int)((seed >> 16) % PER_WRITER)];
        for (;;) {
            ssize_t r;
            if (o->kind == 0) r = X->eventfd_write(o->wfd, 1) == 0 ? 1 : -1;
            else r = X->write(o->wfd, "x", 1);
            if (r == 1) break;
            if (errno != EAGAIN) die("write");
            sched_yield(); /* a full pipe or socket: the waiters will drain it */
        }
        atomic_fetch_add(&o->sent, 1);
    }
    return NULL;
}

static long drain(struct obj *o)
{
    long got = 0;
    char buf[4096];
    for (;;) {
        ssize_t r;
        if (o->kind == 0) {
            uint64_t v;
            r = X->read(o->rfd, &v, 8);
            if (r == 8) {
                got += (long)v;
                atomic_fetch_add(&total_reads, 1);
                continue; /* once more: EAGAIN ends the drain, as an EPOLLET client does */
            }
        } else {
            r = X->read(o->rfd, buf, sizeof buf);
            if (r > 0) {
                got += r;
                atomic_fetch_add(&total_reads, 1);
                continue;
            }
        }
        if (r < 0 && errno == EAGAIN) break;
        die("read");
    }
    return got;
}

static long expected(void) { return units * nwriters; }

static void *waiter(void *arg)
{
    (void)arg;
    struct epoll_event evs[16];
    for (;;) {
        int n = X->epoll_wait(ep, evs, 16, -1);
        atomic_fetch_add(&total_waits, 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            uint64_t d = evs[i].data.u64;
            atomic_fetch_add(&total_events, 1);
            if (d == 1000) return NULL; /* stop: level-triggered, every waiter sees it */
            if (d >= 2000) {           /* a churn object: drain, not counted in the proof */
                uint64_t v;
                while (X->read(churn_efd[d - 2000], &v, 8) == 8) atomic_fetch_add(&churn_units, (long)v);
                continue;
            }
            struct obj *o = &objs[d];
            long got = drain(o);
            atomic_fetch_add(&o->received, got);
            if (atomic_fetch_add(&total_received, got) + got == expected())
                if (X->eventfd_write(stopfd, 1) != 0) die("stop");
        }
    }
}

static void ctl(int op, int fd, uint64_t data)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = data};
    if (X->epoll_ctl(ep, op, fd, &ev) != 0) die("epoll_ctl");
    atomic_fetch_add(&total_ctl, 1);
}

static void *churn(void *arg)
{
    (void)arg;
    unsigned seed = 4242;
    int in[NCHURN] = {0};
    while (!atomic_load(&done)) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 100;
        if (r < 45) {
            int i = (int)((seed >> 8) % (unsigned)nobjs);
            ctl(EPOLL_CTL_MOD, objs[i].rfd, (uint64_t)i); /* re-arms: an edge if readable */
        } else if (r < 70) {
            int i = (int)((seed >> 8) % (unsigned)nobjs);
            ctl(EPOLL_CTL_DEL, objs[i].rfd, 0); /* units written now wait for the ADD below */
            sched_yield();
            ctl(EPOLL_CTL_ADD, objs[i].rfd, (uint64_t)i);
        } else {
            int c = (int)((seed >> 8) % NCHURN);
            if (in[c]) ctl(EPOLL_CTL_DEL, churn_efd[c], 0);
            else {
                if (X->eventfd_write(churn_efd[c], 1) != 0) die("churn write");
                ctl(EPOLL_CTL_ADD, churn_efd[c], 2000 + (uint64_t)c);
            }
            in[c] = !in[c];
        }
        if (r % 8 == 0) sched_yield();
    }
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    long last = -1;
    int still = 0;
    while (!atomic_load(&done)) {
        sleep(1);
        long now = atomic_load(&total_received) + atomic_load(&total_ctl);
        still = now == last ? still + 1 : 0;
        last = now;
        if (still >= stall_s) {
            long sent = 0;
            for (int i = 0; i < nobjs; i++) sent += atomic_load(&objs[i].sent);
            printf("stress: STALL — no progress for %d s: sent %ld, received %ld\n", stall_s, sent,
                   atomic_load(&total_received));
            for (int i = 0; i < nobjs; i++)
                if (objs[i].sent != objs[i].received)
                    printf("  object %d (%s): sent %ld, received %ld\n", i,
                           objs[i].kind == 0 ? "eventfd" : objs[i].kind == 1 ? "pipe" : "socket",
                           (long)objs[i].sent, (long)objs[i].received);
            fflush(stdout);
            _exit(1);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *engine = "poll";
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--engine") && a + 1 < argc) engine = argv[++a];
        else if (!strcmp(argv[a], "--units") && a + 1 < argc) units = atol(argv[++a]);
        else if (!strcmp(argv[a], "--writers") && a + 1 < argc) nwriters = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--waiters") && a + 1 < argc) nwaiters = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--stall") && a + 1 < argc) stall_s = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--engine kernel|native|poll] [--units N] [--writers N] "
                            "[--waiters N] [--stall SECONDS]\n", argv[0]);
            return 2;
        }
    }
    if (nwriters < 1 || nwriters > MAXW || nwaiters < 1 || units < 1) return 2;
    if (!strcmp(engine, "kernel")) X = &target_kernel;
    else {
        if (anypoll_use_engine(engine) != 0) die(engine);
        X = &target_anypoll;
    }
    ep = X->epoll_create1(EPOLL_CLOEXEC);
    stopfd = X->eventfd(0, EFD_NONBLOCK);
    if (ep < 0 || stopfd < 0) die("create");
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = 1000};
    if (X->epoll_ctl(ep, EPOLL_CTL_ADD, stopfd, &sev) != 0) die("add stop");
    for (int c = 0; c < NCHURN; c++)
        if ((churn_efd[c] = X->eventfd(0, EFD_NONBLOCK)) < 0) die("churn eventfd");
    for (int w = 0; w < nwriters; w++)
        for (int k = 0; k < PER_WRITER; k++) {
            struct obj *o = &objs[nobjs];
            o->kind = k;
            int p[2];
            if (k == 0) {
                if ((p[0] = X->eventfd(0, EFD_NONBLOCK)) < 0) die("eventfd");
                p[1] = p[0];
            } else if (k == 1) {
                if (pipe2(p, O_NONBLOCK) != 0) die("pipe");
            } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) != 0) {
                die("socketpair");
            }
            o->rfd = p[0], o->wfd = p[1];
            ctl(EPOLL_CTL_ADD, o->rfd, (uint64_t)nobjs);
            nobjs++;
        }
    pthread_t wt[MAXW], vt[16], ct, dt;
    pthread_create(&dt, NULL, watchdog, NULL);
    pthread_create(&ct, NULL, churn, NULL);
    for (int i = 0; i < nwaiters && i < 16; i++) pthread_create(&vt[i], NULL, waiter, NULL);
    for (int i = 0; i < nwriters; i++) pthread_create(&wt[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < nwriters; i++) pthread_join(wt[i], NULL);
    for (int i = 0; i < nwaiters && i < 16; i++) pthread_join(vt[i], NULL);
    atomic_store(&done, 1);
    pthread_join(ct, NULL);
    pthread_join(dt, NULL);

    long sent = 0, recv = 0;
    int bad = 0;
    for (int i = 0; i < nobjs; i++) {
        sent += objs[i].sent, recv += objs[i].received;
        if (objs[i].sent != objs[i].received) bad = 1;
    }
    long ops = sent + atomic_load(&total_reads) + atomic_load(&total_ctl) + atomic_load(&total_waits);
    printf("stress %s: %d writers, %d waiters, %ld ops: wake-ups sent %ld, received %ld, lost %ld; "
           "%ld events, %ld waits, %ld ctl, churn units %ld\n",
           engine, nwriters, nwaiters, ops, sent, recv, sent - recv, (long)total_events, (long)total_waits,
           (long)total_ctl, (long)churn_units);
    for (int i = 0; i < nobjs; i++) {
        X->close(objs[i].rfd);
        if (objs[i].wfd != objs[i].rfd) X->close(objs[i].wfd);
    }
    for (int c = 0; c < NCHURN; c++) X->close(churn_efd[c]);
    X->close(stopfd);
    X->close(ep);
    printf("stress: %s\n", bad ? "FAIL" : "ok");
    return bad;
}
