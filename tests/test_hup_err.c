/*
 * test_hup_err.c — HUP and ERR on pipes, FIFOs and socketpairs; results masked to
 * interest | ERR | HUP (ERR and HUP are always reported, even with no interest at all).
 */
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(pipe_writer_closed_with_data_in_hup)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLRDHUP, 1);
    write_str(p[1], "data");
    CLOSE(p[1]);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLHUP, 1));
    char buf[8];
    CHECK_EQ(T.read(p[0], buf, sizeof buf), 4);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 1));
    CHECK_EQ(T.read(p[0], buf, sizeof buf), 0);
    CLOSE(p[0]);
    CLOSE(ep);
}

TEST(pipe_writer_closed_drained_hup)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN, 2);
    CLOSE(p[1]);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 2));
    WAIT_EXPECT(ep, EV(EPOLLHUP, 2)); /* level-triggered: stays */
    CLOSE(p[0]);
    CLOSE(ep);
}

TEST(pipe_writer_closed_et_hup_once)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[0], EPOLLIN | EPOLLET, 3);
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    CLOSE(p[1]);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLHUP, 3));
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(ep);
}

TEST(pipe_reader_closed_out_err)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[1], EPOLLOUT, 4);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 4));
    CLOSE(p[0]);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLERR, 4));
    CHECK_ERR(T.write(p[1], "x", 1), EPIPE);
    CLOSE(p[1]);
    CLOSE(ep);
}

TEST(pipe_reader_closed_in_interest_err_only)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, p[1], EPOLLIN, 5);
    WAIT_NONE(ep);
    CLOSE(p[0]);
    WAIT_EXPECT(ep, EV(EPOLLERR, 5));
    CLOSE(p[1]);
    CLOSE(ep);
}

/* events = 0: still told about HUP and ERR. */
TEST(hup_err_reported_without_interest)
{
    int ep = new_epoll();
    int p[2], q[2];
    make_pipe(p, O_NONBLOCK);
    make_pipe(q, O_NONBLOCK);
    ADD(ep, p[0], 0, 6);
    ADD(ep, q[1], 0, 7);
    write_str(p[1], "x");
    WAIT_NONE(ep);
    CLOSE(p[1]);
    CLOSE(q[0]);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 6), EV(EPOLLERR, 7));
    MOD(ep, p[0], EPOLLIN, 8);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLHUP, 8), EV(EPOLLERR, 7));
    CLOSE(p[0]);
    CLOSE(q[1]);
    CLOSE(ep);
}

static void make_fifo(char *path, size_t n)
{
    snprintf(path, n, "/tmp/anypoll-conformance-fifo-%d", (int)getpid());
    unlink(path);
    if (mkfifo(path, 0600) != 0) FAIL("mkfifo %s: %s", path, errno_name(errno));
}

/* One end of the FIFO at path, non-blocking: O_RDONLY or O_WRONLY. */
static int fifo_open(const char *path, int mode)
{
    int fd = open(path, mode | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) FAIL("open %s: %s", path, errno_name(errno));
    return fd;
}

TEST(fifo_writer_closed)
{
    char path[96];
    make_fifo(path, sizeof path);
    int r = fifo_open(path, O_RDONLY);
    int w = fifo_open(path, O_WRONLY);
    unlink(path);
    int ep = new_epoll();
    ADD(ep, r, EPOLLIN, 9);
    ADD(ep, w, EPOLLOUT, 10);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 10));
    write_str(w, "fifo");
    WAIT_EXPECT(ep, EV(EPOLLIN, 9), EV(EPOLLOUT, 10));
    CLOSE(w);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLHUP, 9));
    char buf[8];
    CHECK_EQ(T.read(r, buf, sizeof buf), 4);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 9));
    CLOSE(r);
    CLOSE(ep);
}

TEST(fifo_reader_closed)
{
    char path[96];
    make_fifo(path, sizeof path);
    int r = fifo_open(path, O_RDONLY);
    int w = fifo_open(path, O_WRONLY);
    unlink(path);
    int ep = new_epoll();
    ADD(ep, w, EPOLLOUT, 11);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 11));
    CLOSE(r);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLERR, 11));
    CLOSE(w);
    CLOSE(ep);
}

/* A FIFO opened for reading that never had a writer: not HUP, nothing at all. */
TEST(fifo_reader_without_writer_yet)
{
    char path[96];
    make_fifo(path, sizeof path);
    int r = fifo_open(path, O_RDONLY);
    int ep = new_epoll();
    ADD(ep, r, EPOLLIN, 12);
    WAIT_NONE(ep);
    int w = fifo_open(path, O_WRONLY);
    unlink(path);
    WAIT_NONE(ep);
    write_str(w, "z");
    WAIT_EXPECT(ep, EV(EPOLLIN, 12));
    CLOSE(w);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLHUP, 12));
    CLOSE(r);
    CLOSE(ep);
}

/* A FIFO's writer goes (HUP) and a new one opens it and writes: the HUP is gone and the data
 * is a new edge (issue 13, item 4). `drained`: the old data was read before the writer went. */
