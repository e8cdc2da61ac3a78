/*
 * ctl.c — epoll_ctl (engines/poll room, layer 4): the kernel's checks in the kernel's order,
 * the nesting limits (loops, levels below and above), ADD/MOD/DEL of a registration, and the
 * queueing at ADD and MOD of what is ready already (which asks wait.c whether a nested
 * instance has events).
 *
 * May call: wait.c, registrations.c, instance.c, fdtable.h, objects/object.h (the lock),
 * host/sys.h.
 */
#include "engines/poll/poll_engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"

#include <errno.h>
#include <stdlib.h>

/* Is `target` (an epoll) reachable from `from`, or nested too deep? */
static int loops(struct ap_epoll *from, struct ap_epoll *target, int depth)
{
    if (from == target) return 1;
    if (depth >= AP_EP_MAX_NESTS) return 1;
    for (int i = 0; i < from->nowned; i++) {
        struct ap_reg *r = from->owned[i];
        if (r->obj->kind == AP_KIND_EPOLL && loops(ap_poll_as_epoll(r->obj), target, depth + 1))
            return 1;
    }
    return 0;
}

/* How many instances lie below `ep` (0: no epoll registered in it), and above it (0: it is in
 * no instance). The kernel (6.18 here) refuses an ADD of an instance (ELOOP) when the chain it
 * would make, down from the added one plus up from the one it joins, exceeds AP_EP_MAX_NESTS. */
static int depth_down(struct ap_epoll *ep, int depth)
{
    int best = 0;
    for (int i = 0; depth <= AP_EP_MAX_NESTS && i < ep->nowned; i++) {
        struct ap_reg *r = ep->owned[i];
        if (r->obj->kind != AP_KIND_EPOLL) continue;
        int d = 1 + depth_down(ap_poll_as_epoll(r->obj), depth + 1);
        if (d > best) best = d;
    }
    return best;
}

static int depth_up(struct ap_epoll *ep, int depth)
{
    int best = 0;
    for (struct ap_reg *r = ep->base.watchers; depth <= AP_EP_MAX_NESTS && r; r = r->wnext) {
        int d = 1 + depth_up(r->ep, depth + 1);
        if (d > best) best = d;
    }
    return best;
}

/* A plain fd's level for the look at ADD and MOD, taken before the lock: a system call under
 * it would stall every waiter the change wakes (they take the lock as they return from poll()).
 * All the bits a registration may report are asked; queue_if_ready keeps those of its interest.
 * Taken a little earlier than the kernel's look, which is no different from a readiness that
 * came a little later: the next wait's poll() sees it. */
struct plain_look {
    int fd;        /* the number looked at, or -1: no look */
    uint32_t level;
};

static struct plain_look look_at_plain(int fd)
{
    struct pollfd p = {.fd = fd, .events = ap_poll_to_poll(EV_USER)};
    struct plain_look l = {-1, 0};
    if (ap_sys_ppoll(&p, 1, &(struct timespec){0, 0}, NULL) < 0 || (p.revents & POLLNVAL)) return l;
    l.fd = fd;
    l.level = ap_poll_from_poll(p.revents);
    return l;
}

/* At ADD and MOD the kernel polls the file and, if it is ready, queues the registration right
 * away: behind whatever is queued already, ahead of what becomes ready later. Done the same way
 * here (an entry already queued keeps its place); the next wait checks it again. */
static void queue_if_ready(struct ap_epoll *ep, struct ap_reg *r, struct plain_look look)
{
    if (r->on_ready) return;
    uint32_t lv = 0;
    if (ap_poll_is_file_kind(r->obj->kind)) {
        lv = ap_poll_file_level(r->obj);
    } else if (r->obj->kind == AP_KIND_EPOLL) {
        lv = ap_poll_ep_has_events(ap_poll_as_epoll(r->obj), 1) ? EPOLLIN : 0;
    } else if (look.fd >= 0 && look.fd == ap_poll_poll_number(r)) {
        lv = look.level;
    } else { /* the number now names another object than it did before the lock */
        int fd = ap_poll_poll_number(r);
        if (fd >= 0) lv = look_at_plain(fd).level;
    }
    if (lv & ap_poll_reportable(r)) ap_poll_ready_add(ep, r);
}

