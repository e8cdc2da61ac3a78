/*
 * engine.h — the one interface every engine implements (engines room; internal, not installed).
 *
 * The front end (api/api.c) validates nothing engine-specific and holds no state: it picks an
 * engine once (api/engine_choice.c) and forwards each call here. An engine exports one
 * `const struct ap_engine`: native_linux.c (one file), poll/ and win/ (a folder each, one room
 * per job). Emulation engines serve eventfd, timerfd and signalfd from the object layer
 * (objects/object.h), which reaches them only through the ops they hand it. Entries marked "NULL:" may be left NULL and mean the stated default,
 * so an engine backed by the kernel stays a page long.
 *
 * Every entry follows the kernel's contract: -1 with the kernel's errno on failure, errno
 * untouched on success (api.c restores it).
 */
#ifndef AP_ENGINE_H
#define AP_ENGINE_H

#include "anypoll.h"

/* AP_IO_SHUTDOWN: a successful shutdown() (res 0), a wake-up of the socket whatever it changed */
enum ap_io_dir { AP_IO_IN, AP_IO_OUT, AP_IO_ACCEPT, AP_IO_SHUTDOWN };

struct ap_engine {
    const char *name;
    /* 1 if no entry of the engine ever changes errno when it succeeds and it has nothing to
     * do around plain I/O (owns, io_seen and io_reading are NULL): the front end then calls
     * its entries without saving errno, and the host's read/write directly (the native engine). */
    int direct;
    /* 1 if the engine works on this host right now (may run a probe; called once). */
    int (*usable)(void);

    int (*epoll_create1)(int flags);
    int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *event);
    /* ts != NULL overrides timeout_ms (epoll_pwait2); timeout_ms < 0 with ts == NULL waits
     * forever. sigmask may be NULL. Checks epfd, then maxevents (the kernel's order). */
    int (*epoll_wait)(int epfd, struct epoll_event *events, int maxevents, int timeout_ms,
                      const struct timespec *ts, const sigset_t *sigmask);
    int (*eventfd)(unsigned int initval, int flags);
    /* timerfd and signalfd. The front end has checked flags, clock ids, the itimerspec and
     * that new_value/mask are non-NULL (the kernel's first checks); the engine checks the fd
     * (EBADF, then EINVAL for another kind of file). NULL: ENOSYS. */
    int (*timerfd_create)(int clockid, int flags);
    int (*timerfd_settime)(int fd, int flags, const struct itimerspec *new_value,
                           struct itimerspec *old_value);
    int (*timerfd_gettime)(int fd, struct itimerspec *curr_value);
    int (*signalfd)(int fd, const sigset_t *mask, int flags); /* fd -1 creates */

    /* 1 if fd is an object this engine emulates (NULL: none are). read/write are only called
     * for such fds. */
    int (*owns)(int fd);
    ssize_t (*read)(int fd, void *buf, size_t count);
    ssize_t (*write)(int fd, const void *buf, size_t count);

    /* poll()/ppoll() over a set that may contain emulated fds; ts NULL waits forever.
     * NULL: the host's ppoll. */
    int (*poll)(struct pollfd *fds, nfds_t nfds, const struct timespec *ts, const sigset_t *sigmask);
    /* What the program's own I/O on a plain fd returned (res, and errno when res < 0), so
     * emulated EPOLLET learns of drained fds. NULL: nothing to learn. */
    void (*io_seen)(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked);
    /* The program is about to receive from a plain fd: what is queued can still be measured
     * before the call takes some of it. NULL: nothing to measure. */
    void (*io_reading)(int fd);
    /* fd lifetime. NULL: the host's close/dup3/fcntl. dup_to: newfd < 0 means "lowest free"
     * (dup, F_DUPFD with newfd = -2 - minfd), flags may hold O_CLOEXEC. */
    int (*close)(int fd);
    int (*dup_to)(int oldfd, int newfd, int flags);
    int (*fcntl)(int fd, int cmd, intptr_t arg);

    /* Number of live emulated objects (NULL: 0); an engine with live objects is not swapped. */
    int (*live_objects)(void);
};

extern const struct ap_engine ap_engine_native;
extern const struct ap_engine ap_engine_poll;
extern const struct ap_engine ap_engine_win; /* Windows only: win/engine.c */

/* engine_table.c: the engines this build carries, in order of preference, NULL-terminated. */
extern const struct ap_engine *const ap_engines[];

#endif
