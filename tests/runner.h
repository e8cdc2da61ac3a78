/*
 * runner.h — the anypoll conformance suite: one set of cases, run against every target.
 *
 * A case is written once with TEST(name) { ... } in the tests/test_<feature>.c file of its
 * feature; it registers itself (a constructor adds it to the runner's list), so adding a case
 * is adding a function. Every epoll/eventfd call, and every read/write/close/dup/fcntl/poll of
 * an fd the case registers or that may be emulated, goes through the target `T`:
 *
 *     int ep = MUST(T.epoll_create1(0));
 *     struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
 *     CHECK_EQ(T.epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
 *     CHECK_ERR(T.epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EEXIST);
 *     WAIT_EXPECT(ep, EV(EPOLLIN, 7));      // exactly one event: IN, data 7
 *     WAIT_NONE(ep);                        // nothing
 *     CHECK_EQ(T.close(ep), 0);
 *
 * Creating sockets and pipes (socketpair, pipe2, socket, bind, listen, connect, setsockopt)
 * uses libc directly; shutdown() goes through T.shutdown where its wake-up matters (a plain
 * shutdown() still changes the socket, but the poll engine cannot see every wake-up of it). Each case runs in its own fork()ed process with a watchdog and
 * an fd-leak check; a failing CHECK reports `file:line: message` and ends that process, so a
 * case needs no cleanup on its failure paths (it must close everything on success).
 *
 * This header does not include <sys/epoll.h> itself: the constants and struct epoll_event come
 * from anypoll.h.
 */
#ifndef CONFORMANCE_RUNNER_H
#define CONFORMANCE_RUNNER_H

#include "anypoll.h"
#include "compat_cosmo.h" /* Cosmopolitan only */
#include "compat_macos.h" /* macOS only */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- targets ----------------------------------------------------------------------------- */

struct target {
    const char *name;
    int (*epoll_create)(int size);
    int (*epoll_create1)(int flags);
    int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *event);
    int (*epoll_wait)(int epfd, struct epoll_event *events, int maxevents, int timeout);
    int (*epoll_pwait)(int epfd, struct epoll_event *events, int maxevents, int timeout,
                       const sigset_t *sigmask);
    int (*epoll_pwait2)(int epfd, struct epoll_event *events, int maxevents,
                        const struct timespec *timeout, const sigset_t *sigmask);
    int (*eventfd)(unsigned int initval, int flags);
    int (*eventfd_read)(int fd, eventfd_t *value);
    int (*eventfd_write)(int fd, eventfd_t value);
    ssize_t (*read)(int fd, void *buf, size_t count);
    ssize_t (*write)(int fd, const void *buf, size_t count);
    ssize_t (*readv)(int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*writev)(int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*recv)(int fd, void *buf, size_t len, int flags);
    ssize_t (*send)(int fd, const void *buf, size_t len, int flags);
    ssize_t (*recvfrom)(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                        socklen_t *addrlen);
    ssize_t (*sendto)(int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *addr, socklen_t addrlen);
    ssize_t (*recvmsg)(int fd, struct msghdr *msg, int flags);
    ssize_t (*sendmsg)(int fd, const struct msghdr *msg, int flags);
    int (*accept)(int fd, struct sockaddr *addr, socklen_t *addrlen);
    int (*accept4)(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
    int (*shutdown)(int fd, int how);
    int (*close)(int fd);
    int (*dup)(int fd);
    int (*dup2)(int oldfd, int newfd);
    int (*dup3)(int oldfd, int newfd, int flags);
    int (*fcntl)(int fd, int cmd, ...);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout);
    int (*ppoll)(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                 const sigset_t *sigmask);
    int (*select)(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                  struct timeval *timeout);
    int (*pselect)(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                   const struct timespec *timeout, const sigset_t *sigmask);
    int (*timerfd_create)(int clockid, int flags);
    int (*timerfd_settime)(int fd, int flags, const struct itimerspec *new_value,
                           struct itimerspec *old_value);
    int (*timerfd_gettime)(int fd, struct itimerspec *curr_value);
    int (*signalfd)(int fd, const sigset_t *mask, int flags);
};

/* The target the current case runs against. */
extern struct target T;

/* target_kernel.c / target_anypoll.c */
extern const struct target target_kernel;
extern const struct target target_anypoll; /* .name is set by the runner */

/* ---- cases ------------------------------------------------------------------------------- */

struct test_case {
    const char *name;
    const char *file;
    void (*fn)(void);
    struct test_case *next;
    /* Kernel behaviour an emulation engine documents it does not reproduce (docs/design.md):
     * such a case runs on the kernel and the native engine, and on an emulation engine is listed
     * as `skip` with this reason — never counted as passed. */
    const char *emulation_gap;
    /* Kernel behaviour the poll engine reproduces only with its host's aids beyond POSIX
     * (src/host/aids.h; docs/design.md, "Host aids"): on the plain-POSIX target (poll-posix,
     * or ANYPOLL_HOST_AIDS=posix) listed as `skip` with this reason — never counted as passed. */
    const char *aids_gap;
};
void register_case(struct test_case *c);

