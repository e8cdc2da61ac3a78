/*
 * test_oneshot.c — EPOLLONESHOT: one report, then silent (even for HUP/ERR) until MOD re-arms.
 */
#include "runner.h"

#include <fcntl.h>
#include <sys/socket.h>

TEST(oneshot_fires_once)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLONESHOT, 1);
    WAIT_NONE(ep);
    write_str(p[1], "a");
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    WAIT_NONE(ep);          /* still readable, level-triggered, but disabled */
    write_str(p[1], "b");   /* new data: still silent */
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(oneshot_silent_even_for_hup_and_err)
{
    int ep = new_epoll();
    int p[2], q[2];
    make_pipe(p, O_NONBLOCK);
    make_pipe(q, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLONESHOT, 1);
    ADD(ep, q[1], EPOLLOUT | EPOLLONESHOT, 2);
    write_str(p[1], "a");
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLOUT, 2));
    CLOSE(p[1]); /* HUP on p[0] */
    CLOSE(q[0]); /* ERR on q[1] */
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(q[1]);
    CLOSE(ep);
}

TEST(oneshot_add_again_eexist)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 2};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(oneshot_mod_rearms_and_reports_at_once)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    WAIT_NONE(ep);
    MOD(ep, efd, EPOLLIN | EPOLLONESHOT, 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 2));
    WAIT_NONE(ep);
    MOD(ep, efd, EPOLLIN | EPOLLOUT | EPOLLONESHOT | EPOLLET, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 3));
    WAIT_NONE(ep);
    MOD(ep, efd, EPOLLIN, 4); /* back to plain level-triggered */
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    CLOSE(efd);
    CLOSE(ep);
}

/* Re-armed while nothing is ready: the next arrival is reported, once. */
TEST(oneshot_rearm_then_new_event)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT | EPOLLET, 1);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CHECK_U64(efd_read(efd), 1);
    MOD(ep, efd, EPOLLIN | EPOLLONESHOT | EPOLLET, 2);
    WAIT_NONE(ep);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 2));
    efd_write(efd, 1);
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(oneshot_del_after_fire)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    DEL(ep, efd);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT, 5);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    CLOSE(efd);
    CLOSE(ep);
}

/* Only the entries actually returned are disarmed: the others stay armed for the next call. */
TEST(oneshot_with_small_maxevents)
{
    int ep = new_epoll();
    int a = new_eventfd(1, EFD_NONBLOCK), b = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, a, EPOLLIN | EPOLLONESHOT, 1);
    ADD(ep, b, EPOLLIN | EPOLLONESHOT, 2);
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2)); /* the one not returned stays armed */
    WAIT_NONE(ep);
    CLOSE(a);
    CLOSE(b);
    CLOSE(ep);
}
