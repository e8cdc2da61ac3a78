/*
 * test_lt.c — level-triggered registrations: reported while the condition holds, one entry per
 * fd, the full current mask, and the ready list rotating when maxevents is small.
 */
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

TEST(lt_reported_while_ready)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 1);
    WAIT_NONE(ep);
    write_str(p[1], "abc");
    for (int i = 0; i < 3; i++) WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    char buf[2];
    CHECK_EQ(T.read(p[0], buf, 2), 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CHECK_EQ(T.read(p[0], buf, 2), 1);
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(lt_full_current_mask)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI, 2);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    write_str(sv[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 2));
    MOD(ep, sv[0], EPOLLIN, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3)); /* masked to the interest */
    MOD(ep, sv[0], EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM, 4);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM, 4));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* Rotation with maxevents = 1 and three ready fds: what this kernel does (strict round-robin:
 * the reported entry goes to the back of the ready list). */
TEST(lt_rotation_maxevents_1)
{
    int ep = new_epoll();
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, i + 1);
    }
    for (int round = 0; round < 3; round++) {
        WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1));
        WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
        WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 3));
    }
    for (int i = 0; i < 3; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

TEST(lt_rotation_maxevents_2)
{
    int ep = new_epoll();
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, i + 1);
    }
    for (int round = 0; round < 2; round++) {
        WAIT_EXPECT_ORDER(ep, 2, EV(EPOLLIN, 1), EV(EPOLLIN, 2));
        WAIT_EXPECT_ORDER(ep, 2, EV(EPOLLIN, 3), EV(EPOLLIN, 1));
        WAIT_EXPECT_ORDER(ep, 2, EV(EPOLLIN, 2), EV(EPOLLIN, 3));
    }
    for (int i = 0; i < 3; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

/* A fd that stops being ready leaves the rotation; one that becomes ready joins at the back. */
TEST(lt_rotation_with_changes)
{
    int ep = new_epoll();
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = new_eventfd(0, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, i + 1);
    }
    efd_write(fds[1], 1);
    efd_write(fds[0], 1);
    /* readiness order: 2 then 1 */
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 1));
    efd_write(fds[2], 1);
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    CHECK_U64(efd_read(fds[0]), 1);
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 3));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 2));
    WAIT_EXPECT_ORDER(ep, 1, EV(EPOLLIN, 3));
    for (int i = 0; i < 3; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

/* Many ready fds, large maxevents: each exactly once per call. */
TEST(lt_one_entry_per_fd)
{
    enum { N = 40 };
    int ep = new_epoll();
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN | EPOLLOUT, 1000 + i);
    }
    for (int round = 0; round < 2; round++) {
        struct epoll_event evs[N + 8];
        int n = T.epoll_wait(ep, evs, N + 8, WAIT_MS);
        CHECK_EQ(n, N);
        int seen[N] = {0};
        for (int i = 0; i < n; i++) {
            CHECK_EQ(evs[i].events, EPOLLIN | EPOLLOUT);
            uint64_t d = evs[i].data.u64 - 1000;
            CHECK(d < N);
            CHECK_EQ(seen[d], 0);
            seen[d] = 1;
        }
    }
    for (int i = 0; i < N; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

/* Small maxevents never starves anybody: 10 ready fds, maxevents 3, all seen within 4 calls. */
TEST(lt_small_maxevents_no_starvation)
{
    enum { N = 10 };
    int ep = new_epoll();
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, i);
    }
    int count[N] = {0};
    for (int call = 0; call < 10; call++) {
        struct epoll_event evs[3];
        int n = T.epoll_wait(ep, evs, 3, WAIT_MS);
        CHECK_EQ(n, 3);
        for (int i = 0; i < n; i++) {
            CHECK(evs[i].data.u64 < N);
            count[evs[i].data.u64]++;
        }
    }
    for (int i = 0; i < N; i++) CHECK_EQ(count[i], 3);
    for (int i = 0; i < N; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

TEST(lt_out_on_socket_always)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLOUT, 5);
    for (int i = 0; i < 3; i++) WAIT_EXPECT(ep, EV(EPOLLOUT, 5));
    size_t n = fill_fd(sv[0]);
    WAIT_NONE(ep);
    CHECK_EQ(drain_fd(sv[1]), n);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 5));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}
