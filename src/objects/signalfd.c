/*
 * signalfd.c — the signalfd object (objects room: object.h, clockd.h, host/sys.h; nothing here
 * knows an engine or an epoll instance), for every emulation engine of a POSIX host.
 *
 * The kernel keeps a signal pending until a read of the signalfd dequeues it; so does this
 * object: it never takes a signal from the program. A read dequeues with sigtimedwait() on the
 * mask (zero timeout; no timeout for the first record of a blocking read; ap_sys_sigtimedwait,
 * on Linux the system call, since glibc's wrapper reports SI_TKILL as SI_USER), which takes from
 * the calling thread's and the process's pending signals in the kernel's order — what the
 * kernel's signalfd_dequeue does — and the siginfo is converted field by field with the
 * kernel's per-layout rules (signalfd_copyinfo).
 *
 * Readiness: a signal of the mask pending for the calling thread or the process (sigpending(),
 * which lists pending signals the thread blocks — the man page requires them blocked). epoll
 * waits and anypoll's poll() compute it when they look. Nobody tells us when a signal is
 * *generated*, so the helper thread of clockd.c (which blocks every signal, so it sees the
 * process's pending set and never consumes one) compares the pending set with its last look
 * every TICK_NS while a signalfd exists: a signal newly pending is a wake-up (an IN edge, the
 * fd's token, watchers woken). Latency and the other differences: docs/timerfd.md.
 */
#include "objects/signalfd.h"
#include "objects/clockd.h"
#include "host/sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TICK_NS 5000000LL /* 5 ms: how often the helper thread looks for new signals */

#if defined(_NSIG)
#define AP_NSIG _NSIG
#elif defined(NSIG)
#define AP_NSIG NSIG
#else
#define AP_NSIG 65
#endif

static struct ap_signalfd *sigfds; /* under lock */

static int64_t signals_scan(void);

static void and_set(sigset_t *out, const sigset_t *a, const sigset_t *b)
{
    sigemptyset(out);
    for (int s = 1; s < AP_NSIG; s++)
        if (sigismember(a, s) == 1 && sigismember(b, s) == 1) sigaddset(out, s);
}

static int empty_set(const sigset_t *a)
{
    for (int s = 1; s < AP_NSIG; s++)
        if (sigismember(a, s) == 1) return 0;
    return 1;
}

/* Signals of a not in b. */
static int has_new(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < AP_NSIG; s++)
        if (sigismember(a, s) == 1 && sigismember(b, s) != 1) return 1;
    return 0;
}

static void pending_of(const struct ap_signalfd *s, sigset_t *out)
{
    sigset_t p;
    if (sigpending(&p) < 0) sigemptyset(&p);
    and_set(out, &p, &s->mask);
}

static void set_mask(struct ap_signalfd *s, const sigset_t *mask)
{
    sigemptyset(&s->mask);
    for (int i = 1; i < AP_NSIG; i++)
        if (i != SIGKILL && i != SIGSTOP && sigismember(mask, i) == 1) sigaddset(&s->mask, i);
}

int ap_signalfd_create(const sigset_t *mask, int flags, const struct ap_obj_ops *ops)
{
    struct ap_signalfd *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    set_mask(s, mask);
    sigemptyset(&s->last);
    ap_lock();
    int fd = ap_obj_create(&s->base, AP_KIND_SIGNALFD, ops, !!(flags & SFD_CLOEXEC),
                           !!(flags & SFD_NONBLOCK));
    if (fd >= 0) {
        ops->changed(&s->base); /* its first level */
        s->snext = sigfds;
        if (sigfds) sigfds->sprev = s;
        sigfds = s;
        ap_clockd_hold(signals_scan);
    } else {
        free(s);
    }
    ap_unlock();
    return fd;
}

int ap_signalfd_update(struct ap_signalfd *s, const sigset_t *mask)
{
    ap_lock();
    set_mask(s, mask);
    and_set(&s->last, &s->last, &s->mask);
    ap_obj_changed(&s->base); /* readiness under the new mask */
    ap_clockd_poke();
    ap_unlock();
    return 0;
}

static int64_t signals_scan(void)
{
    for (struct ap_signalfd *s = sigfds; s; s = s->snext) {
        sigset_t cur;
        pending_of(s, &cur);
        int fresh = has_new(&cur, &s->last), gone = has_new(&s->last, &cur);
        if (fresh) { /* signal generation wakes the signalfd's waiters */
            ap_obj_wake_in(&s->base);
        }
        if (fresh || gone) ap_obj_changed(&s->base);
        s->last = cur;
    }
    return sigfds ? TICK_NS : -1;
}

/* The kernel's signalfd_copyinfo: which fields a siginfo carries depends on its layout
 * (kernel/signal.c's siginfo_layout), and only those are copied. */
enum layout { L_KILL, L_TIMER, L_POLL, L_FAULT, L_CHLD, L_RT, L_SYS };

static enum layout layout_of(int sig, int code)
{
    if (code > SI_USER && code < SI_KERNEL) {
        /* not static: the signal numbers are run-time values on some hosts (Cosmopolitan) */
        const struct {
            int sig, limit;
            enum layout l;
        } filter[] = {{SIGILL, 11, L_FAULT},  {SIGFPE, 15, L_FAULT}, {SIGSEGV, 10, L_FAULT},
                      {SIGBUS, 5, L_FAULT},   {SIGTRAP, 6, L_FAULT}, {SIGCHLD, 6, L_CHLD},
                      {SIGPOLL, 6, L_POLL},   {SIGSYS, 2, L_SYS}};
        for (size_t i = 0; i < sizeof filter / sizeof filter[0]; i++)
            if (filter[i].sig == sig) {
                if (code <= filter[i].limit) return filter[i].l;
                break;
            }
        return code <= 6 /* NSIGPOLL */ ? L_POLL : L_KILL;
    }
#ifdef SI_TIMER
    if (code == SI_TIMER) return L_TIMER;
#endif
#ifdef SI_SIGIO
    if (code == SI_SIGIO) return L_POLL;
#endif
    return code < 0 ? L_RT : L_KILL;
}

