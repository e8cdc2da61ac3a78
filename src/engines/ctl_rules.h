/*
 * ctl_rules.h — the kernel's epoll_ctl rules that depend on no engine's state (engines room;
 * fs/eventpoll.c, do_epoll_ctl and ep_loop_check), written once for every emulation engine.
 * Each engine finds the instance, the target and the registration its own way and asks these,
 * in the kernel's order: exclusive (before the lookup), nesting (ADD of an instance), lookup.
 * Portable C, no host constant.
 */
#ifndef AP_CTL_RULES_H
#define AP_CTL_RULES_H

#include "anypoll.h"

#include <errno.h>

/* The kernel's EP_MAX_NESTS: instances nested deeper than this refuse the ADD (ELOOP). */
#define AP_EP_MAX_NESTS 4

/* The bits EPOLLEXCLUSIVE may come with. */
#define AP_EXCLUSIVE_OK                                                                            \
    (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

/* The kernel refuses (1, errno EINVAL) EPOLLEXCLUSIVE in a MOD, with a bit it does not allow,
 * or on an epoll instance as target; it checks this before it looks the registration up. */
static inline int ap_ctl_exclusive_refused(int op, uint32_t events, int target_is_instance)
{
    if (!(events & EPOLLEXCLUSIVE) ||
        !(op == EPOLL_CTL_MOD || (events & ~(uint32_t)AP_EXCLUSIVE_OK) || target_is_instance))
        return 0;
    errno = EINVAL;
    return 1;
}

/* 1 if adding an instance, itself `below` levels deep, into one `above` levels below the top
 * would make a chain longer than the kernel allows (ELOOP, as for a cycle, which is the caller's
 * to find). */
static inline int ap_ctl_too_deep(int above, int below) { return above + 1 + below > AP_EP_MAX_NESTS; }

/* After the lookup, the kernel refuses (1, with errno) an ADD of a registered (fd, file)
 * (EEXIST), a MOD or DEL of an unregistered one (ENOENT), a MOD of one added with
 * EPOLLEXCLUSIVE (EINVAL). */
static inline int ap_ctl_lookup_refused(int op, int found, uint32_t registered_events)
{
    int e = op == EPOLL_CTL_ADD ? (found ? EEXIST : 0)
          : !found ? ENOENT
          : op == EPOLL_CTL_MOD && (registered_events & EPOLLEXCLUSIVE) ? EINVAL : 0;
    if (e) errno = e;
    return e != 0;
}

#endif
