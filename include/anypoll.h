/*
 * anypoll.h — the Linux epoll/eventfd API on any host, with the engine chosen at run time.
 *
 * This is the only public header. Every function has exactly the signature of the standard
 * function it stands for, with an `anypoll_` prefix. Programs that cannot be edited use the
 * drop-in build instead, which exports the standard names themselves.
 *
 * On hosts whose system headers lack <sys/epoll.h> or <sys/eventfd.h> (macOS, the BSDs,
 * Windows, Cosmopolitan) this header provides the Linux constants, struct epoll_event and
 * struct signalfd_siginfo.
 *
 * Define ANYPOLL_STANDARD_NAMES before including it to have calls written with the standard
 * names (epoll_ctl(...), read(...), close(...), ...) go to anypoll: function-like macros, so
 * struct members called `read` or `close` are untouched.
 */
#ifndef ANYPOLL_H
#define ANYPOLL_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <time.h>
#include <sys/types.h>
#if defined(_WIN32)
/* Windows: sockets are SOCKET values passed as int (see docs/windows.md); Winsock gives
 * struct sockaddr, fd_set, struct timeval and struct pollfd, the rest is defined here. */
#include <winsock2.h>
#include <ws2tcpip.h>
typedef unsigned long nfds_t;
#ifndef _POSIX
typedef _sigset_t sigset_t; /* accepted, never used: Windows has no signal masks */
#endif
struct iovec {
    void *iov_base;
    size_t iov_len;
};
struct msghdr {
    void *msg_name;
    socklen_t msg_namelen;
    struct iovec *msg_iov;
    size_t msg_iovlen;
    void *msg_control;
    size_t msg_controllen;
    int msg_flags;
};
#ifndef O_NONBLOCK
#define O_NONBLOCK 04000 /* Linux's values, so EFD_/SOCK_ flags mean the same everywhere */
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 02000000
#endif
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK O_NONBLOCK
#define SOCK_CLOEXEC O_CLOEXEC
#endif
#ifndef F_GETFD
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#endif
#else
#include <poll.h>
#include <sys/select.h> /* fd_set, struct timeval, and sigset_t whatever feature macros are set */
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#if defined(__linux__) && !defined(__COSMOPOLITAN__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#define ANYPOLL_SYSTEM_HEADERS 1
#else
#include <fcntl.h>
#ifndef SOCK_NONBLOCK /* macOS: the flags anypoll_accept4 takes (the host's socket() takes none) */
#define SOCK_NONBLOCK O_NONBLOCK
#define SOCK_CLOEXEC O_CLOEXEC
#endif

enum EPOLL_EVENTS {
    EPOLLIN = 0x001,
    EPOLLPRI = 0x002,
    EPOLLOUT = 0x004,
    EPOLLRDNORM = 0x040,
    EPOLLRDBAND = 0x080,
    EPOLLWRNORM = 0x100,
    EPOLLWRBAND = 0x200,
    EPOLLMSG = 0x400,
    EPOLLERR = 0x008,
    EPOLLHUP = 0x010,
    EPOLLRDHUP = 0x2000,
    EPOLLEXCLUSIVE = 1u << 28,
    EPOLLWAKEUP = 1u << 29,
    EPOLLONESHOT = 1u << 30,
    EPOLLET = 1u << 31
};
#define EPOLLIN EPOLLIN
#define EPOLLPRI EPOLLPRI
#define EPOLLOUT EPOLLOUT
#define EPOLLRDNORM EPOLLRDNORM
#define EPOLLRDBAND EPOLLRDBAND
#define EPOLLWRNORM EPOLLWRNORM
#define EPOLLWRBAND EPOLLWRBAND
#define EPOLLMSG EPOLLMSG
#define EPOLLERR EPOLLERR
#define EPOLLHUP EPOLLHUP
#define EPOLLRDHUP EPOLLRDHUP
#define EPOLLEXCLUSIVE EPOLLEXCLUSIVE
#define EPOLLWAKEUP EPOLLWAKEUP
#define EPOLLONESHOT EPOLLONESHOT
#define EPOLLET EPOLLET

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLL_CLOEXEC O_CLOEXEC

typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
} epoll_data_t;

/* Linux packs this to 12 bytes on x86_64 only; the same layout is kept here so binaries
 * that carry Linux code paths (a Cosmopolitan APE) agree with the kernel's ABI. */
struct epoll_event {
    uint32_t events;
    epoll_data_t data;
}
#if defined(__x86_64__)
__attribute__((__packed__))
#endif
;

