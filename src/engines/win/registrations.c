/*
 * registrations.c — registrations, the ready list and delivery (engines/win room): an edge
 * is queued when the kernel would queue it, delivery keeps the kernel's order and rotation, and a
 * completed AFD request becomes a wake-up. Calls descriptors.c, readiness.c, afd.c, port.c.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "host/sys.h"

#include <stddef.h>
#include <stdlib.h>

/* --- registrations ---------------------------------------------------------------------- */

void ap_win_queue(struct reg *r)
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

void ap_win_unqueue(struct reg *r)
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

void ap_win_wake(struct obj *ep)
{
    if (ep->waiters) ap_port_wake(ep->port);
}

void ap_win_raise_edge(struct reg *r)
{
    ap_win_poll_notify();
    r->edge = 1;
    ap_win_queue(r);
    for (struct reg *w = r->ep->watchers; w; w = w->wnext)
        if (!w->disabled && (w->events & (EPOLLIN | EPOLLRDNORM))) {
            ap_win_raise_edge(w);
            ap_win_wake(w->ep);
        }
}

void ap_win_set_suspect(struct reg *r, int on)
{
    if (r->suspect == on) return;
    r->suspect = on;
    r->ep->nsuspects += on ? 1 : -1;
}

/* Removes r from its instance; its memory stays until its poll request has completed. */
void ap_win_reg_kill(struct reg *r)
{
    struct obj *ep = r->ep;
    ap_win_unqueue(r);
    ap_win_set_suspect(r, 0);
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
struct reg *ap_win_reg_find(struct obj *ep, int fd, struct obj *target, SOCKET base)
{
    for (struct reg *r = ep->regs; r; r = r->next)
        if (r->fd == fd && r->target == target && (target || r->base == base)) return r;
    return NULL;
}

/* A completion arrived for r's request. */
void ap_win_completed(struct reg *r)
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
        ap_win_reg_kill(r);
        return;
    }
    /* the request asked only for what r waits for: a wake-up whose key meets the interest */
    uint32_t m = ap_win_afd_key(a) & (r->events | EPOLLERR | EPOLLHUP);
    if (m && !r->disabled) ap_win_raise_edge(r);
}

/* What a port handed over: the completions of poll requests (wake packets carry none). */
void ap_win_completions(const OVERLAPPED_ENTRY *got, int n)
{
    for (int i = 0; i < n; i++)
        if (got[i].lpCompletionKey != AP_PORT_WAKE_KEY && got[i].lpOverlapped)
            ap_win_completed((struct reg *)((char *)got[i].lpOverlapped - offsetof(struct reg, req)));
}

void ap_win_queue_if_ready(struct reg *r)
{
    int gone = 0;
    uint32_t level = r->target ? ap_win_target_level(r->target) : ap_win_socket_level(r, &gone);
    if (level & (r->events | EPOLLERR | EPOLLHUP) & ~(uint32_t)(EPOLLET | EPOLLONESHOT))
        ap_win_raise_edge(r);
}

/* Does instance x contain y, directly or through ap_win_instances nested in it? */
int ap_win_contains(struct obj *x, struct obj *y)
{
    if (x == y) return 1;
    for (struct reg *r = x->regs; r; r = r->next)
        if (r->target && r->target->kind == K_EPOLL && ap_win_contains(r->target, y)) return 1;
    return 0;
}

int ap_win_levels_below(struct obj *x)
{
    int d = 0;
    for (struct reg *r = x->regs; r; r = r->next)
        if (r->target && r->target->kind == K_EPOLL) {
            int k = 1 + ap_win_levels_below(r->target);
            if (k > d) d = k;
        }
    return d;
}

int ap_win_levels_above(struct obj *x)
{
    int d = 0;
    for (struct reg *w = x->watchers; w; w = w->wnext) {
        int k = 1 + ap_win_levels_above(w->ep);
        if (k > d) d = k;
    }
    return d;
}

/* Delivers from the ready list; returns the count. */
int ap_win_deliver(struct obj *ep, struct epoll_event *out, int max, int peek)
{
    int n = 0, budget = 0;
    for (struct reg *r = ep->ready_h; r; r = r->rnext) budget++;
    while (n < max && budget-- > 0 && ep->ready_h) {
        struct reg *r = ep->ready_h;
        ap_win_unqueue(r);
        if (r->disabled) continue;
        uint32_t level;
        if (r->target) {
            level = ap_win_target_level(r->target);
        } else {
            int gone;
            level = ap_win_socket_level(r, &gone);
            if (gone) {
                ap_win_reg_kill(r);
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
            ap_win_unqueue(r);
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
            ap_win_set_suspect(r, 0);
            if (r->pending) ap_afd_cancel(ep->afd, &r->req);
        } else if (et) {
            r->seen = level;
            if (!r->target && (level & EPOLLIN) && !(level & EPOLLRDHUP)) {
                r->inq = ap_sys_queue_size(r->fd, AP_QUEUE_BYTES);
                ap_win_set_suspect(r, r->inq > 0);
            } else {
                ap_win_set_suspect(r, 0);
            }
        } else {
            ap_win_queue(r); /* level-triggered: behind the others, so small maxevents rotate */
        }
    }
    return n;
}

/* An instance is readable (IN|RDNORM, never more) while a wait on it would return something:
 * the kernel's ep_eventpoll_poll, which also drops the entries it finds not ready. */
uint32_t ap_win_target_level(struct obj *t)
{
    if (t->kind == K_FILE) return ap_win_file_level(t->file);
    struct epoll_event one;
    return ap_win_deliver(t, &one, 1, 1) ? EPOLLIN | EPOLLRDNORM : 0;
}
#endif
