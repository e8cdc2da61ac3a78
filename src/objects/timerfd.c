/*
 * timerfd.c — the timerfd object (objects room: object.h, clockd.h, host/sys.h; nothing here
 * knows an engine or an epoll instance), for every emulation engine.
 *
 * Its level is the kernel's timerfd_poll answer — readable exactly while expirations are
 * pending, never writable — shown by the serving engine (ops->changed). The pending count is the
 * object's shared counter (base.sh->value) and every expiry bumps its IN sequence like an
 * eventfd write: one EPOLLET edge per wake-up.
 *
 * The arithmetic is the kernel's (fs/timerfd.c): an expiry raises the count by one and, for a
 * periodic timer, leaves it "expired" without re-arming; the overruns are counted when the
 * timer is forwarded by read() or timerfd_gettime() (hrtimer_forward_now), so a reader gets
 * the exact number of deadlines passed and an unread periodic timer wakes its watchers once.
 * Expiries are decided by reading the timer's own clock (now >= deadline): never early.
 *
 * Who fires a timer while nobody reads: the helper thread of clockd.c (timers_scan).
 * A blocking read sleeps in the engine's ops->block with the time left as timeout, so it also
 * returns on time by itself.
 *
 * TFD_TIMER_CANCEL_ON_SET without the kernel's notification: a set of the realtime clock is
 * a jump of CLOCK_REALTIME - CLOCK_MONOTONIC. The offset is sampled (monotonic, realtime,
 * monotonic, retried until the pair is tight) by the helper thread every CHECK_NS while such
 * a timer exists and by every timerfd call; a change beyond SET_SLACK_NS plus what NTP may slew
 * in the elapsed time counts as a set. Latency and the smallest set seen: docs/timerfd.md.
 */
#include "objects/timerfd.h"
#include "objects/clockd.h"
#include "host/sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NS 100000000LL   /* realtime timers: look at the clock at least this often */
#define SET_SLACK_NS 1000000LL /* a change of the realtime offset beyond this is a set... */
#define SLEW_PPM 1000          /* ...plus what adjtime/NTP may slew meanwhile (max 500 ppm) */

static struct ap_timerfd *timers; /* under lock */

static int64_t clock_ns(int id) { return ap_sys_clock_ns(id); }

/* timespec to ns, saturating as the kernel's ktime_set does. */
static int64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec >= INT64_MAX / 1000000000 - 1) return INT64_MAX;
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
}

static void st_lock(struct ap_tfd_state *st)
{
    while (atomic_flag_test_and_set_explicit(&st->lock, memory_order_acquire)) {
    }
}
static void st_unlock(struct ap_tfd_state *st) { atomic_flag_clear_explicit(&st->lock, memory_order_release); }

/* One wake-up of the object: the count and the IN edge, as an eventfd write makes them. */
static void tick(struct ap_timerfd *t)
{
    atomic_fetch_add(&t->base.sh->value, 1);
    ap_obj_wake_in(&t->base);
}

/* timerfd_tmrproc: due and not already expired → count one and wake. 1 if it fired. */
static int fire(struct ap_timerfd *t, int64_t now)
{
    if (!ap_tfd_fire(t->st, now)) return 0;
    tick(t);
    return 1;
}

/* --- realtime clock sets ------------------------------------------------------------------ */

static int64_t last_off, last_mono; /* under lock */
static int have_off;

/* 1 if CLOCK_REALTIME was set since the last look (under lock). */
static int realtime_was_set(void)
{
    for (int i = 0; i < 8; i++) {
        int64_t m1 = clock_ns(CLOCK_MONOTONIC), r = clock_ns(CLOCK_REALTIME);
        int64_t m2 = clock_ns(CLOCK_MONOTONIC);
        if (m2 - m1 > 200000) continue; /* preempted between the reads: not a tight sample */
        int64_t off = r - (m1 + (m2 - m1) / 2);
        int64_t d = off - last_off;
        if (d < 0) d = -d;
        int set = have_off && d > SET_SLACK_NS + (m1 - last_mono) / 1000000 * SLEW_PPM;
        last_off = off;
        last_mono = m1;
        have_off = 1;
        return set;
    }
    return 0;
}

/* timerfd_clock_was_set: every timer armed with TFD_TIMER_CANCEL_ON_SET counts one more
 * expiration, is marked canceled and wakes (under lock). */
