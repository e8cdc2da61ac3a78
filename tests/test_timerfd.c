/*
 * test_timerfd.c — timerfd: creation and settime/gettime errors in the kernel's order, one-shot
 * and periodic timers on every clock, relative and absolute, exact expiration counts, disarm
 * and re-arm, read rules, readiness (epoll LT/ET, poll, select), fd operations and fork.
 *
 * No timed assertions: a timer must never fire early (the clock read after the event is at or
 * past the deadline), counts are exact or bracketed by the clock read before and after the
 * read that returned them, and the only upper bounds are the watchdog's.
 */
#include "runner.h"

#include <fcntl.h>
#include <string.h>
#ifndef _WIN32 /* fork() and signals: those cases are listed in windows_gaps.c there */
#include <sys/wait.h>
#endif
#include <unistd.h>

#define MS 1000000LL

static int64_t clock_now(int id)
{
    struct timespec ts;
    CHECK_EQ(clock_gettime(id, &ts), 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns) { return (struct timespec){(time_t)(ns / 1000000000), (long)(ns % 1000000000)}; }
static int64_t ns_of(struct timespec ts) { return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec; }

static int new_timerfd(int clockid, int flags) { return MUST(T.timerfd_create(clockid, flags)); }

static void arm(int fd, int flags, int64_t value, int64_t interval)
{
    struct itimerspec its = {.it_interval = ts_of(interval), .it_value = ts_of(value)};
    CHECK_EQ(T.timerfd_settime(fd, flags, &its, NULL), 0);
}

static uint64_t tfd_read(int fd)
{
    uint64_t v = 0;
    CHECK_EQ(T.read(fd, &v, sizeof v), 8);
    return v;
}

/* Deadlines passed by `now` for a timer first due at `first`, then every `iv`. */
static int64_t due_by(int64_t now, int64_t first, int64_t iv)
{
    return now < first ? 0 : (now - first) / iv + 1;
}

TEST(timerfd_create_flags_and_clocks)
{
    CHECK_ERR(T.timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    CHECK_ERR(T.timerfd_create(CLOCK_MONOTONIC, TFD_TIMER_ABSTIME), EINVAL);
    CHECK_ERR(T.timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(T.timerfd_create(CLOCK_THREAD_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(T.timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
    CHECK_ERR(T.timerfd_create(-1, 0), EINVAL);
    CHECK_ERR(T.timerfd_create(12345, 0), EINVAL);
    CHECK_ERR(T.timerfd_create(12345, 1), EINVAL); /* both wrong: still EINVAL */
    int ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
    for (unsigned i = 0; i < 3; i++) {
        int fd = new_timerfd(ids[i], 0);
        CHECK_EQ(T.fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
        CHECK_EQ(T.fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
        CLOSE(fd);
    }
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    CHECK_EQ(T.fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_EQ(T.fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0); /* a new timer is disarmed */
    CHECK_EQ(ns_of(cur.it_value), 0);
    CHECK_EQ(ns_of(cur.it_interval), 0);
    CLOSE(fd);
}

/* Alarm clocks need CAP_WAKE_ALARM: EPERM without it (the emulation asks for root). */
TEST(timerfd_create_alarm_clocks)
{
    int ids[] = {CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM};
    for (unsigned i = 0; i < 2; i++) {
        if (geteuid() != 0) {
            CHECK_ERR(T.timerfd_create(ids[i], 0), EPERM);
            continue;
        }
        int fd = new_timerfd(ids[i], TFD_NONBLOCK);
        int clk = ids[i] == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : CLOCK_BOOTTIME;
        int64_t deadline = clock_now(clk) + 2 * MS;
        arm(fd, TFD_TIMER_ABSTIME, deadline, 0);
        POLL_EXPECT(fd, POLLIN, WAIT_MS, POLLIN);
        CHECK(clock_now(clk) >= deadline);
        CHECK_U64(tfd_read(fd), 1);
        CLOSE(fd);
    }
}

TEST(timerfd_settime_gettime_errors)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    int p[2];
    make_pipe(p, 0);
    struct itimerspec ok = {.it_value = {1000, 0}}, cur;
    /* the new value is copied in first, then flags and the value are checked, then the fd */
    CHECK_ERR(T.timerfd_settime(-1, 0, NULL, NULL), EFAULT);
    CHECK_ERR(T.timerfd_settime(fd, 4, &ok, NULL), EINVAL);
    CHECK_ERR(T.timerfd_settime(-1, 4, &ok, NULL), EINVAL);
    struct itimerspec bad[] = {
        {.it_value = {0, 1000000000}},  {.it_value = {0, -1}}, {.it_value = {-1, 0}},
        {.it_interval = {0, 1000000000}, .it_value = {1, 0}}, {.it_interval = {-1, 0}, .it_value = {1, 0}},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(T.timerfd_settime(fd, 0, &bad[i], NULL), EINVAL);
        CHECK_ERR(T.timerfd_settime(-1, 0, &bad[i], NULL), EINVAL);
    }
    CHECK_ERR(T.timerfd_settime(-1, 0, &ok, NULL), EBADF);
    CHECK_ERR(T.timerfd_settime(p[1] + 100, 0, &ok, NULL), EBADF);
    CHECK_ERR(T.timerfd_settime(p[0], 0, &ok, NULL), EINVAL);
    int efd = new_eventfd(0, 0);
    CHECK_ERR(T.timerfd_settime(efd, 0, &ok, NULL), EINVAL);
    CHECK_ERR(T.timerfd_gettime(-1, &cur), EBADF);
    CHECK_ERR(T.timerfd_gettime(p[1] + 100, &cur), EBADF);
    CHECK_ERR(T.timerfd_gettime(p[0], &cur), EINVAL);
    CHECK_ERR(T.timerfd_gettime(efd, &cur), EINVAL);
    CHECK_ERR(T.timerfd_gettime(-1, NULL), EBADF);
    /* all flags are accepted on every clock (CANCEL_ON_SET only acts on absolute realtime) */
    CHECK_EQ(T.timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &ok, NULL), 0);
    CHECK_EQ(T.timerfd_settime(fd, TFD_TIMER_CANCEL_ON_SET, &ok, NULL), 0);
    CLOSE(efd);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(fd);
}

/* The fd is looked at first, then the copy-out fails. */
TEST(timerfd_gettime_null_buffer_efault)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    CHECK_ERR(T.timerfd_gettime(fd, NULL), EFAULT);
    CLOSE(fd);
}

TEST(timerfd_read_rules)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    uint64_t v;
    char big[64];
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN); /* disarmed, nothing pending */
    arm(fd, TFD_TIMER_ABSTIME, 1, 0);           /* long past: due at once */
    POLL_EXPECT(fd, POLLIN, WAIT_MS, POLLIN);
    CHECK_ERR(T.read(fd, &v, 7), EINVAL);       /* short buffer, even with expirations */
    CHECK_ERR(T.read(fd, &v, 0), EINVAL);
    CHECK_ERR(T.write(fd, &v, sizeof v), EINVAL); /* no write */
    CHECK_EQ(T.read(fd, big, sizeof big), 8);   /* a big buffer gets 8 bytes */
    memcpy(&v, big, 8);
    CHECK_U64(v, 1);
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    CLOSE(fd);
}

/* Relative one-shot on each clock: a blocking read returns 1, never before the deadline. */
TEST(timerfd_one_shot_relative_not_early)
{
    int ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
    for (unsigned i = 0; i < 3; i++) {
        int fd = new_timerfd(ids[i], 0);
        int64_t t0 = clock_now(ids[i]);
        arm(fd, 0, 20 * MS, 0);
        CHECK_U64(tfd_read(fd), 1);
        CHECK(clock_now(ids[i]) >= t0 + 20 * MS);
        struct itimerspec cur;
        CHECK_EQ(T.timerfd_gettime(fd, &cur), 0); /* expired one-shot: nothing left */
        CHECK_EQ(ns_of(cur.it_value), 0);
        CHECK_EQ(ns_of(cur.it_interval), 0);
        POLL_EXPECT(fd, POLLIN, 0, 0);
        CLOSE(fd);
    }
}

TEST(timerfd_absolute_not_early_and_past_fires_at_once)
{
    int ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
    for (unsigned i = 0; i < 3; i++) {
        int fd = new_timerfd(ids[i], 0);
        int64_t deadline = clock_now(ids[i]) + 15 * MS;
        arm(fd, TFD_TIMER_ABSTIME, deadline, 0);
        CHECK_U64(tfd_read(fd), 1);
        CHECK(clock_now(ids[i]) >= deadline);
        arm(fd, TFD_TIMER_ABSTIME, clock_now(ids[i]) - 1000 * MS, 0);
        CHECK_U64(tfd_read(fd), 1);
        CLOSE(fd);
    }
}

/* A periodic timer left unread counts every deadline passed: the count a read returns lies
 * between the deadlines passed at the clock readings just before and just after it. */
TEST(timerfd_interval_counts_overruns_exactly)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    const int64_t iv = 3 * MS;
    int64_t first = clock_now(CLOCK_MONOTONIC) + 2 * MS;
    arm(fd, TFD_TIMER_ABSTIME, first, iv);
    struct timespec nap = ts_of(25 * MS);
    nanosleep(&nap, NULL);
    int64_t before = clock_now(CLOCK_MONOTONIC);
    uint64_t n = tfd_read(fd);
    int64_t after = clock_now(CLOCK_MONOTONIC);
    CHECK((int64_t)n >= due_by(before, first, iv));
    CHECK((int64_t)n <= due_by(after, first, iv));
    CHECK(n >= 8);
    /* reads keep counting from there: the total is the number of deadlines, none lost */
    uint64_t total = n;
    for (int k = 0; k < 5; k++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        CHECK_EQ(T.poll(&p, 1, WAIT_MS), 1);
        before = clock_now(CLOCK_MONOTONIC);
        total += tfd_read(fd);
        after = clock_now(CLOCK_MONOTONIC);
        CHECK((int64_t)total >= due_by(before, first, iv));
        CHECK((int64_t)total <= due_by(after, first, iv));
    }
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(ns_of(cur.it_interval), iv);
    CHECK(ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= iv);
    CLOSE(fd);
}

/* gettime forwards an expired periodic timer and keeps the overruns for the next read. */
TEST(timerfd_gettime_keeps_overruns)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    const int64_t iv = 2 * MS;
    int64_t first = clock_now(CLOCK_MONOTONIC) + iv;
    arm(fd, TFD_TIMER_ABSTIME, first, iv);
    struct timespec nap = ts_of(15 * MS);
    nanosleep(&nap, NULL);
    struct itimerspec cur;
    int64_t b1 = clock_now(CLOCK_MONOTONIC);
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    int64_t a1 = clock_now(CLOCK_MONOTONIC);
    CHECK(ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= iv);
    /* the next deadline it reports is first + k*iv for the k passed at the call */
    int64_t next = a1 + ns_of(cur.it_value);
    CHECK(next >= b1);
    int64_t before = clock_now(CLOCK_MONOTONIC);
    uint64_t n = tfd_read(fd);
    int64_t after = clock_now(CLOCK_MONOTONIC);
    CHECK((int64_t)n >= due_by(before, first, iv));
    CHECK((int64_t)n <= due_by(after, first, iv));
    CLOSE(fd);
}

TEST(timerfd_disarm_and_rearm_clear_pending)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    uint64_t v;
    arm(fd, 0, 3600000 * MS, 0);
    arm(fd, 0, 0, 0); /* disarmed before it fired */
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(ns_of(cur.it_value), 0);
    POLL_EXPECT(fd, POLLIN, 20, 0);
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    /* expired and unread, then disarmed: the pending expiration is gone */
    arm(fd, TFD_TIMER_ABSTIME, 1, 0);
    POLL_EXPECT(fd, POLLIN, WAIT_MS, POLLIN);
    arm(fd, 0, 0, 0);
    POLL_EXPECT(fd, POLLIN, 0, 0);
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    /* expired and unread, then re-armed far away: not readable */
    arm(fd, TFD_TIMER_ABSTIME, 1, 0);
    POLL_EXPECT(fd, POLLIN, WAIT_MS, POLLIN);
    arm(fd, 0, 3600000 * MS, 0);
    POLL_EXPECT(fd, POLLIN, 0, 0);
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    /* a zero value with an interval: disarmed, the interval is remembered */
    arm(fd, 0, 0, 7 * MS);
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    CHECK_EQ(ns_of(cur.it_value), 0);
    CHECK_EQ(ns_of(cur.it_interval), 7 * MS);
    POLL_EXPECT(fd, POLLIN, 20, 0);
    CLOSE(fd);
}

TEST(timerfd_settime_returns_old_value)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    struct itimerspec a = {.it_interval = {3, 0}, .it_value = {100, 0}}, old;
    memset(&old, 0x55, sizeof old);
    CHECK_EQ(T.timerfd_settime(fd, 0, &a, &old), 0);
    CHECK_EQ(ns_of(old.it_value), 0);
    CHECK_EQ(ns_of(old.it_interval), 0);
    struct itimerspec b = {.it_value = {200, 0}};
    CHECK_EQ(T.timerfd_settime(fd, 0, &b, &old), 0);
    CHECK(ns_of(old.it_value) > 0 && ns_of(old.it_value) <= 100000 * MS);
    CHECK_EQ(ns_of(old.it_interval), 3000 * MS);
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    CHECK(ns_of(cur.it_value) > 100000 * MS && ns_of(cur.it_value) <= 200000 * MS);
    CHECK_EQ(ns_of(cur.it_interval), 0);
    CLOSE(fd);
}

