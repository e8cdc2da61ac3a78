/*
 * sys_cosmo.c — the host's fd calls in a Cosmopolitan binary (host room; see sys.h): one APE runs
 * on Linux, Windows, macOS and the BSDs, so which kernel is underneath is asked here at run time
 * (IsLinux(), IsWindows()...), never at compile time. Everything else of the POSIX family is
 * sys_posix.c's; these are the calls whose behaviour differs under Cosmopolitan, each answered
 * once here:
 *
 *   Windows  socketpair(AF_UNIX) is a named pipe pair that refuses SOCK_NONBLOCK (and flags
 *            to recv()/send(), and polls at most 8 of them at once): a loopback TCP pair
 *            instead; fcntl(F_SETFL, O_NONBLOCK) fails with ENOSYS: ioctl(FIONBIO) sets it, and
 *            F_GETFL is told what FIONBIO set (Cosmopolitan does not record it);
 *            fstat() of a socket fails with EBADF: a socket's identity is its number;
 *            accept(), read(), recv(), send()... wait although the socket is non-blocking (its
 *            overlapped I/O waits for completion, and MSG_DONTWAIT is 0 there): a zero-timeout
 *            poll() first;
 *            send() and write() on a dup()ed socket fail (WSAENOTSOCK, errno 10038 as it is):
 *            ap_sys_dup_sends() says so, and move_high keeps the number it is given (the
 *            poll engine wakes an instance's waiters with a bell of its own for that reason);
 *            close() of such a dup fails with ENOTSOCK and leaves its handle open: closed as
 *            a handle; close() of a number not open answers EIO: EBADF;
 *            poll() answers Winsock's bits (POLLIN is RDNORM|RDBAND there, a peer's FIN is
 *            POLLHUP, a socket's own shutdown shows nothing), takes at most 64 sockets and 8
 *            pipes, sleeps in 200 ms slices when given no fd, and looks for signals before fds:
 *            ap_sys_ppoll answers as Linux does (ppoll_windows);
 *            pipe() leaves both ends without an access mode (a write end is never writable to
 *            its poll()), and a pipe write waits for room whatever O_NONBLOCK says: pipes are
 *            polled here (PeekNamedPipe, NtQueryInformationFile) and non-blocking writes cut to
 *            the room there is; FIONREAD answers nothing for a pipe (ap_sys_cosmo_pipe_queued);
 *            a non-blocking send larger than SEND_CAP waits until the peer has read most of it:
 *            cut to SEND_CAP; MSG_DONTWAIT is 0: the library's own AP_DONTWAIT bit (sys.h);
 *            recv() of a datagram longer than the buffer fails (EMSGSIZE), on a socket shut
 *            for reading too (ESHUTDOWN), and recvfrom()/recvmsg() refuse a NULL address:
 *            Linux's answers are made of Windows';
 *   all      accept4() refuses a NULL address (Cosmopolitan 2.2): a scratch one is passed;
 *   Linux    read() into NULL and readv() of a NULL vector are answered (EFAULT, SIGSEGV) before
 *            the kernel, which answers otherwise: they are made as direct system calls.
 *
 * Compiles to nothing outside Cosmopolitan. May call: libc (Cosmopolitan's, with its fd table
 * g_fds and its NT API declarations, libc/nt/, for pipes on Windows), host/sys.h,
 * host/raw_syscall_linux.h.
 */
#include "host/sys.h"

#if AP_SYS_COSMO
#include "host/raw_syscall_linux.h"
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Windows: Cosmopolitan 2.2's pipe() is a named pipe pair, and its poll() takes which end an fd
 * is from the fd's open flags, which pipe() leaves without an access mode: both ends look
 * read-only, so a write end is never reported writable, and a write waits for room whatever
 * O_NONBLOCK says. Which end it is, and how much room it has (NtQueryInformationFile, as libuv
 * asks), come from Cosmopolitan's fd table and the NT API. */
#if defined(__x86_64__) && __has_include(<libc/calls/struct/fd.internal.h>) && \
    __has_include(<libc/nt/struct/filepipelocalinformation.h>)
