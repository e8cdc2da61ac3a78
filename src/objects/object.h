/*
 * object.h — the object layer (objects room): the emulated files every emulation engine serves —
 * eventfd, timerfd, signalfd — with their semantics written once, and the one interface through
 * which an object reaches the engine that serves it.
 *
 * What is here: the object's state (counter, wake-up sequences, O_NONBLOCK, in a page a fork()
 * shares as the kernel shares the open file), the engine lock, and the signal-safe follow-up.
 * What is not: how a program holds the object (a socketpair end on POSIX hosts, a descriptor
 * of anypoll's own on Windows), how its level shows in poll()/select(), how watchers are woken
 * and how a reader sleeps. Those are the engine's, handed over as a `struct ap_obj_ops` when it
 * creates an object; the object layer calls nothing else of an engine, so it compiles without
 * any engine, and several engines could serve objects in one build.
 *
 * Room rules: files here may use host/sys.h and each other (object.c below eventfd.c, timerfd.c,
 * signalfd.c, clockd.c); never engines/ or api/.
 *
 * Locking: one engine lock guards objects and the engines' bookkeeping; nothing blocks while
 * holding it. The eventfd write path must be async-signal-safe, so it never waits for the lock
 * when its own thread holds it: it records its change in atomics and calls ap_obj_changed(),
 * which runs the engine's follow-up (ops->changed) at once if it can, else leaves it to the
 * holder, which runs it when it releases (ap_unlock).
 */
#ifndef AP_OBJECT_H
#define AP_OBJECT_H

#include "anypoll.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

/* A thread-local a signal handler may read first: initial-exec, so no allocation on first use,
 * which a handler could not afford (hosts with emulated TLS, such as mingw-w64, have no such
 * model, and no signal handlers either). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define AP_SIGNAL_SAFE_TLS __attribute__((tls_model("initial-exec"))) _Thread_local
#else
#define AP_SIGNAL_SAFE_TLS _Thread_local
#endif

enum ap_kind { AP_KIND_NONE = 0, AP_KIND_PLAIN, AP_KIND_EVENTFD, AP_KIND_EPOLL, AP_KIND_TIMERFD,
               AP_KIND_SIGNALFD };

struct ap_obj;
struct ap_reg;

/* The part of an object that a fork() shares, as the kernel shares the open file: it lives in
 * memory shared with fork children (ap_sys_shared_alloc), so a write in the child is the
 * parent's write too. */
struct ap_shared {
    _Atomic uint64_t value; /* eventfd counter; timerfd pending expirations */
    /* Edge sequences: bumped on every change that wakes IN / OUT watchers (kernel semantics:
     * every eventfd write wakes IN watchers, every read OUT watchers, read or not). */
    _Atomic uint64_t in_seq, out_seq;
    _Atomic uint64_t in_stamp, out_stamp; /* ap_stamp() of the latest bump: wake-up order */
    atomic_int nonblock;    /* O_NONBLOCK of the open file */
    /* How the engine shows the level to poll()/select() (engines/poll: a token byte queued to
     * the program's end, its send buffer filled), kept here because fork() shares it too. */
    atomic_flag token_lock;
    int token, full;
};

/* What an engine hands over with each object it creates: the object layer's only way to reach
 * it. Every entry is required unless it says "NULL:". */
struct ap_obj_ops {
    /* Under the lock, once, at creation: give o the number the program will hold, close-on-exec
     * if asked (O_NONBLOCK is o->sh->nonblock). The number, or -1 with errno. */
    int (*attach)(struct ap_obj *o, int cloexec);
    /* Under the lock: o's level or its wake-up sequences changed (o->sh->in_seq, out_seq):
     * show the new level and wake whoever watches or waits on it. */
    void (*changed)(struct ap_obj *o);
    /* NULL: changed does it all. Under the lock, in changed's place, from ap_obj_changed: all
     * that changed does, or all but a part left to ops->show, which the caller runs once it
     * has released the lock (answer 1, having raised o->showing; with 0, o may be gone once
     * the lock is released). A thread that the show wakes then does not run into the lock. */
    int (*changed_unshown)(struct ap_obj *o);
    /* With changed_unshown, without the lock: the part left; lowers o->showing. */
    void (*show)(struct ap_obj *o);
    /* Without the lock: sleep until o may be ready for `want` (EPOLLIN or EPOLLOUT; 0 when no
     * level tells what the caller waits for: then until any change the engine can see, or the
     * time), timeout_ns has passed (-1: no limit) or a signal handler ran (-1, EINTR). `fd` is
     * the number the caller read or wrote. The caller looks again: an early return is never
     * wrong. */
    int (*block)(struct ap_obj *o, int fd, uint32_t want, int64_t timeout_ns);
    /* In a fork() child, under the lock, for each object: the threads that waited on it stay in
     * the parent. NULL: nothing to forget. */
    void (*atfork_child)(struct ap_obj *o);
};

