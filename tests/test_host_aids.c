/*
 * test_host_aids.c — what a program that takes one datagram or one connection per EPOLLET
 * event relies on, whatever the host can measure: an arrival behind unread ones is reported at
 * the latest by the wait after the program's next receive or accept. The kernel reports it at
 * the arrival already; the poll engine with the host's aids (Linux: SO_MEMINFO, TCP_INFO) does
 * the same, and with only the plain-POSIX ones (target poll-posix) because a receive or accept
 * on a queue it cannot measure counts as a possible arrival (docs/design.md, "Host aids").
 * So these pass on every target, and would catch a plain-POSIX host leaving a client waiting.
 *
 * The same for the peer's shutdown of a stream socket, which the host's poll() reports by
 * itself only with POLLRDHUP (Linux, FreeBSD): elsewhere (plain POSIX, macOS, NetBSD, OpenBSD)
 * end of stream is readability that a MSG_PEEK receive answers with 0, and cannot be seen
 * behind unread data. A program that drains what it was told of still gets the IN|RDHUP edge,
 * and a registration whose shutdown poll() cannot ask for sleeps while data waits unread.
 */
#include "runner.h"

#include <netinet/in.h>
#include <sys/resource.h>
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

/* The peer shuts down while data reported to the program is unread; the program then drains
 * it, up to end of stream (a read of 0) or up to the short read that emptied the queue (tokio),
 * and waits: the kernel queued the registration at the shutdown, and reports IN|RDHUP. */
static void shutdown_behind_unread_data(int until_eof)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 32);
    write_str(sv[1], "data");
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 32));
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 4);
    if (until_eof) CHECK_EQ(T.read(sv[0], buf, sizeof buf), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 32));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

TEST(et_shutdown_behind_unread_data_reported_after_drain_to_eof) { shutdown_behind_unread_data(1); }
TEST(et_shutdown_behind_unread_data_reported_after_short_read) { shutdown_behind_unread_data(0); }

/* The process's CPU time (this thread does all the work while the others sleep). */
static int64_t cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) FAIL("getrusage: %s", errno_name(errno));
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* A wait of 150 ms that reports nothing, and sleeps: a wait that spins burns most of that
 * time's CPU, one that sleeps almost none. */
static void wait_none_asleep(int ep)
{
    int64_t c0 = cpu_us(), t0 = now_ns();
    WAIT_NONE_MS(ep, 150);
    int64_t used = cpu_us() - c0, wall = elapsed_ms(t0);
    if (used * 10 > wall * 1000)
        FAIL("a wait of %lld ms with data unread used %lld us of CPU", (long long)wall,
             (long long)used);
}

/* An OUT|RDHUP registration (no IN) while data waits unread: arriving data is no wake-up for
 * it, so the wait sleeps; once the data is read, the peer's shutdown is an edge. Where poll()
 * cannot be asked for the shutdown (no POLLRDHUP), readability cannot stand in for it in the
 * sleeping poll() (it would return at once for ever): the wait must still sleep, not spin, and
 * see the shutdown. (A shutdown behind data left unread is a gap there: instances_same_fd_et_
 * each_gets_shutdown_edge.) */
TEST(et_rdhup_without_in_sleeps_while_data_unread)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLOUT | EPOLLRDHUP | EPOLLET, 33);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 33));
    write_str(sv[1], "data");
    wait_none_asleep(ep);
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 4);
    WAIT_NONE(ep);
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP, 33));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* Level-triggered, the peer's shutdown of a TCP connection and a reset: RDHUP with the rest,
 * and the pending error still there for the program's own call (a look at end of stream must
 * not take it). */
TEST(lt_tcp_reset_keeps_the_error_for_the_program)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, s, EPOLLIN | EPOLLRDHUP, 34);
    struct linger lg = {1, 0};
    CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CLOSE(c);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP, 34));
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP, 34));
    int err = 0;
    socklen_t len = sizeof err;
    CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    CHECK_EQ(err, ECONNRESET);
    CLOSE(s);
    CLOSE(ep);
}

/* The same level-triggered: an RDHUP-only registration sleeps while data waits unread, then
 * reports RDHUP at every wait once the peer shut down. */
TEST(lt_rdhup_only_sleeps_while_data_unread)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLRDHUP, 35);
    write_str(sv[1], "data");
    wait_none_asleep(ep);
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 4);
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLRDHUP, 35));
    WAIT_EXPECT(ep, EV(EPOLLRDHUP, 35));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}