#define TEST(name_) TEST_WITH_GAP(name_, NULL)
/* A case whose behaviour emulation engines document as different; `reason_` says how. */
#define TEST_EMULATION_GAP(name_, reason_) TEST_WITH_GAP(name_, reason_)
/* A case that needs the host's aids beyond POSIX; `reason_` says what a program observes
 * without them. */
#define TEST_AIDS_GAP(name_, reason_) TEST_WITH_GAPS(name_, NULL, reason_)
#define TEST_WITH_GAP(name_, gap_) TEST_WITH_GAPS(name_, gap_, NULL)
#define TEST_WITH_GAPS(name_, gap_, aids_gap_)                                                     \
    static void test_##name_(void);                                                                \
    static struct test_case case_##name_ = {#name_, __FILE__, test_##name_, 0, gap_, aids_gap_};   \
    __attribute__((constructor)) static void register_##name_(void)                                \
    {                                                                                              \
        register_case(&case_##name_);                                                              \
    }                                                                                              \
    static void test_##name_(void)

/* ---- failing ----------------------------------------------------------------------------- */

/* Reports `file:line: message` for the running case and ends its process (from any thread or a
 * forked child of the case). */
#if defined(__MINGW32__) /* mingw's printf archetype is Microsoft's; the suite uses C99's */
#define RUNNER_PRINTF_ gnu_printf
#else
#define RUNNER_PRINTF_ printf
#endif
__attribute__((noreturn, format(RUNNER_PRINTF_, 3, 4))) void fail_at(const char *file, int line,
                                                             const char *fmt, ...);
#define FAIL(...) fail_at(__FILE__, __LINE__, __VA_ARGS__)

const char *errno_name(int err);
/* "IN|OUT|RDHUP"; buf of at least 160 bytes. */
const char *mask_str(uint32_t mask, char *buf);
const char *poll_str(int revents, char *buf);

void check_fail_eq_(const char *file, int line, const char *a, const char *b, long long got,
                    long long want, int err) __attribute__((noreturn));
void check_fail_err_(const char *file, int line, const char *expr, long long got, int err,
                     int want_err) __attribute__((noreturn));
long long must_(long long v, const char *expr, const char *file, int line);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) FAIL("CHECK(%s) failed", #cond);                                              \
    } while (0)

/* a == b as integers; on failure prints both and, when a is -1, errno. */
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a);                                                             \
        int e_ = errno;                                                                            \
        long long b_ = (long long)(b);                                                             \
        if (a_ != b_) check_fail_eq_(__FILE__, __LINE__, #a, #b, a_, b_, e_);                      \
    } while (0)

#define CHECK_U64(a, b)                                                                            \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        if (a_ != b_)                                                                              \
            FAIL("%s == %s failed: got 0x%llx, expected 0x%llx", #a, #b, (unsigned long long)a_,  \
                 (unsigned long long)b_);                                                          \
    } while (0)

/* expr returns -1 with errno == err. */
#define CHECK_ERR(expr, err)                                                                       \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long long r_ = (long long)(expr);                                                          \
        int e_ = errno;                                                                            \
        if (r_ != -1 || e_ != (err)) check_fail_err_(__FILE__, __LINE__, #expr, r_, e_, (err));    \
    } while (0)

/* Value of expr, which must be >= 0 (an fd, a count). */
#define MUST(expr) ((int)must_((long long)(expr), #expr, __FILE__, __LINE__))

/* ---- events ------------------------------------------------------------------------------ */

struct ev {
    uint32_t events;
    uint64_t data;
};
#define EV(mask, data) {(uint32_t)(mask), (uint64_t)(data)}

#define WAIT_MS 3000 /* generous bound for waits that expect events */
#define NONE_MS 10   /* how long "nothing" is watched for */

/* Waits with epoll_wait(ep, buf, maxevents, timeout) and asserts the result is exactly the
 * expected list: count, masks and all 64 bits of data (any order, or the given order). */
void wait_expect_(const char *file, int line, int ep, int maxevents, int timeout, int ordered,
                  const struct ev *want, int nwant);
#define EV_LIST_(...) ((const struct ev[]){__VA_ARGS__})
#define EV_COUNT_(...) ((int)(sizeof EV_LIST_(__VA_ARGS__) / sizeof(struct ev)))
#define WAIT_EXPECT(ep, ...)                                                                       \
    wait_expect_(__FILE__, __LINE__, (ep), 64, WAIT_MS, 0, EV_LIST_(__VA_ARGS__),                  \
                 EV_COUNT_(__VA_ARGS__))
#define WAIT_EXPECT_MAX(ep, maxevents, ...)                                                        \
    wait_expect_(__FILE__, __LINE__, (ep), (maxevents), WAIT_MS, 0, EV_LIST_(__VA_ARGS__),         \
                 EV_COUNT_(__VA_ARGS__))
