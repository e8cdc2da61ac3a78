/*
 * api.c — the public anypoll_* functions (api room, the front end): argument checks that every
 * engine shares, then one call into the chosen engine. No engine-specific code and no state of
 * its own live here. May call: engines/engine.h (through the chosen engine), engine_choice.h,
 * host/sys.h.
 *
 * Checks are made in the kernel's order (see fs/eventpoll.c), so the first error a caller sees
 * is the kernel's. errno is restored on success, as the kernel never touches it then.
 */
#include "engines/engine.h"
#include "api/engine_choice.h"
#include "host/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The engine in use: the chosen one read inline (one atomic load), the choice out of line. */
#define ENGINE_OR_FAIL(e)                                                                          \
    const struct ap_engine *e = ap_engine_chosen();                                                \
    if (!e && !(e = ap_engine_choose())) return -1

/* The general path of a hot entry point, kept out of line so that the direct path (an engine
 * already chosen that keeps errno and sees nothing of plain I/O: the native engine) saves no
 * registers before its tail call. */
#if defined(__GNUC__) || defined(__clang__)
#define SLOW_PATH __attribute__((noinline))
#else
#define SLOW_PATH
#endif

static inline int direct(const struct ap_engine *e) { return e && e->direct; }

/* Result of an engine call: on success errno goes back to what the caller had (engines whose
 * entries never touch errno on success say so, `direct`, and skip the save). */
#define KEEP_ERRNO_ON_SUCCESS(expr)                                                                \
    do {                                                                                           \
        if (e->direct) return (expr);                                                              \
        int saved_errno_ = errno;                                                                  \
        __typeof__(expr) r_ = (expr);                                                              \
        if (r_ >= 0) errno = saved_errno_;                                                         \
        return r_;                                                                                 \
    } while (0)

int anypoll_epoll_create1(int flags)
{
    if (flags & ~EPOLL_CLOEXEC) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    KEEP_ERRNO_ON_SUCCESS(e->epoll_create1(flags));
}

int anypoll_epoll_create(int size)
{
    if (size <= 0) {
        errno = EINVAL;
        return -1;
    }
    return anypoll_epoll_create1(0);
}

static SLOW_PATH int ctl_slow(int epfd, int op, int fd, struct epoll_event *event)
{
    ENGINE_OR_FAIL(e);
    KEEP_ERRNO_ON_SUCCESS(e->epoll_ctl(epfd, op, fd, event));
}

int anypoll_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    /* The kernel copies the event in before it looks at anything else. */
    if (op != EPOLL_CTL_DEL && !event) {
        errno = EFAULT;
        return -1;
    }
    const struct ap_engine *d = ap_engine_chosen();
    if (direct(d)) return d->epoll_ctl(epfd, op, fd, event);
    return ctl_slow(epfd, op, fd, event);
}

static SLOW_PATH int wait_slow(int epfd, struct epoll_event *events, int maxevents, int ms,
                               const struct timespec *ts, const sigset_t *sigmask)
{
    ENGINE_OR_FAIL(e);
    KEEP_ERRNO_ON_SUCCESS(e->epoll_wait(epfd, events, maxevents, ms, ts, sigmask));
}

static int wait_common(int epfd, struct epoll_event *events, int maxevents, int ms,
                       const struct timespec *ts, const sigset_t *sigmask)
{
    /* maxevents is the engine's to check: the kernel looks at the fd first. */
    const struct ap_engine *e = ap_engine_chosen();
    if (direct(e)) return e->epoll_wait(epfd, events, maxevents, ms, ts, sigmask);
    return wait_slow(epfd, events, maxevents, ms, ts, sigmask);
}

int anypoll_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    return wait_common(epfd, events, maxevents, timeout, NULL, NULL);
}

int anypoll_epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                        const sigset_t *sigmask)
{
    return wait_common(epfd, events, maxevents, timeout, NULL, sigmask);
}

int anypoll_epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                         const struct timespec *timeout, const sigset_t *sigmask)
{
    if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    return wait_common(epfd, events, maxevents, -1, timeout, sigmask);
}

int anypoll_eventfd(unsigned int initval, int flags)
{
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    KEEP_ERRNO_ON_SUCCESS(e->eventfd(initval, flags));
}

/* --- timerfd and signalfd (fs/timerfd.c, fs/signalfd.c: the same order of checks) --------- */

