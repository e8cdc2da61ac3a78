/*
 * dropin_timerfd.c — the drop-in build's standard names for timerfd and signalfd
 * (timerfd_create, timerfd_settime, timerfd_gettime, signalfd), each calling its anypoll_
 * function. Front-end room: anypoll.h only.
 *
 * Kept apart from the drop-in's own file (dropin.c, which exports epoll_create1, read,
 * close...) until the two are merged; it must not read <sys/timerfd.h> or <sys/signalfd.h>
 * itself, and it defines exactly the prototypes glibc declares, so a program linked or
 * LD_PRELOADed against the library reaches anypoll with the standard names.
 *
 * Compiled only into the drop-in build (-DANYPOLL_DROPIN): in the prefixed library these
 * names would take glibc's own timerfd_create... away from every program linked with it.
 */
#include "anypoll.h"

#ifdef ANYPOLL_DROPIN

#define DROPIN __attribute__((visibility("default")))

DROPIN int timerfd_create(int clockid, int flags) { return anypoll_timerfd_create(clockid, flags); }

DROPIN int timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                           struct itimerspec *old_value)
{
    return anypoll_timerfd_settime(fd, flags, new_value, old_value);
}

DROPIN int timerfd_gettime(int fd, struct itimerspec *curr_value)
{
    return anypoll_timerfd_gettime(fd, curr_value);
}

DROPIN int signalfd(int fd, const sigset_t *mask, int flags) { return anypoll_signalfd(fd, mask, flags); }
#else
typedef int ap_dropin_timerfd_not_built; /* keeps the translation unit non-empty */
#endif
