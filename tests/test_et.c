/*
 * test_et.c — edge-triggered registrations on pipes, socketpairs and listening sockets: an
 * event for every new arrival, none without activity, the full current mask, MOD re-arms.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

TEST(et_pipe_every_write_is_an_edge)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLET, 10);
    WAIT_NONE(ep);
    write_str(p[1], "a");
    WAIT_EXPECT(ep, EV(EPOLLIN, 10));
    WAIT_NONE(ep);
    write_str(p[1], "b"); /* unread data remains: still a new edge */
    WAIT_EXPECT(ep, EV(EPOLLIN, 10));
    WAIT_NONE(ep);
    char buf[8];
    CHECK_EQ(T.read(p[0], buf, 1), 1); /* partial read: nothing new */
    WAIT_NONE(ep);
    CHECK_EQ(T.read(p[0], buf, sizeof buf), 1);
    CHECK_ERR(T.read(p[0], buf, sizeof buf), EAGAIN);
    WAIT_NONE(ep);
    write_str(p[1], "c");
    WAIT_EXPECT(ep, EV(EPOLLIN, 10));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(et_pipe_write_end_out_edge_after_full)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[1], EPOLLOUT | EPOLLET, 11);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 11));
    WAIT_NONE(ep);
    size_t n = fill_fd(p[1]);
    CHECK(n > 0);
    WAIT_NONE(ep);
    CHECK_EQ(drain_fd(p[0]), n);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 11));
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(et_socketpair_sequence)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 12);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 12)); /* writable at registration */
    WAIT_NONE(ep);                     /* no activity: nothing */
    write_str(sv[1], "hello");
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 12)); /* full current mask */
    WAIT_NONE(ep);
    char buf[8];
    CHECK_EQ(T.read(sv[0], buf, 2), 2); /* partial read: nothing */
    WAIT_NONE(ep);
    write_str(sv[1], "more"); /* more data while unread data remains: event */
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 12));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

TEST(et_mod_rearms_without_new_data)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLET, 13);
    write_str(sv[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 13));
    WAIT_NONE(ep);
    MOD(ep, sv[0], EPOLLIN | EPOLLET, 14);
    WAIT_EXPECT(ep, EV(EPOLLIN, 14));
    WAIT_NONE(ep);
    MOD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLET, 15);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 15));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

TEST_AIDS_GAP(et_datagram_socketpair_edge_per_datagram,
              "a datagram arriving while earlier ones are unread is no edge until the program receives: plain POSIX cannot measure a datagram queue's growth (Linux: SO_MEMINFO, BSD: FIONREAD); a receive then re-reports IN while datagrams remain")
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_DGRAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLET, 16);
    WAIT_NONE(ep);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(T.send(sv[1], "d", 1, 0), 1);
        WAIT_EXPECT(ep, EV(EPOLLIN, 16));
        WAIT_NONE(ep);
    }
    char buf[4];
    CHECK_EQ(T.recv(sv[0], buf, sizeof buf, 0), 1); /* one of three datagrams read */
    WAIT_NONE(ep);
    CHECK_EQ(T.recv(sv[0], buf, sizeof buf, 0), 1);
    CHECK_EQ(T.recv(sv[0], buf, sizeof buf, 0), 1);
    CHECK_ERR(T.recv(sv[0], buf, sizeof buf, 0), EAGAIN);
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

TEST_AIDS_GAP(et_listening_socket_edge_per_connection,
              "a connection arriving while earlier ones are unaccepted is no edge until the program "
              "accepts: plain POSIX cannot measure an accept queue (Linux: TCP_INFO, FreeBSD: "
              "SO_LISTENQLEN); an accept then re-reports IN while connections wait")
{
    int ep = new_epoll();
    int l;
    int port = tcp_listener(&l);
    ADD(ep, l, EPOLLIN | EPOLLET, 17);
    WAIT_NONE(ep);
    int c1 = tcp_connect_nb(port);
    WAIT_EXPECT(ep, EV(EPOLLIN, 17));
    WAIT_NONE(ep);
    int c2 = tcp_connect_nb(port); /* a second one while the first is not accepted: event */
    WAIT_EXPECT(ep, EV(EPOLLIN, 17));
    WAIT_NONE(ep);
    int a1 = MUST(T.accept4(l, NULL, NULL, SOCK_NONBLOCK));
    WAIT_NONE(ep);
    int a2 = MUST(T.accept4(l, NULL, NULL, SOCK_NONBLOCK));
    CHECK_ERR(T.accept(l, NULL, NULL), EAGAIN);
    WAIT_NONE(ep);
    CLOSE(a1);
    CLOSE(a2);
    CLOSE(c1);
    CLOSE(c2);
    CLOSE(l);
    CLOSE(ep);
}

