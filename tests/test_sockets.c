/*
 * test_sockets.c — TCP over loopback: the EPOLLET sequence, MOD re-arming, shutdown / reset /
 * refused / unconnected masks, accept, connect completion, urgent data, UDP.
 */
#include "runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#define ALL_IN_OUT (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

TEST(tcp_et_no_activity_nothing)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 1);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 1)); /* writable when registered */
    WAIT_NONE_MS(ep, 50);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_et_data_arrives_full_mask)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 2);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    CHECK_EQ(T.send(c, "hello", 5, 0), 5);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 2));
    WAIT_NONE(ep);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_et_partial_read_then_more_data)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 3);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 3));
    CHECK_EQ(T.send(c, "0123456789", 10, 0), 10);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 3));
    char buf[16];
    CHECK_EQ(T.recv(s, buf, 4, 0), 4); /* partial read: nothing */
    WAIT_NONE(ep);
    CHECK_EQ(T.send(c, "ab", 2, 0), 2); /* more while unread data remains: event */
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 3));
    WAIT_NONE(ep);
    CHECK_EQ(T.read(s, buf, sizeof buf), 8);
    CHECK(memcmp(buf, "456789ab", 8) == 0);
    CHECK_ERR(T.read(s, buf, sizeof buf), EAGAIN);
    WAIT_NONE(ep);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_et_mod_rereads_readiness)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET, 4);
    CHECK_EQ(T.send(c, "x", 1, 0), 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_NONE(ep);
    MOD(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET, 5);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    WAIT_NONE(ep);
    MOD(ep, s, ALL_IN_OUT, 6);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 6));
    WAIT_NONE(ep);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_peer_shutdown_wr_in_out_rdhup)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 7);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 7));
    CHECK_EQ(shutdown(c, SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 7));
    WAIT_NONE(ep);
    char buf[4];
    CHECK_EQ(T.recv(s, buf, sizeof buf, 0), 0);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_both_directions_shut_hup)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 8);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 8));
    CHECK_EQ(shutdown(c, SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 8));
    CHECK_EQ(shutdown(s, SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP, 8));
    MOD(ep, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 9); /* level-triggered: stays */
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP, 9));
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP, 9));
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_own_shutdown_rdwr_hup)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 10);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 10));
    CHECK_EQ(shutdown(s, SHUT_RDWR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP, 10));
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

static void reset_by_close(int fd)
{
    struct linger lg = {1, 0};
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CLOSE(fd);
}

TEST(tcp_peer_reset_err_hup)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, ALL_IN_OUT, 11);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 11));
    reset_by_close(c);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP, 11));
    WAIT_NONE(ep);
    char buf[4];
    CHECK_ERR(T.recv(s, buf, sizeof buf, 0), ECONNRESET);
    CLOSE(s);
    CLOSE(ep);
}

/* A reset is reported (ERR|HUP) even when the interest is only IN. */
TEST(tcp_peer_reset_masked_to_interest)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN, 12);
    WAIT_NONE(ep);
    reset_by_close(c);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLERR | EPOLLHUP, 12));
    CLOSE(s);
    CLOSE(ep);
}

TEST(tcp_refused_connect_like_reset)
{
    int port = unused_tcp_port();
    int c = tcp_connect_nb(port);
    int ep = new_epoll();
    ADD(ep, c, ALL_IN_OUT, 13);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP, 13));
    WAIT_NONE(ep);
    int err = 0;
    socklen_t len = sizeof err;
    CHECK_EQ(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ECONNREFUSED);
    CLOSE(c);
    CLOSE(ep);
}

TEST(tcp_unconnected_out_hup)
{
    int u = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(u >= 0);
    int ep = new_epoll();
    ADD(ep, u, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 14);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLHUP, 14));
    MOD(ep, u, EPOLLIN, 15);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 15));
    CLOSE(u);
    CLOSE(ep);
}

TEST(tcp_listen_lt_accept)
{
    int l;
    int port = tcp_listener(&l);
    int ep = new_epoll();
    ADD(ep, l, EPOLLIN | EPOLLOUT, 16);
    WAIT_NONE(ep); /* a listening socket is never writable */
    int c = tcp_connect_nb(port);
    WAIT_EXPECT(ep, EV(EPOLLIN, 16));
    WAIT_EXPECT(ep, EV(EPOLLIN, 16));
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int a = MUST(T.accept(l, (struct sockaddr *)&peer, &plen));
    CHECK_EQ(plen, sizeof peer);
    CHECK_EQ(peer.sin_family, AF_INET);
    WAIT_NONE(ep);
    CHECK_ERR(T.accept(l, NULL, NULL), EAGAIN);
    CLOSE(a);
    CLOSE(c);
    CLOSE(l);
    CLOSE(ep);
}