#include <libc/calls/struct/fd.internal.h>
#include <libc/nt/enum/fileinformationclass.h>
#include <libc/nt/nt/file.h>
#include <libc/nt/struct/filepipelocalinformation.h>
#include <libc/nt/struct/iostatusblock.h>
#include <libc/nt/runtime.h>
#include <libc/nt/ipc.h>
extern struct Fds g_fds;
#define NT_PIPES 1
/* 'w' for the write end of one of Cosmopolitan's pipes, 'r' for the read end, else 0 */
static int pipe_end(int fd)
{
    if (!IsWindows() || fd < 0 || (size_t)fd >= g_fds.n || g_fds.p[fd].kind != kFdFile) return 0;
    unsigned m = g_fds.p[fd].mode;
    if ((m & S_IFMT) != S_IFIFO) return 0;
    return (m & 0222) && !(m & 0444) ? 'w' : (m & 0444) && !(m & 0222) ? 'r' : 0;
}
/* A pipe's name (\\cosmo\\PID-N: the same for both ends), "" if it has none */
static void pipe_name(int fd, char *out, size_t n)
{
    struct NtIoStatusBlock io;
    unsigned char buf[4 + 2 * 64];
    uint32_t len = 0;
    out[0] = 0;
    if (NtQueryInformationFile(g_fds.p[fd].handle, &io, buf, sizeof buf,
                               kNtFileNameInformation) != 0)
        return;
    memcpy(&len, buf, sizeof len);
    size_t k = 0;
    for (; k + 1 < n && k < len / 2 && k < 64; k++) out[k] = (char)buf[4 + 2 * k];
    out[k] = 0;
}

static int pipe_info(int fd, struct NtFilePipeLocalInformation *info)
{
    struct NtIoStatusBlock io;
    memset(info, 0, sizeof *info);
    return NtQueryInformationFile(g_fds.p[fd].handle, &io, info, sizeof *info,
                                  kNtFilePipeLocalInformation) == 0;
}

/* A pipe write end's room in bytes: its buffer's size less what its read end holds (the write
 * end's own WriteQuotaAvailable is 0 under Wine); -1 when its reader is gone (EPIPE); LONG_MAX
 * when the read end is in no fd of this process (another's, after a fork): unknown, as
 * Cosmopolitan's poll() has it, writable. */
static long pipe_room(int fd)
{
    struct NtFilePipeLocalInformation w, r;
    if (!pipe_info(fd, &w)) return -1;
    if (w.NamedPipeState != 3 /* FILE_PIPE_CONNECTED_STATE */) return -1;
    char name[65], other[65];
    pipe_name(fd, name, sizeof name);
    for (size_t i = 0; name[0] && i < g_fds.n; i++) {
        if (pipe_end((int)i) != 'r') continue;
        pipe_name((int)i, other, sizeof other);
        if (strcmp(name, other) || !pipe_info((int)i, &r)) continue;
        return r.ReadDataAvailable >= r.InboundQuota ? 0 : (long)(r.InboundQuota - r.ReadDataAvailable);
    }
    return LONG_MAX;
}
static int64_t pipe_handle(int fd) { return g_fds.p[fd].handle; }
#else
#define NT_PIPES 0
static int pipe_end(int fd) { return (void)fd, 0; }
static long pipe_room(int fd) { return (void)fd, 1; }
#endif

/* Windows: the fds made non-blocking with FIONBIO, which F_GETFL does not report. */
#define FIONBIO_FDS 4096
static _Atomic unsigned char fionbio_set[FIONBIO_FDS];

static int set_nonblock_fionbio(int fd, int on)
{
    int v = on; /* Winsock's u_long: 32 bits */
    if (ioctl(fd, FIONBIO, &v) < 0) return -1;
    if (fd >= 0 && fd < FIONBIO_FDS) atomic_store(&fionbio_set[fd], (unsigned char)!!on);
    return 0;
}

/* Windows: which sides of a socket this process shut (1: reading, 2: writing), which Winsock's
 * poll() does not show: Linux's answers depend on them (shutdown_bits below). */
static _Atomic unsigned char shut_set[FIONBIO_FDS];

int ap_sys_shutdown(int fd, int how)
{
    int r = shutdown(fd, how);
    if (r == 0 && IsWindows() && fd >= 0 && fd < FIONBIO_FDS)
        atomic_fetch_or(&shut_set[fd], (unsigned char)(how == SHUT_RD ? 1 : how == SHUT_WR ? 2 : 3));
    return r;
}

static int shut_sides(int fd) { return fd >= 0 && fd < FIONBIO_FDS ? atomic_load(&shut_set[fd]) : 0; }

