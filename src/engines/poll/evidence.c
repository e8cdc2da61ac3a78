/*
 * evidence.c — what the program's own I/O through anypoll shows (engines/poll room, layer 3):
 * a drain (EAGAIN, short read or write) re-arms EPOLLET bits, end of stream is seen, more read
 * than was known queued is new data, a datagram queue is measured before a receive or the
 * sender's close could hide an arrival, and where the host cannot measure it (plain POSIX) a
 * receive or accept counts as a possible arrival. The engine's io_seen, io_reading and (from close and
 * dup2) sender_going; each skips the lock while registrations.c's counters say nobody listens.
 *
 * May call: registrations.c (its counters and list), instance.c, fdtable.h, objects/object.h
 * (the lock), host/sys.h.
 */
#include "engines/poll/poll_engine.h"
#include "engines/poll/fdtable.h"
#include "host/sys.h"

#include <errno.h>

/* Evidence from the program's own I/O: a drained fd re-arms its EPOLLET bits. */
void ap_poll_io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked)
{
    if (!atomic_load_explicit(&ap_poll_et_plain_regs, memory_order_relaxed)) return;
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
                grew = dir == AP_IO_IN && res > r->nread && (ap_poll_watched(r) & EPOLLIN);
                r->nread = r->nread > res ? r->nread - (long)res : 0;
            } else {
                long now = ap_poll_queue_size(r, fd);
                /* an accept takes exactly one connection: as many waiting as were known (or
                 * more) means one arrived since, an edge the kernel queued then */
                if (dir == AP_IO_ACCEPT && o->queue == AP_QUEUE_ACCEPT && now >= 0 &&
                    now >= r->nread && (ap_poll_watched(r) & EPOLLIN))
                    grew = 1;
                r->nread = now;
            }
        }
        if (dir == AP_IO_IN && res == 0 && asked > 0 && o->stream &&
            (ap_poll_watched(r) & EV_IN & ~r->seen)) {
            /* end of stream: readable from now on, and no new data can ever come */
            r->seen |= ap_poll_watched(r) & EV_IN;
            ap_poll_mark_pending(r);
            ap_poll_update_suspect(r);
        }
        /* Data read, a connection accepted or room written while that side was re-armed: it
         * arrived since the last report, so the kernel queued an edge then — reported with the
         * mask of the moment, as the kernel does, even if this very call took it away again. */
        uint32_t arrived = res > 0 ? (dir == AP_IO_OUT ? EPOLLOUT : EPOLLIN) : 0;
        if (((ap_poll_watched(r) & arrived) && !(r->seen & arrived)) || grew) {
            ap_poll_ready_add(r->ep, r);
            ap_poll_ep_wake(r->ep);
        }
        uint32_t arm = rearm;
        /* A receive or accept on a queue the host cannot measure (aids_posix.c: datagrams and
         * listeners) may have hidden an arrival the kernel queued an edge for: it counts as a
         * possible one, and what is still queued is reported again — at worst an extra edge
         * (docs/design.md, "Host aids"), never a connection or datagram left unreported. */
        if (dir != AP_IO_OUT && res >= 0 && o->queue != AP_QUEUE_BYTES && r->nread < 0)
            arm |= EV_IN;
        if (r->seen & (EPOLLRDHUP | EPOLLHUP)) arm &= ~EV_IN; /* after end of stream no data comes */
        if (r->seen & arm) {
            r->seen &= ~arm;
            ap_poll_mark_pending(r);
            ap_poll_update_suspect(r);
            ap_poll_ep_wake(r->ep);
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
    ap_poll_ready_add(r->ep, r);
    ap_poll_ep_wake(r->ep);
}

/* A datagram queue is measured in memory, and a receive takes a datagram's worth away: one
 * that arrived since the last report must be counted before the receive hides it behind the
 * smaller total (the kernel queued its edge at the arrival). Stream queues need no look:
 * ap_poll_io_seen compares the bytes read with the bytes known. */
void ap_poll_io_reading(int fd)
{
    if (!atomic_load_explicit(&ap_poll_et_dgram_regs, memory_order_relaxed)) return;
    if (ap_fd_kind(fd) != AP_KIND_PLAIN) return;
    ap_lock();
    struct ap_obj *o = ap_fd_obj(fd);
    long now = -2; /* not asked yet; -1: unknown */
    for (struct ap_reg *r = o && o->queue == AP_QUEUE_DGRAM ? o->watchers : NULL; r; r = r->wnext) {
        if (!(r->events & EPOLLET) || !awaits_growth(r)) continue;
        if (now == -2) now = ap_poll_queue_size(r, fd);
        edge_if_grown(r, now);
    }
    ap_unlock();
}

/* A datagram that arrived since the last report is an edge the kernel queued then. When the
 * arrivals are measured through the sender (AF_UNIX on Linux), they must be counted before the
 * sender goes: afterwards the receiver's queue can no longer be asked. Only while an EPOLLET
 * datagram registration exists, and only for such a sender. */
void ap_poll_sender_going(int fd)
{
    if (!atomic_load_explicit(&ap_poll_et_dgram_regs, memory_order_relaxed) ||
        !ap_sys_queue_measured_through(fd))
        return;
    ap_lock();
    for (struct ap_reg *r = ap_poll_et_dgram_list; r; r = r->dnext) {
        if (!awaits_growth(r)) continue;
        int num = ap_poll_poll_number(r);
        edge_if_grown(r, num < 0 ? -1 : ap_poll_queue_size(r, num));
    }
    ap_unlock();
}