typedef uint64_t eventfd_t;
#define EFD_SEMAPHORE 1
#define EFD_CLOEXEC O_CLOEXEC
#define EFD_NONBLOCK O_NONBLOCK

/* timerfd and signalfd: Linux's values and layout. */
#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2
#define TFD_CLOEXEC O_CLOEXEC
#define TFD_NONBLOCK O_NONBLOCK
#define SFD_CLOEXEC O_CLOEXEC
#define SFD_NONBLOCK O_NONBLOCK
#ifndef CLOCK_BOOTTIME
#define CLOCK_BOOTTIME 7 /* Linux's number; where the host has none, anypoll serves it */
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif
/* no POSIX timers there, nor struct itimerspec (macOS, Windows, Cosmopolitan: none of its
 * versions declares it; glibc's headers, which `make check` compiles this branch with, say
 * __itimerspec_defined when they have); mingw-w64's <sys/types.h> (included above) defines it
 * next to struct timespec */
#if defined(__APPLE__) || (defined(_WIN32) && !defined(__MINGW32__)) ||                           \
    (defined(__COSMOPOLITAN__) && !defined(__itimerspec_defined))
struct itimerspec {
    struct timespec it_interval;
    struct timespec it_value;
};
#endif

struct signalfd_siginfo {
    uint32_t ssi_signo;
    int32_t ssi_errno;
    int32_t ssi_code;
    uint32_t ssi_pid;
    uint32_t ssi_uid;
    int32_t ssi_fd;
    uint32_t ssi_tid;
    uint32_t ssi_band;
    uint32_t ssi_overrun;
    uint32_t ssi_trapno;
    int32_t ssi_status;
    int32_t ssi_int;
    uint64_t ssi_ptr;
    uint64_t ssi_utime;
    uint64_t ssi_stime;
    uint64_t ssi_addr;
    uint16_t ssi_addr_lsb;
    uint16_t __pad2;
    int32_t ssi_syscall;
    uint64_t ssi_call_addr;
    uint32_t ssi_arch;
    uint8_t __pad[28];
};
#endif /* system headers */

/* The kernel's record is 128 bytes on every architecture; anypoll's own copy must be too. */
typedef char anypoll_signalfd_siginfo_is_128_bytes[sizeof(struct signalfd_siginfo) == 128 ? 1 : -1];

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* epoll and eventfd: same contracts, errnos and edge cases as Linux (see docs/). */
int anypoll_epoll_create(int size);
int anypoll_epoll_create1(int flags);
int anypoll_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int anypoll_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
int anypoll_epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                        const sigset_t *sigmask);
int anypoll_epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                         const struct timespec *timeout, const sigset_t *sigmask);
int anypoll_eventfd(unsigned int initval, int flags);
int anypoll_eventfd_read(int fd, eventfd_t *value);
int anypoll_eventfd_write(int fd, eventfd_t value);

/* timerfd and signalfd: Linux's contracts. Read them with anypoll_read (8-byte expiration
 * counts, 128-byte struct signalfd_siginfo records); docs/timerfd.md lists what an emulation
 * engine does differently. */
int anypoll_timerfd_create(int clockid, int flags);
int anypoll_timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                            struct itimerspec *old_value);
int anypoll_timerfd_gettime(int fd, struct itimerspec *curr_value);
int anypoll_signalfd(int fd, const sigset_t *mask, int flags);

/*
 * File-descriptor operations. On an fd that anypoll emulates (an eventfd or epoll fd of an
 * emulation engine) they implement that object; on any other fd they call the host's function
 * and, for I/O, tell the engine what they saw (EAGAIN, short reads), which lets emulated
 * EPOLLET learn about drained sockets without polling. Use them for every fd you register with
 * EPOLLET, and always for emulated fds.
 */
ssize_t anypoll_read(int fd, void *buf, size_t count);
ssize_t anypoll_write(int fd, const void *buf, size_t count);
ssize_t anypoll_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t anypoll_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t anypoll_recv(int fd, void *buf, size_t len, int flags);
ssize_t anypoll_send(int fd, const void *buf, size_t len, int flags);
ssize_t anypoll_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                         socklen_t *addrlen);
ssize_t anypoll_sendto(int fd, const void *buf, size_t len, int flags,
                       const struct sockaddr *addr, socklen_t addrlen);
