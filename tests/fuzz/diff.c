/*
 * diff.c — the differential fuzzer (reliability room, issue 4; tests only, touches no library
 * file). It generates seeded sequences of operations over a small pool of objects, runs each
 * sequence on glibc's epoll on the kernel and on each anypoll engine (each target in its own
 * forked process, results in a shared log), and compares return values, errnos, values read and
 * the events each wait reported. A divergence is shrunk (delta debugging over the op list) and
 * printed as C-like steps, for a regression case in tests/test_fuzz_regressions.c.
 *
 * fd numbers differ between targets (an emulated epoll fd costs the poll engine more than one
 * fd), so operations name pool *slots*, never numbers; each target keeps its own slot -> fd map.
 * Events are identified by their data, a tag made from the ctl op's index, the target's kind
 * and the mask.
 *
 * What may legitimately differ (docs/design.md, "EPOLLET without a kernel that tracks edges" and
 * the wait's step 5): the order of fds that became ready between two waits, so events are
 * compared as sets and a wait with small maxevents is followed by a full one and the two are
 * compared as a union; an extra event on an EPOLLET registration is "spurious" (counted, with a
 * limit). A missing EPOLLET event is a divergence unless it belongs to one of the classes the
 * poll engine documents it cannot see (compare_sets: no-level-change, after-hup, nested,
 * dgram-child-close), each counted and printed. Child processes only write and close: a registration
 * or a wait in a child of an inherited instance is the documented fork limit.
 *
 * Issue 13 added FIFOs (made, and ends opened again: a writer after the last one closed) and
 * waiting threads: O_MTWAIT starts 1-3 threads blocked in waits (timeout -1) on one instance or
 * two, the next ops run while they wait, and O_MTJOIN ends the waits still blocked with SIGUSR1
 * (a handler without SA_RESTART) and compares the union of what they returned, and EINTR.
 *
 * --posix-aids runs the engines with ANYPOLL_HOST_AIDS=posix (the plain-POSIX host aids,
 * docs/design.md, "Host aids") and excuses, counted apart, the two gaps the suite's
 * TEST_AIDS_GAP cases document for it: an EPOLLET datagram arrival behind unread datagrams with
 * no receive since the last wait (dgram-unmeasured), and an EPOLLRDHUP the host's poll() cannot
 * show: a socket the program shut for reading itself, or a stream whose end of stream sits
 * behind unread data (rdhup-unseen).
 *
 *   diff [--seed N] [--seqs N] [--ops N] [--engines native,poll] [--max-spurious RATIO]
 *        [--replay SEED] [--no-shrink] [--verbose] [--valgrind] [--posix-aids]
 */
#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>



#define NSLOT 12
#define MAXEV 16
#define MAXOPS 2000

/* K_FIFOR/K_FIFOW: the generator's model only (a FIFO end runs as K_PIPER/K_PIPEW, fifo[]). */
enum kind { K_NONE, K_EP, K_EFD, K_STREAM, K_DGRAM, K_PIPER, K_PIPEW, K_FILE, K_FIFOR, K_FIFOW };

enum opk {
    O_EPCREATE, O_EFD, O_SOCKPAIR, O_PIPE, O_FILE, O_CLOSE, O_DUP, O_DUP2, O_CTL, O_WAIT,
    O_READ, O_WRITE, O_EFDWRITE, O_SHUTDOWN, O_POLL, O_FORK,
    O_FIFO,     /* mkfifo; a = read end, b = write end (both O_NONBLOCK) */
    O_FIFOOPEN, /* a = a new end (i: 0 reader, 1 writer) of the FIFO slot b belongs to */
    O_MTWAIT,   /* threads (m & 3) block in waits on a and b (odd threads on b), variant m >> 4;
                   the next i ops run in this thread while they wait, each once they settled */
    O_MTJOIN,   /* a SIGUSR1 (a handler, no SA_RESTART) to each thread still waiting, join; the
                   union of their events and of a zero-timeout wait on a and b after them */
    O_NOPS
};

struct op {
    uint8_t k, a, b;   /* kind, slots */
    int32_t i;         /* op code, flags, maxevents, how, length... */
    uint32_t m;        /* mask / flags */
    uint64_t v;        /* value */
};

struct evr {
    uint64_t tag;
    uint32_t ev;
};
struct rec {
    int32_t done, ret, err, n1, n2;
    uint64_t val;
    struct evr e1[MAXEV], e2[MAXEV];
};

/* ---- random --------------------------------------------------------------------------------- */
static uint64_t rs;
/* --valgrind: no call valgrind flags as such (NULL events, negative maxevents) or does not know
 * (epoll_pwait2, which valgrind 3.19 answers ENOSYS); the sequences are then tamer */
static int tame;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- generation ----------------------------------------------------------------------------- */

static const uint32_t mask_bits[] = {EPOLLIN,  EPOLLOUT,    EPOLLPRI,    EPOLLRDHUP,   EPOLLERR,
                                     EPOLLHUP, EPOLLRDNORM, EPOLLWRNORM, EPOLLRDBAND,  EPOLLWRBAND,
                                     EPOLLMSG, EPOLLET,     EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLWAKEUP,
                                     1u << 20};

static uint32_t gen_mask(void)
{
    uint32_t m = 0;
    switch (rn(6)) {
    case 0: m = EPOLLIN; break;
    case 1: m = EPOLLIN | EPOLLET; break;
    case 2: m = EPOLLIN | EPOLLOUT | EPOLLET; break;
    case 3: m = EPOLLIN | EPOLLOUT; break;
    default: break;
    }
    int extra = (int)rn(4);
    for (int j = 0; j < extra; j++) {
        unsigned b = rn(sizeof mask_bits / sizeof mask_bits[0]);
        /* rare: exclusive, wakeup, garbage bits (mostly invalid masks) */
        if (b >= 13 && rn(3)) continue;
        m |= mask_bits[b];
    }
    return m;
}

static int pick(const uint8_t *model, unsigned want_mask)
{
    int c[NSLOT], n = 0;
    for (int s = 0; s < NSLOT; s++)
        if (want_mask & (1u << model[s])) c[n++] = s;
    if (!n || rn(20) == 0) return (int)rn(NSLOT);
    return c[rn((unsigned)n)];
}
#define KM(k) (1u << (k))
#define ANYOBJ (KM(K_EP) | KM(K_EFD) | KM(K_STREAM) | KM(K_DGRAM) | KM(K_PIPER) | KM(K_PIPEW) | KM(K_FILE) | KM(K_FIFOR) | KM(K_FIFOW))
#define WRITERS (KM(K_STREAM) | KM(K_DGRAM) | KM(K_PIPEW) | KM(K_FIFOW))

static int free_slot(const uint8_t *model)
{
    int c[NSLOT], n = 0;
    for (int s = 0; s < NSLOT; s++)
        if (model[s] == K_NONE) c[n++] = s;
    if (!n) return -1;
    return c[rn((unsigned)n)];
}

static size_t gen_len(void)
{
    static const size_t l[] = {1, 3, 8, 100, 4096, 65536, 300000};
    return l[rn(7)];
}

