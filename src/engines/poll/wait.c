/*
 * wait.c — the wait (engines/poll room, layer 3): the poll sets a wait hands to poll(), the
 * evaluation of what poll() answered (level-triggered levels, a close look at EPOLLET
 * candidates and suspects, the objects anypoll owns), delivery in the kernel's order,
 * epoll_wait itself, whether a nested or polled instance has events, and poll() over a set
 * that holds emulated epoll fds.
 *
 * May call: registrations.c, instance.c, fdtable.h, objects/object.h (the lock),
 * objects/clockd.h, host/sys.h.
 */
#include "engines/poll/poll_engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"
#include "objects/clockd.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define SUSPECT_TICK_NS 10000000 /* 10 ms */

/* --- evaluation --------------------------------------------------------------------------- */

/* A set of pollfds one wait hands to poll(): the instance's own array, or a private copy when
 * it is already in use or must be extended (nested instances). */
struct pollset {
    struct pollfd *pfd;
    struct ap_reg **preg;
    int n, cap;
    int nready; /* what the last poll() of it returned */
    int masked; /* nested entries not asked for bits already seen high: look at them per tick */
    int borrowed; /* pfd/preg are the instance's own */
    int base;     /* entries before the armed eventfds a blocking poll() appends (set_arm) */
};

static int set_reserve(struct pollset *s, int extra)
{
    return ap_poll_grow_slots(&s->pfd, &s->preg, &s->cap, s->n + extra);
}

static void set_free(struct pollset *s)
{
    if (!s->borrowed) {
        free(s->pfd);
        free(s->preg);
    }
    memset(s, 0, sizeof *s);
}

/* Appends what must wake a wait on `ep`: its wake channel and its plain fds, and the same for
 * every instance nested in it. Entries are marked by a NULL registration. A plain fd is asked
 * only for the bits no look at `ep` saw high yet (nseen): a level already seen is no news for
 * the instances watching `ep`, and asking for it again would wake us at once, for ever (a
 * readable pipe under an edge-triggered outer registration made its waiters spin). Such
 * entries are counted in `masked`: the wait looks at them every tick, to see them go low. */
static int set_append_instance(struct pollset *s, struct ap_epoll *ep, int depth)
{
    if (set_reserve(s, ep->npfd) < 0) return -1;
    for (int i = 0; i < ep->npfd; i++) { /* not revents: a waiter's poll() may be writing it */
        struct pollfd p = {.fd = ep->pfd[i].fd, .events = ep->pfd[i].events};
        uint32_t nseen = i > 0 && ep->preg[i] ? ep->preg[i]->nseen : 0;
        if (nseen) {
            s->masked++;
            p.events &= (short)~ap_poll_to_poll(nseen);
            if (nseen & (EPOLLERR | EPOLLHUP)) p.fd = -1; /* poll would report them always */
        }
        s->pfd[s->n] = p;
        s->preg[s->n++] = i == 0 ? &ep->wake_reg : NULL; /* nested fds only wake us */
    }
    for (int i = 0; depth < AP_EP_MAX_NESTS && i < ep->nowned; i++)
        if (ep->owned[i]->obj->kind == AP_KIND_EPOLL && !ep->owned[i]->disabled &&
            set_append_instance(s, ap_poll_as_epoll(ep->owned[i]->obj), depth + 1) < 0)
            return -1;
    return 0;
}

/* The set for a wait on ep: its own array when free and sufficient, else a copy. */
static int set_build(struct pollset *s, struct ap_epoll *ep)
{
    memset(s, 0, sizeof *s);
    if (!ep->polling && !ep->nnested) {
        s->pfd = ep->pfd;
        s->preg = ep->preg;
        s->n = ep->npfd;
        s->borrowed = 1;
        return 0;
    }
    if (set_reserve(s, ep->npfd) < 0) return -1;
    for (int i = 0; i < ep->npfd; i++) /* not revents: a waiter's poll() may be writing it */
        s->pfd[i] = (struct pollfd){.fd = ep->pfd[i].fd, .events = ep->pfd[i].events};
    memcpy(s->preg, ep->preg, (size_t)ep->npfd * sizeof *s->preg);
    s->n = ep->npfd;
    for (int i = 0; i < ep->nowned; i++)
        if (ep->owned[i]->obj->kind == AP_KIND_EPOLL && !ep->owned[i]->disabled &&
            set_append_instance(s, ap_poll_as_epoll(ep->owned[i]->obj), 1) < 0)
            return -1;
    return 0;
}

/* A fresh poll set for ep, the old one freed: -1 with ENOMEM. */
static int set_rebuild(struct pollset *s, struct ap_epoll *ep)
{
    set_free(s);
    if (set_build(s, ep) < 0) {
        errno = ENOMEM;
        return -1;
    }
    s->base = s->n;
    ep->changed = 0;
    return 0;
}

