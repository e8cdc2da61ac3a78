/*
 * object.c — the object layer's base (objects room): the engine lock, the signal-safe follow-up,
 * the list of live objects and their shared state. See object.h. Nothing here blocks while
 * holding the lock, and nothing here knows an engine but through an object's ops.
 */
#include "objects/object.h"
#include "host/sys.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

/* --- the lock -------------------------------------------------------------------------- */

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
/* Set while a thread holds engine_lock. A thread that finds it taken spins a while, reading
 * this (which leaves the holder's cache line alone), before it sleeps in the mutex: the lock is
 * held for a few microseconds at most (nothing blocks under it), and a waiter woken by a change
 * takes it right as it returns from poll(), while the thread that made the change wants it back
 * for its next one. Sleeping there cost a futex wait, a futex wake and two context switches per
 * collision, more than the wait itself (bench/churn: 1.9 futex calls per ctl). The spin is
 * bounded in time, and reads the clock between two looks instead of a pause instruction: under
 * valgrind, which runs one thread at a time, every pause is a thread switch (the nested waiters'
 * CPU-time cases failed there with one). */
static atomic_int engine_held;
#ifndef AP_LOCK_SPIN_NS
#define AP_LOCK_SPIN_NS 5000
#endif
#ifndef AP_LOCK_SPIN_LOOKS
#define AP_LOCK_SPIN_LOOKS 2000
#endif

static int try_take(void)
{
    if (pthread_mutex_trylock(&engine_lock) != 0) return 0;
    atomic_store_explicit(&engine_held, 1, memory_order_relaxed);
    return 1;
}

static void take(void)
{
    if (try_take()) return;
    /* at most AP_LOCK_SPIN_LOOKS looks too: a clock that does not move must not spin for ever */
    int64_t until = ap_sys_now_ns() + AP_LOCK_SPIN_NS;
    for (int i = 0; i < AP_LOCK_SPIN_LOOKS && ap_sys_now_ns() < until; i++)
        if (!atomic_load_explicit(&engine_held, memory_order_relaxed) && try_take()) return;
    pthread_mutex_lock(&engine_lock);
    atomic_store_explicit(&engine_held, 1, memory_order_relaxed);
}

static void give(void)
{
    atomic_store_explicit(&engine_held, 0, memory_order_relaxed);
    pthread_mutex_unlock(&engine_lock);
}

static atomic_int deferred_any;
static struct ap_obj *all_objs; /* every live object, for deferred work and fork */
static int live_objs;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* How many times this thread holds the engine lock or is taking it (a signal handler that
 * interrupted it may take it again on top). A signal-safe writer that finds the lock taken
 * waits for it, so its follow-up is done when write() returns (poll()/select() right after
 * must see the new level), unless this very thread is in it (a handler that interrupted it):
 * then it leaves the work to the holder, which runs it before it releases. Counted before the
 * lock is tried and after it is released, so no handler ever sees 0 while this thread has it. */
static AP_SIGNAL_SAFE_TLS volatile sig_atomic_t this_thread_locks;
/* This thread is in an ops->show (ap_obj_changed). */
static AP_SIGNAL_SAFE_TLS volatile sig_atomic_t this_thread_shows;

static void atfork_prepare(void)
{
    take();
    for (struct ap_obj *o = all_objs; o; o = o->next_all) {
        o->forked = 1;
        /* a show under way outside the lock (a few system calls) ends before the child is
         * made, so that none is half done in it (unless it is this thread's: a handler) */
        while (atomic_load(&o->showing) && !this_thread_shows) sched_yield();
    }
}
static void atfork_parent(void) { give(); }
static void atfork_child(void)
{
    for (struct ap_obj *o = all_objs; o; o = o->next_all) {
        atomic_store(&o->showing, 0); /* the threads showing stay in the parent */
        if (o->ops->atfork_child) o->ops->atfork_child(o);
    }
    give();
}
static void install_atfork(void) { ap_sys_atfork(atfork_prepare, atfork_parent, atfork_child); }

