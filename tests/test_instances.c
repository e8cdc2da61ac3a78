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

/* Two instances watch one socket EPOLLET, b with RDHUP too: each gets its own edge for each
 * arrival (one taking its edge consumes none of the other's). Left with the two bytes unread. */
static void each_gets_edge(int *a, int *b, int sv[2])
{
    *a = new_epoll();
    *b = new_epoll();
    make_socketpair(sv, SOCK_STREAM);
    ADD(*a, sv[0], EPOLLIN | EPOLLET, 1);
    ADD(*b, sv[0], EPOLLIN | EPOLLRDHUP | EPOLLET, 2);
    write_str(sv[1], "1");
    WAIT_EXPECT(*a, EV(EPOLLIN, 1));
    write_str(sv[1], "2");
    WAIT_EXPECT(*b, EV(EPOLLIN, 2)); /* b's edge was not consumed by a */
    WAIT_NONE(*b);
    WAIT_EXPECT(*a, EV(EPOLLIN, 1));
    WAIT_NONE(*a);
}

TEST(instances_same_fd_et_each_gets_edge)
{
    int a, b, sv[2];
    each_gets_edge(&a, &b, sv);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(a);
    CLOSE(b);
}

/* The same, then the peer's shutdown while the data reported to both is still unread: a
 * wake-up of every watcher, so an edge for each. */
TEST_AIDS_GAP(instances_same_fd_et_each_gets_shutdown_edge,
              "the peer's shutdown while reported data is still unread is no edge until the program reads that data: without POLLRDHUP (plain POSIX, macOS, NetBSD, OpenBSD) end of stream behind queued data cannot be seen (a MSG_PEEK returns the data); the read that drains it brings the IN|RDHUP edge (test_host_aids.c)")
{
    int a, b, sv[2];
    each_gets_edge(&a, &b, sv);
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