/* Level-triggered: readable from the expiry until read; never writable. */
TEST(timerfd_epoll_level_triggered)
{
    int ep = new_epoll();
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ADD(ep, fd, EPOLLIN | EPOLLOUT, 5);
    WAIT_NONE(ep);
    int64_t deadline = clock_now(CLOCK_MONOTONIC) + 10 * MS;
    arm(fd, TFD_TIMER_ABSTIME, deadline, 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5)); /* blocks until the expiry wakes it */
    CHECK(clock_now(CLOCK_MONOTONIC) >= deadline);
    WAIT_EXPECT(ep, EV(EPOLLIN, 5));
    CHECK_U64(tfd_read(fd), 1);
    WAIT_NONE(ep);
    CLOSE(fd);
    CLOSE(ep);
}

/* Edge-triggered: one edge per expiry; an unread periodic timer is not re-armed, so it wakes
 * its watchers once until read (the kernel's timerfd_tmrproc), then again after each read. */
TEST(timerfd_epoll_et_edge_per_expiry)
{
    int ep = new_epoll();
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ADD(ep, fd, EPOLLIN | EPOLLET, 6);
    int64_t first = clock_now(CLOCK_MONOTONIC) + 2 * MS;
    arm(fd, TFD_TIMER_ABSTIME, first, 2 * MS);
    WAIT_EXPECT(ep, EV(EPOLLIN, 6));
    CHECK(clock_now(CLOCK_MONOTONIC) >= first);
    WAIT_NONE_MS(ep, 20); /* deadlines pass, unread: no new edge */
    uint64_t n = tfd_read(fd);
    CHECK(n >= 2);
    for (int i = 0; i < 3; i++) {
        WAIT_EXPECT(ep, EV(EPOLLIN, 6));
        CHECK(tfd_read(fd) >= 1);
    }
    /* one-shot: one edge, then nothing */
    arm(fd, 0, 3 * MS, 0);
    WAIT_EXPECT(ep, EV(EPOLLIN, 6));
    WAIT_NONE_MS(ep, 20);
    CHECK_U64(tfd_read(fd), 1);
    WAIT_NONE(ep);
    CLOSE(fd);
    CLOSE(ep);
}