struct ap_obj {
    enum ap_kind kind;
    const struct ap_obj_ops *ops; /* the engine serving it */
    void *engine;                 /* the engine's own record of it, where it keeps one apart */
    struct ap_shared *sh;         /* NULL for the poll engine's plain objects */
    int forked;                   /* a fork() happened since creation: other processes share it */
    atomic_int deferred;          /* a signal-safe path left its follow-up to the lock holder */
    atomic_int showing;           /* ops->show calls under way: fork() waits for them */
    uint64_t told_in, told_out;   /* the sequences ops->changed last told watchers about */
    struct ap_obj *next_all, *prev_all; /* every object, for deferred work and fork */

    /* The poll engine's bookkeeping (engines/poll/fdtable.c): the object layer never reads it.
     * The poll engine also keeps plain fds (sockets, pipes) as objects of kind AP_KIND_PLAIN. */
    int *fds;                   /* the numbers that refer to this object (dups included) */
    int nfds, capfds;
    int busy;                /* callers inside an operation that outlives the lock */
    struct ap_reg *watchers; /* registrations targeting this object, in all instances */
    int peer;                /* emulated objects: anypoll's end of the socketpair, else -1 */
    dev_t dev;               /* plain objects: identity and what a read means */
    ino_t ino;
    int accmode;
    int stream;   /* a short read means drained (pipes, FIFOs, stream sockets, ttys) */
    int socket;   /* wake-ups for arriving data carry PRI too */
    int queue;    /* enum ap_queue: how arrivals are counted */
    struct ap_obj *hnext; /* identity hash chain */
    atomic_int retract;   /* a token being sent outside the lock must be taken back (fdtable.c) */
};

/* The engine lock. ap_unlock also runs follow-ups left by signal-safe paths. */
void ap_lock(void);
void ap_unlock(void);
int ap_trylock(void);

/* Under the lock: makes o (zeroed but for what the caller set) a live object of `kind` served
 * by `ops`: its shared state, then ops->attach. The number, or -1 with errno (o is left as it
 * was, for the caller to free). */
int ap_obj_create(struct ap_obj *o, enum ap_kind kind, const struct ap_obj_ops *ops, int cloexec,
                  int nonblock);
/* Under the lock: o is gone from every number and no engine refers to it any more: its shared
 * state is dropped. The kind's own release (ap_eventfd_free...) calls it, then frees o. */
void ap_obj_destroy(struct ap_obj *o);
/* Signal-safe: o's level or sequences changed; ops->changed runs now (or changed_unshown, and
 * show once the lock is released), or under the lock holder's ap_unlock when this thread
 * already holds the lock (a handler that interrupted it). */
void ap_obj_changed(struct ap_obj *o);
/* Signal-safe: is this thread inside an ops->show (so a handler that interrupted it must not
 * wait for that show to end)? */
int ap_obj_this_thread_shows(void);
/* Counts one wake-up of o's IN (or OUT) watchers before the change it announces: see
 * eventfd.c. Signal-safe. */
void ap_obj_wake_in(struct ap_obj *o);
void ap_obj_wake_out(struct ap_obj *o);
/* A global order of wake-ups, so ready lists can keep the kernel's order. Signal-safe. */
uint64_t ap_stamp(void);
/* Objects alive in this process (an engine that serves any is not swapped). */
int ap_live_objects(void);

#endif
