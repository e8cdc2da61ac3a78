/*
 * ev_client.c — an unmodified libev 4 program (Debian's libev-dev), part of anypoll's clients
 * room (tests/clients/). It asks for the epoll backend only (EVBACKEND_EPOLL, environment
 * ignored) and checks ev_backend() says so — on a host without epoll there is no loop unless
 * anypoll provides one. It exercises libev's signal path, which on Linux goes through its
 * wake-up pipe (an eventfd when libev can create one) registered in the epoll set.
 *
 *   signals  1000 rounds: raise(SIGUSR1) inside the loop, the ev_signal watcher must see each
 *   async    4 threads x 10000 ev_async_send on one watcher: sends coalesce, so the callback
 *            adds up what the senders counted; the sum must equal the sends
 *   io       a socketpair ping-pong of 1000 rounds with ev_io watchers
 *   timers   one-shot timers started out of order fire in timeout order; a repeating one 10 times
 *
 * Prints one line `libev: ok: ...` or `libev: FAIL: ...` and exits 0 only if all of it held.
 */
#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        printf("libev: FAIL: " __VA_ARGS__);                                                       \
        putchar('\n');                                                                             \
        exit(1);                                                                                   \
    } while (0)

static struct ev_loop *loop;

/* --- signals --------------------------------------------------------------------------------- */

enum { SIGNALS = 1000 };
static ev_signal sigw;
static ev_idle kick;
static int raised, caught;

static void on_signal(struct ev_loop *l, ev_signal *w, int revents)
{
    (void)revents;
    if (++caught != raised) FAIL("signals: caught %d after %d raised", caught, raised);
    if (caught == SIGNALS) ev_signal_stop(l, w);
    else ev_idle_start(l, &kick); /* raise the next one from the loop, not from the handler */
}
static void on_kick(struct ev_loop *l, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(l, w);
    raised++;
    raise(SIGUSR1);
}

/* --- async from threads ---------------------------------------------------------------------- */

enum { SENDERS = 4, SENDS = 10000 };
static ev_async async;
static atomic_long pending;
static long async_sum, async_callbacks;
static pthread_t senders[SENDERS];

static void on_async(struct ev_loop *l, ev_async *w, int revents)
{
    (void)revents;
    async_callbacks++;
    async_sum += atomic_exchange(&pending, 0);
    if (async_sum == (long)SENDERS * SENDS) ev_async_stop(l, w);
}
static void *sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < SENDS; i++) {
        atomic_fetch_add(&pending, 1);
        ev_async_send(loop, &async);
    }
    return NULL;
}

/* --- socketpair ping-pong -------------------------------------------------------------------- */

enum { ROUNDS = 1000 };
static int sp[2], pings, pongs;
static ev_io io_ping, io_pong;

static void on_ping(struct ev_loop *l, ev_io *w, int revents)
{
    unsigned char b;
    (void)revents;
    if (read(w->fd, &b, 1) != 1 || b != (unsigned char)pings) FAIL("ping-pong: bad reply at %d", pings);
    if (++pings == ROUNDS) {
        ev_io_stop(l, &io_ping), ev_io_stop(l, &io_pong);
        return;
    }
    b = (unsigned char)pings;
    if (write(w->fd, &b, 1) != 1) FAIL("ping-pong: write");
}
static void on_pong(struct ev_loop *l, ev_io *w, int revents)
{
    unsigned char b;
    (void)l, (void)revents;
    if (read(w->fd, &b, 1) != 1 || b != (unsigned char)pongs) FAIL("ping-pong: bad ping at %d", pongs);
    pongs++;
    if (write(w->fd, &b, 1) != 1) FAIL("ping-pong: write");
}

/* --- timers ---------------------------------------------------------------------------------- */

static ev_timer oneshot[3], repeat;
static int fired[3], nfired, repeats;
static const double timeouts[3] = {0.030, 0.010, 0.020};

static void on_oneshot(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)revents;
    fired[nfired++] = (int)(w - oneshot);
}
static void on_repeat(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    if (++repeats == 10) ev_timer_stop(l, w);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (!loop) { /* say why: libev only returns no loop */
        int ep = epoll_create1(0);
        FAIL("ev_loop_new(EVBACKEND_EPOLL): no epoll backend (libev %d.%d; epoll_create1: %s)",
             ev_version_major(), ev_version_minor(), ep < 0 ? strerror(errno) : "works");
    }
    if (ev_backend(loop) != EVBACKEND_EPOLL) FAIL("backend %#x, not EVBACKEND_EPOLL", ev_backend(loop));

    ev_signal_init(&sigw, on_signal, SIGUSR1);
    ev_signal_start(loop, &sigw);
    ev_idle_init(&kick, on_kick);
    ev_idle_start(loop, &kick);

    ev_async_init(&async, on_async);
    ev_async_start(loop, &async);
    for (int i = 0; i < SENDERS; i++)
        if (pthread_create(&senders[i], NULL, sender, NULL)) FAIL("pthread_create");

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) < 0) FAIL("socketpair");
    ev_io_init(&io_ping, on_ping, sp[0], EV_READ);
    ev_io_init(&io_pong, on_pong, sp[1], EV_READ);
    ev_io_start(loop, &io_ping);
    ev_io_start(loop, &io_pong);
    unsigned char b = 0;
    if (write(sp[0], &b, 1) != 1) FAIL("ping-pong: first write");

    for (int i = 0; i < 3; i++) {
        ev_timer_init(&oneshot[i], on_oneshot, timeouts[i], 0.);
        ev_timer_start(loop, &oneshot[i]);
    }
    ev_timer_init(&repeat, on_repeat, 0.001, 0.002);
    ev_timer_start(loop, &repeat);

    ev_run(loop, 0); /* returns once no watcher is active: every part stopped its own */
    for (int i = 0; i < SENDERS; i++) pthread_join(senders[i], NULL);

    if (raised != SIGNALS || caught != SIGNALS) FAIL("signals: %d raised, %d caught", raised, caught);
    if (async_sum != (long)SENDERS * SENDS) FAIL("async: counted %ld of %d sends", async_sum, SENDERS * SENDS);
    if (pings != ROUNDS || pongs != ROUNDS) FAIL("ping-pong: %d pings, %d pongs of %d", pings, pongs, ROUNDS);
    if (nfired != 3 || fired[0] != 1 || fired[1] != 2 || fired[2] != 0)
        FAIL("timers: %d fired, order %d %d %d (expected the 10, 20, 30 ms ones: 1 2 0)", nfired,
             fired[0], fired[1], fired[2]);
    if (repeats != 10) FAIL("timers: the repeating timer fired %d times", repeats);
    printf("libev: ok: libev %d.%d, backend epoll; %d signals raised and caught; async %d sends from "
           "%d threads in %ld callbacks, sum %ld; ping-pong %d rounds; timers 3 in order + 10 repeats\n",
           ev_version_major(), ev_version_minor(), SIGNALS, SENDERS * SENDS, SENDERS, async_callbacks,
           async_sum, ROUNDS);
    ev_loop_destroy(loop);
    close(sp[0]), close(sp[1]);
    return 0;
}
