/*
 * engine.c — the "win" engine (engines/win room): epoll over AFD poll requests completed on
 * one I/O completion port per instance.
 *
 * It may touch afd (the driver), port (the port), host/sys.h and host/sys_win.h (sockets) and the
 * object layer (objects/: eventfd and timerfd, whose semantics live there, served through the
 * ops below); docs/windows.md explains the design and every known difference from Linux.
 * An fd is either a SOCKET value (a multiple of 4) or one of anypoll's descriptors, 4*i + 1,
 * which no SOCKET can equal: an epoll instance, or an object of the object layer (eventfd,
 * timerfd; the clock thread of objects/clockd.c fires timers). poll() over sets holding these
 * descriptors is answered here (WSAPoll takes SOCKETs only).
 * One engine lock guards every object; no call that can block is
 * made while holding it (the zero-timeout AFD poll that reads a level returns at once).
 * Compiled on Windows only.
 */
#ifdef _WIN32
#include "engines/engine.h"
#include "engines/win/afd.h"
#include "engines/win/port.h"
#include "host/sys.h"
#include "host/sys_win.h"
#include "objects/eventfd.h"
#include "objects/timerfd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EV_EXCLUSIVE_OK                                                                            \
    (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
#define SUSPECT_TICK_MS 10 /* how often unread sockets registered EPOLLET are re-measured */

enum kind { K_EPOLL = 1, K_FILE };

struct reg;

struct obj {
    enum kind kind;
    int refs;    /* descriptors naming it */
    int waiters; /* threads inside a wait, or inside an operation on a file */
    int nonblock; /* K_EPOLL: kept and ignored, as the kernel does (a file's is file->sh's) */
    struct reg *watchers; /* registrations of this object (file or instance), everywhere */
    /* K_FILE: the object layer's eventfd or timerfd; cv: readers blocked in it */
    struct ap_obj *file;
    CONDITION_VARIABLE cv;
    /* K_EPOLL */
    HANDLE port, afd;
    struct reg *regs;               /* live registrations */
    struct reg *ready_h, *ready_t;  /* the ready list, in the kernel's queueing order */
    struct reg *zombies;            /* deleted, their poll request not yet completed */
    struct obj *next_ep;            /* all instances */
    int nsuspects;
    int nnested; /* registrations of other instances in this one */
};

struct reg {
    struct obj *ep;
    int fd;
    struct obj *target; /* the file or instance, or NULL for a socket */
    SOCKET base;
    int stream;      /* SOCK_STREAM: its own shutdowns are probed (AFD has no event for them) */
    uint32_t events; /* interest, with ERR|HUP and the flags */
    uint64_t data;
    uint32_t seen;   /* EPOLLET: bits reported and not re-armed since */
    long inq;        /* EPOLLET: bytes queued when IN was last reported */
    int edge, on_ready, disabled, dead, suspect;
    struct reg *next, *rnext, *rprev, *wnext;
    /* the outstanding poll request */
    struct ap_afd_req req;
    int pending;
    uint32_t pending_mask;
};

static SRWLOCK lock = SRWLOCK_INIT;
static struct obj **table; /* indexed by descriptor number */
static unsigned char *cloexec;
static int ntable;
static int nlive;
static struct obj *instances;

static void lk(void) { AcquireSRWLockExclusive(&lock); }
static void unlk(void) { ReleaseSRWLockExclusive(&lock); }

/* --- descriptors ------------------------------------------------------------------------ */

/* SOCKET values are multiples of 4: every other positive number can be anypoll's. */
static int is_desc(int fd) { return fd > 0 && (fd & 3) != 0; }

static struct obj *obj_of(int fd) { return is_desc(fd) && fd < ntable ? table[fd] : NULL; }

/* The lowest free descriptor >= min (new ones start at 5: 1-3 look like stdio), or exactly
 * `exact` when it is >= 0. */
static int desc_new(struct obj *o, int ce, int min, int exact)
{
    int i = exact >= 0 ? exact : min > 5 ? min : 5;
    for (;; i++) {
        if (!is_desc(i)) continue;
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

/* --- readiness -------------------------------------------------------------------------- */

/* What Linux's tcp_poll/datagram_poll report for what AFD says. */
static uint32_t afd_to_epoll(uint32_t a)
{
    uint32_t m = 0;
    if (a & (AP_AFD_RECEIVE | AP_AFD_ACCEPT)) m |= EPOLLIN | EPOLLRDNORM;
    if (a & AP_AFD_RECEIVE_EXPEDITED) m |= EPOLLPRI | EPOLLRDBAND;
    if (a & AP_AFD_SEND) m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    if (a & AP_AFD_DISCONNECT) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if (a & (AP_AFD_ABORT | AP_AFD_CONNECT_FAIL))
        m |= EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | EPOLLERR | EPOLLHUP | EPOLLRDHUP;
    return m;
}

#define AFD_ALL                                                                                    \
    (AP_AFD_RECEIVE | AP_AFD_RECEIVE_EXPEDITED | AP_AFD_SEND | AP_AFD_DISCONNECT | AP_AFD_ABORT |  \
     AP_AFD_ACCEPT | AP_AFD_CONNECT_FAIL)

/* What the poll request of r asks for: its interest, less what EPOLLET already reported. */
static uint32_t wanted_afd(const struct reg *r)
{
    uint32_t want = (r->events & (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLRDNORM |
                                  EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND)) &
                    ~r->seen;
    uint32_t a = AP_AFD_LOCAL_CLOSE;
    /* data arriving wakes IN and PRI watchers alike (the kernel's key is IN|PRI|RDNORM|RDBAND) */
    if ((r->events & (EPOLLIN | EPOLLRDNORM | EPOLLPRI | EPOLLRDBAND)) && !(r->seen & EPOLLIN))
        a |= AP_AFD_RECEIVE | AP_AFD_ACCEPT;
    if (want & (EPOLLPRI | EPOLLRDBAND)) a |= AP_AFD_RECEIVE_EXPEDITED;
    if (want & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) a |= AP_AFD_SEND;
    /* the peer's shutdown wakes IN watchers too (it makes IN true) */
    if ((r->events & (EPOLLIN | EPOLLRDHUP)) && !(r->seen & EPOLLRDHUP)) a |= AP_AFD_DISCONNECT;
    if (!(r->seen & EPOLLERR)) a |= AP_AFD_ABORT | AP_AFD_CONNECT_FAIL;
    return a;
}

/* The key a completion's events wake the kernel's watchers with. */
static uint32_t afd_key(uint32_t a)
{
    uint32_t k = afd_to_epoll(a);
    if (a & AP_AFD_RECEIVE) k |= EPOLLPRI | EPOLLRDBAND;
    return k;
}

/* A socket's state as Linux's tcp_poll would report it: AFD's events, plus the socket's own
 * shutdowns, which AFD does not report (a zero-length send/recv fails once a direction is
 * shut). *gone is set when the socket no longer exists. */
static uint32_t socket_level(const struct reg *r, int *gone)
{
    uint32_t a = ap_afd_poll_now(r->base, AFD_ALL);
    *gone = (a & AP_AFD_LOCAL_CLOSE) != 0;
    if (*gone) return 0;
    uint32_t m = afd_to_epoll(a);
    if (r->stream && !(a & (AP_AFD_ABORT | AP_AFD_CONNECT_FAIL))) {
        /* only where the probe cannot block: a non-blocking socket, or a side that is ready */
        int err = WSAGetLastError(), nb = ap_win_nonblocking(r->fd);
        char c;
        int wr_shut = (nb || (a & AP_AFD_SEND)) && send((SOCKET)r->fd, &c, 0, 0) == SOCKET_ERROR &&
                      WSAGetLastError() == WSAESHUTDOWN;
        int rd_shut = (nb || (a & (AP_AFD_RECEIVE | AP_AFD_DISCONNECT))) &&
                      recv((SOCKET)r->fd, &c, 0, 0) == SOCKET_ERROR &&
                      WSAGetLastError() == WSAESHUTDOWN;
        WSASetLastError(err);
        if (rd_shut) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        if (wr_shut) m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
        if (wr_shut && (m & EPOLLRDHUP)) m |= EPOLLHUP;
    }
    return m;
}

/* A file's level, as the kernel's eventfd_poll / timerfd_poll give it (lock-free). */
static uint32_t file_level(struct ap_obj *f)
{
    return f->kind == AP_KIND_EVENTFD ? ap_eventfd_level((struct ap_eventfd *)f)
                                      : ap_timerfd_level((struct ap_timerfd *)f);
}

/* --- registrations ---------------------------------------------------------------------- */

static void queue(struct reg *r)
{
    struct obj *ep = r->ep;
    if (r->on_ready) return;
    r->on_ready = 1;
    r->rnext = NULL;
    r->rprev = ep->ready_t;
    if (ep->ready_t) ep->ready_t->rnext = r;
    else ep->ready_h = r;
    ep->ready_t = r;
}

static void unqueue(struct reg *r)
{
    struct obj *ep = r->ep;
    if (!r->on_ready) return;
    if (r->rprev) r->rprev->rnext = r->rnext;
    else ep->ready_h = r->rnext;
    if (r->rnext) r->rnext->rprev = r->rprev;
    else ep->ready_t = r->rprev;
    r->on_ready = 0;
    r->rnext = r->rprev = NULL;
}

static void wake(struct obj *ep)
{
    if (ep->waiters) ap_port_wake(ep->port);
}

/* A wake-up reached r: an edge, queued. As in the kernel, every wake-up of an instance also
 * wakes the instances watching it, whether or not r was queued already. */
static void poll_notify(void);

static void raise_edge(struct reg *r)
{
    poll_notify();
    r->edge = 1;
    queue(r);
    for (struct reg *w = r->ep->watchers; w; w = w->wnext)
        if (!w->disabled && (w->events & (EPOLLIN | EPOLLRDNORM))) {
            raise_edge(w);
            wake(w->ep);
        }
}

static void set_suspect(struct reg *r, int on)
{
    if (r->suspect == on) return;
    r->suspect = on;
    r->ep->nsuspects += on ? 1 : -1;
}

/* Removes r from its instance; its memory stays until its poll request has completed. */
static void reg_kill(struct reg *r)
{
    struct obj *ep = r->ep;
    unqueue(r);
    set_suspect(r, 0);
    r->dead = 1;
    for (struct reg **p = &ep->regs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    if (r->target) {
        for (struct reg **p = &r->target->watchers; *p; p = &(*p)->wnext)
            if (*p == r) {
                *p = r->wnext;
                break;
            }
        if (r->target->kind == K_EPOLL) ep->nnested--;
    }
    if (r->pending) {
        ap_afd_cancel(ep->afd, &r->req);
        r->next = ep->zombies;
        ep->zombies = r;
    } else {
        free(r);
    }
}

/* Registrations are keyed, as in the kernel, by (number, open file). */
static struct reg *reg_find(struct obj *ep, int fd, struct obj *target, SOCKET base)
{
    for (struct reg *r = ep->regs; r; r = r->next)
        if (r->fd == fd && r->target == target && (target || r->base == base)) return r;
    return NULL;
}

/* A completion arrived for r's request. */
static void completed(struct reg *r)
{
    r->pending = 0;
    if (r->dead) {
        struct obj *ep = r->ep;
        for (struct reg **p = &ep->zombies; *p; p = &(*p)->next)
            if (*p == r) {
                *p = r->next;
                break;
            }
        free(r);
        return;
    }
    uint32_t a = ap_afd_result(&r->req);
    if (a & AP_AFD_LOCAL_CLOSE) { /* closed behind anypoll's back: the kernel drops it too */
        reg_kill(r);
        return;
    }
    /* the request asked only for what r waits for: a wake-up whose key meets the interest */
    uint32_t m = afd_key(a) & (r->events | EPOLLERR | EPOLLHUP);
    if (m && !r->disabled) raise_edge(r);
}

/* Queued at ctl time if ready now, as the kernel's ep_insert/ep_modify do. */
static uint32_t target_level(struct obj *t);

static void queue_if_ready(struct reg *r)
{
    int gone = 0;
    uint32_t level = r->target ? target_level(r->target) : socket_level(r, &gone);
    if (level & (r->events | EPOLLERR | EPOLLHUP) & ~(uint32_t)(EPOLLET | EPOLLONESHOT))
        raise_edge(r);
}

/* Does instance x contain y, directly or through instances nested in it? */
static int contains(struct obj *x, struct obj *y)
{
    if (x == y) return 1;
    for (struct reg *r = x->regs; r; r = r->next)
        if (r->target && r->target->kind == K_EPOLL && contains(r->target, y)) return 1;
    return 0;
}

static int levels_below(struct obj *x)
{
    int d = 0;
    for (struct reg *r = x->regs; r; r = r->next)
        if (r->target && r->target->kind == K_EPOLL) {
            int k = 1 + levels_below(r->target);
            if (k > d) d = k;
        }
    return d;
}

static int levels_above(struct obj *x)
{
    int d = 0;
    for (struct reg *w = x->watchers; w; w = w->wnext) {
        int k = 1 + levels_above(w->ep);
        if (k > d) d = k;
    }
    return d;
}

/* --- epoll_create / ctl ------------------------------------------------------------------ */

static int ep_create(int flags)
{
    ap_win_startup();
    struct obj *o = calloc(1, sizeof *o);
    if (!o) return errno = ENOMEM, -1;
    o->kind = K_EPOLL;
    o->port = ap_port_create();
    o->afd = o->port ? ap_afd_open(o->port) : NULL;
    if (!o->afd) {
        int e = errno;
        if (o->port) ap_port_close(o->port);
        free(o);
        return errno = e, -1;
    }
    lk();
    int fd = desc_new(o, flags & EPOLL_CLOEXEC, 0, -1);
    if (fd >= 0) {
        o->next_ep = instances;
        instances = o;
        nlive++;
    }
    unlk();
    if (fd < 0) {
        CloseHandle(o->afd);
        ap_port_close(o->port);
        free(o);
    }
    return fd;
}

static int ep_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    ap_win_startup();
    lk();
    int rc = -1;
    struct obj *eo = obj_of(epfd), *to = obj_of(fd);
    SOCKET base = INVALID_SOCKET;
    if (!eo && !ap_win_is_socket(epfd)) {
        errno = EBADF;
        goto out;
    }
    if (!to) {
        if (is_desc(fd) || !ap_win_is_socket(fd) ||
            (base = ap_afd_base((SOCKET)fd)) == INVALID_SOCKET) {
            errno = EBADF;
            goto out;
        }
    } else if (to->kind == K_EPOLL && eo == to) {
        errno = EINVAL;
        goto out;
    }
    if (!eo || eo->kind != K_EPOLL || op < EPOLL_CTL_ADD || op > EPOLL_CTL_MOD) {
        errno = EINVAL;
        goto out;
    }
    uint32_t events = op == EPOLL_CTL_DEL ? 0 : event->events;
    if ((events & EPOLLEXCLUSIVE) &&
        (op == EPOLL_CTL_MOD || (events & ~EV_EXCLUSIVE_OK) || (to && to->kind == K_EPOLL))) {
        errno = EINVAL;
        goto out;
    }
    /* the kernel's loop check: no cycle, and no chain longer than EP_MAX_NESTS (4) */
    if (op == EPOLL_CTL_ADD && to && to->kind == K_EPOLL &&
        (contains(to, eo) || levels_above(eo) + 1 + levels_below(to) > 4)) {
        errno = ELOOP;
        goto out;
    }
    if (!to) { /* a reused number is a new socket: the old one is gone */
        for (struct reg *o = eo->regs; o; o = o->next)
            if (o->fd == fd && !o->target && o->base != base) {
                reg_kill(o);
                break;
            }
    }
    struct reg *r = reg_find(eo, fd, to, base);
    switch (op) {
    case EPOLL_CTL_ADD:
        if (r) {
            errno = EEXIST;
            goto out;
        }
        r = calloc(1, sizeof *r);
        if (!r) {
            errno = ENOMEM;
            goto out;
        }
        r->ep = eo;
        r->fd = fd;
        r->target = to;
        r->base = base;
        r->events = events | EPOLLERR | EPOLLHUP;
        r->data = event->data.u64;
        r->next = eo->regs;
        eo->regs = r;
        if (to) {
            r->wnext = to->watchers;
            to->watchers = r;
            if (to->kind == K_EPOLL) eo->nnested++;
        }
        if (!to) {
            int type = 0, len = sizeof type;
            getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
            r->stream = type == SOCK_STREAM;
        }
        queue_if_ready(r);
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
        r->events = events | EPOLLERR | EPOLLHUP;
        r->data = event->data.u64;
        r->disabled = 0;
        r->seen = 0; /* MOD re-reads readiness */
        set_suspect(r, 0);
        queue_if_ready(r);
        break;
    default:
        if (!r) {
            errno = ENOENT;
            goto out;
        }
        reg_kill(r);
        break;
    }
    wake(eo);
    rc = 0;
out:
    unlk();
    return rc;
}

/* --- epoll_wait ------------------------------------------------------------------------- */

/* EPOLLET sockets whose IN was reported while data stayed queued: a larger queue is a new
 * arrival (the kernel's edge), an empty one re-arms IN. */
static void check_suspects(struct obj *ep)
{
    if (!ep->nsuspects) return;
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (!r->suspect || r->disabled) continue;
        long q = ap_sys_queue_size(r->fd, AP_QUEUE_BYTES);
        if (q < 0) continue;
        if (q == 0) {
            r->seen &= ~(uint32_t)(EPOLLIN | EPOLLRDNORM);
            set_suspect(r, 0);
        } else if (q > r->inq) {
            raise_edge(r);
        } else {
            r->inq = q; /* read through someone else: a lower baseline */
        }
    }
}

/* Delivers from the ready list; returns the count. */
static int deliver(struct obj *ep, struct epoll_event *out, int max, int peek)
{
    int n = 0, budget = 0;
    for (struct reg *r = ep->ready_h; r; r = r->rnext) budget++;
    while (n < max && budget-- > 0 && ep->ready_h) {
        struct reg *r = ep->ready_h;
        unqueue(r);
        if (r->disabled) continue;
        uint32_t level;
        if (r->target) {
            level = target_level(r->target);
        } else {
            int gone;
            level = socket_level(r, &gone);
            if (gone) {
                reg_kill(r);
                continue;
            }
        }
        uint32_t m = level & (r->events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP));
        int et = (r->events & EPOLLET) != 0;
        if (!m || (et && !r->edge)) {
            r->edge = 0;
            continue;
        }
        if (peek) { /* EFAULT: the entry stays where it was, with its edge */
            r->edge = 1;
            unqueue(r);
            r->rnext = ep->ready_h;
            r->rprev = NULL;
            if (ep->ready_h) ep->ready_h->rprev = r;
            else ep->ready_t = r;
            ep->ready_h = r;
            r->on_ready = 1;
            return 1;
        }
        out[n].events = m;
        out[n].data.u64 = r->data;
        n++;
        r->edge = 0;
        if (r->events & EPOLLONESHOT) {
            r->disabled = 1;
            set_suspect(r, 0);
            if (r->pending) ap_afd_cancel(ep->afd, &r->req);
        } else if (et) {
            r->seen = level;
            if (!r->target && (level & EPOLLIN) && !(level & EPOLLRDHUP)) {
                r->inq = ap_sys_queue_size(r->fd, AP_QUEUE_BYTES);
                set_suspect(r, r->inq > 0);
            } else {
                set_suspect(r, 0);
            }
        } else {
            queue(r); /* level-triggered: behind the others, so small maxevents rotate */
        }
    }
    return n;
}

/* An instance is readable (IN|RDNORM, never more) while a wait on it would return something:
 * the kernel's ep_eventpoll_poll, which also drops the entries it finds not ready. */
static uint32_t target_level(struct obj *t)
{
    if (t->kind == K_FILE) return file_level(t->file);
    struct epoll_event one;
    return deliver(t, &one, 1, 1) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* Before sleeping: every socket registration has a request asking for what it waits for. */
static void arm(struct obj *ep)
{
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (r->target || r->on_ready) continue;
        uint32_t want = r->disabled ? AP_AFD_LOCAL_CLOSE : wanted_afd(r);
        if (r->pending) {
            if (r->pending_mask != want) ap_afd_cancel(ep->afd, &r->req); /* re-armed below */
            continue;
        }
        if (ap_afd_poll_async(ep->afd, r->base, want, &r->req) == 0) {
            r->pending = 1;
            r->pending_mask = want;
        }
    }
}

/* Instances nested in ep have nobody sleeping on their ports while ep is waited on: their
 * completions are collected here (without blocking), and their requests armed. */
static void pump_nested(struct obj *ep, int depth)
{
    if (!ep->nnested || depth > 5) return;
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (!r->target || r->target->kind != K_EPOLL) continue;
        struct obj *in = r->target;
        OVERLAPPED_ENTRY got[64];
        int k = ap_port_wait(in->port, got, 64, 0);
        for (int i = 0; i < k; i++)
            if (got[i].lpCompletionKey != AP_PORT_WAKE_KEY && got[i].lpOverlapped)
                completed((struct reg *)((char *)got[i].lpOverlapped - offsetof(struct reg, req)));
        check_suspects(in);
        arm(in);
        pump_nested(in, depth + 1);
    }
}

