/*
 * event_client.c — an unmodified libevent 2.1 program (Debian's libevent-dev), part of
 * anypoll's clients room (tests/clients/). It insists on the epoll backend: every other method
 * is avoided, and event_base_get_method() must say "epoll" — so on a host without epoll it has
 * no base unless anypoll provides one. The base uses EVENT_BASE_FLAG_PRECISE_TIMER (libevent's
 * epoll backend then times its waits with a timerfd when it can get one) and is made
 * thread-aware (its cross-thread notification is an eventfd).
 *
 *   echo     evconnlistener + bufferevents: a TCP echo server and 32 clients, 64 KiB each,
 *            every byte checked
 *   ping     a socketpair ping-pong of 1000 rounds with EV_PERSIST read events
 *   timers   one-shot timers added out of order run in timeout order; a persistent one 10 times
 *   threads  4 threads x 1000 event_active() on one event: each call is counted by the thread,
 *            the callback adds up what it was given; the sum must equal the calls
 *
 * Prints one line `libevent: ok: ...` or `libevent: FAIL: ...`; exits 0 only if all of it held.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        printf("libevent: FAIL: " __VA_ARGS__);                                                    \
        putchar('\n');                                                                             \
        exit(1);                                                                                   \
    } while (0)

static struct event_base *base;

/* --- echo ------------------------------------------------------------------------------------ */

enum { CLIENTS = 32, PER_CLIENT = 64 * 1024 };
static struct evconnlistener *listener;
static int accepted, echo_done;
static size_t echo_bytes;

static unsigned char pattern(int c, size_t i) { return (unsigned char)(i * 11 + (size_t)c * 97 + i / 241); }

static void server_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}
static void server_drained(struct bufferevent *bev, void *arg)
{
    (void)arg; /* the peer is gone and all it sent went back: close */
    bufferevent_free(bev);
}
static void server_event(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if (what & BEV_EVENT_EOF) {
        bufferevent_disable(bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) bufferevent_free(bev);
        else bufferevent_setcb(bev, NULL, server_drained, NULL, NULL);
    } else if (what & BEV_EVENT_ERROR) {
        FAIL("echo server: error event %#x", what);
    }
}
static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    (void)sa, (void)len, (void)arg;
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) FAIL("bufferevent_socket_new");
    bufferevent_setcb(bev, server_read, NULL, server_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (++accepted == CLIENTS) evconnlistener_free(l), listener = NULL;
}

struct client {
    int id;
    size_t got;
    int half_closed;
};
static struct client clients[CLIENTS];

static void client_read(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    unsigned char buf[4096];
    size_t n;
    while ((n = bufferevent_read(bev, buf, sizeof buf)) > 0)
        for (size_t i = 0; i < n; i++, c->got++)
            if (c->got >= PER_CLIENT || buf[i] != pattern(c->id, c->got))
                FAIL("echo client %d: byte %zu wrong or beyond the %d sent", c->id, c->got, PER_CLIENT);
}
static void client_written(struct bufferevent *bev, void *arg)
{
    struct client *c = arg; /* all sent: half-close, the echo server closes after echoing it */
    if (!c->half_closed && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        c->half_closed = 1;
        shutdown(bufferevent_getfd(bev), SHUT_WR);
    }
}
static void client_event(struct bufferevent *bev, short what, void *arg)
{
    struct client *c = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    if (what & BEV_EVENT_EOF) {
        client_read(bev, c);
        if (c->got != PER_CLIENT) FAIL("echo client %d: %zu of %d bytes before EOF", c->id, c->got, PER_CLIENT);
        echo_bytes += c->got;
        echo_done++;
        bufferevent_free(bev);
        return;
    }
    FAIL("echo client %d: event %#x", c->id, what);
}
static void echo_start(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    listener = evconnlistener_new_bind(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                       128, (struct sockaddr *)&sin, sizeof sin);
    if (!listener) FAIL("evconnlistener_new_bind");
    socklen_t len = sizeof sin;
    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&sin, &len) < 0) FAIL("getsockname");
    unsigned char *out = malloc(PER_CLIENT);
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &clients[i];
        c->id = i;
        struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!bev) FAIL("bufferevent_socket_new");
        bufferevent_setcb(bev, client_read, client_written, client_event, c);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        for (size_t k = 0; k < PER_CLIENT; k++) out[k] = pattern(i, k);
        bufferevent_write(bev, out, PER_CLIENT);
        if (bufferevent_socket_connect(bev, (struct sockaddr *)&sin, sizeof sin) < 0)
            FAIL("bufferevent_socket_connect %d", i);
    }
    free(out);
}

/* --- socketpair ping-pong -------------------------------------------------------------------- */

enum { ROUNDS = 1000 };
static int sp[2], pings, pongs;
static struct event *ev_ping, *ev_pong;

