/*
 * emul.h — what emulation engines share (internal): the engine lock, the fd table, and the
 * object every fd anypoll knows about hangs off.
 *
 * Objects:
 *   - emulated objects (eventfds, timerfds, signalfds, epoll instances): anypoll owns their state; the user holds
 *     one end of an AF_UNIX socketpair ("user end") so the fd is real — poll(), select(),
 *     CLOEXEC and fork behave — and anypoll keeps the other end ("peer").
 *   - plain objects: a host fd (socket, pipe, tty...) registered in some epoll instance; the
 *     object records its identity (st_dev, st_ino, access mode) and every fd number anypoll
 *     knows refers to it, so a registration outlives the close of one number while a dup lives.
 *
 * Locking: one engine lock guards all of it. The eventfd write path must be async-signal-safe,
 * so it never waits for the lock: it records its change in atomics and runs the follow-up
 * (readability token, waking watchers) only if it can take the lock at once; otherwise the
 * holder runs it when it releases (ap_unlock).
 */
#ifndef AP_EMUL_H
#define AP_EMUL_H

#include "anypoll.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

enum ap_kind { AP_KIND_NONE = 0, AP_KIND_PLAIN, AP_KIND_EVENTFD, AP_KIND_EPOLL, AP_KIND_TIMERFD,
               AP_KIND_SIGNALFD };

struct ap_reg;

/* The part of an emulated object that a fork() shares, as the kernel shares the open file:
 * it lives in a MAP_SHARED page, so a write in the child is the parent's write too. */
struct ap_shared {
    _Atomic uint64_t value; /* eventfd counter */
    /* Edge sequences: bumped on every change that wakes IN / OUT watchers (kernel semantics:
     * every eventfd write wakes IN watchers, every read OUT watchers, read or not). */
    _Atomic uint64_t in_seq, out_seq;
    _Atomic uint64_t in_stamp, out_stamp; /* ap_stamp() of the latest bump: wake-up order */
    atomic_int nonblock;    /* O_NONBLOCK of the open file */
    atomic_flag token_lock; /* guards token/full across processes */
    int token;              /* a byte is queued to the user end (it polls readable) */
    int full;               /* the user end's send buffer is filled (it polls not writable) */
};

struct ap_obj {
    enum ap_kind kind;
    int *fds; /* the numbers that refer to this object (dups included) */
    int nfds, capfds;
    int busy;                 /* callers inside an operation that outlives the lock */
    struct ap_reg *watchers;  /* registrations targeting this object, in all instances */
    /* emulated objects */
    struct ap_shared *sh; /* NULL for plain objects */
    int peer;             /* anypoll's end of the socketpair; -1 for plain objects */
    int forked;           /* a fork() happened since creation: other processes may wait on it */
    uint64_t told_in, told_out; /* the sequences watchers were last told about */
    atomic_int deferred;  /* signal-safe path left follow-up work */
    /* plain objects */
    dev_t dev;
    ino_t ino;
    int accmode;
    int stream;   /* a short read means drained (pipes, FIFOs, stream sockets, ttys) */
    int socket;   /* wake-ups for arriving data carry PRI too */
    int queue;    /* enum ap_queue: how arrivals are counted */
    struct ap_obj *hnext; /* identity hash chain */
    struct ap_obj *next_all, *prev_all;
};

/* The engine lock. ap_unlock also runs work deferred by signal-safe paths. */
void ap_lock(void);
void ap_unlock(void);
int ap_trylock(void);
/* Signal-safe: note that `o` (an eventfd) needs its follow-up; runs it now if possible. */
void ap_defer(struct ap_obj *o);

/* fd table: lock-free kind lookup, object lookup under the lock. */
enum ap_kind ap_fd_kind(int fd);
struct ap_obj *ap_fd_obj(int fd);                 /* under lock */
int ap_fd_bind(int fd, struct ap_obj *o);         /* under lock; -1 ENOMEM */
void ap_fd_unbind(int fd);                        /* under lock; drops the number */
int ap_obj_any_fd(const struct ap_obj *o);        /* a number that refers to o, or -1 */

/* Plain objects by identity (under lock). */
struct ap_obj *ap_plain_find(dev_t dev, ino_t ino, int accmode);
struct ap_obj *ap_plain_new(int fd, const struct stat *st, int accmode);
/* Emulated object: creates the socketpair, binds the user end; -1 with errno. */
int ap_emul_init(struct ap_obj *o, enum ap_kind kind, int cloexec, int nonblock);
/* Keeps the user end's readability equal to `readable` and its writability equal to
 * `writable`, so poll() and select() on it tell the truth (under lock). */
void ap_emul_token(struct ap_obj *o, int readable, int writable);
/* A global order of wake-ups, so the ready list can keep the kernel's order. Signal-safe. */
uint64_t ap_stamp(void);
int ap_live_objects(void);

/* Hooks the engine provides to the shared code. */
void ap_hook_number_gone(struct ap_obj *o, int fd); /* a number of o was closed (under lock) */
void ap_hook_obj_released(struct ap_obj *o);         /* last number gone and not busy */
void ap_hook_deferred(struct ap_obj *o);             /* run deferred follow-up (under lock) */
void ap_hook_atfork_child(struct ap_obj *o);  /* in the child, for each emulated object */

/* Free o if it has no numbers and nobody is busy with it (under lock). */
void ap_obj_maybe_release(struct ap_obj *o);

#endif
