/*
 * test_signalfd.c — signalfd: errors in the kernel's order, records and their fields (kill,
 * sigqueue, tgkill, SIGCHLD), several records per read, the mask and its updates, signals
 * staying pending until read, readiness (poll, epoll LT/ET, a blocked waiter woken), threads
 * and fork. Every case blocks the signals it uses, as signalfd(2) requires.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REC ((ssize_t)sizeof(struct signalfd_siginfo))

static void block(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
}

static sigset_t set_of(int a, int b)
{
    sigset_t s;
    sigemptyset(&s);
    if (a) sigaddset(&s, a);
    if (b) sigaddset(&s, b);
    return s;
}

static int is_pending(int sig)
{
    sigset_t p;
    CHECK_EQ(sigpending(&p), 0);
    return sigismember(&p, sig) == 1;
}

static int new_signalfd(int a, int b, int flags)
{
    sigset_t s = set_of(a, b);
    return MUST(T.signalfd(-1, &s, flags));
}

static void read_one(int fd, struct signalfd_siginfo *r)
{
    memset(r, 0xa5, sizeof *r);
    CHECK_EQ(T.read(fd, r, sizeof *r), REC);
}

/* Takes a signal left pending by a case (not through the signalfd). */
static void consume(int sig)
{
    sigset_t s = set_of(sig, 0);
    struct timespec zero = {0, 0};
    CHECK_EQ(sigtimedwait(&s, NULL, &zero), sig);
}

