/*
 * test_close_dup.c — registrations belong to (open file, fd number): close without DEL removes
 * them only when the file goes away; dups of registered fds and of epoll fds.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>

TEST(close_removes_registration)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 1);
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CLOSE(p[0]); /* the only reference: the registration goes with it, data pending or not */
    WAIT_NONE(ep);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(close_then_del_ebadf)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 2);
    CLOSE(efd);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), EBADF);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), EBADF);
    CLOSE(ep);
}

TEST(close_reused_number_is_a_new_file)
{
    int ep = new_epoll();
    int a = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, a, EPOLLIN, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    CLOSE(a);
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int same = p[0] == a ? p[0] : -1;
    if (same < 0) {
        CHECK_EQ(T.dup2(p[0], a), a);
        CLOSE(p[0]);
        p[0] = a;
    }
    WAIT_NONE(ep); /* nothing from the old registration, nothing for the new file */
    write_str(p[1], "x");
    WAIT_NONE(ep);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, a, &ev), ENOENT);
    ADD(ep, a, EPOLLIN, 4); /* not EEXIST */
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* The registration lives while the file is open through a dup, and reports its old data. */
TEST(close_with_dup_alive_keeps_reporting)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 0xabcdef0123456789ull);
    int d = MUST(T.dup(p[0]));
    CLOSE(p[0]);
    WAIT_NONE(ep);
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 0xabcdef0123456789ull));
    WAIT_EXPECT(ep, EV(EPOLLIN, 0xabcdef0123456789ull));
    char c;
    CHECK_EQ(T.read(d, &c, 1), 1);
    WAIT_NONE(ep);
    CLOSE(d); /* last reference: now it goes */
    WAIT_NONE(ep);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(close_with_dup_alive_del_by_dup_enoent)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 5);
    int d = MUST(T.dup(efd));
    CLOSE(efd);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL), ENOENT);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, d, &ev), ENOENT);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), EBADF);
    efd_write(d, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5)); /* the failed calls removed nothing */
    CLOSE(d);
    CLOSE(ep);
}

TEST(close_with_dup_alive_add_dup_both_report)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 6);
    int d = MUST(T.dup(efd));
    CLOSE(efd);
    ADD(ep, d, EPOLLIN | EPOLLET, 7);
    efd_write(d, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 6), EV(EPOLLIN, 7));
    WAIT_NONE(ep);
    DEL(ep, d);
    efd_write(d, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 6)); /* the orphaned one is still there */
    CLOSE(d);
    WAIT_NONE(ep);
    CLOSE(ep);
}

/* Two numbers for one file, both registered: two registrations, both report. Closing one
 * number removes nothing while the file is open: the registration made through it stays. */
TEST(dup_registered_under_both_numbers)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    int d = MUST(T.dup(efd));
    ADD(ep, efd, EPOLLIN, 8);
    ADD(ep, d, EPOLLIN | EPOLLOUT, 9);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 9));
    efd_write(efd, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN, 8), EV(EPOLLIN | EPOLLOUT, 9));
    CLOSE(d);
    WAIT_EXPECT(ep, EV(EPOLLIN, 8), EV(EPOLLIN | EPOLLOUT, 9));
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL), EBADF);
    CHECK_U64(efd_read(efd), 3);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 9));
    DEL(ep, efd);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 9));
    CLOSE(efd); /* the file goes: so does the orphaned registration */
    WAIT_NONE(ep);
    CLOSE(ep);
}

TEST(dup2_over_registered_fd_removes_it)
{
    int ep = new_epoll();
    int a = new_eventfd(1, EFD_NONBLOCK);
    int b = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, a, EPOLLIN, 10);
    WAIT_EXPECT(ep, EV(EPOLLIN, 10));
    CHECK_EQ(T.dup2(b, a), a); /* closes the file registered as a */
    WAIT_NONE(ep);
    efd_write(b, 1);
    WAIT_NONE(ep);
    ADD(ep, a, EPOLLIN, 11);
    WAIT_EXPECT(ep, EV(EPOLLIN, 11));
    CLOSE(a);
    CLOSE(b);
    CLOSE(ep);
}

