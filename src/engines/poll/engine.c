/*
 * engine_poll.c — epoll emulated on poll(): the engine for any POSIX host.
 *
 * An epoll instance is an anypoll object (emul.h) holding registrations keyed, like the
 * kernel's, by (fd number, open file). Plain fds are watched through one pollfd array per
 * instance that is kept between waits and patched per change, so a wait whose interest set did
 * not change does no O(N) work in user space beyond reading poll()'s answer. Slot 0 is the
 * instance's wake channel: ctl from another thread, a write to a watched eventfd, or evidence of
 * a drained fd writes one byte there, and a blocked waiter re-evaluates at once.
 *
 * Level-triggered registrations report what poll() says, masked to interest|ERR|HUP. The ready
 * list keeps the kernel's order: new readiness joins at the tail, reported level-triggered
 * entries go behind the ones not yet reported, so small maxevents rotate.
 *
 * EPOLLET is rebuilt from three sources (docs/design.md has the full argument):
 *   - objects anypoll owns (eventfd, timerfd, signalfd, epoll) count their wake-ups in sequences:
 *     every write (expiry, newly pending signal) is an edge, exactly as in the kernel, and
 *     nothing is polled for them;
 *   - a registration remembers the bits it reported ("seen"); poll() is asked only for the
 *     others, so a never-drained fd does not spin. A seen bit is re-armed when it is observed
 *     low, when the program's own I/O through anypoll shows a drain (EAGAIN, short read/write),
 *     or by EPOLL_CTL_MOD;
 *   - the readable byte count (FIONREAD) at the last report: a larger count later is new data,
 *     an edge even though nobody drained. Such "suspects" (IN seen, no EOF yet) are re-checked
 *     at every wait and, while a wait blocks, every SUSPECT_TICK_NS.
 */
#include "engines/engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"
#include "objects/clockd.h"
#include "objects/eventfd.h"
#include "objects/signalfd.h"
#include "objects/timerfd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUSPECT_TICK_NS 10000000 /* 10 ms */
#define MAX_NESTS 4              /* the kernel's EP_MAX_NESTS */

#define EV_USER (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |     \
                 EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)
#define EV_IN (EPOLLIN | EPOLLRDNORM)
#define EV_OUT (EPOLLOUT | EPOLLWRNORM)
#define EV_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |     \
                         EPOLLEXCLUSIVE)

struct ap_epoll;

struct ap_reg {
    struct ap_epoll *ep;
    struct ap_obj *obj; /* what is watched */
    int fd;             /* the number it was added with: with obj, the key */
    int slot;           /* index in ep->pfd, or -1 */
    uint32_t events;    /* interest and flags, EPOLLERR|EPOLLHUP always added */
    uint64_t data;
    uint32_t seen;      /* EPOLLET: reported and not observed low since */
    uint32_t level;     /* last observed readiness, masked */
    unsigned gen;       /* ep->gen when `level` was observed */
    uint64_t in_seq, out_seq; /* owned targets: sequences last looked at */
    long nread;         /* EPOLLET: queue size after the last report, -1 unknown */
    int susp;           /* index in ep->susp, or -1 */
    int owned_idx;      /* index in ep->owned, or -1 */
    unsigned disabled : 1, dead : 1, on_ready : 1, on_pending : 1, candidate : 1;
    struct ap_reg *wnext, *wprev; /* obj->watchers */
    struct ap_reg *dnext, *dprev; /* et_dgram_list */
    struct ap_reg *rnext, *rprev; /* ep ready list */
    struct ap_reg *hnext;         /* ep hash chain */
    struct ap_reg *pnext;         /* ep pending list, then graveyard */
};

/* A thread blocked in a wait on an instance, and the change generation its poll set reflects. */
struct ap_blocked {
    unsigned gen;
    struct ap_blocked *next;
};

struct ap_epoll {
    struct ap_obj base;
    struct ap_reg wake_reg; /* stands for the wake channel in pollsets (obj == NULL) */
    int wake_w; /* our dup of the user end: a byte written here wakes waiters polling peer */
    atomic_int wake_flag;
    unsigned wake_gen;         /* bumped by every change a blocked waiter must look at */
    struct ap_blocked *blocked; /* waiters inside their blocking poll() */
    struct ap_reg **hash;
    size_t hcap, count;
    struct pollfd *pfd; /* slot 0: wake channel; others: plain registrations */
    struct ap_reg **preg;
    int npfd, cappfd, holes;
    int polling;  /* a waiter is in poll() on pfd itself: patch later */
    int inpoll;   /* waiters in poll() with pfd or a copy of it: keep dead regs */
    int waiters;  /* threads inside a blocking wait on this instance */
    int pollers;  /* anypoll_poll() calls blocked on this instance */
    int changed;  /* pfd was patched since the last poll of it */
    unsigned gen;
    struct ap_reg *pending, **pending_tail, *graveyard; /* pending is FIFO: slots keep ADD order */
    struct ap_reg ready; /* sentinel */
    struct ap_reg **owned;
    int nowned, capowned, nnested;
    int nsigfd; /* registered signalfds: a blocked wait looks at its own pending signals */
    struct ap_reg **susp;
    int nsusp, capsusp;
};

static struct ap_epoll *as_epoll(struct ap_obj *o) { return (struct ap_epoll *)o; }

static void drop_number(int fd);
static void release_if_unused(struct ap_obj *o);

/* Emulated files read like an eventfd: a level known without a system call, wake-ups counted
 * in the IN/OUT sequences (eventfd.c, timerfd.c, signalfd.c). */
static int is_file_kind(enum ap_kind k)
{
    return k == AP_KIND_EVENTFD || k == AP_KIND_TIMERFD || k == AP_KIND_SIGNALFD;
}

static uint32_t file_level(struct ap_obj *o)
{
    switch (o->kind) {
    case AP_KIND_EVENTFD: return ap_eventfd_level((struct ap_eventfd *)o);
    case AP_KIND_TIMERFD: return ap_timerfd_level((struct ap_timerfd *)o);
    case AP_KIND_SIGNALFD: return ap_signalfd_level((struct ap_signalfd *)o);
    default: return 0;
    }
}

/* --- small lists ------------------------------------------------------------------------- */

static int vec_push(struct ap_reg ***v, int *n, int *cap, struct ap_reg *r)
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

static void ready_del(struct ap_reg *r)
{
    if (!r->on_ready) return;
    r->rprev->rnext = r->rnext;
    r->rnext->rprev = r->rprev;
    r->on_ready = 0;
}

static void ready_add(struct ap_epoll *ep, struct ap_reg *r)
{
    if (r->on_ready) return;
    r->rprev = ep->ready.rprev;
    r->rnext = &ep->ready;
    ep->ready.rprev->rnext = r;
    ep->ready.rprev = r;
    r->on_ready = 1;
}

static void mark_pending(struct ap_reg *r)
{
    if (r->on_pending || (r->slot < 0 && (r->dead || r->obj->kind != AP_KIND_PLAIN))) return;
    struct ap_epoll *ep = r->ep;
    r->on_pending = 1;
    r->pnext = NULL;
    if (!ep->pending) ep->pending_tail = &ep->pending;
    *ep->pending_tail = r;
    ep->pending_tail = &r->pnext;
}

