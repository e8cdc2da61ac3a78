/*
 * test_edge_sources.c — which wake-ups reach an EPOLLET registration, and what it reports.
 * Each case is a divergence a differential run against the kernel once found in the poll engine:
 * the kernel queues a registration when a wake-up whose key meets its interest happens, and
 * reports the full current mask when the wait gets to it.
 */
#include "runner.h"

#include <fcntl.h>
#include <sys/socket.h>

/* Data arriving on a socket wakes with IN|PRI|RDNORM|RDBAND: an OUT|PRI registration gets an
 * edge, and reports what it is interested in — OUT. */
TEST(edge_socket_data_reaches_pri_interest_reports_out)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLOUT | EPOLLPRI | EPOLLET, 1);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 1));
    WAIT_NONE(ep);
    write_str(sv[1], "data");
    WAIT_EXPECT(ep, EV(EPOLLOUT, 1));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* An eventfd write wakes with EPOLLIN only: an OUT|RDHUP registration is not woken. */
TEST(edge_eventfd_write_does_not_reach_out_interest)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLOUT | EPOLLRDHUP | EPOLLET, 2);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    efd_write(efd, 1);
    WAIT_NONE(ep);
    CHECK_U64(efd_read(efd), 1); /* a read wakes with EPOLLOUT: that one does reach it */
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    CLOSE(efd);
    CLOSE(ep);
}

/* After the peer's shutdown was reported, reading the rest of the data (a short read) brings
 * no new edge: the socket stays readable at end of stream, and nothing new can arrive. */
TEST_AIDS_GAP(edge_short_read_after_eof_no_new_edge,
              "the peer's shutdown behind data reported before it was read: the short read that drains the data is followed by one extra IN edge at end of stream: without POLLRDHUP (plain POSIX, macOS, NetBSD, OpenBSD) a MSG_PEEK sees the end only once the data is gone, and cannot tell whether it came before the read (no edge) or after it (an edge)")
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLET, 3);
    write_str(sv[1], "tail");
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 4);
    WAIT_NONE(ep);
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 0);
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* Data that arrives after a drain and is read before the next wait: the kernel queued the
 * registration at the arrival, so the wait reports it — with the mask of the moment (OUT). */
TEST(edge_arrival_read_before_wait_still_reported)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLET, 4);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 4));
    write_str(sv[1], "abc");
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 4));
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 3); /* drained */
    write_str(sv[1], "de");                      /* arrives: an edge is queued */
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 2); /* and read before any wait */
    WAIT_EXPECT(ep, EV(EPOLLOUT, 4));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* A partial read, then more data, all read before the next wait: more came out than was there
 * at the report, so something arrived — the kernel queued it. */
TEST(edge_more_read_than_reported_still_reported)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLET, 5);
    write_str(sv[1], "abcdef");
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 5));
    char buf[64];
    CHECK_EQ(T.read(sv[0], buf, 2), 2); /* a full read of what was asked: not drained */
    write_str(sv[1], "gh");
    CHECK_EQ(T.read(sv[0], buf, 6), 6); /* 4 left from before and 2 new: drained */
    WAIT_EXPECT(ep, EV(EPOLLOUT, 5));       /* the queued edge, with the mask of the moment */
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* Registrations that are ready when they are ADDed or MODded are queued then, in that order,
 * ahead of anything that becomes ready later. */
TEST(edge_ready_at_ctl_time_keeps_ctl_order)
{
    int ep = new_epoll();
    int a[2], b[2], c[2];
    make_pipe(a, O_NONBLOCK);
    make_pipe(b, O_NONBLOCK);
    make_pipe(c, O_NONBLOCK);
    ADD(ep, c[0], EPOLLIN, 3); /* not ready yet */
    write_str(b[1], "b");
    ADD(ep, b[0], EPOLLIN, 2); /* ready at ADD */
    write_str(a[1], "a");
    ADD(ep, a[0], EPOLLIN, 1); /* ready at ADD, after b */
    write_str(c[1], "c");      /* ready later */
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 3));
    MOD(ep, a[0], EPOLLIN, 11); /* a MOD of a queued entry keeps its place */
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    for (int i = 0; i < 2; i++) {
        CLOSE(a[i]);
        CLOSE(b[i]);
        CLOSE(c[i]);
    }
    CLOSE(ep);
}

/* An entry maxevents left queued keeps its place even if it stops being ready: when it is
 * ready again before the wait reaches it, it is reported from that place. */
TEST(edge_unreached_entry_keeps_its_place)
{
    int ep = new_epoll();
    int e1 = new_eventfd(0, EFD_NONBLOCK), e2 = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, e1, EPOLLIN, 1);
    ADD(ep, e2, EPOLLIN, 2);
    efd_write(e1, 1);
    efd_write(e2, 1);
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1)); /* queue now: 2, 1 */
    CHECK_U64(efd_read(e2), 1);               /* 2 not ready, but still queued first */
    efd_write(e2, 1);                         /* ready again: no new place */
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1));
    CLOSE(e1);
    CLOSE(e2);
    CLOSE(ep);
}
