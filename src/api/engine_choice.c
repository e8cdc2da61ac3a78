/*
 * engine_choice.c — which host this is, and which engine serves it (api room). The only place
 * that asks.
 *
 * A binary built once for several hosts (a Cosmopolitan APE) decides here at run time: under
 * Cosmopolitan through its IsLinux()/IsWindows()/... tests, elsewhere by asking the system.
 * Engines are tried in the order of ap_engines[]; ANYPOLL_ENGINE or anypoll_use_engine() force
 * one, and a name that is unknown or unusable here is an error, never a silent fallback.
 */
#include "api/engine_choice.h"
#include "engines/engine.h"
#include "host/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if !defined(__COSMOPOLITAN__) && !defined(_WIN32) /* Cosmopolitan's IsLinux()...: host/sys.h */
#include <sys/utsname.h>
#endif

#define MAX_ENGINES 8

const char *const *anypoll_engine_names(void)
{
    static const char *names[MAX_ENGINES + 1];
    for (int i = 0; i < MAX_ENGINES && ap_engines[i]; i++) names[i] = ap_engines[i]->name;
    return names;
}

/* "native, poll": for messages. */
static const char *engine_list(void)
{
    static char list[128];
    list[0] = 0;
    for (int i = 0; ap_engines[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 ap_engines[i]->name);
    return list;
}

#if !defined(__COSMOPOLITAN__) && !defined(_WIN32)
static char host_name[72];

static void read_host_name(void)
{
    struct utsname u;
    const char *n = "unknown";
    if (uname(&u) == 0) {
        if (!strcmp(u.sysname, "Linux")) n = "linux";
        else if (!strcmp(u.sysname, "Darwin")) n = "macos";
        else if (!strcmp(u.sysname, "FreeBSD")) n = "freebsd";
        else if (!strcmp(u.sysname, "OpenBSD")) n = "openbsd";
        else if (!strcmp(u.sysname, "NetBSD")) n = "netbsd";
        else n = u.sysname;
    }
    snprintf(host_name, sizeof host_name, "%s", n);
}
#endif

const char *anypoll_host_name(void)
{
#if defined(__COSMOPOLITAN__)
    if (IsLinux()) return "linux";
    if (IsWindows()) return "windows";
    if (IsXnu()) return "macos";
    if (IsFreebsd()) return "freebsd";
    if (IsOpenbsd()) return "openbsd";
    if (IsNetbsd()) return "netbsd";
    return "unknown";
#elif defined(_WIN32)
    return "windows";
#else
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_host_name);
    return host_name;
#endif
}

static pthread_mutex_t choice_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic(const struct ap_engine *) ap_chosen; /* engine_choice.h: read lock-free by hot paths */
static int choice_errno; /* set once choosing failed; guarded by choice_lock */
static signed char usable_cache[MAX_ENGINES]; /* 0 unknown, 1 usable, -1 not */

static const struct ap_engine *find(const char *name)
{
    for (int i = 0; ap_engines[i]; i++)
        if (!strcmp(ap_engines[i]->name, name)) return ap_engines[i];
    return NULL;
}

static int is_usable(const struct ap_engine *e)
{
    for (int i = 0; ap_engines[i]; i++) {
        if (ap_engines[i] != e) continue;
        if (!usable_cache[i]) usable_cache[i] = e->usable() ? 1 : -1;
        return usable_cache[i] > 0;
    }
    return 0;
}

/* Picks by name under choice_lock; on failure sets errno and, if `say`, tells stderr why. */
static const struct ap_engine *pick(const char *name, int say)
{
    const struct ap_engine *e = find(name);
    if (!e) {
        if (say)
            fprintf(stderr, "anypoll: ANYPOLL_ENGINE=%s: no such engine (this build has: %s)\n",
                    name, engine_list());
        errno = EINVAL;
        return NULL;
    }
    if (!is_usable(e)) {
        if (say)
            fprintf(stderr, "anypoll: ANYPOLL_ENGINE=%s: engine not usable on this host (%s)\n",
                    name, anypoll_host_name());
        errno = ENOSYS;
        return NULL;
    }
    return e;
}

/* ANYPOLL_REPORT=FILE: one line per process when it first settles on an engine, so a harness
 * running an unmodified program (the scoreboard) can say which engine served it. Appended with
 * one write, so processes sharing the file do not interleave within a line. */
static void report_choice(const struct ap_engine *e)
{
    static int done; /* guarded by choice_lock */
    const char *path = getenv("ANYPOLL_REPORT");
    if (done || !path || !*path) return;
    done = 1;
    int saved = errno;
    char line[160];
    int n = snprintf(line, sizeof line, "anypoll: pid %ld engine %s host %s\n", (long)getpid(),
                     e->name, anypoll_host_name());
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (n > 0) ap_sys_write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        ap_sys_close(fd);
    }
    errno = saved;
}

const struct ap_engine *ap_engine_choose(void)
{
    const struct ap_engine *e = atomic_load_explicit(&ap_chosen, memory_order_acquire);
    if (e) return e;
    int saved = errno;
    pthread_mutex_lock(&choice_lock);
    e = atomic_load_explicit(&ap_chosen, memory_order_acquire);
    if (!e && !choice_errno) {
        const char *forced = getenv("ANYPOLL_ENGINE");
        if (forced && *forced) {
            e = pick(forced, 1);
        } else {
            for (int i = 0; ap_engines[i] && !e; i++)
                if (is_usable(ap_engines[i])) e = ap_engines[i];
            if (!e) {
                fprintf(stderr, "anypoll: no engine is usable on this host (%s)\n",
                        anypoll_host_name());
                errno = ENOSYS;
            }
        }
        if (e) {
            report_choice(e);
            atomic_store_explicit(&ap_chosen, e, memory_order_release);
        } else {
            choice_errno = errno;
        }
    }
    int err = choice_errno;
    pthread_mutex_unlock(&choice_lock);
    if (!e) errno = err;
    else errno = saved;
    return e;
}

int anypoll_use_engine(const char *name)
{
    if (!name) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&choice_lock);
    const struct ap_engine *e = pick(name, 0);
    int rc = -1;
    if (e) {
        const struct ap_engine *cur = atomic_load(&ap_chosen);
        if (cur && cur != e && cur->live_objects && cur->live_objects() > 0) {
            errno = EBUSY;
        } else {
            report_choice(e);
            atomic_store_explicit(&ap_chosen, e, memory_order_release);
            choice_errno = 0;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&choice_lock);
    return rc;
}

const char *anypoll_engine_name(void)
{
    const struct ap_engine *e = ap_engine_choose();
    return e ? e->name : NULL;
}
