/*
 * sys_win.c — the host's own calls on Windows (sys room): what sys.h promises, for sockets.
 *
 * An fd here is a SOCKET value (docs/windows.md); anypoll's own descriptors never reach this
 * file (the engine owns them). Winsock reports errors through WSAGetLastError(): they are
 * translated to the errno Linux would give. Compiled on Windows only.
 */
#ifdef _WIN32
#include "host/sys.h"
#include "host/sys_win.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <mswsock.h>
#include <pthread.h>
#include <time.h>
#include <windows.h>

int ap_win_errno(int wsa)
{
    switch (wsa) {
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINTR: return EINTR;
    case WSAEBADF:
    case WSAENOTSOCK: return EBADF;
    case WSAEFAULT: return EFAULT;
    case WSAEINVAL: return EINVAL;
    case WSAEMFILE: return EMFILE;
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEALREADY: return EALREADY;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAEOPNOTSUPP: return EOPNOTSUPP;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAENETDOWN: return ENETDOWN;
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAECONNRESET: return ECONNRESET;
    case WSAENOBUFS: return ENOBUFS;
    case WSAEISCONN: return EISCONN;
    case WSAENOTCONN: return ENOTCONN;
    case WSAESHUTDOWN: return EPIPE;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAEHOSTUNREACH: return EHOSTUNREACH;
    case WSANOTINITIALISED: return EBADF;
    default: return EIO;
    }
}

static ssize_t fail(void)
{
    errno = ap_win_errno(WSAGetLastError());
    return -1;
}

/* Winsock must be started before the first socket call; programs normally do it, but
 * anypoll's own calls may come first. */
void ap_win_startup(void)
{
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    BOOL pending;
    if (InitOnceBeginInitialize(&once, 0, &pending, NULL) && pending) {
        WSADATA d;
        WSAStartup(MAKEWORD(2, 2), &d);
        InitOnceComplete(&once, 0, NULL);
    }
}

/* O_NONBLOCK and FD_CLOEXEC as anypoll set them (Winsock cannot be asked): a small table of
 * the sockets that have either. */
#define FL_NONBLOCK 1
#define FL_CLOEXEC 2
static SRWLOCK fl_lock = SRWLOCK_INIT;
static struct fl {
    SOCKET s;
    int flags;
} *fl_set;
static int fl_n, fl_cap;

static int fl_find(SOCKET s)
{
    for (int i = 0; i < fl_n; i++)
        if (fl_set[i].s == s) return i;
    return -1;
}

static void fl_note(SOCKET s, int mask, int on)
{
    AcquireSRWLockExclusive(&fl_lock);
    int i = fl_find(s);
    if (i < 0 && on) {
        if (fl_n == fl_cap) {
            int cap = fl_cap ? 2 * fl_cap : 64;
            struct fl *p = realloc(fl_set, (size_t)cap * sizeof *p);
            if (p) fl_set = p, fl_cap = cap;
        }
        if (fl_n < fl_cap) fl_set[i = fl_n++] = (struct fl){s, 0};
    }
    if (i >= 0) {
        fl_set[i].flags = on ? fl_set[i].flags | mask : fl_set[i].flags & ~mask;
        if (!fl_set[i].flags) fl_set[i] = fl_set[--fl_n];
    }
    ReleaseSRWLockExclusive(&fl_lock);
}

static int fl_get(SOCKET s)
{
    AcquireSRWLockShared(&fl_lock);
    int i = fl_find(s), f = i >= 0 ? fl_set[i].flags : 0;
    ReleaseSRWLockShared(&fl_lock);
    return f;
}

int ap_win_nonblocking(int fd) { return (fl_get((SOCKET)fd) & FL_NONBLOCK) != 0; }

int ap_win_is_socket(int fd)
{
    int type, len = sizeof type;
    int err = WSAGetLastError();
    int ok = getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
    WSASetLastError(err);
    return ok;
}

/* A datagram longer than the buffer: Winsock fills the buffer, drops the rest (unless peeking)
 * and fails with WSAEMSGSIZE; Linux returns the bytes it copied, which are the whole buffer. */
static ssize_t received(int r, size_t filled)
{
    if (r != SOCKET_ERROR) return r;
    return WSAGetLastError() == WSAEMSGSIZE ? (ssize_t)filled : fail();
}

ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags)
{
    ap_win_startup();
    int len = n > INT_MAX ? INT_MAX : (int)n;
    return received(recv((SOCKET)fd, buf, len, flags), (size_t)len);
}

ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags)
{
    ap_win_startup();
    int r = send((SOCKET)fd, buf, n > INT_MAX ? INT_MAX : (int)n, flags);
    return r == SOCKET_ERROR ? fail() : r;
}

