/*
 * run.c — `anypoll run`: run an unmodified program with the drop-in (libanypoll.so) preloaded,
 * optionally on "a host without epoll" (--nosys) or with a given engine (--engine).
 *
 * Room: the anypoll command (see anypoll.c). Portable C and POSIX; the only Linux-specific
 * pieces are reached through tool.h (the seccomp filter) and /proc/self/exe, which is merely
 * the first place looked at when finding the library.
 */
#include "anypoll.h"
#include "tool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/utsname.h> /* POSIX; where the library may be (find_library) */
#endif

enum { EXIT_USAGE = 2, EXIT_SETUP = 125, EXIT_NOEXEC = 127 };

const char ap_usage_run[] =
    "usage: anypoll run [--engine NAME] [--nosys] [--] CMD [ARGS...]\n"
    "\n"
    "Runs CMD (found through PATH) with the drop-in build of anypoll preloaded (LD_PRELOAD):\n"
    "its calls to epoll_*, eventfd*, read, write, close, dup*, fcntl, poll, select, the socket\n"
    "I/O calls and syscall() reach anypoll, which serves them with the engine it chooses (the\n"
    "kernel's own epoll where it works, the poll emulation otherwise). CMD is not modified.\n"
    "Static binaries and programs that make raw system calls (Go) cannot be reached.\n"
    "\n"
    "options:\n"
    "  --engine NAME   force engine NAME (native, poll): sets ANYPOLL_ENGINE for CMD\n"
    "  --nosys         run CMD on \"a host without epoll\" as well: the kernel refuses the\n"
    "                  epoll and eventfd system calls (same as\n"
    "                  `anypoll nosys -- anypoll run -- CMD`; Linux x86_64/aarch64 only)\n"
    "\n"
    "The library is libanypoll.so beside this command (build tree), or libanypoll.so or\n"
    "libanypoll.so.0 in ../lib or ../lib/<machine>-linux-gnu (installed);\n"
    "ANYPOLL_LIBRARY=PATH names it explicitly. An LD_PRELOAD already set is kept, after it.\n"
    "\n"
    "environment:\n"
    "  ANYPOLL_ENGINE=NAME   force the engine (--engine takes precedence)\n"
    "  ANYPOLL_REPORT=FILE   the library appends `anypoll: pid N engine E host H` to FILE when\n"
    "                        a process first chooses its engine\n"
    "  ANYPOLL_LIBRARY=PATH  the drop-in library to preload\n"
    "\n"
    "exit status: CMD's; 127 if CMD cannot be run; 125 if libanypoll.so is not found or the\n"
    "--nosys filter cannot be installed; 2 for a usage error.\n";

#ifdef _WIN32
/* No preloading on Windows (no LD_PRELOAD, no exec): programs link libanypoll.a. */
int ap_cmd_run(int argc, char **argv, const char *argv0)
{
    (void)argc, (void)argv, (void)argv0;
    fprintf(stderr, "anypoll run: not available on Windows (there is no LD_PRELOAD; link "
                    "libanypoll.a instead)\n");
    return EXIT_USAGE;
}
#else
static int usable_file(const char *p) { return access(p, R_OK) == 0; }

/* The directory this command lives in, into dir (no trailing slash). 0, or -1. */
static int own_dir(const char *argv0, char *dir, size_t size)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = 0;
    } else if (strchr(argv0, '/')) {
        if (!realpath(argv0, path)) return -1;
    } else { /* found through PATH */
        const char *p = getenv("PATH");
        int found = 0;
        while (p && *p && !found) {
            size_t len = strcspn(p, ":");
            char cand[PATH_MAX];
            snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, argv0);
            if (access(cand, X_OK) == 0 && realpath(cand, path)) found = 1;
            p += len + (p[len] == ':');
        }
        if (!found) return -1;
    }
    char *slash = strrchr(path, '/');
    if (!slash) return -1;
    *slash = 0;
    snprintf(dir, size, "%s", path);
    return 0;
}

static const char *find_library(const char *argv0)
{
    static char lib[PATH_MAX + 32];
    const char *forced = getenv("ANYPOLL_LIBRARY");
    if (forced && *forced) {
        if (!realpath(forced, lib)) return NULL;
        return lib;
    }
    char dir[PATH_MAX];
    if (own_dir(argv0, dir, sizeof dir) < 0) return NULL;
    /* a build tree; make install's lib/ (with or without the -lanypoll link); a Debian-style
     * multiarch lib/<machine>-linux-gnu/ holding only the runtime package's libanypoll.so.0 */
    struct utsname u;
    const char *machine = uname(&u) == 0 ? u.machine : "unknown";
    const char *rel[] = {"/libanypoll.so", "/../lib/libanypoll.so", "/../lib/libanypoll.so.0",
                         "/../lib/%s-linux-gnu/libanypoll.so.0"};
    for (unsigned i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char tail[64], cand[PATH_MAX + 128];
        snprintf(tail, sizeof tail, rel[i], machine);
        snprintf(cand, sizeof cand, "%s%s", dir, tail);
        if (usable_file(cand) && realpath(cand, lib)) return lib;
    }
    return NULL;
}

int ap_cmd_run(int argc, char **argv, const char *argv0)
{
    const char *engine = NULL;
    int nosys = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(ap_usage_run, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            engine = argv[++i];
        } else if (!strncmp(argv[i], "--engine=", 9)) {
            engine = argv[i] + 9;
        } else if (!strcmp(argv[i], "--nosys")) {
            nosys = 1;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "anypoll run: unknown option '%s'\n\n%s", argv[i], ap_usage_run);
            return EXIT_USAGE;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "anypoll run: no command given\n\n%s", ap_usage_run);
        return EXIT_USAGE;
    }
    if (engine) {
        int known = 0;
        for (const char *const *p = anypoll_engine_names(); *p; p++) known |= !strcmp(*p, engine);
        if (!known) {
            fprintf(stderr, "anypoll run: --engine %s: no such engine (this build has:", engine);
            for (const char *const *p = anypoll_engine_names(); *p; p++) fprintf(stderr, " %s", *p);
            fprintf(stderr, ")\n");
            return EXIT_USAGE;
        }
        setenv("ANYPOLL_ENGINE", engine, 1);
    }
    if (nosys && !ap_nosys_supported()) {
        fprintf(stderr, "anypoll run: --nosys is only available on Linux (x86_64, aarch64)\n");
        return EXIT_USAGE;
    }
    const char *lib = find_library(argv0);
    if (!lib) {
        fprintf(stderr, "anypoll run: cannot find libanypoll.so (looked beside this command and "
                        "in ../lib and ../lib/<machine>-linux-gnu; set ANYPOLL_LIBRARY=PATH)\n");
        return EXIT_SETUP;
    }
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *pre = malloc(len);
    if (!pre) {
        fprintf(stderr, "anypoll run: out of memory\n");
        return EXIT_SETUP;
    }
    snprintf(pre, len, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    setenv("LD_PRELOAD", pre, 1);
    free(pre);
    if (nosys && ap_nosys_install(0, 0) != 0) {
        fprintf(stderr, "anypoll run: cannot install the seccomp filter: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "anypoll run: cannot run '%s': %s\n", argv[i], strerror(errno));
    return EXIT_NOEXEC;
}
#endif
