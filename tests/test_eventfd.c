/*
 * test_eventfd.c — eventfd: counter, read/write sizes and errors, semaphore mode, flags,
 * readiness (epoll LT/ET, poll) and blocking reads woken from another thread.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>

/* Every write raises a new edge, even when the counter is already non-zero and never read. */
TEST(eventfd_et_edge_per_write)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ADD(ep, efd, EPOLLIN | EPOLLET, 0x1122334455667788ull);
    WAIT_NONE(ep);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 0x1122334455667788ull));
    WAIT_NONE(ep);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 0x1122334455667788ull));
    WAIT_NONE(ep);
    CHECK_U64(efd_read(efd), 2);
    CLOSE(efd);
    CLOSE(ep);
}

/* The mio/tokio waker: written many times, never read; one event per write-then-wait. */
TEST(eventfd_et_never_read_many_writes)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ADD(ep, efd, EPOLLIN | EPOLLRDHUP | EPOLLET, 42);
    for (int i = 0; i < 50; i++) {
        efd_write(efd, 1);
        WAIT_EXPECT(ep, EV(EPOLLIN, 42));
        WAIT_NONE_MS(ep, 0);
    }
    CHECK_U64(efd_read(efd), 50);
    CLOSE(efd);
    CLOSE(ep);
}

/* Several writes before one wait: one entry for the fd, not one per write. */
TEST(eventfd_et_writes_coalesce_into_one_entry)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 9);
    efd_write(efd, 1);
    efd_write(efd, 2);
    efd_write(efd, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN, 9));
    WAIT_NONE(ep);
    CHECK_U64(efd_read(efd), 6);
    CLOSE(efd);
    CLOSE(ep);
}

/* ET IN|OUT: the event carries the full current mask. */
TEST(eventfd_et_in_out_full_mask)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 5);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 5));
    WAIT_NONE(ep);
    efd_write(efd, 7);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 5));
    WAIT_NONE(ep);
    CHECK_U64(efd_read(efd), 7); /* a read makes it writable again: an OUT edge */
    WAIT_EXPECT(ep, EV(EPOLLOUT, 5));
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(eventfd_read_returns_sum_with_large_buffer)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    efd_write(efd, 3);
    efd_write(efd, 4);
    unsigned char buf[1024];
    memset(buf, 0xee, sizeof buf);
    CHECK_EQ(T.read(efd, buf, sizeof buf), 8);
    uint64_t v;
    memcpy(&v, buf, 8);
    CHECK_U64(v, 7);
    CHECK_EQ(buf[8], 0xee); /* nothing written past the 8 bytes */
    CHECK_ERR(T.read(efd, buf, sizeof buf), EAGAIN);
    CLOSE(efd);
}

TEST(eventfd_read_small_buffer_einval)
{
    int efd = new_eventfd(5, EFD_NONBLOCK);
    unsigned char buf[8];
    CHECK_ERR(T.read(efd, buf, 4), EINVAL);
    CHECK_ERR(T.read(efd, buf, 7), EINVAL);
    CHECK_ERR(T.read(efd, buf, 0), EINVAL);
    CHECK_U64(efd_read(efd), 5); /* the counter is untouched */
    CLOSE(efd);
}

TEST(eventfd_read_empty_nonblocking_eagain)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    uint64_t v = 0;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    eventfd_t e = 0;
    CHECK_ERR(T.eventfd_read(efd, &e), EAGAIN);
    CLOSE(efd);
}

TEST(eventfd_write_all_ones_einval)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    uint64_t v = 0xffffffffffffffffull;
    CHECK_ERR(T.write(efd, &v, 8), EINVAL);
    CHECK_ERR(T.eventfd_write(efd, 0xffffffffffffffffull), EINVAL);
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN); /* nothing was added */
    CLOSE(efd);
}

TEST(eventfd_write_overflow_eagain)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    efd_write(efd, 0xfffffffffffffffeull); /* the maximum count */
    uint64_t one = 1;
    CHECK_ERR(T.write(efd, &one, 8), EAGAIN);
    CHECK_U64(efd_read(efd), 0xfffffffffffffffeull);
    efd_write(efd, 0xfffffffffffffff0ull);
    uint64_t big = 0x20;
    CHECK_ERR(T.write(efd, &big, 8), EAGAIN);
    efd_write(efd, 0xe);
    CHECK_U64(efd_read(efd), 0xfffffffffffffffeull);
    CLOSE(efd);
}

