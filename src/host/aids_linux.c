/*
 * aids_linux.c — the Linux host aids (host room; see aids.h): a datagram socket's queued memory
 * (SO_MEMINFO; for AF_UNIX the sender's queued memory, asked of NETLINK_SOCK_DIAG), a
 * listener's accept queue (TCP_INFO), and AF_UNIX datagram queues measured through their
 * sender, and poll()'s POLLRDHUP (since 2.6.17) for the peer's shutdown. Linux's FIONREAD on a datagram socket is only the next datagram's size: it does not
 * grow with an arrival behind it, so it is the last resort here.
 *
 * Compiles to nothing off Linux. ANYPOLL_HOST_AIDS=posix sets it aside (aids.c).
 */
#include "host/aids.h"

#if AP_AIDS_LINUX

#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>

static long accept_queue(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        len >= offsetof(struct tcp_info, tcpi_unacked) + sizeof ti.tcpi_unacked &&
        ti.tcpi_state == 10 /* LISTEN */)
        return (long)ti.tcpi_unacked; /* a listener's unacked is its accept queue */
    return -1;
}

/* Linux charges an AF_UNIX datagram to its sender: the receiver has no byte or memory count that
 * grows (FIONREAD and sock_diag's RQLEN are the first datagram's size). The sender's queued
 * memory does, and sock_diag tells it for a connected socket's peer. The few netlink structures
 * are spelled out here, as the kernel's ABI fixes them. */
struct ap_nlmsghdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};
struct ap_unix_diag_req {
    uint8_t family, protocol;
    uint16_t pad;
    uint32_t states, ino, show, cookie[2];
};
struct ap_unix_diag_msg {
    uint8_t family, type, state, pad;
    uint32_t ino, cookie[2];
};
struct ap_rtattr {
    uint16_t len, type;
};

/* Asks sock_diag about the AF_UNIX socket with inode `ino`; copies attribute `want` (at most
 * 8 bytes) into out. 0, or -1. */
static int unix_diag(uint32_t ino, uint32_t show, uint16_t want, void *out, size_t outlen)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 4 /* NETLINK_SOCK_DIAG */);
    if (nl < 0) return -1;
    struct {
        struct ap_nlmsghdr h;
        struct ap_unix_diag_req r;
    } q = {{sizeof q, 20 /* SOCK_DIAG_BY_FAMILY */, 1 /* NLM_F_REQUEST */, 1, 0},
           {AF_UNIX, 0, 0, ~0u, ino, show, {~0u, ~0u}}};
    union {
        char b[512];
        struct ap_nlmsghdr h;
    } a;
    int rc = -1;
    ssize_t got;
    if (ap_sys_send(nl, &q, sizeof q, 0) == (ssize_t)sizeof q &&
        (got = ap_sys_recv(nl, &a, sizeof a, 0)) > 0 &&
        (size_t)got >= sizeof a.h + sizeof(struct ap_unix_diag_msg) && a.h.type == 20) {
        size_t off = sizeof a.h + sizeof(struct ap_unix_diag_msg);
        while (off + sizeof(struct ap_rtattr) <= (size_t)got) {
            struct ap_rtattr at;
            memcpy(&at, a.b + off, sizeof at);
            if (at.len < sizeof at || off + at.len > (size_t)got) break;
            if (at.type == want && at.len >= sizeof at + outlen) {
                memcpy(out, a.b + off + sizeof at, outlen);
                rc = 0;
                break;
            }
            off += (at.len + 3u) & ~3u;
        }
    }
    ap_sys_close(nl);
    return rc;
}

/* Memory the peer still has queued to us: it grows with every datagram it sends. */
static long unix_datagrams_queued(int fd)
{
    struct stat st;
    uint32_t peer, rql[2];
    if (fstat(fd, &st) < 0 ||
        unix_diag((uint32_t)st.st_ino, 0x04 /* UDIAG_SHOW_PEER */, 2 /* UNIX_DIAG_PEER */, &peer,
                  sizeof peer) < 0 || !peer ||
        unix_diag(peer, 0x10 /* UDIAG_SHOW_RQLEN */, 4 /* UNIX_DIAG_RQLEN */, rql, sizeof rql) < 0)
        return -1;
    return (long)rql[1]; /* the peer's udiag_wqueue */
}

static int is_unix(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    return getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX;
}

static long dgram_queued(int fd)
{
    uint32_t mem[16] = {0}; /* SK_MEMINFO_*: index 0 is the receive queue's memory */
    socklen_t len = sizeof mem;
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && mem[0]) return (long)mem[0];
    if (is_unix(fd)) return unix_datagrams_queued(fd);
    long n = ap_aids_bytes_queued(fd); /* the next datagram's size: better than nothing */
    return n >= 0 ? n : accept_queue(fd);
}

static int measured_through(int fd)
{
    int type = 0;
    socklen_t tl = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM && is_unix(fd);
}

static short peer_shutdown_bit(void) { return POLLRDHUP; }

const struct ap_host_aids ap_aids_linux = {"linux", dgram_queued, accept_queue, measured_through,
                                           peer_shutdown_bit};

#else
typedef int ap_aids_linux_unused; /* another host family: aids_bsd.c or aids_posix.c */
#endif