TEST(signalfd_errors)
{
    sigset_t m = set_of(SIGUSR1, 0);
    int p[2];
    make_pipe(p, 0);
    CHECK_ERR(T.signalfd(-1, &m, 1), EINVAL);
    CHECK_ERR(T.signalfd(-1, &m, SFD_NONBLOCK | 4), EINVAL);
    CHECK_ERR(T.signalfd(-5, &m, 1), EINVAL); /* flags before the fd */
    CHECK_ERR(T.signalfd(-1, NULL, 0), EFAULT);
    CHECK_ERR(T.signalfd(-5, NULL, 0), EFAULT); /* the mask is copied before the fd is looked at */
    CHECK_ERR(T.signalfd(-5, &m, 0), EBADF);
    CHECK_ERR(T.signalfd(p[1] + 100, &m, 0), EBADF);
    CHECK_ERR(T.signalfd(p[0], &m, 0), EINVAL); /* not a signalfd */
    int efd = new_eventfd(0, 0);
    CHECK_ERR(T.signalfd(efd, &m, 0), EINVAL);
    int ep = new_epoll();
    CHECK_ERR(T.signalfd(ep, &m, 0), EINVAL);
    CLOSE(ep);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

TEST(signalfd_flags)
{
    int fd = new_signalfd(SIGUSR1, 0, 0);
    CHECK_EQ(T.fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_EQ(T.fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    CLOSE(fd);
    fd = new_signalfd(SIGUSR1, 0, SFD_CLOEXEC | SFD_NONBLOCK);
    CHECK_EQ(T.fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_EQ(T.fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    /* an update returns the fd and leaves its flags alone */
    sigset_t m = set_of(SIGUSR2, 0);
    CHECK_EQ(T.signalfd(fd, &m, 0), fd);
    CHECK_EQ(T.fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CLOSE(fd);
}

/* kill(): SI_USER with the sender's pid and uid; the signal stays pending until read. */
TEST(signalfd_kill_record)
{
    block(SIGUSR1);
    int fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK);
    struct signalfd_siginfo r;
    CHECK_ERR(T.read(fd, &r, sizeof r), EAGAIN);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK(is_pending(SIGUSR1));
    CHECK_ERR(T.read(fd, &r, REC - 1), EINVAL); /* short buffer: nothing taken */
    CHECK(is_pending(SIGUSR1));
    read_one(fd, &r);
    CHECK_EQ(r.ssi_signo, SIGUSR1);
    CHECK_EQ(r.ssi_code, SI_USER);
    CHECK_EQ(r.ssi_errno, 0);
    CHECK_EQ(r.ssi_pid, getpid());
    CHECK_EQ(r.ssi_uid, getuid());
    CHECK_EQ(r.ssi_int, 0);
    CHECK_U64(r.ssi_ptr, 0);
    CHECK_EQ(r.ssi_fd, 0);
    CHECK_EQ(r.ssi_status, 0);
    CHECK(!is_pending(SIGUSR1));
    CHECK_ERR(T.read(fd, &r, sizeof r), EAGAIN);
    CHECK_ERR(T.write(fd, &r, sizeof r), EINVAL);
    CLOSE(fd);
}

/* sigqueue(): SI_QUEUE with the value in ssi_int and ssi_ptr. */
TEST(signalfd_sigqueue_record)
{
    int rt = SIGRTMIN + 1;
    block(rt);
    int fd = new_signalfd(rt, 0, SFD_NONBLOCK);
    union sigval v = {.sival_ptr = (void *)(uintptr_t)0x1234567890abcdefull};
    CHECK_EQ(sigqueue(getpid(), rt, v), 0);
    v.sival_int = 77;
    CHECK_EQ(sigqueue(getpid(), rt, v), 0); /* real-time signals queue: two records */
    struct signalfd_siginfo r[3];
    memset(r, 0, sizeof r);
    CHECK_EQ(T.read(fd, r, sizeof r), 2 * REC);
    CHECK_EQ(r[0].ssi_signo, rt);
    CHECK_EQ(r[0].ssi_code, SI_QUEUE);
    CHECK_EQ(r[0].ssi_pid, getpid());
    CHECK_EQ(r[0].ssi_uid, getuid());
    CHECK_U64(r[0].ssi_ptr, (uint64_t)(uintptr_t)(void *)(uintptr_t)0x1234567890abcdefull);
    CHECK_EQ(r[0].ssi_int, (int32_t)(uint32_t)(uintptr_t)0x1234567890abcdefull);
    CHECK_EQ(r[1].ssi_signo, rt);
    CHECK_EQ(r[1].ssi_code, SI_QUEUE);
    CHECK_EQ(r[1].ssi_int, 77);
    CLOSE(fd);
}

/* Several records in one read, lowest signal first; a buffer for fewer takes fewer. */
TEST(signalfd_several_records_per_read)
{
    block(SIGUSR1);
    block(SIGUSR2);
    int fd = new_signalfd(SIGUSR1, SIGUSR2, SFD_NONBLOCK);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0); /* a standard signal pending twice is one */
    char buf[3 * sizeof(struct signalfd_siginfo) - 1];
    CHECK_EQ(T.read(fd, buf, sizeof buf), 2 * REC);
    struct signalfd_siginfo r;
    memcpy(&r, buf, sizeof r);
    CHECK_EQ(r.ssi_signo, SIGUSR1);
    memcpy(&r, buf + REC, sizeof r);
    CHECK_EQ(r.ssi_signo, SIGUSR2);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(T.read(fd, buf, REC + 5), REC); /* room for one */
    memcpy(&r, buf, sizeof r);
    CHECK_EQ(r.ssi_signo, SIGUSR1);
    CHECK(is_pending(SIGUSR2));
    read_one(fd, &r);
    CHECK_EQ(r.ssi_signo, SIGUSR2);
    CLOSE(fd);
}

/* Only the mask's signals are read; an update changes the mask of the open file (seen through
 * every dup); SIGKILL and SIGSTOP are silently left out. */
TEST(signalfd_mask_and_update)
{
    block(SIGUSR1);
    block(SIGUSR2);
    int fd = new_signalfd(SIGUSR1, SIGKILL, SFD_NONBLOCK);
    int d = MUST(T.dup(fd));
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    struct signalfd_siginfo r;
    CHECK_ERR(T.read(fd, &r, sizeof r), EAGAIN);
    POLL_EXPECT(fd, POLLIN, 0, 0);
    CHECK(is_pending(SIGUSR2));
    sigset_t m = set_of(SIGUSR2, SIGSTOP);
    CHECK_EQ(T.signalfd(d, &m, SFD_CLOEXEC), d);
    read_one(fd, &r);
    CHECK_EQ(r.ssi_signo, SIGUSR2);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_ERR(T.read(d, &r, sizeof r), EAGAIN);
    consume(SIGUSR1);
    CLOSE(fd);
    CLOSE(d);
}

TEST(signalfd_poll_readiness)
{
    block(SIGUSR1);
    int fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK);
    POLL_EXPECT(fd, POLLIN | POLLOUT, 0, 0);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    POLL_EXPECT(fd, POLLIN | POLLOUT, WAIT_MS, POLLIN);
    struct signalfd_siginfo r;
    read_one(fd, &r);
    POLL_EXPECT(fd, POLLIN, 0, 0);
    CLOSE(fd);
}

TEST(signalfd_epoll_level_triggered)
{
    block(SIGUSR1);
    int ep = new_epoll();
    int fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK);
    ADD(ep, fd, EPOLLIN | EPOLLOUT, 3);
    WAIT_NONE(ep);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    WAIT_EXPECT(ep, EV(EPOLLIN, 3));
    struct signalfd_siginfo r;
    read_one(fd, &r);
    WAIT_NONE(ep);
    CLOSE(fd);
    CLOSE(ep);
}

/* A new signal while another is unread is a new edge. */
TEST(signalfd_epoll_et_edge_per_signal)
{
    block(SIGUSR1);
    block(SIGUSR2);
    int ep = new_epoll();
    int fd = new_signalfd(SIGUSR1, SIGUSR2, SFD_NONBLOCK);
    ADD(ep, fd, EPOLLIN | EPOLLET, 4);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_NONE(ep);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    WAIT_NONE(ep);
    struct signalfd_siginfo r[2];
    CHECK_EQ(T.read(fd, r, sizeof r), 2 * REC);
    WAIT_NONE(ep);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0); /* after a read, the same signal again: an edge */
    WAIT_EXPECT(ep, EV(EPOLLIN, 4));
    read_one(fd, r);
    CLOSE(fd);
    CLOSE(ep);
}

struct waiter {
    int ep, fd;
    pid_t tid;
    atomic_int armed;
    int got;
    struct epoll_event ev;
    struct signalfd_siginfo rec;
    ssize_t nread;
};

static void *epoll_waiter(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->armed, 1);
    w->got = T.epoll_wait(w->ep, &w->ev, 1, WAIT_MS);
    return NULL;
}

