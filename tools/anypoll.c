/*
 * anypoll.c — the `anypoll` command: `probe` (which engine, and does it work), `nosys` (run a
 * command on a host without epoll), `run` (run.c: a command with the drop-in preloaded) and
 * help. Portable: uses only anypoll.h and POSIX; the Linux-only part of nosys lives in
 * nosys_linux.c.
 */
#include "anypoll.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOSYS_SETUP = 125, EXIT_NOEXEC = 127 };

static const char usage_main[] =
    "usage: anypoll COMMAND [OPTIONS]\n"
    "\n"
    "Inspect and exercise anypoll, the Linux epoll/eventfd API on any host with the engine\n"
    "chosen at run time (\"native\": the kernel's own epoll; \"poll\": an emulation on poll()).\n"
    "\n"
    "commands:\n"
    "  probe [--engine NAME]     print the host, the engine anypoll uses here, and the result\n"
    "                            of a short self-check run through the anypoll_* API\n"
    "  nosys [--keep-epoll] [--keep-eventfd] [--keep-timerfd] [--keep-signalfd] -- CMD [ARGS...]\n"
    "                            run CMD on \"a host without epoll\": the kernel refuses the\n"
    "                            epoll, eventfd, timerfd and signalfd system calls with ENOSYS\n"
    "                            (Linux only)\n"
    "  run [--engine NAME] [--nosys] -- CMD [ARGS...]\n"
    "                            run an unmodified CMD with the drop-in libanypoll.so\n"
    "                            preloaded; --nosys: on \"a host without epoll\"\n"
    "  help [COMMAND]            this text, or the help of COMMAND (same as COMMAND --help)\n"
    "\n"
    "environment:\n"
    "  ANYPOLL_ENGINE=NAME       force engine NAME (native, poll) instead of the automatic\n"
    "                            choice; an unknown or unusable name makes every call fail\n"
    "  ANYPOLL_REPORT=FILE       append `anypoll: pid N engine E host H` to FILE when a\n"
    "                            process first chooses its engine\n"
    "\n"
    "exit status: that of the command (see anypoll COMMAND --help); 2 for a usage error.\n";

static const char usage_probe[] =
    "usage: anypoll probe [--engine NAME]\n"
    "\n"
    "Prints three lines:\n"
    "  host: <the host anypoll detects, e.g. linux>\n"
    "  engine: <the engine anypoll uses here, or \"none (why)\">\n"
    "  self-check: pass | FAIL (<what went wrong>)\n"
    "The self-check runs on that engine through the anypoll_* API: an eventfd registered\n"
    "EPOLLIN|EPOLLET gets exactly one event per write (also without being read) with its data\n"
    "intact and none in between; a socketpair registered EPOLLIN reports data; DEL and errors\n"
    "(EEXIST, ENOENT) behave as on Linux; every fd closes cleanly.\n"
    "\n"
    "options:\n"
    "  --engine NAME   use engine NAME (anypoll_use_engine) instead of the automatic choice\n"
    "\n"
    "environment:\n"
    "  ANYPOLL_ENGINE=NAME   force the engine (as --engine, which takes precedence)\n"
    "\n"
    "exit status: 0 the self-check passed; 1 it failed or no engine is usable; 2 usage error.\n";

static const char usage_nosys[] =
    "usage: anypoll nosys [--keep-epoll] [--keep-eventfd] [--keep-timerfd] [--keep-signalfd]\n"
    "                     [--] CMD [ARGS...]\n"
    "\n"
    "Runs CMD (found through PATH) on \"a host without epoll\": a seccomp-BPF filter, inherited\n"
    "by CMD and all its children, makes the kernel refuse epoll_create, epoll_create1,\n"
    "epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2, eventfd, eventfd2, timerfd_create,\n"
    "timerfd_settime, timerfd_gettime, signalfd and signalfd4 with ENOSYS, for\n"
    "every ABI of this machine (x86_64, x32 and i386; or arm64 and 32-bit ARM). anypoll then\n"
    "finds its native engine unusable and has to emulate. Linux only; needs no privileges.\n"
    "\n"
    "options:\n"
    "  --keep-epoll     leave the epoll system calls alone\n"
    "  --keep-eventfd   leave the eventfd system calls alone\n"
    "  --keep-timerfd   leave the timerfd system calls alone\n"
    "  --keep-signalfd  leave the signalfd system calls alone\n"
    "\n"
    "environment:\n"
    "  ANYPOLL_ENGINE   passed on to CMD untouched (it forces CMD's anypoll engine)\n"
    "\n"
    "exit status: CMD's; 127 if CMD cannot be run; 125 if the filter cannot be installed\n"
    "(e.g. under qemu-user); 2 for a usage error or a host other than Linux x86_64/aarch64.\n";

/* --- probe ------------------------------------------------------------------------------- */