static int ep_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms,
                   const struct timespec *ts, const sigset_t *sigmask)
{
    (void)sigmask; /* no signals on Windows */
    int64_t deadline = -1;
    if (ts) deadline = ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    else if (timeout_ms >= 0) deadline = ap_sys_now_ns() + (int64_t)timeout_ms * 1000000;
    lk();
    struct obj *ep = obj_of(epfd);
    if (!ep) {
        unlk();
        return errno = (is_desc(epfd) || !ap_win_is_socket(epfd)) ? EBADF : EINVAL, -1;
    }
    if (ep->kind != K_EPOLL || maxevents <= 0 ||
        maxevents > (int)(INT_MAX / sizeof(struct epoll_event))) {
        unlk();
        return errno = EINVAL, -1;
    }
    /* the kernel faults only when it has an event to copy out */
    struct epoll_event scratch[1];
    int fault = !events;
    if (fault) events = scratch, maxevents = 1;
    ep->waiters++;
    int n = 0;
    OVERLAPPED_ENTRY got[64];
    for (;;) {
        pump_nested(ep, 0);
        check_suspects(ep);
        n = deliver(ep, events, maxevents, fault);
        int64_t now = ap_sys_now_ns();
        if (n || (deadline >= 0 && now >= deadline)) break;
        arm(ep);
        DWORD ms = INFINITE;
        if (deadline >= 0) ms = (DWORD)((deadline - now + 999999) / 1000000);
        /* suspects are re-measured, nested instances' ports collected, on a short tick */
        if ((ep->nsuspects || ep->nnested) && ms > SUSPECT_TICK_MS) ms = SUSPECT_TICK_MS;
        HANDLE port = ep->port;
        unlk();
        int k = ap_port_wait(port, got, 64, ms);
        lk();
        for (int i = 0; i < k; i++)
            if (got[i].lpCompletionKey != AP_PORT_WAKE_KEY && got[i].lpOverlapped)
                completed((struct reg *)((char *)got[i].lpOverlapped - offsetof(struct reg, req)));
    }
    /* Still ready after this delivery (level-triggered entries go back on the list): like the
     * kernel, pass the wake-up on to another thread blocked on this instance, which a single
     * wake packet would otherwise leave asleep. */
    if (n && ep->ready_h && ep->waiters > 1) ap_port_wake(ep->port);
    ep->waiters--;
    unlk();
    if (fault && n) return errno = EFAULT, -1;
    return n;
}