/* A thread blocked in epoll_wait is woken by a signal sent to the process. */
TEST(signalfd_wakes_blocked_epoll_waiter)
{
    block(SIGUSR1); /* before the thread starts: it inherits the mask */
    struct waiter w = {.ep = new_epoll(), .fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK)};
    ADD(w.ep, w.fd, EPOLLIN, 9);
    pthread_t th = start_thread(epoll_waiter, &w);
    while (!atomic_load(&w.armed)) sched_yield();
    struct timespec nap = {0, 5000000};
    nanosleep(&nap, NULL); /* not a correctness bound: the wait returns either way */
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    join_thread(th);
    CHECK_EQ(w.got, 1);
    CHECK_EQ(w.ev.events, EPOLLIN);
    CHECK_U64(w.ev.data.u64, 9);
    struct signalfd_siginfo r;
    read_one(w.fd, &r);
    CHECK_EQ(r.ssi_signo, SIGUSR1);
    CLOSE(w.fd);
    CLOSE(w.ep);
}

static void *blocking_reader(void *arg)
{
    struct waiter *w = arg;
    w->tid = current_tid();
    atomic_store(&w->armed, 1);
    w->nread = T.read(w->fd, &w->rec, sizeof w->rec);
    return NULL;
}

/* A blocking read on another thread returns the signal sent after it started waiting. */
TEST(signalfd_blocking_read_in_other_thread)
{
    block(SIGUSR1);
    struct waiter w = {.fd = new_signalfd(SIGUSR1, 0, 0)};
    pthread_t th = start_thread(blocking_reader, &w);
    while (!atomic_load(&w.armed)) sched_yield();
    wait_until_blocked(w.tid, NULL);
    union sigval v = {.sival_int = 5};
    CHECK_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
    join_thread(th);
    CHECK_EQ(w.nread, REC);
    CHECK_EQ(w.rec.ssi_signo, SIGUSR1);
    CHECK_EQ(w.rec.ssi_code, SI_QUEUE);
    CHECK_EQ(w.rec.ssi_int, 5);
    CLOSE(w.fd);
}

