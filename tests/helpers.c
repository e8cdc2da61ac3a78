/*
 * helpers.c — assertions and fixtures shared by the cases (see runner.h).
 */
#include "runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

/* ---- names ------------------------------------------------------------------------------- */

/* An if chain, not a switch: host constants are run-time values under Cosmopolitan. */
const char *errno_name(int err)
{
    static __thread char buf[32];
    if (err == 0) return "0";
#define NAME(e) \
    if (err == e) return #e;
    NAME(EPERM) NAME(ENOENT) NAME(ESRCH) NAME(EINTR)
    NAME(EIO) NAME(EBADF) NAME(EAGAIN) NAME(ENOMEM)
    NAME(EACCES) NAME(EFAULT) NAME(EBUSY) NAME(EEXIST)
    NAME(ENOTDIR) NAME(EISDIR) NAME(EINVAL) NAME(ENFILE)
    NAME(EMFILE) NAME(ENOSPC) NAME(ESPIPE) NAME(EPIPE)
    NAME(ERANGE) NAME(ENOSYS) NAME(ELOOP) NAME(ENOTSOCK)
    NAME(EOPNOTSUPP) NAME(EADDRINUSE) NAME(ECONNRESET) NAME(ENOTCONN)
    NAME(ETIMEDOUT) NAME(ECONNREFUSED) NAME(EINPROGRESS) NAME(EALREADY)
#undef NAME
    snprintf(buf, sizeof buf, "errno %d", err);
    return buf;
}

struct bit_name {
    uint32_t bit;
    const char *name;
};

/* "IN|OUT|0x40000": the named bits of m, then whatever is left in hex; "0" for none. */
static const char *bits_str(const struct bit_name *names, size_t n, uint32_t m, char *buf)
{
    buf[0] = 0;
    uint32_t rest = m;
    for (size_t i = 0; i < n; i++)
        if (m & names[i].bit) {
            if (buf[0]) strcat(buf, "|");
            strcat(buf, names[i].name);
            rest &= ~names[i].bit;
        }
    if (rest) sprintf(buf + strlen(buf), "%s0x%x", buf[0] ? "|" : "", (unsigned)rest);
    if (!buf[0]) strcpy(buf, "0");
    return buf;
}

const char *mask_str(uint32_t m, char *buf)
{
    static const struct bit_name names[] = {
        {EPOLLIN, "IN"},         {EPOLLPRI, "PRI"},       {EPOLLOUT, "OUT"},
        {EPOLLERR, "ERR"},       {EPOLLHUP, "HUP"},       {0x20, "NVAL"},
        {EPOLLRDNORM, "RDNORM"}, {EPOLLRDBAND, "RDBAND"}, {EPOLLWRNORM, "WRNORM"},
        {EPOLLWRBAND, "WRBAND"}, {EPOLLMSG, "MSG"},       {EPOLLRDHUP, "RDHUP"},
        {EPOLLEXCLUSIVE, "EXCLUSIVE"}, {EPOLLWAKEUP, "WAKEUP"}, {EPOLLONESHOT, "ONESHOT"},
        {(uint32_t)EPOLLET, "ET"},
    };
    return bits_str(names, sizeof names / sizeof names[0], m, buf);
}

const char *poll_str(int revents, char *buf)
{
    const struct bit_name names[] = { /* not static: host constants (Cosmopolitan) */
        {POLLIN, "POLLIN"}, {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"}, {POLLERR, "POLLERR"},
        {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"}, {POLLRDNORM, "POLLRDNORM"},
        {POLLRDBAND, "POLLRDBAND"}, {POLLWRNORM, "POLLWRNORM"}, {POLLWRBAND, "POLLWRBAND"},
        {0x2000, "POLLRDHUP"},
    };
    return bits_str(names, sizeof names / sizeof names[0], (uint16_t)revents, buf);
}

/* ---- checks ------------------------------------------------------------------------------ */

void check_fail_eq_(const char *file, int line, const char *a, const char *b, long long got,
                    long long want, int err)
{
    if (got == -1)
        fail_at(file, line, "%s == %s failed: got -1 (%s), expected %lld", a, b, errno_name(err),
                want);
    fail_at(file, line, "%s == %s failed: got %lld, expected %lld", a, b, got, want);
}

void check_fail_err_(const char *file, int line, const char *expr, long long got, int err,
                     int want_err)
{
    if (got == -1)
        fail_at(file, line, "%s: expected -1 %s, got -1 %s", expr, errno_name(want_err),
                errno_name(err));
    fail_at(file, line, "%s: expected -1 %s, got %lld", expr, errno_name(want_err), got);
}

long long must_(long long v, const char *expr, const char *file, int line)
{
    int err = errno; /* read first: nothing ran since expr */
    if (v < 0) fail_at(file, line, "%s failed: %lld (%s)", expr, v, errno_name(err));
    return v;
}

static void fmt_events(char *out, size_t sz, const struct epoll_event *evs, int n)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len + 80 < sz; i++) {
        char m[160];
        len += (size_t)snprintf(out + len, sz - len, "%s{%s, 0x%llx}", i ? " " : "",
                                mask_str(evs[i].events, m), (unsigned long long)evs[i].data.u64);
    }
}

