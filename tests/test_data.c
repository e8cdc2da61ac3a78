/*
 * test_data.c — all 64 bits of epoll_data returned verbatim; MOD replaces events and data.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>

TEST(data_all_64_bits_round_trip)
{
    static const uint64_t patterns[] = {
        0, 1, 0xffffffffffffffffull, 0x8000000000000000ull, 0x00000000ffffffffull,
        0xffffffff00000000ull, 0xdeadbeefcafebabeull, 0x0123456789abcdefull,
    };
    enum { N = sizeof patterns / sizeof patterns[0] };
    int ep = new_epoll();
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = new_eventfd(1, EFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, patterns[i]);
    }
    struct epoll_event evs[N + 2];
    int n = T.epoll_wait(ep, evs, N + 2, WAIT_MS);
    CHECK_EQ(n, N);
    int seen[N] = {0};
    for (int i = 0; i < n; i++) {
        CHECK_EQ(evs[i].events, EPOLLIN);
        int found = 0;
        for (int j = 0; j < N && !found; j++)
            if (!seen[j] && evs[i].data.u64 == patterns[j]) seen[j] = found = 1;
        if (!found) FAIL("unexpected data 0x%llx", (unsigned long long)evs[i].data.u64);
    }
    for (int i = 0; i < N; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

/* Python sets only data.fd: the other 32 bits are whatever was there, and come back as is. */
TEST(data_fd_with_garbage_upper_bits)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    struct epoll_event ev;
    memset(&ev, 0x5a, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = efd;
    uint64_t whole = ev.data.u64;
    CHECK_EQ(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), 0);
    struct epoll_event out[2];
    memset(out, 0, sizeof out);
    CHECK_EQ(T.epoll_wait(ep, out, 2, WAIT_MS), 1);
    CHECK_EQ(out[0].data.fd, efd);
    CHECK_U64(out[0].data.u64, whole);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(data_pointer_round_trip)
{
    static int anchor;
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &anchor};
    CHECK_EQ(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), 0);
    struct epoll_event out[1];
    CHECK_EQ(T.epoll_wait(ep, out, 1, WAIT_MS), 1);
    CHECK(out[0].data.ptr == &anchor);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(mod_replaces_events_and_data)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 0x1111111111111111ull);
    WAIT_EXPECT(ep, EV(EPOLLIN, 0x1111111111111111ull));
    MOD(ep, efd, EPOLLOUT, 0x2222222222222222ull);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 0x2222222222222222ull));
    MOD(ep, efd, EPOLLIN | EPOLLOUT, 0xfedcba9876543210ull);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 0xfedcba9876543210ull));
    CLOSE(efd);
    CLOSE(ep);
}

/* MOD to events 0: nothing reported (ERR/HUP excepted), the registration is still there. */
TEST(mod_to_zero_events_silences)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLOUT, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 1));
    MOD(ep, efd, 0, 2);
    WAIT_NONE(ep);
    efd_write(efd, 1);
    WAIT_NONE(ep);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    MOD(ep, efd, EPOLLIN, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    CLOSE(efd);
    CLOSE(ep);
}

/* MOD from ET to LT and back. */
TEST(mod_switches_trigger_mode)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 4);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_NONE(ep);
    MOD(ep, efd, EPOLLIN, 5);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    MOD(ep, efd, EPOLLIN | EPOLLET, 6);
    WAIT_EXPECT(ep, EV(EPOLLIN, 6));
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

/* DEL with a non-NULL event is fine and ignores it. */
TEST(del_ignores_event_argument)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 7);
    struct epoll_event junk = {.events = 0xffffffffu, .data.u64 = 99};
    CHECK_EQ(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, &junk), 0);
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

/* MOD while an event is pending: the next wait reports the new data (and mask), once. */
TEST(mod_while_pending_reports_new_data)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 1);
    MOD(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 2);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 2));
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

/* DEL of a registration whose event is pending: the event goes with it. */
TEST(del_drops_pending_event)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 3);
    DEL(ep, efd);
    WAIT_NONE(ep);
    ADD(ep, efd, EPOLLIN | EPOLLET, 4);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    CLOSE(efd);
    CLOSE(ep);
}