static void fifo_reopened(uint32_t et, int drained)
{
    char path[96];
    make_fifo(path, sizeof path);
    int r = fifo_open(path, O_RDONLY);
    int w = fifo_open(path, O_WRONLY);
    int ep = new_epoll();
    ADD(ep, r, EPOLLIN | EPOLLRDHUP | et, 17);
    WAIT_NONE(ep);
    write_str(w, "a");
    WAIT_EXPECT(ep, EV(EPOLLIN, 17));
    if (drained) CHECK_EQ(drain_fd(r), 1);
    CLOSE(w);
    WAIT_EXPECT(ep, EV((drained ? 0 : EPOLLIN) | EPOLLHUP, 17));
    if (et) WAIT_NONE(ep);
    w = fifo_open(path, O_WRONLY);
    unlink(path);
    if (drained) WAIT_NONE(ep); /* a writer alone: nothing to read, no HUP */
    else if (!et) WAIT_EXPECT(ep, EV(EPOLLIN, 17));
    write_str(w, "b");
    WAIT_EXPECT(ep, EV(EPOLLIN, 17));
    if (et) WAIT_NONE(ep);
    CHECK_EQ(drain_fd(r), drained ? 1 : 2);
    CLOSE(w);
    WAIT_EXPECT(ep, EV(EPOLLHUP, 17));
    CLOSE(r);
    CLOSE(ep);
}

TEST(fifo_reopened_et_new_edge) { fifo_reopened(EPOLLET, 1); }
TEST(fifo_reopened_et_data_left_new_edge) { fifo_reopened(EPOLLET, 0); }
TEST(fifo_reopened_lt) { fifo_reopened(0, 1); }

/* The writer's side: a full FIFO's reader goes (ERR), a new reader opens it (nothing yet: still
 * full) and reads: room to write is a new OUT edge (found by the differential fuzzer: the poll
 * engine stopped polling an EPOLLET registration once it had reported ERR). */
static void fifo_reader_reopened(uint32_t et)
{
    char path[96];
    make_fifo(path, sizeof path);
    int r = fifo_open(path, O_RDONLY);
    int w = fifo_open(path, O_WRONLY);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    while (T.write(w, buf, sizeof buf) > 0) {
    }
    int ep = new_epoll();
    ADD(ep, w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | et, 18);
    WAIT_NONE(ep);
    CLOSE(r);
    WAIT_EXPECT(ep, EV(EPOLLERR, 18));
    if (et) WAIT_NONE(ep);
    r = fifo_open(path, O_RDONLY);
    unlink(path);
    WAIT_NONE(ep); /* a reader, and still full: nothing */
    CHECK_EQ(T.read(r, buf, sizeof buf), (ssize_t)sizeof buf);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 18));
    if (et) WAIT_NONE(ep);
    CLOSE(r);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLERR, 18));
    CLOSE(w);
    CLOSE(ep);
}
TEST(fifo_reader_reopened_et_new_out_edge) { fifo_reader_reopened(EPOLLET); }
TEST(fifo_reader_reopened_lt) { fifo_reader_reopened(0); }

TEST(socketpair_peer_shutdown_wr)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 13);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 13));
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 13));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

TEST(socketpair_peer_closed)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 14);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 14));
    CLOSE(sv[1]);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP, 14));
    WAIT_NONE(ep);
    char buf[4];
    CHECK_EQ(T.read(sv[0], buf, sizeof buf), 0);
    CHECK_ERR(T.send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    CLOSE(sv[0]);
    CLOSE(ep);
}

TEST(socketpair_rdhup_only_when_asked)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN, 15);
    CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 15));
    MOD(ep, sv[0], EPOLLRDHUP, 16);
    WAIT_EXPECT(ep, EV(EPOLLRDHUP, 16));
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* T.shutdown, out of reach of a function-like `shutdown` macro (tests/compat_win.h). */
static int shut(int fd, int how) { return (T.shutdown)(fd, how); }

/* Every shutdown() is a wake-up of the socket: an EPOLLET registration reports its whole mask
 * again, even when the shutdown changes no bit poll() shows (issue 13, item 5). */
TEST(socketpair_own_shutdown_edges_et)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 18);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 18));
    CHECK_EQ(shut(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 18));
    MOD(ep, sv[0], EPOLLRDHUP | EPOLLOUT | EPOLLET, 19);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP, 19));
    WAIT_NONE(ep);
    CHECK_EQ(shut(sv[0], SHUT_RD), 0); /* no bit changes: still a wake-up */
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP, 19));
    WAIT_NONE(ep);
    CHECK_EQ(shut(sv[0], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP | EPOLLHUP, 19));
    WAIT_NONE(ep);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* The same wake-up ends a blocked wait. */
struct shut_kick {
    int fd, how;
    pid_t tid;
    atomic_int armed;
};

static void *shut_later(void *p)
{
    struct shut_kick *k = p;
    wait_until_blocked(k->tid, &k->armed);
    if (shut(k->fd, k->how) != 0) FAIL("shutdown: %s", errno_name(errno));
    return NULL;
}

TEST(socketpair_own_shutdown_rd_wakes_blocked_et_wait)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLRDHUP | EPOLLOUT | EPOLLET, 20);
    CHECK_EQ(shut(sv[1], SHUT_WR), 0);
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP, 20));
    struct shut_kick k = {sv[0], SHUT_RD, current_tid(), 0};
    pthread_t t = start_thread(shut_later, &k);
    k.armed = 1;
    WAIT_EXPECT(ep, EV(EPOLLOUT | EPOLLRDHUP, 20));
    join_thread(t);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* A TCP socket's own shutdown(SHUT_RD) is a wake-up too. */
TEST(tcp_own_shutdown_rd_edge_et)
{
    int c, s;
    tcp_pair(&c, &s);
    int ep = new_epoll();
    ADD(ep, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 21);
    WAIT_EXPECT(ep, EV(EPOLLOUT, 21));
    WAIT_NONE(ep);
    CHECK_EQ(shut(c, SHUT_RD), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT | EPOLLRDHUP, 21));
    WAIT_NONE(ep);
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}
