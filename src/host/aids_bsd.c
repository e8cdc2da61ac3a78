/*
 * aids_bsd.c — the host aids of macOS, FreeBSD, NetBSD, OpenBSD and DragonFly (host room; see
 * aids.h). What each rests on (the kernels' own source, since no manual page says it exactly):
 *
 * - A datagram socket's queue: FIONREAD answers every byte in the receive buffer, which grows
 *   with each arrival — XNU's soioctl returns so_rcv.sb_cc, FreeBSD's soo_ioctl
 *   sbavail(&so_rcv) less its control bytes; NetBSD, OpenBSD and DragonFly keep 4.4BSD's
 *   so_rcv.sb_cc (argued from the common descent, not checked here). AF_UNIX datagrams queue at
 *   the receiver on the BSDs, so nothing is measured through the sender. macOS's SO_NREAD is
 *   *not* that: its header calls it the "1st-packet byte count" (Linux's FIONREAD meaning), so
 *   it is not used; nor is SO_NWRITE (the send buffer), which says nothing about arrivals.
 * - A listener's accept queue: FreeBSD's SO_LISTENQLEN (sol_qlen, completed connections). The
 *   others have none: unknown (-1), and the engine's portable path applies (aids_posix.c).
 * - The peer's shutdown in poll(): FreeBSD's <sys/poll.h> has POLLRDHUP ("half shut down",
 *   0x4000, since FreeBSD 13); macOS's (XNU's <sys/poll.h>, as zig ships it), NetBSD's and
 *   OpenBSD's have none: 0, and the engine peeks (MSG_PEEK) as on plain POSIX.
 *
 * Compiles to nothing elsewhere.
 */
#include "host/aids.h"

#if AP_AIDS_BSD

#include <sys/socket.h>

static long dgram_queued(int fd) { return ap_aids_bytes_queued(fd); }

static long accept_queued(int fd)
{
#ifdef SO_LISTENQLEN /* FreeBSD */
    int n = 0;
    socklen_t len = sizeof n;
    if (getsockopt(fd, SOL_SOCKET, SO_LISTENQLEN, &n, &len) == 0) return n;
#else
    (void)fd;
#endif
    return -1;
}

static int not_through(int fd)
{
    (void)fd;
    return 0;
}

static short peer_shutdown_bit(void)
{
#ifdef POLLRDHUP /* FreeBSD 13 and later */
    return POLLRDHUP;
#else
    return 0;
#endif
}

const struct ap_host_aids ap_aids_bsd = {"bsd", dgram_queued, accept_queued, not_through,
                                         peer_shutdown_bit};

#else
typedef int ap_aids_bsd_unused; /* another host family: aids_linux.c or aids_posix.c */
#endif
