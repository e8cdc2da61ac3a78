/*
 * registrations.c — registrations and the end of what they watch (engines/poll room, layer 2):
 * the hash of an instance's registrations keyed by (fd number, object), the watcher lists, the
 * process-wide EPOLLET counters (owned here, read by evidence.c), the end of a registration
 * (reg_kill), which object a number refers to (plain_for), and the end of numbers and objects:
 * a closed number drops its registrations, an object without numbers is freed.
 *
 * A registration's end may drop the last number of a plain object and a number's end kills
 * registrations: both live here so the loop stays inside one file.
 *
 * May call: instance.c, fdtable.h, objects/, host/sys.h. Runs under the engine lock.
 */
#include "engines/poll/poll_engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"
#include "objects/eventfd.h"
#include "objects/signalfd.h"
#include "objects/timerfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

/* --- registrations ----------------------------------------------------------------------- */

static size_t hash_fd(int fd, size_t cap) { return ((size_t)fd * 2654435761u) & (cap - 1); }

struct ap_reg *ap_poll_reg_find(struct ap_epoll *ep, int fd, struct ap_obj *o)
{
    if (!ep->hcap) return NULL;
    for (struct ap_reg *r = ep->hash[hash_fd(fd, ep->hcap)]; r; r = r->hnext)
        if (r->fd == fd && r->obj == o) return r;
    return NULL;
}

int ap_poll_hash_insert(struct ap_epoll *ep, struct ap_reg *r)
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
 * evidence of the program's I/O (ap_poll_io_seen) has nobody to tell and skips the lock. */
atomic_long ap_poll_et_plain_regs;
/* ... of datagram sockets: until there is one, a receive needs no measuring first. */
atomic_long ap_poll_et_dgram_regs;
struct ap_reg *ap_poll_et_dgram_list; /* under the lock: those registrations */
void ap_poll_et_count(struct ap_reg *r, long delta)
{
    if ((r->events & EPOLLET) && r->obj->kind == AP_KIND_PLAIN) {
        atomic_fetch_add_explicit(&ap_poll_et_plain_regs, delta, memory_order_relaxed);
        if (r->obj->queue == AP_QUEUE_DGRAM) {
            atomic_fetch_add_explicit(&ap_poll_et_dgram_regs, delta, memory_order_relaxed);
            if (delta > 0) {
                r->dprev = NULL;
                r->dnext = ap_poll_et_dgram_list;
                if (ap_poll_et_dgram_list) ap_poll_et_dgram_list->dprev = r;
                ap_poll_et_dgram_list = r;
            } else {
                if (r->dprev) r->dprev->dnext = r->dnext;
                else ap_poll_et_dgram_list = r->dnext;
                if (r->dnext) r->dnext->dprev = r->dprev;
                r->dnext = r->dprev = NULL;
            }
        }
    }
}

/* Registrations of an instance in another: while there are none, the program's reads have no
 * nested instance to tell of a drain (ap_poll_nested_io_seen) and skip the lock. */
atomic_long ap_poll_nested_regs;
void ap_poll_nested_count(struct ap_epoll *ep, int delta)
{
    ep->nnested += delta;
    atomic_fetch_add_explicit(&ap_poll_nested_regs, delta, memory_order_relaxed);
}

/* Removes a registration from everything; its memory goes when no poll() can refer to it. */
void ap_poll_reg_kill(struct ap_reg *r)
{
    if (!r->dead) ap_poll_et_count(r, -1);
    struct ap_epoll *ep = r->ep;
    ap_poll_ready_del(r);
    hash_remove(ep, r);
    watcher_unlink(r);
    r->dead = 1;
    ap_poll_update_suspect(r);
    if (r->owned_idx >= 0) {
        struct ap_reg *last = ep->owned[--ep->nowned];
        ep->owned[r->owned_idx] = last;
        last->owned_idx = r->owned_idx;
        if (r->obj->kind == AP_KIND_EPOLL) ap_poll_nested_count(ep, -1);
        if (r->obj->kind == AP_KIND_SIGNALFD) ep->nsigfd--;
    }
    if (r->on_pending) {
        /* ap_poll_apply_pending buries it */
    } else if (r->slot >= 0) {
        ap_poll_mark_pending(r);
    } else {
        r->pnext = ep->graveyard;
        ep->graveyard = r;
    }
    /* A plain object nobody watches and whose numbers anypoll never saw duplicated is
     * forgotten, so I/O on it stops costing a lookup. */
    struct ap_obj *o = r->obj;
    if (o->kind == AP_KIND_PLAIN && !o->watchers && o->nfds == 1) ap_poll_drop_number(o->fds[0]);
}

