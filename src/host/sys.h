/*
 * sys.h — the host's own calls, as the library must reach them (host room; internal): fd calls,
 * clocks, threads, memory a fork() shares.
 *
 * Engines, the object layer and the front end never call read(), close(), poll()... directly: in
 * the drop-in build those names are anypoll's own, and calling them from inside would recurse.
 * Everything that must reach the host goes through these, implemented once per host family:
 * sys_posix.c (every POSIX host), sys_linux.c (Linux's direct system calls, over sys_posix.c),
 * sys_win.c (Windows). The host room calls nothing outside itself.
 */
#ifndef AP_SYS_H
#define AP_SYS_H

#include "anypoll.h"


/* Where the library reaches the kernel by direct system calls (sys_linux.c), never through
 * libc's names: only there can the drop-in (dropin.c) export read, close, poll... itself. */
#ifndef AP_SYS_DIRECT /* -DAP_SYS_DIRECT=0 builds the libc path (other hosts') on Linux too */
#if defined(__linux__) && !defined(__COSMOPOLITAN__) && (defined(__x86_64__) || defined(__aarch64__))
#define AP_SYS_DIRECT 1
#else
#define AP_SYS_DIRECT 0
#endif
#endif
/* Where sigtimedwait is the kernel's own call (sys_linux.c), whatever AP_SYS_DIRECT says: glibc's
 * wrapper rewrites SI_TKILL as SI_USER, the kernel's signalfd does not. */
#if defined(__linux__) && !defined(__COSMOPOLITAN__) && (defined(__x86_64__) || defined(__aarch64__))
#define AP_SYS_RAW_SIGTIMEDWAIT 1
#else
#define AP_SYS_RAW_SIGTIMEDWAIT 0
#endif
/* A Cosmopolitan binary (one APE for every host) is a host family of its own: sys_cosmo.c asks
 * at run time which kernel it is on and serves the calls that behave otherwise there (Windows
 * above all), over sys_posix.c's. */
#if defined(__COSMOPOLITAN__)
#define AP_SYS_COSMO 1
#if __has_include(<cosmo.h>)
#include <cosmo.h> /* IsLinux(), IsWindows(), IsXnu()...: cosmocc (Cosmopolitan 3 and later) */
#elif __has_include(<libc/dce.h>)
#include <libc/dce.h> /* the same in Cosmopolitan 2.x's include tree */
#endif
/* The bytes queued in one of Cosmopolitan's pipes on Windows (its FIONREAD answers nothing
 * there), or -1 when fd is none (sys_cosmo.c). */
long ap_sys_cosmo_pipe_queued(int fd);
#else
#define AP_SYS_COSMO 0
#endif
#if AP_SYS_DIRECT
/* One system call, the kernel's raw answer (-errno on failure). */
long ap_sys_raw(long n, long a, long b, long c, long d, long e, long f);
#endif

ssize_t ap_sys_read(int fd, void *buf, size_t n);
ssize_t ap_sys_write(int fd, const void *buf, size_t n);
ssize_t ap_sys_readv(int fd, const struct iovec *iov, int n);
ssize_t ap_sys_writev(int fd, const struct iovec *iov, int n);
/* The flag the library gives ap_sys_recv/ap_sys_send/... for a call that must not wait:
 * MSG_DONTWAIT, except in a Cosmopolitan binary on Windows, where MSG_DONTWAIT is 0 (the
 * call would wait on a blocking socket): a bit of the library's own there, which sys_cosmo.c
 * takes off before the call. */
#if AP_SYS_COSMO
#define AP_SYS_DONTWAIT_BIT 0x40000000
#define AP_DONTWAIT (MSG_DONTWAIT ? MSG_DONTWAIT : AP_SYS_DONTWAIT_BIT)
#else
#define AP_DONTWAIT MSG_DONTWAIT
#endif
ssize_t ap_sys_recv(int fd, void *buf, size_t n, int flags);
ssize_t ap_sys_send(int fd, const void *buf, size_t n, int flags);
ssize_t ap_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *al);
ssize_t ap_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
                      socklen_t al);
ssize_t ap_sys_recvmsg(int fd, struct msghdr *m, int flags);
int ap_sys_shutdown(int fd, int how);
ssize_t ap_sys_sendmsg(int fd, const struct msghdr *m, int flags);
int ap_sys_accept4(int fd, struct sockaddr *a, socklen_t *al, int flags);
int ap_sys_close(int fd);
int ap_sys_dup(int fd);
int ap_sys_dup3(int oldfd, int newfd, int flags); /* flags: 0 or O_CLOEXEC; oldfd==newfd ok */
int ap_sys_fcntl(int fd, int cmd, intptr_t arg);
/* fstat(); a host that cannot fstat a socket (Windows under Cosmopolitan) describes it itself. */
struct stat;
int ap_sys_fstat(int fd, struct stat *st);
/* ppoll with a relative timeout (NULL: forever) and an optional atomic signal mask. */
int ap_sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);
int ap_sys_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv);
int ap_sys_pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *mask);
int ap_sys_socketpair_cloexec_nonblock(int sv[2]); /* AF_UNIX stream, both ends */
/* Moves a private fd of anypoll's out of the program's way, to a high number (close-on-exec),
 * so the numbers the program gets stay the lowest free ones, as with the kernel's objects.
 * Returns the new number, or fd itself if it cannot be moved. */
