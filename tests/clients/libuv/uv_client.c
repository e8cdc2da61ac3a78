/*
 * uv_client.c — an unmodified libuv program (Debian's libuv1-dev), part of anypoll's clients
 * room (tests/clients/): the test suite and the scoreboard run it natively, on a host without
 * epoll with and without the drop-in, and on the poll engine. It uses only libuv's API:
 *
 *   echo    a TCP echo server on 127.0.0.1 and 32 clients, 64 KiB each, every byte checked
 *   async   4 threads x 10000 uv_async_send on one handle: sends coalesce, so the callback
 *           adds up what the senders counted; the sum must equal the sends (no lost wake-up)
 *   timers  one-shot timers started out of order fire in timeout order; a repeating one 10 times
 *   backend a second loop embedded in the first: uv_poll on uv_backend_fd(inner) — the epoll fd
 *           — wakes the outer loop each time the inner loop has an event (100 rounds of an
 *           inner uv_async), and epoll_wait accepts that fd as an epoll instance
 *
 * Prints one line `libuv: ok: ...` or `libuv: FAIL: ...` and exits 0 only if all of it held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <uv.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        printf("libuv: FAIL: " __VA_ARGS__);                                                       \
        putchar('\n');                                                                             \
        exit(1);                                                                                   \
    } while (0)
#define UVCHECK(call)                                                                              \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        if (r_ < 0) FAIL("%s: %s (%s)", #call, uv_strerror(r_), uv_err_name(r_));                  \
    } while (0)

static uv_loop_t loop;

/* --- echo ------------------------------------------------------------------------------------ */

enum { CLIENTS = 32, PER_CLIENT = 64 * 1024 };
static uv_tcp_t server;
static int echo_accepted, echo_done;
static size_t echo_bytes;

static unsigned char pattern(int c, size_t i) { return (unsigned char)(i * 7 + (size_t)c * 131 + i / 253); }

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(hint);
    buf->len = hint;
}
static void on_close_free(uv_handle_t *h) { free(h); }

struct wreq {
    uv_write_t req;
    char *base;
};
static void on_server_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    if (status < 0) FAIL("server write: %s", uv_strerror(status));
    free(w->base);
    free(w);
}
static void on_server_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0) FAIL("server shutdown: %s", uv_strerror(status));
    uv_close((uv_handle_t *)req->handle, on_close_free);
    free(req);
}
static void on_server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n > 0) { /* echo what came, as it came */
        struct wreq *w = malloc(sizeof *w);
        w->base = buf->base;
        uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
        UVCHECK(uv_write(&w->req, s, &b, 1, on_server_write));
        return;
    }
    free(buf->base);
    if (n == UV_EOF) {
        uv_shutdown_t *sh = malloc(sizeof *sh);
        UVCHECK(uv_shutdown(sh, s, on_server_shutdown));
    } else if (n < 0) {
        FAIL("server read: %s", uv_strerror((int)n));
    }
}
static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0) FAIL("listen: %s", uv_strerror(status));
    uv_tcp_t *c = malloc(sizeof *c);
    UVCHECK(uv_tcp_init(&loop, c));
    UVCHECK(uv_accept(srv, (uv_stream_t *)c));
    UVCHECK(uv_read_start((uv_stream_t *)c, on_alloc, on_server_read));
    if (++echo_accepted == CLIENTS) uv_close((uv_handle_t *)&server, NULL);
}