static void fmt_want(char *out, size_t sz, const struct ev *w, int n)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len + 80 < sz; i++) {
        char m[160];
        len += (size_t)snprintf(out + len, sz - len, "%s{%s, 0x%llx}", i ? " " : "",
                                mask_str(w[i].events, m), (unsigned long long)w[i].data);
    }
}

void check_events_(const char *file, int line, const char *what, int n,
                   const struct epoll_event *evs, int ordered, const struct ev *want, int nwant)
{
    char got_s[400], want_s[400];
    if (n < 0) {
        fmt_want(want_s, sizeof want_s, want, nwant);
        fail_at(file, line, "%s: returned -1 (%s), expected %d event(s) [%s]", what,
                errno_name(errno), nwant, want_s);
    }
    int ok = n == nwant;
    int used[64] = {0};
    for (int i = 0; ok && i < n; i++) {
        int found = 0;
        for (int j = 0; j < nwant && !found; j++) {
            if (ordered && j != i) continue;
            if (used[j]) continue;
            if (evs[i].events == want[j].events && evs[i].data.u64 == want[j].data) {
                used[j] = 1;
                found = 1;
            }
        }
        ok = found;
    }
    if (ok) return;
    fmt_events(got_s, sizeof got_s, evs, n);
    fmt_want(want_s, sizeof want_s, want, nwant);
    fail_at(file, line, "%s: got %d event(s) [%s], expected %d%s [%s]", what, n, got_s, nwant,
            ordered ? " in this order" : "", want_s);
}

void wait_expect_(const char *file, int line, int ep, int maxevents, int timeout, int ordered,
                  const struct ev *want, int nwant)
{
    struct epoll_event evs[64];
    memset(evs, 0xa5, sizeof evs);
    if (maxevents > 64) maxevents = 64;
    char what[96];
    snprintf(what, sizeof what, "epoll_wait(%d, max %d, %d ms)", ep, maxevents, timeout);
    int n = T.epoll_wait(ep, evs, maxevents, timeout);
    check_events_(file, line, what, n, evs, ordered, want, nwant);
}

void ctl_at(const char *file, int line, int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    if (T.epoll_ctl(ep, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev) != 0) {
        char m[160];
        fail_at(file, line, "epoll_ctl(%d, %s, %d, %s, 0x%llx) = -1 %s", ep,
                op == EPOLL_CTL_ADD ? "ADD" : op == EPOLL_CTL_MOD ? "MOD" : "DEL", fd,
                mask_str(events, m), (unsigned long long)data, errno_name(errno));
    }
}

void poll_expect_(const char *file, int line, int fd, short events, int timeout, int want_n,
                  short want_revents)
{
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int n = T.poll(&p, 1, timeout);
    if (n != want_n || p.revents != want_revents) {
        char a[200], b[200], c[200];
        if (n < 0)
            fail_at(file, line, "poll(fd %d) = -1 %s, expected %d [%s]", fd, errno_name(errno),
                    want_n, poll_str(want_revents, b));
        fail_at(file, line, "poll(fd %d, %s): got %d [%s], expected %d [%s]", fd,
                poll_str(events, a), n, poll_str(p.revents, b), want_n, poll_str(want_revents, c));
    }
}

/* ---- fixtures ---------------------------------------------------------------------------- */