/* Can a blocking poll() of ep watch r's eventfd through its user end? While its token is not
 * there, the end turns readable exactly when a write shows it (ap_poll_obj_changed), so that
 * write needs no wake byte (instance.c, notify_watchers). Only with one number (a number
 * closed behind our back then names no other end of it), never shared with another process. */
static int armable(const struct ap_reg *r)
{
    return r->obj->kind == AP_KIND_EVENTFD && (r->events & EPOLLIN) && !r->disabled &&
           !r->dead && !r->noarm && r->obj->nfds == 1 && !r->obj->forked && !r->obj->sh->token;
}

/* Appends to the set of a blocking poll() the user end of every armable eventfd of ep, polled
 * for IN, and counts the waiter in each (narmed, undone by set_disarm under the same lock). No
 * memory: nothing armed, the wake byte does as before. */
static void set_arm(struct pollset *s, struct ap_epoll *ep)
{
    s->n = s->base;
    int k = 0;
    for (int i = 0; i < ep->nowned; i++) k += armable(ep->owned[i]);
    if (!k) return;
    if (s->borrowed) {
        if (ap_poll_grow_slots(&ep->pfd, &ep->preg, &ep->cappfd, ep->npfd + k) < 0) return;
        s->pfd = ep->pfd; /* beyond npfd: scratch that apply_pending overwrites */
        s->preg = ep->preg;
    } else if (set_reserve(s, k) < 0) {
        return;
    }
    for (int i = 0; i < ep->nowned; i++) {
        struct ap_reg *r = ep->owned[i];
        if (!armable(r)) continue;
        s->pfd[s->n] = (struct pollfd){.fd = r->obj->fds[0], .events = POLLIN};
        s->preg[s->n++] = r;
        r->narmed++;
    }
}

/* After the blocking poll(), under the lock: the waiter no longer watches its armed eventfds.
 * An end that answered without its token is no longer the object's (closed behind our back
 * and its number reused, or gone): never armed again, so a stranger cannot make waits spin. */
static void set_disarm(struct pollset *s)
{
    for (int i = s->base; i < s->n; i++) {
        struct ap_reg *r = s->preg[i];
        r->narmed--;
        if (s->pfd[i].revents && (r->dead || (s->pfd[i].revents & POLLNVAL) || !r->obj->sh->token))
            r->noarm = 1;
    }
    s->n = s->base;
}

/* Takes in what one poll() said. Level-triggered entries get their level for this round;
 * EPOLLET entries with a new bit become candidates for a full look. */
static void take_results(struct ap_epoll *ep, struct pollset *s, int nready, struct ap_reg **cand,
                         int *ncand)
{
    ep->gen++;
    for (int i = 0; i < s->n && nready > 0; i++) {
        struct ap_reg *r = s->preg[i];
        short rev = s->pfd[i].revents;
        if (!rev) continue;
        nready--; /* poll() said how many answered: stop looking once all are seen */
        if (r && !r->obj) { /* a wake channel: this instance's or a nested one's */
            if (rev & POLLIN) ap_poll_ep_drain(r->ep);
            continue;
        }
        if (!r || r->dead || r->disabled || r->obj->kind != AP_KIND_PLAIN) continue;
        if (rev & POLLNVAL) { /* closed without anypoll_close: the number is gone */
            if (s->pfd[i].fd == ap_poll_poll_number(r)) ap_poll_drop_number(s->pfd[i].fd);
            continue;
        }
        if (!(r->events & EPOLLET)) {
            r->level = ap_poll_observed(r, s->pfd[i].fd, rev);
            r->gen = ep->gen;
            if (r->level) ap_poll_ready_add(ep, r);
        } else if (rev && !r->candidate) {
            r->candidate = 1;
            cand[(*ncand)++] = r;
        }
    }
}

/* Full look at EPOLLET registrations: their whole current mask (poll was asked only for the
 * unseen bits), bits that went low are re-armed, and a grown byte count is new data. */