static int is_suspect(const struct ap_reg *r)
{
    return !r->dead && !r->disabled && (r->events & EPOLLET) && r->obj->kind == AP_KIND_PLAIN &&
           (r->seen & (EV_IN | EPOLLPRI)) && !(r->seen & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
}

static void update_suspect(struct ap_reg *r)
{
    struct ap_epoll *ep = r->ep;
    int want = is_suspect(r);
    if (want && r->susp < 0) {
        r->susp = vec_push(&ep->susp, &ep->nsusp, &ep->capsusp, r);
    } else if (!want && r->susp >= 0) {
        struct ap_reg *last = ep->susp[--ep->nsusp];
        ep->susp[r->susp] = last;
        last->susp = r->susp;
        r->susp = -1;
    }
}

/* --- readiness bits ---------------------------------------------------------------------- */

/* epoll bits and poll bits name the same conditions; the values differ on some hosts. */
static const struct {
    uint32_t ep;
    short poll;
} bit_map[] = {
    {EPOLLIN, POLLIN},         {EPOLLPRI, POLLPRI},       {EPOLLOUT, POLLOUT},
    {EPOLLRDNORM, POLLRDNORM}, {EPOLLRDBAND, POLLRDBAND}, {EPOLLWRNORM, POLLWRNORM},
    {EPOLLWRBAND, POLLWRBAND}, {EPOLLERR, POLLERR},       {EPOLLHUP, POLLHUP},
#ifdef POLLRDHUP
    {EPOLLRDHUP, POLLRDHUP},
#endif
};

/* ERR and HUP are never asked for: poll() reports them anyway. */
static short to_poll(uint32_t ev)
{
    short p = 0;
    for (size_t i = 0; i < sizeof bit_map / sizeof *bit_map; i++)
        if ((ev & bit_map[i].ep) && !(bit_map[i].ep & (EPOLLERR | EPOLLHUP))) p |= bit_map[i].poll;
    return p;
}

static uint32_t from_poll(short p)
{
    uint32_t ev = 0;
    for (size_t i = 0; i < sizeof bit_map / sizeof *bit_map; i++)
        if (p & bit_map[i].poll) ev |= bit_map[i].ep;
    return ev;
}

/* What the engine watches: what may be reported and, for EPOLLET, whatever wakes the
 * registration in the kernel, reported or not. A wake-up reaches a registration whose interest
 * shares a bit with the wake-up's key, and then the full current mask is reported: the peer's
 * shutdown wakes every watcher; data arriving on a socket wakes with IN|PRI|RDNORM|RDBAND (so
 * an OUT|PRI registration reports OUT on every arrival), on a pipe with IN|RDNORM; room to
 * write wakes with OUT|WRNORM|WRBAND. */
static uint32_t watched(const struct ap_reg *r)
{
    uint32_t w = r->events & (EV_USER | EPOLLERR | EPOLLHUP);
    if (!(r->events & EPOLLET)) return w;
    uint32_t data_key = r->obj->socket ? (EV_IN | EPOLLPRI | EPOLLRDBAND) : EV_IN;
    w |= EPOLLRDHUP;
    if (r->events & data_key) w |= EV_IN;
    if (r->events & (EV_OUT | EPOLLWRBAND)) w |= EV_OUT;
    return w;
}

/* What poll() answered, as the registration may see it. Hosts without POLLRDHUP learn of the
 * peer's shutdown by peeking: readable with nothing to read is end of stream. */
static uint32_t observed(const struct ap_reg *r, int fd, short revents)
{
    uint32_t ev = from_poll(revents);
#ifndef POLLRDHUP
    if ((watched(r) & EPOLLRDHUP) && (revents & POLLIN) && r->obj->stream) {
        char c;
        if (ap_sys_recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) ev |= EPOLLRDHUP;
    }
#else
    (void)fd;
#endif
    return ev & watched(r);
}

/* What may be reported: interest, and ERR and HUP always. */
static uint32_t reportable(const struct ap_reg *r) { return r->events & (EV_USER | EPOLLERR | EPOLLHUP); }

/* --- the pollfd array -------------------------------------------------------------------- */

static int poll_number(const struct ap_reg *r)
{
    return ap_fd_obj(r->fd) == r->obj ? r->fd : ap_obj_any_fd(r->obj);
}

/* The events a blocking poll asks for: -1 when the fd must not be polled at all. */
static int slot_events(const struct ap_reg *r)
{
    if (r->dead || r->disabled) return -1;
    uint32_t want = watched(r) & EV_USER;
    if (r->events & EPOLLET) {
        if (r->seen & (EPOLLERR | EPOLLHUP)) return -1; /* poll would report them forever */
        want &= ~r->seen;
    }
    return to_poll(want);
}

/* Grows a pollfd array and its parallel registration array to hold `need` entries. */
static int grow_slots(struct pollfd **pfd, struct ap_reg ***preg, int *cap, int need)
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

static int pfd_reserve(struct ap_epoll *ep)
{
    return grow_slots(&ep->pfd, &ep->preg, &ep->cappfd, ep->npfd + 1);
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
static void apply_pending(struct ap_epoll *ep)
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
        int ev = slot_events(r);
        int fd = ev < 0 ? -1 : poll_number(r);
        if (r->slot < 0) {
            if (pfd_reserve(ep) < 0) { /* retry at the next change; the fd stays unwatched */
                r->on_pending = 0;
                mark_pending(r);
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

/* --- waking ------------------------------------------------------------------------------ */

static void ep_wake(struct ap_epoll *ep)
{
    ep->wake_gen++;
    /* After a fork() a waiter may be in another process, where we cannot count it. */
    if (!ep->waiters && !ep->pollers && !ep->base.watchers && !ep->base.forked) return;
    if (atomic_exchange(&ep->wake_flag, 1)) return;
    ap_sys_send(ep->wake_w, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Empties the wake channel — unless a waiter still blocked has not seen the latest change: the
 * byte stays, so its poll() returns too and it rebuilds its set (a waiter that slept through an
 * ADD would otherwise miss that fd until the next change). */
static void ep_drain(struct ap_epoll *ep)
{
    for (struct ap_blocked *b = ep->blocked; b; b = b->next)
        if (b->gen != ep->wake_gen) return;
    char buf[64];
    while (ap_sys_recv(ep->base.peer, buf, sizeof buf, MSG_DONTWAIT) == (ssize_t)sizeof buf) {
    }
    atomic_store(&ep->wake_flag, 0);
}

/* Something watched by `o` changed: every instance watching it (and those nesting them) must
 * look again. */
/* Something `o` is watched for happened, with the kernel's wake-up key (EPOLLIN for an eventfd
 * write, EPOLLOUT for a read): every registration whose interest holds a bit of the key is
 * queued now, in the order of the wake-ups, as the kernel's callback queues it, and every
 * instance watching it (and those nesting them) must look again. */
static void notify_watchers(struct ap_obj *o, uint32_t key, int depth)
{
    uint64_t in = atomic_load(&o->sh->in_seq), out = atomic_load(&o->sh->out_seq);
    for (struct ap_reg *r = o->watchers; r; r = r->wnext) {
        /* Only a wake-up no look has taken yet: a wait may have seen the sequence move and
         * delivered it already, and one wake-up is one edge. */
        uint32_t pending = ((key & EPOLLIN) && r->in_seq != in ? EPOLLIN : 0) |
                           ((key & EPOLLOUT) && r->out_seq != out ? EPOLLOUT : 0);
        if ((r->events & pending) && !r->disabled) ready_add(r->ep, r); /* checked at next look */
        ep_wake(r->ep);
        if (depth < MAX_NESTS && r->ep->base.watchers) {
            atomic_fetch_add(&r->ep->base.sh->in_seq, 1);
            notify_watchers(&r->ep->base, EPOLLIN, depth + 1);
        }
    }
}

/* ops->changed of every object this engine serves: an emulated file shows its level on the
 * program's end of its socketpair, and whoever watches it hears of the wake-ups it counted. */
static void obj_changed(struct ap_obj *o)
{
    if (is_file_kind(o->kind)) {
        uint32_t level = file_level(o);
        ap_fd_show_level(o, (level & EPOLLIN) != 0, (level & EPOLLOUT) != 0);
    }
    uint64_t in = atomic_load(&o->sh->in_seq), out = atomic_load(&o->sh->out_seq);
    uint32_t key = (in != o->told_in ? EPOLLIN : 0) | (out != o->told_out ? EPOLLOUT : 0);
    o->told_in = in;
    o->told_out = out;
    notify_watchers(o, key, 0);
}

/* --- registrations ----------------------------------------------------------------------- */

static size_t hash_fd(int fd, size_t cap) { return ((size_t)fd * 2654435761u) & (cap - 1); }

static struct ap_reg *reg_find(struct ap_epoll *ep, int fd, struct ap_obj *o)
{
    if (!ep->hcap) return NULL;
    for (struct ap_reg *r = ep->hash[hash_fd(fd, ep->hcap)]; r; r = r->hnext)
        if (r->fd == fd && r->obj == o) return r;
    return NULL;
}

static int hash_insert(struct ap_epoll *ep, struct ap_reg *r)
{
    if ((ep->count + 1) * 2 > ep->hcap) {
        size_t cap = ep->hcap ? ep->hcap * 2 : 16;
        struct ap_reg **h = calloc(cap, sizeof *h);
        if (!h) return -1;
        for (size_t i = 0; i < ep->hcap; i++)
            for (struct ap_reg *x = ep->hash[i], *nx; x; x = nx) {
                nx = x->hnext;
                size_t s = hash_fd(x->fd, cap);
                x->hnext = h[s];
                h[s] = x;
            }
        free(ep->hash);
        ep->hash = h;
        ep->hcap = cap;
    }
    size_t s = hash_fd(r->fd, ep->hcap);
    r->hnext = ep->hash[s];
    ep->hash[s] = r;
    ep->count++;
    return 0;
}

static void hash_remove(struct ap_epoll *ep, struct ap_reg *r)
{
    struct ap_reg **pp = &ep->hash[hash_fd(r->fd, ep->hcap)];
    while (*pp && *pp != r) pp = &(*pp)->hnext;
    if (*pp) {
        *pp = r->hnext;
        ep->count--;
    }
}

static void watcher_unlink(struct ap_reg *r)
{
    if (r->wprev) r->wprev->wnext = r->wnext;
    else r->obj->watchers = r->wnext;
    if (r->wnext) r->wnext->wprev = r->wprev;
    r->wnext = r->wprev = NULL;
}

/* Live EPOLLET registrations of plain fds in this process: while there are none, the
 * evidence of the program's I/O (io_seen) has nobody to tell and skips the lock. */
static atomic_long et_plain_regs;
/* ... of datagram sockets: until there is one, a receive needs no measuring first. */
static atomic_long et_dgram_regs;
static struct ap_reg *et_dgram_list; /* under the lock: those registrations */
static void et_count(struct ap_reg *r, long delta)
{
    if ((r->events & EPOLLET) && r->obj->kind == AP_KIND_PLAIN) {
        atomic_fetch_add_explicit(&et_plain_regs, delta, memory_order_relaxed);
        if (r->obj->queue == AP_QUEUE_DGRAM) {
            atomic_fetch_add_explicit(&et_dgram_regs, delta, memory_order_relaxed);
            if (delta > 0) {
                r->dprev = NULL;
                r->dnext = et_dgram_list;
                if (et_dgram_list) et_dgram_list->dprev = r;
                et_dgram_list = r;
            } else {
                if (r->dprev) r->dprev->dnext = r->dnext;
                else et_dgram_list = r->dnext;
                if (r->dnext) r->dnext->dprev = r->dprev;
                r->dnext = r->dprev = NULL;
            }
        }
    }
}

/* Removes a registration from everything; its memory goes when no poll() can refer to it. */
static void reg_kill(struct ap_reg *r)
{
    if (!r->dead) et_count(r, -1);
    struct ap_epoll *ep = r->ep;
    ready_del(r);
    hash_remove(ep, r);
    watcher_unlink(r);
    r->dead = 1;
    update_suspect(r);
    if (r->owned_idx >= 0) {
        struct ap_reg *last = ep->owned[--ep->nowned];
        ep->owned[r->owned_idx] = last;
        last->owned_idx = r->owned_idx;
        if (r->obj->kind == AP_KIND_EPOLL) ep->nnested--;
        if (r->obj->kind == AP_KIND_SIGNALFD) ep->nsigfd--;
    }
    if (r->on_pending) {
        /* apply_pending buries it */
    } else if (r->slot >= 0) {
        mark_pending(r);
    } else {
        r->pnext = ep->graveyard;
        ep->graveyard = r;
    }
    /* A plain object nobody watches and whose numbers anypoll never saw duplicated is
     * forgotten, so I/O on it stops costing a lookup. */
    struct ap_obj *o = r->obj;
    if (o->kind == AP_KIND_PLAIN && !o->watchers && o->nfds == 1) drop_number(o->fds[0]);
}

/* Is `target` (an epoll) reachable from `from`, or nested too deep? */
static int loops(struct ap_epoll *from, struct ap_epoll *target, int depth)
{
    if (from == target) return 1;
    if (depth >= MAX_NESTS) return 1;
    for (int i = 0; i < from->nowned; i++) {
        struct ap_reg *r = from->owned[i];
        if (r->obj->kind == AP_KIND_EPOLL && loops(as_epoll(r->obj), target, depth + 1)) return 1;
    }
    return 0;
}

/* How many instances lie below `ep` (0: no epoll registered in it), and above it (0: it is in
 * no instance). The kernel (6.18 here) refuses an ADD of an instance (ELOOP) when the chain it
 * would make, down from the added one plus up from the one it joins, exceeds MAX_NESTS. */
static int depth_down(struct ap_epoll *ep, int depth)
{
    int best = 0;
    for (int i = 0; depth <= MAX_NESTS && i < ep->nowned; i++) {
        struct ap_reg *r = ep->owned[i];
        if (r->obj->kind != AP_KIND_EPOLL) continue;
        int d = 1 + depth_down(as_epoll(r->obj), depth + 1);
        if (d > best) best = d;
    }
    return best;
}

static int depth_up(struct ap_epoll *ep, int depth)
{
    int best = 0;
    for (struct ap_reg *r = ep->base.watchers; depth <= MAX_NESTS && r; r = r->wnext) {
        int d = 1 + depth_up(r->ep, depth + 1);
        if (d > best) best = d;
    }
    return best;
}

/* The kernel answers EPERM for files without a poll method. */
static int pollable(const struct stat *st)
{
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISBLK(st->st_mode)) return 0;
    if (S_ISCHR(st->st_mode)) {
        static const char *const unpollable[] = {"/dev/null", "/dev/zero", "/dev/full"};
        for (size_t i = 0; i < sizeof unpollable / sizeof *unpollable; i++) {
            struct stat d;
            if (stat(unpollable[i], &d) == 0 && S_ISCHR(d.st_mode) && d.st_rdev == st->st_rdev)
                return 0;
        }
    }
    return 1;
}

static int fd_is_open(int fd) { return ap_sys_fcntl(fd, F_GETFD, 0) >= 0; }

/* The plain object `fd` refers to now, created when `create`; NULL with errno. */
static struct ap_obj *plain_for(int fd, const struct stat *st, int create)
{
    int fl = ap_sys_fcntl(fd, F_GETFL, 0);
    int acc = fl < 0 ? 0 : (fl & O_ACCMODE);
    struct ap_obj *o = ap_fd_obj(fd);
    if (o && (o->kind != AP_KIND_PLAIN || o->dev != st->st_dev || o->ino != st->st_ino ||
              o->accmode != acc)) {
        drop_number(fd); /* the number was closed behind our back and now names a new file */
        o = NULL;
    }
    if (o) return o;
    o = ap_plain_find(st->st_dev, st->st_ino, acc);
    if (o) {
        if (ap_fd_bind(fd, o) < 0) return NULL;
        return o;
    }
    if (!create) {
        errno = ENOENT;
        return NULL;
    }
    return ap_plain_new(fd, st, acc);
}

static int ep_has_events(struct ap_epoll *ep, int depth);

/* At ADD and MOD the kernel polls the file and, if it is ready, queues the registration right
 * away: behind whatever is queued already, ahead of what becomes ready later. Done the same way
 * here (an entry already queued keeps its place); the next wait checks it again. */
static void queue_if_ready(struct ap_epoll *ep, struct ap_reg *r)
{
    if (r->on_ready) return;
    uint32_t lv = 0;
    if (is_file_kind(r->obj->kind)) {
        lv = file_level(r->obj);
    } else if (r->obj->kind == AP_KIND_EPOLL) {
        lv = ep_has_events(as_epoll(r->obj), 1) ? EPOLLIN : 0;
    } else {
        struct pollfd p = {.fd = poll_number(r), .events = to_poll(watched(r) & EV_USER)};
        if (p.fd >= 0 && ap_sys_ppoll(&p, 1, &(struct timespec){0, 0}, NULL) == 1 &&
            !(p.revents & POLLNVAL))
            lv = from_poll(p.revents);
    }
    if (lv & reportable(r)) ready_add(ep, r);
}

static int ep_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    enum ap_kind ek = ap_fd_kind(epfd), tk = ap_fd_kind(fd);
    struct stat st;
    if (ek == AP_KIND_NONE && !fd_is_open(epfd)) return errno = EBADF, -1;
    if (!is_file_kind(tk) && tk != AP_KIND_EPOLL) {
        if (fstat(fd, &st) < 0) return errno = EBADF, -1;
        if (!pollable(&st)) return errno = EPERM, -1;
    }
    if (ek != AP_KIND_EPOLL) return errno = EINVAL, -1;
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
        return errno = EINVAL, -1;
    uint32_t events = op == EPOLL_CTL_DEL ? 0 : event->events;

    ap_lock();
    int rc = -1;
    struct ap_obj *eo = ap_fd_obj(epfd);
    struct ap_obj *o = NULL;
    if (!eo || eo->kind != AP_KIND_EPOLL) {
        errno = EBADF;
        goto out;
    }
    struct ap_epoll *ep = as_epoll(eo);
    if (is_file_kind(tk) || tk == AP_KIND_EPOLL) o = ap_fd_obj(fd);
    else o = plain_for(fd, &st, op == EPOLL_CTL_ADD);
    if (!o) {
        /* the kernel refuses EPOLLEXCLUSIVE in MOD before it looks the registration up */
        if (errno == ENOENT && op == EPOLL_CTL_MOD && (events & EPOLLEXCLUSIVE)) errno = EINVAL;
        else if (errno != ENOENT) errno = errno == ENOMEM ? ENOMEM : EBADF;
        goto out;
    }
    if (o == eo) {
        errno = EINVAL;
        goto out;
    }
    if (events & EPOLLEXCLUSIVE) {
        if (op == EPOLL_CTL_MOD ||
            (op == EPOLL_CTL_ADD && (o->kind == AP_KIND_EPOLL || (events & ~EV_EXCLUSIVE_OK)))) {
            errno = EINVAL;
            goto out;
        }
    }
    if (op == EPOLL_CTL_ADD && o->kind == AP_KIND_EPOLL &&
        (loops(as_epoll(o), ep, 0) || depth_down(as_epoll(o), 0) + 1 + depth_up(ep, 0) > MAX_NESTS)) {
        errno = ELOOP;
        goto out;
    }
    struct ap_reg *r = reg_find(ep, fd, o);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (r) {
            errno = EEXIST;
            goto out;
        }
        r = calloc(1, sizeof *r);
        if (r) {
            r->ep = ep;
            r->obj = o;
            r->fd = fd;
        }
        if (!r || hash_insert(ep, r) < 0) {
            free(r);
            errno = ENOMEM;
            goto out;
        }
        r->slot = r->susp = r->owned_idx = -1;
        r->nread = -1;
        r->events = events | EPOLLERR | EPOLLHUP;
        r->data = event->data.u64;
        et_count(r, +1);
        r->wnext = o->watchers;
        if (o->watchers) o->watchers->wprev = r;
        o->watchers = r;
        if (o->kind == AP_KIND_PLAIN) {
            mark_pending(r);
        } else {
            r->in_seq = atomic_load(&o->sh->in_seq);
            r->out_seq = atomic_load(&o->sh->out_seq);
            r->owned_idx = vec_push(&ep->owned, &ep->nowned, &ep->capowned, r);
            if (r->owned_idx < 0) {
                reg_kill(r);
                errno = ENOMEM;
                goto out;
            }
            if (o->kind == AP_KIND_EPOLL) ep->nnested++;
            if (o->kind == AP_KIND_SIGNALFD) ep->nsigfd++;
        }
        queue_if_ready(ep, r);
        break;
    case EPOLL_CTL_MOD:
        if (!r) {
            errno = ENOENT;
            goto out;
        }
        if (r->events & EPOLLEXCLUSIVE) {
            errno = EINVAL;
            goto out;
        }
        et_count(r, -1);
        r->events = events | EPOLLERR | EPOLLHUP;
        et_count(r, +1);
        r->data = event->data.u64;
        r->disabled = 0;
        r->seen = 0; /* MOD re-reads readiness: an edge if ready now */
        r->nread = -1;
        queue_if_ready(ep, r);
        update_suspect(r);
        mark_pending(r);
        break;
    default: /* DEL */
        if (!r) {
            errno = ENOENT;
            goto out;
        }
        reg_kill(r);
        break;
    }
    ep_wake(ep);
    rc = 0;
out:
    ap_unlock();
    return rc;
}

/* --- evaluation --------------------------------------------------------------------------- */

/* A set of pollfds one wait hands to poll(): the instance's own array, or a private copy when
 * it is already in use or must be extended (nested instances). */
struct pollset {
    struct pollfd *pfd;
    struct ap_reg **preg;
    int n, cap;
    int nready; /* what the last poll() of it returned */
    int borrowed; /* pfd/preg are the instance's own */
};

static int set_reserve(struct pollset *s, int extra)
{
    return grow_slots(&s->pfd, &s->preg, &s->cap, s->n + extra);
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
 * every instance nested in it. Entries are marked by a NULL registration. */
static int set_append_instance(struct pollset *s, struct ap_epoll *ep, int depth)
{
    if (set_reserve(s, ep->npfd) < 0) return -1;
    for (int i = 0; i < ep->npfd; i++) { /* not revents: a waiter's poll() may be writing it */
        s->pfd[s->n] = (struct pollfd){.fd = ep->pfd[i].fd, .events = ep->pfd[i].events};
        s->preg[s->n++] = i == 0 ? &ep->wake_reg : NULL; /* nested fds only wake us */
    }
    for (int i = 0; depth < MAX_NESTS && i < ep->nowned; i++)
        if (ep->owned[i]->obj->kind == AP_KIND_EPOLL && !ep->owned[i]->disabled &&
            set_append_instance(s, as_epoll(ep->owned[i]->obj), depth + 1) < 0)
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
            set_append_instance(s, as_epoll(ep->owned[i]->obj), 1) < 0)
            return -1;
    return 0;
}

static long queue_size(const struct ap_reg *r, int fd)
{
    return ap_sys_queue_size(fd, (enum ap_queue)r->obj->queue);
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
            if (rev & POLLIN) ep_drain(r->ep);
            continue;
        }
        if (!r || r->dead || r->disabled || r->obj->kind != AP_KIND_PLAIN) continue;
        if (rev & POLLNVAL) { /* closed without anypoll_close: the number is gone */
            if (s->pfd[i].fd == poll_number(r)) drop_number(s->pfd[i].fd);
            continue;
        }
        if (!(r->events & EPOLLET)) {
            r->level = observed(r, s->pfd[i].fd, rev);
            r->gen = ep->gen;
            if (r->level) ready_add(ep, r);
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
        p[i].fd = poll_number(cand[i]);
        p[i].events = to_poll(watched(cand[i]) & EV_USER);
        p[i].revents = 0;
    }
    ap_sys_ppoll(p, (nfds_t)ncand, &(struct timespec){0, 0}, NULL);
    for (int i = 0; i < ncand; i++) {
        struct ap_reg *r = cand[i];
        r->candidate = 0;
        if (r->dead || r->disabled) continue;
        uint32_t lv = (p[i].revents & POLLNVAL) ? 0 : observed(r, p[i].fd, p[i].revents);
        uint32_t before = r->seen;
        r->seen &= lv;
        int edge = (lv & ~r->seen) != 0;
        if ((r->seen & EV_IN) && (lv & EPOLLIN) && r->nread >= 0) {
            long now = queue_size(r, p[i].fd);
            if (now > r->nread) edge = 1;
            if (now >= 0) r->nread = now;
        }
        if (edge || r->on_ready) {
            r->level = lv;
            /* a queued entry that is not ready stays in place until delivery passes it, as
             * the kernel drops one only when its scan reaches it */
            if (lv & reportable(r)) ready_add(ep, r);
        }
        if (r->seen != before) {
            mark_pending(r);
            update_suspect(r);
        }
    }
    if (p != stackp) free(p);
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
    int njoin = 0;
    for (int i = 0; i < ep->nowned; i++) {
        struct ap_reg *r = ep->owned[i];
        if (r->disabled) continue;
        uint32_t lv;
        if (is_file_kind(r->obj->kind))
            lv = file_level(r->obj);
        else
            lv = depth < MAX_NESTS && ep_has_events(as_epoll(r->obj), depth + 1)
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
    for (int i = 0; i < njoin; i++) ready_add(ep, join[i]);
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
    if (r->dead || r->disabled || !(r->level & reportable(r))) return 0;
    if (!(r->events & EPOLLET) && r->gen != ep->gen) return 0;
    return 1;
}

/* Would a wait on `ep` return something now? Used when ep is nested or polled. */
static int ep_has_events(struct ap_epoll *ep, int depth)
{
    apply_pending(ep);
    struct pollset s;
    if (set_build(&s, ep) < 0) return 0;
    /* only this instance's own fds: nested ones are looked at through look_at_owned */
    if (!s.borrowed) s.n = ep->npfd;
    if (!s.borrowed) ep->inpoll++;
    evaluate(ep, &s, POLL_NOW, 1, depth);
    if (!s.borrowed) ep->inpoll--;
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
            ready_del(r);
            r = next;
            continue;
        }
        out[n].events = r->level & reportable(r);
        out[n].data.u64 = r->data;
        n++;
        ready_del(r);
        if (r->events & EPOLLONESHOT) {
            r->disabled = 1;
            update_suspect(r);
            mark_pending(r);
        } else if (r->events & EPOLLET) {
            if (r->seen != r->level) mark_pending(r);
            r->seen = r->level;
            r->nread = r->obj->kind == AP_KIND_PLAIN && (r->level & EPOLLIN)
                           ? queue_size(r, poll_number(r)) : -1;
            update_suspect(r);
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

/* --- the wait ---------------------------------------------------------------------------- */

static struct ap_epoll *epoll_of(int epfd)
{
    struct ap_obj *o = ap_fd_obj(epfd);
    if (o && o->kind == AP_KIND_EPOLL) return as_epoll(o);
    errno = ap_fd_kind(epfd) != AP_KIND_NONE || fd_is_open(epfd) ? EINVAL : EBADF;
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

static int ep_wait(int epfd, struct epoll_event *events, int maxevents, int ms,
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
    int n = 0, all_suspects = 1;
    int do_poll = may_block && ep->ready.rnext == &ep->ready ? 0 : POLL_NOW;
    struct pollset s = {0};
    for (;;) {
        apply_pending(ep);
        if (do_poll == POLL_NOW) {
            set_free(&s);
            if (set_build(&s, ep) < 0) {
                errno = ENOMEM;
                n = -1;
                break;
            }
            ep->changed = 0;
        }
        if (evaluate(ep, &s, do_poll, all_suspects, 0) < 0) {
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
        apply_pending(ep);
        if (ep->changed || !s.borrowed || ep->nnested) {
            set_free(&s);
            if (set_build(&s, ep) < 0) {
                errno = ENOMEM;
                n = -1;
                break;
            }
            ep->changed = 0;
        }
        /* Suspects, and signals directed at this very thread (the helper thread sees only the
         * process's), are looked at every tick while blocked. */
        int ticking = (ep->nsusp > 0 || ep->nsigfd > 0) && (left < 0 || left > SUSPECT_TICK_NS);
        if (ticking) left = SUSPECT_TICK_NS;
        struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        for (int i = 0; i < s.n; i++) s.pfd[i].revents = 0;
        if (s.borrowed) ep->polling = 1;
        ep->inpoll++;
        ep->waiters++;
        struct ap_blocked me = {ep->wake_gen, ep->blocked};
        ep->blocked = &me;
        ap_unlock();
        int pr = ap_sys_ppoll(s.pfd, (nfds_t)s.n, left < 0 ? NULL : &t, sigmask);
        s.nready = pr;
        int perr = errno;
        ap_lock();
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
         * channels are drained from the set that was polled before apply_pending may grow
         * or compact a borrowed array and free the registrations it named. */
        if (ep->changed || ep->pending || !s.borrowed) {
            for (int i = 0; i < s.n; i++)
                if (s.preg[i] && !s.preg[i]->obj && (s.pfd[i].revents & POLLIN))
                    ep_drain(s.preg[i]->ep);
            do_poll = POLL_NOW;
        } else {
            do_poll = TAKE_RESULTS;
        }
        apply_pending(ep);
        if (ep->changed) do_poll = POLL_NOW;
        all_suspects = ticking && pr == 0;
    }
    set_free(&s);
    ep->base.busy--;
    release_if_unused(&ep->base);
    ap_unlock();
    return n;
}

/* --- the end of numbers and objects (under the lock) ----------------------------------------- */

static void number_gone(struct ap_obj *o, int fd)
{
    for (struct ap_reg *r = o->watchers, *next; r; r = next) {
        next = r->wnext;
        if (!o->nfds && !o->busy) {
            /* the last number of the file is closed: the kernel drops its registrations */
            struct ap_epoll *ep = r->ep;
            reg_kill(r);
            ep_wake(ep);
        } else if (r->slot >= 0 && r->ep->pfd[r->slot].fd == fd) {
            mark_pending(r); /* poll it through another number of the same file */
            ep_wake(r->ep);
        }
    }
}

static void epoll_destroy(struct ap_epoll *ep)
{
    while (ep->pending) { /* live ones are freed below, through the hash */
        struct ap_reg *r = ep->pending;
        ep->pending = r->pnext;
        if (r->dead) free(r);
    }
    for (size_t i = 0; i < ep->hcap; i++)
        for (struct ap_reg *r = ep->hash[i], *nx; r; r = nx) {
            nx = r->hnext;
            watcher_unlink(r);
            if (!r->dead) et_count(r, -1);
            struct ap_obj *o = r->obj;
            if (o->kind == AP_KIND_PLAIN && !o->watchers && o->nfds == 1) {
                free(r);
                drop_number(o->fds[0]);
                continue;
            }
            free(r);
        }
    while (ep->graveyard) {
        struct ap_reg *r = ep->graveyard;
        ep->graveyard = r->pnext;
        free(r);
    }
    if (ep->wake_w >= 0) ap_sys_close(ep->wake_w);
    ap_obj_destroy(&ep->base);
    free(ep->hash);
    free(ep->pfd);
    free(ep->preg);
    free(ep->owned);
    free(ep->susp);
    free(ep);
}

/* The last number of o is closed and nobody is inside an operation on it: it goes. */
static void obj_released(struct ap_obj *o)
{
    /* whoever still watches o loses it, as when the kernel releases a file */
    while (o->watchers) {
        struct ap_epoll *ep = o->watchers->ep;
        reg_kill(o->watchers);
        ep_wake(ep);
    }
    switch (o->kind) {
    case AP_KIND_EPOLL: epoll_destroy(as_epoll(o)); break;
    case AP_KIND_EVENTFD: ap_eventfd_free((struct ap_eventfd *)o); break;
    case AP_KIND_TIMERFD: ap_timerfd_free((struct ap_timerfd *)o); break;
    case AP_KIND_SIGNALFD: ap_signalfd_free((struct ap_signalfd *)o); break;
    default: free(o);
    }
}

/* Frees o if it has no numbers and nobody is busy with it. */
static void release_if_unused(struct ap_obj *o)
{
    if (o->nfds || o->busy) return;
    ap_fd_detach(o);
    obj_released(o);
}

/* Number fd no longer refers to what the table says (closed, or reused behind our back). */
static void drop_number(int fd)
{
    struct ap_obj *o = ap_fd_obj(fd);
    if (!o) return;
    ap_fd_unbind(fd);
    number_gone(o, fd);
    release_if_unused(o);
}

static void instance_atfork_child(struct ap_obj *o)
{
    /* The threads that were waiting exist only in the parent. */
    struct ap_epoll *ep = as_epoll(o);
    ep->waiters = ep->pollers = ep->inpoll = ep->polling = 0;
    ep->blocked = NULL;
    atomic_store(&ep->wake_flag, 0); /* a byte pending from before is the parent's to drain */
    o->busy = 0;
}

/* --- how this engine serves objects (objects/object.h) ---------------------------------------- */

/* The program holds one end of a socketpair (fdtable.c); a file's end gets a tiny send buffer,
 * cheap to fill when it must not poll writable. */
static int file_attach(struct ap_obj *o, int cloexec)
{
    int fd = ap_fd_attach_pair(o, cloexec);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
    return fd;
}

/* A blocked read or write sleeps in poll() on its own number, which the follow-up of every
 * change keeps readable or writable as the object is (obj_changed): a signal interrupts it. */
static int file_block(struct ap_obj *o, int fd, uint32_t want, int64_t timeout_ns)
{
    (void)o;
    struct pollfd p = {.fd = fd, .events = to_poll(want)};
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    if (ap_sys_ppoll(&p, 1, timeout_ns < 0 ? NULL : &ts, NULL) < 0) return -1;
    /* the number was closed under us: the kernel's read keeps the file and waits on */
    if ((p.revents & POLLNVAL) && ap_sys_ppoll(NULL, 0, timeout_ns < 0 ? NULL : &ts, NULL) < 0)
        return -1;
    return 0;
}

static const struct ap_obj_ops file_ops = {
    .attach = file_attach,
    .changed = obj_changed,
    .block = file_block,
};

static const struct ap_obj_ops instance_ops = {
    .attach = ap_fd_attach_pair,
    .changed = obj_changed,
    .block = file_block, /* never called: an epoll fd has no read */
    .atfork_child = instance_atfork_child,
};

/* --- the engine's entry points ------------------------------------------------------------ */

static int usable(void) { return 1; }

static int ep_create(int flags)
{
    struct ap_epoll *ep = calloc(1, sizeof *ep);
    if (!ep || pfd_reserve(ep) < 0) {
        if (ep) free(ep->pfd), free(ep->preg);
        free(ep);
        errno = ENOMEM;
        return -1;
    }
    ep->ready.rnext = ep->ready.rprev = &ep->ready;
    ep->wake_reg.ep = ep;
    ep->wake_w = -1;
    ap_lock();
    int fd = ap_obj_create(&ep->base, AP_KIND_EPOLL, &instance_ops, !!(flags & EPOLL_CLOEXEC), 0);
    if (fd < 0) {
        ap_unlock();
        free(ep->pfd);
        free(ep->preg);
        free(ep);
        return -1;
    }
    ep->wake_w = ap_sys_fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (ep->wake_w >= 0) ep->wake_w = ap_sys_move_high(ep->wake_w);
    if (ep->wake_w < 0) {
        int e = errno;
        drop_number(fd); /* releases ep */
        ap_unlock();
        ap_sys_close(fd);
        errno = e;
        return -1;
    }
    ep->pfd[0] = (struct pollfd){.fd = ep->base.peer, .events = POLLIN};
    ep->preg[0] = &ep->wake_reg;
    ep->npfd = 1;
    ap_unlock();
    return fd;
}

static int owns(int fd)
{
    enum ap_kind k = ap_fd_kind(fd);
    return is_file_kind(k) || k == AP_KIND_EPOLL;
}

/* The emulated file of kind `kind` (0: any readable one) behind fd, held busy so a concurrent
 * close cannot free it under us. Not one: EBADF if fd is not open, else EINVAL (an epoll fd
 * has no read; a timerfd call on another file), as the kernel answers. */
static struct ap_obj *file_get(int fd, enum ap_kind kind)
{
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    if (o && (kind ? o->kind == kind : is_file_kind(o->kind))) o->busy++;
    else o = NULL;
    ap_unlock();
    if (!o) errno = fd_is_open(fd) ? EINVAL : EBADF;
    return o;
}

static void file_put(struct ap_obj *o)
{
    int e = errno;
    ap_lock();
    o->busy--;
    release_if_unused(o);
    ap_unlock();
    errno = e;
}

static ssize_t ep_read(int fd, void *buf, size_t n)
{
    struct ap_obj *o = file_get(fd, 0);
    if (!o) return -1;
    ssize_t r;
    if (o->kind == AP_KIND_TIMERFD) r = ap_timerfd_read((struct ap_timerfd *)o, fd, buf, n);
    else if (o->kind == AP_KIND_SIGNALFD) r = ap_signalfd_read((struct ap_signalfd *)o, fd, buf, n);
    else r = ap_eventfd_read((struct ap_eventfd *)o, fd, buf, n);
    file_put(o);
    return r;
}

static ssize_t ep_write(int fd, const void *buf, size_t n)
{
    /* The write path must stay async-signal-safe (libev writes from a handler): no lock.
     * A write racing with the close of the same fd is the caller's bug, as with any fd. */
    if (ap_fd_kind(fd) != AP_KIND_EVENTFD) {
        errno = EINVAL;
        return -1;
    }
    struct ap_obj *o = ap_fd_obj(fd);
    if (!o) {
        errno = EBADF;
        return -1;
    }
    return ap_eventfd_write((struct ap_eventfd *)o, fd, buf, n);
}

static int ep_eventfd(unsigned int initval, int flags)
{
    return ap_eventfd_create(initval, flags, &file_ops);
}

static int ep_timerfd_create(int clockid, int flags)
{
    return ap_timerfd_create(clockid, flags, &file_ops);
}

static int ep_timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *ov)
{
    struct ap_obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_settime((struct ap_timerfd *)o, flags, nv, ov);
    file_put(o);
    return r;
}

static int ep_timerfd_gettime(int fd, struct itimerspec *cur)
{
    struct ap_obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_gettime((struct ap_timerfd *)o, cur);
    file_put(o);
    return r;
}

static int ep_signalfd(int fd, const sigset_t *mask, int flags)
{
    if (fd == -1) return ap_signalfd_create(mask, flags, &file_ops);
    if (fd < 0) return errno = EBADF, -1;
    struct ap_obj *o = file_get(fd, AP_KIND_SIGNALFD);
    if (!o) return -1;
    int r = ap_signalfd_update((struct ap_signalfd *)o, mask);
    file_put(o);
    return r < 0 ? -1 : fd;
}

/* Evidence from the program's own I/O: a drained fd re-arms its EPOLLET bits. */
static void io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked)
{
    if (!atomic_load_explicit(&et_plain_regs, memory_order_relaxed)) return;
    if (ap_fd_kind(fd) != AP_KIND_PLAIN) return;
    int again = res < 0 && (err == EAGAIN || err == EWOULDBLOCK);
    if (res < 0 && !again) return;
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    int shortio = o && o->stream && res > 0 && (size_t)res < asked;
    uint32_t rearm = 0;
    if (dir == AP_IO_OUT && (again || shortio)) rearm = EV_OUT;
    if (dir != AP_IO_OUT && (again || shortio)) rearm = EV_IN;
    for (struct ap_reg *r = o ? o->watchers : NULL; r; r = r->wnext) {
        if (!(r->events & EPOLLET) || r->disabled) continue;
        int grew = 0; /* more was read than was known to be queued: new data came */
        if (r->nread >= 0 && res > 0 && dir != AP_IO_OUT) {
            if (o->queue == AP_QUEUE_BYTES) { /* cheaper than asking: the bytes just read */
                grew = dir == AP_IO_IN && res > r->nread && (watched(r) & EPOLLIN);
                r->nread = r->nread > res ? r->nread - (long)res : 0;
            } else {
                r->nread = queue_size(r, fd);
            }
        }
        if (dir == AP_IO_IN && res == 0 && asked > 0 && o->stream &&
            (watched(r) & EV_IN & ~r->seen)) {
            /* end of stream: readable from now on, and no new data can ever come */
            r->seen |= watched(r) & EV_IN;
            mark_pending(r);
            update_suspect(r);
        }
        /* Data read, a connection accepted or room written while that side was re-armed: it
         * arrived since the last report, so the kernel queued an edge then — reported with the
         * mask of the moment, as the kernel does, even if this very call took it away again. */
        uint32_t arrived = res > 0 ? (dir == AP_IO_OUT ? EPOLLOUT : EPOLLIN) : 0;
        if (((watched(r) & arrived) && !(r->seen & arrived)) || grew) {
            ready_add(r->ep, r);
            ep_wake(r->ep);
        }
        uint32_t arm = rearm;
        if (r->seen & (EPOLLRDHUP | EPOLLHUP)) arm &= ~EV_IN; /* after end of stream no data comes */
        if (r->seen & arm) {
            r->seen &= ~arm;
            mark_pending(r);
            update_suspect(r);
            ep_wake(r->ep);
        }
    }
    ap_unlock();
}

/* An EPOLLET registration whose IN was reported with its queue size known: a larger size later
 * is an arrival since that report, an edge the kernel queued at the arrival. */
static int awaits_growth(const struct ap_reg *r)
{
    return !r->disabled && r->nread >= 0 && (r->seen & EPOLLIN);
}

static void edge_if_grown(struct ap_reg *r, long now)
{
    if (now <= r->nread) return;
    r->nread = now;
    ready_add(r->ep, r);
    ep_wake(r->ep);
}

/* A datagram queue is measured in memory, and a receive takes a datagram's worth away: one
 * that arrived since the last report must be counted before the receive hides it behind the
 * smaller total (the kernel queued its edge at the arrival). Stream queues need no look:
 * io_seen compares the bytes read with the bytes known. */
static void io_reading(int fd)
{
    if (!atomic_load_explicit(&et_dgram_regs, memory_order_relaxed)) return;
    if (ap_fd_kind(fd) != AP_KIND_PLAIN) return;
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    long now = -2; /* not asked yet; -1: unknown */
    for (struct ap_reg *r = o && o->queue == AP_QUEUE_DGRAM ? o->watchers : NULL; r; r = r->wnext) {
        if (!(r->events & EPOLLET) || !awaits_growth(r)) continue;
        if (now == -2) now = queue_size(r, fd);
        edge_if_grown(r, now);
    }
    ap_unlock();
}

/* A datagram that arrived since the last report is an edge the kernel queued then. When the
 * arrivals are measured through the sender (AF_UNIX on Linux), they must be counted before the
 * sender goes: afterwards the receiver's queue can no longer be asked. Only while an EPOLLET
 * datagram registration exists, and only for such a sender. */
static void sender_going(int fd)
{
    if (!atomic_load_explicit(&et_dgram_regs, memory_order_relaxed) ||
        !ap_sys_queue_measured_through(fd))
        return;
    ap_lock();
    for (struct ap_reg *r = et_dgram_list; r; r = r->dnext) {
        if (!awaits_growth(r)) continue;
        int num = poll_number(r);
        edge_if_grown(r, num < 0 ? -1 : queue_size(r, num));
    }
    ap_unlock();
}

static int ep_close(int fd)
{
    sender_going(fd);
    if (ap_fd_kind(fd) != AP_KIND_NONE) {
        ap_lock();
        if (ap_fd_obj(fd)) drop_number(fd);
        ap_unlock();
    }
    return ap_sys_close(fd);
}

static int ep_dup_to(int oldfd, int newfd, int flags)
{
    int r;
    if (newfd < 0)
        r = ap_sys_fcntl(oldfd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD,
                         newfd == -1 ? 0 : -2 - newfd);
    else {
        if (newfd != oldfd) sender_going(newfd); /* dup2 onto it closes it */
        r = ap_sys_dup3(oldfd, newfd, flags);
    }
    if (r < 0) return -1;
    ap_lock();
    if (ap_fd_obj(r)) drop_number(r); /* dup2 onto a known number closed its old file */
    struct ap_obj *o = ap_fd_obj(oldfd);
    if (!o) {
        /* Remember the pair, so a registration of either outlives the close of the other. */
        struct stat st;
        if (fstat(oldfd, &st) == 0 && pollable(&st)) o = plain_for(oldfd, &st, 1);
    }
    if (o && ap_fd_bind(r, o) < 0) {
        ap_unlock();
        ap_sys_close(r);
        errno = ENOMEM;
        return -1;
    }
    ap_unlock();
    return r;
}

static int ep_fcntl(int fd, int cmd, intptr_t arg)
{
    int r = ap_sys_fcntl(fd, cmd, arg);
    if (r >= 0 && cmd == F_SETFL && owns(fd)) {
        ap_lock();
        struct ap_obj *o = ap_fd_obj(fd);
        if (o) atomic_store(&o->sh->nonblock, !!(arg & O_NONBLOCK));
        ap_unlock();
    }
    return r;
}

static int ep_poll_fds(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                       const sigset_t *sigmask);

/* An eventfd's user end is a socket, which would also answer RDNORM, WRNORM and WRBAND: the
 * kernel's eventfd answers IN, OUT (and ERR) only, so only those are asked for. */
static int ep_poll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                   const sigset_t *sigmask)
{
    short *asked = NULL;
    for (nfds_t i = 0; fds && i < nfds; i++) {
        if (ap_fd_kind(fds[i].fd) != AP_KIND_EVENTFD) continue;
        if (!asked) {
            if (!(asked = malloc((size_t)nfds * sizeof *asked))) {
                errno = ENOMEM;
                return -1;
            }
            for (nfds_t j = 0; j < nfds; j++) asked[j] = fds[j].events;
        }
        fds[i].events &= POLLIN | POLLOUT;
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
    for (nfds_t i = 0; i < nfds && !any; i++) any = ap_fd_kind(fds[i].fd) == AP_KIND_EPOLL;
    if (!any) return ap_sys_ppoll(fds, nfds, ts, sigmask);
    int64_t deadline = deadline_of(-1, ts);
    int *where = malloc((size_t)nfds * sizeof *where); /* plain entry i is s.pfd[where[i]] */
    if (!where) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        struct pollset s = {0};
        int ready = 0, failed = 0;
        for (nfds_t i = 0; i < nfds; i++) where[i] = -2; /* -2 untouched, -1 an instance */
        ap_lock();
        failed = set_reserve(&s, (int)nfds) < 0;
        for (nfds_t i = 0; !failed && i < nfds; i++) {
            struct ap_obj *o = ap_fd_kind(fds[i].fd) == AP_KIND_EPOLL ? ap_fd_obj(fds[i].fd) : NULL;
            fds[i].revents = 0;
            where[i] = -1;
            if (o && o->kind == AP_KIND_EPOLL) {
                if ((fds[i].events & (POLLIN | POLLRDNORM)) && ep_has_events(as_epoll(o), 1)) {
                    fds[i].revents = fds[i].events & (POLLIN | POLLRDNORM);
                    ready++;
                }
                failed = set_append_instance(&s, as_epoll(o), 1) < 0;
            } else {
                where[i] = s.n;
                s.pfd[s.n] = fds[i];
                s.preg[s.n++] = NULL;
            }
        }
        /* Instances being polled must wake us; they stay alive while we sleep. */
        for (nfds_t i = 0; i < nfds; i++)
            if (where[i] == -1 && ap_fd_obj(fds[i].fd)) {
                as_epoll(ap_fd_obj(fds[i].fd))->pollers++;
                ap_fd_obj(fds[i].fd)->busy++;
            }
        ap_unlock();

        int64_t left = deadline < 0 ? -1 : deadline - ap_sys_now_ns();
        if (left < 0 && deadline >= 0) left = 0;
        int pr = 0, perr = 0;
        if (!failed) {
            struct timespec t = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
            pr = ap_sys_ppoll(s.pfd, (nfds_t)s.n, ready || left == 0 ? &(struct timespec){0, 0}
                                                  : left < 0 ? NULL : &t,
                              ready || left == 0 ? NULL : sigmask);
            perr = errno;
        }

        ap_lock();
        for (nfds_t i = 0; i < nfds; i++) {
            struct ap_obj *o = where[i] == -1 ? ap_fd_obj(fds[i].fd) : NULL;
            if (o) {
                as_epoll(o)->pollers--;
                o->busy--;
                release_if_unused(o);
            }
        }
        for (int k = 0; k < s.n; k++)
            if (s.preg[k] && (s.pfd[k].revents & POLLIN)) ep_drain(s.preg[k]->ep);
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
            errno = failed ? ENOMEM : perr;
            return -1;
        }
        if (count || (deadline >= 0 && ap_sys_now_ns() >= deadline)) {
            free(where);
            return count;
        }
    }
}

const struct ap_engine ap_engine_poll = {
    .name = "poll",
    .usable = usable,
    .epoll_create1 = ep_create,
    .epoll_ctl = ep_ctl,
    .epoll_wait = ep_wait,
    .eventfd = ep_eventfd,
    .timerfd_create = ep_timerfd_create,
    .timerfd_settime = ep_timerfd_settime,
    .timerfd_gettime = ep_timerfd_gettime,
    .signalfd = ep_signalfd,
    .owns = owns,
    .read = ep_read,
    .write = ep_write,
    .poll = ep_poll,
    .io_seen = io_seen,
    .io_reading = io_reading,
    .close = ep_close,
    .dup_to = ep_dup_to,
    .fcntl = ep_fcntl,
    .live_objects = ap_live_objects,
};