static int no_engine_entry(void)
{
    errno = ENOSYS;
    return -1;
}

static int valid_ts(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

int anypoll_timerfd_create(int clockid, int flags)
{
    if ((flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) ||
        (clockid != CLOCK_MONOTONIC && clockid != CLOCK_REALTIME && clockid != CLOCK_BOOTTIME &&
         clockid != CLOCK_REALTIME_ALARM && clockid != CLOCK_BOOTTIME_ALARM)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (!e->timerfd_create) return no_engine_entry();
    KEEP_ERRNO_ON_SUCCESS(e->timerfd_create(clockid, flags));
}

int anypoll_timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                            struct itimerspec *old_value)
{
    if (!new_value) { /* copied in first */
        errno = EFAULT;
        return -1;
    }
    if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) || !valid_ts(&new_value->it_value) ||
        !valid_ts(&new_value->it_interval)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (!e->timerfd_settime) return no_engine_entry();
    KEEP_ERRNO_ON_SUCCESS(e->timerfd_settime(fd, flags, new_value, old_value));
}

int anypoll_timerfd_gettime(int fd, struct itimerspec *curr_value)
{
    ENGINE_OR_FAIL(e);
    if (!e->timerfd_gettime) return no_engine_entry();
    KEEP_ERRNO_ON_SUCCESS(e->timerfd_gettime(fd, curr_value));
}

int anypoll_signalfd(int fd, const sigset_t *mask, int flags)
{
    if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) {
        errno = EINVAL;
        return -1;
    }
    if (!mask) {
        errno = EFAULT;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (!e->signalfd) return no_engine_entry();
    KEEP_ERRNO_ON_SUCCESS(e->signalfd(fd, mask, flags));
}

int anypoll_eventfd_read(int fd, eventfd_t *value)
{
    return anypoll_read(fd, value, sizeof *value) == (ssize_t)sizeof *value ? 0 : -1;
}

int anypoll_eventfd_write(int fd, eventfd_t value)
{
    return anypoll_write(fd, &value, sizeof value) == (ssize_t)sizeof value ? 0 : -1;
}

/* --- fd operations ----------------------------------------------------------------------- */

static int owned(const struct ap_engine *e, int fd) { return e->owns && e->owns(fd); }

/* Host I/O on a plain fd, reported to the engine; errno survives the report. */
static ssize_t seen(const struct ap_engine *e, int fd, enum ap_io_dir dir, ssize_t r, size_t asked)
{
    if (e->io_seen) {
        int err = errno;
        e->io_seen(fd, dir, r, r < 0 ? err : 0, asked);
        errno = err;
    }
    return r;
}