static void *read_own(void *arg)
{
    struct waiter *w = arg;
    w->tid = current_tid();
    atomic_store(&w->armed, 1);
    while (atomic_load(&w->armed) != 2) sched_yield();
    w->nread = T.read(w->fd, &w->rec, sizeof w->rec);
    return NULL;
}

/* A signal sent to one thread (tgkill) is read by that thread only: SI_TKILL, sender's pid. */
TEST(signalfd_thread_directed_signal)
{
    block(SIGUSR1);
    struct waiter w = {.fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK)};
    pthread_t th = start_thread(read_own, &w);
    while (!atomic_load(&w.armed)) sched_yield();
    CHECK_EQ(pthread_kill(th, SIGUSR1), 0);
    struct signalfd_siginfo r;
    CHECK_ERR(T.read(w.fd, &r, sizeof r), EAGAIN); /* not this thread's */
    atomic_store(&w.armed, 2);
    join_thread(th);
    CHECK_EQ(w.nread, REC);
    CHECK_EQ(w.rec.ssi_signo, SIGUSR1);
    CHECK_EQ(w.rec.ssi_code, SI_TKILL);
    CHECK_EQ(w.rec.ssi_pid, getpid());
    CHECK_EQ(w.rec.ssi_uid, getuid());
    CLOSE(w.fd);
}