int ap_sys_fcntl(int fd, int cmd, intptr_t arg)
{
    int r = fcntl(fd, cmd, arg);
    if (!IsWindows()) return r;
    if (r < 0 && errno == ENOSYS && cmd == F_SETFL) {
        /* only O_NONBLOCK can be changed there, and only on a socket, through FIONBIO */
        return set_nonblock_fionbio(fd, !!(arg & O_NONBLOCK));
    }
    if (r >= 0 && cmd == F_GETFL && fd >= 0 && fd < FIONBIO_FDS && atomic_load(&fionbio_set[fd]))
        r |= O_NONBLOCK;
    if (r >= 0 && cmd == F_GETFL && (r & O_ACCMODE) == O_RDONLY) {
        /* a socket's flags there have no access mode; pipe() leaves both ends without one */
        int type;
        socklen_t len = sizeof type;
        if (pipe_end(fd) == 'w') r |= O_WRONLY;
        else if (!pipe_end(fd) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
            r |= O_RDWR;
    }
    return r;
}

/* Windows: a dup()ed socket is a duplicated handle that Winsock does not take for a socket:
 * Cosmopolitan's close() releases the number but its closesocket() fails (ENOTSOCK) and the
 * handle stays open, so the file would never be closed: the handle is closed as a handle. */
int ap_sys_close(int fd)
{
    if (!IsWindows()) return close(fd);
    if (fd >= 0 && fd < FIONBIO_FDS) {
        atomic_store(&fionbio_set[fd], 0);
        atomic_store(&shut_set[fd], 0);
    }
#if NT_PIPES
    /* Cosmopolitan answers a number that is not open with EIO */
    if (fd < 0 || (size_t)fd >= g_fds.n || g_fds.p[fd].kind == kFdEmpty) return errno = EBADF, -1;
    int64_t h = fd >= 0 && (size_t)fd < g_fds.n && g_fds.p[fd].kind == kFdSocket ? pipe_handle(fd)
                                                                                : -1;
    int e = errno, r = close(fd);
    if (r < 0 && errno == ENOTSOCK && h != -1) {
        errno = e;
        return CloseHandle(h) ? 0 : (errno = EBADF, -1);
    }
    return r;
#else
    return close(fd);
#endif
}

/* Windows: 1 if an I/O call on fd would wait although it must not (a non-blocking fd, or
 * MSG_DONTWAIT, which is 0 there): Cosmopolitan's overlapped socket I/O waits for completion
 * whatever FIONBIO says, so readiness is asked first. errno is EAGAIN when it says so. */
static int would_wait(int fd, short ev, int flags)
{
    if (!IsWindows()) return 0;
    if (!(flags & AP_DONTWAIT) && !(ap_sys_fcntl(fd, F_GETFL, 0) & O_NONBLOCK)) return 0;
    struct pollfd p = {.fd = fd, .events = ev};
    if (ap_sys_ppoll(&p, 1, &(struct timespec){0, 0}, NULL) != 0)
        return 0; /* ready, or an error the call itself will report */
    errno = EAGAIN;
    return 1;
}

/* Windows: a non-blocking send of n bytes on a socket, cut to SEND_CAP: Cosmopolitan's send
 * is an overlapped one that waits until all of it is taken, which with a large buffer means
 * until the peer has read most of it (for ever, when the peer is this same thread); a shorter
 * send is what a non-blocking stream send may answer on Linux too. */
#define SEND_CAP 65536
static size_t send_size(int fd, size_t n, int flags)
{
    if (!IsWindows() || n <= SEND_CAP || pipe_end(fd)) return n;
    if (!(flags & AP_DONTWAIT) && !(ap_sys_fcntl(fd, F_GETFL, 0) & O_NONBLOCK)) return n;
    return SEND_CAP;
}

/* The flags a call is made with: without the library's own don't-wait bit (sys.h) */
static int plain(int flags) { return IsWindows() ? flags & ~AP_SYS_DONTWAIT_BIT : flags; }

/* Windows: how much of a write of n bytes into fd goes now without waiting: n, or less into a
 * non-blocking pipe with less room (none: -1 EAGAIN; up to PIPE_BUF bytes go whole or not at
 * all, as in Linux); -1 EPIPE when its reader is gone. */
static ssize_t pipe_fits(int fd, size_t n)
{
    if (pipe_end(fd) != 'w' || !(ap_sys_fcntl(fd, F_GETFL, 0) & O_NONBLOCK)) return (ssize_t)n;
    long room = pipe_room(fd);
    if (room < 0) return errno = EPIPE, -1;
    if ((size_t)room >= n) return (ssize_t)n;
    if (room == 0 || n <= PIPE_BUF) return errno = EAGAIN, -1;
    return room;
}

#if defined(AP_HAVE_RAW_SYSCALL)
/* Cosmopolitan's read() answers a NULL buffer with EFAULT itself and its readv() reads iov[0]
 * in user space (SIGSEGV for a NULL vector); the kernel answers otherwise (its read of an eventfd
 * takes the count, then faults). On Linux such a read is the kernel's, made directly with
 * Linux's numbers (fixed by its ABI; Cosmopolitan's headers carry portable ones). */
#if defined(__x86_64__)
#define LINUX_NR_read 0
#define LINUX_NR_readv 19
#else
#define LINUX_NR_read 63
#define LINUX_NR_readv 65
#endif
static int kernel_reads(const void *p) { return !p && IsLinux(); }
static ssize_t kernel_read(long nr, int fd, const void *p, long n)
{
    long r = ap_raw_syscall(nr, fd, (long)p, n, 0, 0, 0);
    if (r < 0 && r > -4096) {
        errno = (int)-r; /* Cosmopolitan's errno values are Linux's on Linux */
        return -1;
    }
    return r;
}
#else
static int kernel_reads(const void *p) { return (void)p, 0; }
#define LINUX_NR_read 0
#define LINUX_NR_readv 0
static ssize_t kernel_read(long nr, int fd, const void *p, long n)
{
    return (void)nr, (void)fd, (void)p, (void)n, -1;
}
#endif

/* Windows: a datagram longer than the buffer fills it and fails with WSAEMSGSIZE, where Linux
 * returns the buffer's length (the rest of the datagram is dropped either way); a receive on a
 * socket shut for reading fails with WSAESHUTDOWN, where Linux answers 0. */
static ssize_t truncated(ssize_t r, size_t n)
{
    if (r >= 0 || !IsWindows()) return r;
    if (errno == EMSGSIZE) return (ssize_t)n;
    if (errno == ESHUTDOWN) return 0; /* shut for reading: Linux answers end of stream */
    return r;
}

ssize_t ap_sys_read(int fd, void *buf, size_t n)
{
    if (would_wait(fd, POLLIN, 0)) return -1;
    if (n && kernel_reads(buf)) return kernel_read(LINUX_NR_read, fd, buf, (long)n);
    return truncated(read(fd, buf, n), n);
}
ssize_t ap_sys_write(int fd, const void *buf, size_t n)
{
    ssize_t fits = pipe_fits(fd, n);
    if (fits < 0) return -1;
    return would_wait(fd, POLLOUT, 0) ? -1 : write(fd, buf, send_size(fd, (size_t)fits, 0));
}
ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n)
{
    if (would_wait(fd, POLLIN, 0)) return -1;
    if (n > 0 && kernel_reads(iov)) return kernel_read(LINUX_NR_readv, fd, iov, n);
    return readv(fd, iov, n);
}
ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n)
{
    if (pipe_end(fd) == 'w' && n > 0 && iov) { /* cut to the pipe's room */
        size_t total = 0;
        for (int i = 0; i < n; i++) total += iov[i].iov_len;
        ssize_t fits = pipe_fits(fd, total);
        if (fits < 0) return -1;
        if ((size_t)fits < total) {
            struct iovec cut[64];
            int k = 0;
            for (size_t left = (size_t)fits; k < n && k < 64 && left; k++) {
                cut[k] = iov[k];
                if (cut[k].iov_len > left) cut[k].iov_len = left;
                left -= cut[k].iov_len;
            }
            return writev(fd, cut, k);
        }
    }
    return would_wait(fd, POLLOUT, 0) ? -1 : writev(fd, iov, n);
}
ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags)
{
    return would_wait(fd, POLLIN, flags) ? -1 : truncated(recv(fd, buf, n, plain(flags)), n);
}
ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    struct sockaddr_storage scratch;
    socklen_t scratch_len = sizeof scratch;
    if (!a && IsWindows()) { /* a NULL address is refused there (EFAULT) */
        a = (struct sockaddr *)&scratch;
        al = &scratch_len;
    }
    return would_wait(fd, POLLIN, flags) ? -1 : truncated(recvfrom(fd, buf, n, plain(flags), a, al), n);
}
ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    return would_wait(fd, POLLOUT, flags) ? -1
                                          : sendto(fd, buf, send_size(fd, n, flags), plain(flags), a, al);
}
ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
    if (would_wait(fd, POLLIN, flags)) return -1;
    if (!IsWindows() || !m) return recvmsg(fd, m, plain(flags));
    /* there a NULL msg_name is refused (EFAULT), and a datagram longer than the buffers fails
     * with EMSGSIZE: Linux's answers are made of Windows' */
    struct sockaddr_storage scratch;
    struct msghdr c = *m;
    if (!c.msg_name) {
        c.msg_name = &scratch;
        c.msg_namelen = sizeof scratch;
    }
    ssize_t r = recvmsg(fd, &c, plain(flags));
    if (r < 0 && errno == EMSGSIZE) {
        r = 0;
        for (size_t i = 0; c.msg_iov && i < (size_t)c.msg_iovlen; i++) r += (ssize_t)c.msg_iov[i].iov_len;
        c.msg_flags |= MSG_TRUNC;
    }
    if (m->msg_name) m->msg_namelen = c.msg_namelen;
    m->msg_controllen = c.msg_controllen;
    m->msg_flags = c.msg_flags;
    return r;
}
ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
    return would_wait(fd, POLLOUT, flags) ? -1 : sendmsg(fd, m, plain(flags));
}
ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags)
{
    return would_wait(fd, POLLOUT, flags) ? -1 : send(fd, buf, send_size(fd, n, flags), plain(flags));
}

