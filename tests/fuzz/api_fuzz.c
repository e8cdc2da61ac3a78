/*
 * api_fuzz.c — libFuzzer harness for every anypoll entry point (reliability room, issue 4; tests
 * only, touches no library file). Each input is a program of calls with arbitrary arguments (fd
 * numbers, op codes, masks, maxevents, timeouts, sigmasks, timespecs, counts, flags); every call
 * runs twice in this process: on glibc against the kernel, over the kernel's own objects, and on
 * anypoll (engine ANYPOLL_FUZZ_ENGINE, default poll) over anypoll's. Both sides own the same set
 * of objects (two instances, an eventfd, a pipe, a socketpair; all non-blocking), so fd
 * arguments are pool indexes mapped per side, or raw numbers no side owns. The results must
 * agree (success or failure, errno, counts); any difference aborts with both answers. After each
 * input the objects are closed and the open fd count must be what it was (no leak). Built with
 * -fsanitize=fuzzer,address,undefined (mk/fuzz.mk), so crashes and memory errors are caught too.
 *
 * Not fuzzed: pointers other than NULL or valid (anypoll reads the struct epoll_event in user
 * space, where the kernel would answer EFAULT), blocking calls (hangs are what the watchdog in
 * the other programs is for), fds 0-2 and the harness's own. The readiness of an epoll fd in
 * poll()/select() is compared as success or failure only: after an EPOLLET edge poll() cannot
 * see, it differs by design (the differential fuzzer counts those cases by class).
 */
#include "runner.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define NPOOL 7
struct side {
    const struct target *X;
    int fd[NPOOL]; /* ep0, ep1, efd, pipe r, pipe w, sock a, sock b */
};
static struct side S[2]; /* 0: kernel, 1: anypoll */
static int baseline_fds = -1;

/* The fds open now that were not at the start of the input (the sanitizer runtime opens pipes
 * of its own between inputs, so a count is not enough). */
static unsigned char open_at_start[1024];
static void snapshot(void)
{
    for (int fd = 0; fd < 1024; fd++) open_at_start[fd] = fcntl(fd, F_GETFD) >= 0;
}
static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0 && !open_at_start[fd]) n++;
    return n;
}

static void pool_open(struct side *s)
{
    int p[2];
    s->fd[0] = s->X->epoll_create1(0);
    s->fd[1] = s->X->epoll_create1(EPOLL_CLOEXEC);
    s->fd[2] = s->X->eventfd(0, EFD_NONBLOCK);
    if (pipe2(p, O_NONBLOCK) != 0) abort();
    s->fd[3] = p[0], s->fd[4] = p[1];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) != 0) abort();
    s->fd[5] = p[0], s->fd[6] = p[1];
    for (int i = 0; i < NPOOL; i++)
        if (s->fd[i] < 0) abort();
}

static int last_pool[2][NPOOL], last_close[2][NPOOL];
static void pool_close(struct side *s)
{
    int side = s == &S[1];
    for (int i = 0; i < NPOOL; i++) {
        last_pool[side][i] = s->fd[i];
        last_close[side][i] = s->fd[i] >= 0 ? (s->X->close(s->fd[i]) == 0 ? 0 : errno) : -1;
        s->fd[i] = -1;
    }
}

