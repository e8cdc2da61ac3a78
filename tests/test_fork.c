/*
 * test_fork.c — after fork both processes share the epoll instance (and eventfds): the child
 * closing its copy disturbs nothing in the parent.
 */
#include "runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Waits for the child; a child that failed a CHECK already reported it. */
static void reap(pid_t pid)
{
    int status;
    int64_t t0 = now_ns();
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) FAIL("waitpid: %s", errno_name(errno));
        if (elapsed_ms(t0) > 8000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FAIL("the child did not finish");
        }
        struct timespec tick = {0, 1000000};
        nanosleep(&tick, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("the child failed (status 0x%x)", status);
}

TEST(fork_child_closes_epoll_fd_parent_unaffected)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    int p[2];
    make_pipe(p, O_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 1);
    ADD(ep, p[0], EPOLLIN, 2);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        CHECK_EQ(T.close(ep), 0);
        CHECK_EQ(T.close(efd), 0);
        CHECK_EQ(T.close(p[0]), 0);
        CHECK_EQ(T.close(p[1]), 0);
        _exit(0);
    }
    reap(pid);
    efd_write(efd, 1);
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLIN, 2));
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    DEL(ep, efd);
    DEL(ep, p[0]);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* The child sees the parent's registrations and events through the inherited instance. */
TEST(fork_child_waits_on_inherited_instance)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 3);
    efd_write(efd, 5);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        WAIT_EXPECT(ep, EV(EPOLLIN, 3));
        CHECK_U64(efd_read(efd), 5); /* one counter for both processes */
        _exit(0);
    }
    reap(pid);
    WAIT_NONE(ep);
    uint64_t v;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    CLOSE(efd);
    CLOSE(ep);
}

/* One instance: a registration the child adds is the parent's too. */
TEST_EMULATION_GAP(fork_child_registration_visible_in_parent,
                   "an emulated instance's registrations live in each process's memory, so one "
                   "the child adds after fork() is not the parent's (docs/design.md, fork)")
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        ADD(ep, p[0], EPOLLIN, 4);
        _exit(0);
    }
    reap(pid);
    write_str(p[1], "x");
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    DEL(ep, p[0]);
    WAIT_NONE(ep);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* An eventfd written in the child raises an edge in the parent's instance. */
TEST(fork_child_eventfd_write_wakes_parent)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 5);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        efd_write(efd, 7);
        _exit(0);
    }
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    reap(pid);
    CHECK_U64(efd_read(efd), 7);
    CLOSE(efd);
    CLOSE(ep);
}