TEST(tcp_connect_completes_with_out)
{
    int l;
    int port = tcp_listener(&l);
    int c = tcp_connect_nb(port);
    int ep = new_epoll();
    ADD(ep, c, EPOLLOUT | EPOLLET, 17);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 17));
    WAIT_NONE(ep);
    int err = -1;
    socklen_t len = sizeof err;
    CHECK_EQ(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, 0);
    int a = MUST(T.accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
    CHECK_EQ(T.fcntl(a, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(T.fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CLOSE(a);
    CLOSE(c);
    CLOSE(l);
    CLOSE(ep);
}

/* Urgent data: PRI is reported to a registration that asks for it. */
TEST(tcp_urgent_data_pri)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN | EPOLLPRI | EPOLLET, 18);
    WAIT_NONE(ep);
    CHECK_EQ(T.send(c, "ab", 2, 0), 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 18));
    CHECK_EQ(T.send(c, "!", 1, MSG_OOB), 1);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLPRI, 18));
    char oob;
    CHECK_EQ(T.recv(s, &oob, 1, MSG_OOB), 1);
    CHECK_EQ(oob, '!');
    char buf[8];
    CHECK_EQ(T.recv(s, buf, sizeof buf, 0), 2);
    MOD(ep, s, EPOLLIN | EPOLLPRI, 19);
    WAIT_NONE(ep);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

/* A large exchange in both directions, ET on both ends, each side draining to EAGAIN. */
TEST(tcp_et_large_transfer)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET, 20);
    ADD(ep, c, EPOLLOUT | EPOLLET, 21);
    static char out[4 << 20], in[65536];
    for (size_t i = 0; i < sizeof out; i++) out[i] = (char)(i * 13 + 1);
    size_t sent = 0, got = 0;
    int64_t t0 = now_ns();
    while (got < sizeof out) {
        if (elapsed_ms(t0) > 10000) FAIL("stalled: %zu sent, %zu received", sent, got);
        struct epoll_event evs[4];
        int n = T.epoll_wait(ep, evs, 4, WAIT_MS);
        if (n == 0) FAIL("no event with %zu sent, %zu received", sent, got);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 21) {
                while (sent < sizeof out) {
                    ssize_t w = T.send(c, out + sent, sizeof out - sent, 0);
                    if (w < 0 && errno == EAGAIN) break;
                    CHECK(w > 0);
                    sent += (size_t)w;
                }
            } else {
                for (;;) {
                    ssize_t r = T.recv(s, in, sizeof in, 0);
                    if (r < 0 && errno == EAGAIN) break;
                    CHECK(r > 0);
                    if (memcmp(in, out + got, (size_t)r)) FAIL("corrupt data at %zu", got);
                    got += (size_t)r;
                }
            }
        }
    }
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

TEST_AIDS_GAP(udp_et_edge_per_datagram,
              "a datagram arriving while earlier ones are unread is no edge until the program receives: plain POSIX cannot measure a datagram queue's growth (Linux: SO_MEMINFO, BSD: FIONREAD); a receive then re-reports IN while datagrams remain")
{
    struct sockaddr_in addr;
    int a = udp_receiver(&addr);
    int b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    CHECK(b >= 0);
    int ep = new_epoll();
    ADD(ep, a, EPOLLIN | EPOLLOUT | EPOLLET, 22);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 22));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(T.sendto(b, "dgram", 5, 0, (struct sockaddr *)&addr, sizeof addr), 5);
        WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 22));
        WAIT_NONE(ep);
    }
    char buf[16];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    CHECK_EQ(T.recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 5);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK_EQ(T.recvmsg(a, &mh, 0), 5);
    CHECK_EQ(T.recv(a, buf, sizeof buf, 0), 5);
    CHECK_ERR(T.recv(a, buf, sizeof buf, 0), EAGAIN);
    WAIT_NONE(ep);
    struct iovec siov = {"msg", 3};
    struct msghdr smh = {.msg_name = &addr, .msg_namelen = sizeof addr, .msg_iov = &siov,
                         .msg_iovlen = 1};
    CHECK_EQ(T.sendmsg(b, &smh, 0), 3);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 22));
    CLOSE(a);
    CLOSE(b);
    CLOSE(ep);
}

/* A receive shorter than the datagram returns what fit and drops the rest of that datagram
 * (all of it stays when peeking); recvmsg says so with MSG_TRUNC. Winsock fails such receives
 * with WSAEMSGSIZE, which anypoll on Windows turns into Linux's answer. */
TEST(udp_receive_shorter_than_datagram_truncates)
{
    struct sockaddr_in addr;
    int a = udp_receiver(&addr);
    int b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    CHECK(b >= 0);
    int ep = new_epoll();
    ADD(ep, a, EPOLLIN, 23);
    static const char *const sent[] = {"0123456789", "ab", "wxyz"};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(T.sendto(b, sent[i], strlen(sent[i]), 0, (struct sockaddr *)&addr, sizeof addr),
                 (long long)strlen(sent[i]));
    char buf[16] = {0};
    WAIT_EXPECT(ep, EV(EPOLLIN, 23));
    CHECK_EQ(T.recv(a, buf, 3, MSG_PEEK), 3);
    CHECK(memcmp(buf, "012", 3) == 0);
    CHECK_EQ(T.read(a, buf, 4), 4);
    CHECK(memcmp(buf, "0123", 4) == 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 23));
    CHECK_EQ(T.recvfrom(a, buf, sizeof buf, 0, NULL, NULL), 2);
    CHECK(memcmp(buf, "ab", 2) == 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 23));
    struct iovec iov = {buf, 2};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK_EQ(T.recvmsg(a, &mh, 0), 2);
    CHECK(memcmp(buf, "wx", 2) == 0);
    CHECK_EQ(mh.msg_flags & MSG_TRUNC, MSG_TRUNC);
    CHECK_ERR(T.recv(a, buf, sizeof buf, 0), EAGAIN);
    WAIT_NONE(ep);
    CLOSE(a);
    CLOSE(b);
    CLOSE(ep);
}