/* Windows: poll() answers as Linux's does. Winsock answers a readable socket with POLLRDNORM
 * alone, where Linux answers every read bit asked for (POLLIN is POLLRDNORM|POLLRDBAND there).
 * Pipes are answered here, not by Cosmopolitan's poll() (which says a write end is writable, or
 * nothing, see pipe_end, and takes at most 8 pipes): a read end from PeekNamedPipe (its writer
 * gone: POLLHUP, as Linux says, not POLLERR), a write end from its room, re-asked every 1 ms, then
 * 2, 4... up to 32 ms, while the wait lasts. Cosmopolitan's poll() takes at most 64 sockets (ENOMEM
 * beyond): a larger set is polled 64 at a time without waiting, between ticks. */
#define PIPE_TICK_NS 1000000
#define PIPE_TICK_MAX_NS 32000000
#define COSMO_POLL_MAX 64
#define PIPE_ROOM (PIPE_BUF / 16)

static short pipe_revents(const struct pollfd *p, int end)
{
    if (end == 'w') {
        long room = pipe_room(p->fd);
        /* writable as Linux's pipe is, scaled: Linux's holds 16 pages and is writable while
         * one is free; Cosmopolitan's holds PIPE_BUF bytes: writable while a 16th is free.
         * Its reader gone: writable and in error. */
        return (short)((room < 0 || room >= PIPE_ROOM ? p->events & POLLOUT : 0) |
                       (room < 0 ? POLLERR : 0));
    }
#if NT_PIPES
    uint32_t avail = 0;
    struct NtFilePipeLocalInformation info;
    if (!PeekNamedPipe(pipe_handle(p->fd), NULL, 0, NULL, &avail, NULL)) return POLLHUP;
    short hup = pipe_info(p->fd, &info) && info.NamedPipeState != 3 ? POLLHUP : 0;
    return (short)((avail ? p->events & POLLIN : 0) | hup);
#else
    return 0;
#endif
}

