/*
 * test_timeouts.c — timeouts never expire early (CLOCK_MONOTONIC), 0 returns at once, pwait2's
 * timespec (NULL = forever, invalid = EINVAL), an infinite wait never returns 0.
 */
#include "runner.h"

#include <string.h>

TEST(timeout_zero_returns_at_once)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    int64_t t0 = now_ns();
    for (int i = 0; i < 100; i++) CHECK_EQ(T.epoll_wait(ep, evs, 4, 0), 0);
    CHECK(elapsed_ms(t0) < 500);
    t0 = now_ns();
    for (int i = 0; i < 100; i++) CHECK_EQ(T.epoll_pwait(ep, evs, 4, 0, NULL), 0);
    CHECK(elapsed_ms(t0) < 500);
    CLOSE(ep);
}

TEST(timeout_pwait2_zero_returns_at_once)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    struct timespec zero = {0, 0};
    int64_t t0 = now_ns();
    for (int i = 0; i < 100; i++) CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &zero, NULL), 0);
    CHECK(elapsed_ms(t0) < 500);
    CLOSE(ep);
}

TEST(timeout_1ms_never_early)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    for (int i = 0; i < 20; i++) {
        int64_t t0 = now_ns();
        CHECK_EQ(T.epoll_wait(ep, evs, 4, 1), 0);
        int64_t ns = now_ns() - t0;
        if (ns < 1000000) FAIL("epoll_wait(1 ms) returned after %lld ns", (long long)ns);
    }
    CLOSE(ep);
}

/* poll() ignores negative fds; with nothing else to watch it is a sleep for the timeout, not an
 * error (Winsock's WSAPoll refuses such a set at once: anypoll sleeps instead). */
TEST(timeout_poll_of_negative_fds_only_sleeps)
{
    struct pollfd f[2] = {{.fd = -1, .events = POLLIN, .revents = 0x77}, {.fd = -7, .events = POLLOUT}};
    int64_t t0 = now_ns();
    CHECK_EQ(T.poll(f, 2, 5), 0);
    int64_t ns = now_ns() - t0;
    if (ns < 5000000) FAIL("poll(5 ms) returned after %lld ns", (long long)ns);
    CHECK_EQ(f[0].revents, 0);
    CHECK_EQ(f[1].revents, 0);
}

TEST(timeout_never_early_various)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    static const int ms[] = {2, 5, 17, 50, 120};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        int64_t t0 = now_ns();
        CHECK_EQ(T.epoll_wait(ep, evs, 4, ms[i]), 0);
        int64_t ns = now_ns() - t0;
        if (ns < (int64_t)ms[i] * 1000000)
            FAIL("epoll_wait(%d ms) returned after %lld ns", ms[i], (long long)ns);
        if (ns > (int64_t)ms[i] * 1000000 + 2000000000LL)
            FAIL("epoll_wait(%d ms) took %lld ns", ms[i], (long long)ns);
        t0 = now_ns();
        CHECK_EQ(T.epoll_pwait(ep, evs, 4, ms[i], NULL), 0);
        ns = now_ns() - t0;
        if (ns < (int64_t)ms[i] * 1000000)
            FAIL("epoll_pwait(%d ms) returned after %lld ns", ms[i], (long long)ns);
    }
    CLOSE(ep);
}

TEST(timeout_pwait2_timespec_never_early)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    static const long ns_list[] = {1, 999, 1500000, 30000000, 100000001};
    for (size_t i = 0; i < sizeof ns_list / sizeof ns_list[0]; i++) {
        struct timespec ts = {0, ns_list[i]};
        int64_t t0 = now_ns();
        CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &ts, NULL), 0);
        int64_t ns = now_ns() - t0;
        if (ns < ns_list[i]) FAIL("epoll_pwait2(%ld ns) returned after %lld ns", ns_list[i], (long long)ns);
    }
    struct timespec one = {1, 0};
    int64_t t0 = now_ns();
    CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &one, NULL), 0);
    CHECK(now_ns() - t0 >= 1000000000LL);
    CLOSE(ep);
}

