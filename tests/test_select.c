/*
 * test_select.c — select() and pselect() see eventfds and epoll fds as the kernel shows them:
 * an eventfd is readable while its counter is non-zero and writable below its maximum; an epoll
 * fd is readable while a wait on it would return something.
 */
#include "runner.h"

#include <fcntl.h>
#include <sys/select.h>

/* select() on one fd for read and write, with a zero timeout: the bits that came back. */
static int select_bits(int fd)
{
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    struct timeval tv = {0, 0};
    int n = MUST(T.select(fd + 1, &r, &w, NULL, &tv));
    int bits = (FD_ISSET(fd, &r) ? 1 : 0) | (FD_ISSET(fd, &w) ? 2 : 0);
    CHECK_EQ(n, (bits & 1) + (bits >> 1));
    return bits;
}

TEST(select_eventfd_readable_only_while_nonzero)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    CHECK_EQ(select_bits(efd), 2); /* writable, not readable */
    efd_write(efd, 3);
    CHECK_EQ(select_bits(efd), 3);
    CHECK_U64(efd_read(efd), 3);
    CHECK_EQ(select_bits(efd), 2);
    CLOSE(efd);
}

TEST(select_eventfd_at_maximum_not_writable)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    efd_write(efd, UINT64_C(0xfffffffffffffffe));
    CHECK_EQ(select_bits(efd), 1);
    CHECK_U64(efd_read(efd), UINT64_C(0xfffffffffffffffe));
    CHECK_EQ(select_bits(efd), 2);
    CLOSE(efd);
}

TEST(select_epoll_fd_readable_while_events_pending)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    CHECK_EQ(select_bits(ep), 0);
    efd_write(efd, 1);
    CHECK_EQ(select_bits(ep), 1);
    CHECK_U64(efd_read(efd), 1);
    CHECK_EQ(select_bits(ep), 0);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(select_epoll_fd_with_a_ready_pipe)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 2);
    CHECK_EQ(select_bits(ep), 0);
    write_str(p[1], "x");
    CHECK_EQ(select_bits(ep), 1);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(select_timeout_updated_and_never_early)
{
    int ep = new_epoll();
    fd_set r;
    FD_ZERO(&r);
    FD_SET(ep, &r);
    struct timeval tv = {0, 30000};
    int64_t t0 = now_ns();
    CHECK_EQ(T.select(ep + 1, &r, NULL, NULL, &tv), 0);
    CHECK(now_ns() - t0 >= 30000000);
    CHECK_EQ((long)tv.tv_sec, 0); /* Linux leaves the time that remained: none */
    CHECK_EQ((long)tv.tv_usec, 0);
    CHECK(!FD_ISSET(ep, &r));
    CLOSE(ep);
}

TEST(select_closed_fd_ebadf)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int closed = p[0];
    CLOSE(p[0]);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(closed, &r);
    struct timeval tv = {0, 0};
    CHECK_ERR(T.select(closed + 1, &r, NULL, NULL, &tv), EBADF);
    CLOSE(p[1]);
}

TEST(select_negative_nfds_einval)
{
    struct timeval tv = {0, 0};
    CHECK_ERR(T.select(-1, NULL, NULL, NULL, &tv), EINVAL);
}

TEST(pselect_epoll_fd_and_eventfd)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 3);
    efd_write(efd, 1);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(ep, &r);
    FD_SET(efd, &r);
    struct timespec ts = {1, 0};
    sigset_t none;
    sigemptyset(&none);
    int hi = ep > efd ? ep : efd;
    CHECK_EQ(T.pselect(hi + 1, &r, NULL, NULL, &ts, &none), 2);
    CHECK(FD_ISSET(ep, &r) && FD_ISSET(efd, &r));
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    CLOSE(efd);
    CLOSE(ep);
}
