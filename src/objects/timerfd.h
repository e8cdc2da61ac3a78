/* timerfd.h — the timerfd object (objects room). See timerfd.c. */
#ifndef AP_TIMERFD_H
#define AP_TIMERFD_H

#include "objects/object.h"

/* The timer itself and its arithmetic (the kernel's timerfd_ctx, timerfd_tmrproc,
 * hrtimer_forward_now, timerfd_get_remaining) are in timer_math.h. Here it lives in memory a
 * fork() shares, like the open file; its `lock` guards it across processes, and the pending
 * expiration count is the object's shared counter (base.sh->value). */
#include "objects/timer_math.h"

struct ap_timerfd {
    struct ap_obj base; /* the expiration count is base.sh->value */
    struct ap_tfd_state *st;
    struct ap_timerfd *tnext, *tprev; /* every timerfd of this process (under lock) */
};

/* A new timerfd served by `ops`: its number, or -1 with errno. */
int ap_timerfd_create(int clockid, int flags, const struct ap_obj_ops *ops);
int ap_timerfd_settime(struct ap_timerfd *t, int flags, const struct itimerspec *nv,
                       struct itimerspec *ov);
int ap_timerfd_gettime(struct ap_timerfd *t, struct itimerspec *cur);
ssize_t ap_timerfd_read(struct ap_timerfd *t, int fd, void *buf, size_t n);
/* Readiness as epoll bits (kernel's timerfd_poll: IN while expirations are pending). Lock-free. */
uint32_t ap_timerfd_level(struct ap_timerfd *t);
/* Under the lock, once no number and no engine refers to it: unlinks and frees t. */
void ap_timerfd_free(struct ap_timerfd *t);

#endif