long ap_sys_cosmo_pipe_queued(int fd)
{
#if NT_PIPES
    uint32_t avail = 0;
    if (pipe_end(fd) == 'r' && PeekNamedPipe(pipe_handle(fd), NULL, 0, NULL, &avail, NULL))
        return (long)avail;
#endif
    return (void)fd, -1;
}

/* Cosmopolitan's poll() of no fd sleeps in 200 ms slices whatever the timeout: a sleep is made
 * as one, with the wait's signal mask. */
/* 1 if a signal is pending that `mask` lets in (its handler runs once the mask is set) */
static int lets_in(const sigset_t *mask)
{
    sigset_t pending;
    if (!mask || sigpending(&pending) != 0) return 0;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&pending, sig) == 1 && sigismember(mask, sig) == 0) return 1;
    return 0;
}

static int sleep_windows(int64_t ns, const sigset_t *mask)
{
    sigset_t old;
    int in = lets_in(mask); /* then its handler runs, and the sleep is EINTR */
    if (mask) pthread_sigmask(SIG_SETMASK, mask, &old);
    struct timespec t = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    int r = ppoll(NULL, 0, &(struct timespec){0, 0}, NULL); /* delivers what the mask let in */
    if (r == 0 && in) r = -1, errno = EINTR;
    if (r == 0) r = ns < 0 ? pause() : nanosleep(&t, NULL);
    int e = errno;
    if (mask) pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r < 0 ? (errno = e, -1) : 0;
}

