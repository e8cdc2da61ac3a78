/*
 * afd.h — the AFD driver's poll request, the one readiness primitive Windows has for
 * sockets (engines/win room; internal to the win engine). See docs/windows.md.
 */
#ifndef AP_WIN_AFD_H
#define AP_WIN_AFD_H
#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>
#include <stdint.h>

/* Event bits of IOCTL_AFD_POLL (the driver's, as wepoll, mio and libuv use them). */
#define AP_AFD_RECEIVE 0x0001u
#define AP_AFD_RECEIVE_EXPEDITED 0x0002u
#define AP_AFD_SEND 0x0004u
#define AP_AFD_DISCONNECT 0x0008u
#define AP_AFD_ABORT 0x0010u
#define AP_AFD_LOCAL_CLOSE 0x0020u
#define AP_AFD_ACCEPT 0x0080u
#define AP_AFD_CONNECT_FAIL 0x0100u

typedef LONG ap_ntstatus;

struct ap_afd_io_status {
    union {
        ap_ntstatus Status;
        void *Pointer;
    };
    ULONG_PTR Information;
};

struct ap_afd_poll_info {
    LARGE_INTEGER Timeout;
    ULONG NumberOfHandles;
    ULONG Exclusive;
    struct {
        HANDLE Handle;
        ULONG Events;
        ap_ntstatus Status;
    } Handles[1];
};

/* One outstanding poll request: its status block is what the completion port hands back. */
struct ap_afd_req {
    struct ap_afd_io_status iosb;
    struct ap_afd_poll_info info;
};

/* Opens a handle on \Device\Afd; with `port`, associated with that completion port.
 * NULL (errno set) on failure. */
HANDLE ap_afd_open(HANDLE port);
/* The base provider socket under any layered ones (SIO_BASE_HANDLE); INVALID_SOCKET if `s`
 * is not a socket. */
SOCKET ap_afd_base(SOCKET s);
/* Starts an asynchronous poll of `base` for `events` on `afd`; its completion arrives on the
 * port with the request's iosb as the OVERLAPPED pointer. 0, or -1 with errno. */
int ap_afd_poll_async(HANDLE afd, SOCKET base, uint32_t events, struct ap_afd_req *req);
/* Asks the driver to complete a pending request now (it still completes on the port). */
void ap_afd_cancel(HANDLE afd, struct ap_afd_req *req);
/* Events of a completed request: 0 when none (cancelled, timed out). */
uint32_t ap_afd_result(const struct ap_afd_req *req);
/* The socket's readiness right now, among `events` (a zero-timeout poll, synchronous).
 * Returns AP_AFD_LOCAL_CLOSE when the socket no longer exists. */
uint32_t ap_afd_poll_now(SOCKET base, uint32_t events);

#endif
#endif