/* The socket send buffer filled until EAGAIN, then drained by the peer: an OUT edge. */
TEST(et_socketpair_out_edge_after_eagain)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLOUT | EPOLLET, 18);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 18));
    size_t n = fill_fd(sv[0]);
    CHECK(n > 0);
    WAIT_NONE(ep);
    CHECK_EQ(drain_fd(sv[1]), n);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 18));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* At most maxevents per call; the rest are kept for the next calls, each reported once. */
TEST(et_maxevents_rest_kept_for_next_call)
{
    int ep = new_epoll();
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN | EPOLLET, 100 + i);
    }
    struct epoll_event evs[8];
    int seen[5] = {0};
    int total = 0;
    for (int call = 0; call < 3; call++) {
        int n = T.epoll_wait(ep, evs, 2, WAIT_MS);
        CHECK_EQ(n, call < 2 ? 2 : 1);
        for (int i = 0; i < n; i++) {
            CHECK_EQ(evs[i].events, EPOLLIN);
            uint64_t d = evs[i].data.u64;
            CHECK(d >= 100 && d < 105);
            CHECK_EQ(seen[d - 100], 0);
            seen[d - 100] = 1;
            total++;
        }
    }
    CHECK_EQ(total, 5);
    WAIT_NONE(ep);
    for (int i = 0; i < 5; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

/* Draining with a read that returns a short count, then new data: a new edge. */
TEST(et_pipe_drain_then_new_data)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLRDHUP | EPOLLET, 19);
    char big[3000];
    memset(big, 'z', sizeof big);
    write_all(p[1], big, sizeof big);
    WAIT_EXPECT(ep, EV(EPOLLIN, 19));
    char buf[4096];
    CHECK_EQ(T.read(p[0], buf, sizeof buf), 3000);
    WAIT_NONE(ep);
    write_all(p[1], big, 10);
    WAIT_EXPECT(ep, EV(EPOLLIN, 19));
    struct iovec iov[2] = {{buf, 4}, {buf + 4, 4}};
    CHECK_EQ(T.readv(p[0], iov, 2), 8);
    WAIT_NONE(ep);
    write_all(p[1], big, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 19));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* A large transfer read ET-style (until EAGAIN after each event) arrives whole. */
TEST(et_stream_transfer_never_stalls)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLET, 20);
    ADD(ep, sv[1], EPOLLOUT | EPOLLET, 21);
    static char out[1 << 20], in[65536];
    for (size_t i = 0; i < sizeof out; i++) out[i] = (char)(i * 7);
    size_t sent = 0, got = 0;
    int64_t t0 = now_ns();
    while (got < sizeof out) {
        if (elapsed_ms(t0) > 10000) FAIL("transfer stalled at %zu/%zu bytes", got, sizeof out);
        struct epoll_event evs[4];
        int n = T.epoll_wait(ep, evs, 4, WAIT_MS);
        if (n == 0) FAIL("no event with %zu bytes sent, %zu received", sent, got);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 21) {
                while (sent < sizeof out) {
                    ssize_t w = T.write(sv[1], out + sent, sizeof out - sent);
                    if (w < 0 && errno == EAGAIN) break;
                    CHECK(w > 0);
                    sent += (size_t)w;
                }
            } else {
                CHECK_EQ(evs[i].data.u64, 20);
                for (;;) {
                    ssize_t r = T.read(sv[0], in, sizeof in);
                    if (r < 0 && errno == EAGAIN) break;
                    CHECK(r > 0);
                    CHECK(memcmp(in, out + got, (size_t)r) == 0);
                    got += (size_t)r;
                }
            }
        }
    }
    CHECK_EQ(got, sizeof out);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* Hundreds of registrations in one instance, drained with a small buffer: each ready fd
 * reported exactly once. */
TEST(et_many_registrations_small_buffer)
{
    enum { N = 300, MAX = 64 };
    int ep = new_epoll();
    static int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN | EPOLLET, (uint64_t)i << 32 | (uint64_t)i);
    }
    static int seen[N];
    int total = 0;
    for (;;) {
        struct epoll_event evs[MAX];
        int n = T.epoll_wait(ep, evs, MAX, total < N ? WAIT_MS : NONE_MS);
        CHECK(n >= 0);
        if (n == 0) break;
        for (int i = 0; i < n; i++) {
            uint64_t d = evs[i].data.u64;
            uint64_t idx = d & 0xffffffffu;
            CHECK(idx < N && d >> 32 == idx);
            CHECK_EQ(evs[i].events, EPOLLIN);
            CHECK_EQ(seen[idx], 0);
            seen[idx] = 1;
            total++;
        }
    }
    CHECK_EQ(total, N);
    for (int i = 0; i < N; i++) CLOSE(fds[i]);
    CLOSE(ep);
}
