/*
 * compat_win.h — the POSIX socket calls the suite's cases and helpers make, over Winsock
 * (Windows build of the suite only; mk/windows.mk puts tests/win/ first on the include path,
 * whose <poll.h>, <sys/socket.h>, <arpa/inet.h>... all lead here).
 *
 * A socket is its SOCKET value as an int (docs/windows.md). Calls return -1 with the errno
 * Linux would give; SOCK_NONBLOCK is honoured by socket(); socketpair() gives a loopback TCP
 * pair (SOCK_STREAM) or a connected loopback UDP pair (SOCK_DGRAM), and pipe2() a TCP pair too
 * (Windows pipes cannot be polled).
 */
#ifndef CONFORMANCE_COMPAT_WIN_H
#define CONFORMANCE_COMPAT_WIN_H
#ifdef _WIN32

#include "anypoll.h"

#include <mswsock.h>

#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#define MSG_DONTWAIT 0x40 /* not a Winsock flag: the cases' sockets are non-blocking anyway */
#define MSG_NOSIGNAL 0x4000

int cw_socket(int domain, int type, int protocol);
int cw_bind(int s, const struct sockaddr *a, socklen_t len);
int cw_listen(int s, int backlog);
int cw_connect(int s, const struct sockaddr *a, socklen_t len);
int cw_getsockname(int s, struct sockaddr *a, socklen_t *len);
int cw_getsockopt(int s, int level, int name, void *v, socklen_t *len);
int cw_setsockopt(int s, int level, int name, const void *v, socklen_t len);
int cw_shutdown(int s, int how);

#define socket(d, t, p) cw_socket(d, t, p)
#define bind(s, a, l) cw_bind(s, a, l)
#define listen(s, b) cw_listen(s, b)
#define connect(s, a, l) cw_connect(s, a, l)
#define getsockname(s, a, l) cw_getsockname(s, a, l)
#define getsockopt(s, l, n, v, len) cw_getsockopt(s, l, n, v, len)
#define setsockopt(s, l, n, v, len) cw_setsockopt(s, l, n, v, len)
#define shutdown(s, h) cw_shutdown(s, h)

int socketpair(int domain, int type, int protocol, int sv[2]);
int pipe2(int p[2], int flags); /* a loopback TCP pair: Windows pipes cannot be polled */
int poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int mkfifo(const char *path, int mode); /* -1 ENOSYS */
/* For test_timerfd.c. Linux's CLOCK_MONOTONIC_RAW number (not a timerfd clock anywhere). */
#ifndef CLOCK_MONOTONIC_RAW
#define CLOCK_MONOTONIC_RAW 4
#endif
/* Windows has no uids; the win engine refuses the alarm clocks with EPERM, as Linux does for a
 * process without CAP_WAKE_ALARM, so the suite runs as an unprivileged user. */
#define geteuid() 1000
/* winpthreads' clock_gettime has no CLOCK_BOOTTIME; the win engine serves it with
 * CLOCK_MONOTONIC (docs/timerfd.md), and so does the suite's reading of it. */
#include <pthread.h>
int cw_clock_gettime(clockid_t id, struct timespec *ts);
#define clock_gettime(id, ts) cw_clock_gettime(id, ts)
#ifndef O_DIRECTORY
#define O_DIRECTORY 0200000
#endif

#endif
#endif