static void look_closely(struct ap_epoll *ep, struct ap_reg **cand, int ncand)
{
    if (!ncand) return;
    struct pollfd stackp[64];
    struct pollfd *p = ncand <= 64 ? stackp : malloc((size_t)ncand * sizeof *p);
    if (!p) return;
    for (int i = 0; i < ncand; i++) {
        p[i].fd = ap_poll_poll_number(cand[i]);
        p[i].events = ap_poll_asked(cand[i], ap_poll_watched(cand[i]) & EV_USER);
        p[i].revents = 0;
    }
    ap_sys_ppoll(p, (nfds_t)ncand, &(struct timespec){0, 0}, NULL);
    for (int i = 0; i < ncand; i++) {
        struct ap_reg *r = cand[i];
        r->candidate = 0;
        if (r->dead || r->disabled) continue;
        uint32_t lv = (p[i].revents & POLLNVAL) ? 0 : ap_poll_observed(r, p[i].fd, p[i].revents);
        if (!(r->events & EPOLLET)) { /* a level-triggered suspect: its level of this round */
            r->level = lv;
            r->gen = ep->gen;
            if (lv & ap_poll_reportable(r)) ap_poll_ready_add(ep, r);
            continue;
        }
        uint32_t before = r->seen;
        r->seen &= lv;
        int edge = (lv & ~r->seen) != 0;
        if ((r->seen & EV_IN) && (lv & EPOLLIN) && r->nread >= 0) {
            long now = ap_poll_queue_size(r, p[i].fd);
            if (now > r->nread) edge = 1;
            if (now >= 0) r->nread = now;
        }
        if (edge || r->on_ready) {
            r->level = lv;
            /* a queued entry that is not ready stays in place until delivery passes it, as
             * the kernel drops one only when its scan reaches it */
            if (lv & ap_poll_reportable(r)) ap_poll_ready_add(ep, r);
            /* A wake-up that reports nothing (a pipe's OUT for an ET interest in WRBAND, which
             * pipes never show; RDHUP outside the interest): the kernel drops it, and the bits
             * are seen as a delivery would have seen them. Else poll() is asked for them again,
             * answers at once, and a blocked wait spins (found by the fuzzer's waiting threads). */
            else if (edge) r->seen = lv;
        }
        if (r->seen != before) {
            ap_poll_mark_pending(r);
            ap_poll_update_suspect(r);
        }
    }
    if (p != stackp) free(p);
}

/* Waiters on the instances that watch `ep` (at any depth) must look again (a
 * wake-up of `ep` they may not have heard of) or build their sets again. */
static void wake_nesting(struct ap_epoll *ep, int depth)
{
    for (struct ap_reg *w = ep->base.watchers; w && depth < AP_EP_MAX_NESTS; w = w->wnext) {
        ap_poll_ep_wake(w->ep);
        wake_nesting(w->ep, depth + 1);
    }
}

/* Objects anypoll owns: their level is known without a system call, their edges are counted.
 * Entries that become ready join the ready list in the order of their wake-ups (stamps), as
 * the kernel's callbacks would have queued them. */
static void look_at_owned(struct ap_epoll *ep, int depth)
{
    struct ap_reg *stackj[16];
    uint64_t stacks[16];
    struct ap_reg **join = ep->nowned <= 16 ? stackj : malloc((size_t)ep->nowned * sizeof *join);
    uint64_t *when = ep->nowned <= 16 ? stacks : malloc((size_t)ep->nowned * sizeof *when);
    int njoin = 0, nested_woke = 0;
    for (int i = 0; i < ep->nowned; i++) {
        struct ap_reg *r = ep->owned[i];
        if (r->disabled) continue;
        uint32_t lv;
        if (ap_poll_is_file_kind(r->obj->kind))
            lv = ap_poll_file_level(r->obj);
        else
            lv = depth < AP_EP_MAX_NESTS && ap_poll_ep_has_events(ap_poll_as_epoll(r->obj), depth + 1)
                     ? (EPOLLIN | EPOLLRDNORM) : 0;
        lv &= r->events & (EV_USER | EPOLLERR | EPOLLHUP);
        struct ap_shared *sh = r->obj->sh;
        uint64_t in = atomic_load(&sh->in_seq), out = atomic_load(&sh->out_seq);
        /* eventfd wakes with exactly EPOLLIN on write and EPOLLOUT on read; an epoll fd with
         * EPOLLIN: a wake-up reaches only registrations whose interest holds its key */
        int woke_in = in != r->in_seq && (r->events & EPOLLIN);
        int woke_out = out != r->out_seq && (r->events & EPOLLOUT);
        uint64_t stamp = 0;
        if (woke_in) stamp = atomic_load(&sh->in_stamp);
        if (woke_out && atomic_load(&sh->out_stamp) > stamp) stamp = atomic_load(&sh->out_stamp);
        /* a wake-up this look takes before its notification (ap_poll_obj_changed) ran is a
         * wake-up of this instance for its watchers, told once: here, not there again */
        if ((woke_in || woke_out) && !r->disabled && ep->base.watchers) nested_woke = 1;
        r->in_seq = in;
        r->out_seq = out;
        r->level = lv;
        r->gen = ep->gen;
        int want;
        if (!(r->events & EPOLLET)) {
            want = lv != 0;
        } else {
            r->seen &= lv;
            want = lv && (woke_in || woke_out || (lv & ~r->seen));
        }
        if (lv && want && !r->on_ready && join && when) {
            join[njoin] = r;
            when[njoin++] = stamp;
        }
    }
    for (int i = 1; i < njoin; i++) /* few entries: insertion sort by wake-up */
        for (int j = i; j > 0 && when[j - 1] > when[j]; j--) {
            uint64_t t = when[j];
            when[j] = when[j - 1];
            when[j - 1] = t;
            struct ap_reg *x = join[j];
            join[j] = join[j - 1];
            join[j - 1] = x;
        }
    for (int i = 0; i < njoin; i++) ap_poll_ready_add(ep, join[i]);
    if (nested_woke) {
        atomic_fetch_add(&ep->base.sh->in_seq, 1);
        wake_nesting(ep, 0);
    }
    if (join != stackj) free(join);
    if (when != stacks) free(when);
}