void make_pipe(int p[2], int flags)
{
    if (pipe2(p, flags) != 0) FAIL("pipe2: %s", errno_name(errno));
}

void set_nonblock(int fd)
{
    int fl = T.fcntl(fd, F_GETFL);
    if (fl < 0 || T.fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        FAIL("fcntl(%d, O_NONBLOCK): %s", fd, errno_name(errno));
}

#if defined(__COSMOPOLITAN__) && defined(__x86_64__) && __has_include(<libc/nt/synchronization.h>)
#include <libc/nt/synchronization.h>
/* Cosmopolitan 2.2's CLOCK_MONOTONIC on Windows (and macOS) counts the TSC's cycles divided by 3,
 * as if every CPU ran at 3 GHz: on this machine's 2.1 GHz one it runs at 0.7 times the speed of
 * the sleeps and timeouts it is compared with, and every timing case fails. The suite (a program
 * that may mend its libc) replaces that one routine of Cosmopolitan's, which the linker then
 * leaves out: Windows' performance counter there; elsewhere Cosmopolitan's own computation. The
 * library uses whatever clock_gettime() answers, the program's clock (docs/windows.md). */
int sys_clock_gettime_mono(struct timespec *ts);
static struct timespec mono_base;
static uint64_t mono_base_tick;
static void mono_init(void)
{
    clock_gettime(CLOCK_REALTIME, &mono_base);
    mono_base_tick = __builtin_ia32_rdtsc();
}
int sys_clock_gettime_mono(struct timespec *ts)
{
    if (IsWindows()) {
        int64_t n = 0, f = 1;
        QueryPerformanceFrequency(&f);
        QueryPerformanceCounter(&n);
        ts->tv_sec = (time_t)(n / f);
        ts->tv_nsec = (long)((n % f) * 1000000000 / f);
        return 0;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, mono_init);
    uint64_t ns = (__builtin_ia32_rdtsc() - mono_base_tick) / 3 + (uint64_t)mono_base.tv_nsec;
    ts->tv_sec = mono_base.tv_sec + (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
    return 0;
}
#endif

#if defined(__COSMOPOLITAN__)
/* Cosmopolitan on Windows (asked at run time): socketpair(AF_UNIX) is a named pipe pair that
 * refuses SOCK_NONBLOCK (EOPNOTSUPP), so the suite's pairs are loopback ones there, as the
 * library's own are (sys_cosmo.c) and as the mingw build's are (compat_win.c): TCP for a stream
 * pair, two connected UDP sockets for a datagram pair, non-blocking through anypoll_fcntl
 * (FIONBIO underneath). */
static int loopback_socket(int type, struct sockaddr_in *a)
{
    socklen_t len = sizeof *a;
    int s = socket(AF_INET, type, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)a, sizeof *a) == 0 &&
        getsockname(s, (struct sockaddr *)a, &len) == 0)
        return s;
    if (s >= 0) CLOSE(s);
    return -1;
}

static void loopback_socketpair(int sv[2], int type)
{
    struct sockaddr_in ax, ay;
    int x = -1, y = -1;
    if (type == SOCK_STREAM) {
        int l = loopback_socket(SOCK_STREAM, &ax);
        if (l < 0 || listen(l, 1) != 0) FAIL("loopback listen: %s", errno_name(errno));
        y = socket(AF_INET, SOCK_STREAM, 0);
        if (y < 0 || connect(y, (struct sockaddr *)&ax, sizeof ax) != 0)
            FAIL("loopback connect: %s", errno_name(errno));
        socklen_t len = sizeof ay;
        x = accept(l, (struct sockaddr *)&ay, &len);
        if (x < 0) FAIL("loopback accept: %s", errno_name(errno));
        CLOSE(l);
        int one = 1;
        setsockopt(x, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(y, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
        x = loopback_socket(type, &ax);
        y = loopback_socket(type, &ay);
        if (x < 0 || y < 0 || connect(x, (struct sockaddr *)&ay, sizeof ay) != 0 ||
            connect(y, (struct sockaddr *)&ax, sizeof ax) != 0)
            FAIL("loopback datagram pair: %s", errno_name(errno));
    }
    if (anypoll_fcntl(x, F_SETFL, O_NONBLOCK) != 0 || anypoll_fcntl(y, F_SETFL, O_NONBLOCK) != 0)
        FAIL("loopback pair, O_NONBLOCK: %s", errno_name(errno));
    sv[0] = x;
    sv[1] = y;
}
#endif

void make_socketpair(int sv[2], int type)
{
#if defined(__COSMOPOLITAN__)
    if (IsWindows()) {
        loopback_socketpair(sv, type);
        return;
    }
#endif
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv) != 0)
        FAIL("socketpair: %s", errno_name(errno));
}

