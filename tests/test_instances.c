/*
 * test_instances.c — one file in several epoll instances: every instance is told.
 */
#include "runner.h"

#include <fcntl.h>
#include <sys/socket.h>

TEST(instances_same_fd_in_three_lt)
{
    int ep[3];
    int p[2];
    make_pipe(p, O_NONBLOCK);
    for (int i = 0; i < 3; i++) {
        ep[i] = new_epoll();
        ADD(ep[i], p[0], EPOLLIN, 10 + i);
    }
    for (int i = 0; i < 3; i++) WAIT_NONE(ep[i]);
    write_str(p[1], "x");
    for (int i = 0; i < 3; i++) WAIT_EXPECT(ep[i], EV(EPOLLIN, 10 + i));
    DEL(ep[1], p[0]);
    WAIT_EXPECT(ep[0], EV(EPOLLIN, 10));
    WAIT_NONE(ep[1]);
    WAIT_EXPECT(ep[2], EV(EPOLLIN, 12));
    for (int i = 0; i < 3; i++) CLOSE(ep[i]);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(instances_same_fd_et_each_gets_edge)
{
    int a = new_epoll(), b = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(a, sv[0], EPOLLIN | EPOLLET, 1);
    ADD(b, sv[0], EPOLLIN | EPOLLRDHUP | EPOLLET, 2);
    write_str(sv[1], "1");
    WAIT_EXPECT(a, EV(EPOLLIN, 1));
    write_str(sv[1], "2");
    WAIT_EXPECT(b, EV(EPOLLIN, 2)); /* b's edge was not consumed by a */
    WAIT_NONE(b);
    WAIT_EXPECT(a, EV(EPOLLIN, 1));
    WAIT_NONE(a);
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(a, EV(EPOLLIN, 1));
    WAIT_EXPECT(b, EV(EPOLLIN | EPOLLRDHUP, 2));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(a);
    CLOSE(b);
}

/* tokio's signal driver: one socketpair end dup'd into each runtime's instance. */
TEST(instances_dup_of_receiver_in_each)
{
    enum { N = 3 };
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    int ep[N], d[N];
    for (int i = 0; i < N; i++) {
        ep[i] = new_epoll();
        d[i] = MUST(T.fcntl(sv[0], F_DUPFD_CLOEXEC, 0));
        ADD(ep[i], d[i], EPOLLIN | EPOLLRDHUP | EPOLLET, 100 + i);
    }
    CHECK_EQ(T.send(sv[1], "s", 1, MSG_NOSIGNAL), 1);
    for (int i = 0; i < N; i++) WAIT_EXPECT(ep[i], EV(EPOLLIN, 100 + i));
    for (int i = 0; i < N; i++) WAIT_NONE(ep[i]);
    char c;
    CHECK_EQ(T.recv(d[0], &c, 1, 0), 1);
    CHECK_EQ(T.send(sv[1], "t", 1, MSG_NOSIGNAL), 1);
    for (int i = 0; i < N; i++) WAIT_EXPECT(ep[i], EV(EPOLLIN, 100 + i));
    for (int i = 0; i < N; i++) {
        CLOSE(d[i]);
        CLOSE(ep[i]);
    }
    CLOSE(sv[0]);
    CLOSE(sv[1]);
}

/* Closing the fd removes it from every instance that held it. */
TEST(instances_close_removes_from_all)
{
    int a = new_epoll(), b = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(a, efd, EPOLLIN, 1);
    ADD(b, efd, EPOLLIN, 2);
    WAIT_EXPECT(a, EV(EPOLLIN, 1));
    WAIT_EXPECT(b, EV(EPOLLIN, 2));
    CLOSE(efd);
    WAIT_NONE(a);
    WAIT_NONE(b);
    CLOSE(a);
    CLOSE(b);
}