TEST(timeout_pwait2_invalid_timespec_einval)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    struct epoll_event evs[4];
    struct timespec bad1 = {0, 1000000000L};
    struct timespec bad2 = {0, -1};
    struct timespec bad3 = {-1, 0};
    CHECK_ERR(T.epoll_pwait2(ep, evs, 4, &bad1, NULL), EINVAL);
    CHECK_ERR(T.epoll_pwait2(ep, evs, 4, &bad2, NULL), EINVAL);
    CHECK_ERR(T.epoll_pwait2(ep, evs, 4, &bad3, NULL), EINVAL);
    /* checked before the epoll fd and maxevents */
    CHECK_ERR(T.epoll_pwait2(-1, evs, 4, &bad1, NULL), EINVAL);
    CHECK_ERR(T.epoll_pwait2(-1, evs, 0, &bad3, NULL), EINVAL);
    struct timespec ok = {0, 999999999L};
    CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &ok, NULL), 1);
    CLOSE(efd);
    CLOSE(ep);
}

struct late_writer {
    int efd;
    pid_t tid;
    atomic_int armed;
};

static void *write_when_blocked(void *p)
{
    struct late_writer *w = p;
    wait_until_blocked(w->tid, &w->armed);
    efd_write(w->efd, 1);
    return NULL;
}

/* pwait2 with a NULL timeout blocks until an event; an infinite wait never returns 0. */
TEST(timeout_pwait2_null_blocks_until_event)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 2);
    struct late_writer w = {efd, current_tid(), 0};
    pthread_t t = start_thread(write_when_blocked, &w);
    struct epoll_event evs[4];
    w.armed = 1;
    int n = T.epoll_pwait2(ep, evs, 4, NULL, NULL);
    join_thread(t);
    CHECK_EVENTS(n, evs, EV(EPOLLIN, 2));
    CLOSE(efd);
    CLOSE(ep);
}

TEST(timeout_negative_is_infinite)
{
    static const int timeouts[] = {-1, -2, -1000};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        int ep = new_epoll();
        int efd = new_eventfd(0, EFD_NONBLOCK);
        ADD(ep, efd, EPOLLIN | EPOLLET, 3);
        struct late_writer w = {efd, current_tid(), 0};
        pthread_t t = start_thread(write_when_blocked, &w);
        struct epoll_event evs[4];
        w.armed = 1;
        int n = i == 1 ? T.epoll_pwait(ep, evs, 4, timeouts[i], NULL)
                       : T.epoll_wait(ep, evs, 4, timeouts[i]);
        join_thread(t);
        CHECK_EVENTS(n, evs, EV(EPOLLIN, 3));
        CLOSE(efd);
        CLOSE(ep);
    }
}

/* An event arriving during a long timeout ends the wait at once. */
TEST(timeout_event_ends_wait_early)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 4);
    struct late_writer w = {efd, current_tid(), 0};
    pthread_t t = start_thread(write_when_blocked, &w);
    struct epoll_event evs[4];
    int64_t t0 = now_ns();
    w.armed = 1;
    int n = T.epoll_wait(ep, evs, 4, 20000);
    int64_t took = elapsed_ms(t0);
    join_thread(t);
    CHECK_EVENTS(n, evs, EV(EPOLLIN, 4));
    CHECK(took < 5000);
    CLOSE(efd);
    CLOSE(ep);
}

/* A huge timeout is accepted (no overflow into "at once" or EINVAL). */
TEST(timeout_large_values_accepted)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 5);
    struct epoll_event evs[4];
    CHECK_EQ(T.epoll_wait(ep, evs, 4, 0x7fffffff), 1);
    CHECK_EQ(T.epoll_pwait(ep, evs, 4, 0x7fffffff, NULL), 1);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(timeout_pwait2_large_values_accepted)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 5);
    struct epoll_event evs[4];
    struct timespec big = {0x7fffffffffffffffLL / 2, 0};
    CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &big, NULL), 1);
    struct timespec max = {0x7fffffffffffffffLL, 999999999L};
    CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &max, NULL), 1);
    CHECK_U64(efd_read(efd), 1);
    int64_t t0 = now_ns();
    struct timespec small = {0, 20000000};
    CHECK_EQ(T.epoll_pwait2(ep, evs, 4, &small, NULL), 0);
    CHECK(elapsed_ms(t0) >= 20);
    CLOSE(efd);
    CLOSE(ep);
}
