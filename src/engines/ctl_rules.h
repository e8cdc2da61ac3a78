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

/* EINVAL for EPOLLEXCLUSIVE in a MOD, with a bit it does not allow, or on an epoll instance as
 * target; the kernel checks it before it looks the registration up. 0 if allowed. */
static inline int ap_ctl_exclusive_error(int op, uint32_t events, int target_is_instance)
{
    if (!(events & EPOLLEXCLUSIVE)) return 0;
    return op == EPOLL_CTL_MOD || (events & ~(uint32_t)AP_EXCLUSIVE_OK) || target_is_instance
               ? EINVAL : 0;
}

/* ELOOP if adding an instance, itself `below` levels deep, into one `above` levels below the
 * top would make a chain longer than the kernel allows (a cycle is the caller's to find). */
static inline int ap_ctl_too_deep(int above, int below)
{
    return above + 1 + below > AP_EP_MAX_NESTS ? ELOOP : 0;
}

/* After the lookup: EEXIST for an ADD of a registered (fd, file), ENOENT for a MOD or DEL of an
 * unregistered one, EINVAL for a MOD of one added with EPOLLEXCLUSIVE. 0 to go on. */
static inline int ap_ctl_lookup_error(int op, int found, uint32_t registered_events)
{
    if (op == EPOLL_CTL_ADD) return found ? EEXIST : 0;
    if (!found) return ENOENT;
    return op == EPOLL_CTL_MOD && (registered_events & EPOLLEXCLUSIVE) ? EINVAL : 0;
}

#endif
