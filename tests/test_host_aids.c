/*
 * test_host_aids.c — what a program that takes one datagram or one connection per EPOLLET
 * event relies on, whatever the host can measure: an arrival behind unread ones is reported at
 * the latest by the wait after the program's next receive or accept. The kernel reports it at
 * the arrival already; the poll engine with the host's aids (Linux: SO_MEMINFO, TCP_INFO) does
 * the same, and with only the plain-POSIX ones (target poll-posix) because a receive or accept
 * on a queue it cannot measure counts as a possible arrival (docs/design.md, "Host aids").
 * So these pass on every target, and would catch a plain-POSIX host leaving a client waiting.
 */
#include "runner.h"

#include <netinet/in.h>
#include <sys/socket.h>

#define ROUNDS 3

/* Steady state of a server taking one connection per event: each round a new connection comes
 * while one waits unaccepted, the server accepts one, and the next wait reports IN. */
TEST(et_listener_one_accept_per_event_sees_the_next_connection)
{
    int ep = new_epoll();
    int l, c[ROUNDS + 1], a[ROUNDS + 1];
    int port = tcp_listener(&l);
    ADD(ep, l, EPOLLIN | EPOLLET, 30);
    c[0] = tcp_connect_nb(port);
    WAIT_EXPECT(ep, EV(EPOLLIN, 30));
    for (int i = 0; i < ROUNDS; i++) {
        c[i + 1] = tcp_connect_nb(port);
        a[i] = MUST(T.accept4(l, NULL, NULL, SOCK_NONBLOCK));
        WAIT_EXPECT(ep, EV(EPOLLIN, 30));
    }
    a[ROUNDS] = MUST(T.accept4(l, NULL, NULL, SOCK_NONBLOCK));
    CHECK_ERR(T.accept(l, NULL, NULL), EAGAIN);
    WAIT_NONE(ep);
    for (int i = 0; i <= ROUNDS; i++) {
        CLOSE(a[i]);
        CLOSE(c[i]);
    }
    CLOSE(l);
    CLOSE(ep);
}

/* The same for UDP, one receive per event. */
TEST(et_udp_one_receive_per_event_sees_the_next_datagram)
{
    struct sockaddr_in to;
    int rx = udp_receiver(&to);
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    CHECK(tx >= 0);
    int ep = new_epoll();
    ADD(ep, rx, EPOLLIN | EPOLLET, 31);
    char d[ROUNDS + 2] = "abcd";
    CHECK_EQ(T.sendto(tx, d, 1, 0, (struct sockaddr *)&to, sizeof to), 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 31));
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_EQ(T.sendto(tx, d + i + 1, 1, 0, (struct sockaddr *)&to, sizeof to), 1);
        char got = 0;
        CHECK_EQ(T.recv(rx, &got, 1, 0), 1);
        CHECK_EQ(got, d[i]);
        WAIT_EXPECT(ep, EV(EPOLLIN, 31));
    }
    char last = 0;
    CHECK_EQ(T.recv(rx, &last, 1, 0), 1);
    CHECK_EQ(last, d[ROUNDS]);
    CHECK_ERR(T.recv(rx, &last, 1, 0), EAGAIN);
    WAIT_NONE(ep);
    CLOSE(rx);
    CLOSE(tx);
    CLOSE(ep);
}