/* Several timers in one instance: each reports when due, not before. */
TEST(timerfd_epoll_several_timers)
{
    int ep = new_epoll();
    int fds[3];
    int64_t deadline[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
        ADD(ep, fds[i], EPOLLIN, (uint64_t)i);
        deadline[i] = clock_now(CLOCK_MONOTONIC) + (10 + 10 * i) * MS;
        arm(fds[i], TFD_TIMER_ABSTIME, deadline[i], 0);
    }
    int seen = 0;
    while (seen != 7) {
        struct epoll_event evs[4];
        int n = T.epoll_wait(ep, evs, 4, WAIT_MS);
        CHECK(n > 0);
        int64_t now = clock_now(CLOCK_MONOTONIC);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u64;
            CHECK(i >= 0 && i < 3);
            CHECK_EQ(evs[k].events, EPOLLIN);
            CHECK(now >= deadline[i]);
            CHECK_U64(tfd_read(fds[i]), 1);
            seen |= 1 << i;
        }
    }
    WAIT_NONE(ep);
    for (int i = 0; i < 3; i++) CLOSE(fds[i]);
    CLOSE(ep);
}

TEST(timerfd_poll_and_select)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    POLL_EXPECT(fd, POLLIN | POLLOUT, 0, 0); /* never writable */
    int64_t deadline = clock_now(CLOCK_MONOTONIC) + 10 * MS;
    arm(fd, TFD_TIMER_ABSTIME, deadline, 0);
    POLL_EXPECT(fd, POLLIN | POLLOUT, WAIT_MS, POLLIN);
    CHECK(clock_now(CLOCK_MONOTONIC) >= deadline);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    struct timeval tv = {0, 0};
    CHECK_EQ(T.select(fd + 1, &r, &w, NULL, &tv), 1);
    CHECK(FD_ISSET(fd, &r) && !FD_ISSET(fd, &w));
    CHECK_U64(tfd_read(fd), 1);
    FD_ZERO(&r);
    FD_SET(fd, &r);
    tv = (struct timeval){0, 0};
    CHECK_EQ(T.select(fd + 1, &r, NULL, NULL, &tv), 0);
    CLOSE(fd);
}

