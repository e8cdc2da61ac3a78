/*
 * runner.c — build/conformance: lists the registered cases and runs them against targets.
 *
 *   build/conformance [--target kernel|native|poll|poll-posix|auto]... [--expect-engine NAME] [--list]
 *                     [GLOB...]
 *
 * No --target: kernel, native and poll. poll-posix: the poll engine with only the plain-POSIX host
 * aids (ANYPOLL_HOST_AIDS=posix; cases marked TEST_AIDS_GAP are listed as skip there). Each target runs in its own fork()ed process (no exec,
 * so it works under qemu-user); inside it each case runs in its own fork()ed process, in its own
 * process group, with a watchdog (CONFORMANCE_TIMEOUT seconds, default 15) and an exact fd-leak
 * check. Output: `ok   <target> <case>` or `FAIL <target> <case>: file:line: msg` per case, a
 * per-target summary, and the closing line `N passed, N failed` (`, N skipped` when cases marked
 * TEST_EMULATION_GAP were listed instead of run on an emulation engine). Exit 0 iff none failed.
 */
#include "runner.h"
#include "cosmo_gaps.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct target T;

/* ---- registration ------------------------------------------------------------------------ */

static struct test_case *cases_head;
static int ncases;

void register_case(struct test_case *c)
{
    c->next = cases_head;
    cases_head = c;
    ncases++;
}

static int by_name(const void *a, const void *b)
{
    const struct test_case *x = *(const struct test_case *const *)a;
    const struct test_case *y = *(const struct test_case *const *)b;
    return strcmp(x->name, y->name);
}

/* ---- failure reporting ------------------------------------------------------------------- */

static int result_fd = -1; /* the running case's report pipe (inherited by its children) */

void fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    size_t len = strlen(msg);
    if (len + 1 < sizeof msg) msg[len++] = '\n';
    if (result_fd >= 0) {
        ssize_t w = write(result_fd, msg, len); /* one write: the first report stays whole */
        (void)w;
    } else {
        fputs(msg, stderr);
    }
    _exit(1);
}

/* ---- fd-leak check ----------------------------------------------------------------------- */

#define FD_SCAN 1024

static void open_fds(unsigned char set[FD_SCAN])
{
    int saved = errno;
    for (int fd = 0; fd < FD_SCAN; fd++) set[fd] = fcntl(fd, F_GETFD) != -1;
    errno = saved;
}

static void check_leaks(const unsigned char before[FD_SCAN])
{
    unsigned char after[FD_SCAN];
    open_fds(after);
    char leaked[400] = "", gone[400] = "";
    int nl = 0, ng = 0;
    for (int fd = 0; fd < FD_SCAN; fd++) {
        if (after[fd] && !before[fd] && strlen(leaked) < sizeof leaked - 16)
            nl++, snprintf(leaked + strlen(leaked), sizeof leaked - strlen(leaked), " %d", fd);
        if (!after[fd] && before[fd] && strlen(gone) < sizeof gone - 16)
            ng++, snprintf(gone + strlen(gone), sizeof gone - strlen(gone), " %d", fd);
    }
    if (nl) fail_at(__FILE__, __LINE__, "fd leak: %d fd(s) left open:%s", nl, leaked);
    if (ng) fail_at(__FILE__, __LINE__, "%d fd(s) open before the case were closed by it:%s", ng, gone);
}

/* Whatever an engine opens once per process (internal wake-up fds...) is opened here, before
 * the case's baseline is taken, so that only per-case leaks are reported. */
static void warm_up(void)
{
    int saved = errno;
    int ep = T.epoll_create1(0);
    int efd = T.eventfd(0, EFD_NONBLOCK);
    if (ep >= 0 && efd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
        struct epoll_event out[1];
        uint64_t one = 1;
        T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
        (void)T.write(efd, &one, sizeof one);
        (void)T.epoll_wait(ep, out, 1, 0);
        (void)T.read(efd, &one, sizeof one);
        T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
    }
    if (efd >= 0) T.close(efd);
    if (ep >= 0) T.close(ep);
    /* an emulation's timerfd/signalfd helper thread keeps its wake-up pair for the process */
    int tfd = T.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (tfd >= 0) T.close(tfd);
    sigset_t none;
    sigemptyset(&none);
    int sfd = T.signalfd(-1, &none, SFD_NONBLOCK);
    if (sfd >= 0) T.close(sfd);
    errno = saved;
}