int ap_poll_ep_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    enum ap_kind ek = ap_fd_kind(epfd), tk = ap_fd_kind(fd);
    struct stat st;
    int plain = !ap_poll_is_file_kind(tk) && tk != AP_KIND_EPOLL, acc = 0;
    if (ek == AP_KIND_NONE && !ap_poll_fd_is_open(epfd)) return errno = EBADF, -1;
    if (plain) {
        if (ap_sys_fstat(fd, &st) < 0) return errno = EBADF, -1;
        if (!ap_poll_pollable(&st)) return errno = EPERM, -1;
    }
    if (ek != AP_KIND_EPOLL) return errno = EINVAL, -1;
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
        return errno = EINVAL, -1;
    uint32_t events = op == EPOLL_CTL_DEL ? 0 : event->events;
    /* The system calls a plain fd needs, made before the lock (see look_at_plain). */
    struct plain_look look = {-1, 0};
    if (plain) {
        acc = ap_poll_access_mode(fd, &st);
        if (op != EPOLL_CTL_DEL) look = look_at_plain(fd);
    }

    ap_lock();
    int rc = -1, ring = 0;
    struct ap_epoll *ep = NULL;
    struct ap_obj *eo = ap_fd_obj(epfd);
    struct ap_obj *o = NULL;
    if (!eo || eo->kind != AP_KIND_EPOLL) {
        errno = EBADF;
        goto out;
    }
    ep = ap_poll_as_epoll(eo);
    if (ap_poll_is_file_kind(tk) || tk == AP_KIND_EPOLL) o = ap_fd_obj(fd);
    else o = ap_poll_plain_for(fd, &st, acc, op == EPOLL_CTL_ADD);
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
    if (ap_ctl_exclusive_refused(op, events, o->kind == AP_KIND_EPOLL)) goto out;
    if (op == EPOLL_CTL_ADD && o->kind == AP_KIND_EPOLL &&
        (loops(ap_poll_as_epoll(o), ep, 0) ||
         ap_ctl_too_deep(depth_up(ep, 0), depth_down(ap_poll_as_epoll(o), 0)))) {
        errno = ELOOP;
        goto out;
    }
    struct ap_reg *r = ap_poll_reg_find(ep, fd, o);
    if (ap_ctl_lookup_refused(op, r != NULL, r ? r->events : 0)) goto out;
    switch (op) {
    case EPOLL_CTL_ADD:
        r = calloc(1, sizeof *r);
        if (r) {
            r->ep = ep;
            r->obj = o;
            r->fd = fd;
        }
        if (!r || ap_poll_hash_insert(ep, r) < 0) {
            free(r);
            errno = ENOMEM;
            goto out;
        }
        r->slot = r->susp = r->owned_idx = -1;
        r->nread = -1;
        r->events = events | EPOLLERR | EPOLLHUP;
        r->data = event->data.u64;
        ap_poll_et_count(r, +1);
        r->wnext = o->watchers;
        if (o->watchers) o->watchers->wprev = r;
        o->watchers = r;
        if (o->kind == AP_KIND_PLAIN) {
            ap_poll_mark_pending(r);
        } else {
            r->in_seq = atomic_load(&o->sh->in_seq);
            r->out_seq = atomic_load(&o->sh->out_seq);
            r->owned_idx = ap_poll_vec_push(&ep->owned, &ep->nowned, &ep->capowned, r);
            if (r->owned_idx < 0) {
                ap_poll_reg_kill(r);
                errno = ENOMEM;
                goto out;
            }
            if (o->kind == AP_KIND_EPOLL) ap_poll_nested_count(ep, +1);
            if (o->kind == AP_KIND_SIGNALFD) ep->nsigfd++;
        }
        queue_if_ready(ep, r, look);
        break;
    case EPOLL_CTL_MOD:
        ap_poll_et_count(r, -1);
        r->events = events | EPOLLERR | EPOLLHUP;
        ap_poll_et_count(r, +1);
        r->data = event->data.u64;
        r->disabled = 0;
        r->seen = 0; /* MOD re-reads readiness: an edge if ready now */
        r->nread = -1;
        queue_if_ready(ep, r, look);
        ap_poll_update_suspect(r);
        ap_poll_mark_pending(r);
        break;
    default: /* DEL */
        ap_poll_reg_kill(r);
        break;
    }
    /* A DEL wakes blocked waiters too: their poll() holds a reference to the file while it
     * sleeps, and the file must not outlive its last close (a pipe's writer waits for EPIPE). */
    ring = ap_poll_ep_wake_later(ep); /* rung below, once the lock is released */
    rc = 0;
out:
    ap_unlock();
    if (ring) ap_poll_ep_ring(ep);
    return rc;
}