struct client {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    uv_shutdown_t sh;
    int id;
    unsigned char *out;
    size_t got;
};
static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = (struct client *)s;
    if (n > 0) {
        for (ssize_t i = 0; i < n; i++, c->got++)
            if (c->got >= PER_CLIENT || (unsigned char)buf->base[i] != pattern(c->id, c->got))
                FAIL("echo client %d: byte %zu wrong or beyond the %d sent", c->id, c->got, PER_CLIENT);
    }
    free(buf->base);
    if (n == UV_EOF) {
        if (c->got != PER_CLIENT) FAIL("echo client %d: %zu of %d bytes before EOF", c->id, c->got, PER_CLIENT);
        echo_bytes += c->got;
        echo_done++;
        uv_close((uv_handle_t *)s, NULL);
    } else if (n < 0) {
        FAIL("echo client %d read: %s", c->id, uv_strerror((int)n));
    }
}
static void on_client_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    if (status < 0) FAIL("client shutdown: %s", uv_strerror(status));
}
static void on_client_write(uv_write_t *req, int status)
{
    struct client *c = req->data;
    if (status < 0) FAIL("echo client %d write: %s", c->id, uv_strerror(status));
    UVCHECK(uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, on_client_shutdown));
}
static void on_connect(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    if (status < 0) FAIL("echo client %d connect: %s", c->id, uv_strerror(status));
    UVCHECK(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_client_read));
    uv_buf_t b = uv_buf_init((char *)c->out, PER_CLIENT);
    c->wr.data = c;
    UVCHECK(uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_client_write));
}

static struct client clients[CLIENTS];
static void echo_start(void)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof bound;
    UVCHECK(uv_ip4_addr("127.0.0.1", 0, &addr));
    UVCHECK(uv_tcp_init(&loop, &server));
    UVCHECK(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0));
    UVCHECK(uv_listen((uv_stream_t *)&server, 128, on_connection));
    UVCHECK(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len));
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &clients[i];
        c->id = i;
        c->out = malloc(PER_CLIENT);
        for (size_t k = 0; k < PER_CLIENT; k++) c->out[k] = pattern(i, k);
        UVCHECK(uv_tcp_init(&loop, &c->tcp));
        c->conn.data = c;
        UVCHECK(uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&bound, on_connect));
    }
}

/* --- async from threads ---------------------------------------------------------------------- */

enum { SENDERS = 4, SENDS = 10000 };
static uv_async_t async;
static atomic_long pending;
static long async_sum, async_callbacks;
static uv_thread_t senders[SENDERS];

static void on_async(uv_async_t *a)
{
    async_callbacks++;
    async_sum += atomic_exchange(&pending, 0);
    if (async_sum == (long)SENDERS * SENDS) uv_close((uv_handle_t *)a, NULL);
    else if (async_sum > (long)SENDERS * SENDS) FAIL("async: counted %ld, sent %d", async_sum, SENDERS * SENDS);
}
static void sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < SENDS; i++) {
        atomic_fetch_add(&pending, 1);
        UVCHECK(uv_async_send(&async));
    }
}
static void async_start(void)
{
    UVCHECK(uv_async_init(&loop, &async, on_async));
    for (int i = 0; i < SENDERS; i++) UVCHECK(uv_thread_create(&senders[i], sender, NULL));
}

/* --- timers ---------------------------------------------------------------------------------- */

static uv_timer_t oneshot[3], repeat;
static int fired[3], nfired, repeats;
static const uint64_t timeouts[3] = {30, 10, 20};

static void on_oneshot(uv_timer_t *t)
{
    fired[nfired++] = (int)(t - oneshot);
    uv_close((uv_handle_t *)t, NULL);
}
static void on_repeat(uv_timer_t *t)
{
    if (++repeats == 10) uv_close((uv_handle_t *)t, NULL);
}
static void timers_start(void)
{
    for (int i = 0; i < 3; i++) {
        UVCHECK(uv_timer_init(&loop, &oneshot[i]));
        UVCHECK(uv_timer_start(&oneshot[i], on_oneshot, timeouts[i], 0));
    }
    UVCHECK(uv_timer_init(&loop, &repeat));
    UVCHECK(uv_timer_start(&repeat, on_repeat, 1, 2));
}

/* --- the backend fd, polled by another loop -------------------------------------------------- */

enum { ROUNDS = 100 };
static uv_loop_t inner;
static uv_async_t inner_async;
static uv_poll_t backend_poll;
static int inner_rounds, backend_wakeups;