/* Under TSan: no second of sleep at the exit of every case process. TSan sleeps so when other
 * threads are alive at exit, and an emulation's timerfd helper thread (started by warm_up)
 * always is. Unused in other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "atexit_sleep_ms=0"; }

/* ---- running ----------------------------------------------------------------------------- */

static int case_timeout_s = 15;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#ifdef __COSMOPOLITAN__
#include <pthread.h>
#include <signal.h>

/* Cosmopolitan 2.2's fork() leaves the forking thread's pthread_t with the parent's thread id
 * (its _pthread_main.tid is not updated in the child): a pthread_kill() of the case's own thread,
 * by itself or by a helper, signals a thread of another process or fails with ESRCH, and the
 * case's handler never runs. So in an APE the case runs on a thread created in the forked
 * process, whose id is right; the forked thread blocks every signal while it waits, so a signal
 * sent to the process reaches the case's threads as it would in a normal build. */
struct case_start {
    void (*fn)(void);
    sigset_t mask; /* the forked thread's own, which the case starts with */
};

static void *case_thread(void *arg)
{
    struct case_start *cs = arg;
    pthread_sigmask(SIG_SETMASK, &cs->mask, NULL);
    cs->fn();
    return NULL;
}

static void call_case(void (*fn)(void))
{
    struct case_start cs = {.fn = fn};
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &cs.mask); /* the thread starts with every signal blocked */
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)8 << 20); /* a main thread's stack */
    pthread_t th;
    int e = pthread_create(&th, &a, case_thread, &cs);
    pthread_attr_destroy(&a);
    if (e != 0) {
        pthread_sigmask(SIG_SETMASK, &cs.mask, NULL);
        fn(); /* no thread: the case runs as it would have before */
        return;
    }
    pthread_join(th, NULL);
    pthread_sigmask(SIG_SETMASK, &cs.mask, NULL);
}
#else
static void call_case(void (*fn)(void)) { fn(); }
#endif

/* Runs one case in a child; returns 1 if it passed. msg receives the failure text. */
static int run_case(const struct test_case *c, char *msg, size_t msgsz)
{
    int p[2];
    msg[0] = 0;
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(msg, msgsz, "%s:%d: pipe2: %s", __FILE__, __LINE__, errno_name(errno));
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, msgsz, "%s:%d: fork: %s", __FILE__, __LINE__, errno_name(errno));
        close(p[0]);
        close(p[1]);
        return 0;
    }
    if (pid == 0) {
        setpgid(0, 0);
        close(p[0]);
        /* keep the report pipe out of the way of the numbers cases use */
        result_fd = fcntl(p[1], F_DUPFD_CLOEXEC, 900);
        if (result_fd < 0) result_fd = p[1];
        else close(p[1]);
        signal(SIGPIPE, SIG_IGN);
        /* backstop for a case orphaned by a killed runner (it has its own process group) */
        alarm((unsigned)case_timeout_s + 10);
        warm_up();
        unsigned char before[FD_SCAN];
        open_fds(before);
        call_case(c->fn);
        check_leaks(before);
        _exit(0);
    }
    setpgid(pid, pid); /* also from here, so the group exists before any kill */
    close(p[1]);
    size_t got = 0;
    int64_t deadline = mono_ms() + (int64_t)case_timeout_s * 1000;
    int timed_out = 0, eof = 0;
    while (!eof) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[512];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof = 1;
            break;
        }
        size_t k = (size_t)n < msgsz - 1 - got ? (size_t)n : msgsz - 1 - got;
        memcpy(msg + got, buf, k);
        got += k;
        msg[got] = 0;
    }
    close(p[0]);
    char *nl = strchr(msg, '\n');
    if (nl) *nl = 0;
    int status = 0;
    if (timed_out) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        kill(-pid, SIGKILL);
        if (w == 0) waitpid(pid, &status, 0);
        if (!msg[0]) {
            if (w == pid)
                snprintf(msg, msgsz, "%s:%d: the case returned but a process it started was "
                         "still running after %d s", __FILE__, __LINE__, case_timeout_s);
            else
                snprintf(msg, msgsz, "%s:%d: timed out after %d s (watchdog)", __FILE__, __LINE__,
                         case_timeout_s);
        }
        return 0;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (msg[0]) return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
    if (WIFSIGNALED(status))
        snprintf(msg, msgsz, "%s:%d: killed by signal %d (%s)", __FILE__, __LINE__,
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(msg, msgsz, "%s:%d: exited with status %d without a report", __FILE__, __LINE__,
                 WEXITSTATUS(status));
    return 0;
}

