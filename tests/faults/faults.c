/*
 * faults.c — fault injection (reliability room, issue 4; tests only, touches no library file).
 * Each part runs on the kernel (glibc's epoll) and on each anypoll engine, in a forked process:
 *
 *   emfile  RLIMIT_NOFILE leaves 0..3 numbers free: creating an instance or an eventfd fails
 *           with EMFILE or succeeds, leaks no fd, and epoll_ctl/epoll_wait never fail for want
 *           of an fd (the kernel's never do);
 *   malloc  malloc/calloc/realloc are interposed here (no hook in the library): for every
 *           operation, the Nth allocation fails, N = 1, 2, ... until the operation makes no
 *           more: the call fails with ENOMEM or succeeds;
 *   signals a 100 µs interval timer whose handler writes a registered eventfd through the
 *           signal-safe path while the program ctl's, reads and waits: only waits may fail,
 *           with EINTR; every handler write is read back;
 *   fork    a child is forked while a thread is blocked in epoll_wait: the child can use
 *           anypoll, and its write to an inherited eventfd wakes the parent's waiter.
 *
 * After every fault a full wake-up check runs: registrations made before it (an EPOLLET eventfd
 * and a level-triggered pipe) still deliver, and a fresh instance works.
 *
 *   faults [--engines kernel,native,poll] [--parts emfile,malloc,signals,fork] [--rounds N]
 *
 * The malloc part replaces the allocator, so it cannot run under ASan, TSan or valgrind, which
 * replace it themselves: run the other parts there (--parts emfile,signals,fork).
 */
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- allocation failure: the executable's malloc family wins over libc's --------------------- */

/* ASan and TSan replace the allocator themselves: there the interposer is left out (and the malloc
 * part refuses to run rather than pass without testing anything). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_INTERPOSER 1
#endif
#endif

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static _Atomic long alloc_countdown; /* > 0: the allocation that brings it to 0 fails */
static _Atomic long alloc_failed;

