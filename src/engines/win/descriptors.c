/*
 * descriptors.c — the win engine's lock and anypoll's own descriptors (engines/win room, the
 * bottom one: it calls no other room). SOCKET values are multiples of 4, so every other positive
 * number can be anypoll's: a descriptor names an epoll instance or a file. Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static SRWLOCK lock = SRWLOCK_INIT;
static struct obj **table; /* indexed by descriptor number */
static unsigned char *cloexec;
static int ntable;
static int pollers; /* threads asleep in poll() over anypoll's own descriptors */
static CONDITION_VARIABLE poll_cv = CONDITION_VARIABLE_INIT;

struct obj *ap_win_instances;
int ap_win_nlive;

void ap_win_lock(void) { AcquireSRWLockExclusive(&lock); }
void ap_win_unlock(void) { ReleaseSRWLockExclusive(&lock); }
void ap_win_sleep(CONDITION_VARIABLE *cv, DWORD ms) { SleepConditionVariableSRW(cv, &lock, ms, 0); }

void ap_win_poll_sleep(DWORD ms)
{
    pollers++;
    SleepConditionVariableSRW(&poll_cv, &lock, ms, 0);
    pollers--;
}

void ap_win_poll_notify(void)
{
    if (pollers) WakeAllConditionVariable(&poll_cv);
}

int ap_win_is_desc(int fd) { return fd > 0 && (fd & 3) != 0; }

struct obj *ap_win_obj_of(int fd) { return ap_win_is_desc(fd) && fd < ntable ? table[fd] : NULL; }

int ap_win_desc_new(struct obj *o, int ce, int min, int exact)
{
    int i = exact >= 0 ? exact : min > 5 ? min : 5;
    for (;; i++) {
        if (!ap_win_is_desc(i)) continue;
        if (i >= ntable) {
            int n = ntable ? 2 * ntable : 64;
            while (n <= i) n *= 2;
            struct obj **t = realloc(table, (size_t)n * sizeof *t);
            if (!t) return errno = EMFILE, -1;
            table = t;
            unsigned char *c = realloc(cloexec, (size_t)n);
            if (!c) return errno = EMFILE, -1;
            cloexec = c;
            memset(table + ntable, 0, (size_t)(n - ntable) * sizeof *t);
            memset(cloexec + ntable, 0, (size_t)(n - ntable));
            ntable = n;
        }
        if (!table[i]) break;
        if (exact >= 0) return errno = EBADF, -1;
    }
    table[i] = o;
    cloexec[i] = (unsigned char)(ce != 0);
    o->refs++;
    return i;
}

struct obj *ap_win_desc_drop(int fd)
{
    struct obj *o = table[fd];
    table[fd] = NULL;
    o->refs--;
    return o;
}

int ap_win_desc_cloexec(int fd) { return cloexec[fd]; }
void ap_win_desc_set_cloexec(int fd, int on) { cloexec[fd] = (unsigned char)(on != 0); }
#endif