static char why[256];

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, sizeof why, __VA_ARGS__);                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Returns NULL when every check passed, otherwise what failed. Closes whatever it opened. */
static const char *self_check(void)
{
    int ep = -1, ev = -1, sp[2] = {-1, -1}, n;
    struct epoll_event in, out[4];
    eventfd_t value;
    const uint64_t tag = 0x0123456789abcdefULL;
    why[0] = 0;

    ep = anypoll_epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0, "epoll_create1: %s", strerror(errno));
    ev = anypoll_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(ev >= 0, "eventfd: %s", strerror(errno));
    in = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data = {.u64 = tag}};
    CHECK(anypoll_epoll_ctl(ep, EPOLL_CTL_ADD, ev, &in) == 0, "ADD eventfd: %s", strerror(errno));
    n = anypoll_epoll_wait(ep, out, 4, 0);
    CHECK(n == 0, "idle eventfd: wait returned %d, expected 0", n);

    CHECK(anypoll_eventfd_write(ev, 1) == 0, "eventfd_write: %s", strerror(errno));
    n = anypoll_epoll_wait(ep, out, 4, 1000);
    CHECK(n == 1, "eventfd written: wait returned %d, expected 1", n);
    CHECK(out[0].events == EPOLLIN && out[0].data.u64 == tag,
          "eventfd written: got events 0x%x data 0x%llx", (unsigned)out[0].events,
          (unsigned long long)out[0].data.u64);
    n = anypoll_epoll_wait(ep, out, 4, 0);
    CHECK(n == 0, "EPOLLET: second wait returned %d, expected 0", n);
    CHECK(anypoll_eventfd_write(ev, 2) == 0, "eventfd_write: %s", strerror(errno));
    n = anypoll_epoll_wait(ep, out, 4, 1000);
    CHECK(n == 1 && out[0].data.u64 == tag, "EPOLLET: unread eventfd written again: wait "
                                            "returned %d, expected 1 event", n);
    CHECK(anypoll_eventfd_read(ev, &value) == 0 && value == 3, "eventfd_read: expected 3");
    CHECK(anypoll_read(ev, &value, sizeof value) == -1 && errno == EAGAIN,
          "empty eventfd read: expected EAGAIN");

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair: %s", strerror(errno));
    in = (struct epoll_event){.events = EPOLLIN, .data = {.fd = sp[0]}};
    CHECK(anypoll_epoll_ctl(ep, EPOLL_CTL_ADD, sp[0], &in) == 0, "ADD socket: %s", strerror(errno));
    CHECK(anypoll_epoll_ctl(ep, EPOLL_CTL_ADD, sp[0], &in) == -1 && errno == EEXIST,
          "ADD twice: expected EEXIST");
    n = anypoll_epoll_wait(ep, out, 4, 0);
    CHECK(n == 0, "idle socket: wait returned %d, expected 0", n);
    CHECK(anypoll_write(sp[1], "x", 1) == 1, "socket write: %s", strerror(errno));
    n = anypoll_epoll_wait(ep, out, 4, 1000);
    CHECK(n == 1 && out[0].events == EPOLLIN && out[0].data.fd == sp[0],
          "socket with data: wait returned %d (events 0x%x), expected 1 EPOLLIN", n,
          n > 0 ? (unsigned)out[0].events : 0u);
    char c = 0;
    CHECK(anypoll_read(sp[0], &c, 1) == 1 && c == 'x', "socket read");

    CHECK(anypoll_epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL) == 0, "DEL eventfd: %s", strerror(errno));
    CHECK(anypoll_epoll_ctl(ep, EPOLL_CTL_MOD, ev, &in) == -1 && errno == ENOENT,
          "MOD after DEL: expected ENOENT");
    CHECK(anypoll_eventfd_write(ev, 1) == 0, "eventfd_write: %s", strerror(errno));
    n = anypoll_epoll_wait(ep, out, 4, 0);
    CHECK(n == 0, "after DEL: wait returned %d, expected 0", n);

out:;
    int fds[] = {sp[1], sp[0], ev, ep};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fds[i] < 0) continue;
        if (anypoll_close(fds[i]) != 0) {
            if (!why[0]) snprintf(why, sizeof why, "close: %s", strerror(errno));
        } else if (anypoll_fcntl(fds[i], F_GETFD, 0) != -1 || errno != EBADF) {
            if (!why[0]) snprintf(why, sizeof why, "fd %d still open after close", fds[i]);
        }
    }
    return why[0] ? why : NULL;
}

static int known_engine(const char *name)
{
    for (const char *const *p = anypoll_engine_names(); *p; p++)
        if (!strcmp(*p, name)) return 1;
    return 0;
}