enum { TAKE_RESULTS = 1, POLL_NOW = 2 };

static int evaluate(struct ap_epoll *ep, struct pollset *s, int do_poll, int all_suspects,
                    int depth)
{
    struct ap_reg *stackc[64];
    int cap = s->n + ep->nsusp + 1;
    for (struct ap_reg *r = ep->ready.rnext; r != &ep->ready; r = r->rnext) cap++;
    struct ap_reg **cand = cap <= 64 ? stackc : malloc((size_t)cap * sizeof *cand);
    if (!cand) return -1;
    int ncand = 0;
    if (do_poll == POLL_NOW) {
        for (int i = 0; i < s->n; i++) s->pfd[i].revents = 0;
        s->nready = s->n ? ap_sys_ppoll(s->pfd, (nfds_t)s->n, &(struct timespec){0, 0}, NULL) : 0;
    }
    if (do_poll) take_results(ep, s, s->nready, cand, &ncand);
    for (struct ap_reg *r = ep->ready.rnext; r != &ep->ready; r = r->rnext)
        if ((r->events & EPOLLET) && r->obj->kind == AP_KIND_PLAIN && !r->candidate) {
            r->candidate = 1;
            cand[ncand++] = r;
        }
    for (int i = 0; all_suspects && i < ep->nsusp; i++)
        if (!ep->susp[i]->candidate) {
            ep->susp[i]->candidate = 1;
            cand[ncand++] = ep->susp[i];
        }
    look_closely(ep, cand, ncand);
    look_at_owned(ep, depth);
    if (cand != stackc) free(cand);
    return 0;
}

/* Is an event ready for delivery? (level-triggered plain entries only count if seen this round) */
static int deliverable(struct ap_epoll *ep, struct ap_reg *r)
{
    if (r->dead || r->disabled || !(r->level & ap_poll_reportable(r))) return 0;
    if (!(r->events & EPOLLET) && r->gen != ep->gen) return 0;
    return 1;
}

/* Would a wait on `ep` return something now? Used when ep is nested or polled. */
int ap_poll_ep_has_events(struct ap_epoll *ep, int depth)
{
    ap_poll_apply_pending(ep);
    struct pollset s;
    if (set_build(&s, ep) < 0) return 0;
    /* only this instance's own fds: nested ones are looked at through look_at_owned */
    if (!s.borrowed) s.n = ep->npfd;
    if (!s.borrowed) ep->inpoll++;
    evaluate(ep, &s, POLL_NOW, 1, depth);
    if (!s.borrowed) ep->inpoll--;
    /* What this look saw of the plain fds: a bit high that no look saw high before is a
     * wake-up of this instance, which its edge-triggered watchers see as a new edge (the
     * kernel's callback wakes the instance's watchers at every wake-up of an fd it holds). */
    int woke = 0;
    for (int i = 1; i < ep->npfd && i < s.n; i++) {
        struct ap_reg *r = s.preg[i];
        if (!r || r->dead || r->disabled || !r->obj || r->obj->kind != AP_KIND_PLAIN) continue;
        uint32_t lv = (s.pfd[i].revents & POLLNVAL) ? 0
                                                    : ap_poll_from_poll(s.pfd[i].revents) &
                                                          ap_poll_watched(r);
        woke |= (lv & ~r->nseen) != 0;
        r->nseen = lv;
    }
    if (woke) atomic_fetch_add(&ep->base.sh->in_seq, 1);
    set_free(&s);
    for (struct ap_reg *r = ep->ready.rnext; r != &ep->ready; r = r->rnext)
        if (deliverable(ep, r)) return 1;
    return 0;
}

