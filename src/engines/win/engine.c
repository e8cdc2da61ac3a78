/*
 * engine.c — the "win" engine (engines/win room, the top one): epoll over AFD poll requests
 * completed on one I/O completion port per instance. This room holds what the front end calls
 * that no other room owns — close, dup, fcntl of anypoll's descriptors, what the program's own
 * socket I/O shows — and the engine table. win_engine.h lists the rooms below it.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "host/sys.h"
#include "host/sys_win.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

/* Drops descriptor fd (under the lock); returns the object to destroy once unlocked. */
static struct obj *desc_release(int fd)
{
    struct obj *o = ap_win_desc_drop(fd), *gone = NULL;
    if (o->refs == 0) {
        ap_win_nlive--;
        /* the last reference: its registrations in every instance go, as in the kernel */
        while (o->watchers) ap_win_reg_kill(o->watchers);
        if (o->kind == K_EPOLL) {
            for (struct obj **p = &ap_win_instances; *p; p = &(*p)->next_ep)
                if (*p == o) {
                    *p = o->next_ep;
                    break;
                }
        }
        /* else the last thread inside an operation on a file frees it (files.c); an instance's
         * last waiter leaks it: docs/windows.md */
        if (!o->waiters) gone = o;
    }
    return gone;
}

/* Called unlocked, with `gone` named by no descriptor. */
static void destroy(struct obj *gone)
{
    if (!gone) return;
    if (gone->kind == K_EPOLL) ap_win_instance_destroy(gone);
    else ap_win_file_destroy(gone);
}

static int ep_close(int fd)
{
    ap_win_startup();
    ap_win_lock();
    struct obj *o = ap_win_obj_of(fd);
    if (!o) {
        if (ap_win_is_desc(fd)) {
            ap_win_unlock();
            return errno = EBADF, -1;
        }
        /* a socket: its registrations go with it, as when the kernel's last reference goes */
        for (struct obj *ep = ap_win_instances; ep; ep = ep->next_ep)
            for (struct reg *r = ep->regs; r; r = r->next)
                if (r->fd == fd && !r->target) {
                    ap_win_reg_kill(r);
                    break;
                }
        ap_win_unlock();
        return ap_sys_close(fd);
    }
    struct obj *gone = desc_release(fd);
    ap_win_unlock();
    destroy(gone);
    return 0;
}

static int ep_dup_to(int oldfd, int newfd, int flags)
{
    ap_win_lock();
    struct obj *o = ap_win_obj_of(oldfd), *gone = NULL;
    int rc;
    if (!o) {
        ap_win_unlock();
        if (ap_win_is_desc(oldfd)) return errno = EBADF, -1;
        return ap_sys_dup3(oldfd, newfd, flags);
    }
    if (newfd >= 0) { /* dup2/dup3: any number a SOCKET cannot have; what it named is closed */
        if (!ap_win_is_desc(newfd)) {
            ap_win_unlock();
            return errno = EBADF, -1;
        }
        if (ap_win_obj_of(newfd)) gone = desc_release(newfd);
        rc = ap_win_desc_new(o, flags & O_CLOEXEC, 0, newfd);
    } else {
        rc = ap_win_desc_new(o, flags & O_CLOEXEC, newfd == -1 ? 0 : -2 - newfd, -1);
    }
    ap_win_unlock();
    destroy(gone);
    return rc;
}

static int ep_fcntl(int fd, int cmd, intptr_t arg)
{
    ap_win_lock();
    struct obj *o = ap_win_obj_of(fd);
    int rc = -1;
    if (!o) {
        ap_win_unlock();
        if (ap_win_is_desc(fd)) return errno = EBADF, -1;
        return ap_sys_fcntl(fd, cmd, arg);
    }
    switch (cmd) {
    case F_GETFD: rc = ap_win_desc_cloexec(fd) ? FD_CLOEXEC : 0; break;
    case F_SETFD:
        ap_win_desc_set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
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
    ap_win_unlock();
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
    ap_win_lock();
    for (struct obj *ep = ap_win_instances; ep; ep = ep->next_ep) {
        for (struct reg *r = ep->regs; r; r = r->next) {
            if (r->fd != fd || r->target || !(r->events & EPOLLET) || r->disabled) continue;
            if (dir == AP_IO_SHUTDOWN) { /* the kernel wakes every watcher: an edge */
                ap_win_raise_edge(r);
                ap_win_wake(ep);
                break;
            }
            int arrived = res > (dir == AP_IO_ACCEPT ? -1 : 0) &&
                          (!(r->seen & side) || (dir == AP_IO_IN && res > r->inq));
            if (dir == AP_IO_IN && res > 0) r->inq = r->inq > res ? r->inq - (long)res : 0;
            if (arrived && (r->events & side)) ap_win_raise_edge(r);
            if (drained && !(dir != AP_IO_OUT && (r->seen & EPOLLRDHUP))) {
                r->seen &= ~side;
                if (dir != AP_IO_OUT) ap_win_set_suspect(r, 0);
            }
            if (arrived || drained) ap_win_wake(ep);
            break;
        }
    }
    ap_win_unlock();
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
    ap_win_lock();
    int n = ap_win_nlive;
    ap_win_unlock();
    return n;
}

const struct ap_engine ap_engine_win = {
    .name = "win",
    .usable = usable,
    .epoll_create1 = ap_win_epoll_create1,
    .epoll_ctl = ap_win_epoll_ctl,
    .epoll_wait = ap_win_epoll_wait,
    .eventfd = ap_win_eventfd,
    .timerfd_create = ap_win_timerfd_create,
    .timerfd_settime = ap_win_timerfd_settime,
    .timerfd_gettime = ap_win_timerfd_gettime,
    .poll = ap_win_poll,
    /* .signalfd: NULL, ENOSYS: Windows has no POSIX signals (docs/windows.md) */
    .owns = ap_win_owns,
    .read = ap_win_read,
    .write = ap_win_write,
    .io_seen = io_seen,
    .close = ep_close,
    .dup_to = ep_dup_to,
    .fcntl = ep_fcntl,
    .live_objects = live_objects,
};
#endif
