/*
 * test_exclusive.c — EPOLLEXCLUSIVE: accepted at ADD with IN/OUT/ERR/HUP/WAKEUP/ET only; EINVAL
 * with MOD, with ONESHOT or any other bit, on an epoll fd.
 */
#include "runner.h"

#include <fcntl.h>

TEST(exclusive_add_accepted_and_reports)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    int e2 = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 1);
    ADD(ep, e2, EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE, 2);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    efd_write(efd, 1);
    efd_write(e2, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLIN | EPOLLOUT, 2));
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    DEL(ep, efd);
    DEL(ep, e2);
    CLOSE(efd);
    CLOSE(e2);
    CLOSE(ep);
}

TEST(exclusive_with_other_bits_einval)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.data.u64 = 1};
    static const uint32_t bad[] = {EPOLLONESHOT, EPOLLRDHUP, EPOLLPRI, EPOLLRDNORM, EPOLLWRNORM,
                                   0x08000000u};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev.events = EPOLLIN | EPOLLEXCLUSIVE | bad[i];
        CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EINVAL);
    }
    /* nothing was added */
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(exclusive_on_epoll_fd_einval)
{
    int outer = new_epoll(), inner = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    CHECK_ERR(T.epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev), EINVAL);
    ev.events = EPOLLIN;
    CHECK_EQ(T.epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev), 0);
    CLOSE(inner);
    CLOSE(outer);
}

TEST(exclusive_with_mod_einval)
{
    int ep = new_epoll();
    int a = new_eventfd(1, EFD_NONBLOCK), b = new_eventfd(1, EFD_NONBLOCK);
    int c = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, a, EPOLLIN | EPOLLEXCLUSIVE, 1);
    ADD(ep, b, EPOLLIN, 2);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = 3};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, a, &ev), EINVAL); /* an exclusive registration */
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, a, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, b, &ev), EINVAL); /* EXCLUSIVE in a MOD */
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev), EINVAL); /* even before ENOENT */
    ev.events = EPOLLIN;
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev), ENOENT);
    /* the failed MODs changed nothing */
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLIN, 2));
    DEL(ep, a);
    CLOSE(a);
    CLOSE(b);
    CLOSE(c);
    CLOSE(ep);
}

/* EXCLUSIVE on an fd already registered: EEXIST like any ADD. */
TEST(exclusive_add_twice_eexist)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 1);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    CLOSE(efd);
    CLOSE(ep);
}
