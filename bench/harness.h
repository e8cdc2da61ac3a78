/*
 * bench/harness.h — the benchmarks' shared harness (room: bench/, Linux-only tooling run by
 * `make bench`; it may use any Linux header and links libevent and libev, never the library's
 * internals — only the public anypoll API, as a user would).
 *
 * Every workload is written once against a tiny event-loop interface (struct bl), and each
 * contender implements it the way its users would write such a loop: the kernel's epoll through
 * glibc, anypoll with the native or the poll engine, a bare poll() loop over a pollfd array,
 * libevent forced onto its poll backend and libev forced onto its poll backend. So the
 * contenders differ only in the event machinery being measured.
 *
 * A program prints one line per measurement, `result key=value ...` (see bench_result), which
 * scripts/bench-report parses; diagnostics go to stderr.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Interest bits, with epoll's values so the epoll contenders pass them through unchanged. */
enum { BL_IN = 0x001, BL_OUT = 0x004, BL_ERR = 0x008, BL_HUP = 0x010, BL_ET = 1u << 31 };

struct bl;
struct bw;
/* revents uses the BL_ bits. A callback may delete (and free) its own watcher. */
typedef void (*bl_cb)(struct bl *loop, struct bw *w, unsigned revents);

/* A watcher: one fd registered in one loop. The workload owns the memory (bench_watcher). */
struct bw {
    int fd;
    unsigned events; /* BL_IN/BL_OUT, plus BL_ET (honoured only where the contender has it) */
    bl_cb cb;
    void *arg;
    /* contender state */
    int slot;   /* bare: index in the pollfd array, -1 if not registered */
    void *impl; /* libevent: struct event *; libev: ev_io * */
};

struct contender {
    const char *name;
    const char *what; /* one line for the report */
    int has_et;       /* 1 if BL_ET is edge-triggered here; otherwise the loop is level-triggered */
    /* a loop; threadsafe != 0 when another thread will add/mod/del while run_once blocks */
    struct bl *(*loop_new)(int threadsafe);
    void (*loop_free)(struct bl *loop);
    int (*add)(struct bl *loop, struct bw *w);
    int (*mod)(struct bl *loop, struct bw *w, unsigned events);
    int (*del)(struct bl *loop, struct bw *w);
    void (*forget)(struct bw *w); /* frees per-watcher state; NULL: none */
    /* one wait (timeout_ms: -1 blocks, 0 polls) and the callbacks it found; returns how many
     * callbacks ran, -1 on error */
    int (*run_once)(struct bl *loop, int timeout_ms);
    /* the fd calls a user of this contender makes (anypoll's for anypoll, libc's otherwise) */
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    int (*close)(int fd);
    int (*accept4)(int fd, struct sockaddr *sa, socklen_t *len, int flags);
    int (*eventfd)(unsigned init, int flags);
};

/* The contender chosen with --contender (set up by bench_init). */
extern const struct contender *C;

/* Parses `--contender NAME` and `--KEY VALUE` options (keys listed in `keys`, separated by
 * spaces, each with its default after '='; e.g. "n=100 a=1 seconds=0.5 iters=0"). Exits with
 * a usage message on anything else. `threads` != 0 if the workload changes a loop from
 * another thread (libevent's locking must be switched on before any base exists). */
void bench_init(int argc, char **argv, const char *bench, const char *keys, int threads);
double bench_opt(const char *key);
long long bench_opt_ll(const char *key);

/* Raises RLIMIT_NOFILE to at least n (and the hard limit with it, as root). */
void bench_fds(long n);

double bench_now(void);     /* CLOCK_MONOTONIC seconds */
double bench_cpu(void);     /* this process's user+system CPU seconds */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) bench_die("%s:%d: %s failed: %m", __FILE__, __LINE__, #x);                     \
    } while (0)

/* A measured stretch: bench_start, then the workload, then bench_result with the operations
 * done. Prints `result bench=... contender=... <options> ops=N wall_s=... cpu_s=...
 * ns_per_op=... ops_per_s=...` plus the extra `key=value` pairs given. */
void bench_start(void);
void bench_result(long long ops, const char *extra_fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keep going? With --iters K: until K operations are done; otherwise until --seconds passed
 * (checked every call; cheap). */
int bench_more(long long ops_done);

struct bw *bench_watcher(int fd, unsigned events, bl_cb cb, void *arg);
void bench_watcher_free(struct bw *w); /* after del; frees the contender's state too */

#endif