/* A read that blocks sleeps until the expiry (woken by nothing else). */
TEST(timerfd_blocking_read_waits_for_expiry)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    int64_t deadline = clock_now(CLOCK_MONOTONIC) + 30 * MS;
    arm(fd, TFD_TIMER_ABSTIME, deadline, 10 * MS);
    uint64_t n = tfd_read(fd);
    int64_t after = clock_now(CLOCK_MONOTONIC);
    CHECK(after >= deadline);
    CHECK((int64_t)n >= 1 && (int64_t)n <= due_by(after, deadline, 10 * MS));
    arm(fd, 0, 0, 0);
    CLOSE(fd);
}

#ifndef _WIN32
static void on_usr2(int sig) { (void)sig; }

struct interrupter {
    pid_t tid;
    atomic_int armed;
    pthread_t target;
};

static void *interrupt_later(void *arg)
{
    struct interrupter *in = arg;
    wait_until_blocked(in->tid, &in->armed);
    pthread_kill(in->target, SIGUSR2);
    return NULL;
}

#endif

/* A handler without SA_RESTART interrupts a blocking read: EINTR, the timer untouched. */
TEST(timerfd_blocking_read_interrupted)
{
#ifdef _WIN32
    FAIL("no POSIX signals on Windows: listed in windows_gaps.c, never run there");
#else
    struct sigaction sa = {.sa_handler = on_usr2}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    arm(fd, 0, 3600000 * MS, 0);
    struct interrupter in = {.tid = current_tid(), .target = pthread_self()};
    pthread_t th = start_thread(interrupt_later, &in);
    uint64_t v;
    atomic_store(&in.armed, 1);
    CHECK_ERR(T.read(fd, &v, sizeof v), EINTR);
    join_thread(th);
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(fd, &cur), 0);
    CHECK(ns_of(cur.it_value) > 0);
    CLOSE(fd);
