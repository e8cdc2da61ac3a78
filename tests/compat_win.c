/*
 * compat_win.c — POSIX socket calls over Winsock for the Windows build of the suite
 * (see compat_win.h). Windows only.
 */
#ifdef _WIN32
#include "compat_win.h"

#include <errno.h>
/* here the names are Winsock's own */
#undef socket
#undef bind
#undef listen
#undef connect
#undef getsockname
#undef getsockopt
#undef setsockopt
#undef shutdown
#include <string.h>

#undef clock_gettime
int cw_clock_gettime(clockid_t id, struct timespec *ts)
{
    return clock_gettime(id == CLOCK_BOOTTIME ? CLOCK_MONOTONIC : id, ts);
}

static int wsa_errno(void)
{
    switch (WSAGetLastError()) {
    case WSAEWOULDBLOCK: return EINPROGRESS; /* only connect() reports it here */
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAENOTCONN: return ENOTCONN;
    case WSAEINVAL: return EINVAL;
    case WSAENOTSOCK: return EBADF;
    case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEISCONN: return EISCONN;
    case WSAEALREADY: return EALREADY;
    default: return EIO;
    }
}

#define RET(x) ((x) == SOCKET_ERROR ? (errno = wsa_errno(), -1) : 0)

static void startup(void)
{
    static int done;
    if (!done) {
        WSADATA d;
        WSAStartup(MAKEWORD(2, 2), &d);
        done = 1;
    }
}

int cw_socket(int domain, int type, int protocol)
{
    startup();
    SOCKET s = socket(domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol);
    if (s == INVALID_SOCKET) return errno = wsa_errno(), -1;
    if (type & SOCK_NONBLOCK) anypoll_fcntl((int)s, F_SETFL, O_NONBLOCK);
    return (int)s;
}

int cw_bind(int s, const struct sockaddr *a, socklen_t len) { return RET(bind((SOCKET)s, a, len)); }
int cw_listen(int s, int backlog) { return RET(listen((SOCKET)s, backlog)); }
int cw_connect(int s, const struct sockaddr *a, socklen_t len)
{
    return RET(connect((SOCKET)s, a, len));
}
int cw_getsockname(int s, struct sockaddr *a, socklen_t *len)
{
    return RET(getsockname((SOCKET)s, a, len));
}
int cw_getsockopt(int s, int level, int name, void *v, socklen_t *len)
{
    int r = getsockopt((SOCKET)s, level, name, v, len);
    if (r == 0 && level == SOL_SOCKET && name == SO_ERROR && *(int *)v) {
        /* Winsock's error codes, as Linux's errno */
        int *e = v;
        WSASetLastError(*e);
        *e = *e == WSAECONNREFUSED ? ECONNREFUSED : *e == WSAECONNRESET ? ECONNRESET : wsa_errno();
    }
    return RET(r);
}
int cw_setsockopt(int s, int level, int name, const void *v, socklen_t len)
{
    return RET(setsockopt((SOCKET)s, level, name, v, len));
}
int cw_shutdown(int s, int how) { return RET(shutdown((SOCKET)s, how)); }

static int loopback(int type, SOCKET *out, struct sockaddr_in *a)
{
    int len = sizeof *a;
    *out = socket(AF_INET, type, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return *out != INVALID_SOCKET && !bind(*out, (struct sockaddr *)a, sizeof *a) &&
           !getsockname(*out, (struct sockaddr *)a, &len);
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    (void)domain, (void)protocol;
    startup();
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    SOCKET x = INVALID_SOCKET, y = INVALID_SOCKET, l = INVALID_SOCKET;
    struct sockaddr_in ax, ay;
    if (base == SOCK_STREAM) {
        if (!loopback(SOCK_STREAM, &l, &ax) || listen(l, 1)) goto fail;
        y = socket(AF_INET, SOCK_STREAM, 0);
        if (y == INVALID_SOCKET || connect(y, (struct sockaddr *)&ax, sizeof ax)) goto fail;
        x = accept(l, NULL, NULL);
        if (x == INVALID_SOCKET) goto fail;
        closesocket(l);
        BOOL one = TRUE;
        setsockopt(x, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof one);
        setsockopt(y, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof one);
    } else if (base == SOCK_DGRAM) {
        if (!loopback(SOCK_DGRAM, &x, &ax) || !loopback(SOCK_DGRAM, &y, &ay) ||
            connect(x, (struct sockaddr *)&ay, sizeof ay) || connect(y, (struct sockaddr *)&ax, sizeof ax))
            goto fail;
    } else {
        errno = EPROTONOSUPPORT;
        return -1;
    }
    sv[0] = (int)x;
    sv[1] = (int)y;
    if (type & SOCK_NONBLOCK) {
        anypoll_fcntl(sv[0], F_SETFL, O_NONBLOCK);
        anypoll_fcntl(sv[1], F_SETFL, O_NONBLOCK);
    }
    return 0;
fail:
    errno = wsa_errno();
    if (l != INVALID_SOCKET) closesocket(l);
    if (x != INVALID_SOCKET) closesocket(x);
    if (y != INVALID_SOCKET) closesocket(y);
    return -1;
}

int pipe2(int p[2], int flags)
{
    /* p[0] reads what p[1] writes, like a pipe; cases that depend on what only pipes do are
     * listed in windows_gaps.c */
    return socketpair(AF_INET, SOCK_STREAM | ((flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0, p);
}

int mkfifo(const char *path, int mode)
{
    (void)path, (void)mode;
    errno = ENOSYS;
    return -1;
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms) { return anypoll_poll(fds, n, timeout_ms); }
#endif