int tcp_listener(int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s < 0) FAIL("socket: %s", errno_name(errno));
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) FAIL("bind: %s", errno_name(errno));
    if (listen(s, 16) != 0) FAIL("listen: %s", errno_name(errno));
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) != 0) FAIL("getsockname: %s", errno_name(errno));
    *fd = s;
    return ntohs(a.sin_port);
}

int tcp_connect_nb(int port)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0) FAIL("socket: %s", errno_name(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        FAIL("connect: %s", errno_name(errno));
    return c;
}

void tcp_pair(int *client, int *server)
{
    int l;
    int port = tcp_listener(&l);
    int c = tcp_connect_nb(port);
    struct pollfd p = {.fd = l, .events = POLLIN};
    if (poll(&p, 1, WAIT_MS) != 1) FAIL("tcp_pair: no connection to accept");
    int s = T.accept4(l, NULL, NULL, SOCK_NONBLOCK);
    if (s < 0) FAIL("accept4: %s", errno_name(errno));
    struct pollfd q = {.fd = c, .events = POLLOUT};
    if (poll(&q, 1, WAIT_MS) != 1 || !(q.revents & POLLOUT)) FAIL("tcp_pair: connect did not finish");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    CLOSE(l);
    *client = c;
    *server = s;
}

int udp_receiver(struct sockaddr_in *addr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s < 0) FAIL("socket: %s", errno_name(errno));
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0};
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)addr, sizeof *addr) != 0) FAIL("bind: %s", errno_name(errno));
    socklen_t len = sizeof *addr;
    if (getsockname(s, (struct sockaddr *)addr, &len) != 0) FAIL("getsockname: %s", errno_name(errno));
    return s;
}

int unused_tcp_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) FAIL("socket: %s", errno_name(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) FAIL("bind: %s", errno_name(errno));
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    CLOSE(s);
    return ntohs(a.sin_port);
}

void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    int64_t t0 = now_ns();
    while (n) {
        ssize_t w = T.write(fd, p, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd q = {.fd = fd, .events = POLLOUT};
            poll(&q, 1, 100);
            if (elapsed_ms(t0) > WAIT_MS) FAIL("write_all(%d): stuck", fd);
            continue;
        }
        if (w <= 0) FAIL("write(%d): %s", fd, errno_name(errno));
        p += w;
        n -= (size_t)w;
    }
}

void write_str(int fd, const char *s)
{
    ssize_t n = (ssize_t)strlen(s);
    ssize_t w = T.write(fd, s, (size_t)n);
    if (w != n) FAIL("write(%d, \"%s\") = %zd (%s)", fd, s, w, errno_name(errno));
}

size_t fill_fd(int fd)
{
    static char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t w = T.write(fd, buf, sizeof buf);
        if (w > 0) {
            total += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EAGAIN) break;
        FAIL("fill write(%d): %zd %s", fd, w, errno_name(errno));
    }
    /* the last partial page: keep going with small writes until EAGAIN */
    for (;;) {
        ssize_t w = T.write(fd, buf, 1);
        if (w == 1) {
            total++;
            continue;
        }
        if (w < 0 && errno == EAGAIN) break;
        FAIL("fill write(%d): %zd %s", fd, w, errno_name(errno));
    }
    return total;
}

size_t drain_fd(int fd)
{
    static char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t r = T.read(fd, buf, sizeof buf);
        if (r > 0) {
            total += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EAGAIN) return total;
        if (r == 0) return total;
        FAIL("drain read(%d): %s", fd, errno_name(errno));
    }
}

int new_eventfd(unsigned int initval, int flags)
{
    int fd = T.eventfd(initval, flags);
    if (fd < 0) FAIL("eventfd(%u, 0x%x): %s", initval, (unsigned)flags, errno_name(errno));
    return fd;
}