static void on_inner_async(uv_async_t *a)
{
    if (++inner_rounds < ROUNDS) UVCHECK(uv_async_send(a)); /* the next round's event */
    else uv_close((uv_handle_t *)a, NULL);
}
static void on_backend(uv_poll_t *p, int status, int events)
{
    if (status < 0) FAIL("uv_poll on the backend fd: %s", uv_strerror(status));
    if (!(events & UV_READABLE)) FAIL("uv_poll on the backend fd: events %d", events);
    backend_wakeups++;
    uv_run(&inner, UV_RUN_NOWAIT);
    if (inner_rounds == ROUNDS) uv_close((uv_handle_t *)p, NULL);
}
static void backend_start(void)
{
    UVCHECK(uv_loop_init(&inner));
    int fd = uv_backend_fd(&inner);
    if (fd < 0) FAIL("uv_backend_fd: %d", fd);
    /* What makes it an epoll fd to its users: epoll_wait accepts it (EINVAL otherwise). The
     * inner loop watches nothing yet, so this takes nothing from it. */
    struct epoll_event ev;
    int n = epoll_wait(fd, &ev, 1, 0);
    if (n != 0) FAIL("epoll_wait(uv_backend_fd) = %d (%s), expected 0", n, n < 0 ? strerror(errno) : "an event");
    UVCHECK(uv_async_init(&inner, &inner_async, on_inner_async));
    uv_run(&inner, UV_RUN_NOWAIT); /* the inner loop registers its wake-up fd in its epoll */
    UVCHECK(uv_poll_init(&loop, &backend_poll, fd));
    UVCHECK(uv_poll_start(&backend_poll, UV_READABLE, on_backend));
    UVCHECK(uv_async_send(&inner_async));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int r = uv_loop_init(&loop);
    if (r < 0) FAIL("uv_loop_init: %s (%s)", uv_strerror(r), uv_err_name(r));
    echo_start();
    async_start();
    timers_start();
    backend_start();
    uv_run(&loop, UV_RUN_DEFAULT); /* returns when every handle is closed */
    for (int i = 0; i < SENDERS; i++) UVCHECK(uv_thread_join(&senders[i]));

    if (echo_done != CLIENTS || echo_bytes != (size_t)CLIENTS * PER_CLIENT)
        FAIL("echo: %d of %d clients done, %zu bytes", echo_done, CLIENTS, echo_bytes);
    if (async_sum != (long)SENDERS * SENDS || atomic_load(&pending) != 0)
        FAIL("async: callbacks counted %ld of %d sends", async_sum, SENDERS * SENDS);
    if (async_callbacks < 1 || async_callbacks > (long)SENDERS * SENDS)
        FAIL("async: %ld callbacks for %d sends", async_callbacks, SENDERS * SENDS);
    if (nfired != 3 || fired[0] != 1 || fired[1] != 2 || fired[2] != 0)
        FAIL("timers: %d fired, order %d %d %d (expected the 10, 20, 30 ms ones: 1 2 0)", nfired,
             fired[0], fired[1], fired[2]);
    if (repeats != 10) FAIL("timers: the repeating timer fired %d times", repeats);
    if (inner_rounds != ROUNDS || backend_wakeups < 1 || backend_wakeups > ROUNDS)
        FAIL("backend fd: %d inner rounds, %d wake-ups", inner_rounds, backend_wakeups);
    if (uv_loop_close(&inner) != 0) FAIL("uv_loop_close(inner): handles left");
    if (uv_loop_close(&loop) != 0) FAIL("uv_loop_close: handles left");
    printf("libuv: ok: libuv %s; echo %d connections, %zu bytes verified; async %d sends from %d "
           "threads in %ld callbacks, sum %ld; timers 3 in order + 10 repeats; backend fd polled "
           "by another loop: %d rounds in %d wake-ups\n",
           uv_version_string(), CLIENTS, echo_bytes, SENDERS * SENDS, SENDERS, async_callbacks,
           async_sum, ROUNDS, backend_wakeups);
    for (int i = 0; i < CLIENTS; i++) free(clients[i].out);
    return 0;
}