/* SIGCHLD: the child's pid, status and CLD_EXITED. */
TEST(signalfd_sigchld_record)
{
    block(SIGCHLD);
    int fd = new_signalfd(SIGCHLD, 0, 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(7);
    struct signalfd_siginfo r;
    read_one(fd, &r); /* blocks until the child is gone */
    CHECK_EQ(r.ssi_signo, SIGCHLD);
    CHECK_EQ(r.ssi_code, CLD_EXITED);
    CHECK_EQ(r.ssi_pid, pid);
    CHECK_EQ(r.ssi_uid, getuid());
    CHECK_EQ(r.ssi_status, 7);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CLOSE(fd);
}

/* After fork() the child reads its own signals through the inherited signalfd. */
TEST(signalfd_fork_child_reads_own_signals)
{
    block(SIGUSR1);
    int fd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct signalfd_siginfo r;
        if (T.read(fd, &r, sizeof r) != -1 || errno != EAGAIN) _exit(1);
        if (kill(getpid(), SIGUSR1) != 0) _exit(2);
        if (T.read(fd, &r, sizeof r) != REC) _exit(3);
        if (r.ssi_signo != SIGUSR1 || r.ssi_pid != (uint32_t)getpid()) _exit(4);
        _exit(0);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    struct signalfd_siginfo r;
    CHECK_ERR(T.read(fd, &r, sizeof r), EAGAIN);
    CLOSE(fd);
}

/* readv gathers records across the vector like read. */
TEST(signalfd_readv_records)
{
    block(SIGUSR1);
    block(SIGUSR2);
    int fd = new_signalfd(SIGUSR1, SIGUSR2, SFD_NONBLOCK);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    struct signalfd_siginfo a, b;
    struct iovec iov[2] = {{&a, sizeof a}, {&b, sizeof b}};
    CHECK_EQ(T.readv(fd, iov, 2), 2 * REC);
    CHECK_EQ(a.ssi_signo, SIGUSR1);
    CHECK_EQ(b.ssi_signo, SIGUSR2);
    CHECK_ERR(T.readv(fd, iov, 2), EAGAIN);
    CLOSE(fd);
}

/* A signal sent to one thread is pending for that thread only: its signalfd (and an epoll
 * instance watching it) is readable from that thread and not from another, in either order of
 * looking, until that thread reads it (issue 13, item 3). */
struct directed {
    int sfd, ep;
    atomic_int step; /* main and the thread take turns: odd steps are the thread's */
};

static void turn(struct directed *d, int mine)
{
    int64_t t0 = now_ns();
    while (atomic_load(&d->step) != mine)
        if (elapsed_ms(t0) > WAIT_MS) FAIL("never got turn %d", mine);
        else sched_yield();
}

/* The signalfd as this thread sees it; with_epoll: through the instance too. (Only the thread
 * with the signal looks through the instance: on the kernel a wait of another thread finds the
 * signalfd not readable and takes its entry off the ready list, after which the instance is not
 * readable from anywhere until the next signal.) */
static void readable_here(struct directed *d, int yes, int with_epoll)
{
    POLL_EXPECT(d->sfd, POLLIN, 0, yes ? POLLIN : 0);
    if (!with_epoll) return;
    POLL_EXPECT(d->ep, POLLIN, 0, yes ? POLLIN : 0);
    if (yes) WAIT_EXPECT(d->ep, EV(EPOLLIN, 1));
    else WAIT_NONE(d->ep);
}

static void *directed_thread(void *arg)
{
    struct directed *d = arg;
    atomic_store(&d->step, 1);
    turn(d, 3);
    readable_here(d, 1, 1); /* after main looked */
    atomic_store(&d->step, 4);
    turn(d, 5);
    readable_here(d, 1, 1); /* still: main's looks took nothing */
    struct signalfd_siginfo r;
    read_one(d->sfd, &r);
    CHECK_EQ(r.ssi_signo, SIGUSR1);
    CHECK_EQ(r.ssi_code, SI_TKILL);
    readable_here(d, 0, 1);
    atomic_store(&d->step, 6);
    return NULL;
}

TEST(signalfd_thread_directed_readiness_per_thread)
{
    block(SIGUSR1);
    struct directed d = {.sfd = new_signalfd(SIGUSR1, 0, SFD_NONBLOCK), .ep = new_epoll()};
    ADD(d.ep, d.sfd, EPOLLIN, 1);
    pthread_t th = start_thread(directed_thread, &d);
    turn(&d, 1);
    CHECK_EQ(pthread_kill(th, SIGUSR1), 0);
    readable_here(&d, 0, 0); /* not this thread's */
    atomic_store(&d.step, 3);
    turn(&d, 4);
    readable_here(&d, 0, 0); /* the thread looked: still not this thread's */
    atomic_store(&d.step, 5);
    turn(&d, 6);
    join_thread(th);
    readable_here(&d, 0, 1);
    CLOSE(d.ep);
    CLOSE(d.sfd);
}

/* Two signalfds for one signal: taken through one of them, or by sigtimedwait, it is gone for
 * the other too. */
static void two_signalfds(int through_sigwait)
{
    block(SIGUSR2);
    int a = new_signalfd(SIGUSR2, 0, SFD_NONBLOCK), b = new_signalfd(SIGUSR2, 0, SFD_NONBLOCK);
    int ep = new_epoll();
    ADD(ep, b, EPOLLIN, 2);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    POLL_EXPECT(a, POLLIN, WAIT_MS, POLLIN);
    POLL_EXPECT(b, POLLIN, WAIT_MS, POLLIN);
    WAIT_EXPECT(ep, EV(EPOLLIN, 2));
    if (through_sigwait) {
        consume(SIGUSR2);
    } else {
        struct signalfd_siginfo r;
        read_one(a, &r);
        CHECK_EQ(r.ssi_signo, SIGUSR2);
    }
    POLL_EXPECT(a, POLLIN, 0, 0);
    POLL_EXPECT(b, POLLIN, 0, 0);
    WAIT_NONE(ep);
    CLOSE(ep);
    CLOSE(b);
    CLOSE(a);
}

TEST(signalfd_two_fds_signal_read_through_one) { two_signalfds(0); }
TEST(signalfd_two_fds_signal_taken_by_sigtimedwait) { two_signalfds(1); }