TEST(eventfd_write_sizes)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    unsigned char buf[16];
    memset(buf, 0, sizeof buf);
    buf[0] = 3;
    CHECK_ERR(T.write(efd, buf, 4), EINVAL);
    CHECK_ERR(T.write(efd, buf, 0), EINVAL);
    CHECK_ERR(T.write(efd, buf, 9), EINVAL); /* exactly 8 bytes, nothing else */
    CHECK_ERR(T.write(efd, buf, 16), EINVAL);
    CHECK_ERR(T.read(efd, buf, 8), EAGAIN);
    CHECK_EQ(T.write(efd, buf, 8), 8);
    CHECK_U64(efd_read(efd), 3);
    uint64_t zero = 0;
    CHECK_EQ(T.write(efd, &zero, 8), 8); /* adding 0 is allowed and changes nothing */
    CHECK_ERR(T.read(efd, buf, 8), EAGAIN);
    CLOSE(efd);
}

TEST(eventfd_lt_in_out_count_zero_out_only)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLOUT, 77);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 77));
    WAIT_EXPECT(ep, EV(EPOLLOUT, 77)); /* level: again */
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 77));
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 77));
    CHECK_U64(efd_read(efd), 1);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 77));
    CLOSE(efd);
    CLOSE(ep);
}

/* Readable when > 0; writable while < 0xfffffffffffffffe. */
TEST(eventfd_readiness_at_the_limits)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLOUT, 1);
    efd_write(efd, 0xfffffffffffffffdull);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 1));
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CHECK_U64(efd_read(efd), 0xfffffffffffffffeull);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 1));
    CLOSE(efd);
    CLOSE(ep);
}

TEST(eventfd_lt_in_only_cleared_by_read)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 3);
    WAIT_NONE(ep);
    efd_write(efd, 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    CHECK_U64(efd_read(efd), 2);
    WAIT_NONE(ep);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(eventfd_semaphore)
{
    int efd = new_eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    int ep = new_epoll();
    ADD(ep, efd, EPOLLIN, 8);
    CHECK_U64(efd_read(efd), 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 8));
    CHECK_U64(efd_read(efd), 1);
    CHECK_U64(efd_read(efd), 1);
    uint64_t v;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    WAIT_NONE(ep);
    efd_write(efd, 2);
    CHECK_U64(efd_read(efd), 1);
    CHECK_U64(efd_read(efd), 1);
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    CLOSE(ep);
    CLOSE(efd);
}

TEST(eventfd_initval)
{
    int efd = new_eventfd(5, EFD_NONBLOCK);
    CHECK_U64(efd_read(efd), 5);
    uint64_t v;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    CLOSE(efd);
    efd = new_eventfd(0xffffffffu, EFD_NONBLOCK);
    CHECK_U64(efd_read(efd), 0xffffffffull);
    CLOSE(efd);
}