static void to_record(const siginfo_t *si, struct signalfd_siginfo *r)
{
    memset(r, 0, sizeof *r);
    r->ssi_signo = (uint32_t)si->si_signo;
    r->ssi_errno = si->si_errno;
    r->ssi_code = si->si_code;
    switch (layout_of(si->si_signo, si->si_code)) {
    case L_KILL:
        r->ssi_pid = (uint32_t)si->si_pid;
        r->ssi_uid = (uint32_t)si->si_uid;
        break;
    case L_TIMER:
#if defined(si_timerid) && defined(si_overrun)
        r->ssi_tid = (uint32_t)si->si_timerid;
        r->ssi_overrun = (uint32_t)si->si_overrun;
#endif
        r->ssi_ptr = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
        r->ssi_int = si->si_value.sival_int;
        break;
    case L_POLL:
        r->ssi_band = (uint32_t)si->si_band;
#ifdef si_fd
        r->ssi_fd = si->si_fd;
#endif
        break;
    case L_FAULT:
        r->ssi_addr = (uint64_t)(uintptr_t)si->si_addr;
#ifdef si_addr_lsb
        if (si->si_signo == SIGBUS && (si->si_code == 4 || si->si_code == 5)) /* BUS_MCEERR_* */
            r->ssi_addr_lsb = (uint16_t)si->si_addr_lsb;
#endif
        break;
    case L_CHLD:
        r->ssi_pid = (uint32_t)si->si_pid;
        r->ssi_uid = (uint32_t)si->si_uid;
        r->ssi_status = si->si_status;
#ifdef si_utime
        r->ssi_utime = (uint64_t)si->si_utime;
        r->ssi_stime = (uint64_t)si->si_stime;
#endif
        break;
    case L_RT:
        r->ssi_pid = (uint32_t)si->si_pid;
        r->ssi_uid = (uint32_t)si->si_uid;
        r->ssi_ptr = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
        r->ssi_int = si->si_value.sival_int;
        break;
    case L_SYS:
#if defined(si_call_addr) && defined(si_syscall) && defined(si_arch)
        r->ssi_call_addr = (uint64_t)(uintptr_t)si->si_call_addr;
        r->ssi_syscall = si->si_syscall;
        r->ssi_arch = si->si_arch;
#endif
        break;
    }
}

ssize_t ap_signalfd_read(struct ap_signalfd *s, int fd, void *buf, size_t n)
{
    (void)fd;
    if (n < sizeof(struct signalfd_siginfo)) {
        errno = EINVAL;
        return -1;
    }
    size_t max = n / sizeof(struct signalfd_siginfo), got = 0;
    ap_lock();
    sigset_t mask = s->mask;
    ap_unlock();
    while (got < max) {
        siginfo_t si;
        /* Only the first record may wait, as in the kernel's signalfd_read. */
        int block = got == 0 && !atomic_load(&s->base.sh->nonblock);
        const struct timespec *ts = block ? NULL : &(struct timespec){0, 0};
        int r = ap_sys_sigtimedwait(&mask, &si, ts);
        /* EINTR: a handler ran while the first record waited; the kernel restarts the read
         * (-ERESTARTSYS) if the handler had SA_RESTART */
        if (r < 0 && block && errno == EINTR && ap_sys_handler_restarts()) continue;
        if (r < 0) { /* EAGAIN: none; EINTR: not restarted */
            if (got) break;
            return -1;
        }
        struct signalfd_siginfo rec;
        to_record(&si, &rec);
        if (!buf) { /* the kernel dequeues, then fails the copy-out */
            errno = EFAULT;
            return -1;
        }
        memcpy((char *)buf + got * sizeof rec, &rec, sizeof rec);
        got++;
    }
    /* What this read took is no longer pending: a new one of the same signal is a new
     * wake-up for the helper thread, not something it already saw. */
    ap_lock();
    sigset_t cur;
    pending_of(s, &cur);
    and_set(&s->last, &s->last, &cur);
    ap_obj_changed(&s->base);
    ap_unlock();
    return (ssize_t)(got * sizeof(struct signalfd_siginfo));
}

uint32_t ap_signalfd_level(struct ap_signalfd *s)
{
    sigset_t cur;
    pending_of(s, &cur);
    /* A signal newly pending is a wake-up whoever notices it first, a wait or the helper
     * thread; the other then knows it (one signal generation, one edge). */
    if (has_new(&cur, &s->last)) {
        ap_obj_wake_in(&s->base);
        ap_obj_changed(&s->base);
        for (int i = 1; i < AP_NSIG; i++)
            if (sigismember(&cur, i) == 1) sigaddset(&s->last, i);
    }
    return empty_set(&cur) ? 0 : EPOLLIN;
}

void ap_signalfd_free(struct ap_signalfd *s)
{
    if (s->sprev) s->sprev->snext = s->snext;
    else if (sigfds == s) sigfds = s->snext;
    if (s->snext) s->snext->sprev = s->sprev;
    ap_clockd_drop(signals_scan);
    ap_obj_destroy(&s->base);
    free(s);
}