static void on_side(evutil_socket_t fd, short what, void *arg)
{
    int is_pong = arg != NULL;
    unsigned char b;
    (void)what;
    if (read(fd, &b, 1) != 1) FAIL("ping-pong: read");
    if (is_pong) { /* the other side answers each ping with the same byte */
        if (b != (unsigned char)pongs) FAIL("ping-pong: got %u, expected %u", b, (unsigned char)pongs);
        pongs++;
        if (write(fd, &b, 1) != 1) FAIL("ping-pong: write");
    } else {
        if (b != (unsigned char)pings) FAIL("ping-pong: reply %u, expected %u", b, (unsigned char)pings);
        if (++pings == ROUNDS) {
            event_del(ev_ping), event_del(ev_pong);
            return;
        }
        b = (unsigned char)pings;
        if (write(fd, &b, 1) != 1) FAIL("ping-pong: write");
    }
}
static void ping_start(void)
{
    if (evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) FAIL("socketpair");
    evutil_make_socket_nonblocking(sp[0]);
    evutil_make_socket_nonblocking(sp[1]);
    ev_ping = event_new(base, sp[0], EV_READ | EV_PERSIST, on_side, NULL);
    ev_pong = event_new(base, sp[1], EV_READ | EV_PERSIST, on_side, (void *)1);
    event_add(ev_ping, NULL);
    event_add(ev_pong, NULL);
    unsigned char b = 0;
    if (write(sp[0], &b, 1) != 1) FAIL("ping-pong: first write");
}

/* --- timers ---------------------------------------------------------------------------------- */

static struct event *oneshot[3], *persist;
static int fired[3], nfired, ticks;
static const int timeout_ms[3] = {30, 10, 20};

static void on_oneshot(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    fired[nfired++] = (int)(long)arg;
}
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (++ticks == 10) event_del(persist);
}
static void timers_start(void)
{
    for (long i = 0; i < 3; i++) {
        struct timeval tv = {0, timeout_ms[i] * 1000};
        oneshot[i] = evtimer_new(base, on_oneshot, (void *)i);
        evtimer_add(oneshot[i], &tv);
    }
    struct timeval tick = {0, 2000};
    persist = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    event_add(persist, &tick);
}

/* --- event_active from threads --------------------------------------------------------------- */

enum { THREADS = 4, ACTIVATIONS = 1000 };
static struct event *ev_cross;
static atomic_long cross_pending;
static long cross_sum, cross_callbacks;
static pthread_t threads[THREADS];

static void on_cross(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    cross_callbacks++;
    cross_sum += atomic_exchange(&cross_pending, 0);
    /* the last activation may find the event already active: the sum catches up on this call */
}
static void *activator(void *arg)
{
    (void)arg;
    for (int i = 0; i < ACTIVATIONS; i++) {
        atomic_fetch_add(&cross_pending, 1);
        event_active(ev_cross, EV_READ, 0);
    }
    return NULL;
}
static void cross_start(void)
{
    ev_cross = event_new(base, -1, 0, on_cross, NULL);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, activator, NULL)) FAIL("pthread_create");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (evthread_use_pthreads() < 0) FAIL("evthread_use_pthreads");
    struct event_config *cfg = event_config_new();
    const char **methods = event_get_supported_methods();
    for (int i = 0; methods[i]; i++)
        if (strcmp(methods[i], "epoll") != 0) event_config_avoid_method(cfg, methods[i]);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base) { /* say why: libevent itself only says it has no method */
        int ep = epoll_create1(0);
        FAIL("event_base_new_with_config: no epoll backend (libevent %s; epoll_create1: %s)",
             event_get_version(), ep < 0 ? strerror(errno) : "works");
    }
    const char *method = event_base_get_method(base);
    if (strcmp(method, "epoll") != 0) FAIL("backend is %s, not epoll", method);
    if (evthread_make_base_notifiable(base) < 0) FAIL("evthread_make_base_notifiable");

    echo_start();
    ping_start();
    timers_start();
    cross_start();
    if (event_base_dispatch(base) < 0) FAIL("event_base_dispatch");
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    /* activations after the loop went idle are still pending: one more pass runs them */
    if (event_base_loop(base, EVLOOP_NONBLOCK) < 0) FAIL("event_base_loop");

    if (echo_done != CLIENTS || echo_bytes != (size_t)CLIENTS * PER_CLIENT)
        FAIL("echo: %d of %d clients done, %zu bytes", echo_done, CLIENTS, echo_bytes);
    if (pings != ROUNDS || pongs != ROUNDS) FAIL("ping-pong: %d pings, %d pongs of %d", pings, pongs, ROUNDS);
    if (nfired != 3 || fired[0] != 1 || fired[1] != 2 || fired[2] != 0)
        FAIL("timers: %d fired, order %d %d %d (expected the 10, 20, 30 ms ones: 1 2 0)", nfired,
             fired[0], fired[1], fired[2]);
    if (ticks != 10) FAIL("timers: the persistent timer ran %d times", ticks);
    if (cross_sum != (long)THREADS * ACTIVATIONS || cross_callbacks < 1)
        FAIL("threads: callbacks counted %ld of %d activations in %ld calls", cross_sum,
             THREADS * ACTIVATIONS, cross_callbacks);
    printf("libevent: ok: libevent %s, method %s, precise timer; echo %d connections, %zu bytes "
           "verified; ping-pong %d rounds; timers 3 in order + 10 persistent; %d cross-thread "
           "activations from %d threads in %ld callbacks\n",
           event_get_version(), method, CLIENTS, echo_bytes, ROUNDS, THREADS * ACTIVATIONS,
           THREADS, cross_callbacks);
    for (int i = 0; i < 3; i++) event_free(oneshot[i]);
    event_free(persist), event_free(ev_ping), event_free(ev_pong), event_free(ev_cross);
    close(sp[0]), close(sp[1]);
    event_base_free(base);
    return 0;
}