ssize_t ap_sys_read(int fd, void *buf, size_t n) { return ap_sys_recv(fd, buf, n, 0); }
ssize_t ap_sys_write(int fd, const void *buf, size_t n) { return ap_sys_send(fd, buf, n, 0); }

ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    ap_win_startup();
    int len = n > INT_MAX ? INT_MAX : (int)n;
    return received(recvfrom((SOCKET)fd, buf, len, flags, a, al), (size_t)len);
}

ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    ap_win_startup();
    int r = sendto((SOCKET)fd, buf, n > INT_MAX ? INT_MAX : (int)n, flags, a, al);
    return r == SOCKET_ERROR ? fail() : r;
}

#define MAX_IOV 64

static int to_wsabuf(const struct iovec *iov, int n, WSABUF *b)
{
    if (n < 0 || n > MAX_IOV) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        b[i].buf = iov[i].iov_base;
        b[i].len = (ULONG)iov[i].iov_len;
    }
    return 0;
}

int ap_sys_shutdown(int fd, int how)
{
    ap_win_startup();
    return shutdown((SOCKET)fd, how) == SOCKET_ERROR ? (int)fail() : 0; /* SD_* == SHUT_* */
}

ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
    ap_win_startup();
    WSABUF b[MAX_IOV];
    if (!m) return errno = EFAULT, -1;
    if (to_wsabuf(m->msg_iov, (int)m->msg_iovlen, b) < 0) return -1;
    DWORD got = 0, fl = (DWORD)flags;
    INT alen = (INT)m->msg_namelen;
    int r = WSARecvFrom((SOCKET)fd, b, (DWORD)m->msg_iovlen, &got, &fl, m->msg_name,
                        m->msg_name ? &alen : NULL, NULL, NULL);
    int truncated = r == SOCKET_ERROR && WSAGetLastError() == WSAEMSGSIZE;
    if (r == SOCKET_ERROR && !truncated) return fail();
    if (truncated)
        for (size_t i = got = 0; i < m->msg_iovlen; i++) got += b[i].len;
    m->msg_namelen = m->msg_name ? (socklen_t)alen : 0;
    m->msg_controllen = 0;
    m->msg_flags = truncated ? MSG_TRUNC : 0;
    return (ssize_t)got;
}

ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
    ap_win_startup();
    WSABUF b[MAX_IOV];
    if (!m) return errno = EFAULT, -1;
    if (to_wsabuf(m->msg_iov, (int)m->msg_iovlen, b) < 0) return -1;
    DWORD sent = 0;
    int r = WSASendTo((SOCKET)fd, b, (DWORD)m->msg_iovlen, &sent, (DWORD)flags, m->msg_name,
                      (int)m->msg_namelen, NULL, NULL);
    return r == SOCKET_ERROR ? fail() : (ssize_t)sent;
}

ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n)
{
    struct msghdr m = {0};
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)n;
    return ap_sys_recvmsg(fd, &m, 0);
}

ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n)
{
    struct msghdr m = {0};
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)n;
    return ap_sys_sendmsg(fd, &m, 0);
}

int ap_sys_accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
    ap_win_startup();
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return errno = EINVAL, -1;
    SOCKET s = accept((SOCKET)fd, a, al);
    if (s == INVALID_SOCKET) return (int)fail();
    /* Winsock's accepted socket inherits the listener's non-blocking mode; Linux's does not */
    u_long nb = (flags & SOCK_NONBLOCK) ? 1 : 0;
    ioctlsocket(s, FIONBIO, &nb);
    fl_note(s, FL_NONBLOCK, (int)nb);
    fl_note(s, FL_CLOEXEC, (flags & SOCK_CLOEXEC) != 0);
    return (int)s;
}

int ap_sys_close(int fd)
{
    ap_win_startup();
    int r = closesocket((SOCKET)fd) == SOCKET_ERROR ? (int)fail() : 0;
    if (r == 0) fl_note((SOCKET)fd, FL_NONBLOCK | FL_CLOEXEC, 0);
    return r;
}


int ap_sys_dup(int fd)
{
    ap_win_startup();
    errno = ap_win_is_socket(fd) ? EOPNOTSUPP : EBADF; /* a SOCKET has no dup(): docs/windows.md */
    return -1;
}

int ap_sys_dup3(int oldfd, int newfd, int flags)
{
    (void)newfd, (void)flags;
    return ap_sys_dup(oldfd);
}

int ap_sys_fcntl(int fd, int cmd, intptr_t arg)
{
    ap_win_startup();
    if (!ap_win_is_socket(fd)) return errno = EBADF, -1;
    switch (cmd) {
    case F_GETFD: return (fl_get((SOCKET)fd) & FL_CLOEXEC) ? FD_CLOEXEC : 0;
    case F_SETFD: fl_note((SOCKET)fd, FL_CLOEXEC, (arg & FD_CLOEXEC) != 0); return 0;
    case F_GETFL: return O_RDWR | ((fl_get((SOCKET)fd) & FL_NONBLOCK) ? O_NONBLOCK : 0);
    case F_SETFL: {
        u_long nb = (arg & O_NONBLOCK) ? 1 : 0;
        if (ioctlsocket((SOCKET)fd, FIONBIO, &nb) != 0) return (int)fail();
        fl_note((SOCKET)fd, FL_NONBLOCK, (int)nb);
        return 0;
    }
    default: return errno = EINVAL, -1;
    }
}

