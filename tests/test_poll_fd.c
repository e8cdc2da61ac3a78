/*
 * test_poll_fd.c — poll()/ppoll() through the target over sets mixing plain fds, eventfds and
 * epoll fds.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>

TEST(poll_mixed_set)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int efd = new_eventfd(0, EFD_NONBLOCK);
    int ep = new_epoll();
    int e2 = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, e2, EPOLLIN, 1);
    struct pollfd f[4] = {
        {.fd = p[0], .events = POLLIN},
        {.fd = p[1], .events = POLLOUT},
        {.fd = efd, .events = POLLIN | POLLOUT},
        {.fd = ep, .events = POLLIN},
    };
    CHECK_EQ(T.poll(f, 4, 0), 2);
    CHECK_EQ(f[0].revents, 0);
    CHECK_EQ(f[1].revents, POLLOUT);
    CHECK_EQ(f[2].revents, POLLOUT);
    CHECK_EQ(f[3].revents, 0);
    write_str(p[1], "x");
    efd_write(efd, 1);
    efd_write(e2, 1);
    for (int i = 0; i < 4; i++) f[i].revents = 0x5555;
    CHECK_EQ(T.poll(f, 4, 0), 4);
    CHECK_EQ(f[0].revents, POLLIN);
    CHECK_EQ(f[1].revents, POLLOUT);
    CHECK_EQ(f[2].revents, POLLIN | POLLOUT);
    CHECK_EQ(f[3].revents, POLLIN);
    CLOSE(e2);
    CLOSE(ep);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(poll_negative_fd_ignored_closed_fd_nval)
{
    int efd = new_eventfd(1, EFD_NONBLOCK);
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int gone = p[0];
    CLOSE(p[0]);
    CLOSE(p[1]);
    struct pollfd f[3] = {
        {.fd = -1, .events = POLLIN, .revents = 0x77},
        {.fd = efd, .events = POLLIN},
        {.fd = gone, .events = POLLIN},
    };
    CHECK_EQ(T.poll(f, 3, 0), 2);
    CHECK_EQ(f[0].revents, 0);
    CHECK_EQ(f[1].revents, POLLIN);
    CHECK_EQ(f[2].revents, POLLNVAL);
    CLOSE(efd);
}

struct late {
    int efd;
    pid_t tid;
    atomic_int armed;
};

static void *write_later(void *p)
{
    struct late *l = p;
    wait_until_blocked(l->tid, &l->armed);
    efd_write(l->efd, 1);
    return NULL;
}

TEST(poll_eventfd_infinite_woken_by_thread)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct late l = {efd, current_tid(), 0};
    pthread_t t = start_thread(write_later, &l);
    struct pollfd f = {.fd = efd, .events = POLLIN};
    l.armed = 1;
    CHECK_EQ(T.poll(&f, 1, -1), 1);
    CHECK_EQ(f.revents, POLLIN);
    join_thread(t);
    CLOSE(efd);
}

TEST(poll_epoll_fd_infinite_woken_by_thread)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    struct late l = {efd, current_tid(), 0};
    pthread_t t = start_thread(write_later, &l);
    struct pollfd f = {.fd = ep, .events = POLLIN};
    l.armed = 1;
    struct timespec ts = {10, 0};
    CHECK_EQ(T.ppoll(&f, 1, &ts, NULL), 1);
    CHECK_EQ(f.revents, POLLIN);
    join_thread(t);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CLOSE(efd);
    CLOSE(ep);
}

TEST(poll_timeouts)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct pollfd f = {.fd = efd, .events = POLLIN};
    int64_t t0 = now_ns();
    CHECK_EQ(T.poll(&f, 1, 30), 0);
    CHECK(now_ns() - t0 >= 30000000);
    struct timespec ts = {0, 20000000};
    t0 = now_ns();
    CHECK_EQ(T.ppoll(&f, 1, &ts, NULL), 0);
    CHECK(now_ns() - t0 >= 20000000);
    struct timespec bad = {0, 1000000000L};
    CHECK_ERR(T.ppoll(&f, 1, &bad, NULL), EINVAL);
    CLOSE(efd);
}

TEST(ppoll_with_sigmask_on_emulated_fds)
{
    int efd = new_eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
    int ep = new_epoll();
    ADD(ep, efd, EPOLLIN | EPOLLET, 2);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    struct pollfd f[2] = {{.fd = efd, .events = POLLIN | POLLOUT}, {.fd = ep, .events = POLLIN}};
    struct timespec ts = {1, 0};
    CHECK_EQ(T.ppoll(f, 2, &ts, &mask), 2);
    CHECK_EQ(f[0].revents, POLLIN | POLLOUT);
    CHECK_EQ(f[1].revents, POLLIN);
    WAIT_EXPECT(ep, EV(EPOLLIN | 0, 2));
    f[1].revents = 0;
    CHECK_EQ(T.ppoll(&f[1], 1, &(struct timespec){0, 0}, &mask), 0);
    CLOSE(ep);
    CLOSE(efd);
}
