/*
 * clockd.c — the helper thread of emulated timerfds and signalfds (see clockd.h). Objects room:
 * uses object.h's lock and host/sys.h's calls only; knows nothing of engines or epoll instances
 * (waking watchers goes through ap_obj_changed, like an eventfd write), nor of the kinds it
 * serves: timerfd.c and signalfd.c hand it their scan.
 *
 * It sleeps on a bell of its own (host/sys.h: a socket pair on POSIX hosts, an event on
 * Windows) until the earliest timer deadline (or the signalfd check tick); ap_clockd_kick()
 * rings it when a settime or a new object changes the schedule. After fork() the child has no thread: the atfork handler only notes
 * that one must be started (creating a thread inside the child handler is what TSan and
 * POSIX forbid), and the next anypoll call that may need it does so.
 */
#include "objects/clockd.h"
#include "objects/object.h"
#include "host/sys.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

static int running;      /* a thread serves this process (under lock) */
static unsigned gen;     /* bumped when a thread is started: an older one quits */
static struct ap_bell bell; /* rung when the schedule changes (under lock) */
static atomic_int restart; /* fork child: a thread must be started */
static int users;          /* live timerfds and signalfds (under lock) */
static pthread_once_t clockd_atfork_once = PTHREAD_ONCE_INIT;

/* The kinds whose objects need the thread, each with how many of them live (under lock). */
#define MAX_SCANS 4
static struct {
    ap_clockd_scan_fn scan;
    int users;
} scans[MAX_SCANS];

static void child_after_fork(void)
{
    /* The parent's thread is not here; its bell is shared with the parent, so the child makes
     * its own (the parent's thread would otherwise take the child's rings). */
    if (running) {
        running = 0;
        ap_sys_bell_close(&bell);
        atomic_store(&restart, users > 0);
    }
}
static void clockd_install_atfork(void) { ap_sys_atfork(NULL, NULL, child_after_fork); }

static void *clockd_main(void *arg)
{
    unsigned mine = (unsigned)(uintptr_t)arg;
    for (;;) {
        ap_lock();
        if (mine != gen || !running) {
            ap_unlock();
            return NULL;
        }
        ap_sys_bell_clear(&bell); /* rings from now on make the wait below return */
        int64_t t = -1;
        for (int i = 0; i < MAX_SCANS; i++) {
            int64_t s = scans[i].users ? scans[i].scan() : -1;
            if (t < 0 || (s >= 0 && s < t)) t = s;
        }
        struct ap_bell mine_bell = bell;
        ap_unlock(); /* runs the follow-ups (readability, watchers) of what fired */
        ap_sys_bell_wait(&mine_bell, t);
    }
}

static int start(void)
{
    if (ap_sys_bell_open(&bell) < 0) return -1;
    pthread_once(&clockd_atfork_once, clockd_install_atfork);
    gen++;
    /* every signal blocked: a signal meant for the program (or pending for a signalfd) must
     * never be delivered to this thread */
    int rc = ap_sys_thread_start(clockd_main, (void *)(uintptr_t)gen);
    if (rc != 0) {
        ap_sys_bell_close(&bell);
        errno = rc;
        return -1;
    }
    running = 1;
    return 0;
}

void ap_clockd_kick(void)
{
    atomic_store(&restart, 0);
    if (!running && start() < 0) {
        atomic_store(&restart, 1); /* try again at the next call */
        return;
    }
    ap_sys_bell_ring(&bell);
}

void ap_clockd_poke(void)
{
    if (running) ap_sys_bell_ring(&bell);
    else if (users > 0) atomic_store(&restart, 1); /* a fork child: its next wait starts one */
}

void ap_clockd_hold(ap_clockd_scan_fn scan)
{
    int i = 0, free_slot = -1;
    for (; i < MAX_SCANS && scans[i].scan != scan; i++)
        if (free_slot < 0 && !scans[i].users) free_slot = i;
    if (i == MAX_SCANS) { /* MAX_SCANS is the number of kinds that have a scan: never full */
        i = free_slot;
        scans[i].scan = scan;
    }
    scans[i].users++;
    users++;
    ap_clockd_kick();
}

void ap_clockd_drop(ap_clockd_scan_fn scan)
{
    for (int i = 0; i < MAX_SCANS; i++)
        if (scans[i].scan == scan && scans[i].users) {
            scans[i].users--;
            users--;
            return;
        }
}

void ap_clockd_ensure(void)
{
    if (!atomic_load_explicit(&restart, memory_order_relaxed)) return;
    ap_lock();
    if (atomic_load(&restart)) ap_clockd_kick();
    ap_unlock();
}
