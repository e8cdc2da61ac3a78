/*
 * engine.c — epoll emulated on poll(): the engine for any POSIX host (engines/poll room, top
 * layer). This file holds the engine's entry points: how it serves objects (attach, changed,
 * block, after fork), epoll_create1, the reads and writes of emulated files, close, dup and
 * fcntl, and the `const struct ap_engine ap_engine_poll` table. It may call every other file
 * of the room (poll_engine.h lists them in their layers); none of them calls it.
 *
 * An epoll instance is an anypoll object (objects/object.h) holding registrations keyed, like the
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
 *     at every wait and, while a wait blocks, every SUSPECT_TICK_NS (wait.c).
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
 * change keeps readable or writable as the object is (ap_poll_obj_changed): a signal
 * interrupts it. The kernel restarts such a read or write after a handler with SA_RESTART
 * (-ERESTARTSYS): an EINTR then returns 0, and the caller looks again and sleeps again. */
static int file_sleep(struct ap_obj *o, int fd, uint32_t want, int64_t timeout_ns)
{
    (void)o;
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    if (!want) /* no level says it: the time is all there is to wait for */
        return ap_sys_ppoll(NULL, 0, timeout_ns < 0 ? NULL : &ts, NULL) < 0 ? -1 : 0;
    struct pollfd p = {.fd = fd, .events = ap_poll_to_poll(want)};
    if (ap_sys_ppoll(&p, 1, timeout_ns < 0 ? NULL : &ts, NULL) < 0) return -1;
    /* the number was closed under us: the kernel's read keeps the file and waits on */
    if ((p.revents & POLLNVAL) && ap_sys_ppoll(NULL, 0, timeout_ns < 0 ? NULL : &ts, NULL) < 0)
        return -1;
    return 0;
}

static int file_block(struct ap_obj *o, int fd, uint32_t want, int64_t timeout_ns)
{
    int r = file_sleep(o, fd, want, timeout_ns);
    return r < 0 && errno == EINTR && ap_sys_handler_restarts() ? 0 : r;
}

static void instance_atfork_child(struct ap_obj *o)
{
    /* The threads that were waiting exist only in the parent. */
    struct ap_epoll *ep = ap_poll_as_epoll(o);
    ep->waiters = ep->pollers = ep->inpoll = ep->polling = 0;
    ep->blocked = NULL;
    atomic_store(&ep->wake_flag, 0); /* a byte pending from before is the parent's to drain */
    atomic_store(&ep->ringing, 0);   /* the threads ringing stay in the parent */
    o->busy = 0;
}

static const struct ap_obj_ops file_ops = {
    .attach = file_attach,
    .changed = ap_poll_obj_changed,
    .changed_unshown = ap_poll_obj_changed_unshown,
    .show = ap_poll_obj_show,
    .block = file_block,
};

static const struct ap_obj_ops instance_ops = {
    .attach = ap_fd_attach_pair,
    .changed = ap_poll_obj_changed,
    .block = file_block, /* never called: an epoll fd has no read */
    .atfork_child = instance_atfork_child,
};

/* --- the engine's entry points ------------------------------------------------------------ */

static int usable(void) { return 1; }

static int ep_create(int flags)
{
    struct ap_epoll *ep = calloc(1, sizeof *ep);
    if (!ep || ap_poll_pfd_reserve(ep) < 0) {
        if (ep) free(ep->pfd), free(ep->preg);
        free(ep);
        errno = ENOMEM;
        return -1;
    }
    ep->ready.rnext = ep->ready.rprev = &ep->ready;
    ep->wake_reg.ep = ep;
    ep->wake.r = ep->wake.w = -1;
    ap_lock();
    int fd = ap_obj_create(&ep->base, AP_KIND_EPOLL, &instance_ops, !!(flags & EPOLL_CLOEXEC), 0);
    if (fd < 0) {
        ap_unlock();
        free(ep->pfd);
        free(ep->preg);
        free(ep);
        return -1;
    }
    /* A bell of its own, not a dup of the user end: where a dup()ed socket cannot send
     * (ap_sys_dup_sends), a wake-up written through one would never arrive. */
    if (ap_sys_bell_open(&ep->wake) < 0) {
        int e = errno;
        ap_poll_drop_number(fd); /* releases ep */
        ap_unlock();
        ap_sys_close(fd);
        errno = e;
        return -1;
    }
    ep->pfd[0] = (struct pollfd){.fd = ep->wake.r, .events = POLLIN};
    ep->preg[0] = &ep->wake_reg;
    ep->npfd = 1;
    ap_unlock();
    return fd;
}