__attribute__((unused)) static int alloc_should_fail(void)
{
    if (atomic_load_explicit(&alloc_countdown, memory_order_relaxed) <= 0) return 0;
    if (atomic_fetch_sub(&alloc_countdown, 1) == 1) {
        atomic_fetch_add(&alloc_failed, 1);
        return 1;
    }
    return 0;
}
#ifndef NO_INTERPOSER
void *malloc(size_t n) { return alloc_should_fail() ? (errno = ENOMEM, NULL) : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return alloc_should_fail() ? (errno = ENOMEM, NULL) : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return alloc_should_fail() ? (errno = ENOMEM, NULL) : __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
#endif

/* ---- shared ------------------------------------------------------------------------------- */

static const struct target *X;
static const char *tname;
static struct {
    long injected, survived, failures;
} fig; /* per target process; sent to the parent through a pipe */

#define BAD(...)                                                                                   \
    do {                                                                                           \
        printf("faults %s: ", tname);                                                              \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
        fig.failures++;                                                                            \
    } while (0)

static int base_ep = -1, base_efd = -1, base_pipe[2] = {-1, -1};

static void base_setup(void)
{
    base_ep = X->epoll_create1(0);
    base_efd = X->eventfd(0, EFD_NONBLOCK);
    if (base_ep < 0 || base_efd < 0 || pipe2(base_pipe, O_NONBLOCK) != 0) {
        BAD("base setup failed: %s", errno_name(errno));
        _exit(1);
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    struct epoll_event pv = {.events = EPOLLIN, .data.u64 = 2};
    if (X->epoll_ctl(base_ep, EPOLL_CTL_ADD, base_efd, &ev) || X->epoll_ctl(base_ep, EPOLL_CTL_ADD, base_pipe[0], &pv)) {
        BAD("base ctl failed: %s", errno_name(errno));
        _exit(1);
    }
}

/* Registrations made before the fault still deliver, and a fresh instance works. */
static int wakeup_check(const char *after)
{
    struct epoll_event evs[8];
    int n;
    while ((n = X->epoll_wait(base_ep, evs, 8, 0)) < 0 && errno == EINTR) {
    }
    uint64_t v;
    while (X->read(base_efd, &v, 8) == 8) {
    }
    char buf[64];
    while (X->read(base_pipe[0], buf, sizeof buf) > 0) {
    }
    if (X->eventfd_write(base_efd, 1) != 0 || X->write(base_pipe[1], "w", 1) != 1) {
        BAD("after %s: writes fail: %s", after, errno_name(errno));
        return 1;
    }
    while ((n = X->epoll_wait(base_ep, evs, 8, 1000)) < 0 && errno == EINTR) {
    }
    int got = 0;
    for (int i = 0; i < n; i++) got |= (int)evs[i].data.u64;
    if (got != 3) {
        BAD("after %s: the base registrations delivered %d event(s) (mask %d), want both", after, n, got);
        return 1;
    }
    X->read(base_efd, &v, 8);
    X->read(base_pipe[0], buf, sizeof buf);
    int ep = X->epoll_create1(0), efd = X->eventfd(1, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 9};
    int rc = 0;
    if (ep < 0 || efd < 0 || X->epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) {
        BAD("after %s: a fresh instance cannot be made: %s", after, errno_name(errno));
        rc = 1;
    } else {
        while ((n = X->epoll_wait(ep, evs, 8, 1000)) < 0 && errno == EINTR) {
        }
        if (n != 1 || evs[0].data.u64 != 9) {
            BAD("after %s: a fresh instance delivered %d events", after, n);
            rc = 1;
        }
    }
    if (efd >= 0) X->close(efd);
    if (ep >= 0) X->close(ep);
    return rc;
}

static int count_open_fds(void)
{
    int n = 0;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    for (int fd = 0; fd < (int)rl.rlim_cur && fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

/* ---- emfile ------------------------------------------------------------------------------- */

static void part_emfile(void)
{
    long emfile_refused = 0;
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    static int hog[4096];
    int nhog = 0;
    static const char *const what[] = {"epoll_create1", "eventfd", "epoll_ctl ADD", "epoll_ctl MOD",
                                       "epoll_wait", "epoll_ctl ADD nested", "epoll_ctl DEL", "dup"};
    /* objects made with room to spare, used with none */
    int ep = X->epoll_create1(0), inner = X->epoll_create1(0), efd = X->eventfd(0, EFD_NONBLOCK), p[2];
    if (ep < 0 || inner < 0 || efd < 0 || pipe2(p, O_NONBLOCK) != 0) {
        BAD("emfile setup: %s", errno_name(errno));
        return;
    }
    for (int freefds = 0; freefds <= 3; freefds++) {
        for (unsigned w = 0; w < sizeof what / sizeof *what; w++) {
            int open_before = count_open_fds();
            struct rlimit rl = {(rlim_t)(open_before + freefds), old.rlim_max};
            /* the limit only bounds new numbers: make the free ones the lowest */
            nhog = 0;
            int maxfd = -1;
            for (int fd = 0; fd < 4096; fd++)
                if (fcntl(fd, F_GETFD) >= 0) maxfd = fd;
            if (maxfd + 1 > open_before + freefds) {
                /* holes below the highest fd: fill them (they would be free numbers) */
                for (;;) {
                    int h = open("/dev/null", O_RDONLY);
                    if (h < 0) break;
                    if (h > maxfd) {
                        close(h);
                        break;
                    }
                    hog[nhog++] = h;
                    if (nhog == 4096) break;
                }
                rl.rlim_cur = (rlim_t)(maxfd + 1 + freefds);
            }
            int open_now = count_open_fds();
            setrlimit(RLIMIT_NOFILE, &rl);
            fig.injected++;
            errno = 0;
            long r = 0;
            struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 5};
            struct epoll_event evs[4];
            switch (w) {
            case 0: r = X->epoll_create1(0); break;
            case 1: r = X->eventfd(0, EFD_NONBLOCK); break;
            case 2: r = X->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev); break;
            case 3: r = X->epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev); break;
            case 4: r = X->epoll_wait(ep, evs, 4, 0); break;
            case 5: r = X->epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev); break;
            case 6: r = X->epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL); break;
            case 7: r = X->dup(efd); break;
            }
            int err = errno;
            setrlimit(RLIMIT_NOFILE, &old);
            if (r < 0 && err == EMFILE) emfile_refused++;
            int made = (w == 0 || w == 1 || w == 7) && r >= 0;
            if (made) X->close((int)r);
            for (int i = 0; i < nhog; i++) close(hog[i]);
            int open_after = count_open_fds();
            (void)open_now;
            if (w == 2 && r == 0) X->epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
            if (w == 3 && r == -1 && err == ENOENT) {
                /* efd was never added: the first MOD pass adds it below */
            }
            if (r < 0 && (w == 0 || w == 1 || w == 7) && err != EMFILE)
                BAD("%s with %d free fds: -1 %s, want EMFILE or success", what[w], freefds, errno_name(err));
            else if (r < 0 && w != 0 && w != 1 && w != 7 && !(w == 3 && err == ENOENT) && !(w == 6 && err == ENOENT))
                BAD("%s with %d free fds: -1 %s (the kernel's never fails for want of an fd)", what[w], freefds,
                    errno_name(err));
            else if (open_after != open_before)
                BAD("%s with %d free fds: %d fds open before, %d after (a leak)", what[w], freefds, open_before, open_after);
            else if (wakeup_check(what[w]) == 0)
                fig.survived++;
            if (w == 5 && r == 0) X->epoll_ctl(ep, EPOLL_CTL_DEL, inner, NULL);
            if (w == 3 && freefds == 0) X->epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
        }
    }
    X->close(ep), X->close(inner), X->close(efd), close(p[0]), close(p[1]);
    printf("faults %s: emfile: %ld calls refused with EMFILE (creating an fd, 0..3 free)\n", tname, emfile_refused);
}