/* Linux's answer for a socket from Winsock's. Read bits: every one asked (POLLIN is
 * RDNORM|RDBAND there, Winsock answers RDNORM). POLLHUP there is the peer's FIN (or a reset,
 * with POLLERR): on Linux the stream is then readable (end of stream), and POLLHUP means both
 * directions are shut: received (the peer's FIN, a reset, or shutdown(SHUT_RD) here) and sent
 * (shutdown(SHUT_WR) here, or a reset). A side shut here is what ap_sys_shutdown remembered. */
static short linux_revents(const struct pollfd *p)
{
    short rv = p->revents;
    int shut = rv & POLLNVAL ? 0 : shut_sides(p->fd);
    int rcv = (rv & (POLLHUP | POLLERR)) || (shut & 1), snd = (rv & POLLERR) || (shut & 2);
    rv = (short)(rv & ~POLLHUP);
    if ((rv & POLLIN) || rcv) rv = (short)((rv & ~POLLIN) | (p->events & POLLIN));
    if (rcv && snd) rv |= POLLHUP;
    return rv;
}

/* Polls fds[from..n) that are neither negative nor pipes, at most COSMO_POLL_MAX of them, with
 * Cosmopolitan's poll(); *next is where it stopped. The answers are Linux's bits; *stale is set
 * when Winsock answered a socket with what Linux does not report (a peer's FIN to a socket
 * asking no read bit): Winsock answers so at once on every call, so the wait is made of ticks. */
static int poll_chunk(struct pollfd *fds, nfds_t n, nfds_t from, nfds_t *next, int64_t ns,
                      const sigset_t *mask, int *stale)
{
    struct pollfd tmp[COSMO_POLL_MAX];
    nfds_t at[COSMO_POLL_MAX], k = 0, i = from;
    for (; i < n && k < COSMO_POLL_MAX; i++) {
        if (fds[i].fd < 0 || pipe_end(fds[i].fd)) continue;
        tmp[k] = fds[i];
        at[k++] = i;
    }
    *next = i;
    struct timespec t = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    int r = ppoll(tmp, k, ns < 0 ? NULL : &t, mask);
    int ready = 0;
    for (nfds_t j = 0; r >= 0 && j < k; j++) {
        fds[at[j]].revents = linux_revents(&tmp[j]);
        ready += fds[at[j]].revents != 0;
        *stale |= tmp[j].revents && !fds[at[j]].revents; /* answered at once, every time */
    }
    return r < 0 ? r : ready;
}