static int cmd_probe(int argc, char **argv)
{
    const char *want = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_probe, stdout);
            return EXIT_PASS;
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            want = argv[++i];
        } else if (!strncmp(argv[i], "--engine=", 9)) {
            want = argv[i] + 9;
        } else {
            fprintf(stderr, "anypoll probe: unexpected argument '%s'\n\n%s", argv[i], usage_probe);
            return EXIT_USAGE;
        }
    }
    if (want && !known_engine(want)) {
        fprintf(stderr, "anypoll probe: --engine %s: no such engine (this build has:", want);
        for (const char *const *p = anypoll_engine_names(); *p; p++) fprintf(stderr, " %s", *p);
        fprintf(stderr, ")\n");
        return EXIT_USAGE;
    }

    printf("host: %s\n", anypoll_host_name());
    const char *engine = NULL;
    if (want) {
        if (anypoll_use_engine(want) == 0) engine = anypoll_engine_name();
        else printf("engine: none (%s: %s)\n", want,
                    errno == ENOSYS ? "not usable on this host" : strerror(errno));
    } else {
        engine = anypoll_engine_name();
        if (!engine) {
            const char *forced = getenv("ANYPOLL_ENGINE");
            if (forced && *forced)
                printf("engine: none (ANYPOLL_ENGINE=%s: %s)\n", forced,
                       errno == ENOSYS ? "not usable on this host" : "no such engine");
            else
                printf("engine: none (no engine is usable on this host)\n");
        }
    }
    if (!engine) {
        printf("self-check: FAIL (no engine)\n");
        return EXIT_FAILED;
    }
    printf("engine: %s\n", engine);
    fflush(stdout);
    const char *failed = self_check();
    if (failed) {
        printf("self-check: FAIL (%s)\n", failed);
        return EXIT_FAILED;
    }
    printf("self-check: pass\n");
    return EXIT_PASS;
}

/* --- nosys ------------------------------------------------------------------------------- */

static int cmd_nosys(int argc, char **argv)
{
    int keep_epoll = 0, keep_eventfd = 0, keep_timerfd = 0, keep_signalfd = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_nosys, stdout);
            return EXIT_PASS;
        } else if (!strcmp(argv[i], "--keep-epoll")) {
            keep_epoll = 1;
        } else if (!strcmp(argv[i], "--keep-eventfd")) {
            keep_eventfd = 1;
        } else if (!strcmp(argv[i], "--keep-timerfd")) {
            keep_timerfd = 1;
        } else if (!strcmp(argv[i], "--keep-signalfd")) {
            keep_signalfd = 1;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "anypoll nosys: unknown option '%s'\n\n%s", argv[i], usage_nosys);
            return EXIT_USAGE;
        } else {
            break;
        }
    }
    if (!ap_nosys_supported()) {
        fprintf(stderr, "anypoll nosys: only available on Linux (x86_64, aarch64); this host is "
                        "%s\n", anypoll_host_name());
        return EXIT_USAGE;
    }
    if (i >= argc) {
        fprintf(stderr, "anypoll nosys: no command given\n\n%s", usage_nosys);
        return EXIT_USAGE;
    }
    ap_nosys_keep_timers(keep_timerfd, keep_signalfd);
    if (ap_nosys_install(keep_epoll, keep_eventfd) != 0) {
        fprintf(stderr, "anypoll nosys: cannot install the seccomp filter: %s%s\n",
                strerror(errno),
                errno == EINVAL ? " (seccomp filters are not available here, e.g. under "
                                  "qemu-user or a kernel without CONFIG_SECCOMP_FILTER)" : "");
        return EXIT_NOSYS_SETUP;
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "anypoll nosys: cannot run '%s': %s\n", argv[i], strerror(errno));
    return EXIT_NOEXEC;
}

static const char *argv0 = "anypoll";
static int cmd_run(int argc, char **argv) { return ap_cmd_run(argc, argv, argv0); }

/* --- main -------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *usage;
} commands[] = {
    {"probe", cmd_probe, usage_probe},
    {"nosys", cmd_nosys, usage_nosys},
    {"run", cmd_run, ap_usage_run},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int is_help(const char *s)
{
    return !strcmp(s, "help") || !strcmp(s, "--help") || !strcmp(s, "-h");
}

int main(int argc, char **argv)
{
    argv0 = argv[0];
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        if (argc == 2) {
            fputs(usage_main, stdout);
            return EXIT_PASS;
        }
        for (unsigned c = 0; c < NCOMMANDS; c++)
            if (!strcmp(argv[2], commands[c].name)) {
                fputs(commands[c].usage, stdout);
                return EXIT_PASS;
            }
        fprintf(stderr, "anypoll help: unknown command '%s'\n\n%s", argv[2], usage_main);
        return EXIT_USAGE;
    }
    for (unsigned c = 0; c < NCOMMANDS; c++)
        if (!strcmp(argv[1], commands[c].name)) return commands[c].run(argc - 1, argv + 1);
    fprintf(stderr, "anypoll: unknown command '%s'\n\n%s", argv[1], usage_main);
    return EXIT_USAGE;
}
