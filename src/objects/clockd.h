/*
 * clockd.h — the helper thread of emulated timerfds and signalfds (objects room).
 *
 * One thread per process, started by the first timerfd or signalfd and kept for the life of
 * the process (restarted in a fork child that inherited timerfds or signalfds by the next
 * anypoll call that may need it: wait, poll, settime...; a read needs none). It does
 * what the kernel does from its timer interrupt and from signal generation: expiries of
 * emulated timerfds (timerfd.c) and readiness of emulated signalfds (signalfd.c), under the
 * engine lock, waking watchers — so a timerfd becomes readable at its deadline although nobody
 * is in epoll_wait or read. It blocks every signal, so it never takes one from the program.
 */
#ifndef AP_CLOCKD_H
#define AP_CLOCKD_H

#include <stdint.h>

/* Under the engine lock: the set of timers/signalfds changed; start the thread if this
 * process has none yet, and make it recompute when to wake. */
void ap_clockd_kick(void);
/* Under the engine lock: the schedule changed; wake the thread if this process has one. Never
 * starts one (in a fork child, the next wait or poll does): TSan, and POSIX for a child of a
 * multi-threaded process, forbid creating threads there, and a child that only reads, sets or
 * closes inherited timers needs none. */
void ap_clockd_poke(void);
/* The helper thread's work for one kind of object, called under the engine lock: do what is
 * due, return how long the thread may sleep in ns (-1: until kicked). */
typedef int64_t (*ap_clockd_scan_fn)(void);
/* Under the engine lock: an object whose kind needs `scan` was created (starts the thread and
 * adds scan to its round while any such object lives) / released. */
void ap_clockd_hold(ap_clockd_scan_fn scan);
void ap_clockd_drop(ap_clockd_scan_fn scan);
/* Without the lock: restarts the thread in a fork child that inherited timers or signalfds
 * (cheap when nothing is needed: one atomic load). */
void ap_clockd_ensure(void);

#endif
