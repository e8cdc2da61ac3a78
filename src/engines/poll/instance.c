/*
 * instance.c — one instance's own structures (engines/poll room, layer 1, the lowest above the
 * fd table): the ready list in the kernel's order, the pending list of changed registrations,
 * the suspects (EPOLLET registrations whose queue may grow unseen), the translation of
 * readiness bits between epoll and poll(), the pollfd array patched per change, the wake
 * channel, and the follow-up of an object's change (ops->changed). Emulated files' levels are
 * read here too.
 *
 * May call: fdtable.h, objects/ (the files' levels), host/sys.h. Nothing else of this room.
 * Runs under the engine lock.
 */
#include "engines/poll/poll_engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"
#include "objects/eventfd.h"
#include "objects/signalfd.h"
#include "objects/timerfd.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>

/* Emulated files read like an eventfd: a level known without a system call, wake-ups counted
 * in the IN/OUT sequences (eventfd.c, timerfd.c, signalfd.c). */
int ap_poll_is_file_kind(enum ap_kind k)
{
    return k == AP_KIND_EVENTFD || k == AP_KIND_TIMERFD || k == AP_KIND_SIGNALFD;
}

uint32_t ap_poll_file_level(struct ap_obj *o)
{
    switch (o->kind) {
    case AP_KIND_EVENTFD: return ap_eventfd_level((struct ap_eventfd *)o);
    case AP_KIND_TIMERFD: return ap_timerfd_level((struct ap_timerfd *)o);
    case AP_KIND_SIGNALFD: return ap_signalfd_level((struct ap_signalfd *)o);
    default: return 0;
    }
}

/* --- small lists ------------------------------------------------------------------------- */

int ap_poll_vec_push(struct ap_reg ***v, int *n, int *cap, struct ap_reg *r)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        struct ap_reg **nv = realloc(*v, (size_t)c * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = r;
    return *n - 1;
}

void ap_poll_ready_del(struct ap_reg *r)
{
    if (!r->on_ready) return;
    r->rprev->rnext = r->rnext;
    r->rnext->rprev = r->rprev;
    r->on_ready = 0;
}

void ap_poll_ready_add(struct ap_epoll *ep, struct ap_reg *r)
{
    if (r->on_ready) return;
    r->rprev = ep->ready.rprev;
    r->rnext = &ep->ready;
    ep->ready.rprev->rnext = r;
    ep->ready.rprev = r;
    r->on_ready = 1;
}

void ap_poll_mark_pending(struct ap_reg *r)
{
    if (r->on_pending || (r->slot < 0 && (r->dead || r->obj->kind != AP_KIND_PLAIN))) return;
    struct ap_epoll *ep = r->ep;
    r->on_pending = 1;
    r->pnext = NULL;
    if (!ep->pending) ep->pending_tail = &ep->pending;
    *ep->pending_tail = r;
    ep->pending_tail = &r->pnext;
}

/* A stream socket whose peer's shutdown the host's poll() cannot report by itself (no
 * POLLRDHUP: plain POSIX, macOS, NetBSD, OpenBSD): end of stream makes it readable on every
 * host, and a MSG_PEEK receive that answers 0 tells it from data (ap_poll_observed). */
static int peeks_for_shutdown(const struct ap_reg *r)
{
    return r->obj->socket && r->obj->stream && !ap_sys_poll_rdhup();
}

/* Registrations that poll() cannot watch for their next edge, looked at every tick instead:
 * for EPOLLET, data joining data already reported, and a FIFO (or tty) whose HUP or ERR was
 * reported — no longer polled, since poll() would report it for ever, yet a new writer (reader)
 * can open it and write (read: room for the writer), a new edge on the kernel. Where poll() has
 * no bit for the peer's shutdown (peeks_for_shutdown), also a stream socket whose shutdown is
 * watched but not seen yet while its readability is not asked: readable data reported
 * (EPOLLET), or no IN interest. Asking POLLIN in the shutdown's place would wake the wait at
 * once for ever while data waits unread, where the kernel sleeps. */
