/*
 * wait.c — epoll_wait (engines/win room): deliver what is ready, else arm a poll request for
 * every socket registration and sleep on the instance's port; suspects (EPOLLET sockets with
 * unread data) and nested instances are looked at on a short tick. Calls registrations.c and
 * below.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "host/sys.h"
#include "host/sys_win.h"

#include <errno.h>
#include <limits.h>

/* --- epoll_wait ------------------------------------------------------------------------- */

/* EPOLLET sockets whose IN was reported while data stayed queued: a larger queue is a new
 * arrival (the kernel's edge), an empty one re-arms IN. */
void ap_win_check_suspects(struct obj *ep)
{
    if (!ep->nsuspects) return;
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (!r->suspect || r->disabled) continue;
        long q = ap_sys_queue_size(r->fd, AP_QUEUE_BYTES);
        if (q < 0) continue;
        if (q == 0) {
            r->seen &= ~(uint32_t)(EPOLLIN | EPOLLRDNORM);
            ap_win_set_suspect(r, 0);
        } else if (q > r->inq) {
            ap_win_raise_edge(r);
        } else {
            r->inq = q; /* read through someone else: a lower baseline */
        }
    }
}

/* Before sleeping: every socket registration has a request asking for what it waits for. */
void ap_win_arm(struct obj *ep)
{
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (r->target || r->on_ready) continue;
        uint32_t want = r->disabled ? AP_AFD_LOCAL_CLOSE : ap_win_wanted_afd(r);
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
void ap_win_pump_nested(struct obj *ep, int depth)
{
    if (!ep->nnested || depth > 5) return;
    for (struct reg *r = ep->regs; r; r = r->next) {
        if (!r->target || r->target->kind != K_EPOLL) continue;
        struct obj *in = r->target;
        OVERLAPPED_ENTRY got[64];
        int k = ap_port_wait(in->port, got, 64, 0);
        ap_win_completions(got, k);
        ap_win_check_suspects(in);
        ap_win_arm(in);
        ap_win_pump_nested(in, depth + 1);
    }
}

int ap_win_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms,
                   const struct timespec *ts, const sigset_t *sigmask)
{
    (void)sigmask; /* no signals on Windows */
    int64_t deadline = -1;
    if (ts) deadline = ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    else if (timeout_ms >= 0) deadline = ap_sys_now_ns() + (int64_t)timeout_ms * 1000000;
    ap_win_lock();
    struct obj *ep = ap_win_obj_of(epfd);
    if (!ep) {
        ap_win_unlock();
        return errno = (ap_win_is_desc(epfd) || !ap_win_is_socket(epfd)) ? EBADF : EINVAL, -1;
    }
    if (ep->kind != K_EPOLL || maxevents <= 0 ||
        maxevents > (int)(INT_MAX / sizeof(struct epoll_event))) {
        ap_win_unlock();
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
        ap_win_pump_nested(ep, 0);
        ap_win_check_suspects(ep);
        n = ap_win_deliver(ep, events, maxevents, fault);
        int64_t now = ap_sys_now_ns();
        if (n || (deadline >= 0 && now >= deadline)) break;
        ap_win_arm(ep);
        DWORD ms = INFINITE;
        if (deadline >= 0) ms = (DWORD)((deadline - now + 999999) / 1000000);
        /* suspects are re-measured, nested ap_win_instances' ports collected, on a short tick */
        if ((ep->nsuspects || ep->nnested) && ms > SUSPECT_TICK_MS) ms = SUSPECT_TICK_MS;
        HANDLE port = ep->port;
        ap_win_unlock();
        int k = ap_port_wait(port, got, 64, ms);
        ap_win_lock();
        ap_win_completions(got, k);
    }
    /* Still ready after this delivery (level-triggered entries go back on the list): like the
     * kernel, pass the wake-up on to another thread blocked on this instance, which a single
     * wake packet would otherwise leave asleep. */
    if (n && ep->ready_h && ep->waiters > 1) ap_port_wake(ep->port);
    ep->waiters--;
    ap_win_unlock();
    if (fault && n) return errno = EFAULT, -1;
    return n;
}
#endif
