/*
 * clockd.c — the helper thread of emulated timerfds and signalfds (see clockd.h). Objects room:
 * uses object.h's lock and host/sys.h's calls only; knows nothing of engines or epoll instances
 * (waking watchers goes through ap_obj_changed, like an eventfd write), nor of the kinds it
 * serves: timerfd.c and signalfd.c hand it their scan.
 *
 * It sleeps in poll() on a private socketpair until the earliest timer deadline (or the
 * signalfd check tick); ap_clockd_kick() writes a byte there when a settime or a new object
 * changes the schedule. After fork() the child has no thread: the atfork handler only notes
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
static int wake_r = -1, wake_w = -1; /* under lock */
static atomic_int restart; /* fork child: a thread must be started */
static int users;          /* live timerfds and signalfds (under lock) */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The kinds whose objects need the thread, each with how many of them live (under lock). */
#define MAX_SCANS 4
static struct {
    ap_clockd_scan_fn scan;
    int users;
} scans[MAX_SCANS];

static void child_after_fork(void)
{
    /* The parent's thread is not here; its wake pair is shared with the parent, so the child
     * makes its own (the parent's thread would otherwise eat the child's wake bytes). */
    if (running) {
        running = 0;
        if (wake_r >= 0) ap_sys_close(wake_r);
        if (wake_w >= 0) ap_sys_close(wake_w);
        wake_r = wake_w = -1;
        atomic_store(&restart, users > 0);
    }
}
static void install_atfork(void) { ap_sys_atfork(NULL, NULL, child_after_fork); }

static void *clockd_main(void *arg)
{
    unsigned mine = (unsigned)(uintptr_t)arg;
    for (;;) {
        ap_lock();
        if (mine != gen || !running) {
            ap_unlock();
            return NULL;
        }
        char buf[64];
        while (ap_sys_recv(wake_r, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        }
        int64_t t = -1;
        for (int i = 0; i < MAX_SCANS; i++) {
            int64_t s = scans[i].users ? scans[i].scan() : -1;
            if (t < 0 || (s >= 0 && s < t)) t = s;
        }
        struct pollfd p = {.fd = wake_r, .events = POLLIN};
        ap_unlock(); /* runs the follow-ups (readability, watchers) of what fired */
        struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
        ap_sys_ppoll(&p, 1, t < 0 ? NULL : &ts, NULL);
    }
}

static int start(void)
{
    int sv[2];
    if (ap_sys_socketpair_cloexec_nonblock(sv) < 0) return -1;
    wake_r = ap_sys_move_high(sv[0]);
    wake_w = ap_sys_move_high(sv[1]);
    pthread_once(&atfork_once, install_atfork);
    gen++;
    /* every signal blocked: a signal meant for the program (or pending for a signalfd) must
     * never be delivered to this thread */
    int rc = ap_sys_thread_start(clockd_main, (void *)(uintptr_t)gen);
    if (rc != 0) {
        ap_sys_close(wake_r);
        ap_sys_close(wake_w);
        wake_r = wake_w = -1;
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
    ap_sys_send(wake_w, "k", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void ap_clockd_poke(void)
{
    if (running) ap_sys_send(wake_w, "k", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
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
