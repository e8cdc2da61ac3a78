/*
 * test_ctl_errors.c — epoll_create/create1/ctl/wait argument errors, exactly as the kernel
 * reports them, and the order in which it checks them.
 */
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A number that is certainly not an open fd. */
static int closed_fd(void)
{
    int p[2];
    make_pipe(p, O_CLOEXEC);
    CLOSE(p[0]);
    CLOSE(p[1]);
    return p[0];
}

TEST(create_size_zero_or_negative_einval)
{
    CHECK_ERR(T.epoll_create(0), EINVAL);
    CHECK_ERR(T.epoll_create(-1), EINVAL);
    int ep = MUST(T.epoll_create(1));
    CLOSE(ep);
    ep = MUST(T.epoll_create(100000));
    CLOSE(ep);
}

TEST(create1_flags)
{
    CHECK_ERR(T.epoll_create1(1), EINVAL);
    CHECK_ERR(T.epoll_create1(O_NONBLOCK), EINVAL);
    CHECK_ERR(T.epoll_create1(EPOLL_CLOEXEC | 2), EINVAL);
    int a = MUST(T.epoll_create1(0));
    CHECK_EQ(T.fcntl(a, F_GETFD), 0);
    int b = MUST(T.epoll_create1(EPOLL_CLOEXEC));
    CHECK_EQ(T.fcntl(b, F_GETFD), FD_CLOEXEC);
    int c = MUST(T.epoll_create(1));
    CHECK_EQ(T.fcntl(c, F_GETFD), 0);
    CLOSE(a);
    CLOSE(b);
    CLOSE(c);
}

TEST(ctl_bad_epfd_ebadf)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(-1, EPOLL_CTL_ADD, p[0], &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(closed_fd(), EPOLL_CTL_ADD, p[0], &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(100000, EPOLL_CTL_ADD, p[0], &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(-1, EPOLL_CTL_DEL, p[0], NULL), EBADF);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(ctl_bad_fd_ebadf)
{
    int ep = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, -1, &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, closed_fd(), &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, closed_fd(), &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, closed_fd(), NULL), EBADF);
    CLOSE(ep);
}

TEST(ctl_epfd_not_epoll_einval)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(efd, EPOLL_CTL_ADD, p[0], &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(p[1], EPOLL_CTL_DEL, p[0], NULL), EINVAL);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(ctl_fd_equals_epfd_einval)
{
    int ep = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, ep, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, ep, NULL), EINVAL);
    int d = MUST(T.dup(ep)); /* the same file under another number */
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(d, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    CLOSE(d);
    CLOSE(ep);
}

TEST(ctl_bad_op_einval)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, 0, efd, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, 4, efd, &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, -1, efd, &ev), EINVAL);
    ADD(ep, efd, EPOLLIN, 1);
    CHECK_ERR(T.epoll_ctl(ep, 99, efd, &ev), EINVAL);
    DEL(ep, efd);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(ctl_mod_del_unregistered_enoent)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), ENOENT);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    ADD(ep, efd, EPOLLIN, 1);
    DEL(ep, efd);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), ENOENT);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(ctl_add_twice_eexist)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 2};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST);
    /* the failed ADD changed nothing */
    efd_write(efd, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    CLOSE(efd);
    CLOSE(ep);
}

TEST(ctl_null_event_efault)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, NULL), EFAULT);
    ADD(ep, efd, EPOLLIN, 1);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, efd, NULL), EFAULT);
    /* the event is copied before anything is checked, even the op and the fds */
    CHECK_ERR(T.epoll_ctl(ep, 0, efd, NULL), EFAULT);
    CHECK_ERR(T.epoll_ctl(-1, EPOLL_CTL_ADD, -1, NULL), EFAULT);
    CHECK_EQ(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), 0); /* DEL takes no event */
    CLOSE(efd);
    CLOSE(ep);
}

TEST(ctl_regular_file_eperm)
{
    char path[] = "/tmp/anypoll-conformance-XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    unlink(path);
    int ep = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_MOD, f, &ev), EPERM);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_DEL, f, NULL), EPERM);
    ev.events = EPOLLIN | EPOLLET;
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
    CLOSE(f);
    CLOSE(ep);
}

TEST(ctl_directory_eperm)
{
    int d = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(d >= 0);
    int ep = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), EPERM);
    CLOSE(d);
    CLOSE(ep);
}

TEST(ctl_dev_null_eperm)
{
    int d = open("/dev/null", O_RDWR | O_CLOEXEC);
    CHECK(d >= 0);
    int ep = new_epoll();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT};
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), EPERM);
    CLOSE(d);
    CLOSE(ep);
}

/* The kernel checks: event copy (EFAULT), epfd (EBADF), fd (EBADF), fd pollable (EPERM),
 * epfd is an epoll fd and fd != epfd (EINVAL), then the op. */