static int deliver(struct ap_epoll *ep, struct epoll_event *out, int max)
{
    if (!out) { /* the kernel fails only when it has something to copy out */
        for (struct ap_reg *r = ep->ready.rnext; r != &ep->ready; r = r->rnext)
            if (deliverable(ep, r)) return errno = EFAULT, -1;
        return 0;
    }
    int n = 0;
    struct ap_reg again = {0}; /* reported level-triggered entries, re-queued behind the rest */
    again.rnext = again.rprev = &again;
    struct ap_reg *r = ep->ready.rnext;
    while (r != &ep->ready && n < max) {
        struct ap_reg *next = r->rnext;
        if (!deliverable(ep, r)) {
            ap_poll_ready_del(r);
            r = next;
            continue;
        }
        out[n].events = r->level & ap_poll_reportable(r);
        out[n].data.u64 = r->data;
        n++;
        ap_poll_ready_del(r);
        if (r->events & EPOLLONESHOT) {
            r->disabled = 1;
            ap_poll_update_suspect(r);
            ap_poll_mark_pending(r);
        } else if (r->events & EPOLLET) {
            if (r->seen != r->level) ap_poll_mark_pending(r);
            r->seen = r->level;
            r->nread = r->obj->kind == AP_KIND_PLAIN && (r->level & EPOLLIN)
                           ? ap_poll_queue_size(r, ap_poll_poll_number(r)) : -1;
            ap_poll_update_suspect(r);
        } else {
            r->rprev = again.rprev;
            r->rnext = &again;
            again.rprev->rnext = r;
            again.rprev = r;
            r->on_ready = 1;
        }
        r = next;
    }
    if (again.rnext != &again) { /* splice behind the entries not reached */
        again.rnext->rprev = ep->ready.rprev;
        ep->ready.rprev->rnext = again.rnext;
        again.rprev->rnext = &ep->ready;
        ep->ready.rprev = again.rprev;
    }
    return n;
}

/* A read through anypoll that drained a plain fd (EAGAIN, or a short read of a stream): bits a
 * look at a nested instance saw high went low, so the next data is a new wake-up, even if it
 * comes before any tick could see the fd low. */
void ap_poll_nested_io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked)
{
    if (!atomic_load_explicit(&ap_poll_nested_regs, memory_order_relaxed) || dir == AP_IO_OUT)
        return;
    if (ap_fd_kind(fd) != AP_KIND_PLAIN) return;
    int again = res < 0 && (err == EAGAIN || err == EWOULDBLOCK);
    if (!again && res < 0) return;
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    if (!again && !(o && o->stream && res > 0 && (size_t)res < asked)) o = NULL;
    for (struct ap_reg *r = o ? o->watchers : NULL; r; r = r->wnext) {
        if (!(r->nseen & EV_IN) || (r->nseen & (EPOLLRDHUP | EPOLLHUP))) continue;
        r->nseen &= ~(uint32_t)EV_IN;
        wake_nesting(r->ep, 0);
    }
    ap_unlock();
}

/* A shutdown() through anypoll succeeded on fd: the kernel wakes every watcher of the socket
 * (sk_state_change, no key), so each EPOLLET registration reports its whole mask again — also
 * when no bit poll() shows moved, as for SHUT_RD after the peer's SHUT_WR. Queued here, the
 * entry is looked at closely (its level of the moment) by the next evaluation. */
void ap_poll_shutdown_seen(int fd)
{
    if (ap_fd_kind(fd) != AP_KIND_PLAIN) return;
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    for (struct ap_reg *r = o ? o->watchers : NULL; r; r = r->wnext) {
        if (r->disabled || !(r->events & EPOLLET)) continue;
        ap_poll_ready_add(r->ep, r);
        ap_poll_ep_wake(r->ep);
        if (r->ep->base.watchers) { /* a wake-up of the instance too */
            atomic_fetch_add(&r->ep->base.sh->in_seq, 1);
            wake_nesting(r->ep, 0);
        }
    }
    ap_unlock();
}

/* --- the wait ---------------------------------------------------------------------------- */

/* A wait that blocks more than once (a wake-up with nothing to report for this wait, a tick)
 * runs code between its poll() calls. A handled signal arriving there would run its handler
 * outside poll(), and the next poll() would sleep on: the kernel's wait ends with EINTR
 * whenever a handler runs while it sleeps. So from its first blocking poll() on, a wait holds
 * every asynchronous signal and lets poll() alone take them, with the caller's mask (or the
 * wait's own) applied atomically: a handler then runs only inside poll(), which fails with
 * EINTR, and one arriving while the wait evaluates stays pending until the next poll() — or
 * until the wait returns events, as the kernel's wait prefers events to a signal. Synchronous
 * signals are never held (a fault while they are blocked would kill the process). */
static sigset_t async_sigs; /* every signal but the synchronous ones, built once */
static pthread_once_t async_sigs_once = PTHREAD_ONCE_INIT;

static void build_async_sigs(void)
{
    sigfillset(&async_sigs);
    /* not a static table: the signal numbers are run-time values on some hosts (Cosmopolitan) */
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (size_t i = 0; i < sizeof sync_sigs / sizeof *sync_sigs; i++)
        sigdelset(&async_sigs, sync_sigs[i]);
}

