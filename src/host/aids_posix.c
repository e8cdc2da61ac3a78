/*
 * aids_posix.c — the plain-POSIX host aids: none (host room; see aids.h).
 *
 * What every POSIX host answers: the bytes of a byte stream (FIONREAD, present on Linux, every
 * BSD, macOS and Cosmopolitan). A datagram queue's growth and a listener's accept queue cannot
 * be asked: POSIX leaves FIONREAD on a datagram socket unspecified (Linux answers the next
 * datagram's size, the BSDs every queued byte) and has nothing for a listener; its poll() has
 * no bit for the peer's shutdown (POLLRDHUP is Linux's and FreeBSD's). The poll engine
 * then treats a receive it cannot measure as a possible arrival (evidence.c) and reports
 * EPOLLET on those sockets late or not at all where the kernel would report again: the gaps
 * docs/design.md lists per host family. Used on hosts of no known family, and on any host with
 * ANYPOLL_HOST_AIDS=posix.
 */
#include "host/aids.h"

#include <sys/ioctl.h>

long ap_aids_bytes_queued(int fd)
{
#if AP_SYS_COSMO
    long q = ap_sys_cosmo_pipe_queued(fd);
    if (q >= 0) return q;
#endif
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? (long)n : -1;
}

static long unknown(int fd)
{
    (void)fd;
    return -1;
}

static int not_through(int fd)
{
    (void)fd;
    return 0;
}

static short no_bit(void) { return 0; }

const struct ap_host_aids ap_aids_posix = {"posix", unknown, unknown, not_through, no_bit};