static int is_suspect(const struct ap_reg *r)
{
    if (r->dead || r->disabled || r->obj->kind != AP_KIND_PLAIN) return 0;
    uint32_t watched = ap_poll_watched(r);
    if (peeks_for_shutdown(r) && (watched & EPOLLRDHUP) &&
        !(r->seen & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !(watched & ~r->seen & EPOLLIN))
        return 1;
    if (!(r->events & EPOLLET)) return 0;
    if ((r->seen & (EPOLLHUP | EPOLLERR)) && r->obj->stream && !r->obj->socket) return 1;
    return (r->seen & (EV_IN | EPOLLPRI)) && !(r->seen & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
}

void ap_poll_update_suspect(struct ap_reg *r)
{
    struct ap_epoll *ep = r->ep;
    int want = is_suspect(r);
    if (want && r->susp < 0) {
        r->susp = ap_poll_vec_push(&ep->susp, &ep->nsusp, &ep->capsusp, r);
    } else if (!want && r->susp >= 0) {
        struct ap_reg *last = ep->susp[--ep->nsusp];
        ep->susp[r->susp] = last;
        last->susp = r->susp;
        r->susp = -1;
    }
}

/* --- readiness bits ---------------------------------------------------------------------- */

/* epoll bits and poll bits name the same conditions; the values differ on some hosts, and on
 * some (Cosmopolitan) the POLL* values are known only at run time: no table of them, tests. */

/* ERR and HUP are never asked for: poll() reports them anyway. The peer's shutdown is asked
 * for with the host's own bit (host/sys.h: POLLRDHUP where the host aids have one, else 0). */
short ap_poll_to_poll(uint32_t ev)
{
    int p = 0;
    if (ev & EPOLLIN) p |= POLLIN;
    if (ev & EPOLLPRI) p |= POLLPRI;
    if (ev & EPOLLOUT) p |= POLLOUT;
    if (ev & EPOLLRDNORM) p |= POLLRDNORM;
    if (ev & EPOLLRDBAND) p |= POLLRDBAND;
    if (ev & EPOLLWRNORM) p |= POLLWRNORM;
    if (ev & EPOLLWRBAND) p |= POLLWRBAND;
    if (ev & EPOLLRDHUP) p |= ap_sys_poll_rdhup();
    return (short)p;
}

uint32_t ap_poll_from_poll(short p)
{
    uint32_t ev = 0;
    short rdhup = ap_sys_poll_rdhup();
    if (p & POLLIN) ev |= EPOLLIN;
    if (p & POLLPRI) ev |= EPOLLPRI;
    if (p & POLLOUT) ev |= EPOLLOUT;
    if (p & POLLRDNORM) ev |= EPOLLRDNORM;
    if (p & POLLRDBAND) ev |= EPOLLRDBAND;
    if (p & POLLWRNORM) ev |= EPOLLWRNORM;
    if (p & POLLWRBAND) ev |= EPOLLWRBAND;
    if (p & POLLERR) ev |= EPOLLERR;
    if (p & POLLHUP) ev |= EPOLLHUP;
    if (p & rdhup) ev |= EPOLLRDHUP;
    return ev;
}

/* What the engine watches: what may be reported and, for EPOLLET, whatever wakes the
 * registration in the kernel, reported or not. A wake-up reaches a registration whose interest
 * shares a bit with the wake-up's key, and then the full current mask is reported: the peer's
 * shutdown wakes every watcher; data arriving on a socket wakes with IN|PRI|RDNORM|RDBAND (so
 * an OUT|PRI registration reports OUT on every arrival), on a pipe with IN|RDNORM; room to
 * write wakes with OUT|WRNORM|WRBAND. */
uint32_t ap_poll_watched(const struct ap_reg *r)
{
    uint32_t w = r->events & (EV_USER | EPOLLERR | EPOLLHUP);
    if (!(r->events & EPOLLET)) return w;
    uint32_t data_key = r->obj->socket ? (EV_IN | EPOLLPRI | EPOLLRDBAND) : EV_IN;
    w |= EPOLLRDHUP;
    if (r->events & data_key) w |= EV_IN;
    if (r->events & (EV_OUT | EPOLLWRBAND)) w |= EV_OUT;
    return w;
}

/* What poll() is asked for r's bits `want`: where the host's poll() has no bit for the peer's
 * shutdown, a stream socket is asked for readability in its place. */
short ap_poll_asked(const struct ap_reg *r, uint32_t want)
{
    short p = ap_poll_to_poll(want);
    if ((want & EPOLLRDHUP) && peeks_for_shutdown(r)) p |= POLLIN;
    return p;
}

/* What poll() answered, as the registration may see it. Where poll() has no bit for the peer's
 * shutdown, a socket that hung up has both directions shut, so its receive side too (POLLHUP:
 * with POLLIN on a stream socket, which alone also hangs up while unconnected); otherwise a
 * readable stream socket is at end of stream when a MSG_PEEK receive answers 0 — never peeked
 * with POLLERR: on Linux that receive would take the pending error the program's own call must
 * get (a reset's ECONNRESET, a refused connect's SO_ERROR). End of stream behind unread data,
 * and a datagram socket's own SHUT_RD, cannot be seen this way: docs/design.md, "Host aids". */
uint32_t ap_poll_observed(const struct ap_reg *r, int fd, short revents)
{
    uint32_t ev = ap_poll_from_poll(revents);
    uint32_t watched = ap_poll_watched(r);
    if ((watched & EPOLLRDHUP) && r->obj->socket && !ap_sys_poll_rdhup()) {
        char c;
        if ((revents & POLLHUP) && ((revents & POLLIN) || r->obj->queue == AP_QUEUE_DGRAM))
            ev |= EPOLLRDHUP;
        else if ((revents & POLLIN) && !(revents & POLLERR) && r->obj->stream &&
                 ap_sys_recv(fd, &c, 1, MSG_PEEK | AP_DONTWAIT) == 0)
            ev |= EPOLLRDHUP;
    }
    return ev & watched;
}

/* What may be reported: interest, and ERR and HUP always. */
uint32_t ap_poll_reportable(const struct ap_reg *r) { return r->events & (EV_USER | EPOLLERR | EPOLLHUP); }

/* --- the pollfd array -------------------------------------------------------------------- */

int ap_poll_poll_number(const struct ap_reg *r)
{
    return ap_fd_obj(r->fd) == r->obj ? r->fd : ap_obj_any_fd(r->obj);
}

/* The events a blocking poll asks for: -1 when the fd must not be polled at all. */
static int slot_events(const struct ap_reg *r)
{
    if (r->dead || r->disabled) return -1;
    uint32_t want = ap_poll_watched(r) & EV_USER;
    if (r->events & EPOLLET) {
        if (r->seen & (EPOLLERR | EPOLLHUP)) return -1; /* poll would report them forever */
        want &= ~r->seen;
    }
    return ap_poll_to_poll(want); /* a shutdown poll() cannot ask for: a suspect (is_suspect) */
}

/* Grows a pollfd array and its parallel registration array to hold `need` entries. */
int ap_poll_grow_slots(struct pollfd **pfd, struct ap_reg ***preg, int *cap, int need)
{
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 8;
    while (c < need) c *= 2;
    struct pollfd *p = realloc(*pfd, (size_t)c * sizeof *p);
    if (!p) return -1;
    *pfd = p;
    struct ap_reg **r = realloc(*preg, (size_t)c * sizeof *r);
    if (!r) return -1;
    *preg = r;
    *cap = c;
    return 0;
}

int ap_poll_pfd_reserve(struct ap_epoll *ep)
{
    return ap_poll_grow_slots(&ep->pfd, &ep->preg, &ep->cappfd, ep->npfd + 1);
}

static void compact(struct ap_epoll *ep)
{
    int j = 1;
    for (int i = 1; i < ep->npfd; i++) {
        if (!ep->preg[i]) continue;
        ep->pfd[j] = ep->pfd[i];
        ep->preg[j] = ep->preg[i];
        ep->preg[j]->slot = j;
        j++;
    }
    ep->npfd = j;
    ep->holes = 0;
}

/* Brings pfd up to date with every registration changed since; only while nobody polls it.
 * Registrations freed here were unlinked from everything else when they died. */
void ap_poll_apply_pending(struct ap_epoll *ep)
{
    if (ep->polling) return;
    while (ep->pending) {
        struct ap_reg *r = ep->pending;
        ep->pending = r->pnext;
        r->on_pending = 0;
        ep->changed = 1;
        if (r->dead) {
            if (r->slot >= 0) {
                ep->preg[r->slot] = NULL;
                ep->pfd[r->slot].fd = -1;
                ep->holes++;
                r->slot = -1;
            }
            r->pnext = ep->graveyard;
            ep->graveyard = r;
            continue;
        }
        ap_poll_update_suspect(r); /* a new registration may be one from the start */
        int ev = slot_events(r);
        int fd = ev < 0 ? -1 : ap_poll_poll_number(r);
        if (r->slot < 0) {
            /* retry at the next change; the fd stays unwatched */
            if (ap_poll_pfd_reserve(ep) < 0) {
                r->on_pending = 0;
                ap_poll_mark_pending(r);
                break;
            }
            r->slot = ep->npfd++;
            ep->preg[r->slot] = r;
        }
        ep->pfd[r->slot].fd = fd;
        ep->pfd[r->slot].events = (short)(ev < 0 ? 0 : ev);
        ep->pfd[r->slot].revents = 0;
    }
    if (ep->holes > 16 && ep->holes * 2 > ep->npfd) compact(ep);
    if (!ep->inpoll)
        while (ep->graveyard) {
            struct ap_reg *r = ep->graveyard;
            ep->graveyard = r->pnext;
            free(r);
        }
}

/* What waits to be read on r's file, through number fd (host/sys.h: -1 if unknown); the
 * evaluation (wait.c) and the evidence (evidence.c) both measure it. */
long ap_poll_queue_size(const struct ap_reg *r, int fd)
{
    return ap_sys_queue_size(fd, (enum ap_queue)r->obj->queue);
}

/* --- waking ------------------------------------------------------------------------------ */

/* The thread rings outside the lock (a handler that interrupted it must not wait for it).
 * A handler may read it first (AP_SIGNAL_SAFE_TLS). */
static AP_SIGNAL_SAFE_TLS volatile sig_atomic_t this_thread_rings;

/* ap_poll_ep_wake, but a ring that is due is left to the caller: 1 if so, and the caller calls
 * ap_poll_ep_ring once it has released the lock (a waiter the ring wakes then does not run
 * into it). The bell stays open until then (ap_poll_ep_ringing_done). */
int ap_poll_ep_wake_later(struct ap_epoll *ep)
{
    ep->wake_gen++;
    /* After a fork() a waiter may be in another process, where we cannot count it. */
    if (!ep->waiters && !ep->pollers && !ep->base.watchers && !ep->base.forked) return 0;
    if (atomic_exchange(&ep->wake_flag, 1)) return 0;
    atomic_fetch_add(&ep->ringing, 1);
    return 1;
}

void ap_poll_ep_ring(struct ap_epoll *ep)
{
    this_thread_rings++;
    ap_sys_bell_ring(&ep->wake);
    atomic_fetch_sub(&ep->ringing, 1);
    this_thread_rings--;
}

/* Under the lock, before the bell is closed: rings under way outside the lock are done (a few
 * instructions and one send of another thread, which needs no lock). */
void ap_poll_ep_ringing_done(struct ap_epoll *ep)
{
    while (atomic_load(&ep->ringing) && !this_thread_rings) sched_yield();
}

void ap_poll_ep_wake(struct ap_epoll *ep)
{
    if (ap_poll_ep_wake_later(ep)) ap_poll_ep_ring(ep);
}

/* Empties the wake channel — unless a waiter still blocked has not seen the latest change: the
 * byte stays, so its poll() returns too and it rebuilds its set (a waiter that slept through an
 * ADD would otherwise miss that fd until the next change). */
void ap_poll_ep_drain(struct ap_epoll *ep)
{
    for (struct ap_blocked *b = ep->blocked; b; b = b->next)
        if (b->gen != ep->wake_gen) return;
    ap_sys_bell_clear(&ep->wake);
    atomic_store(&ep->wake_flag, 0);
}

/* Something watched by `o` changed: every instance watching it (and those nesting them) must
 * look again. */
/* Something `o` is watched for happened, with the kernel's wake-up key (EPOLLIN for an eventfd
 * write, EPOLLOUT for a read): every registration whose interest holds a bit of the key is
 * queued now, in the order of the wake-ups, as the kernel's callback queues it, and every
 * instance watching it (and those nesting them) must look again. */
static void notify_watchers(struct ap_obj *o, uint32_t key, int depth, int token)
{
    uint64_t in = atomic_load(&o->sh->in_seq), out = atomic_load(&o->sh->out_seq);
    for (struct ap_reg *r = o->watchers; r; r = r->wnext) {
        /* Only a wake-up no look has taken yet: a wait may have seen the sequence move and
         * delivered it already, and one wake-up is one edge. */
        uint32_t pending = ((key & EPOLLIN) && r->in_seq != in ? EPOLLIN : 0) |
                           ((key & EPOLLOUT) && r->out_seq != out ? EPOLLOUT : 0);
        /* checked at next look */
        int hit = (r->events & pending) && !r->disabled;
        if (hit) ap_poll_ready_add(r->ep, r);
        /* Every thread blocked on the instance polls this eventfd's user end for IN (armed,
         * wait.c) and its token is there: that poll() returns, no wake byte is needed. Not so
         * for instances nested or polled, or shared with another process. */
        struct ap_epoll *w = r->ep;
        if (!(token && r->narmed && r->narmed == w->waiters && !w->pollers && !w->base.watchers &&
              !w->base.forked))
            ap_poll_ep_wake(w);
        /* The instance wakes its own watchers only when the wake-up reached the registration
         * (the kernel's callback stops at a disabled one or one whose interest misses the key:
         * an eventfd read, key OUT, is no new edge for an instance watching IN of it), and
         * only once: a look that took the wake-up first (wait.c, look_at_owned) told them. */
        if (depth < AP_EP_MAX_NESTS && r->ep->base.watchers && hit) {
            atomic_fetch_add(&r->ep->base.sh->in_seq, 1);
            notify_watchers(&r->ep->base, EPOLLIN, depth + 1, 0);
        }
    }
}

/* The follow-up of a change of o: an emulated file shows its level on the program's end of
 * its socketpair, and whoever watches it hears of the wake-ups it counted. With `later`, an
 * eventfd that turned readable (and is not shared with another process) is marked as showing
 * its token, but the token is sent by obj_show once the lock is released: a thread it wakes
 * then does not run into the lock (1: obj_show is due). */
static int obj_changed(struct ap_obj *o, int later)
{
    uint32_t level = ap_poll_is_file_kind(o->kind) ? ap_poll_file_level(o) : 0;
    /* Not at the maximum (not writable): the user end's send buffer is then filled here, and
     * the token goes first, as ap_fd_show_level orders them (Winsock, in an APE on Windows,
     * answered select() writable when the token came after the fill). */
    later = later && o->kind == AP_KIND_EVENTFD && !o->forked && (level & EPOLLIN) &&
            (level & EPOLLOUT) && !o->sh->token;
    if (ap_poll_is_file_kind(o->kind))
        ap_fd_show_level(o, later ? -1 : (level & EPOLLIN) != 0, (level & EPOLLOUT) != 0);
    if (later) {
        o->sh->token = 1; /* ap_fd_send_token; no other process shares it */
        atomic_store(&o->retract, 0);
        atomic_fetch_add(&o->showing, 1);
    }
    uint64_t in = atomic_load(&o->sh->in_seq), out = atomic_load(&o->sh->out_seq);
    uint32_t key = (in != o->told_in ? EPOLLIN : 0) | (out != o->told_out ? EPOLLOUT : 0);
    o->told_in = in;
    o->told_out = out;
    /* the token is marked under this lock only: it is what a poll() of the user end sees
     * once this follow-up is done */
    notify_watchers(o, key, 0, o->kind == AP_KIND_EVENTFD && !o->forked && o->sh->token);
    return later;
}

/* ops->changed of every object this engine serves. */
void ap_poll_obj_changed(struct ap_obj *o) { obj_changed(o, 0); }

/* ops->changed_unshown and ops->show of emulated files. */
int ap_poll_obj_changed_unshown(struct ap_obj *o) { return obj_changed(o, 1); }

void ap_poll_obj_show(struct ap_obj *o)
{
    int sent = ap_fd_send_token(o);
    if (sent && !atomic_load(&o->retract)) return;
    /* Not sent (the mark is still ours: nobody takes a token that is not there, nobody marks
     * one while it is marked), or wanted back by a read that emptied o meanwhile: shown again
     * as it is now. Waiters that counted on the token (notify_watchers) are rung. */
    ap_lock();
    if (!sent) o->sh->token = 0;
    uint32_t level = ap_poll_file_level(o);
    ap_fd_show_level(o, (level & EPOLLIN) != 0, (level & EPOLLOUT) != 0);
    if (!sent || ((level & EPOLLIN) && !o->sh->token))
        for (struct ap_reg *r = o->watchers; r; r = r->wnext) ap_poll_ep_wake(r->ep);
    ap_unlock();
}