TEST(eventfd_flags_via_fcntl)
{
    int a = new_eventfd(0, 0);
    CHECK_EQ(T.fcntl(a, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_EQ(T.fcntl(a, F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(T.fcntl(a, F_GETFL) & O_ACCMODE, O_RDWR);
    int b = new_eventfd(0, EFD_CLOEXEC);
    CHECK_EQ(T.fcntl(b, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_EQ(T.fcntl(b, F_GETFL) & O_NONBLOCK, 0);
    int c = new_eventfd(0, EFD_NONBLOCK);
    CHECK_EQ(T.fcntl(c, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_EQ(T.fcntl(c, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    /* O_NONBLOCK set later with F_SETFL is honoured */
    CHECK_EQ(T.fcntl(a, F_SETFL, T.fcntl(a, F_GETFL) | O_NONBLOCK), 0);
    uint64_t v;
    CHECK_ERR(T.read(a, &v, 8), EAGAIN);
    CHECK_EQ(T.fcntl(b, F_SETFD, 0), 0);
    CHECK_EQ(T.fcntl(b, F_GETFD), 0);
    CLOSE(a);
    CLOSE(b);
    CLOSE(c);
}

TEST(eventfd_bad_flags_einval)
{
    CHECK_ERR(T.eventfd(0, 2), EINVAL);
    CHECK_ERR(T.eventfd(0, 0x40000000), EINVAL);
    CHECK_ERR(T.eventfd(0, O_APPEND), EINVAL);
}

TEST(eventfd_read_write_helpers)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    errno = 1234;
    CHECK_EQ(T.eventfd_write(efd, 5), 0);
    CHECK_EQ(T.eventfd_write(efd, 6), 0);
    CHECK_EQ(errno, 1234);
    eventfd_t v = 0;
    CHECK_EQ(T.eventfd_read(efd, &v), 0);
    CHECK_U64(v, 11);
    CHECK_ERR(T.eventfd_read(efd, &v), EAGAIN);
    CLOSE(efd);
}

TEST(eventfd_readv_writev)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    uint64_t w = 0x0102030405060708ull;
    struct iovec wi = {&w, 8};
    CHECK_EQ(T.writev(efd, &wi, 1), 8);
    unsigned char lo[4], hi[4];
    struct iovec ri[2] = {{lo, 4}, {hi, 4}};
    CHECK_EQ(T.readv(efd, ri, 2), 8); /* reads may be split across buffers */
    uint64_t r;
    memcpy(&r, lo, 4);
    memcpy((unsigned char *)&r + 4, hi, 4);
    CHECK_U64(r, 0x0102030405060708ull);
    CHECK_ERR(T.readv(efd, ri, 2), EAGAIN);
    CLOSE(efd);
}

TEST(eventfd_poll)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    POLL_EXPECT(efd, POLLIN | POLLOUT, 0, POLLOUT);
    POLL_EXPECT(efd, POLLIN, 0, 0);
    efd_write(efd, 1);
    POLL_EXPECT(efd, POLLIN | POLLOUT, 0, POLLIN | POLLOUT);
    POLL_EXPECT(efd, POLLIN, 0, POLLIN);
    efd_write(efd, 0xfffffffffffffffdull);
    POLL_EXPECT(efd, POLLIN | POLLOUT, 0, POLLIN);
    CHECK_U64(efd_read(efd), 0xfffffffffffffffeull);
    POLL_EXPECT(efd, POLLIN | POLLOUT, 0, POLLOUT);
    CLOSE(efd);
}

struct writer_arg {
    int fd;
    pid_t target;
    atomic_int armed;
};

static void *write_when_blocked(void *p)
{
    struct writer_arg *a = p;
    wait_until_blocked(a->target, &a->armed);
    efd_write(a->fd, 9);
    return NULL;
}

TEST(eventfd_blocking_read_woken_by_other_thread)
{
    int efd = new_eventfd(0, 0);
    struct writer_arg a = {efd, current_tid(), 0};
    pthread_t t = start_thread(write_when_blocked, &a);
    uint64_t v = 0;
    a.armed = 1;
    CHECK_EQ(T.read(efd, &v, 8), 8);
    CHECK_U64(v, 9);
    join_thread(t);
    CLOSE(efd);
}

static void *read_when_blocked(void *p)
{
    struct writer_arg *a = p;
    wait_until_blocked(a->target, &a->armed);
    CHECK_U64(efd_read(a->fd), 0xfffffffffffffffeull);
    return NULL;
}

TEST(eventfd_blocking_write_woken_by_read)
{
    int efd = new_eventfd(0, 0);
    efd_write(efd, 0xfffffffffffffffeull);
    struct writer_arg a = {efd, current_tid(), 0};
    pthread_t t = start_thread(read_when_blocked, &a);
    a.armed = 1;
    efd_write(efd, 5); /* blocks until the other thread reads */
    join_thread(t);
    CHECK_U64(efd_read(efd), 5);
    CLOSE(efd);
}

/* One eventfd watched by two instances: every write is an edge in both. */
TEST(eventfd_et_edge_in_every_instance)
{
    int ep1 = new_epoll(), ep2 = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep1, efd, EPOLLIN | EPOLLET, 1);
    ADD(ep2, efd, EPOLLIN | EPOLLET, 2);
    for (int i = 0; i < 3; i++) {
        efd_write(efd, 1);
        WAIT_EXPECT(ep1, EV(EPOLLIN, 1));
        WAIT_EXPECT(ep2, EV(EPOLLIN, 2));
        WAIT_NONE(ep1);
        WAIT_NONE(ep2);
    }
    CLOSE(efd);
    CLOSE(ep1);
    CLOSE(ep2);
}

/* Overflow then drain: a write that failed with EAGAIN works after a read, and raises an edge. */
TEST(eventfd_et_after_overflow_and_drain)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 4);
    efd_write(efd, 0xfffffffffffffffeull);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    uint64_t one = 1;
    CHECK_ERR(T.write(efd, &one, 8), EAGAIN);
    WAIT_NONE(ep);
    CHECK_U64(efd_read(efd), 0xfffffffffffffffeull);
    WAIT_NONE(ep);
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    CLOSE(efd);
    CLOSE(ep);
}

/* eventfds (and epoll fds) are real descriptors: they take the lowest free number, like any
 * other fd, and give it back on close. */
TEST(eventfd_and_epoll_fd_take_lowest_free_number)
{
    int p[2];
    make_pipe(p, 0);
    int low = p[0] < p[1] ? p[0] : p[1];
    CLOSE(p[0]);
    CLOSE(p[1]);
    int efd = new_eventfd(0, 0);
    CHECK_EQ(efd, low);
    int ep = new_epoll();
    CHECK_EQ(ep, low + 1);
    CLOSE(efd);
    int again = new_eventfd(0, 0);
    CHECK_EQ(again, low);
    CLOSE(ep);
    int ep2 = new_epoll();
    CHECK_EQ(ep2, low + 1);
    CLOSE(again);
    CLOSE(ep2);
}