TEST(ctl_error_precedence)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int d = open("/dev/null", O_RDWR | O_CLOEXEC);
    CHECK(d >= 0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(T.epoll_ctl(-1, EPOLL_CTL_ADD, -1, &ev), EBADF);
    CHECK_ERR(T.epoll_ctl(p[0], EPOLL_CTL_ADD, -1, &ev), EBADF);  /* bad fd before not-epoll */
    CHECK_ERR(T.epoll_ctl(p[0], EPOLL_CTL_ADD, d, &ev), EPERM);   /* EPERM before not-epoll */
    CHECK_ERR(T.epoll_ctl(ep, 0, d, &ev), EPERM);                 /* EPERM before bad op */
    CHECK_ERR(T.epoll_ctl(p[0], 0, p[1], &ev), EINVAL);
    CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, -1, NULL), EFAULT);
    CLOSE(d);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* Unknown bits at ADD are accepted silently; EPOLLWAKEUP is accepted and never reported. */
TEST(ctl_unknown_and_wakeup_bits_accepted)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    int efd2 = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | 0x08000000u | 0x00100000u, 1);
    ADD(ep, efd2, EPOLLIN | EPOLLWAKEUP, 2);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1), EV(EPOLLIN, 2));
    MOD(ep, efd, EPOLLIN | EPOLLOUT | 0x04000000u, 3);
    WAIT_EXPECT(ep, EV(EPOLLIN | EPOLLOUT, 3), EV(EPOLLIN, 2));
    CLOSE(efd);
    CLOSE(efd2);
    CLOSE(ep);
}

TEST(wait_maxevents_einval)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    CHECK_ERR(T.epoll_wait(ep, evs, 0, 0), EINVAL);
    CHECK_ERR(T.epoll_wait(ep, evs, -1, 0), EINVAL);
    CHECK_ERR(T.epoll_pwait(ep, evs, 0, 0, NULL), EINVAL);
    /* more than INT_MAX / sizeof(struct epoll_event) */
    int too_many = (int)(0x7fffffff / sizeof(struct epoll_event)) + 1;
    CHECK_ERR(T.epoll_wait(ep, evs, too_many, 0), EINVAL);
    CHECK_ERR(T.epoll_wait(ep, evs, 0x7fffffff, 0), EINVAL);
    CHECK_ERR(T.epoll_pwait(ep, evs, too_many, 0, NULL), EINVAL);
    CLOSE(ep);
}

/* (epoll_pwait2 cases carry "pwait2" in their name: qemu-user 7.2 lacks the system call.) */
TEST(wait_maxevents_einval_pwait2)
{
    int ep = new_epoll();
    struct epoll_event evs[4];
    struct timespec zero = {0, 0};
    CHECK_ERR(T.epoll_pwait2(ep, evs, 0, &zero, NULL), EINVAL);
    CHECK_ERR(T.epoll_pwait2(ep, evs, -5, NULL, NULL), EINVAL);
    int too_many = (int)(0x7fffffff / sizeof(struct epoll_event)) + 1;
    CHECK_ERR(T.epoll_pwait2(ep, evs, too_many, &zero, NULL), EINVAL);
    CLOSE(ep);
}

/* Two errors at once: this kernel (6.18) looks the epoll fd up before it checks maxevents
 * (older kernels checked maxevents first). */