/* One op in the current model (child ops: only writes and closes). */
static void gen_op(struct op *o, uint8_t *model, int in_child)
{
    memset(o, 0, sizeof *o);
    unsigned r = rn(100);
    if (in_child) {
        /* short writes, never filling a buffer: write evidence a child gathers stays in the
         * child (registrations are per process, docs/design.md "fork") */
        if (r < 40) o->k = O_WRITE, o->a = (uint8_t)pick(model, WRITERS), o->i = 1 + (int)rn(100);
        else if (r < 75) o->k = O_EFDWRITE, o->a = (uint8_t)pick(model, KM(K_EFD)), o->v = 1 + rn(3);
        else if (r < 85) o->k = O_READ, o->a = (uint8_t)pick(model, KM(K_EFD)), o->i = 8;
        if (o->k == O_READ && model[o->a] != K_EFD) o->k = O_EFDWRITE, o->v = 1;
        else o->k = O_CLOSE, o->a = (uint8_t)pick(model, ANYOBJ);
        if (o->k == O_CLOSE) model[o->a] = K_NONE;
        return;
    }
    int s;
    if (r < 4) {
        o->k = O_EPCREATE;
        s = free_slot(model);
        if (s < 0) goto ctl;
        o->a = (uint8_t)s;
        o->i = rn(4) == 0 ? (int)rn(3) - 1 : -2; /* -2: create1; else create(size) */
        o->m = rn(5) == 0 ? (rn(2) ? 1u : 0x80000u | 7u) : (rn(2) ? EPOLL_CLOEXEC : 0);
        model[s] = K_EP;
    } else if (r < 8) {
        o->k = O_EFD;
        s = free_slot(model);
        if (s < 0) goto ctl;
        o->a = (uint8_t)s;
        o->v = rn(3) ? 0 : rn(4);
        o->m = EFD_NONBLOCK | (rn(3) == 0 ? EFD_SEMAPHORE : 0) | (rn(2) ? EFD_CLOEXEC : 0);
        if (rn(30) == 0) o->m |= 0x10; /* invalid flag: EINVAL */
        model[s] = K_EFD;
    } else if (r < 12 || r < 15) {
        int pipe_ = r >= 12;
        int s1 = free_slot(model);
        if (s1 < 0) goto ctl;
        model[s1] = 99;
        int s2 = free_slot(model);
        model[s1] = K_NONE;
        if (s2 < 0) goto ctl;
        o->k = pipe_ ? O_PIPE : O_SOCKPAIR;
        o->a = (uint8_t)s1, o->b = (uint8_t)s2;
        o->i = pipe_ ? 0 : (rn(3) == 0 ? SOCK_DGRAM : SOCK_STREAM);
        model[s1] = pipe_ ? K_PIPER : (o->i == SOCK_DGRAM ? K_DGRAM : K_STREAM);
        model[s2] = pipe_ ? K_PIPEW : model[s1];
    } else if (r >= 27 && r < 30) { /* FIFOs: made, and ends opened again (a writer after HUP) */
        int fifo_end = pick(model, KM(K_FIFOR) | KM(K_FIFOW));
        int s1 = free_slot(model);
        if (s1 < 0) goto ctl;
        if ((model[fifo_end] == K_FIFOR || model[fifo_end] == K_FIFOW) && rn(3)) {
            o->k = O_FIFOOPEN, o->a = (uint8_t)s1, o->b = (uint8_t)fifo_end, o->i = rn(4) != 0;
            model[s1] = o->i ? K_FIFOW : K_FIFOR;
            return;
        }
        model[s1] = 99;
        int s2 = free_slot(model);
        model[s1] = K_NONE;
        if (s2 < 0) goto ctl;
        o->k = O_FIFO, o->a = (uint8_t)s1, o->b = (uint8_t)s2;
        model[s1] = K_FIFOR, model[s2] = K_FIFOW;
    } else if (r < 16) {
        s = free_slot(model);
        if (s < 0) goto ctl;
        o->k = O_FILE, o->a = (uint8_t)s;
        model[s] = K_FILE;
    } else if (r < 21) {
        o->k = O_CLOSE, o->a = (uint8_t)pick(model, ANYOBJ);
        model[o->a] = K_NONE;
    } else if (r < 24) {
        o->k = O_DUP, o->b = (uint8_t)pick(model, ANYOBJ);
        s = free_slot(model);
        if (s < 0) goto ctl;
        o->a = (uint8_t)s;
        model[s] = model[o->b];
    } else if (r < 27) {
        o->k = O_DUP2, o->b = (uint8_t)pick(model, ANYOBJ), o->a = (uint8_t)pick(model, ANYOBJ);
        if (model[o->a] != K_NONE) model[o->a] = model[o->b];
    } else if (r < 50) {
    ctl:
        o->k = O_CTL;
        o->a = (uint8_t)pick(model, KM(K_EP));
        o->b = (uint8_t)pick(model, ANYOBJ);
        unsigned q = rn(100);
        o->i = q < 55 ? EPOLL_CTL_ADD : q < 80 ? EPOLL_CTL_MOD : q < 98 ? EPOLL_CTL_DEL : (int)rn(6);
        o->m = gen_mask();
        if (rn(50) == 0 && !tame) o->v = 1; /* NULL event */
    } else if (r < 66) {
        o->k = O_WAIT, o->a = (uint8_t)pick(model, KM(K_EP));
        static const int me[] = {1, 2, 3, MAXEV, MAXEV, MAXEV};
        o->i = rn(60) == 0 && !tame ? (int)rn(2) - 1 : me[rn(6)];
        o->m = rn(3); /* wait, pwait, pwait2 */
        if (tame && o->m == 2) o->m = 1;
    } else if (r < 76) {
        o->k = O_READ, o->a = (uint8_t)pick(model, ANYOBJ);
        o->i = model[o->a] == K_EFD && rn(8) ? 8 : (int)gen_len();
        if (model[o->a] == K_EFD && rn(10) == 0) o->i = 4;
    } else if (r < 86) {
        o->k = O_WRITE, o->a = (uint8_t)pick(model, WRITERS | KM(K_EFD));
        o->i = (int)gen_len();
    } else if (r < 92) {
        o->k = O_EFDWRITE, o->a = (uint8_t)pick(model, KM(K_EFD));
        unsigned q = rn(20);
        o->v = q == 0 ? 0xfffffffffffffffeull : q == 1 ? ~0ull : q == 2 ? 0xfffffffffffffff0ull : 1 + rn(3);
    } else if (r < 94) {
        o->k = O_SHUTDOWN, o->a = (uint8_t)pick(model, KM(K_STREAM) | KM(K_DGRAM)), o->i = (int)rn(3);
    } else if (r < 98) {
        o->k = O_POLL, o->a = (uint8_t)pick(model, ANYOBJ);
        o->m = rn(2) ? POLLIN | POLLOUT : POLLIN | POLLPRI | POLLRDHUP;
    } else if (rn(3)) {
        o->k = O_FORK, o->i = 1 + (int)rn(4);
    } else { /* waiting threads: on one instance, or on two (nested or not) */
        o->k = O_MTWAIT, o->a = (uint8_t)pick(model, KM(K_EP)), o->b = (uint8_t)pick(model, KM(K_EP));
        o->i = 1 + (int)rn(3);
        o->m = (1 + rn(3)) | (uint32_t)(tame ? rn(2) * 2 : rn(3)) << 4;
    }
}

/* An op for the thread that runs while others wait in a and b: no wait of its own (its
 * events would be taken from the waiters' union), no create, dup2 or close that could replace
 * or close a or b, no fork. */
static void gen_mt_op(struct op *o, uint8_t *model, int a, int b)
{
    for (int tries = 0; tries < 30; tries++) {
        uint8_t m2[NSLOT];
        memcpy(m2, model, sizeof m2);
        gen_op(o, m2, 0);
        int ok = o->k == O_CTL || o->k == O_READ || o->k == O_WRITE || o->k == O_EFDWRITE || o->k == O_SHUTDOWN ||
                 o->k == O_POLL || o->k == O_FIFOOPEN || (o->k == O_CLOSE && o->a != a && o->a != b);
        if (o->k == O_FIFOOPEN && (o->a == a || o->a == b)) ok = 0;
        if (ok) {
            memcpy(model, m2, sizeof m2);
            return;
        }
    }
    memset(o, 0, sizeof *o);
    o->k = O_EFDWRITE, o->a = (uint8_t)pick(model, KM(K_EFD)), o->v = 1;
}

static int gen_seq(uint64_t seed, struct op *ops, int nops)
{
    uint8_t model[NSLOT] = {0};
    rs = seed;
    /* start with two instances and a few objects so short runs do something */
    int n = 0;
    for (int j = 0; j < 2 && n < nops; j++) {
        ops[n] = (struct op){.k = O_EPCREATE, .a = (uint8_t)j, .i = -2};
        model[j] = K_EP;
        n++;
    }
    while (n < nops) {
        gen_op(&ops[n], model, 0);
        if (ops[n].k == O_FORK) {
            int k = ops[n].i;
            if (n + 1 + k > nops) k = nops - n - 1;
            ops[n].i = k;
            n++;
            uint8_t cm[NSLOT];
            memcpy(cm, model, sizeof cm);
            for (int j = 0; j < k; j++) gen_op(&ops[n++], cm, 1);
            continue;
        }
        if (ops[n].k == O_MTWAIT) {
            int k = ops[n].i;
            if (n + 2 + k > nops) { /* no room for its ops and the join: a plain wait instead */
                ops[n] = (struct op){.k = O_WAIT, .a = ops[n].a, .i = MAXEV};
                n++;
                continue;
            }
            struct op w = ops[n++];
            for (int j = 0; j < k; j++) gen_mt_op(&ops[n++], model, w.a, w.b);
            ops[n++] = (struct op){.k = O_MTJOIN, .a = w.a, .b = w.b, .i = MAXEV};
            continue;
        }
        n++;
    }
    return n;
}

/* ---- execution (in a forked process per target) -------------------------------------------- */

static const struct target *X;
static int fds[NSLOT];
static uint8_t kinds[NSLOT];
static uint16_t objid[NSLOT]; /* index of the op that created the open file: the same in every target */
static uint8_t endb[NSLOT];    /* which end of a pair (socketpair, pipe) the slot refers to */
static uint8_t fifo[NSLOT];    /* the slot is an end of a FIFO (its path: fifo_path(objid)) */
static char fifo_dir[64];      /* made by main, emptied and removed at exit */
static char iobuf[300000];