/* ---- input reading ------------------------------------------------------------------------ */
struct in {
    const uint8_t *p;
    size_t n;
};
static uint8_t u8(struct in *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static uint32_t u32(struct in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | u8(in);
    return v;
}
static uint64_t u64(struct in *in) { return (uint64_t)u32(in) << 32 | u32(in); }

/* An fd argument: a pool index (mapped per side) or a raw number nobody owns. */
struct fdarg {
    int pool, raw;
};
static struct fdarg fdarg(struct in *in)
{
    uint8_t b = u8(in);
    static const int raws[] = {-1, -100, INT_MAX, 1 << 20, 900, INT_MIN};
    if (b < 200) return (struct fdarg){b % NPOOL, 0};
    return (struct fdarg){-1, raws[b % 6]};
}
static int fd_of(int side, struct fdarg a) { return a.pool >= 0 ? S[side].fd[a.pool] : a.raw; }
static int is_ep(struct fdarg a) { return a.pool == 0 || a.pool == 1; }

/* ---- comparing ---------------------------------------------------------------------------- */

struct res {
    long ret;
    int err;
};

static void differ(const char *call, struct res k, struct res a)
{
    fprintf(stderr, "api_fuzz: %s: kernel %ld (%s), anypoll %ld (%s)\n", call, k.ret, k.ret < 0 ? errno_name(k.err) : "-",
            a.ret, a.ret < 0 ? errno_name(a.err) : "-");
    abort();
}
/* exact: counts must match too; otherwise only success/failure and errno */
static void agree(const char *call, struct res k, struct res a, int exact)
{
    /* the fuzzer's own timer signals may interrupt a wait on either side */
    if ((k.ret < 0 && k.err == EINTR) || (a.ret < 0 && a.err == EINTR)) return;
    if ((k.ret < 0) != (a.ret < 0) || (k.ret < 0 && k.err != a.err) || (exact && k.ret != a.ret)) differ(call, k, a);
}

#define BOTH(call, exact, expr_side)                                                               \
    do {                                                                                           \
        struct res r_[2];                                                                          \
        for (int side = 0; side < 2; side++) {                                                     \
            const struct target *X = S[side].X;                                                    \
            (void)X;                                                                               \
            errno = 0;                                                                             \
            r_[side].ret = (long)(expr_side);                                                      \
            r_[side].err = errno;                                                                  \
            after_##call(side, r_[side].ret);                                                      \
        }                                                                                          \
        agree(op_names[op], r_[0], r_[1], exact);                                                  \
    } while (0)

static void close_new(int side, long fd)
{
    if (fd > 2) S[side].X->close((int)fd);
}
#define after_epoll_create(s, r) close_new(s, r)
#define after_epoll_create1(s, r) close_new(s, r)
#define after_eventfd(s, r) close_new(s, r)
#define after_dup(s, r) close_new(s, r)
#define after_fcntl_dupfd(s, r) close_new(s, r)
#define after_none(s, r) ((void)(s), (void)(r))

static const char *const op_names[] = {"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
                                       "epoll_pwait", "epoll_pwait2", "eventfd", "read", "write",
                                       "eventfd_write", "eventfd_read", "poll", "dup", "dup2/dup3",
                                       "fcntl", "select", "write (pool)"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *e = getenv("ANYPOLL_FUZZ_ENGINE");
    if (anypoll_use_engine(e ? e : "poll") != 0) {
        fprintf(stderr, "api_fuzz: engine %s not usable\n", e ? e : "poll");
        exit(2);
    }
    S[0].X = &target_kernel;
    S[1].X = &target_anypoll;
    /* warm-up: what the library keeps for the process (made on first use) is not a leak */
    static const uint8_t warm[] = {16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   11, 3, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    LLVMFuzzerTestOneInput(warm, sizeof warm);
    baseline_fds = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    snapshot();
    pool_open(&S[0]);
    pool_open(&S[1]);
    static char buf[2][256];
    struct epoll_event evs[2][64];
    for (int steps = 0; in.n > 0 && steps < 64; steps++) {
        uint8_t op = u8(&in) % 17;
        struct fdarg a = fdarg(&in), b = fdarg(&in);
        uint32_t x = u32(&in), y = u32(&in);
        uint64_t v = u64(&in);
        sigset_t empty;
        sigemptyset(&empty);
        switch (op) {
        case 0:
            BOTH(epoll_create, 0, X->epoll_create((int)x));
            break;
        case 1:
            BOTH(epoll_create1, 0, X->epoll_create1((int)x));
            break;
        case 2: { /* ctl with an arbitrary op and mask; the event pointer valid or NULL */
            int ctlop = (y & 0x100) ? (int)(y >> 9) : (int)(y & 3) + ((y & 4) ? 1 : 0);
            struct epoll_event ev[2] = {{.events = x, .data.u64 = v}, {.events = x, .data.u64 = v}};
            BOTH(none, 1, X->epoll_ctl(fd_of(side, a), ctlop, fd_of(side, b), (y & 8) ? NULL : &ev[side]));
            break;
        }
        case 3: /* wait: arbitrary maxevents, timeout 0, buffer valid or NULL */
        case 4:
        case 5: {
            int me = (y & 1) ? (int)x : (int)(x % 70) - 2;
            if (me > 64 && !(y & 1)) me = 64;
            if ((y & 1) && me > 0 && me < 64) me = 64; /* big or invalid only: our buffer is 64 */
            int null = (y & 2) != 0;
            /* valid timeouts stay below a microsecond; invalid ones are negative or >= 1 s in ns */
            long nsec = (y & 8) ? ((y & 32) ? 1000000000L + (long)(x % 1000) : -1L - (long)(x % 1000)) : (long)(x % 1000);
            struct timespec ts = {(y & 4) ? -1 : 0, nsec};
            if (op == 3) BOTH(none, 0, X->epoll_wait(fd_of(side, a), null ? NULL : evs[side], me, 0));
            else if (op == 4) BOTH(none, 0, X->epoll_pwait(fd_of(side, a), null ? NULL : evs[side], me, 0, (y & 16) ? NULL : &empty));
            else BOTH(none, 0, X->epoll_pwait2(fd_of(side, a), null ? NULL : evs[side], me, &ts, (y & 16) ? NULL : &empty));
            break;
        }
        case 6:
            BOTH(eventfd, 0, X->eventfd(x, (int)(y | EFD_NONBLOCK)));
            break;
        case 7: { /* read: count arbitrary up to the buffer, or NULL */
            size_t cnt = x % 40;
            BOTH(none, 1, X->read(fd_of(side, a), (y & 1) ? NULL : buf[side], cnt));
            break;
        }
        case 8: {
            size_t cnt = x % 40;
            memcpy(buf[0], &v, 8), memcpy(buf[1], &v, 8);
            BOTH(none, 1, X->write(fd_of(side, a), (y & 1) ? NULL : buf[side], cnt));
            break;
        }
        case 9:
            BOTH(none, 1, X->eventfd_write(fd_of(side, a), v));
            break;
        case 10: {
            eventfd_t val[2] = {0, 0};
            BOTH(none, 1, X->eventfd_read(fd_of(side, a), &val[side]));
            if (val[0] != val[1]) differ("eventfd_read value", (struct res){(long)val[0], 0}, (struct res){(long)val[1], 0});
            break;
        }
        case 11: {
            struct pollfd pf[2][2];
            for (int s = 0; s < 2; s++) {
                pf[s][0] = (struct pollfd){fd_of(s, a), (short)x, 0};
                pf[s][1] = (struct pollfd){fd_of(s, b), (short)(x >> 16), 0};
            }
            nfds_t nf = y % 3;
            /* An epoll fd's readiness after an EPOLLET edge poll() cannot see (docs/reliability.md,
             * the differential fuzzer's counted limits) is not an argument-handling question:
             * compared exactly only without epoll fds in the set. */
            int eps = is_ep(a) || (nf > 1 && is_ep(b));
            BOTH(none, !eps, X->poll(pf[side], nf, 0));
            for (nfds_t i = 0; i < nf; i++)
                if (!is_ep(i ? b : a) && pf[0][i].revents != pf[1][i].revents)
                    differ("poll revents", (struct res){pf[0][i].revents, 0}, (struct res){pf[1][i].revents, 0});
            break;
        }
        case 12:
            BOTH(dup, 0, X->dup(fd_of(side, a)));
            break;
        case 13: /* onto itself only: the harness's numbers stay its own */
            BOTH(none, 0, (y & 1) ? X->dup2(fd_of(side, a), fd_of(side, a))
                                  : X->dup3(fd_of(side, a), fd_of(side, a), (int)x));
            break;
        case 14: {
            static const int cmds[] = {F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC, 1234, -1};
            int cmd = cmds[y % 8];
            long arg = cmd == F_SETFL ? (long)(x | O_NONBLOCK) : cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? (long)(x % 2048) - 10 : (long)x;
            if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) BOTH(fcntl_dupfd, 0, X->fcntl(fd_of(side, a), cmd, arg));
            else BOTH(none, cmd != F_GETFL, X->fcntl(fd_of(side, a), cmd, arg));
            break;
        }
        case 15: { /* select over the pool: nfds arbitrary within FD_SETSIZE, or negative */
            fd_set rs[2], ws[2];
            struct timeval tv[2] = {{0, 0}, {0, 0}};
            for (int s = 0; s < 2; s++) {
                FD_ZERO(&rs[s]);
                FD_ZERO(&ws[s]);
                int f1 = fd_of(s, a), f2 = fd_of(s, b);
                if (f1 >= 0 && f1 < FD_SETSIZE) FD_SET(f1, &rs[s]);
                if (f2 >= 0 && f2 < FD_SETSIZE) FD_SET(f2, &ws[s]);
            }
            /* the same nfds relative to each side's fds: all of them, or a negative one */
            int neg = (y & 1) != 0;
            BOTH(none, !is_ep(a) && !is_ep(b),
                 X->select(neg ? -(int)(x % 5) - 1 : FD_SETSIZE, &rs[side], &ws[side], NULL, &tv[side]));
            break;
        }
        case 16: /* make things ready: data into the pipe and the socket */
            BOTH(none, 1, X->write(S[side].fd[(y & 1) ? 4 : 6], "data", 1 + x % 4));
            break;
        }
    }
    pool_close(&S[0]);
    pool_close(&S[1]);
    int now = count_fds();
    if (baseline_fds >= 0 && now != 0) {
        fprintf(stderr, "api_fuzz: %d fds open after the input that were not before (a leak)\n", now);
        for (int sd = 0; sd < 2; sd++)
            for (int i = 0; i < NPOOL; i++)
                fprintf(stderr, "  side %d pool %d: fd %d closed %d\n", sd, i, last_pool[sd][i], last_close[sd][i]);
        for (int fd = 0; fd < 1024; fd++) {
            char path[64], to[256];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t k = readlink(path, to, sizeof to - 1);
            if (k > 0) to[k] = 0, fprintf(stderr, "  fd %d -> %s\n", fd, to);
        }
        abort();
    }
    return 0;
}