#define WAIT_EXPECT_ORDER(ep, maxevents, ...)                                                      \
    wait_expect_(__FILE__, __LINE__, (ep), (maxevents), WAIT_MS, 1, EV_LIST_(__VA_ARGS__),         \
                 EV_COUNT_(__VA_ARGS__))
#define WAIT_NONE(ep) wait_expect_(__FILE__, __LINE__, (ep), 64, NONE_MS, 0, 0, 0)
#define WAIT_NONE_MS(ep, ms) wait_expect_(__FILE__, __LINE__, (ep), 64, (ms), 0, 0, 0)
/* Asserts an already-obtained result (n from a wait into evs). */
void check_events_(const char *file, int line, const char *what, int n, const struct epoll_event *evs,
                   int ordered, const struct ev *want, int nwant);
#define CHECK_EVENTS(n, evs, ...)                                                                  \
    check_events_(__FILE__, __LINE__, "wait", (n), (evs), 0, EV_LIST_(__VA_ARGS__),                \
                  EV_COUNT_(__VA_ARGS__))

/* epoll_ctl wrappers that must succeed. */
void ctl_at(const char *file, int line, int ep, int op, int fd, uint32_t events, uint64_t data);
#define ADD(ep, fd, events, data) ctl_at(__FILE__, __LINE__, (ep), EPOLL_CTL_ADD, (fd), (events), (data))
#define MOD(ep, fd, events, data) ctl_at(__FILE__, __LINE__, (ep), EPOLL_CTL_MOD, (fd), (events), (data))
#define DEL(ep, fd) ctl_at(__FILE__, __LINE__, (ep), EPOLL_CTL_DEL, (fd), 0, 0)

/* Checks revents of a one-fd T.poll(fd, events, timeout). */
void poll_expect_(const char *file, int line, int fd, short events, int timeout, int want_n,
                  short want_revents);
#define POLL_EXPECT(fd, events, timeout, want_revents)                                             \
    poll_expect_(__FILE__, __LINE__, (fd), (events), (timeout), (want_revents) ? 1 : 0,           \
                 (want_revents))

/* ---- fixtures (helpers.c) ---------------------------------------------------------------- */

/* Closes through the target and checks it worked. */
#define CLOSE(fd) CHECK_EQ(T.close(fd), 0)

void make_pipe(int p[2], int flags);                  /* pipe2 */
void make_socketpair(int sv[2], int type);            /* AF_UNIX, O_NONBLOCK on both ends */
/* A connected TCP pair over 127.0.0.1, both ends non-blocking. */
void tcp_pair(int *client, int *server);
/* A listening TCP socket on 127.0.0.1, ephemeral port (non-blocking); returns the port. */
int tcp_listener(int *fd);
int tcp_connect_nb(int port);                         /* non-blocking connect, in progress */
struct sockaddr_in;
int udp_receiver(struct sockaddr_in *addr); /* non-blocking UDP socket bound on loopback */
int unused_tcp_port(void);                            /* a port nobody listens on */
void set_nonblock(int fd);
void write_all(int fd, const void *buf, size_t n);    /* through T.write, retrying EAGAIN */
void write_str(int fd, const char *s);                /* T.write of strlen(s), must be whole */
size_t fill_fd(int fd);                               /* T.write until EAGAIN; bytes written */
size_t drain_fd(int fd);                              /* T.read until EAGAIN; bytes read */
int new_eventfd(unsigned int initval, int flags);     /* T.eventfd that must succeed */
int new_epoll(void);                                  /* T.epoll_create1(0) that must succeed */
void efd_write(int fd, uint64_t v);                   /* 8-byte T.write that must succeed */
uint64_t efd_read(int fd);                            /* 8-byte T.read that must succeed */

/* Time (CLOCK_MONOTONIC). */
int64_t now_ns(void);
int64_t elapsed_ms(int64_t since_ns);

/* Threads. */
pthread_t start_thread(void *(*fn)(void *), void *arg);
void join_thread(pthread_t t);
pid_t current_tid(void);
/* Waits (bounded, ~2 s) until thread `tid` sleeps in the kernel after having set *armed to
 * non-zero; returns 1 if it was seen sleeping, 0 if that cannot be observed here. */
int wait_until_blocked(pid_t tid, atomic_int *armed);
/* Waits (bounded, ~2 s) until thread `tid` sleeps in a waiting system call (poll, ppoll,
 * epoll_wait, epoll_pwait, epoll_pwait2) after having set *armed; returns 1 if that call has no
 * time limit (a NULL timespec, a negative timeout), 0 if it has one — a timer could end it —,
 * and -1 if it cannot be observed here (no /proc/self/task/N/syscall, another architecture). */
int blocked_untimed(pid_t tid, atomic_int *armed);

/* A one-shot flag threads can wait on with a bound. */
struct flag {
    pthread_mutex_t m;
    pthread_cond_t c;
    int set;
};
#define FLAG_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}
void flag_set(struct flag *f);
int flag_wait(struct flag *f, int timeout_ms); /* 1 when set within the bound */

#endif