/* --- files: the object layer's eventfds and timerfds ------------------------------------- */

/* The kernel wakes watchers with key `key` (IN on write or expiry, OUT on read): an edge for each
 * registration interested in it. Under the lock. */
static void file_notify(struct obj *o, uint32_t key)
{
    for (struct reg *r = o->watchers; r; r = r->wnext) {
        if (r->disabled || !(r->events & key)) continue;
        raise_edge(r);
        wake(r->ep);
    }
    WakeAllConditionVariable(&o->cv);
    poll_notify();
}

/* ops->attach: the file gets a descriptor of anypoll's own. Called under the object layer's
 * lock, which is always taken before this engine's, never after. */
static int file_attach(struct ap_obj *f, int cloexec)
{
    struct obj *o = calloc(1, sizeof *o);
    if (!o) return errno = ENOMEM, -1;
    o->kind = K_FILE;
    o->file = f;
    InitializeConditionVariable(&o->cv);
    lk();
    int fd = desc_new(o, cloexec, 0, -1);
    if (fd >= 0) nlive++;
    unlk();
    if (fd < 0) {
        free(o);
        return -1;
    }
    f->engine = o;
    return fd;
}

/* ops->changed: the wake-ups the file counted since the last call reach its watchers, its
 * blocked readers and poll(). */