static void look_for_clock_set(void)
{
    int any = 0;
    for (struct ap_timerfd *t = timers; t && !any; t = t->tnext) any = t->st->might_cancel;
    if (!any) {
        have_off = 0; /* nobody cares: start afresh when somebody does */
        return;
    }
    if (!realtime_was_set()) return;
    for (struct ap_timerfd *t = timers; t; t = t->tnext) {
        st_lock(t->st);
        int hit = t->st->might_cancel;
        if (hit) {
            t->st->canceled = 1;
            tick(t);
        }
        st_unlock(t->st);
        if (hit) ap_obj_changed(&t->base);
    }
}

/* --- the helper thread's part ------------------------------------------------------------- */

static int64_t timers_scan(void)
{
    int64_t sleep = -1;
    int watch_clock = 0;
    look_for_clock_set();
    for (struct ap_timerfd *t = timers; t; t = t->tnext) {
        struct ap_tfd_state *st = t->st;
        int64_t now = clock_ns(st->clockid);
        st_lock(st);
        int fired = fire(t, now);
        if (st->armed && !st->expired) {
            int64_t d = st->next - now;
            if (d < 0) d = 0;
            if (sleep < 0 || d < sleep) sleep = d;
            if (st->clockid == CLOCK_REALTIME) watch_clock = 1; /* the clock may jump to it */
        }
        if (st->might_cancel) watch_clock = 1;
        st_unlock(st);
        /* Fired here, or in another process sharing the timer (after fork): this process's
         * watchers must hear of it too. */
        if (fired || atomic_load(&t->base.sh->in_seq) != t->base.told_in) ap_obj_changed(&t->base);
    }
    if (watch_clock && (sleep < 0 || sleep > CHECK_NS)) sleep = CHECK_NS;
    return sleep;
}

/* --- operations --------------------------------------------------------------------------- */

int ap_timerfd_create(int clockid, int flags, const struct ap_obj_ops *ops)
{
    /* The kernel's capability check for alarm clocks (CAP_WAKE_ALARM), approximated: an
     * emulation cannot ask for a capability, and cannot wake a suspended machine anyway. */
    if ((clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM) && !ap_sys_privileged()) {
        errno = EPERM;
        return -1;
    }
    struct ap_timerfd *t = calloc(1, sizeof *t);
    struct ap_tfd_state *st = ap_sys_shared_alloc(sizeof *st);
    if (!t || !st) {
        free(t);
        if (st) ap_sys_shared_free(st, sizeof *st);
        errno = ENOMEM;
        return -1;
    }
    atomic_flag_clear(&st->lock);
    st->clockid = clockid == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                : clockid == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : clockid;
    t->st = st;
    ap_lock();
    int fd = ap_obj_create(&t->base, AP_KIND_TIMERFD, ops, !!(flags & TFD_CLOEXEC),
                           !!(flags & TFD_NONBLOCK));
    if (fd >= 0) {
        ops->changed(&t->base); /* its first level */
        t->tnext = timers;
        if (timers) timers->tprev = t;
        timers = t;
        ap_clockd_hold(timers_scan);
    } else {
        ap_sys_shared_free(st, sizeof *st);
        free(t);
    }
    ap_unlock();
    return fd;
}

int ap_timerfd_settime(struct ap_timerfd *t, int flags, const struct itimerspec *nv,
                       struct itimerspec *ov)
{
    struct ap_tfd_state *st = t->st;
    struct itimerspec old;
    ap_lock();
    look_for_clock_set(); /* a set before this call cancels the old setting, not the new one */
    int64_t now = clock_ns(st->clockid);
    st_lock(st);
    fire(t, now);
    if (st->expired && st->interval) ap_tfd_forward(st, now); /* for `old` only; reset below */
    old.it_value = ns_ts(ap_tfd_remaining(st, now));
    old.it_interval = ns_ts(st->interval);
    /* timerfd_setup */
    int64_t value = ts_ns(&nv->it_value);
    st->expired = 0;
    atomic_store(&t->base.sh->value, 0);
    st->interval = ts_ns(&nv->it_interval);
    st->might_cancel = (st->clockid == CLOCK_REALTIME) && (flags & TFD_TIMER_ABSTIME) &&
                       (flags & TFD_TIMER_CANCEL_ON_SET);
    st->canceled = 0;
    st->armed = value != 0;
    if (!st->armed) st->next = 0;
    else if (flags & TFD_TIMER_ABSTIME) st->next = value;
    else st->next = value > INT64_MAX - now ? INT64_MAX : now + value;
    st_unlock(st);
    if (st->might_cancel && !have_off) realtime_was_set(); /* the baseline for this timer */
    ap_obj_changed(&t->base); /* no longer readable */
    ap_clockd_poke();
    ap_unlock();
    if (ov) *ov = old; /* copied out after the timer is set, as the kernel does */
    return 0;
}

