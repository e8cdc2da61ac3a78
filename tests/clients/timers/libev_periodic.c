/*
 * libev_periodic.c — libev on EVBACKEND_EPOLL with an ev_periodic (every 5 ms of wall-clock
 * time). Starting a periodic makes libev open a CLOCK_REALTIME timerfd armed with
 * TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET to hear of clock sets. The periodic must fire
 * COUNT times, each at or after its scheduled time; a 30 ms ev_timer once.
 */
#include "common.h"

#include <ev.h>

#define PROG "libev-periodic"
#define COUNT 20

static int periodic, oneshot, early;
static ev_tstamp due;

static void on_periodic(struct ev_loop *loop, ev_periodic *w, int revents)
{
    (void)revents;
    periodic++;
    if (ev_time() < due) early++;
    due = ev_periodic_at(w); /* the next one */
    if (periodic == COUNT && oneshot) ev_break(loop, EVBREAK_ALL);
}

static void on_oneshot(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w, (void)revents;
    oneshot++;
    if (periodic >= COUNT) ev_break(loop, EVBREAK_ALL);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    fail(PROG, "watchdog: %d periodic and %d one-shot callbacks after 10 s", periodic, oneshot);
}

int main(void)
{
    struct ev_loop *loop = ev_default_loop(EVBACKEND_EPOLL);
    if (!loop) fail(PROG, "ev_default_loop(EVBACKEND_EPOLL) failed (no epoll?)");
    if (ev_backend(loop) != EVBACKEND_EPOLL) fail(PROG, "backend %#x is not epoll", ev_backend(loop));
    ev_periodic p;
    ev_timer o, w;
    ev_periodic_init(&p, on_periodic, 0., 0.005, 0);
    ev_timer_init(&o, on_oneshot, 0.03, 0.);
    ev_timer_init(&w, on_watchdog, 10., 0.);
    ev_periodic_start(loop, &p);
    ev_timer_start(loop, &o);
    ev_timer_start(loop, &w);
    due = ev_periodic_at(&p);
    int tfds = count_timerfds();
    if (tfds < 1) fail(PROG, "no timerfd open after ev_periodic_start (libev's clock-set watcher)");
    ev_run(loop, 0);
    if (periodic != COUNT || oneshot != 1 || early)
        fail(PROG, "%d periodic (want %d), %d one-shot (want 1), %d early", periodic, COUNT, oneshot, early);
    printf("%s: backend epoll, %d timerfd(s), %d periodic + 1 one-shot callbacks, none early\n",
           PROG, tfds, COUNT);
    return 0;
}