/* Before host receives on a plain fd; errno survives. */
static void reading(const struct ap_engine *e, int fd)
{
    if (e->io_reading) {
        int err = errno;
        e->io_reading(fd);
        errno = err;
    }
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

static SLOW_PATH ssize_t read_slow(int fd, void *buf, size_t count)
{
    ENGINE_OR_FAIL(e);
    if (owned(e, fd)) KEEP_ERRNO_ON_SUCCESS(e->read(fd, buf, count));
    reading(e, fd);
    return seen(e, fd, AP_IO_IN, ap_sys_read(fd, buf, count), count);
}

ssize_t anypoll_read(int fd, void *buf, size_t count)
{
    if (direct(ap_engine_chosen())) return ap_sys_read(fd, buf, count);
    return read_slow(fd, buf, count);
}

static SLOW_PATH ssize_t write_slow(int fd, const void *buf, size_t count)
{
    ENGINE_OR_FAIL(e);
    if (owned(e, fd)) KEEP_ERRNO_ON_SUCCESS(e->write(fd, buf, count));
    return seen(e, fd, AP_IO_OUT, ap_sys_write(fd, buf, count), count);
}

ssize_t anypoll_write(int fd, const void *buf, size_t count)
{
    if (direct(ap_engine_chosen())) return ap_sys_write(fd, buf, count);
    return write_slow(fd, buf, count);
}

/* Emulated objects are read and written 8 bytes at a time; vectors are gathered for them. */
ssize_t anypoll_readv(int fd, const struct iovec *iov, int iovcnt)
{
    ENGINE_OR_FAIL(e);
    if (owned(e, fd)) {
        if (iovcnt < 0) {
            errno = EINVAL;
            return -1;
        }
        if (iovcnt > 0 && !iov) {
            errno = EFAULT;
            return -1;
        }
        unsigned char tmp[1024]; /* 8 signalfd records; an eventfd or timerfd takes 8 bytes */
        size_t want = iov_total(iov, iovcnt);
        ssize_t r = e->read(fd, tmp, want < sizeof tmp ? want : sizeof tmp);
        for (int i = 0, off = 0; r > 0 && i < iovcnt && off < r; i++) {
            size_t k = iov[i].iov_len < (size_t)(r - off) ? iov[i].iov_len : (size_t)(r - off);
            memcpy(iov[i].iov_base, tmp + off, k);
            off += (int)k;
        }
        return r;
    }
    reading(e, fd);
    return seen(e, fd, AP_IO_IN, ap_sys_readv(fd, iov, iovcnt), iov ? iov_total(iov, iovcnt) : 0);
}

ssize_t anypoll_writev(int fd, const struct iovec *iov, int iovcnt)
{
    ENGINE_OR_FAIL(e);
    if (owned(e, fd)) {
        if (iovcnt < 0) {
            errno = EINVAL;
            return -1;
        }
        if (iovcnt > 0 && !iov) {
            errno = EFAULT;
            return -1;
        }
        unsigned char tmp[64];
        size_t n = 0;
        if (iov_total(iov, iovcnt) > sizeof tmp) { /* eventfd takes exactly 8 bytes */
            errno = EINVAL;
            return -1;
        }
        for (int i = 0; i < iovcnt && n < sizeof tmp; i++) {
            size_t k = iov[i].iov_len < sizeof tmp - n ? iov[i].iov_len : sizeof tmp - n;
            memcpy(tmp + n, iov[i].iov_base, k);
            n += k;
        }
        return e->write(fd, tmp, n);
    }
    return seen(e, fd, AP_IO_OUT, ap_sys_writev(fd, iov, iovcnt), iov ? iov_total(iov, iovcnt) : 0);
}

/* Socket calls on an emulated fd fail as they do on an eventfd: it is not a socket. */
#define NOT_A_SOCKET_IF_OWNED(e, fd)                                                               \
    if (owned(e, fd)) {                                                                            \
        errno = ENOTSOCK;                                                                          \
        return -1;                                                                                 \
    }

ssize_t anypoll_recv(int fd, void *buf, size_t len, int flags)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    reading(e, fd);
    return seen(e, fd, AP_IO_IN, ap_sys_recv(fd, buf, len, flags), (flags & MSG_PEEK) ? 0 : len);
}

ssize_t anypoll_send(int fd, const void *buf, size_t len, int flags)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    return seen(e, fd, AP_IO_OUT, ap_sys_send(fd, buf, len, flags), len);
}

ssize_t anypoll_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                         socklen_t *addrlen)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    reading(e, fd);
    return seen(e, fd, AP_IO_IN, ap_sys_recvfrom(fd, buf, len, flags, addr, addrlen),
                (flags & MSG_PEEK) ? 0 : len);
}

ssize_t anypoll_sendto(int fd, const void *buf, size_t len, int flags,
                       const struct sockaddr *addr, socklen_t addrlen)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    return seen(e, fd, AP_IO_OUT, ap_sys_sendto(fd, buf, len, flags, addr, addrlen), len);
}

ssize_t anypoll_recvmsg(int fd, struct msghdr *msg, int flags)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    size_t asked = (flags & MSG_PEEK) || !msg ? 0 : iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    reading(e, fd);
    return seen(e, fd, AP_IO_IN, ap_sys_recvmsg(fd, msg, flags), asked);
}

/* A shutdown changes the socket's state: the kernel wakes its watchers even when no readiness
 * bit moves (SHUT_RD after the peer's SHUT_WR), and the engine must hear of it. */
int anypoll_shutdown(int fd, int how)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    int r = ap_sys_shutdown(fd, how);
    if (r == 0) seen(e, fd, AP_IO_SHUTDOWN, 0, 0);
    return r;
}

ssize_t anypoll_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    return seen(e, fd, AP_IO_OUT, ap_sys_sendmsg(fd, msg, flags),
                msg ? iov_total(msg->msg_iov, (int)msg->msg_iovlen) : 0);
}