static void file_changed(struct ap_obj *f)
{
    uint64_t in = atomic_load(&f->sh->in_seq), out = atomic_load(&f->sh->out_seq);
    uint32_t key = (in != f->told_in ? EPOLLIN : 0) | (out != f->told_out ? EPOLLOUT : 0);
    f->told_in = in;
    f->told_out = out;
    lk();
    if (f->engine) file_notify(f->engine, key);
    unlk();
}

/* ops->block: sleeps on the file's condition variable until a change (file_changed wakes it
 * under this engine's lock, so none is missed between the look and the sleep). */
static int file_block(struct ap_obj *f, int fd, uint32_t want, int64_t timeout_ns)
{
    (void)fd;
    DWORD ms = INFINITE;
    if (timeout_ns >= 0) { /* rounded up: a wake-up before the deadline finds it not due */
        int64_t m = (timeout_ns + 999999) / 1000000;
        ms = m > 0x7ffffffe ? 0x7ffffffe : (DWORD)m;
    }
    lk();
    struct obj *o = f->engine;
    if (o && !(file_level(f) & want)) SleepConditionVariableSRW(&o->cv, &lock, ms, 0);
    unlk();
    return 0;
}

static const struct ap_obj_ops file_ops = {
    .attach = file_attach,
    .changed = file_changed,
    .block = file_block,
};

