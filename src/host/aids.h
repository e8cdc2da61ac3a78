/*
 * aids.h — what the poll engine may ask the host beyond POSIX (host room; internal): how much
 * waits in a datagram socket's queue, how many connections wait on a listener, whether a
 * datagram queue is measured through its sender, which poll() bit reports the peer's shutdown.
 * One question each, one implementation per host family, found by name:
 *
 *   aids_linux.c  Linux: SO_MEMINFO, NETLINK_SOCK_DIAG (AF_UNIX datagrams), TCP_INFO (listeners),
 *                 POLLRDHUP
 *   aids_bsd.c    macOS, FreeBSD, NetBSD, OpenBSD, DragonFly: FIONREAD on a datagram socket
 *                 (every queued byte), SO_LISTENQLEN (FreeBSD), POLLRDHUP (FreeBSD 13 and later)
 *   aids_posix.c  plain POSIX: none of them (every host, and the run-time switch below)
 *
 * Each family file compiles to nothing on the hosts of another family. aids.c chooses: the
 * host's family, or plain POSIX when the environment says ANYPOLL_HOST_AIDS=posix (read once),
 * so that what a host without the aids gets can be measured on Linux (docs/design.md, "Host
 * aids"). The engine asks ap_sys_queue_size and ap_sys_poll_rdhup (sys.h) and never knows
 * which answered.
 *
 * May call: host/sys.h (the fd calls), libc. Called by aids.c only.
 */
#ifndef AP_AIDS_H
#define AP_AIDS_H

#include "host/sys.h"

struct ap_host_aids {
    const char *name; /* "linux", "bsd", "posix" */
    /* A datagram socket's queue, in a unit that grows with every arrival; -1: unknown. */
    long (*dgram_queued)(int fd);
    /* A listener's pending connections; -1: unknown. */
    long (*accept_queued)(int fd);
    /* 1 if fd is a datagram socket whose sent datagrams measure its peer's queue. */
    int (*measured_through)(int fd);
    /* The poll() bit that reports a stream's peer shut down its sending side (and is asked
     * for like POLLIN); 0 where poll() has none: the engine then tells end of stream from data
     * by a MSG_PEEK receive. A call, not a field: on some hosts it is known only at run time. */
    short (*peer_shutdown_bit)(void);
};

/* Bytes waiting in a byte stream (pipe, stream or seqpacket socket, terminal): FIONREAD, which
 * every host family anypoll targets has, though POSIX does not name it; -1 if refused. */
long ap_aids_bytes_queued(int fd);

extern const struct ap_host_aids ap_aids_posix;
#if defined(__linux__) && !defined(__COSMOPOLITAN__)
#define AP_AIDS_LINUX 1
extern const struct ap_host_aids ap_aids_linux;
#define AP_AIDS_HOST (&ap_aids_linux)
#elif !defined(__COSMOPOLITAN__) &&                                                                \
    (defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) ||  \
     defined(__DragonFly__))
#define AP_AIDS_BSD 1
extern const struct ap_host_aids ap_aids_bsd;
#define AP_AIDS_HOST (&ap_aids_bsd)
#else
#define AP_AIDS_HOST (&ap_aids_posix)
#endif

/* The aids in use ("linux", "bsd" or "posix"), after the switch. */
const char *ap_host_aids_name(void);

#endif