static int matches(const char *name, char **globs, int nglobs)
{
    if (!nglobs) return 1;
    for (int i = 0; i < nglobs; i++)
        if (fnmatch(globs[i], name, 0) == 0) return 1;
    return 0;
}

/* Sets up target `name` in this (target) process; returns NULL or why it cannot run. */
static const char *setup_target(const char *name, const char *expect_engine, char *why, size_t n)
{
    if (!strcmp(name, "kernel")) {
        T = target_kernel;
        if (!T.epoll_create) {
            snprintf(why, n, "%s:%d: this host has no kernel epoll", __FILE__, __LINE__);
            return why;
        }
        return NULL;
    }
    T = target_anypoll;
    T.name = name;
    if (!strcmp(name, "poll-posix")) { /* the poll engine with only the plain-POSIX host aids */
        setenv("ANYPOLL_HOST_AIDS", "posix", 1);
        name = "poll";
    }
    if (!strcmp(name, "auto")) {
        if (!expect_engine) return NULL;
        const char *got = anypoll_engine_name();
        if (!got || strcmp(got, expect_engine)) {
            snprintf(why, n, "%s:%d: --expect-engine %s: anypoll chose %s", __FILE__, __LINE__,
                     expect_engine, got ? got : "no engine");
            return why;
        }
        return NULL;
    }
    if (anypoll_use_engine(name) != 0) {
        snprintf(why, n, "%s:%d: anypoll_use_engine(\"%s\") = -1 %s", __FILE__, __LINE__, name,
                 errno_name(errno));
        return why;
    }
    return NULL;
}

/* The target process: runs every selected case, prints the lines, reports the counts. */
static void run_target(const char *name, const char *expect_engine, struct test_case **list,
                       int n, int countfd)
{
    char why[300];
    const char *bad = setup_target(name, expect_engine, why, sizeof why);
    int passed = 0, failed = 0, skipped = 0;
    int64_t t0 = mono_ms();
    const char *engine_in_use = bad || !strcmp(name, "kernel") ? NULL : anypoll_engine_name();
    int emulated = engine_in_use && strcmp(engine_in_use, "native");
    const char *aids = getenv("ANYPOLL_HOST_AIDS");
    int posix_aids = aids && !strcmp(aids, "posix");
#if defined(__COSMOPOLITAN__)
    posix_aids = 1; /* an APE has only the plain-POSIX host aids (src/host/aids.h) */
#endif
    int plain_posix = engine_in_use && !strcmp(engine_in_use, "poll") && posix_aids;
    for (int i = 0; i < n; i++) {
        char msg[1024];
        int ok;
        if (!bad && emulated && list[i]->emulation_gap) {
            skipped++;
            printf("skip %s %s: documented difference of the %s engine: %s\n", name,
                   list[i]->name, engine_in_use, list[i]->emulation_gap);
            fflush(stdout);
            continue;
        }
#if defined(__COSMOPOLITAN__)
        const char *cosmo_gap = cosmo_windows_gap(list[i]->name);
        if (cosmo_gap) {
            skipped++;
            printf("skip %s %s: Cosmopolitan 2.2 on Windows: %s\n", name, list[i]->name,
                   cosmo_gap);
            fflush(stdout);
            continue;
        }
#endif
        if (!bad && plain_posix && list[i]->aids_gap) {
            skipped++;
            printf("skip %s %s: documented gap of the poll engine without host aids (plain "
                   "POSIX): %s\n", name, list[i]->name, list[i]->aids_gap);
            fflush(stdout);
            continue;
        }
        if (bad) {
            snprintf(msg, sizeof msg, "%s", bad);
            ok = 0;
        } else {
            ok = run_case(list[i], msg, sizeof msg);
        }
        if (ok) {
            passed++;
            printf("ok   %s %s\n", name, list[i]->name);
        } else {
            failed++;
            printf("FAIL %s %s: %s\n", name, list[i]->name, msg);
        }
        fflush(stdout);
    }
    char engine[64] = "";
    if (!bad && strcmp(name, "kernel")) {
        const char *e = anypoll_engine_name();
        snprintf(engine, sizeof engine, ", engine %s", e ? e : "none");
    }
    printf("target %s: %d passed, %d failed, %d skipped (%.1f s%s)\n", name, passed, failed,
           skipped, (double)(mono_ms() - t0) / 1000.0, engine);
    fflush(stdout);
    int counts[3] = {passed, failed, skipped};
    if (write(countfd, counts, sizeof counts) != (ssize_t)sizeof counts) _exit(3);
    _exit(failed ? 1 : 0);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: conformance [--target kernel|native|poll|poll-posix|auto]... [--expect-engine NAME] "
               "[--list] [GLOB...]\n"
               "  no --target: kernel, native and poll\n"
               "  CONFORMANCE_TIMEOUT=<seconds> per-case watchdog (default 15)\n");
}

