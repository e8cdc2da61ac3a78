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
 *   all      accept4() refuses a NULL address (Cosmopolitan 2.2): a scratch one is passed;
 *   Linux    read() into NULL and readv() of a NULL vector are answered (EFAULT, SIGSEGV) before
 *            the kernel, which answers otherwise: they are made as direct system calls.
 *
 * Compiles to nothing outside Cosmopolitan. May call: libc (Cosmopolitan's), host/sys.h,
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
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
    return r;
}

int ap_sys_close(int fd)
{
    if (IsWindows() && fd >= 0 && fd < FIONBIO_FDS) atomic_store(&fionbio_set[fd], 0);
    return close(fd);
}

/* Windows: 1 if an I/O call on fd would wait although it must not (a non-blocking fd, or
 * MSG_DONTWAIT, which is 0 there): Cosmopolitan's overlapped socket I/O waits for completion
 * whatever FIONBIO says, so readiness is asked first. errno is EAGAIN when it says so. */
static int would_wait(int fd, short ev, int flags)
{
    if (!IsWindows()) return 0;
    if (!(flags & MSG_DONTWAIT) && !(ap_sys_fcntl(fd, F_GETFL, 0) & O_NONBLOCK)) return 0;
    struct pollfd p = {.fd = fd, .events = ev};
    if (poll(&p, 1, 0) != 0) return 0; /* ready, or an error the call itself will report */
    errno = EAGAIN;
    return 1;
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

ssize_t ap_sys_read(int fd, void *buf, size_t n)
{
    if (would_wait(fd, POLLIN, 0)) return -1;
    if (n && kernel_reads(buf)) return kernel_read(LINUX_NR_read, fd, buf, (long)n);
    return read(fd, buf, n);
}
ssize_t ap_sys_write(int fd, const void *buf, size_t n)
{
    return would_wait(fd, POLLOUT, 0) ? -1 : write(fd, buf, n);
}
ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n)
{
    if (would_wait(fd, POLLIN, 0)) return -1;
    if (n > 0 && kernel_reads(iov)) return kernel_read(LINUX_NR_readv, fd, iov, n);
    return readv(fd, iov, n);
}
ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n)
{
    return would_wait(fd, POLLOUT, 0) ? -1 : writev(fd, iov, n);
}
ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags)
{
    return would_wait(fd, POLLIN, flags) ? -1 : recv(fd, buf, n, flags);
}
ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al)
{
    return would_wait(fd, POLLIN, flags) ? -1 : recvfrom(fd, buf, n, flags, a, al);
}
ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al)
{
    return would_wait(fd, POLLOUT, flags) ? -1 : sendto(fd, buf, n, flags, a, al);
}
ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
    return would_wait(fd, POLLIN, flags) ? -1 : recvmsg(fd, m, flags);
}
ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
    return would_wait(fd, POLLOUT, flags) ? -1 : sendmsg(fd, m, flags);
}
ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags)
{
    return would_wait(fd, POLLOUT, flags) ? -1 : send(fd, buf, n, flags);
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
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, s = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        goto fail;
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0) goto fail;
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    s = accept4(l, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
    if (s < 0) goto fail;
    close(l);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (set_nonblock_fionbio(s, 1) < 0 || set_nonblock_fionbio(c, 1) < 0) goto fail;
    sv[0] = s;
    sv[1] = c;
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
