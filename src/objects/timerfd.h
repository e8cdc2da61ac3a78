/* timerfd.h — timerfd emulated on an anypoll object (internal). See timerfd.c. */
#ifndef AP_TIMERFD_H
#define AP_TIMERFD_H

#include "objects/object.h"

/* The timer itself and its arithmetic (the kernel's timerfd_ctx, timerfd_tmrproc,
 * hrtimer_forward_now, timerfd_get_remaining) are in timerfd_state.h, shared with the Windows
 * engine. Here it lives in a MAP_SHARED page (shared across fork, like the open file); its
 * `lock` guards it across processes, and the pending expiration count is the object's shared
 * counter (base.sh->value). */
#include "objects/timer_math.h"

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