TEST(dup2_dup3_same_and_bad_fds)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    CHECK_EQ(T.dup2(efd, efd), efd);
    CHECK_ERR(T.dup3(efd, efd, 0), EINVAL);
    CHECK_ERR(T.dup3(efd, efd + 1, 0x4000000), EINVAL);
    CHECK_ERR(T.dup(-1), EBADF);
    CHECK_ERR(T.dup2(-1, efd), EBADF);
    int d = MUST(T.dup3(efd, 200, O_CLOEXEC));
    CHECK_EQ(d, 200);
    CHECK_EQ(T.fcntl(d, F_GETFD), FD_CLOEXEC);
    efd_write(d, 4);
    CHECK_U64(efd_read(efd), 4); /* one counter */
    int f = MUST(T.fcntl(efd, F_DUPFD, 300));
    CHECK(f >= 300);
    CHECK_EQ(T.fcntl(f, F_GETFD), 0);
    efd_write(f, 2);
    CHECK_U64(efd_read(d), 2);
    CLOSE(efd);
    efd_write(f, 1); /* the dups keep the object alive */
    CHECK_U64(efd_read(d), 1);
    CLOSE(d);
    CLOSE(f);
    CHECK_ERR(T.close(f), EBADF);
}

TEST(epoll_fd_dup_is_same_instance)
{
    int ep = new_epoll();
    int ep2 = MUST(T.dup(ep));
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep2, efd, EPOLLIN, 12);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 12));
    MOD(ep, efd, EPOLLIN | EPOLLOUT, 13);
    WAIT_EXPECT(ep2, EV(EPOLLIN | EPOLLOUT, 13));
    DEL(ep, efd);
    CHECK_ERR(T.epoll_ctl(ep2, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    CLOSE(efd);
    CLOSE(ep2);
    CLOSE(ep);
}

TEST(epoll_fd_dup_survives_close_of_original)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 14);
    int ep2 = MUST(T.fcntl(ep, F_DUPFD_CLOEXEC, 0)); /* as mio does */
    CHECK_EQ(T.fcntl(ep2, F_GETFD), FD_CLOEXEC);
    CLOSE(ep);
    struct epoll_event evs[2];
    CHECK_ERR(T.epoll_wait(ep, evs, 2, 0), EBADF);
    efd_write(efd, 1);
    WAIT_EXPECT(ep2, EV(EPOLLIN, 14));
    int efd2 = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep2, efd2, EPOLLIN, 15);
    WAIT_EXPECT(ep2, EV(EPOLLIN, 15));
    CLOSE(efd2);
    CLOSE(efd);
    CLOSE(ep2);
}

TEST(epoll_fd_dup2_dup3)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    CHECK_EQ(T.dup2(ep, 210), 210);
    CHECK_EQ(T.dup3(ep, 211, O_CLOEXEC), 211);
    ADD(210, efd, EPOLLIN, 16);
    WAIT_EXPECT(211, EV(EPOLLIN, 16));
    WAIT_EXPECT(ep, EV(EPOLLIN, 16));
    CLOSE(ep);
    CLOSE(210);
    WAIT_EXPECT(211, EV(EPOLLIN, 16));
    CLOSE(211);
    CLOSE(efd);
}

/* A registered eventfd closed: no event, and the number can be registered again. */
TEST(close_registered_eventfd)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 17);
    CLOSE(efd);
    WAIT_NONE(ep);
    int e2 = new_eventfd(1, EFD_NONBLOCK);
    CHECK_EQ(e2, efd);
    ADD(ep, e2, EPOLLIN, 18);
    WAIT_EXPECT(ep, EV(EPOLLIN, 18));
    CLOSE(e2);
    CLOSE(ep);
}

/* Never POLLNVAL: closed fds vanish, they are not reported as invalid. */
TEST(closed_fd_never_reported_nval)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI, 19);
    ADD(ep, efd, EPOLLIN, 20);
    CLOSE(p[0]);
    CLOSE(p[1]);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 20));
    CLOSE(efd);
    WAIT_NONE(ep);
    CLOSE(ep);
}

TEST(close_epoll_fd_with_registrations)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 21);
    CLOSE(ep);
    /* the fd is untouched and can go into a new instance */
    int ep2 = new_epoll();
    ADD(ep2, efd, EPOLLIN, 22);
    WAIT_EXPECT(ep2, EV(EPOLLIN, 22));
    CHECK_U64(efd_read(efd), 1);
    CLOSE(efd);
    CLOSE(ep2);
}