static void hold_signals(sigset_t *caller_mask, int *held)
{
    pthread_once(&async_sigs_once, build_async_sigs);
    *held = pthread_sigmask(SIG_BLOCK, &async_sigs, caller_mask) == 0;
}

static void release_signals(const sigset_t *caller_mask, int held, int err)
{
    if (!held) return;
    pthread_sigmask(SIG_SETMASK, caller_mask, NULL); /* a signal held since runs its handler now */
    errno = err;
}

/* The mask a blocking poll() of a wait applies: the wait's own, else the caller's. */
static const sigset_t *poll_mask(const sigset_t *sigmask, const sigset_t *caller_mask, int held)
{
    return sigmask || !held ? sigmask : caller_mask;
}

static struct ap_epoll *epoll_of(int epfd)
{
    struct ap_obj *o = ap_fd_obj(epfd);
    if (o && o->kind == AP_KIND_EPOLL) return ap_poll_as_epoll(o);
    errno = ap_fd_kind(epfd) != AP_KIND_NONE || ap_poll_fd_is_open(epfd) ? EINVAL : EBADF;
    return NULL;
}

static int64_t deadline_of(int ms, const struct timespec *ts)
{
    if (ts) {
        if (ts->tv_sec > (int64_t)1 << 32) return -1; /* beyond any clock: forever */
        return ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    }
    if (ms < 0) return -1;
    return ap_sys_now_ns() + (int64_t)ms * 1000000;
}

int ap_poll_ep_wait(int epfd, struct epoll_event *events, int maxevents, int ms,
                    const struct timespec *ts, const sigset_t *sigmask)
{
    int64_t deadline = deadline_of(ms, ts);
    ap_clockd_ensure(); /* a fork child's timers need the helper thread */
    ap_lock();
    struct ap_epoll *ep = epoll_of(epfd);
    if (!ep) {
        ap_unlock();
        return -1;
    }
    if (maxevents <= 0 || maxevents > INT_MAX / (int)sizeof(struct epoll_event)) {
        ap_unlock();
        errno = EINVAL;
        return -1;
    }
    ep->base.busy++;
    /* A wait that may block and has nothing queued goes straight to the blocking poll(), which
     * returns at once if anything is ready: one system call per wake-up, not two. */
    int may_block = ts ? (ts->tv_sec || ts->tv_nsec) : ms != 0;
    int n = 0, all_suspects = 1, sigs_held = 0;
    sigset_t caller_mask;
    int do_poll = may_block && ep->ready.rnext == &ep->ready ? 0 : POLL_NOW;
    struct pollset s = {0};
    for (;;) {
        ap_poll_apply_pending(ep);
        if (do_poll == POLL_NOW && set_rebuild(&s, ep) < 0) {
            n = -1;
            break;
        }
        /* With only its wake channel to look at (no plain fd, no nested instance), a wait
         * that looks without blocking needs no poll(): the objects' levels are known, and a
         * ring left in the channel only ends the next blocking poll() at once, to be drained
         * there. */
        int look = do_poll == POLL_NOW && s.borrowed && s.n == 1 ? 0 : do_poll;
        if (evaluate(ep, &s, look, all_suspects, 0) < 0) {
            errno = ENOMEM;
            n = -1;
            break;
        }
        if (!do_poll && ep->ready.rnext != &ep->ready) {
            do_poll = POLL_NOW; /* something to deliver: the plain fds must be looked at too */
            continue;
        }
        n = deliver(ep, events, maxevents);
        if (n) break; /* events, or -1 EFAULT */
        int64_t left = -1;
        if (deadline >= 0) {
            left = deadline - ap_sys_now_ns();
            if (left <= 0) break;
        }
        /* Block. Patches made while we sleep wait for us to come back. */
        ap_poll_apply_pending(ep);
        if ((ep->changed || !s.borrowed || ep->nnested) && set_rebuild(&s, ep) < 0) {
            n = -1;
            break;
        }
        /* Suspects, and signals directed at this very thread (the helper thread sees only the
         * process's), are looked at every tick while blocked. */
        int ticking = (ep->nsusp > 0 || ep->nsigfd > 0 || s.masked > 0) &&
                      (left < 0 || left > SUSPECT_TICK_NS);
        if (ticking) left = SUSPECT_TICK_NS;
        struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        set_arm(&s, ep);
        for (int i = 0; i < s.n; i++) s.pfd[i].revents = 0;
        if (s.borrowed) ep->polling = 1;
        ep->inpoll++;
        ep->waiters++;
        struct ap_blocked me = {ep->wake_gen, ep->blocked};
        ep->blocked = &me;
        ap_unlock();
        /* Held outside the lock: a handler that runs before is one that ran before the wait
         * blocked, as it could have anywhere between the wait's entry and here. */
        if (!sigs_held) hold_signals(&caller_mask, &sigs_held);
        int pr = ap_sys_ppoll(s.pfd, (nfds_t)s.n, left < 0 ? NULL : &t,
                              poll_mask(sigmask, &caller_mask, sigs_held));
        s.nready = pr;
        int perr = errno;
        ap_lock();
        for (int i = s.base; pr > 0 && i < s.n; i++) /* armed entries: look_at_owned's */
            s.nready -= s.pfd[i].revents != 0;
        set_disarm(&s);
        for (struct ap_blocked **b = &ep->blocked; *b; b = &(*b)->next)
            if (*b == &me) {
                *b = me.next;
                break;
            }
        ep->waiters--;
        ep->inpoll--;
        if (s.borrowed) ep->polling = 0;
        if (pr < 0) {
            errno = perr == EINTR ? EINTR : perr;
            n = -1;
            break;
        }
        /* The answer is this round's poll unless the array changed meanwhile or nested
         * instances must be looked at (their fds were only in the set to wake us). Wake
         * channels are drained from the set that was polled before ap_poll_apply_pending may grow
         * or compact a borrowed array and free the registrations it named. */
        if (ep->changed || ep->pending || !s.borrowed) {
            int plain_answered = 0;
            for (int i = 0; i < s.n; i++)
                if (s.preg[i] && !s.preg[i]->obj && (s.pfd[i].revents & POLLIN))
                    ap_poll_ep_drain(s.preg[i]->ep);
                else
                    plain_answered |= s.pfd[i].revents != 0;
            /* Woken by its bell alone (another thread's ctl): nothing of the old set is news,
             * so no look at the new one either; the blocking poll() of it returns at once if
             * anything there is ready. A look here would be made under the lock, which the
             * thread that rang wants back for its next change. */
            do_poll = s.borrowed && !plain_answered ? 0 : POLL_NOW;
        } else {
            do_poll = TAKE_RESULTS;
        }
        ap_poll_apply_pending(ep);
        if (ep->changed && do_poll) do_poll = POLL_NOW;
        all_suspects = ticking && pr == 0;
    }
    set_free(&s);
    ep->base.busy--;
    ap_poll_release_if_unused(&ep->base);
    ap_unlock();
    release_signals(&caller_mask, sigs_held, errno);
    return n;
}

