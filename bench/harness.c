/*
 * bench/harness.c — options, timing, output and the six contenders' event loops (room: bench/,
 * Linux-only; see harness.h). Each contender's loop is what a careful user of that API writes,
 * nothing more: the measurement is of the machinery underneath.
 */
#include "harness.h"

#include <anypoll.h>

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const struct contender *C;

/* --- options and output ------------------------------------------------------------------ */

#define MAX_OPTS 16
static struct {
    char key[32];
    char val[64];
} opts[MAX_OPTS];
static int nopts;
static const char *bench_name;
static double t0_wall, t0_cpu, opt_seconds;
static long long opt_iters;

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s[%s]: ", bench_name ? bench_name : "bench", C ? C->name : "?");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int opt_index(const char *key)
{
    for (int i = 0; i < nopts; i++)
        if (!strcmp(opts[i].key, key)) return i;
    return -1;
}

double bench_opt(const char *key)
{
    int i = opt_index(key);
    if (i < 0) bench_die("internal: no option %s", key);
    char *end;
    double v = strtod(opts[i].val, &end);
    if (end == opts[i].val || *end) bench_die("--%s: not a number: %s", key, opts[i].val);
    return v;
}

long long bench_opt_ll(const char *key) { return (long long)bench_opt(key); }

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

void bench_fds(long n)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur >= (rlim_t)n) return;
    struct rlimit want = {(rlim_t)n, rl.rlim_max < (rlim_t)n ? (rlim_t)n : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0)
        bench_die("needs %ld fds; RLIMIT_NOFILE's hard limit is %ld and cannot be raised here (%m)",
                  n, (long)rl.rlim_max);
}

void bench_start(void)
{
    t0_wall = bench_now();
    t0_cpu = bench_cpu();
}

int bench_more(long long ops_done)
{
    if (opt_iters > 0) return ops_done < opt_iters;
    return bench_now() - t0_wall < opt_seconds;
}

