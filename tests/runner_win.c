/*
 * runner_win.c — conformance.exe, the suite's runner on Windows (where runner.c's fork() does
 * not exist). Windows build of the suite only.
 *
 *   conformance.exe [--target win|auto]... [--expect-engine NAME] [--list] [GLOB...]
 *
 * Each case runs in a child process (this program started again with --run-case NAME), with
 * a watchdog (CONFORMANCE_TIMEOUT seconds, default 15) and a leak check of sockets and
 * anypoll descriptors. Cases that cannot apply on Windows (windows_gaps.c, and the cases of
 * the files mk/windows.mk does not build) are printed as `skip` with the reason and counted as
 * skipped, never as passed. Output and closing line as runner.c's:
 * `N passed, N failed[, N skipped]`; exit 0 iff none failed.
 */
#ifdef _WIN32
#include "runner.h"
#include "windows_gaps.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <io.h>
#include <windows.h>

struct target T;

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

/* In the child the report goes to stdout, which the parent reads through a pipe. */
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
    printf("%s\n", msg);
    fflush(stdout);
    _exit(1);
}

/* ---- leak check: anypoll descriptors and sockets ------------------------------------------ */

#define DESC_SCAN 1024   /* anypoll descriptors 4*i+1 */
#define SOCK_SCAN 16384 /* SOCKET values, multiples of 4 */

static int open_count(char *list, size_t sz)
{
    int saved = errno, n = 0;
    if (list) list[0] = 0;
    for (int i = 1; i < DESC_SCAN; i++)
        if (anypoll_fcntl(4 * i + 1, F_GETFD) != -1) {
            n++;
            if (list && strlen(list) + 16 < sz)
                snprintf(list + strlen(list), sz - strlen(list), " %d", 4 * i + 1);
        }
    for (int s = 4; s < SOCK_SCAN; s += 4) {
        int type, len = sizeof type;
        if (getsockopt((SOCKET)s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0) {
            n++;
            if (list && strlen(list) + 16 < sz)
                snprintf(list + strlen(list), sz - strlen(list), " socket %d", s);
        }
    }
    errno = saved;
    return n;
}

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
    errno = saved;
}

static const char *setup_target(const char *name, const char *expect_engine, char *why, size_t n)
{
    T = target_anypoll;
    T.name = name;
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

/* The child: one case. */
static int run_in_child(const struct test_case *c, const char *target, const char *expect)
{
    char why[300];
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d);
    const char *bad = setup_target(target, expect, why, sizeof why);
    if (bad) {
        printf("%s\n", bad);
        return 1;
    }
    warm_up();
    char before_list[400], after_list[400];
    int before = open_count(before_list, sizeof before_list);
    c->fn();
    int after = open_count(after_list, sizeof after_list);
    if (after != before)
        fail_at(__FILE__, __LINE__, "%d descriptor(s)/socket(s) open before the case, %d after:"
                " before [%s], after [%s]", before, after, before_list, after_list);
    return 0;
}

static int case_timeout_s = 15;

/* The parent: runs case `name` in a child; returns 1 if it passed. */
static int run_case(const char *self, const char *name, const char *target, const char *expect,
                    char *msg, size_t msgsz)
{
    msg[0] = 0;
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd, wr;
    if (!CreatePipe(&rd, &wr, &sa, 1 << 16)) {
        snprintf(msg, msgsz, "%s:%d: CreatePipe failed", __FILE__, __LINE__);
        return 0;
    }
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" --run-case %s --target %s%s%s", self, name, target,
             expect ? " --expect-engine " : "", expect ? expect : "");
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = wr;
    si.hStdError = wr;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    PROCESS_INFORMATION pi;
    BOOL started = FALSE;
    /* Wine under load has been seen to fail a CreateProcess now and then (ERROR_INTERNAL_ERROR) */
    for (int attempt = 0; attempt < 5 && !started; attempt++) {
        if (attempt) Sleep(200);
        started = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    }
    if (!started) {
        CloseHandle(rd);
        CloseHandle(wr);
        snprintf(msg, msgsz, "%s:%d: CreateProcess failed (%lu)", __FILE__, __LINE__,
                 (unsigned long)GetLastError());
        return 0;
    }
    CloseHandle(wr);
    DWORD w = WaitForSingleObject(pi.hProcess, (DWORD)case_timeout_s * 1000);
    int timed_out = w != WAIT_OBJECT_0;
    if (timed_out) TerminateProcess(pi.hProcess, 99);
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 1;
    GetExitCodeProcess(pi.hProcess, &code);
    size_t got = 0;
    DWORD n;
    char buf[512];
    while (ReadFile(rd, buf, sizeof buf, &n, NULL) && n > 0) {
        size_t k = n < msgsz - 1 - got ? n : msgsz - 1 - got;
        memcpy(msg + got, buf, k);
        got += k;
    }
    msg[got] = 0;
    CloseHandle(rd);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    char *nl = strpbrk(msg, "\r\n");
    if (nl) *nl = 0;
    if (timed_out) {
        if (!msg[0])
            snprintf(msg, msgsz, "%s:%d: timed out after %d s (watchdog)", __FILE__, __LINE__,
                     case_timeout_s);
        return 0;
    }
    if (code == 0 && !msg[0]) return 1;
    if (!msg[0])
        snprintf(msg, msgsz, "%s:%d: exited with status %lu without a report", __FILE__, __LINE__,
                 (unsigned long)code);
    return 0;
}