int main(int argc, char **argv)
{
    const char *targets[16];
    int ntargets = 0, list_only = 0, nglobs = 0;
    const char *expect_engine = NULL;
    char **globs = calloc((size_t)argc + 1, sizeof *globs);
    if (!globs) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--target") && i + 1 < argc) {
            const char *t = argv[++i];
            if (strcmp(t, "kernel") && strcmp(t, "native") && strcmp(t, "poll") &&
                strcmp(t, "poll-posix") && strcmp(t, "auto")) {
                fprintf(stderr, "conformance: unknown target '%s'\n", t);
                usage(stderr);
                return 2;
            }
            if (ntargets == 16) return 2;
            targets[ntargets++] = t;
        } else if (!strncmp(a, "--target=", 9)) {
            fprintf(stderr, "conformance: write --target NAME\n");
            return 2;
        } else if (!strcmp(a, "--expect-engine") && i + 1 < argc) {
            expect_engine = argv[++i];
        } else if (!strcmp(a, "--list")) {
            list_only = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "conformance: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            globs[nglobs++] = argv[i];
        }
    }
    const char *env = getenv("CONFORMANCE_TIMEOUT");
    if (env && atoi(env) > 0) case_timeout_s = atoi(env);

    struct test_case **all = calloc((size_t)ncases + 1, sizeof *all);
    if (!all) return 2;
    int n = 0;
    for (struct test_case *c = cases_head; c; c = c->next) all[n++] = c;
    qsort(all, (size_t)n, sizeof *all, by_name);
    for (int i = 1; i < n; i++)
        if (!strcmp(all[i - 1]->name, all[i]->name)) {
            fprintf(stderr, "conformance: case %s is defined twice (%s, %s)\n", all[i]->name,
                    all[i - 1]->file, all[i]->file);
            return 2;
        }
    int sel = 0;
    for (int i = 0; i < n; i++)
        if (matches(all[i]->name, globs, nglobs)) all[sel++] = all[i];
    if (list_only) {
        for (int i = 0; i < sel; i++) printf("%s\n", all[i]->name);
        return sel ? 0 : 1;
    }
    if (!sel) {
        fprintf(stderr, "conformance: no case matches\n");
        printf("0 passed, 0 failed\n");
        return 1;
    }
    if (!ntargets) {
        targets[ntargets++] = "kernel";
        targets[ntargets++] = "native";
        targets[ntargets++] = "poll";
    }

    int passed = 0, failed = 0, skipped = 0;
    for (int t = 0; t < ntargets; t++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) return 2;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) {
            close(p[0]);
            /* out of the way of the numbers the cases use (they inherit it) */
            int countfd = fcntl(p[1], F_DUPFD_CLOEXEC, 950);
            if (countfd >= 0) close(p[1]);
            else countfd = p[1];
            run_target(targets[t], expect_engine, all, sel, countfd);
        }
        close(p[1]);
        int counts[3];
        ssize_t r;
        do r = read(p[0], counts, sizeof counts);
        while (r < 0 && errno == EINTR);
        close(p[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (r == (ssize_t)sizeof counts) {
            passed += counts[0];
            failed += counts[1];
            skipped += counts[2];
        } else {
            printf("FAIL %s <runner>: %s:%d: the target process died (%s %d)\n", targets[t],
                   __FILE__, __LINE__, WIFSIGNALED(status) ? "signal" : "status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            failed++;
        }
    }
    if (skipped) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("%d passed, %d failed\n", passed, failed);
    free(all);
    free(globs);
    return failed ? 1 : 0;
}