static int efd_create(unsigned int initval, int flags)
{
    ap_win_startup();
    return ap_eventfd_create(initval, flags, &file_ops);
}

static int tfd_create(int clockid, int flags)
{
    ap_win_startup(); /* the clock thread's wake pair is a socket pair */
    return ap_timerfd_create(clockid, flags, &file_ops);
}

static int owns(int fd)
{
    if (!is_desc(fd)) return 0;
    lk();
    int r = obj_of(fd) != NULL;
    unlk();
    return r;
}

static void destroy(struct obj *gone);

/* The file named fd (of object-layer kind `kind`, 0: any), held so a concurrent close cannot
 * free it while the object layer works on it; NULL with the kernel's errno (EBADF, or EINVAL
 * for another kind of file). */
static struct obj *file_get(int fd, enum ap_kind kind)
{
    lk();
    struct obj *o = obj_of(fd);
    if (!o) {
        errno = !is_desc(fd) && ap_win_is_socket(fd) ? EINVAL : EBADF;
    } else if (o->kind != K_FILE || (kind && o->file->kind != kind)) {
        errno = EINVAL;
        o = NULL;
    } else {
        o->waiters++;
    }
    unlk();
    return o;
}

static void file_put(struct obj *o)
{
    int e = errno;
    lk();
    int last = --o->waiters == 0 && o->refs == 0;
    unlk();
    if (last) destroy(o);
    errno = e;
}

