/*
 * host_win.c — the engines a Windows build carries (host room): the AFD engine alone, since
 * Windows has neither the kernel's epoll nor poll() over anything but sockets.
 * Compiled on Windows only; host.c holds the table of every other host.
 */
#ifdef _WIN32
#include "engine.h"

const struct ap_engine *const ap_engines[] = {
    &ap_engine_win,
    NULL,
};
#endif
