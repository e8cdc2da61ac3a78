/*
 * readiness.c — what the program would see of a registration's target, in Linux's epoll bits
 * (engines/win room): AFD's events as Linux's tcp_poll/datagram_poll report them, the keys a
 * completion wakes watchers with, and the level of a file of the object layer. Calls afd.c and
 * the object layer only.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "objects/eventfd.h"
#include "objects/timerfd.h"
#include "host/sys.h"
#include "host/sys_win.h"

#include <errno.h>
#include <string.h>

/* --- readiness -------------------------------------------------------------------------- */

/* What Linux's tcp_poll/datagram_poll report for what AFD says. */
static uint32_t afd_to_epoll(uint32_t a)
{
    uint32_t m = 0;
    if (a & (AP_AFD_RECEIVE | AP_AFD_ACCEPT)) m |= EPOLLIN | EPOLLRDNORM;
    if (a & AP_AFD_RECEIVE_EXPEDITED) m |= EPOLLPRI | EPOLLRDBAND;
    if (a & AP_AFD_SEND) m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    if (a & AP_AFD_DISCONNECT) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if (a & (AP_AFD_ABORT | AP_AFD_CONNECT_FAIL))
        m |= EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | EPOLLERR | EPOLLHUP | EPOLLRDHUP;
    return m;
}

#define AFD_ALL                                                                                    \
    (AP_AFD_RECEIVE | AP_AFD_RECEIVE_EXPEDITED | AP_AFD_SEND | AP_AFD_DISCONNECT | AP_AFD_ABORT |  \
     AP_AFD_ACCEPT | AP_AFD_CONNECT_FAIL)

/* What the poll request of r asks for: its interest, less what EPOLLET already reported. */
uint32_t ap_win_wanted_afd(const struct reg *r)
{
    uint32_t want = (r->events & (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLRDNORM |
                                  EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND)) &
                    ~r->seen;
    uint32_t a = AP_AFD_LOCAL_CLOSE;
    /* data arriving wakes IN and PRI watchers alike (the kernel's key is IN|PRI|RDNORM|RDBAND) */
    if ((r->events & (EPOLLIN | EPOLLRDNORM | EPOLLPRI | EPOLLRDBAND)) && !(r->seen & EPOLLIN))
        a |= AP_AFD_RECEIVE | AP_AFD_ACCEPT;
    if (want & (EPOLLPRI | EPOLLRDBAND)) a |= AP_AFD_RECEIVE_EXPEDITED;
    if (want & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)) a |= AP_AFD_SEND;
    /* the peer's shutdown wakes IN watchers too (it makes IN true) */
    if ((r->events & (EPOLLIN | EPOLLRDHUP)) && !(r->seen & EPOLLRDHUP)) a |= AP_AFD_DISCONNECT;
    if (!(r->seen & EPOLLERR)) a |= AP_AFD_ABORT | AP_AFD_CONNECT_FAIL;
    return a;
}

/* The key a completion's events wake the kernel's watchers with. */
uint32_t ap_win_afd_key(uint32_t a)
{
    uint32_t k = afd_to_epoll(a);
    if (a & AP_AFD_RECEIVE) k |= EPOLLPRI | EPOLLRDBAND;
    return k;
}

/* A socket's state as Linux's tcp_poll would report it: AFD's events, plus the socket's own
 * shutdowns, which AFD does not report (a zero-length send/recv fails once a direction is
 * shut). *gone is set when the socket no longer exists. */
uint32_t ap_win_socket_level(const struct reg *r, int *gone)
{
    uint32_t a = ap_afd_poll_now(r->base, AFD_ALL);
    *gone = (a & AP_AFD_LOCAL_CLOSE) != 0;
    if (*gone) return 0;
    uint32_t m = afd_to_epoll(a);
    if (r->stream && !(a & (AP_AFD_ABORT | AP_AFD_CONNECT_FAIL))) {
        /* only where the probe cannot block: a non-blocking socket, or a side that is ready */
        int err = WSAGetLastError(), nb = ap_win_nonblocking(r->fd);
        char c;
        int wr_shut = (nb || (a & AP_AFD_SEND)) && send((SOCKET)r->fd, &c, 0, 0) == SOCKET_ERROR &&
                      WSAGetLastError() == WSAESHUTDOWN;
        int rd_shut = (nb || (a & (AP_AFD_RECEIVE | AP_AFD_DISCONNECT))) &&
                      recv((SOCKET)r->fd, &c, 0, 0) == SOCKET_ERROR &&
                      WSAGetLastError() == WSAESHUTDOWN;
        WSASetLastError(err);
        if (rd_shut) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        if (wr_shut) m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
        if (wr_shut && (m & EPOLLRDHUP)) m |= EPOLLHUP;
    }
    return m;
}

/* A file's level, as the kernel's eventfd_poll / timerfd_poll give it (lock-free). */
uint32_t ap_win_file_level(struct ap_obj *f)
{
    return f->kind == AP_KIND_EVENTFD ? ap_eventfd_level((struct ap_eventfd *)f)
                                      : ap_timerfd_level((struct ap_timerfd *)f);
}
#endif