/* ---- malloc ------------------------------------------------------------------------------- */

static void part_malloc(void)
{
    long enomem = 0;
#ifdef NO_INTERPOSER
    BAD("malloc: this build's sanitizer owns the allocator; run this part in a plain build");
    return;
#endif
    static const char *const what[] = {"epoll_create1", "eventfd", "epoll_ctl ADD pipe", "epoll_ctl ADD eventfd",
                                       "epoll_ctl ADD nested", "epoll_ctl MOD", "epoll_ctl DEL", "epoll_wait",
                                       "epoll_wait blocking", "poll", "dup", "close", "select"};
    for (unsigned w = 0; w < sizeof what / sizeof *what; w++) {
        for (long nth = 1; nth < 1000; nth++) {
            /* the state each operation works on, made without faults */
            int ep = X->epoll_create1(0), inner = X->epoll_create1(0), efd = X->eventfd(0, EFD_NONBLOCK), p[2];
            if (ep < 0 || inner < 0 || efd < 0 || pipe2(p, O_NONBLOCK) != 0) {
                BAD("malloc setup: %s", errno_name(errno));
                return;
            }
            struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
            if (w == 5 || w == 6 || w >= 7) X->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
            if (w >= 7) X->epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), X->eventfd_write(efd, 1);
            int dupfd = w == 11 ? X->dup(efd) : -1;
            long failed_before = atomic_load(&alloc_failed);
            struct epoll_event evs[4];
            struct pollfd pf[3] = {{ep, POLLIN, 0}, {efd, POLLIN, 0}, {p[0], POLLIN, 0}};
            fd_set rs;
            FD_ZERO(&rs);
            FD_SET(ep, &rs);
            FD_SET(efd, &rs);
            struct timeval tv0 = {0, 0};
            atomic_store(&alloc_countdown, nth);
            errno = 0;
            long r = 0;
            switch (w) {
            case 0: r = X->epoll_create1(0); break;
            case 1: r = X->eventfd(3, EFD_NONBLOCK); break;
            case 2: r = X->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev); break;
            case 3: r = X->epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev); break;
            case 4: r = X->epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev); break;
            case 5: r = X->epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev); break;
            case 6: r = X->epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL); break;
            case 7: r = X->epoll_wait(ep, evs, 4, 0); break;
            case 8: r = X->epoll_wait(inner, evs, 4, 1); break;
            case 9: r = X->poll(pf, 3, 0); break;
            case 10: r = X->dup(efd); break;
            case 11: r = X->close(dupfd); break;
            case 12: r = X->select(FD_SETSIZE > ep && FD_SETSIZE > efd ? (ep > efd ? ep : efd) + 1 : 0, &rs, NULL, NULL, &tv0); break;
            }
            int err = errno;
            atomic_store(&alloc_countdown, 0);
            int hit = atomic_load(&alloc_failed) != failed_before;
            if (hit) fig.injected++;
            if (hit && r < 0) enomem++;
            if ((w == 0 || w == 1 || w == 10) && r >= 0) X->close((int)r);
            int ok = 1;
            if (r < 0 && err != ENOMEM) {
                BAD("%s with allocation %ld failing: -1 %s, want ENOMEM or success", what[w], nth, errno_name(err));
                ok = 0;
            }
            if (r < 0 && !hit) {
                BAD("%s failed (%s) though no allocation failed", what[w], errno_name(err));
                ok = 0;
            }
            /* the objects the operation touched still work */
            if (ok && w >= 2 && w <= 6) {
                struct epoll_event e2 = {.events = EPOLLIN, .data.u64 = 8};
                X->epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
                if (X->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e2) != 0 || X->write(p[1], "z", 1) != 1 ||
                    X->epoll_wait(ep, evs, 4, 1000) < 1) {
                    BAD("%s with allocation %ld failing: the instance no longer works", what[w], nth);
                    ok = 0;
                }
            }
            if (ok && hit && wakeup_check(what[w]) == 0) fig.survived++;
            if (w != 11 && dupfd >= 0) X->close(dupfd);
            X->close(ep), X->close(inner), X->close(efd), close(p[0]), close(p[1]);
            if (!hit) break; /* the operation made fewer than nth allocations: all were tried */
        }
    }
    printf("faults %s: malloc: %ld allocations failed; %ld calls answered ENOMEM, %ld succeeded\n", tname,
           (long)atomic_load(&alloc_failed), enomem, (long)atomic_load(&alloc_failed) - enomem);
}