TEST(wait_error_precedence)
{
    int p[2];
    make_pipe(p, O_NONBLOCK);
    struct epoll_event evs[4];
    CHECK_ERR(T.epoll_wait(-1, evs, 0, 0), EBADF);
    CHECK_ERR(T.epoll_pwait(-1, evs, -1, 0, NULL), EBADF);
    CHECK_ERR(T.epoll_wait(p[0], evs, 0, 0), EINVAL);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(wait_error_precedence_pwait2)
{
    struct epoll_event evs[4];
    struct timespec zero = {0, 0}, bad = {0, -1};
    CHECK_ERR(T.epoll_pwait2(-1, evs, 0, &zero, NULL), EBADF);
    CHECK_ERR(T.epoll_pwait2(-1, evs, 4, &bad, NULL), EINVAL); /* the timespec comes first */
    CHECK_ERR(T.epoll_pwait2(-1, evs, 0, &bad, NULL), EINVAL);
}

TEST(wait_bad_epfd)
{
    struct epoll_event evs[4];
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int efd = new_eventfd(0, EFD_NONBLOCK);
    CHECK_ERR(T.epoll_wait(-1, evs, 4, 0), EBADF);
    CHECK_ERR(T.epoll_wait(closed_fd(), evs, 4, 0), EBADF);
    CHECK_ERR(T.epoll_pwait(-1, evs, 4, 0, NULL), EBADF);
    CHECK_ERR(T.epoll_wait(p[0], evs, 4, 0), EINVAL);
    CHECK_ERR(T.epoll_wait(efd, evs, 4, 0), EINVAL);
    CHECK_ERR(T.epoll_pwait(p[1], evs, 4, 0, NULL), EINVAL);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(wait_bad_epfd_pwait2)
{
    struct epoll_event evs[4];
    int efd = new_eventfd(0, EFD_NONBLOCK);
    struct timespec zero = {0, 0};
    CHECK_ERR(T.epoll_pwait2(-1, evs, 4, &zero, NULL), EBADF);
    CHECK_ERR(T.epoll_pwait2(closed_fd(), evs, 4, NULL, NULL), EBADF);
    CHECK_ERR(T.epoll_pwait2(efd, evs, 4, &zero, NULL), EINVAL);
    CLOSE(efd);
}

/* The calls that succeed leave errno alone. */
TEST(success_leaves_errno_untouched)
{
    errno = EINTR;
    int ep = T.epoll_create1(0);
    CHECK(ep >= 0);
    CHECK_EQ(errno, EINTR);
    int efd = T.eventfd(0, EFD_NONBLOCK);
    CHECK(efd >= 0);
    CHECK_EQ(errno, EINTR);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    CHECK(T.epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    CHECK_EQ(errno, EINTR);
    struct epoll_event out[2];
    CHECK(T.epoll_wait(ep, out, 2, 0) == 0);
    CHECK_EQ(errno, EINTR);
    uint64_t one = 1;
    CHECK(T.write(efd, &one, 8) == 8);
    CHECK_EQ(errno, EINTR);
    CHECK(T.epoll_wait(ep, out, 2, WAIT_MS) == 1);
    CHECK_EQ(errno, EINTR);
    CHECK(T.epoll_pwait(ep, out, 2, 0, NULL) == 1);
    CHECK_EQ(errno, EINTR);
    CHECK(T.read(efd, &one, 8) == 8);
    CHECK_EQ(errno, EINTR);
    CHECK(T.epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0);
    CHECK_EQ(errno, EINTR);
    CHECK(T.close(efd) == 0);
    CHECK_EQ(errno, EINTR);
    CHECK(T.close(ep) == 0);
    CHECK_EQ(errno, EINTR);
}

TEST(success_leaves_errno_untouched_pwait2)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 1);
    struct epoll_event out[2];
    struct timespec zero = {0, 0};
    errno = EINTR;
    CHECK(T.epoll_pwait2(ep, out, 2, &zero, NULL) == 0);
    CHECK_EQ(errno, EINTR);
    efd_write(efd, 1);
    errno = EAGAIN;
    CHECK(T.epoll_pwait2(ep, out, 2, NULL, NULL) == 1);
    CHECK_EQ(errno, EAGAIN);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(epoll_fd_file_flags)
{
    int ep = new_epoll();
    CHECK_EQ(T.fcntl(ep, F_GETFL) & O_ACCMODE, O_RDWR);
    CHECK_EQ(T.fcntl(ep, F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(T.fcntl(ep, F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(T.fcntl(ep, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    int efd = new_eventfd(1, 0);
    ADD(ep, efd, EPOLLIN, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1)); /* O_NONBLOCK changes nothing for epoll_wait */
    CHECK_EQ(T.fcntl(ep, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(T.fcntl(ep, F_GETFD), FD_CLOEXEC);
    CLOSE(efd);
    CLOSE(ep);
}

/* An epoll fd has no read or write: EINVAL. */
TEST(epoll_fd_read_write_einval)
{
    int ep = new_epoll();
    char buf[16] = {0};
    CHECK_ERR(T.read(ep, buf, sizeof buf), EINVAL);
    CHECK_ERR(T.write(ep, buf, 8), EINVAL);
    CLOSE(ep);
}

/* Socket calls on eventfds and epoll fds: ENOTSOCK. */
TEST(socket_calls_on_eventfd_and_epoll_fd_enotsock)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    char buf[8];
    CHECK_ERR(T.recv(efd, buf, 8, 0), ENOTSOCK);
    CHECK_ERR(T.send(efd, buf, 8, 0), ENOTSOCK);
    CHECK_ERR(T.accept(efd, NULL, NULL), ENOTSOCK);
    CHECK_ERR(T.recv(ep, buf, 8, 0), ENOTSOCK);
    CHECK_ERR(T.send(ep, buf, 8, 0), ENOTSOCK);
    CHECK_ERR(T.accept4(ep, NULL, NULL, 0), ENOTSOCK);
    CHECK_U64(efd_read(efd), 1); /* untouched */
    CLOSE(efd);
    CLOSE(ep);
}
