/*
 * timer_math.h — the timer of a timerfd as the kernel keeps it (fs/timerfd.c's
 * timerfd_ctx), and its arithmetic (objects room; used by timerfd.c). Portable C11: it depends on
 * nothing but a clock reading passed in.
 */
#ifndef AP_TIMER_MATH_H
#define AP_TIMER_MATH_H

#include <stdatomic.h>
#include <stdint.h>

/* The pending expiration count is kept by the caller (its object's counter). */
struct ap_tfd_state {
    atomic_flag lock; /* guards it across processes where it is shared (timerfd.c) */
    int clockid;      /* the host clock read for it (ALARM ids mapped to their base clock) */
    int armed;        /* an expiry is scheduled at `next` */
    int expired;      /* fired, and (periodic) not forwarded yet: no new wake-up until then */
    int might_cancel; /* TFD_TIMER_CANCEL_ON_SET took effect */
    int canceled;     /* the realtime clock was set: the next read fails with ECANCELED */
    int64_t next;     /* deadline, ns on clockid */
    int64_t interval; /* ns; 0 for a one-shot timer */
};

/* timerfd_tmrproc: due and not already expired → 1, and the caller counts one expiration and
 * wakes its watchers. A periodic timer stays expired (not re-armed) until forwarded. Decided by
 * the clock reading `now` alone: never early. */
static inline int ap_tfd_fire(struct ap_tfd_state *st, int64_t now)
{
    if (!st->armed || st->expired || now < st->next) return 0;
    if (st->interval) st->expired = 1;
    else st->armed = 0;
    return 1;
}

/* hrtimer_forward_now for an expired periodic timer: the number of deadlines passed (>= 1),
 * the next one moved past now. */
static inline int64_t ap_tfd_forward(struct ap_tfd_state *st, int64_t now)
{
    int64_t orun = (now - st->next) / st->interval + 1;
    if (orun > (INT64_MAX - st->next) / st->interval) { /* beyond any clock: stop */
        st->armed = 0;
        return orun;
    }
    st->next += orun * st->interval;
    return orun;
}

/* timerfd_get_remaining */
static inline int64_t ap_tfd_remaining(const struct ap_tfd_state *st, int64_t now)
{
    return st->armed && st->next > now ? st->next - now : 0;
}

#endif