/* fnmatch() with * and ?, enough for case names. */
static int glob(const char *p, const char *s)
{
    if (!*p) return !*s;
    if (*p == '*') return glob(p + 1, s) || (*s && glob(p, s + 1));
    if (*s && (*p == '?' || *p == *s)) return glob(p + 1, s + 1);
    return 0;
}

static int matches(const char *name, char **globs, int nglobs)
{
    if (!nglobs) return 1;
    for (int i = 0; i < nglobs; i++)
        if (glob(globs[i], name)) return 1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: conformance.exe [--target win|auto]... [--expect-engine NAME] [--list] "
               "[GLOB...]\n"
               "  no --target: win\n"
               "  CONFORMANCE_TIMEOUT=<seconds> per-case watchdog (default 15)\n");
}

int main(int argc, char **argv)
{
    const char *targets[16];
    int ntargets = 0, list_only = 0, nglobs = 0;
    const char *expect_engine = NULL, *run_one = NULL;
    char **globs = calloc((size_t)argc + 1, sizeof *globs);
    if (!globs) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--target") && i + 1 < argc) {
            if (ntargets == 16) return 2;
            targets[ntargets++] = argv[++i];
        } else if (!strcmp(a, "--expect-engine") && i + 1 < argc) {
            expect_engine = argv[++i];
        } else if (!strcmp(a, "--run-case") && i + 1 < argc) {
            run_one = argv[++i];
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
    /* "\n", not "\r\n": the output is read by scripts, as on Linux */
    _setmode(_fileno(stdout), _O_BINARY);
    const char *env = getenv("CONFORMANCE_TIMEOUT");
    if (env && atoi(env) > 0) case_timeout_s = atoi(env);
    if (!ntargets) targets[ntargets++] = "win";

    struct test_case **all = calloc((size_t)ncases + 1, sizeof *all);
    if (!all) return 2;
    int n = 0;
    for (struct test_case *c = cases_head; c; c = c->next) all[n++] = c;
    qsort(all, (size_t)n, sizeof *all, by_name);

    if (run_one) {
        for (int i = 0; i < n; i++)
            if (!strcmp(all[i]->name, run_one)) return run_in_child(all[i], targets[0], expect_engine);
        printf("%s:%d: no case %s\n", __FILE__, __LINE__, run_one);
        return 1;
    }

    int sel = 0;
    for (int i = 0; i < n; i++)
        if (matches(all[i]->name, globs, nglobs)) all[sel++] = all[i];
    int noff = 0;
    for (int i = 0; windows_off_cases[i].name; i++)
        if (matches(windows_off_cases[i].name, globs, nglobs)) noff++;
    if (list_only) {
        for (int i = 0; i < sel; i++) printf("%s\n", all[i]->name);
        for (int i = 0; windows_off_cases[i].name; i++)
            if (matches(windows_off_cases[i].name, globs, nglobs))
                printf("%s (not built on Windows)\n", windows_off_cases[i].name);
        return sel + noff ? 0 : 1;
    }
    if (!sel && !noff) {
        fprintf(stderr, "conformance: no case matches\n");
        printf("0 passed, 0 failed\n");
        return 1;
    }
    char self[MAX_PATH];
    GetModuleFileNameA(NULL, self, sizeof self);

    int passed = 0, failed = 0, skipped = 0;
    for (int t = 0; t < ntargets; t++) {
        const char *name = targets[t];
        int tp = 0, tf = 0, ts = 0;
        DWORD t0 = GetTickCount();
        for (int i = 0; i < sel; i++) {
            int limit = 0;
            const char *gap = windows_gap(all[i]->name, &limit);
            if (gap) {
                ts++;
                printf("skip %s %s: %s: %s\n", name, all[i]->name,
                       limit == 2   ? "difference of Wine, not of Windows"
                       : limit == 1 ? "documented difference of the win engine"
                                    : "not applicable on Windows",
                       gap);
                fflush(stdout);
                continue;
            }
            char msg[1024];
            if (run_case(self, all[i]->name, name, expect_engine, msg, sizeof msg)) {
                tp++;
                printf("ok   %s %s\n", name, all[i]->name);
            } else {
                tf++;
                printf("FAIL %s %s: %s\n", name, all[i]->name, msg);
            }
            fflush(stdout);
        }
        for (int i = 0; windows_off_cases[i].name; i++) {
            if (!matches(windows_off_cases[i].name, globs, nglobs)) continue;
            ts++;
            printf("skip %s %s: not applicable on Windows (%s): %s\n", name,
                   windows_off_cases[i].name, windows_off_cases[i].file,
                   windows_file_gap(windows_off_cases[i].file));
        }
        const char *e = anypoll_engine_name();
        printf("target %s: %d passed, %d failed, %d skipped (%.1f s, engine %s)\n", name, tp, tf,
               ts, (double)(GetTickCount() - t0) / 1000.0, e ? e : "none");
        fflush(stdout);
        passed += tp, failed += tf, skipped += ts;
    }
    if (skipped) printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("%d passed, %d failed\n", passed, failed);
    free(all);
    free(globs);
    return failed ? 1 : 0;
}
#endif
