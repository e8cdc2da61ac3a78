/*
 * eventfd.c — the eventfd object of emulation engines.
 *
 * The counter lives in an atomic, so read and write are exact under any concurrency and the
 * write path — which libev calls from a signal handler — takes no lock: it changes the counter,
 * bumps the object's IN edge sequence (every write is a new EPOLLET edge, read or not) and hands
 * the follow-up to ap_defer(). The follow-up keeps the user end of the socketpair readable
 * exactly while the counter is non-zero, so poll()/select() on the fd see the kernel's answer,
 * and wakes every epoll instance watching it.
 *
 * Limit (documented in docs/design.md): a write that must block for room (counter near
 * 2^64) re-checks every few milliseconds instead of being woken by the read.
 */
#include "objects/eventfd.h"
#include "host/sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENTFD_MAX UINT64_C(0xfffffffffffffffe)

int ap_eventfd_create(unsigned int initval, int flags)
{
    struct ap_eventfd *ev = calloc(1, sizeof *ev);
    if (!ev) {
        errno = ENOMEM;
        return -1;
    }
    ev->semaphore = !!(flags & EFD_SEMAPHORE);
    ap_lock();
    int fd = ap_emul_init(&ev->base, AP_KIND_EVENTFD, !!(flags & EFD_CLOEXEC),
                          !!(flags & EFD_NONBLOCK));
    if (fd >= 0) {
        atomic_store(&ev->base.sh->value, initval);
        /* a small send buffer makes "not writable" (counter at its maximum) cheap to show */
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
        ap_eventfd_sync(ev);
    }
    else free(ev);
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

void ap_eventfd_sync(struct ap_eventfd *ev)
{
    uint64_t c = atomic_load(&ev->base.sh->value);
    ap_emul_token(&ev->base, c > 0, c < EVENTFD_MAX);
}

/* A wake-up is counted *before* the counter changes, and again at every attempt: an engine that
 * reads the level and then the sequence (engine_poll.c, look_at_owned) can then never see the
 * new level without its edge and report the edge a second time when the count comes (a
 * spurious event that an EPOLLET ping-pong turns into a lost round); and an attempt that lost
 * the race to another reader or writer leaves its edge to the next one, so none is lost. The
 * cost: an attempt that ends in EAGAIN after losing such a race leaves one spurious edge. */
static void announce(_Atomic uint64_t *stamp, _Atomic uint64_t *seq)
{
    atomic_store(stamp, ap_stamp());
    atomic_fetch_add(seq, 1);
}

/* Blocks until the user end polls readable (the counter became non-zero) or a signal. */
static int wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return ap_sys_ppoll(&p, 1, NULL, NULL) < 0 ? -1 : 0;
}

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
            if (wait_readable(fd) < 0) return -1;
            continue;
        }
        uint64_t take = ev->semaphore ? 1 : c;
        announce(&ev->base.sh->out_stamp, &ev->base.sh->out_seq);
        if (!atomic_compare_exchange_strong(&ev->base.sh->value, &c, c - take)) continue;
        ap_defer(&ev->base);
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
    (void)fd;
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
            struct timespec ts = {0, backoff_ns};
            if (ap_sys_ppoll(NULL, 0, &ts, NULL) < 0) return -1; /* EINTR */
            if (backoff_ns < 16000000) backoff_ns *= 2;
            continue;
        }
        announce(&ev->base.sh->in_stamp, &ev->base.sh->in_seq);
        if (!atomic_compare_exchange_strong(&ev->base.sh->value, &c, c + v)) continue;
        ap_defer(&ev->base);
        return sizeof v;
    }
}