void ap_lock(void)
{
    pthread_once(&atfork_once, install_atfork);
    this_thread_locks++;
    atomic_signal_fence(memory_order_seq_cst);
    take();
}

int ap_trylock(void)
{
    this_thread_locks++;
    atomic_signal_fence(memory_order_seq_cst);
    if (try_take()) return 1;
    atomic_signal_fence(memory_order_seq_cst);
    this_thread_locks--;
    return 0;
}

static void run_deferred(void)
{
    while (atomic_load(&deferred_any) && atomic_exchange(&deferred_any, 0))
        for (struct ap_obj *o = all_objs; o; o = o->next_all)
            if (atomic_exchange(&o->deferred, 0)) o->ops->changed(o);
}

void ap_unlock(void)
{
    for (;;) {
        run_deferred();
        give();
        /* A signal-safe writer that found the lock taken after our last check left its
         * work to us; take it back unless somebody else now holds the lock (then it's theirs). */
        if (!atomic_load(&deferred_any) || !try_take()) break;
    }
    atomic_signal_fence(memory_order_seq_cst);
    this_thread_locks--;
}

/* The follow-up is left to the holder only when this very thread holds the lock (a handler
 * that interrupted it): flags, which its ap_unlock reads after the handler returned. Otherwise
 * it runs here, and no unlock scans the objects for it. */
void ap_obj_changed(struct ap_obj *o)
{
    if (!ap_trylock()) {
        if (this_thread_locks) {
            atomic_store(&o->deferred, 1);
            atomic_store(&deferred_any, 1);
            return;
        }
        ap_lock(); /* another thread's: it never blocks while holding it */
    }
    if (!o->ops->changed_unshown) {
        o->ops->changed(o);
        ap_unlock();
        return;
    }
    int show = o->ops->changed_unshown(o);
    ap_unlock();
    if (show) {
        this_thread_shows++;
        o->ops->show(o);
        this_thread_shows--;
    }
}

int ap_obj_this_thread_shows(void) { return this_thread_shows != 0; }

/* --- wake-up order ------------------------------------------------------------------------ */

static _Atomic uint64_t stamp_clock;
uint64_t ap_stamp(void) { return atomic_fetch_add(&stamp_clock, 1) + 1; }

void ap_obj_wake_in(struct ap_obj *o)
{
    atomic_store(&o->sh->in_stamp, ap_stamp());
    atomic_fetch_add(&o->sh->in_seq, 1);
}

void ap_obj_wake_out(struct ap_obj *o)
{
    atomic_store(&o->sh->out_stamp, ap_stamp());
    atomic_fetch_add(&o->sh->out_seq, 1);
}

/* --- life ---------------------------------------------------------------------------------- */

int ap_obj_create(struct ap_obj *o, enum ap_kind kind, const struct ap_obj_ops *ops, int cloexec,
                  int nonblock)
{
    o->sh = ap_sys_shared_alloc(sizeof *o->sh);
    if (!o->sh) {
        errno = ENOMEM;
        return -1;
    }
    atomic_flag_clear(&o->sh->token_lock);
    atomic_store(&o->sh->nonblock, nonblock);
    o->kind = kind;
    o->ops = ops;
    int fd = ops->attach(o, cloexec);
    if (fd < 0) {
        int e = errno;
        ap_sys_shared_free(o->sh, sizeof *o->sh);
        o->sh = NULL;
        o->kind = AP_KIND_NONE;
        errno = e;
        return -1;
    }
    o->next_all = all_objs;
    if (all_objs) all_objs->prev_all = o;
    all_objs = o;
    live_objs++;
    return fd;
}

void ap_obj_destroy(struct ap_obj *o)
{
    if (o->prev_all) o->prev_all->next_all = o->next_all;
    else if (all_objs == o) all_objs = o->next_all;
    if (o->next_all) o->next_all->prev_all = o->prev_all;
    o->next_all = o->prev_all = NULL;
    live_objs--;
    if (o->sh) ap_sys_shared_free(o->sh, sizeof *o->sh);
    o->sh = NULL;
}

int ap_live_objects(void) { return live_objs; }