/* --- poll() over emulated fds -------------------------------------------------------------- */

static int ep_poll_fds(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                       const sigset_t *sigmask);

/* An eventfd's or a timerfd's user end is a socket, which would also answer RDNORM, WRNORM and
 * WRBAND (and OUT where its send buffer is never seen full, Winsock's): the kernel's eventfd
 * answers IN, OUT (and ERR) only, its timerfd IN only, so only those are asked for. */
int ap_poll_ep_poll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                    const sigset_t *sigmask)
{
    short *asked = NULL;
    for (nfds_t i = 0; fds && i < nfds; i++) {
        int kind = ap_fd_kind(fds[i].fd);
        if (kind != AP_KIND_EVENTFD && kind != AP_KIND_TIMERFD) continue;
        if (!asked) {
            if (!(asked = malloc((size_t)nfds * sizeof *asked))) {
                errno = ENOMEM;
                return -1;
            }
            for (nfds_t j = 0; j < nfds; j++) asked[j] = fds[j].events;
        }
        fds[i].events &= kind == AP_KIND_EVENTFD ? POLLIN | POLLOUT : POLLIN;
    }
    int r = ep_poll_fds(fds, nfds, ts, sigmask);
    int e = errno;
    for (nfds_t i = 0; asked && i < nfds; i++) fds[i].events = asked[i];
    free(asked);
    errno = e;
    return r;
}

/* poll() over a set that may hold emulated epoll fds: they are readable while a wait would
 * return something, and a blocked poll() wakes when one becomes so. Eventfds need nothing
 * more: their user end is readable exactly while the counter is non-zero. */