static int cur_op;
static void set_slot(int s, int fd, uint8_t k)
{
    if (fd < 0) return;
    fds[s] = fd;
    kinds[s] = k;
    objid[s] = (uint16_t)cur_op;
    endb[s] = 0;
    fifo[s] = 0;
}

static void drop_slot(int s)
{
    fds[s] = -1;
    kinds[s] = K_NONE;
    fifo[s] = 0;
}

static void fifo_path(char *b, size_t n, int id) { snprintf(b, n, "%s/f%d", fifo_dir, id); }

/* ---- waiting threads (O_MTWAIT .. O_MTJOIN) ------------------------------------------------- */

static struct waiter {
    pthread_t th;
    int ep, variant, ret, err;
    _Atomic int tid, done;
    struct epoll_event ev[MAXEV];
} waiters[3];
static int nwaiters;
static atomic_int handled; /* SIGUSR1 handler runs */
static void on_usr1(int sig) { (void)sig, atomic_fetch_add(&handled, 1); }

static void *waiter_main(void *p)
{
    struct waiter *w = p;
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    /* pwait/pwait2: SIGUSR1 blocked outside the wait, so a signal sent before the wait began
     * is pending and ends the wait (or is delivered with events); plain epoll_wait: unblocked,
     * the joining thread sends it again until the wait ends */
    pthread_sigmask(w->variant == 2 ? SIG_UNBLOCK : SIG_BLOCK, &usr1, NULL);
    w->tid = (int)gettid();
    if (w->variant == 0) w->ret = X->epoll_pwait(w->ep, w->ev, MAXEV, -1, &none);
    else if (w->variant == 1) w->ret = X->epoll_pwait2(w->ep, w->ev, MAXEV, NULL, &none);
    else w->ret = X->epoll_wait(w->ep, w->ev, MAXEV, -1);
    w->err = w->ret < 0 ? errno : 0;
    atomic_store(&w->done, 1);
    return NULL;
}

