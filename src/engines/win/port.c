/*
 * port.c — the completion port of an epoll instance (engines/win room): creating it,
 * sleeping on it with GetQueuedCompletionStatusEx, and waking its sleepers with a packet of our
 * own. Touches nothing else. Compiled on Windows only.
 */
#ifdef _WIN32
#include "engines/win/port.h"

#include <errno.h>

HANDLE ap_port_create(void)
{
    HANDLE p = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (!p) errno = ENOMEM;
    return p;
}

void ap_port_close(HANDLE port) { CloseHandle(port); }

int ap_port_wait(HANDLE port, OVERLAPPED_ENTRY *entries, int n, DWORD timeout_ms)
{
    ULONG got = 0;
    if (!GetQueuedCompletionStatusEx(port, entries, (ULONG)n, &got, timeout_ms, FALSE)) return 0;
    return (int)got;
}

void ap_port_wake(HANDLE port) { PostQueuedCompletionStatus(port, 0, AP_PORT_WAKE_KEY, NULL); }
#endif