void bench_result(long long ops, const char *extra_fmt, ...)
{
    double wall = bench_now() - t0_wall, cpu = bench_cpu() - t0_cpu;
    printf("result bench=%s contender=%s", bench_name, C->name);
    for (int i = 0; i < nopts; i++)
        if (strcmp(opts[i].key, "seconds") && strcmp(opts[i].key, "iters"))
            printf(" %s=%s", opts[i].key, opts[i].val);
    printf(" ops=%lld wall_s=%.6f cpu_s=%.6f ns_per_op=%.1f ops_per_s=%.1f", ops, wall, cpu,
           ops ? wall * 1e9 / ops : 0.0, wall > 0 ? ops / wall : 0.0);
    if (extra_fmt && *extra_fmt) {
        va_list ap;
        va_start(ap, extra_fmt);
        putchar(' ');
        vprintf(extra_fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
}

struct bw *bench_watcher(int fd, unsigned events, bl_cb cb, void *arg)
{
    struct bw *w = calloc(1, sizeof *w);
    CHECK(w);
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->arg = arg;
    w->slot = -1;
    return w;
}

void bench_watcher_free(struct bw *w)
{
    if (C->forget) C->forget(w);
    free(w);
}

/* Each thread runs its own loop; callbacks of the C libraries find it here. */
static __thread struct bl *cur_loop;

struct bl {
    int fired;
    int threadsafe;
    /* epoll family */
    const struct epfns *f;
    int ep;
    struct epoll_event evs[256];
    /* bare poll() */
    struct pollfd *pfd;
    struct bw **pw;
    int n, cap, *freel, nfree;
    pthread_mutex_t mu;
    int wake[2], blocked, wake_pending, dirty, busy;
    struct pollfd *snap;
    struct bw **snapw, **ready;
    int nsnap, snapcap;
    /* libevent */
    struct event_base *base;
};

static struct bl *bl_alloc(int threadsafe)
{
    struct bl *l = calloc(1, sizeof *l);
    CHECK(l);
    l->threadsafe = threadsafe;
    l->ep = -1;
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

/* --- glibc epoll and anypoll (native or poll engine): one loop, two sets of functions ----- */

struct epfns {
    int (*create1)(int);
    int (*ctl)(int, int, int, struct epoll_event *);
    int (*wait)(int, struct epoll_event *, int, int);
    int (*close)(int);
};
static const struct epfns glibc_fns = {epoll_create1, epoll_ctl, epoll_wait, close};
static const struct epfns anypoll_fns = {anypoll_epoll_create1, anypoll_epoll_ctl,
                                         anypoll_epoll_wait, anypoll_close};

static struct bl *ep_new(const struct epfns *f, int threadsafe)
{
    struct bl *l = bl_alloc(threadsafe);
    l->f = f;
    l->ep = f->create1(EPOLL_CLOEXEC);
    CHECK(l->ep >= 0);
    return l;
}
static struct bl *glibc_new(int ts) { return ep_new(&glibc_fns, ts); }
static struct bl *anypoll_new(int ts) { return ep_new(&anypoll_fns, ts); }

static void ep_free(struct bl *l)
{
    l->f->close(l->ep);
    free(l);
}

static int ep_ctl(struct bl *l, int op, struct bw *w, unsigned events)
{
    struct epoll_event e = {.events = events, .data.ptr = w};
    return l->f->ctl(l->ep, op, w->fd, &e);
}
static int ep_add(struct bl *l, struct bw *w) { return ep_ctl(l, EPOLL_CTL_ADD, w, w->events); }
static int ep_mod(struct bl *l, struct bw *w, unsigned ev)
{
    w->events = ev;
    return ep_ctl(l, EPOLL_CTL_MOD, w, ev);
}
static int ep_del(struct bl *l, struct bw *w) { return ep_ctl(l, EPOLL_CTL_DEL, w, 0); }

static int ep_run_once(struct bl *l, int timeout_ms)
{
    int n = l->f->wait(l->ep, l->evs, 256, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        struct bw *w = l->evs[i].data.ptr;
        w->cb(l, w, l->evs[i].events);
    }
    return n;
}

/* --- a bare poll() loop: the pollfd array is the registration set ------------------------- */

static struct bl *bare_new(int threadsafe)
{
    struct bl *l = bl_alloc(threadsafe);
    l->wake[0] = l->wake[1] = -1;
    /* Another thread changing the set must wake the poll() that holds an old copy of it: the
     * least any poll()-based loop does (a lock, a snapshot, a wake pipe). */
    if (threadsafe) CHECK(pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) == 0);
    return l;
}

static void bare_free(struct bl *l)
{
    if (l->wake[0] >= 0) {
        close(l->wake[0]);
        close(l->wake[1]);
    }
    free(l->pfd);
    free(l->pw);
    free(l->freel);
    free(l->snap);
    free(l->snapw);
    free(l->ready);
    free(l);
}

static void bare_lock(struct bl *l)
{
    if (l->threadsafe) pthread_mutex_lock(&l->mu);
}
static void bare_unlock(struct bl *l)
{
    if (!l->threadsafe) return;
    l->dirty = 1;
    if (l->blocked && !l->wake_pending) {
        l->wake_pending = 1;
        CHECK(write(l->wake[1], "", 1) == 1);
    }
    pthread_mutex_unlock(&l->mu);
}

static int bare_add(struct bl *l, struct bw *w)
{
    bare_lock(l);
    int s;
    if (l->nfree) {
        s = l->freel[--l->nfree];
    } else {
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 64;
            l->pfd = realloc(l->pfd, l->cap * sizeof *l->pfd);
            l->pw = realloc(l->pw, l->cap * sizeof *l->pw);
            l->freel = realloc(l->freel, l->cap * sizeof *l->freel);
            CHECK(l->pfd && l->pw && l->freel);
        }
        s = l->n++;
    }
    l->pfd[s] = (struct pollfd){.fd = w->fd, .events = w->events & (BL_IN | BL_OUT)};
    l->pw[s] = w;
    w->slot = s;
    bare_unlock(l);
    return 0;
}

static int bare_mod(struct bl *l, struct bw *w, unsigned ev)
{
    bare_lock(l);
    w->events = ev;
    l->pfd[w->slot].events = ev & (BL_IN | BL_OUT);
    bare_unlock(l);
    return 0;
}

static int bare_del(struct bl *l, struct bw *w)
{
    bare_lock(l);
    int s = w->slot;
    l->pfd[s].fd = -1; /* poll() skips negative fds: a hole costs almost nothing */
    l->pfd[s].revents = 0;
    l->pw[s] = NULL;
    l->freel[l->nfree++] = s;
    w->slot = -1;
    bare_unlock(l);
    return 0;
}

static unsigned poll_to_bl(short re) { return (re & (POLLIN | POLLOUT | POLLERR | POLLHUP)) | (re & POLLNVAL ? BL_ERR : 0); }

static int bare_run_plain(struct bl *l, int timeout_ms)
{
    /* A blocking poll() hooks a wait-queue entry onto every fd it scans until it finds one
     * ready; when the last wait found work, a zero-timeout look first is cheaper (busy loops),
     * and an idle loop blocks at once. */
    int r = 0;
    if (l->busy || timeout_ms == 0) r = poll(l->pfd, l->n, 0);
    if (r == 0 && timeout_ms != 0) r = poll(l->pfd, l->n, timeout_ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    l->busy = r > 0;
    int fired = 0;
    for (int i = 0; i < l->n && r > 0; i++) {
        short re = l->pfd[i].revents;
        if (!re) continue;
        r--;
        l->pfd[i].revents = 0;
        struct bw *w = l->pw[i];
        unsigned ev = poll_to_bl(re);
        if (w && ev) {
            w->cb(l, w, ev);
            fired++;
        }
    }
    return fired;
}

static int bare_run_threadsafe(struct bl *l, int timeout_ms)
{
    pthread_mutex_lock(&l->mu);
    if (l->dirty || !l->snap) {
        if (l->snapcap < l->n + 1) {
            l->snapcap = l->n + 64;
            l->snap = realloc(l->snap, l->snapcap * sizeof *l->snap);
            l->snapw = realloc(l->snapw, l->snapcap * sizeof *l->snapw);
            l->ready = realloc(l->ready, l->snapcap * sizeof *l->ready);
            CHECK(l->snap && l->snapw && l->ready);
        }
        l->snap[0] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
        memcpy(l->snap + 1, l->pfd, l->n * sizeof *l->pfd);
        memcpy(l->snapw + 1, l->pw, l->n * sizeof *l->pw);
        l->nsnap = l->n + 1;
        l->dirty = 0;
    }
    l->blocked = 1;
    pthread_mutex_unlock(&l->mu);
    int r = poll(l->snap, l->nsnap, timeout_ms);
    int err = errno;
    pthread_mutex_lock(&l->mu);
    l->blocked = 0;
    int nready = 0;
    if (r > 0) {
        if (l->snap[0].revents) {
            char buf[64];
            while (read(l->wake[0], buf, sizeof buf) > 0) {}
            l->wake_pending = 0;
        }
        for (int i = 1; i < l->nsnap; i++) {
            struct bw *w = l->snapw[i];
            /* still registered, and still the same registration */
            if (l->snap[i].revents && w && w->slot >= 0 && l->pw[w->slot] == w) l->ready[nready++] = w;
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (r < 0) return err == EINTR ? 0 : -1;
    for (int i = 0; i < nready; i++) {
        struct bw *w = l->ready[i];
        w->cb(l, w, w->events & (BL_IN | BL_OUT)); /* revents: what was asked; workloads only use IN */
    }
    return nready;
}

static int bare_run_once(struct bl *l, int timeout_ms)
{
    return l->threadsafe ? bare_run_threadsafe(l, timeout_ms) : bare_run_plain(l, timeout_ms);
}

/* --- libevent on its poll backend ------------------------------------------------------------ */

static struct bl *levent_new(int threadsafe)
{
    struct bl *l = bl_alloc(threadsafe);
    struct event_config *cfg = event_config_new();
    CHECK(cfg);
    static const char *const avoid[] = {"epoll", "select", "kqueue", "devpoll", "evport", "win32"};
    for (size_t i = 0; i < sizeof avoid / sizeof *avoid; i++) event_config_avoid_method(cfg, avoid[i]);
    l->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    CHECK(l->base);
    if (strcmp(event_base_get_method(l->base), "poll"))
        bench_die("libevent chose backend %s, not poll", event_base_get_method(l->base));
    return l;
}

static void levent_free(struct bl *l)
{
    event_base_free(l->base);
    free(l);
}

static void levent_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct bw *w = arg;
    unsigned ev = (what & EV_READ ? BL_IN : 0) | (what & EV_WRITE ? BL_OUT : 0);
    cur_loop->fired++;
    w->cb(cur_loop, w, ev);
}

static short levent_flags(unsigned ev)
{
    /* the poll backend has no EV_ET: the loop is level-triggered */
    return EV_PERSIST | (ev & BL_IN ? EV_READ : 0) | (ev & BL_OUT ? EV_WRITE : 0);
}

static int levent_add(struct bl *l, struct bw *w)
{
    if (!w->impl) {
        w->impl = event_new(l->base, w->fd, levent_flags(w->events), levent_cb, w);
        CHECK(w->impl);
    } else {
        CHECK(event_assign(w->impl, l->base, w->fd, levent_flags(w->events), levent_cb, w) == 0);
    }
    return event_add(w->impl, NULL);
}

static int levent_mod(struct bl *l, struct bw *w, unsigned ev)
{
    /* libevent has no "modify": delete, reassign, add, as its users do */
    w->events = ev;
    event_del(w->impl);
    CHECK(event_assign(w->impl, l->base, w->fd, levent_flags(ev), levent_cb, w) == 0);
    return event_add(w->impl, NULL);
}

static int levent_del(struct bl *l, struct bw *w)
{
    (void)l;
    return event_del(w->impl);
}

static void levent_forget(struct bw *w)
{
    if (w->impl) event_free(w->impl);
    w->impl = NULL;
}

static int levent_run_once(struct bl *l, int timeout_ms)
{
    cur_loop = l;
    l->fired = 0;
    if (event_base_loop(l->base, timeout_ms == 0 ? EVLOOP_NONBLOCK : EVLOOP_ONCE) < 0) return -1;
    return l->fired;
}

/* --- the contenders ---------------------------------------------------------------------- */

/* libev's ev.h and libevent's headers define the same EV_ names: libev's loop lives in
 * harness_libev.c. */
struct bl *libev_new(int threadsafe);
void libev_free(struct bl *l);
int libev_add(struct bl *l, struct bw *w);
int libev_mod(struct bl *l, struct bw *w, unsigned ev);
int libev_del(struct bl *l, struct bw *w);
void libev_forget(struct bw *w);
int libev_run_once(struct bl *l, int timeout_ms);

static ssize_t libc_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static ssize_t libc_write(int fd, const void *b, size_t n) { return write(fd, b, n); }
static int libc_eventfd(unsigned init, int flags) { return eventfd(init, flags); }

#define LIBC_FD_OPS libc_read, libc_write, close, accept4, libc_eventfd
#define ANYPOLL_FD_OPS anypoll_read, anypoll_write, anypoll_close, anypoll_accept4, anypoll_eventfd
#define EP_OPS ep_add, ep_mod, ep_del, NULL, ep_run_once

static const struct contender contenders[] = {
    {"epoll", "glibc epoll_wait/epoll_ctl and eventfd on the kernel (the limit)", 1, glibc_new,
     ep_free, EP_OPS, LIBC_FD_OPS},
    {"native", "anypoll, native engine (anypoll_use_engine(\"native\"))", 1, anypoll_new, ep_free,
     EP_OPS, ANYPOLL_FD_OPS},
    {"poll", "anypoll, poll engine (anypoll_use_engine(\"poll\"))", 1, anypoll_new, ep_free,
     EP_OPS, ANYPOLL_FD_OPS},
    {"bare", "a bare poll() loop over a pollfd array (the limit for any poll()-based engine)", 0,
     bare_new, bare_free, bare_add, bare_mod, bare_del, NULL, bare_run_once, LIBC_FD_OPS},
    {"libevent", "libevent forced onto its poll backend (event_config_avoid_method)", 0, levent_new,
     levent_free, levent_add, levent_mod, levent_del, levent_forget, levent_run_once, LIBC_FD_OPS},
    {"libev", "libev forced onto EVBACKEND_POLL", 0, libev_new, libev_free, libev_add, libev_mod,
     libev_del, libev_forget, libev_run_once, LIBC_FD_OPS},
};

static void usage(const char *keys)
{
    fprintf(stderr, "usage: %s --contender NAME", bench_name);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", keys);
    for (char *k = strtok(buf, " "); k; k = strtok(NULL, " ")) {
        char *eq = strchr(k, '=');
        if (eq) *eq = 0;
        fprintf(stderr, " [--%s N (default %s)]", k, eq ? eq + 1 : "");
    }
    fprintf(stderr, "\n  contenders:");
    for (size_t i = 0; i < sizeof contenders / sizeof *contenders; i++) fprintf(stderr, " %s", contenders[i].name);
    fprintf(stderr, "\n  --iters K stops after K operations (for instruction counts); "
                    "otherwise runs --seconds\n  prints: result bench=... contender=... ops=... "
                    "wall_s=... cpu_s=... ns_per_op=... ops_per_s=...\n");
    exit(2);
}

void bench_init(int argc, char **argv, const char *bench, const char *keys, int threads)
{
    bench_name = bench;
    char buf[256];
    snprintf(buf, sizeof buf, "%s seconds=0.5 iters=0", keys);
    for (char *k = strtok(buf, " "); k; k = strtok(NULL, " ")) {
        char *eq = strchr(k, '=');
        if (!eq || nopts == MAX_OPTS) bench_die("internal: bad key list");
        *eq = 0;
        snprintf(opts[nopts].key, sizeof opts[nopts].key, "%s", k);
        snprintf(opts[nopts].val, sizeof opts[nopts].val, "%s", eq + 1);
        nopts++;
    }
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) usage(keys);
        if (strncmp(argv[i], "--", 2) || i + 1 >= argc) usage(keys);
        if (!strcmp(argv[i], "--contender")) {
            name = argv[++i];
            continue;
        }
        int o = opt_index(argv[i] + 2);
        if (o < 0) usage(keys);
        snprintf(opts[o].val, sizeof opts[o].val, "%s", argv[++i]);
    }
    if (!name) usage(keys);
    for (size_t i = 0; i < sizeof contenders / sizeof *contenders; i++)
        if (!strcmp(contenders[i].name, name)) C = &contenders[i];
    if (!C) usage(keys);
    opt_seconds = bench_opt("seconds");
    opt_iters = bench_opt_ll("iters");
    if (!strcmp(name, "native") || !strcmp(name, "poll")) {
        if (anypoll_use_engine(name) != 0) bench_die("anypoll_use_engine(\"%s\"): %m", name);
        const char *e = anypoll_engine_name();
        if (!e || strcmp(e, name)) bench_die("anypoll runs engine %s, not %s", e ? e : "(none)", name);
    }
    if (threads && !strcmp(name, "libevent")) CHECK(evthread_use_pthreads() == 0);
    signal(SIGPIPE, SIG_IGN);
}