static void nap(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* The thread's scheduler state from /proc ('S': asleep in a call), or 0. */
static char thread_state(int tid)
{
    char path[64], b[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0) return 0;
    b[n] = 0;
    char *p = strrchr(b, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* Until every waiter has returned or sleeps (seen asleep twice, 250 us apart), at most ~300 ms:
 * the waits see each op after it completed and before the next begins. Nothing depends on it
 * for correctness (the comparison takes the union of the waiters' events and of a wait after
 * them); it keeps the runs comparable. */
static void settle(void)
{
    for (int round = 0; round < 1200; round++) {
        int calm = 1;
        for (int j = 0; j < nwaiters; j++) {
            if (atomic_load(&waiters[j].done)) continue;
            int tid = atomic_load(&waiters[j].tid);
            if (!tid || thread_state(tid) != 'S') calm = 0;
        }
        if (calm && round) {
            int still = 1;
            nap(250000);
            for (int j = 0; j < nwaiters; j++)
                if (!atomic_load(&waiters[j].done) && thread_state(atomic_load(&waiters[j].tid)) != 'S') still = 0;
            if (still) return;
        }
        nap(250000);
    }
}

/* Ends every wait with SIGUSR1 (sent again every 2 ms: a plain epoll_wait may not have begun),
 * joins. Returns the number of threads that did not return within 1 s (left behind). */
static int release_waiters(void)
{
    int hung = 0;
    for (int j = 0; j < nwaiters; j++) {
        struct waiter *w = &waiters[j];
        int t;
        for (t = 0; t < 500 && !atomic_load(&w->done); t++) {
            pthread_kill(w->th, SIGUSR1);
            nap(2000000);
        }
        if (atomic_load(&w->done)) pthread_join(w->th, NULL);
        else hung++, pthread_detach(w->th);
    }
    nwaiters = 0;
    return hung;
}

static void start_waiters(const struct op *o)
{
    if (nwaiters) release_waiters(); /* the shrinker took a join away */
    int n = (int)(o->m & 3), variant = (int)(o->m >> 4);
    for (int j = 0; j < n; j++) {
        struct waiter *w = &waiters[j];
        memset(w, 0, sizeof *w);
        w->ep = fds[(j & 1) && kinds[o->b] == K_EP ? o->b : o->a];
        w->variant = variant;
        if (pthread_create(&w->th, NULL, waiter_main, w) != 0) break;
        nwaiters++;
    }
}

static void add_union(struct rec *r, const struct epoll_event *ev, int n)
{
    for (int j = 0; j < n; j++) {
        int k;
        for (k = 0; k < r->n1; k++)
            if (r->e1[k].tag == ev[j].data.u64) break;
        if (k == r->n1) {
            if (r->n1 == MAXEV) continue;
            r->e1[r->n1++] = (struct evr){ev[j].data.u64, 0};
        }
        r->e1[k].ev |= ev[j].events;
    }
}

/* ret: the threads that returned EINTR; val: the instances, and the waits that returned what
 * no blocking wait may (0, or an error but EINTR) and the threads left behind. */
static void join_waiters(const struct op *o, struct rec *r)
{
    int n = nwaiters, bad = 0, intr = 0;
    if (!n) {
        r->ret = -3;
        return;
    }
    int hung = release_waiters();
    for (int j = 0; j < n; j++) {
        struct waiter *w = &waiters[j];
        if (!atomic_load(&w->done)) continue;
        if (w->ret < 0 && w->err == EINTR) intr++;
        else if (w->ret <= 0) bad++;
        else add_union(r, w->ev, w->ret);
    }
    struct epoll_event ev[MAXEV];
    int m = X->epoll_wait(fds[o->a], ev, MAXEV, 0);
    if (m > 0) add_union(r, ev, m);
    if (o->b != o->a && kinds[o->b] == K_EP && (m = X->epoll_wait(fds[o->b], ev, MAXEV, 0)) > 0) add_union(r, ev, m);
    r->ret = intr;
    r->val = (uint64_t)objid[o->a] << 40 | (uint64_t)objid[o->b] << 20 | (uint64_t)hung << 4 | (uint64_t)bad;
}

static uint64_t tag_of(int opi, int s, uint32_t m)
{
    return ((uint64_t)endb[s] << 60) | ((uint64_t)(unsigned)opi << 48) | ((uint64_t)objid[s] << 36) |
           ((uint64_t)kinds[s] << 32) | m;
}

static void do_wait(const struct op *o, struct rec *r)
{
    struct epoll_event ev[MAXEV];
    int ep = fds[o->a];
    int me = o->i;
    int n;
    struct timespec ts0 = {0, 0};
    sigset_t ss;
    sigemptyset(&ss);
    if (o->m == 0) n = X->epoll_wait(ep, ev, me, 0);
    else if (o->m == 1) n = X->epoll_pwait(ep, ev, me, 0, &ss);
    else n = X->epoll_pwait2(ep, ev, me, &ts0, NULL);
    r->ret = n;
    r->err = n < 0 ? errno : 0;
    for (int j = 0; j < n && j < MAXEV; j++) r->e1[j] = (struct evr){ev[j].data.u64, ev[j].events};
    r->n1 = n < 0 ? 0 : n;
    if (n >= 0 && me < MAXEV) { /* the full wait that makes the pair comparable as a union */
        int n2 = X->epoll_wait(ep, ev, MAXEV, 0);
        for (int j = 0; j < n2 && j < MAXEV; j++) r->e2[j] = (struct evr){ev[j].data.u64, ev[j].events};
        r->n2 = n2 < 0 ? 0 : n2;
        if (n2 < 0) r->val = (uint64_t)errno | 0x100000000ull;
    }
    r->val |= (uint64_t)objid[o->a] << 40; /* the instance, for the gap rules */
}

static void exec_op(const struct op *ops, int i, struct rec *recs);

static void exec_range(const struct op *ops, int from, int to, struct rec *recs)
{
    for (int i = from; i < to; i++) {
        if (ops[i].k == O_FORK) {
            if (nwaiters) release_waiters(); /* (the shrinker took a join away) */
            int k = ops[i].i;
            if (i + 1 + k > to) k = to - i - 1;
            pid_t p = fork();
            if (p == 0) {
                exec_range(ops, i + 1, i + 1 + k, recs);
                _exit(0);
            }
            int st = 0;
            if (p > 0) waitpid(p, &st, 0);
            recs[i].ret = p < 0 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            recs[i].done = 1;
            i += k;
            continue;
        }
        exec_op(ops, i, recs);
        if (nwaiters && ops[i].k != O_MTJOIN) settle();
    }
}

static void exec_op(const struct op *ops, int i, struct rec *recs)
{
    const struct op *o = &ops[i];
    struct rec *r = &recs[i];
    memset(r, 0, sizeof *r);
    int fa = fds[o->a], fb = fds[o->b];
    long ret = 0;
    cur_op = i;
    errno = 0;
    switch (o->k) {
    case O_EPCREATE:
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        ret = o->i == -2 ? X->epoll_create1((int)o->m) : X->epoll_create(o->i);
        set_slot(o->a, (int)ret, K_EP);
        if (ret >= 0) ret = 0;
        break;
    case O_EFD:
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        ret = X->eventfd((unsigned)o->v, (int)o->m);
        set_slot(o->a, (int)ret, K_EFD);
        if (ret >= 0) ret = 0;
        break;
    case O_SOCKPAIR:
    case O_PIPE: {
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        if (fds[o->b] >= 0) X->close(fds[o->b]), drop_slot(o->b);
        int sv[2];
        if (o->k == O_PIPE) ret = pipe2(sv, O_NONBLOCK);
        else ret = socketpair(AF_UNIX, o->i | SOCK_NONBLOCK, 0, sv);
        if (ret == 0) {
            uint8_t k = o->k == O_PIPE ? K_PIPER : o->i == SOCK_DGRAM ? K_DGRAM : K_STREAM;
            set_slot(o->a, sv[0], k);
            set_slot(o->b, sv[1], o->k == O_PIPE ? K_PIPEW : k);
            endb[o->b] = 1;
        }
        break;
    }
    case O_FILE:
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        ret = open("/dev/null", O_RDWR | O_NONBLOCK);
        set_slot(o->a, (int)ret, K_FILE);
        if (ret >= 0) ret = 0;
        break;
    case O_CLOSE:
        r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a];
        ret = X->close(fa);
        drop_slot(o->a);
        break;
    case O_DUP:
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        ret = X->dup(fb);
        set_slot(o->a, (int)ret, kinds[o->b]);
        if (ret >= 0) objid[o->a] = objid[o->b], endb[o->a] = endb[o->b], fifo[o->a] = fifo[o->b], ret = 0;
        break;
    case O_DUP2:
        if (fa < 0) { /* nothing to land on: a plain dup into the slot */
            ret = X->dup(fb);
            set_slot(o->a, (int)ret, kinds[o->b]);
        } else {
            r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a]; /* replaced */
            ret = X->dup2(fb, fa);
            if (ret >= 0) kinds[o->a] = kinds[o->b];
        }
        if (ret >= 0) objid[o->a] = objid[o->b], endb[o->a] = endb[o->b], fifo[o->a] = fifo[o->b];
        if (ret >= 0) ret = 0;
        break;
    case O_CTL: {
        struct epoll_event ev = {.events = o->m, .data.u64 = tag_of(i, o->b, o->m)};
        r->val = (uint64_t)kinds[o->b] << 8; /* the target's kind, for the gap rules */
        ret = X->epoll_ctl(fa, o->i, fb, o->v ? NULL : &ev);
        break;
    }
    case O_WAIT:
        do_wait(o, r);
        r->done = 1;
        return;
    case O_READ:
        r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a];
        if (kinds[o->a] == K_EFD && o->i == 8) {
            uint64_t v = 0;
            ret = X->read(fa, &v, 8);
            r->val = v; /* eventfds: the value (no gap rule looks at them) */
        } else {
            ret = X->read(fa, iobuf, (size_t)o->i);
        }
        break;
    case O_WRITE:
        r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a]; /* what was written to, for the gap rules */
        if (kinds[o->a] == K_EFD) {
            uint64_t v = (uint64_t)o->i;
            ret = X->write(fa, &v, 8);
        } else {
            ret = X->write(fa, iobuf, (size_t)o->i);
        }
        break;
    case O_EFDWRITE:
        r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a];
        ret = X->eventfd_write(fa, o->v);
        break;
    case O_SHUTDOWN:
        /* a raw socket call on an emulated object is outside anypoll's API (an emulated epoll fd
         * or eventfd is a socket there): the fuzzer only shuts real sockets down */
        if (kinds[o->a] == K_EP || kinds[o->a] == K_EFD) {
            ret = -2;
            break;
        }
        r->val = (uint64_t)objid[o->a] << 8 | (uint64_t)endb[o->a] << 4 | kinds[o->a];
        ret = X->shutdown(fa, o->i); /* through anypoll: every shutdown is a wake-up (issue 13) */
        break;
    case O_FIFO: {
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        if (fds[o->b] >= 0) X->close(fds[o->b]), drop_slot(o->b);
        char path[128];
        fifo_path(path, sizeof path, i);
        unlink(path);
        ret = mkfifo(path, 0600);
        if (ret < 0) break;
        int rd = open(path, O_RDONLY | O_NONBLOCK), wr = rd < 0 ? -1 : open(path, O_WRONLY | O_NONBLOCK);
        if (wr < 0) {
            ret = -1;
            if (rd >= 0) close(rd);
            break;
        }
        set_slot(o->a, rd, K_PIPER);
        set_slot(o->b, wr, K_PIPEW);
        endb[o->b] = 1;
        fifo[o->a] = fifo[o->b] = 1;
        break;
    }
    case O_FIFOOPEN: {
        if (!fifo[o->b] || o->a == o->b) { /* (the shrinker took the FIFO away) */
            ret = -2;
            break;
        }
        char path[128];
        int id = objid[o->b];
        /* Two open files of one FIFO with one access mode at once are one object to the poll
         * engine (a plain fd's identity is st_dev, st_ino and the access mode: docs/design.md,
         * "fd table"; no POSIX call tells two open files of one inode apart): an end is opened
         * again only when no open file of that mode is left, as a FIFO's reader and writer
         * usually are (a writer comes back after the last one closed). */
        for (int s = 0; s < NSLOT; s++)
            if (s != o->a && fifo[s] && objid[s] == id && endb[s] == o->i) ret = -2;
        if (ret == -2) break;
        fifo_path(path, sizeof path, id);
        if (fa >= 0) X->close(fa), drop_slot(o->a);
        ret = open(path, (o->i ? O_WRONLY : O_RDONLY) | O_NONBLOCK); /* a writer without a reader: ENXIO */
        set_slot(o->a, (int)ret, o->i ? K_PIPEW : K_PIPER);
        if (ret >= 0) objid[o->a] = (uint16_t)id, endb[o->a] = (uint8_t)o->i, fifo[o->a] = 1, ret = 0;
        r->val = (uint64_t)id << 8 | (uint64_t)o->i << 4 | (o->i ? K_PIPEW : K_PIPER);
        break;
    }
    case O_MTWAIT:
        start_waiters(o);
        ret = nwaiters;
        settle();
        break;
    case O_MTJOIN:
        join_waiters(o, r);
        r->done = 1;
        return;
    case O_POLL: {
        struct pollfd p = {fa, (short)o->m, 0};
        ret = X->poll(&p, 1, 0);
        r->val = (uint16_t)p.revents | (uint64_t)kinds[o->a] << 16;
        break;
    }
    default:
        break;
    }
    r->ret = (int32_t)ret;
    r->err = ret < 0 ? errno : 0;
    r->done = 1;
}

/* ---- running a sequence on one target --------------------------------------------------------- */

static struct rec *logs[3];
static const char *engines[3] = {"kernel", "native", "poll"};