int ap_sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    (void)mask; /* Windows has no signals to mask */
    ap_win_startup();
    int ms = -1;
    if (ts) {
        int64_t t = (int64_t)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
        ms = t > INT_MAX ? INT_MAX : (int)t;
    }
    /* Negative fds are ignored, as on Linux; WSAPoll refuses a set with none left (WSAEINVAL,
     * at once), where Linux sleeps for the timeout: a plain sleep then. */
    nfds_t live = fds ? 0 : n; /* no array: WSAPoll's own EFAULT */
    for (nfds_t i = 0; fds && i < n; i++) {
        if ((int)fds[i].fd >= 0) live++;
        else fds[i].revents = 0;
    }
    if (live == 0) {
        Sleep(ms < 0 ? INFINITE : (DWORD)ms);
        return 0;
    }
    int r = WSAPoll(fds, (ULONG)n, ms);
    return r == SOCKET_ERROR ? (int)fail() : r;
}

int ap_sys_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    ap_win_startup();
    if (!(r && r->fd_count) && !(w && w->fd_count) && !(x && x->fd_count)) {
        /* Winsock refuses empty sets: a plain sleep */
        Sleep(tv ? (DWORD)(tv->tv_sec * 1000 + tv->tv_usec / 1000) : INFINITE);
        return 0;
    }
    int rc = select(n, r, w, x, tv);
    return rc == SOCKET_ERROR ? (int)fail() : rc;
}

int ap_sys_pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *mask)
{
    (void)mask;
    struct timeval tv, *tvp = NULL;
    if (ts) {
        tv.tv_sec = (long)ts->tv_sec;
        tv.tv_usec = (long)((ts->tv_nsec + 999) / 1000);
        tvp = &tv;
    }
    return ap_sys_select(n, r, w, x, tvp);
}

long ap_sys_queue_size(int fd, enum ap_queue what)
{
    (void)what;
    u_long n = 0;
    int err = WSAGetLastError();
    long r = ioctlsocket((SOCKET)fd, FIONREAD, &n) == 0 ? (long)n : -1;
    WSASetLastError(err);
    return r;
}

int64_t ap_sys_now_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER c;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    return (int64_t)((double)c.QuadPart * 1e9 / (double)freq.QuadPart);
}

/* An auto-reset event: a ring while the thread is awake makes its next wait return at once. */
int ap_sys_bell_open(struct ap_bell *b)
{
    b->event = CreateEventW(NULL, FALSE, FALSE, NULL);
    return b->event ? 0 : (errno = EMFILE, -1);
}

void ap_sys_bell_close(struct ap_bell *b)
{
    CloseHandle(b->event);
    b->event = NULL;
}

void ap_sys_bell_ring(struct ap_bell *b) { SetEvent(b->event); }
void ap_sys_bell_clear(struct ap_bell *b) { ResetEvent(b->event); }

void ap_sys_bell_wait(struct ap_bell *b, int64_t timeout_ns)
{
    DWORD ms = INFINITE;
    if (timeout_ns >= 0) { /* rounded up: woken before a deadline, the thread finds it not due */
        int64_t m = (timeout_ns + 999999) / 1000000;
        ms = m > 0x7ffffffe ? 0x7ffffffe : (DWORD)m;
    }
    WaitForSingleObject(b->event, ms);
}

/* mingw-w64's clocks (winpthreads): CLOCK_MONOTONIC is QueryPerformanceCounter, CLOCK_REALTIME
 * the system time; the program reads the same with clock_gettime, so "never early" holds against
 * its own readings. CLOCK_BOOTTIME is served by CLOCK_MONOTONIC (docs/timerfd.md). */
int64_t ap_sys_clock_ns(int clockid)
{
    struct timespec ts;
    clock_gettime(clockid == CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* No fork() on Windows: nothing is shared with a child, and nothing is to be done around it. */
void *ap_sys_shared_alloc(size_t n) { return calloc(1, n); }
void ap_sys_shared_free(void *p, size_t n)
{
    (void)n;
    free(p);
}
void ap_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare, (void)parent, (void)child;
}

/* No POSIX signals to keep away from it. */
int ap_sys_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &a, fn, arg);
    pthread_attr_destroy(&a);
    return rc;
}

/* CLOCK_*_ALARM need CAP_WAKE_ALARM; these timers cannot wake a sleeping machine and Windows has
 * no such capability: refused as for an unprivileged Linux process. */
int ap_sys_privileged(void) { return 0; }
#endif