static ssize_t file_read(int fd, void *buf, size_t count)
{
    struct obj *o = file_get(fd, 0);
    if (!o) return -1;
    ssize_t r = o->file->kind == AP_KIND_EVENTFD
                    ? ap_eventfd_read((struct ap_eventfd *)o->file, fd, buf, count)
                    : ap_timerfd_read((struct ap_timerfd *)o->file, fd, buf, count);
    file_put(o);
    return r;
}

static ssize_t file_write(int fd, const void *buf, size_t count)
{
    struct obj *o = file_get(fd, AP_KIND_EVENTFD);
    if (!o) return -1;
    ssize_t r = ap_eventfd_write((struct ap_eventfd *)o->file, fd, buf, count);
    file_put(o);
    return r;
}

static int tfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *ov)
{
    ap_win_startup();
    struct obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_settime((struct ap_timerfd *)o->file, flags, nv, ov);
    file_put(o);
    return r;
}

static int tfd_gettime(int fd, struct itimerspec *cur)
{
    struct obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_gettime((struct ap_timerfd *)o->file, cur);
    file_put(o);
    return r;
}

/* --- poll() over anypoll's own descriptors ------------------------------------------------- */

/* WSAPoll takes SOCKETs only. A set holding anypoll's own descriptors is evaluated here: their
 * levels as the kernel's f_op->poll gives them (eventfd_poll, timerfd_poll, ep_eventpoll_poll),
 * the sockets' by a zero-timeout WSAPoll. A set of own descriptors only sleeps until one of
 * them changes (file_notify and raise_edge wake poll_cv); sockets and epoll instances in the set
 * are re-looked at every POLL_TICK_MS (docs/windows.md). Sets without own descriptors go to
 * WSAPoll as before. */

#define POLL_TICK_MS 10

static int pollers; /* threads in ep_poll */
static CONDITION_VARIABLE poll_cv = CONDITION_VARIABLE_INIT;

static void poll_notify(void)
{
    if (pollers) WakeAllConditionVariable(&poll_cv);
}

/* Linux's epoll bits in Winsock's poll bits (its POLLIN is RDNORM|RDBAND). */
static short poll_bits(uint32_t m)
{
    short p = 0;
    if (m & (EPOLLIN | EPOLLRDNORM)) p |= POLLRDNORM | POLLRDBAND;
    if (m & EPOLLPRI) p |= POLLPRI;
    if (m & (EPOLLOUT | EPOLLWRNORM)) p |= POLLWRNORM;
    if (m & EPOLLWRBAND) p |= POLLWRBAND;
    if (m & EPOLLERR) p |= POLLERR;
    if (m & EPOLLHUP) p |= POLLHUP;
    return p;
}

/* An instance being polled has nobody sleeping on its port, maybe: its completions are
 * collected here (without blocking) and its requests armed, as for a nested instance. */