static int run_target(int t, const struct op *ops, int n)
{
    struct rec *recs = logs[t];
    memset(recs, 0, (size_t)n * sizeof *recs);
    fflush(stdout);
    pid_t p = fork();
    if (p < 0) return -1;
    if (p == 0) {
        alarm(20);
        signal(SIGPIPE, SIG_IGN); /* writes to a closed peer: EPIPE, as a server sees it */
        if (t == 0) X = &target_kernel;
        else {
            if (anypoll_use_engine(engines[t]) != 0) _exit(3);
            X = &target_anypoll;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1; /* no SA_RESTART: a wait it interrupts returns EINTR */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        for (int s = 0; s < NSLOT; s++) drop_slot(s);
        exec_range(ops, 0, n, recs);
        if (nwaiters) release_waiters(); /* (the shrinker took the join away) */
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- comparison ------------------------------------------------------------------------------- */

struct stats {
    uint64_t seqs, ops, divergences, spurious, events, nested_gap, out_gap, err_gap, dgram_bug, waits;
    uint64_t dgram_unmeasured, rdhup_unseen; /* --posix-aids */
};
/* What happened to each pair (both ends of a socketpair or pipe share the id of the op that
 * made them), for the documented kernel edges poll() cannot see (compare_sets). Since the last
 * wait: written[] (data sent into it), shut[] (shutdown), piperef[] (a write refused on the
 * full pipe). refused[]: a write was refused and no OUT was reported for it since. */
static int last_write[8192], last_wait[4096]; /* [pair << 1 | end]: data sent toward that end */
static uint8_t refused[8192];                   /* [pair << 1 | end]: a write from that end refused */
static int cmp_ep; /* the instance (its id) of the wait being compared */
#define written(pe) (last_write[pe] > last_wait[cmp_ep])
/* The mask the kernel last reported for each registration (tag). */
static struct evr lastrep[1024];
static int nlastrep;
static uint32_t last_reported(uint64_t tag)
{
    for (int j = 0; j < nlastrep; j++)
        if (lastrep[j].tag == tag) return lastrep[j].ev;
    return ~0u;
}
static void set_reported(const struct evr *e)
{
    for (int j = 0; j < nlastrep; j++)
        if (lastrep[j].tag == e->tag) {
            lastrep[j].ev = e->ev;
            return;
        }
    if (nlastrep < 1024) lastrep[nlastrep++] = *e;
}
static struct stats st[3];

static uint64_t out_gap, err_gap, dgram_bug;
/* --posix-aids: the plain-POSIX gaps (see the head of this file), what they rest on: reads and
 * own SHUT_RD per end, and the bytes a stream end has unread (from the kernel's answers) */
static int posix_aids;
static uint64_t dgram_unmeasured, rdhup_unseen;
static int last_read[8192];
static uint8_t rd_shut[8192];
/* --posix-aids: ONESHOT registrations whose RDHUP the kernel reported and the engine did not
 * (rdhup_gap): the kernel disarmed them then, the engine did not, so a later report of theirs is
 * the same gap, counted again. */
static uint64_t rdhup_armed[64];
static int nrdhup_armed;
static long unread[8192];
static int gap_seen; /* an excused gap happened in this sequence: an outer instance may show it */
static int last_child_close[4096]; /* closes made by a forked child */
static int is_et(uint64_t tag) { return ((uint32_t)tag & EPOLLET) != 0; }
static int tag_kind(uint64_t tag) { return (int)((tag >> 32) & 0xf); }
static int tag_obj(uint64_t tag) { return (int)((tag >> 36) & 0xfff); }
#define TAG_OP(tag) (((tag) >> 48) & 0xfff)
static int tag_end(uint64_t tag) { return (int)(tag >> 60) & 1; }

struct uset {
    int n;
    struct evr e[2 * MAXEV];
};
static void uadd(struct uset *u, const struct evr *e)
{
    for (int j = 0; j < u->n; j++)
        if (u->e[j].tag == e->tag) {
            u->e[j].ev |= e->ev;
            return;
        }
    u->e[u->n++] = *e;
}
static const struct evr *ufind(const struct uset *u, uint64_t tag)
{
    for (int j = 0; j < u->n; j++)
        if (u->e[j].tag == tag) return &u->e[j];
    return NULL;
}

/* The kernel wakes an instance's watchers with the key EPOLLIN only: a registration of an epoll
 * fd whose interest lacks EPOLLIN is queued only when it is ready at ADD/MOD, never by a later
 * wake-up; the poll engine reports it whenever the inner instance is ready. Documented limit. */
static int weird_nest; /* this sequence registered an epoll fd without EPOLLIN */
static int et_nest;    /* ... or with EPOLLET: the nested limit of docs/design.md applies */
static int et_plain;   /* a socket or pipe was registered EPOLLET: its excused edges may show in
                          an outer instance before any wait on the inner one */
static int et_any;     /* anything was registered EPOLLET: spurious events are possible */
static int nested_key_gap(const struct evr *e)
{
    return tag_kind(e->tag) == K_EP && (weird_nest || gap_seen || et_nest || et_plain);
}

/* --posix-aids: the kernel reported EPOLLRDHUP (and nothing else new) where the engine, asking
 * a host poll() without POLLRDHUP, got `got` without it: excused when the program shut that end
 * for reading itself, or when it is a stream with data unread (a MSG_PEEK sees the data). */
static int rdhup_gap(const struct evr *k, uint32_t got)
{
    int kk = tag_kind(k->tag), pe = tag_obj(k->tag) << 1 | tag_end(k->tag);
    uint32_t before = got ? got : last_reported(k->tag) == ~0u ? 0 : last_reported(k->tag);
    if (!posix_aids || !(k->ev & EPOLLRDHUP) || (k->ev & ~before & ~(uint32_t)EPOLLRDHUP) ||
        (got & ~k->ev) || (kk != K_STREAM && kk != K_DGRAM))
        return 0;
    if (!rd_shut[pe] && !(kk == K_STREAM && unread[pe] > 0)) return 0;
    rdhup_unseen++;
    gap_seen = 1;
    if (!got && ((uint32_t)k->tag & EPOLLONESHOT) && nrdhup_armed < (int)(sizeof rdhup_armed / sizeof rdhup_armed[0]))
        rdhup_armed[nrdhup_armed++] = k->tag;
    return 1;
}

static int rdhup_still_armed(const struct evr *e)
{
    for (int j = 0; j < nrdhup_armed; j++)
        if (rdhup_armed[j] == e->tag) {
            rdhup_unseen++;
            return 1;
        }
    return 0;
}

/* 0: equal (maybe with spurious events, counted), 1: divergence. why gets a reason. */
static int compare_sets(const struct uset *k, const struct uset *e, uint64_t *spur, uint64_t *gap,
                        char *why, size_t wn)
{
    for (int j = 0; j < k->n; j++) {
        const struct evr *x = ufind(e, k->e[j].tag);
        if (!x) {
            if (nested_key_gap(&k->e[j])) {
                (*gap)++;
                continue;
            }
            if (is_et(k->e[j].tag) && tag_kind(k->e[j].tag) == K_EP) {
                (*gap)++;
                continue;
            }
            /* The kernel wakes a file's watchers on events that change no level poll() can see:
             * the peer reading (room freed in our send buffer, also when it was never full), a
             * datagram peer closing, a shutdown or close after which nothing changes, a write
             * refused on a full pipe. Documented limit (docs/reliability.md): a missing EPOLLET
             * event is excused only if the kernel reports no bit it did not report last time
             * for this registration, nothing was sent toward this end since this instance's last
             * wait (when IN-side bits are wanted: an arrival wakes with those only), and no write from this end was refused (an OUT edge then is never excused). */
            int kk = tag_kind(k->e[j].tag);
            int pe = tag_obj(k->e[j].tag) << 1 | tag_end(k->e[j].tag);
            if (is_et(k->e[j].tag) && (kk == K_STREAM || kk == K_DGRAM || kk == K_PIPER || kk == K_PIPEW) &&
                last_reported(k->e[j].tag) != ~0u && !(k->e[j].ev & ~last_reported(k->e[j].tag)) &&
                !(written(pe) && (k->e[j].tag & (EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND))) &&
                !(refused[pe] && (k->e[j].ev & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)))) {
                out_gap++;
                gap_seen = 1;
                continue;
            }
            /* A bit rising after HUP was reported (ERR when a peer closes with data unread, OUT
             * when the peer drains after both directions were shut): the poll engine stops
             * polling an EPOLLET registration once it saw HUP. Documented limit. */
            uint32_t lr = last_reported(k->e[j].tag);
            if (is_et(k->e[j].tag) && lr != ~0u && (lr & EPOLLHUP) && (k->e[j].ev & ~lr)) {
                err_gap++;
                gap_seen = 1;
                continue;
            }
            /* Documented limit (docs/reliability.md): a datagram arriving on a connected AF_UNIX
             * datagram socket with unread datagrams is not seen as an arrival when a forked
             * child closes the sender before the next wait (the sender's queued memory measures
             * the queue and can no longer be asked; registrations are per process, so the
             * child's close tells this process nothing). A close here counts it first. */
            if (is_et(k->e[j].tag) && kk == K_DGRAM && written(pe) &&
                last_child_close[pe >> 1] > last_wait[cmp_ep]) {
                dgram_bug++;
                gap_seen = 1;
                continue;
            }
            /* --posix-aids: a datagram arriving behind unread ones, no receive since the last
             * wait: plain POSIX cannot measure a datagram queue (TEST_AIDS_GAP cases) */
            if (posix_aids && is_et(k->e[j].tag) && kk == K_DGRAM && written(pe) &&
                last_read[pe] <= last_wait[cmp_ep] && last_reported(k->e[j].tag) != ~0u &&
                !(k->e[j].ev & ~last_reported(k->e[j].tag))) {
                dgram_unmeasured++;
                gap_seen = 1;
                continue;
            }
            if (rdhup_gap(&k->e[j], 0)) continue;
            snprintf(why, wn, "missing event tag %#" PRIx64 " (%#x)", k->e[j].tag, k->e[j].ev);
            return 1;
        }
        if (x->ev != k->e[j].ev && rdhup_gap(&k->e[j], x->ev)) continue;
        if (x->ev != k->e[j].ev) {
            snprintf(why, wn, "tag %#" PRIx64 ": events %#x, kernel %#x", k->e[j].tag, x->ev, k->e[j].ev);
            return 1;
        }
    }
    for (int j = 0; j < e->n; j++)
        if (!ufind(k, e->e[j].tag)) {
            if (nested_key_gap(&e->e[j])) {
                (*gap)++;
                continue;
            }
            if (is_et(e->e[j].tag)) {
                (*spur)++;
                continue;
            }
            if (rdhup_still_armed(&e->e[j])) continue;
            snprintf(why, wn, "extra event tag %#" PRIx64 " (%#x)", e->e[j].tag, e->e[j].ev);
            return 1;
        }
    return 0;
}

/* Compares op i; returns 1 on divergence. */
static int compare_op(const struct op *o, const struct rec *k, const struct rec *e, struct stats *s,
                      char *why, size_t wn)
{
    if (k->done != e->done) {
        snprintf(why, wn, "%s", e->done ? "kernel run did not reach this op" : "engine run stopped before this op (crash or hang)");
        return 1;
    }
    if (!k->done) return 0;
    if (o->k == O_MTJOIN && k->ret != -3) {
        s->waits++;
        if (k->val != e->val || e->ret == -3) {
            snprintf(why, wn, "waiting threads: %d returned neither events nor EINTR, %d never returned (kernel %d, %d)",
                     (int)(e->val & 0xf), (int)(e->val >> 4 & 0xf), (int)(k->val & 0xf), (int)(k->val >> 4 & 0xf));
            return 1;
        }
        s->events += (uint64_t)k->n1;
        struct uset ku = {0}, eu = {0};
        for (int j = 0; j < k->n1; j++) uadd(&ku, &k->e1[j]);
        for (int j = 0; j < e->n1; j++) uadd(&eu, &e->e1[j]);
        if (compare_sets(&ku, &eu, &s->spurious, &s->nested_gap, why, wn)) return 1;
        /* nothing for any thread on the kernel: every wait ended with EINTR there, and must here
         * unless the engine had events the comparison excused (spurious, or a counted limit) */
        if (k->n1 == 0 && e->n1 == 0 && e->ret != k->ret) {
            snprintf(why, wn, "%d waiting threads returned EINTR, kernel %d", e->ret, k->ret);
            return 1;
        }
        return 0;
    }
    if (o->k != O_WAIT) {
        if (o->k == O_POLL && ((k->val >> 16) & 0xf) == K_EP && k->ret == 0 && e->ret == 1 && et_any && !weird_nest &&
            !et_nest) {
            s->spurious++; /* a spurious EPOLLET event queued in the instance, seen by poll() */
            return 0;
        }
        if (o->k == O_POLL && ((k->val >> 16) & 0xf) == K_EP && k->ret != e->ret &&
            ((k->ret == 1 && e->ret == 0) || weird_nest || et_nest)) {
            /* an epoll fd is readable while an event is queued: an edge the engine cannot see
             * (the limits in compare_sets) shows here before any wait does */
            s->nested_gap++;
            return 0;
        }
        if (k->ret != e->ret || k->err != e->err) {
            snprintf(why, wn, "returned %d (%s), kernel %d (%s)", e->ret, e->err ? errno_name(e->err) : "-", k->ret,
                     k->err ? errno_name(k->err) : "-");
            return 1;
        }
        if (k->val != e->val) {
            snprintf(why, wn, "value %#" PRIx64 ", kernel %#" PRIx64, e->val, k->val);
            return 1;
        }
        return 0;
    }
    s->waits++;
    if ((k->ret < 0) != (e->ret < 0) || k->err != e->err || k->val != e->val) {
        snprintf(why, wn, "wait returned %d (%s), kernel %d (%s)", e->ret, e->err ? errno_name(e->err) : "-", k->ret,
                 k->err ? errno_name(k->err) : "-");
        return 1;
    }
    if (k->ret < 0) return 0;
    s->events += (uint64_t)k->n1 + (uint64_t)k->n2;
    struct uset ku = {0}, eu = {0};
    /* truncated on either side (spurious events may fill the engine's maxevents) */
    int trunc = o->i < MAXEV && (k->n1 == o->i || e->n1 == o->i);
    for (int j = 0; j < k->n1; j++) uadd(&ku, &k->e1[j]);
    for (int j = 0; j < e->n1; j++) uadd(&eu, &e->e1[j]);
    if (!trunc) {
        if (compare_sets(&ku, &eu, &s->spurious, &s->nested_gap, why, wn)) return 1;
        if (o->i >= MAXEV) return 0;
        memset(&ku, 0, sizeof ku);
        memset(&eu, 0, sizeof eu);
        for (int j = 0; j < k->n2; j++) uadd(&ku, &k->e2[j]);
        for (int j = 0; j < e->n2; j++) uadd(&eu, &e->e2[j]);
        return compare_sets(&ku, &eu, &s->spurious, &s->nested_gap, why, wn);
    }
    /* truncated: which ready entries come first may differ; the pair's union may not, nor the
     * level-triggered entries still ready after it */
    for (int j = 0; j < k->n2; j++) uadd(&ku, &k->e2[j]);
    for (int j = 0; j < e->n2; j++) uadd(&eu, &e->e2[j]);
    uint64_t before = s->spurious + s->nested_gap + out_gap + err_gap + dgram_bug + dgram_unmeasured + rdhup_unseen;
    if (compare_sets(&ku, &eu, &s->spurious, &s->nested_gap, why, wn)) return 1;
    if (e->n1 != k->n1 &&
        before == s->spurious + s->nested_gap + out_gap + err_gap + dgram_bug + dgram_unmeasured + rdhup_unseen) {
        snprintf(why, wn, "wait returned %d events, kernel %d (maxevents %d)", e->n1, k->n1, o->i);
        return 1;
    }
    struct uset kl = {0}, el = {0};
    for (int j = 0; j < k->n2; j++)
        if (!is_et(k->e2[j].tag) && !((uint32_t)k->e2[j].tag & EPOLLONESHOT)) uadd(&kl, &k->e2[j]);
    for (int j = 0; j < e->n2; j++)
        if (!is_et(e->e2[j].tag) && !((uint32_t)e->e2[j].tag & EPOLLONESHOT)) uadd(&el, &e->e2[j]);
    uint64_t dummy = 0, dummy2 = 0;
    return compare_sets(&kl, &el, &dummy, &dummy2, why, wn);
}

/* Runs ops on the kernel and engine t; returns the index of the first divergent op, or -1. */
static int check_seq(int t, const struct op *ops, int n, struct stats *s, char *why, size_t wn)
{
    int rk = run_target(0, ops, n);
    int re = run_target(t, ops, n);
    uint64_t og = out_gap, du = dgram_unmeasured, ru = rdhup_unseen;
    memset(refused, 0, sizeof refused);
    memset(last_write, 0, sizeof last_write);
    memset(last_wait, 0, sizeof last_wait);
    memset(last_read, 0, sizeof last_read);
    memset(rd_shut, 0, sizeof rd_shut);
    nrdhup_armed = 0;
    memset(unread, 0, sizeof unread);
    nlastrep = 0;
    weird_nest = gap_seen = et_nest = et_plain = et_any = 0;
    memset(last_child_close, 0, sizeof last_child_close);
    int child_end = -1; /* the last op index a forked child runs */
    uint64_t eg = err_gap, db = dgram_bug;
    for (int i = 0; i < n; i++) {
        const struct rec *k = &logs[0][i];
        const struct op *o = &ops[i];
        if (o->k == O_WRITE || o->k == O_EFDWRITE) {
            int pe = (int)((k->val >> 8) & 0xfff) << 1 | (int)((k->val >> 4) & 1);
            int refuse = (k->ret < 0 && k->err == EAGAIN) || (o->k == O_WRITE && k->ret >= 0 && k->ret < o->i);
            if (refuse) refused[pe] = 1;
            /* eventfd_write on a socket or pipe: 8 bytes written, answered 0 */
            long sent = o->k == O_WRITE ? k->ret : k->ret == 0 && (k->val & 0xf) != K_EFD ? 8 : 0;
            if (sent > 0) last_write[pe ^ 1] = i + 1;
            if (sent > 0) unread[pe ^ 1] += sent;
        } else if (o->k == O_READ && ((k->val & 0xf) == K_STREAM || (k->val & 0xf) == K_DGRAM)) {
            int pe = (int)((k->val >> 8) & 0xfff) << 1 | (int)((k->val >> 4) & 1);
            last_read[pe] = i + 1;
            if (k->ret > 0) unread[pe] = unread[pe] > k->ret ? unread[pe] - k->ret : 0;
        } else if (o->k == O_SHUTDOWN && k->ret == 0 && o->i != SHUT_WR) {
            rd_shut[(int)((k->val >> 8) & 0xfff) << 1 | (int)((k->val >> 4) & 1)] = 1;
        } else if (o->k == O_FORK) {
            child_end = i + o->i < n - 1 ? i + o->i : n - 1;
        } else if (o->k == O_CLOSE && i <= child_end && k->ret == 0 && k->val) {
            last_child_close[(k->val >> 8) & 0xfff] = i + 1;
        }
        if (o->k == O_CTL && k->ret == 0 && (o->i == EPOLL_CTL_ADD || o->i == EPOLL_CTL_MOD) &&
            ((k->val >> 8) & 0xf) == K_EP) {
            if (!(o->m & EPOLLIN)) weird_nest = 1;
            if (o->m & EPOLLET) et_nest = 1;
        }
        if (o->k == O_CTL && k->ret == 0 && (o->m & EPOLLET)) et_any = 1;
        if (o->k == O_CTL && k->ret == 0 && (o->m & EPOLLET) && ((k->val >> 8) & 0xf) != K_EP &&
            ((k->val >> 8) & 0xf) != K_EFD)
            et_plain = 1;
        cmp_ep = o->k == O_WAIT ? (int)(k->val >> 40) & 0xfff : 0;
        int cmp_ep2 = o->k == O_MTJOIN ? (int)(k->val >> 20) & 0xfff : -1;
        if (o->k == O_MTJOIN) { /* two instances: the later of their last waits (the leaner rule) */
            cmp_ep = (int)(k->val >> 40) & 0xfff;
            if (last_wait[cmp_ep2] > last_wait[cmp_ep]) cmp_ep = cmp_ep2;
        }
        if (compare_op(o, k, &logs[t][i], s, why, wn)) {
            out_gap = og, err_gap = eg, dgram_bug = db;
            dgram_unmeasured = du, rdhup_unseen = ru;
            return i;
        }
        if (o->k == O_MTJOIN && k->ret != -3) {
            last_wait[(k->val >> 40) & 0xfff] = last_wait[cmp_ep2] = i + 1;
            for (int j = 0; j < k->n1; j++) {
                if (k->e1[j].ev & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) refused[tag_obj(k->e1[j].tag) << 1 | tag_end(k->e1[j].tag)] = 0;
                set_reported(&k->e1[j]);
            }
        }
        if (o->k == O_WAIT && k->ret >= 0) {
            last_wait[cmp_ep] = i + 1;
            for (int j = 0; j < k->n1; j++) {
                if (k->e1[j].ev & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) refused[tag_obj(k->e1[j].tag) << 1 | tag_end(k->e1[j].tag)] = 0;
                set_reported(&k->e1[j]);
            }
            for (int j = 0; j < k->n2; j++) {
                if (k->e2[j].ev & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) refused[tag_obj(k->e2[j].tag) << 1 | tag_end(k->e2[j].tag)] = 0;
                set_reported(&k->e2[j]);
            }
        }
    }
    s->out_gap = out_gap - og;
    s->err_gap = err_gap - eg;
    s->dgram_bug = dgram_bug - db;
    s->dgram_unmeasured = dgram_unmeasured - du;
    s->rdhup_unseen = rdhup_unseen - ru;
    out_gap = og, err_gap = eg, dgram_bug = db;
    dgram_unmeasured = du, rdhup_unseen = ru;
    if (rk != re) {
        snprintf(why, wn, "target exit status %d, kernel %d", re, rk);
        return n;
    }
    return -1;
}

/* ---- shrinking and printing ------------------------------------------------------------------ */

static int fails(int t, const struct op *ops, int n)
{
    struct stats s = {0};
    char why[256];
    return check_seq(t, ops, n, &s, why, sizeof why) >= 0;
}

static int shrink(int t, struct op *ops, int n)
{
    struct op *tmp = malloc((size_t)n * sizeof *tmp);
    for (int chunk = n / 2; chunk >= 1; chunk = chunk > 1 ? chunk / 2 : 0) {
        for (int at = 0; at + chunk <= n;) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (i < at || i >= at + chunk) tmp[m++] = ops[i];
            if (m > 0 && fails(t, tmp, m)) {
                memcpy(ops, tmp, (size_t)m * sizeof *ops);
                n = m;
            } else {
                at += chunk;
            }
        }
    }
    free(tmp);
    return n;
}

static const char *mstr(uint32_t m, char *b)
{
    if (m == 0) return "0";
    return mask_str(m, b);
}

static void print_res(const struct op *o, const struct rec *r)
{
    char b[200];
    if (!r->done) {
        printf("(not run)");
        return;
    }
    if (o->k == O_MTJOIN && r->ret >= 0) {
        printf("%d EINTR, %d bad, %d hung, union {", r->ret, (int)(r->val & 0xf), (int)(r->val >> 4 & 0xf));
        for (int j = 0; j < r->n1; j++) printf("%s%s:%#" PRIx64, j ? ", " : "", mstr(r->e1[j].ev, b), TAG_OP(r->e1[j].tag));
        printf("}");
        return;
    }
    if (r->ret < 0 && o->k != O_WAIT) {
        printf("-1 %s", errno_name(r->err));
        return;
    }
    if (o->k == O_WAIT) {
        if (r->ret < 0) {
            printf("-1 %s", errno_name(r->err));
            return;
        }
        printf("%d {", r->n1);
        for (int j = 0; j < r->n1; j++) printf("%s%s:%#" PRIx64, j ? ", " : "", mstr(r->e1[j].ev, b), TAG_OP(r->e1[j].tag));
        printf("}");
        if (o->i < MAXEV) {
            printf(" then %d {", r->n2);
            for (int j = 0; j < r->n2; j++) printf("%s%s:%#" PRIx64, j ? ", " : "", mstr(r->e2[j].ev, b), TAG_OP(r->e2[j].tag));
            printf("}");
        }
        return;
    }
    printf("%d", r->ret);
    if (o->k == O_READ && r->val) printf(" value %" PRIu64, r->val);
    if (o->k == O_POLL) printf(" revents %s", poll_str((int)(r->val & 0xffff), b));
}

static void print_op(const struct op *ops, int i)
{
    const struct op *o = &ops[i];
    char b[200];
    switch (o->k) {
    case O_EPCREATE:
        if (o->i == -2) printf("s%d = epoll_create1(%#x)", o->a, o->m);
        else printf("s%d = epoll_create(%d)", o->a, o->i);
        break;
    case O_EFD: printf("s%d = eventfd(%" PRIu64 ", %#x)", o->a, o->v, o->m); break;
    case O_SOCKPAIR: printf("socketpair(AF_UNIX, %s|SOCK_NONBLOCK) -> s%d, s%d", o->i == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_STREAM", o->a, o->b); break;
    case O_PIPE: printf("pipe2(O_NONBLOCK) -> s%d (read), s%d (write)", o->a, o->b); break;
    case O_FILE: printf("s%d = open(\"/dev/null\", O_RDWR)", o->a); break;
    case O_CLOSE: printf("close(s%d)", o->a); break;
    case O_DUP: printf("s%d = dup(s%d)", o->a, o->b); break;
    case O_DUP2: printf("dup2(s%d, s%d)", o->b, o->a); break;
    case O_CTL:
        printf("epoll_ctl(s%d, %s, s%d, ", o->a,
               o->i == EPOLL_CTL_ADD ? "ADD" : o->i == EPOLL_CTL_MOD ? "MOD" : o->i == EPOLL_CTL_DEL ? "DEL" : "op?", o->b);
        if (o->v) printf("NULL)");
        else printf("{%s, tag %#x})", mstr(o->m, b), i);
        if (o->i < 1 || o->i > 3) printf(" /* op %d */", o->i);
        break;
    case O_WAIT:
        printf("%s(s%d, ev, %d, 0)", o->m == 0 ? "epoll_wait" : o->m == 1 ? "epoll_pwait" : "epoll_pwait2", o->a, o->i);
        if (o->i > 0 && o->i < MAXEV) printf("; epoll_wait(s%d, ev, %d, 0)", o->a, MAXEV);
        break;
    case O_READ: printf("read(s%d, buf, %d)", o->a, o->i); break;
    case O_WRITE: printf("write(s%d, buf, %d)", o->a, o->i); break;
    case O_EFDWRITE: printf("eventfd_write(s%d, %#" PRIx64 ")", o->a, o->v); break;
    case O_SHUTDOWN: printf("shutdown(s%d, %s)", o->a, o->i == 0 ? "SHUT_RD" : o->i == 1 ? "SHUT_WR" : "SHUT_RDWR"); break;
    case O_POLL: printf("poll({s%d, %s}, 1, 0)", o->a, poll_str((int)o->m, b)); break;
    case O_FORK: printf("fork() /* the next %d ops in the child */", o->i); break;
    case O_FIFO: printf("mkfifo(f%d); s%d = open(f%d, O_RDONLY); s%d = open(f%d, O_WRONLY)", i, o->a, i, o->b, i); break;
    case O_FIFOOPEN: printf("s%d = open(the FIFO of s%d, %s)", o->a, o->b, o->i ? "O_WRONLY" : "O_RDONLY"); break;
    case O_MTWAIT:
        printf("%u thread(s) block in %s(s%d%s, ev, %d, -1) /* the next %d ops run while they wait */", o->m & 3,
               (o->m >> 4) == 0 ? "epoll_pwait" : (o->m >> 4) == 1 ? "epoll_pwait2" : "epoll_wait", o->a,
               (o->m & 3) > 1 && o->b != o->a ? " or the odd ones on the other" : "", MAXEV, o->i);
        if ((o->m & 3) > 1 && o->b != o->a) printf(" /* other: s%d */", o->b);
        break;
    case O_MTJOIN: printf("pthread_kill(SIGUSR1) to each waiting thread; join; epoll_wait(s%d and s%d, ev, %d, 0)", o->a, o->b, MAXEV); break;
    default: printf("?"); break;
    }
}

static void print_seq(int t, const struct op *ops, int n, int bad)
{
    struct stats s = {0};
    char why[256] = "";
    check_seq(t, ops, n, &s, why, sizeof why);
    for (int i = 0; i < n; i++) {
        printf("  %3d: ", i);
        print_op(ops, i);
        printf(";\n         kernel: ");
        print_res(&ops[i], &logs[0][i]);
        printf("\n         %s: ", engines[t]);
        print_res(&ops[i], &logs[t][i]);
        printf("%s\n", i == bad ? "   <== DIVERGES" : "");
    }
    printf("  reason: %s\n", why);
}

/* ---- main ------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    long seqs = 100, nops = 200;
    double max_spur = 0.05;
    int do_shrink = 1, verbose = 0, use[3] = {1, 1, 1};
    long long replay = -1;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--seed") && a + 1 < argc) seed = strtoull(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--seqs") && a + 1 < argc) seqs = strtol(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--ops") && a + 1 < argc) nops = strtol(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--max-spurious") && a + 1 < argc) max_spur = strtod(argv[++a], 0);
        else if (!strcmp(argv[a], "--replay") && a + 1 < argc) replay = strtoll(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--no-shrink")) do_shrink = 0;
        else if (!strcmp(argv[a], "--verbose")) verbose = 1;
        else if (!strcmp(argv[a], "--valgrind")) tame = 1;
        else if (!strcmp(argv[a], "--posix-aids")) posix_aids = 1;
        else if (!strcmp(argv[a], "--engines") && a + 1 < argc) {
            const char *e = argv[++a];
            use[1] = strstr(e, "native") != NULL;
            use[2] = strstr(e, "poll") != NULL;
        } else {
            fprintf(stderr, "usage: %s [--seed N] [--seqs N] [--ops N] [--engines native,poll] "
                            "[--max-spurious RATIO] [--replay SEED] [--no-shrink] [--verbose] [--valgrind] "
                            "[--posix-aids]\n", argv[0]);
            return 2;
        }
    }
    if (posix_aids && setenv("ANYPOLL_HOST_AIDS", "posix", 1) != 0) return perror("setenv"), 2;
    if (nops > MAXOPS) nops = MAXOPS;
    if (nops < 3) nops = 3;
    for (int t = 0; t < 3; t++) {
        logs[t] = mmap(NULL, MAXOPS * sizeof(struct rec), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (logs[t] == MAP_FAILED) return perror("mmap"), 2;
    }
    snprintf(fifo_dir, sizeof fifo_dir, "/tmp/anypoll-diff-XXXXXX");
    if (!mkdtemp(fifo_dir)) return perror("mkdtemp"), 2;
    struct op *ops = malloc((size_t)MAXOPS * sizeof *ops);
    long first = 0, last = seqs;
    if (replay >= 0) first = 0, last = 1, seed = (uint64_t)replay;
    int failed = 0;
    uint64_t done_ops = 0; /* ops generated so far, each run on the kernel and on every engine */
    uint64_t nkind[O_NOPS] = {0}, nthreads = 0;
    for (long q = first; q < last; q++) {
        uint64_t sd = seed + (uint64_t)q;
        int n = gen_seq(sd, ops, (int)nops);
        for (int i = 0; i < n; i++) {
            nkind[ops[i].k]++;
            if (ops[i].k == O_MTWAIT) nthreads += ops[i].m & 3;
        }
        for (int t = 1; t < 3; t++) {
            if (!use[t]) continue;
            char why[256];
            struct stats s = {0};
            int bad = check_seq(t, ops, n, &s, why, sizeof why);
            st[t].seqs++;
            st[t].ops += (uint64_t)n;
            st[t].spurious += s.spurious;
            st[t].events += s.events;
            st[t].nested_gap += s.nested_gap;
            st[t].out_gap += s.out_gap;
            st[t].err_gap += s.err_gap;
            st[t].dgram_bug += s.dgram_bug;
            st[t].dgram_unmeasured += s.dgram_unmeasured;
            st[t].rdhup_unseen += s.rdhup_unseen;
            st[t].waits += s.waits;
            if (bad < 0) continue;
            st[t].divergences++;
            failed = 1;
            printf("DIVERGENCE seed %" PRIu64 " engine %s at op %d: %s\n", sd, engines[t], bad, why);
            int m = bad + 1 < n ? bad + 1 : n;
            if (do_shrink) {
                m = shrink(t, ops, m);
                printf("shrunk to %d ops (replay: --replay %" PRIu64 " --ops %ld):\n", m, sd, nops);
            }
            print_seq(t, ops, m, -1);
            n = gen_seq(sd, ops, (int)nops); /* the shrinker edited ops */
        }
        done_ops += (uint64_t)n;
        if (verbose && ((q + 1 - first) % 10 == 0 || q + 1 == last)) { /* progress, for check.sh */
            printf("... %ld/%ld sequences, %" PRIu64 " ops\n", q + 1 - first, last - first, done_ops);
            fflush(stdout);
        }
    }
    printf("diff: generated %" PRIu64 " nested-capable ctl, %" PRIu64 " waiting-thread groups (%" PRIu64
           " threads, each ended by events or SIGUSR1), %" PRIu64 " FIFOs, %" PRIu64 " FIFO ends reopened, %" PRIu64
           " shutdowns, %" PRIu64 " forks\n",
           nkind[O_CTL], nkind[O_MTWAIT], nthreads, nkind[O_FIFO], nkind[O_FIFOOPEN], nkind[O_SHUTDOWN], nkind[O_FORK]);
    int spur_bad = 0;
    for (int t = 1; t < 3; t++) {
        if (!use[t]) continue;
        double ratio = st[t].events ? (double)st[t].spurious / (double)st[t].events : 0;
        printf("diff %s: %" PRIu64 " sequences, %" PRIu64 " ops, %" PRIu64 " waits, %" PRIu64
               " kernel events, %" PRIu64 " divergences, spurious %" PRIu64 " (%.4f%%), known limits: nested %" PRIu64 ", no-level-change %" PRIu64
               ", after-hup %" PRIu64 ", dgram-child-close %" PRIu64,
               engines[t], st[t].seqs, st[t].ops, st[t].waits, st[t].events, st[t].divergences,
               st[t].spurious, 100 * ratio, st[t].nested_gap, st[t].out_gap, st[t].err_gap, st[t].dgram_bug);
        if (posix_aids && t == 2) /* the native engine asks no host aids */
            printf(", plain-POSIX gaps: dgram-unmeasured %" PRIu64 ", rdhup-unseen %" PRIu64,
                   st[t].dgram_unmeasured, st[t].rdhup_unseen);
        printf("\n");
        if (ratio > max_spur && st[t].events >= 1000) { /* a ratio means something over many events */
            printf("diff %s: spurious ratio %.4f above the limit %.4f\n", engines[t], ratio, max_spur);
            spur_bad = 1;
        }
    }
    free(ops);
    DIR *d = opendir(fifo_dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char path[512];
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", fifo_dir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(fifo_dir);
    printf("diff: %s\n", failed || spur_bad ? "FAIL" : "ok");
    return failed || spur_bad;
}
