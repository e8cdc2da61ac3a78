/*
 * afd.c — the AFD poll request (engines/win room): opening \Device\Afd, resolving a
 * socket to its base provider socket, and issuing IOCTL_AFD_POLL through NtDeviceIoControlFile,
 * asynchronously (completed on a port) or at once (a zero timeout, for levels). Touches nothing
 * but the driver. Compiled on Windows only.
 */
#ifdef _WIN32
#include "engines/win/afd.h"

#include <errno.h>
#include <winternl.h>

#define IOCTL_AFD_POLL 0x00012024
#define SIO_BASE_HANDLE_ 0x48000022
#define STATUS_PENDING_ ((ap_ntstatus)0x00000103L)

/* mingw's headers do not declare it; ntdll exports it on every Windows version and Wine. */
NTSTATUS NTAPI NtDeviceIoControlFile(HANDLE file, HANDLE event, PIO_APC_ROUTINE apc, PVOID ctx,
                                     PIO_STATUS_BLOCK iosb, ULONG code, PVOID in, ULONG inlen,
                                     PVOID out, ULONG outlen);

HANDLE ap_afd_open(HANDLE port)
{
    /* Any name under \Device\Afd opens the driver itself; wepoll's name tells who did it. */
    static WCHAR path[] = L"\\Device\\Afd\\anypoll";
    UNICODE_STRING name = {sizeof path - sizeof path[0], sizeof path, path};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, 0, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h = NULL;
    NTSTATUS st = NtCreateFile(&h, SYNCHRONIZE, &oa, &iosb, NULL, 0,
                               FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0, NULL, 0);
    if (st != 0) {
        errno = ENOSYS;
        return NULL;
    }
    if (port) {
        if (!CreateIoCompletionPort(h, port, 0, 0)) {
            CloseHandle(h);
            errno = ENOMEM;
            return NULL;
        }
        /* no event to signal: completions are only read from the port */
        SetFileCompletionNotificationModes(h, FILE_SKIP_SET_EVENT_ON_HANDLE);
    }
    return h;
}

SOCKET ap_afd_base(SOCKET s)
{
    SOCKET base = INVALID_SOCKET;
    DWORD n = 0;
    int err = WSAGetLastError(); /* a probe: the caller's last error stays */
    if (WSAIoctl(s, SIO_BASE_HANDLE_, NULL, 0, &base, sizeof base, &n, NULL, NULL) != 0)
        base = INVALID_SOCKET;
    WSASetLastError(err);
    return base;
}

int ap_afd_poll_async(HANDLE afd, SOCKET base, uint32_t events, struct ap_afd_req *req)
{
    req->info.Timeout.QuadPart = INT64_MAX;
    req->info.NumberOfHandles = 1;
    req->info.Exclusive = FALSE;
    req->info.Handles[0].Handle = (HANDLE)base;
    req->info.Handles[0].Events = events;
    req->info.Handles[0].Status = 0;
    req->iosb.Status = STATUS_PENDING_;
    NTSTATUS st = NtDeviceIoControlFile(afd, NULL, NULL, &req->iosb, (PIO_STATUS_BLOCK)&req->iosb,
                                        IOCTL_AFD_POLL, &req->info, sizeof req->info, &req->info,
                                        sizeof req->info);
    /* success or pending: either way the completion is queued on the port */
    if (st == 0 || st == STATUS_PENDING_) return 0;
    errno = ENOMEM;
    return -1;
}

void ap_afd_cancel(HANDLE afd, struct ap_afd_req *req)
{
    if (req->iosb.Status == STATUS_PENDING_) CancelIoEx(afd, (OVERLAPPED *)&req->iosb);
}

uint32_t ap_afd_result(const struct ap_afd_req *req)
{
    if (req->iosb.Status != 0 || req->info.NumberOfHandles < 1) return 0;
    return req->info.Handles[0].Events;
}

uint32_t ap_afd_poll_now(SOCKET base, uint32_t events)
{
    /* A private handle not tied to any port, so the answer comes back here; callers hold the
     * engine lock, which also serialises this handle and its event. */
    static HANDLE afd, ev;
    if (!afd) afd = ap_afd_open(NULL);
    if (!ev) ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!afd || !ev) return 0;
    struct ap_afd_poll_info info;
    info.Timeout.QuadPart = 0;
    info.NumberOfHandles = 1;
    info.Exclusive = FALSE;
    info.Handles[0].Handle = (HANDLE)base;
    info.Handles[0].Events = events | AP_AFD_LOCAL_CLOSE;
    info.Handles[0].Status = 0;
    IO_STATUS_BLOCK iosb;
    NTSTATUS st = NtDeviceIoControlFile(afd, ev, NULL, NULL, &iosb, IOCTL_AFD_POLL, &info,
                                        sizeof info, &info, sizeof info);
    if (st == STATUS_PENDING_) {
        WaitForSingleObject(ev, INFINITE);
        st = iosb.Status;
    }
    if (st != 0) return AP_AFD_LOCAL_CLOSE; /* the driver refuses the handle: it is gone */
    if (info.NumberOfHandles < 1) return 0;
    return info.Handles[0].Events & (events | AP_AFD_LOCAL_CLOSE);
}
#endif