static int ppoll_windows(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                         const sigset_t *mask)
{
    if (!fds && n) return errno = EFAULT, -1;
    int64_t deadline = ts ? ap_sys_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
    /* Linux answers a ready fd before a signal the wait's mask lets in (the mask is put back
     * without the handler running); Cosmopolitan looks for signals first: a first look is
     * made under the caller's own mask, without waiting, when such a signal is pending. */
    int looked = !lets_in(mask);
    /* doubled up to PIPE_TICK_MAX_NS while nothing happens, from one wait to the next of this
     * thread (a caller that waits in short steps, as the poll engine's own ticks do, would
     * otherwise start over at 1 ms each time) */
    static _Thread_local int64_t quiet_tick;
    int64_t tick = quiet_tick ? quiet_tick : PIPE_TICK_NS;
    int stale = 0;
    for (;;) {
        int ready = 0, pipes = 0;
        nfds_t others = 0;
        for (nfds_t i = 0; i < n; i++) {
            int end = fds[i].fd < 0 ? 0 : pipe_end(fds[i].fd);
            fds[i].revents = end ? pipe_revents(&fds[i], end) : 0;
            ready += fds[i].revents != 0;
            pipes += !!end;
            others += !end && fds[i].fd >= 0;
        }
        int64_t left = deadline < 0 ? -1 : deadline - ap_sys_now_ns();
        if (deadline >= 0 && left < 0) left = 0;
        if (ready) left = 0;
        int chunked = others > COSMO_POLL_MAX || stale;
        if ((pipes || chunked) && (left < 0 || left > tick)) left = tick;
        if (tick < PIPE_TICK_MAX_NS) tick *= 2;
        const sigset_t *m = mask;
        int first_look = !looked;
        if (first_look) {
            left = 0;
            m = NULL;
        }
        looked = 1;
        int r = 0;
        if (others && !chunked) {
            nfds_t next;
            r = poll_chunk(fds, n, 0, &next, left, m, &stale);
        } else {
            for (nfds_t from = 0; others && r >= 0 && from < n;) {
                int c = poll_chunk(fds, n, from, &from, 0, NULL, &stale);
                r = c < 0 ? c : r + c;
            }
            if (r == 0 && !ready && left) r = sleep_windows(left, m);
            else if (r == 0 && !ready && m) /* a signal the mask lets in is still looked for */
                r = ppoll(NULL, 0, &(struct timespec){0, 0}, m);
        }
        if (r < 0) return -1;
        if (r > 0 || ready) {
            quiet_tick = 0;
            return r + ready;
        }
        quiet_tick = tick;
        if (first_look) continue; /* now under the wait's mask */
        if (deadline >= 0 && ap_sys_now_ns() >= deadline) return 0;
    }
}

int ap_sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    if (!IsWindows()) return ppoll(fds, n, ts, mask);
    return ppoll_windows(fds, n, ts, mask);
}

int ap_sys_accept4(int fd, struct sockaddr *a, socklen_t *al, int flags)
{
    struct sockaddr_storage scratch;
    socklen_t scratch_len = sizeof scratch;
    if (!a) { /* Cosmopolitan 2.2 refuses a NULL address (EFAULT), on Linux and Windows alike */
        a = (struct sockaddr *)&scratch;
        al = &scratch_len;
    }
    if (!IsWindows()) return accept4(fd, a, al, flags);
    if (ap_sys_fcntl(fd, F_GETFL, 0) & O_NONBLOCK) { /* accept() there blocks regardless */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 0);
        if (n < 0) return -1;
        if (n == 0) return errno = EAGAIN, -1;
    }
    int s = accept4(fd, a, al, flags & ~SOCK_NONBLOCK);
    if (s >= 0 && (flags & SOCK_NONBLOCK) && set_nonblock_fionbio(s, 1) < 0) {
        int e = errno;
        close(s);
        return errno = e, -1;
    }
    return s;
}

/* Windows: a connected TCP pair over 127.0.0.1 (what wepoll and libuv use there too), both ends
 * made non-blocking with FIONBIO. Cosmopolitan's socketpair(AF_UNIX) is a named pipe, which
 * refuses SOCK_NONBLOCK, recv()/send() flags and more than 8 fds in one poll(). */
static int loopback_pair(int sv[2])
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    /* the user's end (sv[0], the connecting one) is made first: it takes the lowest free
     * number, as an eventfd's one fd does on Linux */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c < 0 || l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        goto fail;
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) goto fail;
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    s = accept4(l, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
    if (s < 0) goto fail;
    close(l);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (set_nonblock_fionbio(s, 1) < 0 || set_nonblock_fionbio(c, 1) < 0) goto fail;
    sv[0] = c;
    sv[1] = s;
    return 0;
fail:;
    int e = errno;
    if (l >= 0) close(l);
    if (c >= 0) close(c);
    if (s >= 0) close(s);
    return errno = e ? e : EIO, -1;
}

int ap_sys_socketpair_cloexec_nonblock(int sv[2])
{
    if (!IsWindows()) return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
    return loopback_pair(sv);
}

int ap_sys_dup_sends(void) { return !IsWindows(); }

int ap_sys_fstat(int fd, struct stat *st)
{
    int r = fstat(fd, st);
    if (r == 0 || errno != EBADF || !IsWindows()) return r;
    int type;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return errno = EBADF, -1;
    /* a socket: no device or inode there, so its number is its identity */
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFSOCK | 0777;
    st->st_dev = 0x50c4e7; /* no file system's */
    st->st_ino = (ino_t)fd + 1;
    return 0;
}
#endif /* AP_SYS_COSMO */
