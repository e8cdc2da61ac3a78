/*
 * levent_precise.c — libevent on its epoll backend with EVENT_BASE_FLAG_PRECISE_TIMER, which
 * makes libevent keep one timerfd (CLOCK_MONOTONIC) in its epoll set and re-arm it with
 * timerfd_settime() for every dispatch. A persistent 5 ms timer must fire exactly COUNT times
 * and a 30 ms one-shot once, none before its time.
 */
#include "common.h"

#include <event2/event.h>
#include <string.h>

#define PROG "levent-precise"
#define COUNT 20
#define PERIOD_NS 5000000LL

struct ctx {
    struct event_base *base;
    int64_t start;
    int periodic, oneshot, early;
};

static void on_periodic(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ctx *c = arg;
    c->periodic++;
    if (clock_ns(CLOCK_MONOTONIC) < c->start + c->periodic * PERIOD_NS) c->early++;
    if (c->periodic == COUNT && c->oneshot) event_base_loopbreak(c->base);
}

static void on_oneshot(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ctx *c = arg;
    c->oneshot++;
    if (clock_ns(CLOCK_MONOTONIC) < c->start + 30000000LL) c->early++;
    if (c->periodic >= COUNT) event_base_loopbreak(c->base);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ctx *c = arg;
    fail(PROG, "watchdog: %d periodic and %d one-shot callbacks after 10 s", c->periodic, c->oneshot);
}

int main(void)
{
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    event_config_avoid_method(cfg, "poll");
    event_config_avoid_method(cfg, "select");
    struct ctx c = {0};
    c.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!c.base) fail(PROG, "event_base_new_with_config failed (no epoll?)");
    const char *method = event_base_get_method(c.base);
    if (strcmp(method, "epoll") != 0) fail(PROG, "backend is %s, not epoll", method);
    int tfds = count_timerfds();
    if (tfds != 1) fail(PROG, "%d timerfds open, expected libevent's precise-timer one", tfds);

    struct event *periodic = event_new(c.base, -1, EV_PERSIST, on_periodic, &c);
    struct event *oneshot = evtimer_new(c.base, on_oneshot, &c);
    struct event *watchdog = evtimer_new(c.base, on_watchdog, &c);
    struct timeval p = {0, PERIOD_NS / 1000}, o = {0, 30000}, w = {10, 0};
    c.start = clock_ns(CLOCK_MONOTONIC);
    event_add(periodic, &p);
    event_add(oneshot, &o);
    event_add(watchdog, &w);
    if (event_base_dispatch(c.base) < 0) fail(PROG, "event_base_dispatch failed");
    if (c.periodic != COUNT || c.oneshot != 1 || c.early)
        fail(PROG, "%d periodic (want %d), %d one-shot (want 1), %d early", c.periodic, COUNT,
             c.oneshot, c.early);
    event_free(periodic);
    event_free(oneshot);
    event_free(watchdog);
    event_base_free(c.base);
    printf("%s: method epoll, 1 timerfd, %d periodic + 1 one-shot timer callbacks, none early\n",
           PROG, COUNT);
    return 0;
}
