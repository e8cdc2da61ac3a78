/*
 * aids.c — which host aids answer (host room; see aids.h): the host family's, or the plain-POSIX
 * ones when ANYPOLL_HOST_AIDS=posix (read once, at the first question).
 *
 * May call: aids_linux.c, aids_bsd.c, aids_posix.c (through aids.h), libc.
 */
#include "host/aids.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic(const struct ap_host_aids *) chosen;

static const struct ap_host_aids *aids(void)
{
    const struct ap_host_aids *a = atomic_load_explicit(&chosen, memory_order_acquire);
    if (a) return a;
    const char *want = getenv("ANYPOLL_HOST_AIDS");
    a = want && !strcmp(want, "posix") ? &ap_aids_posix : AP_AIDS_HOST;
    atomic_store_explicit(&chosen, a, memory_order_release); /* the same answer in every race */
    return a;
}

const char *ap_host_aids_name(void) { return aids()->name; }

long ap_sys_queue_size(int fd, enum ap_queue what)
{
    const struct ap_host_aids *a = aids();
    long n;
    switch (what) {
    case AP_QUEUE_DGRAM:
        return a->dgram_queued(fd);
    case AP_QUEUE_ACCEPT:
        return a->accept_queued(fd);
    case AP_QUEUE_BYTES:
        break;
    }
    n = ap_aids_bytes_queued(fd);
    return n >= 0 ? n : a->accept_queued(fd); /* a listener the caller could not tell */
}

int ap_sys_queue_measured_through(int fd) { return aids()->measured_through(fd); }

short ap_sys_poll_rdhup(void) { return aids()->peer_shutdown_bit(); }