static void poll_collect(struct obj *ep)
{
    OVERLAPPED_ENTRY got[64];
    int k = ap_port_wait(ep->port, got, 64, 0);
    for (int i = 0; i < k; i++)
        if (got[i].lpCompletionKey != AP_PORT_WAKE_KEY && got[i].lpOverlapped)
            completed((struct reg *)((char *)got[i].lpOverlapped - offsetof(struct reg, req)));
    if (k) wake(ep); /* a waiter of its own may have missed them */
    check_suspects(ep);
    arm(ep);
    pump_nested(ep, 0);
}

static int ep_poll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    int own = 0;
    for (nfds_t i = 0; fds && i < n; i++) own |= is_desc((int)fds[i].fd); /* SOCKET: unsigned */
    if (!own) return ap_sys_ppoll(fds, n, ts, mask);
    int64_t deadline = -1;
    if (ts) deadline = ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    struct pollfd *sk = malloc(n * sizeof *sk);
    nfds_t *at = malloc(n * sizeof *at);
    if (!sk || !at) {
        free(sk);
        free(at);
        return errno = ENOMEM, -1;
    }
    int ready, rc = 0;
    lk();
    pollers++;
    for (;;) {
        nfds_t nsk = 0;
        int tick = 0;
        ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            struct pollfd *p = &fds[i];
            int fd = (int)p->fd;
            p->revents = 0;
            if (fd < 0) continue;
            if (!is_desc(fd)) {
                sk[nsk] = *p;
                at[nsk++] = i;
                continue;
            }
            struct obj *o = obj_of(fd);
            if (!o) {
                p->revents = POLLNVAL;
            } else {
                if (o->kind == K_EPOLL) {
                    poll_collect(o);
                    tick = 1;
                }
                p->revents = poll_bits(target_level(o)) & (p->events | POLLERR | POLLHUP);
            }
            ready += p->revents != 0;
        }
        if (nsk) {
            unlk();
            struct timespec zero = {0, 0};
            int k = ap_sys_ppoll(sk, nsk, &zero, NULL);
            lk();
            if (k < 0) {
                rc = -1;
                break;
            }
            for (nfds_t j = 0; j < nsk; j++) {
                fds[at[j]].revents = sk[j].revents;
                ready += sk[j].revents != 0;
            }
            tick = 1;
        }
        int64_t now = ap_sys_now_ns();
        if (ready || (deadline >= 0 && now >= deadline)) break;
        DWORD ms = INFINITE;
        if (deadline >= 0) ms = (DWORD)((deadline - now + 999999) / 1000000);
        if (tick && ms > POLL_TICK_MS) ms = POLL_TICK_MS;
        SleepConditionVariableSRW(&poll_cv, &lock, ms, 0);
    }
    pollers--;
    unlk();
    free(sk);
    free(at);
    return rc < 0 ? -1 : ready;
}

/* --- fd lifetime -------------------------------------------------------------------------- */

/* Drops the instance once nothing names it. Called unlocked, with it out of every list. */
static void ep_destroy(struct obj *o)
{
    lk();
    while (o->regs) reg_kill(o->regs);
    unlk();
    /* cancelled requests still complete on the port: their memory is freed as they do */
    for (int tries = 0; o->zombies && tries < 100; tries++) {
        OVERLAPPED_ENTRY got[64];
        int k = ap_port_wait(o->port, got, 64, 100);
        lk();
        for (int i = 0; i < k; i++)
            if (got[i].lpCompletionKey != AP_PORT_WAKE_KEY && got[i].lpOverlapped)
                completed((struct reg *)((char *)got[i].lpOverlapped - offsetof(struct reg, req)));
        unlk();
    }
    CloseHandle(o->afd);
    ap_port_close(o->port);
    free(o);
}

/* Drops descriptor fd (under the lock); returns the object to destroy once unlocked. */
static struct obj *desc_release(int fd)
{
    struct obj *o = table[fd], *gone = NULL;
    table[fd] = NULL;
    if (--o->refs == 0) {
        nlive--;
        /* the last reference: its registrations in every instance go, as in the kernel */
        while (o->watchers) reg_kill(o->watchers);
        if (o->kind == K_EPOLL) {
            for (struct obj **p = &instances; *p; p = &(*p)->next_ep)
                if (*p == o) {
                    *p = o->next_ep;
                    break;
                }
        }
        /* else the last thread inside an operation on a file frees it (file_put); an instance's
         * last waiter leaks it: docs/windows.md */
        if (!o->waiters) gone = o;
    }
    return gone;
}

/* A file goes from the object layer first (under its lock, which this engine's never
 * encloses), so no follow-up can reach `gone` afterwards. */
static void destroy(struct obj *gone)
{
    if (!gone) return;
    if (gone->kind == K_EPOLL) {
        ep_destroy(gone);
        return;
    }
    struct ap_obj *f = gone->file;
    ap_lock();
    f->engine = NULL;
    if (f->kind == AP_KIND_EVENTFD) ap_eventfd_free((struct ap_eventfd *)f);
    else ap_timerfd_free((struct ap_timerfd *)f);
    ap_unlock();
    free(gone);
}

