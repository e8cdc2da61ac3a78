/*
 * eventfd.c — the eventfd object (objects room: object.h, host/sys.h), for every emulation
 * engine: the kernel's counter, semaphore mode, overflow and errnos (fs/eventfd.c).
 *
 * The counter lives in an atomic, so read and write are exact under any concurrency and the
 * write path — which libev calls from a signal handler — takes no lock: it changes the counter,
 * bumps the object's IN edge sequence (every write is a new EPOLLET edge, read or not) and hands
 * the follow-up to ap_obj_changed(): the engine's ops->changed shows the new level (poll() and
 * select() on the fd see the kernel's answer) and wakes every epoll instance watching it. A
 * blocking read or write sleeps in the engine's ops->block and looks again.
 *
 * Limit (documented in docs/design.md): a write that must block for room (counter near 2^64)
 * looks again every few milliseconds at the latest, whether or not the engine wakes it earlier.
 */
#include "objects/eventfd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENTFD_MAX UINT64_C(0xfffffffffffffffe)

int ap_eventfd_create(unsigned int initval, int flags, const struct ap_obj_ops *ops)
{
    struct ap_eventfd *ev = calloc(1, sizeof *ev);
    if (!ev) {
        errno = ENOMEM;
        return -1;
    }
    ev->semaphore = !!(flags & EFD_SEMAPHORE);
    ap_lock();
    int fd = ap_obj_create(&ev->base, AP_KIND_EVENTFD, ops, !!(flags & EFD_CLOEXEC),
                           !!(flags & EFD_NONBLOCK));
    if (fd >= 0) {
        atomic_store(&ev->base.sh->value, initval);
        ops->changed(&ev->base); /* its first level */
    } else {
        free(ev);
    }
    ap_unlock();
    return fd;
}

uint32_t ap_eventfd_level(struct ap_eventfd *ev)
{
    uint64_t c = atomic_load(&ev->base.sh->value);
    uint32_t m = 0;
    if (c > 0) m |= EPOLLIN;
    if (c == UINT64_MAX) m |= EPOLLERR;
    if (c < EVENTFD_MAX) m |= EPOLLOUT;
    return m;
}

void ap_eventfd_free(struct ap_eventfd *ev)
{
    ap_obj_destroy(&ev->base);
    free(ev);
}

/* A wake-up is counted (ap_obj_wake_in/out) *before* the counter changes, and again at every
 * attempt: an engine that reads the level and then the sequence (the poll engine's look at the
 * objects it watches) can then never see the
 * new level without its edge and report the edge a second time when the count comes (a
 * spurious event that an EPOLLET ping-pong turns into a lost round); and an attempt that lost
 * the race to another reader or writer leaves its edge to the next one, so none is lost. The
 * cost: an attempt that ends in EAGAIN after losing such a race leaves one spurious edge. */

ssize_t ap_eventfd_read(struct ap_eventfd *ev, int fd, void *buf, size_t n)
{
    if (n < sizeof(uint64_t)) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        uint64_t c = atomic_load(&ev->base.sh->value);
        if (c == 0) {
            if (atomic_load(&ev->base.sh->nonblock)) {
                errno = EAGAIN;
                return -1;
            }
            if (ev->base.ops->block(&ev->base, fd, EPOLLIN, -1) < 0) return -1;
            continue;
        }
        uint64_t take = ev->semaphore ? 1 : c;
        ap_obj_wake_out(&ev->base);
        if (!atomic_compare_exchange_strong(&ev->base.sh->value, &c, c - take)) continue;
        ap_obj_changed(&ev->base);
        if (!buf) { /* as in the kernel: the count is taken, then the copy-out fails */
            errno = EFAULT;
            return -1;
        }
        memcpy(buf, &take, sizeof take);
        return sizeof take;
    }
}

ssize_t ap_eventfd_write(struct ap_eventfd *ev, int fd, const void *buf, size_t n)
{
    uint64_t v;
    if (n != sizeof v) { /* the kernel takes exactly 8 bytes (reads: at least 8) */
        errno = EINVAL;
        return -1;
    }
    if (!buf) {
        errno = EFAULT;
        return -1;
    }
    memcpy(&v, buf, sizeof v);
    if (v == UINT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    long backoff_ns = 1000000;
    for (;;) {
        uint64_t c = atomic_load(&ev->base.sh->value);
        if (UINT64_MAX - c <= v) {
            if (atomic_load(&ev->base.sh->nonblock)) {
                errno = EAGAIN;
                return -1;
            }
            /* room for v is no level the fd shows (it polls writable below the maximum) */
            if (ev->base.ops->block(&ev->base, fd, 0, backoff_ns) < 0) return -1; /* EINTR */
            if (backoff_ns < 16000000) backoff_ns *= 2;
            continue;
        }
        ap_obj_wake_in(&ev->base);
        if (!atomic_compare_exchange_strong(&ev->base.sh->value, &c, c + v)) continue;
        ap_obj_changed(&ev->base);
        return sizeof v;
    }
}
