/*
 * poll.c — poll() over sets holding anypoll's own descriptors (engines/win room). WSAPoll
 * takes SOCKETs only. A set holding anypoll's own descriptors is evaluated here: their levels as
 * the kernel's f_op->poll gives them (eventfd_poll, timerfd_poll, ep_eventpoll_poll), the
 * sockets' by a zero-timeout WSAPoll. A set of own descriptors only sleeps until one of them
 * changes (files.c and ap_win_raise_edge notify poll callers); sockets and epoll instances in
 * the set are re-looked at every POLL_TICK_MS (docs/windows.md). Sets without own descriptors go
 * to WSAPoll as before. Calls wait.c and below.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "host/sys.h"

#include <errno.h>
#include <stdlib.h>

#define POLL_TICK_MS 10

/* Linux's epoll bits in Winsock's poll bits (its POLLIN is RDNORM|RDBAND). */
static short poll_bits(uint32_t m)
{
    short p = 0;
    if (m & (EPOLLIN | EPOLLRDNORM)) p |= POLLRDNORM | POLLRDBAND;
    if (m & EPOLLPRI) p |= POLLPRI;
    if (m & (EPOLLOUT | EPOLLWRNORM)) p |= POLLWRNORM;
    if (m & EPOLLWRBAND) p |= POLLWRBAND;
    if (m & EPOLLERR) p |= POLLERR;
    if (m & EPOLLHUP) p |= POLLHUP;
    return p;
}

/* An instance being polled has nobody sleeping on its port, maybe: its completions are
 * collected here (without blocking) and its requests armed, as for a nested instance. */
static void poll_collect(struct obj *ep)
{
    OVERLAPPED_ENTRY got[64];
    int k = ap_port_wait(ep->port, got, 64, 0);
    ap_win_completions(got, k);
    if (k) ap_win_wake(ep); /* a waiter of its own may have missed them */
    ap_win_check_suspects(ep);
    ap_win_arm(ep);
    ap_win_pump_nested(ep, 0);
}

int ap_win_poll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    int own = 0;
    for (nfds_t i = 0; fds && i < n; i++) own |= ap_win_is_desc((int)fds[i].fd); /* SOCKET: unsigned */
    if (!own) return ap_sys_ppoll(fds, n, ts, mask);
    int64_t deadline = -1;
    if (ts) deadline = ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
    struct pollfd *sk = malloc(n * sizeof *sk);
    nfds_t *at = malloc(n * sizeof *at);
    if (!sk || !at) {
        free(sk);
        free(at);
        return errno = ENOMEM, -1;
    }
    int ready, rc = 0;
    ap_win_lock();
    for (;;) {
        nfds_t nsk = 0;
        int tick = 0;
        ready = 0;
        for (nfds_t i = 0; i < n; i++) {
            struct pollfd *p = &fds[i];
            int fd = (int)p->fd;
            p->revents = 0;
            if (fd < 0) continue;
            if (!ap_win_is_desc(fd)) {
                sk[nsk] = *p;
                at[nsk++] = i;
                continue;
            }
            struct obj *o = ap_win_obj_of(fd);
            if (!o) {
                p->revents = POLLNVAL;
            } else {
                if (o->kind == K_EPOLL) {
                    poll_collect(o);
                    tick = 1;
                }
                p->revents = poll_bits(ap_win_target_level(o)) & (p->events | POLLERR | POLLHUP);
            }
            ready += p->revents != 0;
        }
        if (nsk) {
            ap_win_unlock();
            struct timespec zero = {0, 0};
            int k = ap_sys_ppoll(sk, nsk, &zero, NULL);
            ap_win_lock();
            if (k < 0) {
                rc = -1;
                break;
            }
            for (nfds_t j = 0; j < nsk; j++) {
                fds[at[j]].revents = sk[j].revents;
                ready += sk[j].revents != 0;
            }
            tick = 1;
        }
        int64_t now = ap_sys_now_ns();
        if (ready || (deadline >= 0 && now >= deadline)) break;
        DWORD ms = INFINITE;
        if (deadline >= 0) ms = (DWORD)((deadline - now + 999999) / 1000000);
        if (tick && ms > POLL_TICK_MS) ms = POLL_TICK_MS;
        ap_win_poll_sleep(ms);
    }
    ap_win_unlock();
    free(sk);
    free(at);
    return rc < 0 ? -1 : ready;
}
#endif