static int owns(int fd)
{
    enum ap_kind k = ap_fd_kind(fd);
    return ap_poll_is_file_kind(k) || k == AP_KIND_EPOLL;
}

/* The emulated file of kind `kind` (0: any readable one) behind fd, held busy so a concurrent
 * close cannot free it under us. Not one: EBADF if fd is not open, else EINVAL (an epoll fd
 * has no read; a timerfd call on another file), as the kernel answers. */
static struct ap_obj *file_get(int fd, enum ap_kind kind)
{
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    if (o && (kind ? o->kind == kind : ap_poll_is_file_kind(o->kind))) o->busy++;
    else o = NULL;
    ap_unlock();
    if (!o) errno = ap_poll_fd_is_open(fd) ? EINVAL : EBADF;
    return o;
}

static void file_put(struct ap_obj *o)
{
    int e = errno;
    ap_lock();
    o->busy--;
    ap_poll_release_if_unused(o);
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

/* --- close, dup, fcntl --------------------------------------------------------------------- */

static int ep_close(int fd)
{
    ap_poll_sender_going(fd);
    if (ap_fd_kind(fd) != AP_KIND_NONE) {
        ap_lock();
        if (ap_fd_obj(fd)) ap_poll_drop_number(fd);
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
        if (newfd != oldfd) ap_poll_sender_going(newfd); /* dup2 onto it closes it */
        r = ap_sys_dup3(oldfd, newfd, flags);
    }
    if (r < 0) return -1;
    ap_lock();
    if (ap_fd_obj(r)) ap_poll_drop_number(r); /* dup2 onto a known number closed its old file */
    struct ap_obj *o = ap_fd_obj(oldfd);
    if (!o) {
        /* Remember the pair, so a registration of either outlives the close of the other. */
        struct stat st;
        if (ap_sys_fstat(oldfd, &st) == 0 && ap_poll_pollable(&st))
            o = ap_poll_plain_for(oldfd, &st, ap_poll_access_mode(oldfd, &st), 1);
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

/* The program's I/O on a plain fd: evidence for EPOLLET registrations, and a drain that
 * instances watching this fd's instance must hear of. */
static void io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked)
{
    if (dir == AP_IO_SHUTDOWN) {
        ap_poll_shutdown_seen(fd);
        return;
    }
    ap_poll_io_seen(fd, dir, res, err, asked);
    ap_poll_nested_io_seen(fd, dir, res, err, asked);
}

const struct ap_engine ap_engine_poll = {
    .name = "poll",
    .usable = usable,
    .epoll_create1 = ep_create,
    .epoll_ctl = ap_poll_ep_ctl,
    .epoll_wait = ap_poll_ep_wait,
    .eventfd = ep_eventfd,
    .timerfd_create = ep_timerfd_create,
    .timerfd_settime = ep_timerfd_settime,
    .timerfd_gettime = ep_timerfd_gettime,
    .signalfd = ep_signalfd,
    .owns = owns,
    .read = ep_read,
    .write = ep_write,
    .poll = ap_poll_ep_poll,
    .io_seen = io_seen,
    .io_reading = ap_poll_io_reading,
    .close = ep_close,
    .dup_to = ep_dup_to,
    .fcntl = ep_fcntl,
    .live_objects = ap_live_objects,
};
