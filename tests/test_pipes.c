/*
 * test_pipes.c — pipes: the readiness of each end, both ends in one instance, vectored I/O.
 * (HUP/ERR on pipes and FIFOs: test_hup_err.c.)
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>

TEST(pipe_initial_readiness)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLOUT, 1); /* a read end is never writable */
    ADD(ep, p[1], EPOLLIN | EPOLLOUT, 2); /* a write end is never readable */
    WAIT_EXPECT(ep, EV(EPOLLOUT, 2));
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLOUT, 2));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(pipe_write_end_lt_until_full)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[1], EPOLLOUT, 3);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 3));
    size_t n = fill_fd(p[1]);
    WAIT_NONE(ep);
    char buf[100];
    CHECK_EQ(T.read(p[0], buf, sizeof buf), sizeof buf);
    WAIT_NONE(ep); /* a pipe is writable again only when a whole page is free */
    CHECK_EQ(drain_fd(p[0]), n - sizeof buf);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 3));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(pipe_short_write_when_nearly_full)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int ep = new_epoll();
    ADD(ep, p[0], EPOLLIN | EPOLLET, 4);
    static char big[200000];
    ssize_t w = T.write(p[1], big, sizeof big);
    CHECK(w > 0 && (size_t)w < sizeof big);
    CHECK_ERR(T.write(p[1], big, sizeof big), EAGAIN);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_NONE(ep);
    CHECK_EQ(drain_fd(p[0]), w);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(pipe_vectored_io)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int ep = new_epoll();
    ADD(ep, p[0], EPOLLIN | EPOLLET, 5);
    struct iovec w[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
    CHECK_EQ(T.writev(p[1], w, 3), 6);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    char x[4], y[8];
    struct iovec r[2] = {{x, 4}, {y, 8}};
    CHECK_EQ(T.readv(p[0], r, 2), 6);
    CHECK(memcmp(x, "abcd", 4) == 0 && memcmp(y, "ef", 2) == 0);
    CHECK_ERR(T.readv(p[0], r, 2), EAGAIN);
    WAIT_NONE(ep);
    CHECK_EQ(T.writev(p[1], w, 1), 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* Blocking pipes work in an instance too; the read end of a blocking pipe is reported. */
TEST(pipe_blocking_fds)
{
    int p[2];
    make_pipe(p, 0);
    int ep = new_epoll();
    ADD(ep, p[0], EPOLLIN, 6);
    WAIT_NONE(ep);
    write_str(p[1], "abc");
    WAIT_EXPECT(ep, EV(EPOLLIN, 6));
    char buf[8];
    CHECK_EQ(T.read(p[0], buf, sizeof buf), 3);
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}