ssize_t anypoll_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t anypoll_sendmsg(int fd, const struct msghdr *msg, int flags);
int anypoll_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int anypoll_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int anypoll_shutdown(int fd, int how);
int anypoll_close(int fd);
int anypoll_dup(int fd);
int anypoll_dup2(int oldfd, int newfd);
int anypoll_dup3(int oldfd, int newfd, int flags);
int anypoll_fcntl(int fd, int cmd, ...);
int anypoll_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int anypoll_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                  const sigset_t *sigmask);
int anypoll_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                   struct timeval *timeout);
int anypoll_pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                    const struct timespec *timeout, const sigset_t *sigmask);

/* Engines. The first anypoll call picks one: the kernel's own epoll ("native") when it works,
 * otherwise the best emulation this host has. ANYPOLL_ENGINE=<name> in the environment forces
 * one; an unknown or unusable name makes every call fail (EINVAL / ENOSYS) and says why on
 * stderr, once — never a silent fallback. */
const char *anypoll_engine_name(void);   /* chosen engine, or NULL (errno set) if none */
const char *anypoll_host_name(void);     /* "linux", "freebsd", "windows", ... */
/* Choose the engine from code: 0, or -1 with EINVAL (unknown name), ENOSYS (not usable on this
 * host) or EBUSY (another engine already owns live epoll or eventfd objects). */
int anypoll_use_engine(const char *name);
/* The names of all engines built into this library, NULL-terminated. */
const char *const *anypoll_engine_names(void);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif

#ifdef ANYPOLL_STANDARD_NAMES
/* Every system header that declares one of these names is read first, so that including it
 * again later is a no-op: otherwise the macros would rename its declarations, and with
 * _FORTIFY_SOURCE its inline wrappers (read, poll, ...) would replace anypoll's functions. */
#include <fcntl.h>
#include <unistd.h> /* (poll.h, sys/select.h, sys/socket.h, sys/uio.h and, on Linux, sys/epoll.h
                       sys/eventfd.h, sys/timerfd.h, sys/signalfd.h are already in) */
#define epoll_create(...) anypoll_epoll_create(__VA_ARGS__)
#define epoll_create1(...) anypoll_epoll_create1(__VA_ARGS__)
#define epoll_ctl(...) anypoll_epoll_ctl(__VA_ARGS__)
#define epoll_wait(...) anypoll_epoll_wait(__VA_ARGS__)
#define epoll_pwait(...) anypoll_epoll_pwait(__VA_ARGS__)
#define epoll_pwait2(...) anypoll_epoll_pwait2(__VA_ARGS__)
#define eventfd(...) anypoll_eventfd(__VA_ARGS__)
#define eventfd_read(...) anypoll_eventfd_read(__VA_ARGS__)
#define eventfd_write(...) anypoll_eventfd_write(__VA_ARGS__)
#define timerfd_create(...) anypoll_timerfd_create(__VA_ARGS__)
#define timerfd_settime(...) anypoll_timerfd_settime(__VA_ARGS__)
#define timerfd_gettime(...) anypoll_timerfd_gettime(__VA_ARGS__)
#define signalfd(...) anypoll_signalfd(__VA_ARGS__)
#define read(...) anypoll_read(__VA_ARGS__)
#define write(...) anypoll_write(__VA_ARGS__)
#define readv(...) anypoll_readv(__VA_ARGS__)
#define writev(...) anypoll_writev(__VA_ARGS__)
#define recv(...) anypoll_recv(__VA_ARGS__)
#define send(...) anypoll_send(__VA_ARGS__)
#define recvfrom(...) anypoll_recvfrom(__VA_ARGS__)
#define sendto(...) anypoll_sendto(__VA_ARGS__)
#define recvmsg(...) anypoll_recvmsg(__VA_ARGS__)
#define sendmsg(...) anypoll_sendmsg(__VA_ARGS__)
#define accept(...) anypoll_accept(__VA_ARGS__)
#define accept4(...) anypoll_accept4(__VA_ARGS__)
#define shutdown(...) anypoll_shutdown(__VA_ARGS__)
#define close(...) anypoll_close(__VA_ARGS__)
#define dup(...) anypoll_dup(__VA_ARGS__)
#define dup2(...) anypoll_dup2(__VA_ARGS__)
#define dup3(...) anypoll_dup3(__VA_ARGS__)
#define fcntl(...) anypoll_fcntl(__VA_ARGS__)
#define poll(...) anypoll_poll(__VA_ARGS__)
#define ppoll(...) anypoll_ppoll(__VA_ARGS__)
#define select(...) anypoll_select(__VA_ARGS__)
#define pselect(...) anypoll_pselect(__VA_ARGS__)
#endif

#endif /* ANYPOLL_H */