int anypoll_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    ENGINE_OR_FAIL(e);
    NOT_A_SOCKET_IF_OWNED(e, fd);
    return (int)seen(e, fd, AP_IO_ACCEPT, ap_sys_accept4(fd, addr, addrlen, flags), 1);
}

int anypoll_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    return anypoll_accept4(fd, addr, addrlen, 0);
}

int anypoll_close(int fd)
{
    ENGINE_OR_FAIL(e);
    if (e->close) KEEP_ERRNO_ON_SUCCESS(e->close(fd));
    return ap_sys_close(fd);
}

static int dup_to(const struct ap_engine *e, int oldfd, int newfd, int flags)
{
    if (e->dup_to) KEEP_ERRNO_ON_SUCCESS(e->dup_to(oldfd, newfd, flags));
    if (newfd < 0) {
        int min = newfd == -1 ? 0 : -2 - newfd;
        return ap_sys_fcntl(oldfd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, min);
    }
    return ap_sys_dup3(oldfd, newfd, flags);
}

int anypoll_dup(int fd)
{
    ENGINE_OR_FAIL(e);
    return dup_to(e, fd, -1, 0);
}

int anypoll_dup2(int oldfd, int newfd)
{
    ENGINE_OR_FAIL(e);
    if (oldfd == newfd) /* dup2 to itself only checks that the fd is open */
        return anypoll_fcntl(oldfd, F_GETFD, 0) < 0 ? -1 : newfd; /* emulated fds too */
    return dup_to(e, oldfd, newfd, 0);
}

int anypoll_dup3(int oldfd, int newfd, int flags)
{
    ENGINE_OR_FAIL(e);
    if (oldfd == newfd || (flags & ~O_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    return dup_to(e, oldfd, newfd, flags);
}

int anypoll_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    intptr_t arg = va_arg(ap, intptr_t);
    va_end(ap);
    ENGINE_OR_FAIL(e);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        /* The kernel reads the minimum as an unsigned int (a negative one is out of range) and
         * looks the fd up (EBADF) before it checks it (EINVAL). */
        unsigned int min = (unsigned int)arg;
        if (min >= INT_MAX / 2) {
            int open = (e->fcntl ? e->fcntl(fd, F_GETFD, 0) : ap_sys_fcntl(fd, F_GETFD, 0)) >= 0;
            errno = open ? EINVAL : EBADF; /* the engine knows its own descriptors */
            return -1;
        }
        return dup_to(e, fd, -2 - (int)min, cmd == F_DUPFD_CLOEXEC ? O_CLOEXEC : 0);
    }
    if (e->fcntl) KEEP_ERRNO_ON_SUCCESS(e->fcntl(fd, cmd, arg));
    return ap_sys_fcntl(fd, cmd, arg);
}

int anypoll_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                  const sigset_t *sigmask)
{
    if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (e->poll) KEEP_ERRNO_ON_SUCCESS(e->poll(fds, nfds, timeout, sigmask));
    return ap_sys_ppoll(fds, nfds, timeout, sigmask);
}

int anypoll_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
    return anypoll_ppoll(fds, nfds, timeout < 0 ? NULL : &ts, NULL);
}

/* select()/pselect() over an engine's poll(): emulated epoll fds are readable while a wait on
 * them would return something. Readiness maps as in Linux's select: read = IN, HUP or ERR;
 * write = OUT or ERR; except = PRI. A closed fd in any set is EBADF, before any waiting. */
static int select_fd_open(const struct ap_engine *e, int fd)
{
#ifdef _WIN32 /* anypoll's own descriptors are not the host's there */
    if (owned(e, fd)) return 1;
#else
    (void)e;
#endif
    return ap_sys_fcntl(fd, F_GETFD, 0) >= 0;
}