/* --- which object a number refers to ------------------------------------------------------ */

/* The kernel answers EPERM for files without a poll method. */
int ap_poll_pollable(const struct stat *st)
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

int ap_poll_fd_is_open(int fd) { return ap_sys_fcntl(fd, F_GETFD, 0) >= 0; }

/* The plain object `fd` refers to now, created when `create`; NULL with errno. */
int ap_poll_access_mode(int fd, const struct stat *st)
{
    /* A socket is always open read-write (no open() reaches one): its access mode needs no
     * system call; a pipe's two ends share an inode and differ only by it. */
    int fl = S_ISSOCK(st->st_mode) ? O_RDWR : ap_sys_fcntl(fd, F_GETFL, 0);
    return fl < 0 ? 0 : (fl & O_ACCMODE);
}

struct ap_obj *ap_poll_plain_for(int fd, const struct stat *st, int acc, int create)
{
    struct ap_obj *o = ap_fd_obj(fd);
    if (o && (o->kind != AP_KIND_PLAIN || o->dev != st->st_dev || o->ino != st->st_ino ||
              o->accmode != acc)) {
        /* the number was closed behind our back and now names a new file */
        ap_poll_drop_number(fd);
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

/* --- the end of numbers and objects (under the lock) ----------------------------------------- */

static void number_gone(struct ap_obj *o, int fd)
{
    for (struct ap_reg *r = o->watchers, *next; r; r = next) {
        next = r->wnext;
        if (!o->nfds && !o->busy) {
            /* the last number of the file is closed: the kernel drops its registrations */
            struct ap_epoll *ep = r->ep;
            ap_poll_reg_kill(r);
            ap_poll_ep_wake(ep);
        } else if (r->slot >= 0 && r->ep->pfd[r->slot].fd == fd) {
            ap_poll_mark_pending(r); /* poll it through another number of the same file */
            ap_poll_ep_wake(r->ep);
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
            if (!r->dead) ap_poll_et_count(r, -1);
            struct ap_obj *o = r->obj;
            if (o->kind == AP_KIND_PLAIN && !o->watchers && o->nfds == 1) {
                free(r);
                ap_poll_drop_number(o->fds[0]);
                continue;
            }
            free(r);
        }
    while (ep->graveyard) {
        struct ap_reg *r = ep->graveyard;
        ep->graveyard = r->pnext;
        free(r);
    }
    ap_poll_ep_ringing_done(ep);
    if (ep->wake.r >= 0) ap_sys_bell_close(&ep->wake);
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
        ap_poll_reg_kill(o->watchers);
        ap_poll_ep_wake(ep);
    }
    switch (o->kind) {
    case AP_KIND_EPOLL: epoll_destroy(ap_poll_as_epoll(o)); break;
    case AP_KIND_EVENTFD: ap_eventfd_free((struct ap_eventfd *)o); break;
    case AP_KIND_TIMERFD: ap_timerfd_free((struct ap_timerfd *)o); break;
    case AP_KIND_SIGNALFD: ap_signalfd_free((struct ap_signalfd *)o); break;
    default: free(o);
    }
}

/* Frees o if it has no numbers and nobody is busy with it. */
void ap_poll_release_if_unused(struct ap_obj *o)
{
    if (o->nfds || o->busy) return;
    ap_fd_detach(o);
    obj_released(o);
}

/* Number fd no longer refers to what the table says (closed, or reused behind our back). */
void ap_poll_drop_number(int fd)
{
    struct ap_obj *o = ap_fd_obj(fd);
    if (!o) return;
    ap_fd_unbind(fd);
    number_gone(o, fd);
    ap_poll_release_if_unused(o);
}
