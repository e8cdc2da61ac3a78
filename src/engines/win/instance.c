/*
 * instance.c — epoll_create1, epoll_ctl and the end of an instance (engines/win room): each
 * instance owns a completion port and an AFD handle; ctl keeps registrations keyed, as in the
 * kernel, by (number, open file) and checks what the kernel checks, in its order. Calls
 * registrations.c and below.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "engines/ctl_rules.h"
#include "host/sys.h"
#include "host/sys_win.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* --- epoll_create / ctl ------------------------------------------------------------------ */

int ap_win_epoll_create1(int flags)
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
    ap_win_lock();
    int fd = ap_win_desc_new(o, flags & EPOLL_CLOEXEC, 0, -1);
    if (fd >= 0) {
        o->next_ep = ap_win_instances;
        ap_win_instances = o;
        ap_win_nlive++;
    }
    ap_win_unlock();
    if (fd < 0) {
        CloseHandle(o->afd);
        ap_port_close(o->port);
        free(o);
    }
    return fd;
}

int ap_win_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    ap_win_startup();
    ap_win_lock();
    int rc = -1;
    struct obj *eo = ap_win_obj_of(epfd), *to = ap_win_obj_of(fd);
    SOCKET base = INVALID_SOCKET;
    if (!eo && !ap_win_is_socket(epfd)) {
        errno = EBADF;
        goto out;
    }
    if (!to) {
        if (ap_win_is_desc(fd) || !ap_win_is_socket(fd) ||
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
    if (ap_ctl_exclusive_refused(op, events, to && to->kind == K_EPOLL)) goto out;
    /* the kernel's loop check: no cycle, and no chain longer than it allows */
    if (op == EPOLL_CTL_ADD && to && to->kind == K_EPOLL &&
        (ap_win_contains(to, eo) ||
         ap_ctl_too_deep(ap_win_levels_above(eo), ap_win_levels_below(to)))) {
        errno = ELOOP;
        goto out;
    }
    if (!to) { /* a reused number is a new socket: the old one is gone */
        for (struct reg *o = eo->regs; o; o = o->next)
            if (o->fd == fd && !o->target && o->base != base) {
                ap_win_reg_kill(o);
                break;
            }
    }
    struct reg *r = ap_win_reg_find(eo, fd, to, base);
    if (ap_ctl_lookup_refused(op, r != NULL, r ? r->events : 0)) goto out;
    switch (op) {
    case EPOLL_CTL_ADD:
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
        ap_win_queue_if_ready(r);
        break;
    case EPOLL_CTL_MOD:
        r->events = events | EPOLLERR | EPOLLHUP;
        r->data = event->data.u64;
        r->disabled = 0;
        r->seen = 0; /* MOD re-reads readiness */
        ap_win_set_suspect(r, 0);
        ap_win_queue_if_ready(r);
        break;
    default:
        ap_win_reg_kill(r);
        break;
    }
    ap_win_wake(eo);
    rc = 0;
out:
    ap_win_unlock();
    return rc;
}

/* --- fd lifetime -------------------------------------------------------------------------- */

/* Drops the instance once nothing names it. Called unlocked, with it out of every list. */
void ap_win_instance_destroy(struct obj *o)
{
    ap_win_lock();
    while (o->regs) ap_win_reg_kill(o->regs);
    ap_win_unlock();
    /* cancelled requests still complete on the port: their memory is freed as they do */
    for (int tries = 0; o->zombies && tries < 100; tries++) {
        OVERLAPPED_ENTRY got[64];
        int k = ap_port_wait(o->port, got, 64, 100);
        ap_win_lock();
        ap_win_completions(got, k);
        ap_win_unlock();
    }
    CloseHandle(o->afd);
    ap_port_close(o->port);
    free(o);
}
#endif