static int select_via_poll(const struct ap_engine *e, int nfds, fd_set *r, fd_set *w, fd_set *x,
                           const struct timespec *ts, const sigset_t *mask)
{
    if (nfds < 0) {
        errno = EINVAL;
        return -1;
    }
    if (nfds > FD_SETSIZE) nfds = FD_SETSIZE; /* the sets hold no more (Linux clamps too) */
    struct pollfd *p = malloc((size_t)(nfds ? nfds : 1) * sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    nfds_t n = 0;
#ifdef _WIN32 /* Winsock's fd_set is a list of SOCKETs, whatever their value: walk the lists */
    free(p);
    p = malloc(((r ? r->fd_count : 0) + (w ? w->fd_count : 0) + (x ? x->fd_count : 0) + 1) * sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    fd_set *sets[3] = {r, w, x};
    for (int k = 0; k < 3; k++)
        for (u_int j = 0; sets[k] && j < sets[k]->fd_count; j++) {
            int fd = (int)sets[k]->fd_array[j];
            nfds_t i = 0;
            while (i < n && (int)p[i].fd != fd) i++;
            if (i == n) p[n++] = (struct pollfd){.fd = (SOCKET)fd};
            p[i].events |= (short)(k == 0 ? POLLIN : k == 1 ? POLLOUT : POLLPRI);
        }
#else
    for (int fd = 0; fd < nfds; fd++) {
        short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
                           (x && FD_ISSET(fd, x) ? POLLPRI : 0));
        if (ev) p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
#endif
    for (nfds_t i = 0; i < n; i++)
        if (!select_fd_open(e, (int)p[i].fd)) {
            free(p);
            errno = EBADF;
            return -1;
        }
    int rc = e->poll(p, n, ts, mask);
    if (rc < 0) {
        free(p);
        return -1;
    }
    if (r) FD_ZERO(r);
    if (w) FD_ZERO(w);
    if (x) FD_ZERO(x);
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        short rev = p[i].revents;
        if (rev & POLLNVAL) { /* closed while we waited */
            free(p);
            errno = EBADF;
            return -1;
        }
        if ((p[i].events & POLLIN) && (rev & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
            FD_SET(p[i].fd, r);
            count++;
        }
        if ((p[i].events & POLLOUT) && (rev & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
            FD_SET(p[i].fd, w);
            count++;
        }
        if ((p[i].events & POLLPRI) && (rev & POLLPRI)) {
            FD_SET(p[i].fd, x);
            count++;
        }
    }
    free(p);
    return count;
}

#ifdef _WIN32
/* Sets of SOCKETs only stay with Winsock's select (WSAPoll differs on failed connects). */
static int sets_hold_own(const struct ap_engine *e, fd_set *r, fd_set *w, fd_set *x)
{
    fd_set *sets[3] = {r, w, x};
    for (int k = 0; k < 3; k++)
        for (u_int j = 0; sets[k] && j < sets[k]->fd_count; j++)
            if (owned(e, (int)sets[k]->fd_array[j])) return 1;
    return 0;
}
#define SELECT_BY_ENGINE(e, r, w, x) ((e)->poll && sets_hold_own(e, r, w, x))
#else
#define SELECT_BY_ENGINE(e, r, w, x) ((e)->poll != NULL)
#endif

int anypoll_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                   struct timeval *timeout)
{
    if (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (!SELECT_BY_ENGINE(e, readfds, writefds, exceptfds))
        return ap_sys_select(nfds, readfds, writefds, exceptfds, timeout);
    int saved = errno;
    struct timespec ts, *tsp = NULL;
    int64_t deadline = 0;
    if (timeout) { /* Linux's timeval carries microseconds up to any size: normalise it */
        ts.tv_sec = timeout->tv_sec + timeout->tv_usec / 1000000;
        ts.tv_nsec = (long)(timeout->tv_usec % 1000000) * 1000;
        tsp = &ts;
        deadline = ap_sys_now_ns() + (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    int rc = select_via_poll(e, nfds, readfds, writefds, exceptfds, tsp, NULL);
    if (timeout) { /* as Linux does: the time left, even when interrupted */
        int64_t left = deadline - ap_sys_now_ns();
        if (left < 0 || rc == 0) left = 0; /* a timeout leaves nothing */
        timeout->tv_sec = (time_t)(left / 1000000000);
        timeout->tv_usec = (__typeof__(timeout->tv_usec))(left % 1000000000 / 1000);
    }
    if (rc >= 0) errno = saved;
    return rc;
}

int anypoll_pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                    const struct timespec *timeout, const sigset_t *sigmask)
{
    if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    ENGINE_OR_FAIL(e);
    if (!SELECT_BY_ENGINE(e, readfds, writefds, exceptfds))
        return ap_sys_pselect(nfds, readfds, writefds, exceptfds, timeout, sigmask);
    int saved = errno;
    int rc = select_via_poll(e, nfds, readfds, writefds, exceptfds, timeout, sigmask);
    if (rc >= 0) errno = saved;
    return rc;
}
