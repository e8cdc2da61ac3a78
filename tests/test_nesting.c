/*
 * test_nesting.c — an epoll fd inside another epoll instance: allowed, reported while events
 * are pending, loops refused with ELOOP, depth limited as the kernel limits it.
 */
#include "runner.h"

#include <fcntl.h>

TEST(nest_epoll_in_epoll_reports_event)
{
    int outer = new_epoll(), inner = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(inner, efd, EPOLLIN, 1);
    ADD(outer, inner, EPOLLIN, 2);
    WAIT_NONE(outer);
    efd_write(efd, 1);
    WAIT_EXPECT(outer, EV(EPOLLIN, 2));
    WAIT_EXPECT(outer, EV(EPOLLIN, 2)); /* level-triggered: still pending inside */
    WAIT_EXPECT(inner, EV(EPOLLIN, 1));
    CHECK_U64(efd_read(efd), 1);
    WAIT_NONE(outer);
    CLOSE(efd);
    CLOSE(inner);
    CLOSE(outer);
}

/* An epoll fd only ever reports IN to its watchers (never OUT). */
TEST(nest_epoll_fd_mask_is_in_only)
{
    int outer = new_epoll(), inner = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(outer, inner, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI, 3);
    WAIT_NONE(outer);
    ADD(inner, efd, EPOLLIN, 4);
    WAIT_EXPECT(outer, EV(EPOLLIN, 3));
    CLOSE(efd);
    WAIT_NONE(outer);
    CLOSE(inner);
    CLOSE(outer);
}

TEST(nest_et_outer_edge_per_inner_event)
{
    int outer = new_epoll(), inner = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(inner, efd, EPOLLIN | EPOLLET, 5);
    ADD(outer, inner, EPOLLIN | EPOLLET, 6);
    WAIT_NONE(outer);
    efd_write(efd, 1);
    WAIT_EXPECT(outer, EV(EPOLLIN, 6));
    WAIT_NONE(outer);
    efd_write(efd, 1); /* a new edge inside: a new edge outside */
    WAIT_EXPECT(outer, EV(EPOLLIN, 6));
    WAIT_EXPECT(inner, EV(EPOLLIN, 5));
    WAIT_NONE(outer);
    CLOSE(efd);
    CLOSE(inner);
    CLOSE(outer);
}

TEST(nest_loop_eloop)
{
    int a = new_epoll(), b = new_epoll(), c = new_epoll();
    ADD(b, a, EPOLLIN, 1); /* a inside b */
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_ADD, b, &ev), ELOOP); /* b inside a */
    ADD(c, b, EPOLLIN, 2);                                    /* b inside c */
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_ADD, c, &ev), ELOOP); /* c inside a: a→c→b→a */
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_ADD, a, &ev), EINVAL);
    int bd = MUST(T.dup(b)); /* b under another number: still a loop */
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_ADD, bd, &ev), ELOOP);
    CLOSE(bd);
    /* the failed ADDs left nothing behind */
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_DEL, b, NULL), ENOENT);
    CHECK_ERR(T.epoll_ctl(a, EPOLL_CTL_DEL, c, NULL), ENOENT);
    CLOSE(c);
    CLOSE(b);
    CLOSE(a);
}

/* Nesting deeper than the kernel's limit is refused with ELOOP (EP_MAX_NESTS = 4: five
 * instances in a chain are accepted, a sixth level is not). */
TEST(nest_depth_limit)
{
    enum { N = 7 };
    int ep[N];
    for (int i = 0; i < N; i++) ep[i] = new_epoll();
    /* ep[i] inside ep[i+1] */
    struct epoll_event ev = {.events = EPOLLIN};
    int i;
    for (i = 0; i + 1 < N; i++)
        if (T.epoll_ctl(ep[i + 1], EPOLL_CTL_ADD, ep[i], &ev) != 0) break;
    CHECK_EQ(errno, ELOOP);
    CHECK_EQ(i, 4);
    for (int k = 0; k < N; k++) CLOSE(ep[k]);
}

TEST(nest_epoll_fd_poll_pollin_while_pending)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 7);
    POLL_EXPECT(ep, POLLIN | POLLOUT, 0, 0);
    efd_write(efd, 1);
    POLL_EXPECT(ep, POLLIN | POLLOUT, 0, POLLIN);
    POLL_EXPECT(ep, POLLIN, WAIT_MS, POLLIN);
    WAIT_EXPECT(ep, EV(EPOLLIN, 7));
    POLL_EXPECT(ep, POLLIN, 0, POLLIN); /* level-triggered: still pending */
    CHECK_U64(efd_read(efd), 1);
    POLL_EXPECT(ep, POLLIN, 0, 0);
    CLOSE(efd);
    CLOSE(ep);
}

/* Polling an epoll fd whose only pending entry is ET: POLLIN until a wait consumes it. */
TEST(nest_epoll_fd_poll_et_consumed)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 8);
    efd_write(efd, 1);
    POLL_EXPECT(ep, POLLIN, 0, POLLIN);
    POLL_EXPECT(ep, POLLIN, 0, POLLIN);
    WAIT_EXPECT(ep, EV(EPOLLIN, 8));
    POLL_EXPECT(ep, POLLIN, 0, 0);
    CLOSE(efd);
    CLOSE(ep);
}

/* A nested instance that is closed (its last reference) leaves the outer one. */
TEST(nest_inner_closed_removed_from_outer)
{
    int outer = new_epoll(), inner = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(inner, efd, EPOLLIN, 9);
    ADD(outer, inner, EPOLLIN, 10);
    WAIT_EXPECT(outer, EV(EPOLLIN, 10));
    CLOSE(inner);
    WAIT_NONE(outer);
    CLOSE(efd);
    CLOSE(outer);
}