/* ---- signals ------------------------------------------------------------------------------ */

static int sig_efd;
static _Atomic long sig_writes;
static void on_alarm(int sig)
{
    (void)sig;
    int e = errno;
    if (X->eventfd_write(sig_efd, 1) == 0) atomic_fetch_add(&sig_writes, 1);
    errno = e;
}

static void part_signals(long rounds)
{
    int ep = X->epoll_create1(0), p[2];
    sig_efd = X->eventfd(0, EFD_NONBLOCK);
    if (ep < 0 || sig_efd < 0 || pipe2(p, O_NONBLOCK) != 0) {
        BAD("signals setup: %s", errno_name(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    X->epoll_ctl(ep, EPOLL_CTL_ADD, sig_efd, &ev);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: what may be interrupted shows */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);
    long eintr_wait = 0, bad_eintr = 0, got = 0;
    for (long i = 0; i < rounds; i++) {
        struct epoll_event pv = {.events = (i & 1) ? EPOLLIN : EPOLLIN | EPOLLET, .data.u64 = 2};
        int op = (i % 3 == 0) ? EPOLL_CTL_ADD : (i % 3 == 1) ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
        if (X->epoll_ctl(ep, op, p[0], &pv) != 0 && errno == EINTR) bad_eintr++;
        struct epoll_event evs[4];
        int n = X->epoll_wait(ep, evs, 4, (i % 64 == 0) ? 1 : 0); /* mostly non-blocking: signals land anywhere */
        if (n < 0) {
            if (errno == EINTR) eintr_wait++;
            else BAD("signals: epoll_wait: %s", errno_name(errno));
        }
        uint64_t v;
        ssize_t r = X->read(sig_efd, &v, 8);
        if (r == 8) got += (long)v;
        else if (errno == EINTR) bad_eintr++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN);
    uint64_t v;
    while (X->read(sig_efd, &v, 8) == 8) got += (long)v;
    if (bad_eintr) BAD("signals: %ld ctl or non-blocking reads failed with EINTR", bad_eintr);
    if (got != atomic_load(&sig_writes))
        BAD("signals: the handler wrote %ld, %ld read back", (long)atomic_load(&sig_writes), got);
    fig.injected += atomic_load(&sig_writes); /* a fault: one signal delivered, wherever it landed */
    if (!bad_eintr && got == atomic_load(&sig_writes) && wakeup_check("signals") == 0) fig.survived += atomic_load(&sig_writes);
    printf("faults %s: signals: %ld delivered during %ld rounds of ctl/read/wait, every handler write read back: %s; "
           "%ld waits interrupted (EINTR), no other call\n",
           tname, (long)atomic_load(&sig_writes), rounds, got == atomic_load(&sig_writes) ? "yes" : "NO", eintr_wait);
    X->close(ep), X->close(sig_efd), close(p[0]), close(p[1]);
}

/* ---- fork mid-wait ------------------------------------------------------------------------ */

static int fk_ep, fk_efd;
static void *fk_waiter(void *arg)
{
    struct epoll_event ev[4];
    int n;
    while ((n = X->epoll_wait(fk_ep, ev, 4, -1)) < 0 && errno == EINTR) {
    }
    *(int *)arg = n == 1 && ev[0].data.u64 == 3 ? 1 : -1;
    return NULL;
}

static void part_fork(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        fk_ep = X->epoll_create1(0);
        fk_efd = X->eventfd(0, EFD_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 3};
        X->epoll_ctl(fk_ep, EPOLL_CTL_ADD, fk_efd, &ev);
        int result = 0;
        pthread_t t;
        pthread_create(&t, NULL, fk_waiter, &result);
        if (i % 2) sched_yield(); /* sometimes before the waiter blocks, sometimes after */
        else usleep(200);
        fig.injected++;
        pid_t c = fork();
        if (c == 0) {
            /* the child: anypoll works here (no lock inherited taken), then wakes the parent */
            fig.failures = 0;
            int rc = wakeup_check("fork (child)");
            if (X->eventfd_write(fk_efd, 1) != 0) rc = 1;
            _exit(rc || fig.failures ? 1 : 0);
        }
        int st = -1;
        waitpid(c, &st, 0);
        pthread_join(t, NULL);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) BAD("fork round %d: child failed (status %d)", i, st);
        else if (result != 1) BAD("fork round %d: the parent's waiter got %d", i, result);
        else if (wakeup_check("fork") == 0) fig.survived++;
        X->close(fk_efd), X->close(fk_ep);
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static int run(const char *target, const char *part, long rounds, long out[3])
{
    int pp[2];
    if (pipe(pp) != 0) return 1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(pp[0]);
        alarm(300);
        tname = target;
        if (!strcmp(target, "kernel")) X = &target_kernel;
        else {
            if (anypoll_use_engine(target) != 0) _exit(3);
            X = &target_anypoll;
        }
        base_setup();
        if (!strcmp(part, "emfile")) part_emfile();
        else if (!strcmp(part, "malloc")) part_malloc();
        else if (!strcmp(part, "signals")) part_signals(rounds);
        else part_fork((int)(rounds / 100 + 2));
        long v[3] = {fig.injected, fig.survived, fig.failures};
        fflush(stdout);
        if (write(pp[1], v, sizeof v) != (ssize_t)sizeof v) _exit(4);
        _exit(fig.failures ? 1 : 0);
    }
    close(pp[1]);
    long v[3] = {0, 0, 1};
    ssize_t n = read(pp[0], v, sizeof v);
    close(pp[0]);
    int st;
    waitpid(c, &st, 0);
    if (n != (ssize_t)sizeof v) v[2] = 1;
    memcpy(out, v, sizeof v);
    return !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

int main(int argc, char **argv)
{
    const char *engines = "kernel,native,poll", *only = "emfile,malloc,signals,fork";
    long rounds = 2000;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--engines") && a + 1 < argc) engines = argv[++a];
        else if (!strcmp(argv[a], "--rounds") && a + 1 < argc) rounds = atol(argv[++a]);
        else if (!strcmp(argv[a], "--parts") && a + 1 < argc) only = argv[++a];
        else {
            fprintf(stderr, "usage: %s [--engines kernel,native,poll] [--parts emfile,malloc,signals,fork] "
                            "[--rounds N]\n", argv[0]);
            return 2;
        }
    }
    static const char *const targets[] = {"kernel", "native", "poll"};
    static const char *const parts[] = {"emfile", "malloc", "signals", "fork"};
    int bad = 0;
    for (int t = 0; t < 3; t++) {
        if (!strstr(engines, targets[t])) continue;
        long inj = 0, surv = 0;
        for (int p = 0; p < 4; p++) {
            if (!strstr(only, parts[p])) continue;
            long v[3] = {0, 0, 1};
            int rc = run(targets[t], parts[p], rounds, v);
            printf("faults %s %s: injected %ld, survived %ld%s\n", targets[t], parts[p], v[0], v[1],
                   rc ? " — FAILED" : "");
            inj += v[0], surv += v[1];
            bad |= rc || v[0] != v[1];
        }
        printf("faults %s: faults injected %ld, survived %ld\n", targets[t], inj, surv);
    }
    printf("faults: %s\n", bad ? "FAIL" : "ok");
    return bad;
}