static int ep_close(int fd)
{
    ap_win_startup();
    lk();
    struct obj *o = obj_of(fd);
    if (!o) {
        if (is_desc(fd)) {
            unlk();
            return errno = EBADF, -1;
        }
        /* a socket: its registrations go with it, as when the kernel's last reference goes */
        for (struct obj *ep = instances; ep; ep = ep->next_ep)
            for (struct reg *r = ep->regs; r; r = r->next)
                if (r->fd == fd && !r->target) {
                    reg_kill(r);
                    break;
                }
        unlk();
        return ap_sys_close(fd);
    }
    struct obj *gone = desc_release(fd);
    unlk();
    destroy(gone);
    return 0;
}

static int ep_dup_to(int oldfd, int newfd, int flags)
{
    lk();
    struct obj *o = obj_of(oldfd), *gone = NULL;
    int rc;
    if (!o) {
        unlk();
        if (is_desc(oldfd)) return errno = EBADF, -1;
        return ap_sys_dup3(oldfd, newfd, flags);
    }
    if (newfd >= 0) { /* dup2/dup3: any number a SOCKET cannot have; what it named is closed */
        if (!is_desc(newfd)) {
            unlk();
            return errno = EBADF, -1;
        }
        if (newfd < ntable && table[newfd]) gone = desc_release(newfd);
        rc = desc_new(o, flags & O_CLOEXEC, 0, newfd);
    } else {
        rc = desc_new(o, flags & O_CLOEXEC, newfd == -1 ? 0 : -2 - newfd, -1);
    }
    unlk();
    destroy(gone);
    return rc;
}

static int ep_fcntl(int fd, int cmd, intptr_t arg)
{
    lk();
    struct obj *o = obj_of(fd);
    int rc = -1;
    if (!o) {
        unlk();
        if (is_desc(fd)) return errno = EBADF, -1;
        return ap_sys_fcntl(fd, cmd, arg);
    }
    switch (cmd) {
    case F_GETFD: rc = cloexec[fd] ? FD_CLOEXEC : 0; break;
    case F_SETFD:
        cloexec[fd] = (arg & FD_CLOEXEC) != 0;
        rc = 0;
        break;
    case F_GETFL:
        rc = O_RDWR | ((o->file ? atomic_load(&o->file->sh->nonblock) : o->nonblock) ? O_NONBLOCK : 0);
        break;
    case F_SETFL:
        if (o->file) atomic_store(&o->file->sh->nonblock, (arg & O_NONBLOCK) != 0);
        else o->nonblock = (arg & O_NONBLOCK) != 0; /* an epoll fd keeps it and ignores it */
        rc = 0;
        break;
    default: errno = EINVAL;
    }
    unlk();
    return rc;
}

/* What the program's own socket I/O showed. EAGAIN or a short count: drained (IN) or full
 * (OUT), so the next arrival, or the next room, is a new edge for EPOLLET. Data read, a
 * connection accepted or room written while that side was re-armed, or more read than was
 * queued at the last report, arrived since: the kernel queued an edge then, so it is one. */
static void io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked)
{
    int drained = (res < 0 && err == EAGAIN) || (dir != AP_IO_ACCEPT && res > 0 && (size_t)res < asked);
    uint32_t side = dir == AP_IO_OUT ? (uint32_t)(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)
                                     : (uint32_t)(EPOLLIN | EPOLLRDNORM);
    lk();
    for (struct obj *ep = instances; ep; ep = ep->next_ep) {
        for (struct reg *r = ep->regs; r; r = r->next) {
            if (r->fd != fd || r->target || !(r->events & EPOLLET) || r->disabled) continue;
            int arrived = res > (dir == AP_IO_ACCEPT ? -1 : 0) &&
                          (!(r->seen & side) || (dir == AP_IO_IN && res > r->inq));
            if (dir == AP_IO_IN && res > 0) r->inq = r->inq > res ? r->inq - (long)res : 0;
            if (arrived && (r->events & side)) raise_edge(r);
            if (drained && !(dir != AP_IO_OUT && (r->seen & EPOLLRDHUP))) {
                r->seen &= ~side;
                if (dir != AP_IO_OUT) set_suspect(r, 0);
            }
            if (arrived || drained) wake(ep);
            break;
        }
    }
    unlk();
}

static int usable(void)
{
    ap_win_startup();
    HANDLE port = ap_port_create();
    if (!port) return 0;
    HANDLE afd = ap_afd_open(port);
    if (afd) CloseHandle(afd);
    ap_port_close(port);
    return afd != NULL;
}

static int live_objects(void)
{
    lk();
    int n = nlive;
    unlk();
    return n;
}

const struct ap_engine ap_engine_win = {
    .name = "win",
    .usable = usable,
    .epoll_create1 = ep_create,
    .epoll_ctl = ep_ctl,
    .epoll_wait = ep_wait,
    .eventfd = efd_create,
    .timerfd_create = tfd_create,
    .timerfd_settime = tfd_settime,
    .timerfd_gettime = tfd_gettime,
    .poll = ep_poll,
    /* .signalfd: NULL, ENOSYS: Windows has no POSIX signals (docs/windows.md) */
    .owns = owns,
    .read = file_read,
    .write = file_write,
    .io_seen = io_seen,
    .close = ep_close,
    .dup_to = ep_dup_to,
    .fcntl = ep_fcntl,
    .live_objects = live_objects,
};
#endif
