/*
 * engine_table.c — the engines a build carries, in the order they are tried (engines room).
 * api/engine_choice.c walks this table; nothing else names the engines.
 *
 * Windows has neither the kernel's epoll nor poll() over anything but sockets: its build
 * carries the AFD engine alone. Every other host tries the kernel's own epoll (Linux only: its
 * probe fails elsewhere) and falls back to the poll engine.
 */
#include "engines/engine.h"

const struct ap_engine *const ap_engines[] = {
#ifdef _WIN32
    &ap_engine_win,
#else
    &ap_engine_native,
    &ap_engine_poll,
#endif
    NULL,
};
