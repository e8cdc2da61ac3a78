/* timerfd.h — timerfd emulated on an anypoll object (internal). See timerfd.c. */
#ifndef AP_TIMERFD_H
#define AP_TIMERFD_H

#include "emul.h"

/*
 * The timer itself, as the kernel keeps it in the open file (fs/timerfd.c's timerfd_ctx). It
 * depends on nothing but a clock, so another engine can drive it with its own object and
 * thread: ap_tfd_fire/forward/remaining are the kernel's timerfd_tmrproc, hrtimer_forward_now
 * and timerfd_get_remaining. Lives in a MAP_SHARED page (shared across fork, like the file);
 * `lock` guards it across processes. The pending expiration count is kept by the caller
 * (here: the object's shared counter, base.sh->value).
 */
struct ap_tfd_state {
    atomic_flag lock;
    int clockid;      /* the host clock read for it (ALARM ids mapped to their base clock) */
    int armed;        /* an expiry is scheduled at `next` */
    int expired;      /* fired, and (periodic) not forwarded yet: no new wake-up until then */
    int might_cancel; /* TFD_TIMER_CANCEL_ON_SET took effect */
    int canceled;     /* the realtime clock was set: the next read fails with ECANCELED */
    int64_t next;     /* deadline, ns on clockid */
    int64_t interval; /* ns; 0 for a one-shot timer */
};

struct ap_timerfd {
    struct ap_obj base; /* the expiration count is base.sh->value */
    struct ap_tfd_state *st;
    struct ap_timerfd *tnext, *tprev; /* every timerfd of this process (under lock) */
};

int ap_timerfd_create(int clockid, int flags);
int ap_timerfd_settime(struct ap_timerfd *t, int flags, const struct itimerspec *nv,
                       struct itimerspec *ov);
int ap_timerfd_gettime(struct ap_timerfd *t, struct itimerspec *cur);
ssize_t ap_timerfd_read(struct ap_timerfd *t, int fd, void *buf, size_t n);
/* Readiness as epoll bits (kernel's timerfd_poll: IN while expirations are pending). */
uint32_t ap_timerfd_level(struct ap_timerfd *t);
/* Deferred follow-up (under lock): the user end is readable exactly while level says so. */
void ap_timerfd_sync(struct ap_timerfd *t);
/* Last number closed (under lock): unlinks and frees t. */
void ap_timerfd_release(struct ap_timerfd *t);

#endif
