/*
 * libev_signalfd.c — libev on EVBACKEND_EPOLL with EVFLAG_SIGNALFD: an ev_signal is served by
 * a signalfd (libev then blocks the signal instead of installing a handler). A timer raises
 * SIGUSR1 whenever the previous one has been handled; COUNT raises must give exactly COUNT
 * callbacks.
 */
#include "common.h"

#include <ev.h>
#include <signal.h>
#include <unistd.h>

#define PROG "libev-signalfd"
#define COUNT 20

static int sent, got;

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w, (void)revents;
    got++;
    if (got == COUNT) ev_break(loop, EVBREAK_ALL);
}

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    if (sent == got && sent < COUNT) { /* one at a time: standard signals do not queue */
        sent++;
        kill(getpid(), SIGUSR1);
    }
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    fail(PROG, "watchdog: %d signals sent, %d callbacks after 10 s", sent, got);
}

int main(void)
{
    struct ev_loop *loop = ev_default_loop(EVBACKEND_EPOLL | EVFLAG_SIGNALFD);
    if (!loop) fail(PROG, "ev_default_loop(EVBACKEND_EPOLL | EVFLAG_SIGNALFD) failed (no epoll?)");
    if (ev_backend(loop) != EVBACKEND_EPOLL) fail(PROG, "backend %#x is not epoll", ev_backend(loop));
    ev_signal s;
    ev_timer k, w;
    ev_signal_init(&s, on_signal, SIGUSR1);
    ev_signal_start(loop, &s);
    /* With a signalfd, libev blocks the signal and installs no handler. */
    sigset_t cur;
    struct sigaction sa;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    sigaction(SIGUSR1, NULL, &sa);
    if (sigismember(&cur, SIGUSR1) != 1 || sa.sa_handler != SIG_DFL)
        fail(PROG, "libev did not use a signalfd (SIGUSR1 %s, handler %s)",
             sigismember(&cur, SIGUSR1) == 1 ? "blocked" : "not blocked",
             sa.sa_handler == SIG_DFL ? "default" : "installed");
    ev_timer_init(&k, on_kick, 0.001, 0.002);
    ev_timer_init(&w, on_watchdog, 10., 0.);
    ev_timer_start(loop, &k);
    ev_timer_start(loop, &w);
    ev_run(loop, 0);
    if (got != COUNT || sent != COUNT) fail(PROG, "%d sent, %d callbacks (want %d)", sent, got, COUNT);
    printf("%s: backend epoll, signal served by a signalfd, %d raised = %d callbacks\n", PROG, COUNT, COUNT);
    return 0;
}