int new_epoll(void)
{
    int ep = T.epoll_create1(0);
    if (ep < 0) FAIL("epoll_create1(0): %s", errno_name(errno));
    return ep;
}

void efd_write(int fd, uint64_t v)
{
    ssize_t w = T.write(fd, &v, sizeof v);
    if (w != 8) FAIL("eventfd write(%d, %llu) = %zd (%s)", fd, (unsigned long long)v, w,
                     errno_name(errno));
}

uint64_t efd_read(int fd)
{
    uint64_t v = 0;
    ssize_t r = T.read(fd, &v, sizeof v);
    if (r != 8) FAIL("eventfd read(%d) = %zd (%s)", fd, r, errno_name(errno));
    return v;
}

/* ---- time and threads -------------------------------------------------------------------- */

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t elapsed_ms(int64_t since_ns) { return (now_ns() - since_ns) / 1000000; }

pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, fn, arg);
    if (e) FAIL("pthread_create: %s", errno_name(e));
    return t;
}

void join_thread(pthread_t t)
{
    int e = pthread_join(t, NULL);
    if (e) FAIL("pthread_join: %s", errno_name(e));
}

pid_t current_tid(void)
{
#if defined(__linux__)
    return gettid();
#else
    return 0;
#endif
}

/* Reads /proc/self/task/TID/NAME into buf, NUL-terminated: 0, or -1 where /proc does not tell. */
static int read_task_file(pid_t tid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return 0;
}

static int thread_state(pid_t tid)
{
    char buf[512];
    if (read_task_file(tid, "stat", buf, sizeof buf) < 0) return -1;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : -1;
}

/* Sleeping on a futex is not blocked in the call under test: it is a lock on the way there (an
 * emulation's engine lock, qemu-user's own locks), and a signal sent then finds the thread
 * before its wait. An unreadable wchan counts as "not a futex". */
static int in_futex(pid_t tid)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/wchan", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    return strncmp(buf, "futex", 5) == 0;
}

int wait_until_blocked(pid_t tid, atomic_int *armed)
{
    int64_t t0 = now_ns();
    struct timespec tick = {0, 200000};
    while (armed && !*armed) {
        if (elapsed_ms(t0) > 2000) return 0;
        nanosleep(&tick, NULL);
    }
    while (elapsed_ms(t0) < 2000) {
        int st = thread_state(tid);
        if (st < 0) return 0;
        if (st == 'S' && !in_futex(tid)) return 1;
        nanosleep(&tick, NULL);
    }
    return 0;
}

int blocked_untimed(pid_t tid, atomic_int *armed)
{
#if defined(__linux__) && defined(__x86_64__) && !defined(__COSMOPOLITAN__) /* no SYS_ numbers there */
    int64_t t0 = now_ns();
    struct timespec tick = {0, 200000};
    while (armed && !*armed) {
        if (elapsed_ms(t0) > 2000) return -1;
        nanosleep(&tick, NULL);
    }
    while (elapsed_ms(t0) < 2000) {
        char buf[256];
        if (read_task_file(tid, "syscall", buf, sizeof buf) < 0) return -1;
        /* "NR arg1 ... arg6 sp pc" while in a system call, "running" or "-1 sp pc" otherwise */
        long nr = -1;
        unsigned long long a[6] = {0};
        if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3],
                   &a[4], &a[5]) == 7 &&
            thread_state(tid) == 'S') {
            if (nr == SYS_ppoll) return a[2] == 0;              /* timespec pointer */
            if (nr == SYS_poll) return (int)a[2] < 0;           /* milliseconds */
            if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait) return (int)a[3] < 0;
#ifdef SYS_epoll_pwait2
            if (nr == SYS_epoll_pwait2) return a[3] == 0;      /* timespec pointer */
#endif
        }
        nanosleep(&tick, NULL);
    }
    return -1;
#else
    (void)tid, (void)armed;
    return -1;
#endif
}

void flag_set(struct flag *f)
{
    pthread_mutex_lock(&f->m);
    f->set = 1;
    pthread_cond_broadcast(&f->c);
    pthread_mutex_unlock(&f->m);
}

int flag_wait(struct flag *f, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&f->m);
    while (!f->set)
        if (pthread_cond_timedwait(&f->c, &f->m, &dl) != 0) break;
    int r = f->set;
    pthread_mutex_unlock(&f->m);
    return r;
}
