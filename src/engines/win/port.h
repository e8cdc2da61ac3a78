/*
 * port.h — the I/O completion port an epoll instance sleeps on (engines/win room; internal to
 * the win engine).
 */
#ifndef AP_WIN_PORT_H
#define AP_WIN_PORT_H
#ifdef _WIN32

#include <windows.h>

/* The completion key of wake-up packets (AFD completions carry key 0). */
#define AP_PORT_WAKE_KEY 1

HANDLE ap_port_create(void); /* NULL with errno on failure */
void ap_port_close(HANDLE port);
/* Dequeues up to n completions, waiting at most timeout_ms (INFINITE: forever).
 * Returns how many (0 on timeout). */
int ap_port_wait(HANDLE port, OVERLAPPED_ENTRY *entries, int n, DWORD timeout_ms);
/* Wakes one thread blocked in ap_port_wait. */
void ap_port_wake(HANDLE port);

#endif
#endif