int ap_timerfd_gettime(struct ap_timerfd *t, struct itimerspec *cur)
{
    struct ap_tfd_state *st = t->st;
    struct itimerspec v;
    ap_lock();
    look_for_clock_set();
    int64_t now = clock_ns(st->clockid);
    st_lock(st);
    int fired = fire(t, now);
    if (st->expired && st->interval) {
        atomic_fetch_add(&t->base.sh->value, (uint64_t)ap_tfd_forward(st, now) - 1);
        st->expired = 0;
    }
    v.it_value = ns_ts(ap_tfd_remaining(st, now));
    v.it_interval = ns_ts(st->interval);
    st_unlock(st);
    if (fired) ap_obj_changed(&t->base);
    ap_clockd_poke(); /* a forwarded periodic timer is due again: the thread must know */
    ap_unlock();
    if (!cur) { /* the kernel forwards the timer, then fails the copy-out */
        errno = EFAULT;
        return -1;
    }
    *cur = v;
    return 0;
}

ssize_t ap_timerfd_read(struct ap_timerfd *t, int fd, void *buf, size_t n)
{
    struct ap_tfd_state *st = t->st;
    if (n < sizeof(uint64_t)) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        ap_lock();
        look_for_clock_set();
        int64_t now = clock_ns(st->clockid);
        st_lock(st);
        int fired = fire(t, now);
        uint64_t ticks = atomic_load(&t->base.sh->value);
        if (!ticks) {
            int64_t wait = st->armed && !st->expired ? st->next - now : -1;
            if ((st->clockid == CLOCK_REALTIME || st->might_cancel) && (wait < 0 || wait > CHECK_NS))
                wait = CHECK_NS;
            st_unlock(st);
            if (fired) ap_obj_changed(&t->base);
            ap_unlock();
            if (atomic_load(&t->base.sh->nonblock)) {
                errno = EAGAIN;
                return -1;
            }
            /* Sleep until the deadline or until it turns readable (the helper thread or another
             * process fired it, the clock was set); a signal interrupts (EINTR). */
            if (t->base.ops->block(&t->base, fd, EPOLLIN, wait) < 0) return -1;
            continue;
        }
        int canceled = st->canceled;
        if (canceled) {
            /* the count is dropped and an expired periodic timer is not re-armed: the program
             * must look at the clock again (the kernel's words) */
            st->canceled = 0;
            if (st->expired && st->interval) st->armed = 0;
        } else if (st->expired && st->interval) {
            ticks += (uint64_t)ap_tfd_forward(st, now) - 1;
        }
        st->expired = 0;
        atomic_store(&t->base.sh->value, 0);
        st_unlock(st);
        ap_obj_changed(&t->base);
        ap_clockd_poke();
        ap_unlock();
        if (canceled) {
            errno = ECANCELED;
            return -1;
        }
        if (!buf) { /* as in the kernel: the count is taken, then the copy-out fails */
            errno = EFAULT;
            return -1;
        }
        memcpy(buf, &ticks, sizeof ticks);
        return sizeof ticks;
    }
}

uint32_t ap_timerfd_level(struct ap_timerfd *t)
{
    return atomic_load(&t->base.sh->value) ? EPOLLIN : 0;
}

void ap_timerfd_free(struct ap_timerfd *t)
{
    if (t->tprev) t->tprev->tnext = t->tnext;
    else if (timers == t) timers = t->tnext;
    if (t->tnext) t->tnext->tprev = t->tprev;
    ap_clockd_drop(timers_scan);
    if (t->st) ap_sys_shared_free(t->st, sizeof *t->st);
    ap_obj_destroy(&t->base);
    free(t);
}