#endif
}

TEST(timerfd_dup_fcntl_close)
{
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    int d = MUST(T.dup(fd));
    CHECK_EQ(T.fcntl(d, F_SETFL, O_NONBLOCK), 0); /* one open file: both numbers non-blocking */
    uint64_t v;
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    arm(d, TFD_TIMER_ABSTIME, 1, 0); /* settime through the dup, read through the original */
    POLL_EXPECT(fd, POLLIN, WAIT_MS, POLLIN);
    CLOSE(fd);
    CHECK_U64(tfd_read(d), 1); /* the dup lives on */
    int d2 = MUST(T.fcntl(d, F_DUPFD_CLOEXEC, 0));
    CHECK_EQ(T.fcntl(d2, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    struct itimerspec cur;
    CHECK_EQ(T.timerfd_gettime(d2, &cur), 0);
    CLOSE(d);
    arm(d2, 0, 2 * MS, 0);
    CHECK_EQ(T.fcntl(d2, F_SETFL, 0), 0);
    CHECK_U64(tfd_read(d2), 1);
    CLOSE(d2);
    CHECK_ERR(T.timerfd_gettime(d2, &cur), EBADF);
}

/* The timer is the open file's: after fork() an expiry read in the child is gone for the
 * parent, and a timer the child re-arms is re-armed for the parent. */
TEST(timerfd_shared_across_fork)
{
#ifdef _WIN32
    FAIL("no fork() on Windows: listed in windows_gaps.c, never run there");
#else
    int fd = new_timerfd(CLOCK_MONOTONIC, 0);
    int64_t deadline = clock_now(CLOCK_MONOTONIC) + 20 * MS;
    arm(fd, TFD_TIMER_ABSTIME, deadline, 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint64_t v = 0;
        if (T.read(fd, &v, sizeof v) != 8 || v != 1) _exit(1);
        if (clock_now(CLOCK_MONOTONIC) < deadline) _exit(2);
        struct itimerspec its = {.it_value = {0, 5 * MS}};
        if (T.timerfd_settime(fd, 0, &its, NULL) != 0) _exit(3);
        _exit(0);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_U64(tfd_read(fd), 1); /* the child's re-arm: blocking until it fires */
    CHECK_EQ(T.fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    uint64_t v;
    CHECK_ERR(T.read(fd, &v, sizeof v), EAGAIN);
    CLOSE(fd);
#endif
}

/* TFD_TIMER_CANCEL_ON_SET without a clock change: an ordinary absolute timer. (A set of the
 * realtime clock changes the machine's time: not done by the suite, see docs/timerfd.md.) */
TEST(timerfd_cancel_on_set_fires_normally)
{
    int fd = new_timerfd(CLOCK_REALTIME, 0);
    int64_t deadline = clock_now(CLOCK_REALTIME) + 10 * MS;
    arm(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, deadline, 0);
    CHECK_U64(tfd_read(fd), 1);
    CHECK(clock_now(CLOCK_REALTIME) >= deadline);
    CLOSE(fd);
}

struct sleeper {
    int ep;
    int64_t deadline;
    atomic_int armed;
    int got;
    int64_t woke;
};

static void *wait_in_thread(void *arg)
{
    struct sleeper *s = arg;
    struct epoll_event ev;
    atomic_store(&s->armed, 1);
    s->got = T.epoll_wait(s->ep, &ev, 1, WAIT_MS);
    s->woke = clock_now(CLOCK_MONOTONIC);
    return NULL;
}

/* A waiter blocked in epoll_wait on another thread is woken by the expiry alone. */
TEST(timerfd_wakes_blocked_waiter_in_other_thread)
{
    struct sleeper s = {.ep = new_epoll()};
    int fd = new_timerfd(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ADD(s.ep, fd, EPOLLIN | EPOLLET, 1);
    s.deadline = clock_now(CLOCK_MONOTONIC) + 20 * MS;
    arm(fd, TFD_TIMER_ABSTIME, s.deadline, 0);
    pthread_t th = start_thread(wait_in_thread, &s);
    join_thread(th);
    CHECK_EQ(s.got, 1);
    CHECK(s.woke >= s.deadline);
    CHECK_U64(tfd_read(fd), 1);
    CLOSE(fd);
    CLOSE(s.ep);
}