int ap_sys_move_high(int fd);
/* 1 if a socket's dup (dup, F_DUPFD) can send; 0 on Windows under Cosmopolitan (WSAENOTSOCK). */
int ap_sys_dup_sends(void);
/* How much waits to be read, in a unit that grows with every arrival: bytes for streams,
 * queued memory for datagram sockets, pending connections for listeners. -1 if unknown.
 * Answered by the host aids (aids.h: aids_linux.c, aids_bsd.c, aids_posix.c, chosen by aids.c;
 * ANYPOLL_HOST_AIDS=posix asks only what plain POSIX offers). */
enum ap_queue { AP_QUEUE_BYTES, AP_QUEUE_DGRAM, AP_QUEUE_ACCEPT };
long ap_sys_queue_size(int fd, enum ap_queue what);
/* 1 if fd is a datagram socket whose sent datagrams are what measures its peer's queue (Linux's
 * AF_UNIX: the peer's queue size is this socket's queued memory, gone once it is closed). */
int ap_sys_queue_measured_through(int fd);
/* The poll() bit reporting a stream's peer shutdown (Linux's POLLRDHUP), or 0 where the host
 * aids have none (plain POSIX, macOS, NetBSD, OpenBSD): then a readable stream socket whose
 * MSG_PEEK receive answers 0 is at end of stream. Answered by the host aids like the above. */
short ap_sys_poll_rdhup(void);

/* Monotonic clock in nanoseconds. */
int64_t ap_sys_now_ns(void);
/* The clock `clockid` (a Linux clock id the host may lack: then CLOCK_MONOTONIC) in ns. */
int64_t ap_sys_clock_ns(int clockid);

/* Zeroed memory that a fork() child shares with its parent (where the host forks), for the state
 * the kernel keeps in the open file; NULL if none. */
void *ap_sys_shared_alloc(size_t n);
void ap_sys_shared_free(void *p, size_t n);
/* pthread_atfork where the host forks; nothing elsewhere. */
void ap_sys_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* A bell: a helper thread sleeps until it rings or a timeout passes; ringing never blocks.
 * POSIX hosts: a socket pair, both numbers moved high, rung by a byte on w: r is readable while
 * a ring is pending, so the poll engine's instances put r in their poll() sets to wake their
 * waiters. Windows: an event. */
#ifdef _WIN32
struct ap_bell { void *event; };
#else
struct ap_bell { int r, w; };
#endif
int ap_sys_bell_open(struct ap_bell *b); /* 0, or -1 with errno */
void ap_sys_bell_close(struct ap_bell *b);
void ap_sys_bell_ring(struct ap_bell *b);
void ap_sys_bell_clear(struct ap_bell *b); /* forgets rings so far: the next wait sleeps */
void ap_sys_bell_wait(struct ap_bell *b, int64_t timeout_ns); /* -1: until it rings */
/* Starts a detached helper thread that blocks every signal from its first instruction (it must
 * never take a signal meant for the program). 0, or an errno value. */
int ap_sys_thread_start(void *(*fn)(void *), void *arg);
/* 1 if the process may do what Linux reserves to privileged ones (CAP_WAKE_ALARM). */
int ap_sys_privileged(void);
#ifndef _WIN32
/* Names the object layer reads in a siginfo that some hosts spell otherwise or lack (macOS):
 * Linux's SI_KERNEL (no other host's code reaches it), SIGPOLL as the SIGIO it is on Linux. */
#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif
#if !defined(SIGPOLL) && defined(SIGIO)
#define SIGPOLL SIGIO
#endif
/* sigtimedwait(2), keeping the kernel's si_code (on Linux the system call itself: glibc's
 * wrapper rewrites SI_TKILL as SI_USER). Hosts without it (macOS, OpenBSD): sigpending then
 * sigwait, which knows only the signal's number (si_code SI_USER, no sender) and waits for a
 * timeout in 1 ms steps; a signal another thread takes between the two is waited for again. */
int ap_sys_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts);
/* After a blocking read's wait failed with EINTR (a handler ran in it): 1 if the kernel would
 * have restarted the read (its -ERESTARTSYS under SA_RESTART), 0 if it returns EINTR. The wait
 * cannot tell which signal ran, so this asks the dispositions of every signal the calling
 * thread does not block (but the synchronous ones a fault raises: SIGSEGV, SIGBUS...): 1 if
 * each one with a handler has SA_RESTART, 0 if any has not (then
 * the caller gets EINTR even when the handler that ran had SA_RESTART: a retry loop handles a
 * spurious EINTR, while a restart the kernel would not make could block for ever). */
int ap_sys_handler_restarts(void);
#endif

#endif