static int ep_poll_fds(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                       const sigset_t *sigmask)
{
    int any = 0;
    if (!fds && nfds) {
        errno = EFAULT;
        return -1;
    }
    ap_clockd_ensure(); /* a fork child's timers need the helper thread */
    for (nfds_t i = 0; i < nfds && !any; i++)
        any = ap_fd_kind(fds[i].fd) == AP_KIND_EPOLL || ap_fd_kind(fds[i].fd) == AP_KIND_SIGNALFD;
    if (!any) return ap_sys_ppoll(fds, nfds, ts, sigmask);
    int64_t deadline = deadline_of(-1, ts);
    int sigs_held = 0;
    sigset_t caller_mask;
    int *where = malloc((size_t)nfds * sizeof *where); /* plain entry i is s.pfd[where[i]] */
    if (!where) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        struct pollset s = {0};
        int ready = 0, failed = 0, sigfds = 0;
        /* -2 untouched, -1 an instance, -3 a signalfd */
        for (nfds_t i = 0; i < nfds; i++) where[i] = -2;
        ap_lock();
        failed = set_reserve(&s, (int)nfds) < 0;
        for (nfds_t i = 0; !failed && i < nfds; i++) {
            struct ap_obj *o = ap_fd_kind(fds[i].fd) == AP_KIND_EPOLL ? ap_fd_obj(fds[i].fd) : NULL;
            fds[i].revents = 0;
            where[i] = -1;
            struct ap_obj *sfd =
                ap_fd_kind(fds[i].fd) == AP_KIND_SIGNALFD ? ap_fd_obj(fds[i].fd) : NULL;
            if (sfd && sfd->kind == AP_KIND_SIGNALFD) {
                /* A signalfd is readable while a signal of its mask is pending for the process
                 * or for *this* thread: its level is computed here, in the polling thread (the
                 * level its socket shows is the last looker's, another thread's perhaps, or
                 * stale once another signalfd or sigtimedwait took the signal); while blocked,
                 * looked at every tick. */
                where[i] = -3;
                sigfds++;
                if ((ap_poll_file_level(sfd) & EPOLLIN) && (fds[i].events & POLLIN)) {
                    fds[i].revents = POLLIN;
                    ready++;
                }
            } else if (o && o->kind == AP_KIND_EPOLL) {
                if ((fds[i].events & (POLLIN | POLLRDNORM)) &&
                    ap_poll_ep_has_events(ap_poll_as_epoll(o), 1)) {
                    fds[i].revents = fds[i].events & (POLLIN | POLLRDNORM);
                    ready++;
                }
                failed = set_append_instance(&s, ap_poll_as_epoll(o), 1) < 0;
            } else {
                where[i] = s.n;
                s.pfd[s.n] = fds[i];
                s.preg[s.n++] = NULL;
            }
        }
        /* Instances being polled must wake us; they stay alive while we sleep. */
        for (nfds_t i = 0; i < nfds; i++)
            if (where[i] == -1 && ap_fd_obj(fds[i].fd)) {
                ap_poll_as_epoll(ap_fd_obj(fds[i].fd))->pollers++;
                ap_fd_obj(fds[i].fd)->busy++;
            }
        ap_unlock();

        int64_t left = deadline < 0 ? -1 : deadline - ap_sys_now_ns();
        if (left < 0 && deadline >= 0) left = 0;
        int pr = 0, perr = 0;
        if (!failed) {
            struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            /* s.masked: nested fds seen high are looked at again every tick; signalfds too */
            if (!ready && (s.masked || sigfds) && (left < 0 || left > SUSPECT_TICK_NS)) t.tv_sec = 0,
                t.tv_nsec = SUSPECT_TICK_NS, left = SUSPECT_TICK_NS;
            if (!ready && left != 0 && !sigs_held) hold_signals(&caller_mask, &sigs_held);
            /* With an instance ready the answer is known: the plain fds are only looked at, and
             * a signal the mask lets through is no reason to fail. */
            pr = ap_sys_ppoll(s.pfd, (nfds_t)s.n, ready || left == 0 ? &(struct timespec){0, 0}
                                                  : left < 0 ? NULL : &t,
                              ready ? NULL : poll_mask(sigmask, &caller_mask, sigs_held));
            perr = errno;
        }

        ap_lock();
        for (nfds_t i = 0; i < nfds; i++) {
            struct ap_obj *o = where[i] == -1 ? ap_fd_obj(fds[i].fd) : NULL;
            if (o) {
                ap_poll_as_epoll(o)->pollers--;
                o->busy--;
                ap_poll_release_if_unused(o);
            }
        }
        for (int k = 0; k < s.n; k++)
            if (s.preg[k] && (s.pfd[k].revents & POLLIN)) ap_poll_ep_drain(s.preg[k]->ep);
        ap_unlock();

        int count = ready;
        for (nfds_t i = 0; !failed && pr > 0 && i < nfds; i++)
            if (where[i] >= 0) {
                fds[i].revents = s.pfd[where[i]].revents;
                count += fds[i].revents != 0;
            }
        set_free(&s);
        if (failed || pr < 0) {
            free(where);
            release_signals(&caller_mask, sigs_held, failed ? ENOMEM : perr);
            return -1;
        }
        if (count || (deadline >= 0 && ap_sys_now_ns() >= deadline)) {
            free(where);
            release_signals(&caller_mask, sigs_held, errno);
            return count;
        }
    }
}
