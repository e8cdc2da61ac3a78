/*
 * echo.c — a TCP echo server and its clients in one process, written only against anypoll.h.
 *
 * The server runs its own event loop in a thread: a listening socket and every accepted
 * connection, all non-blocking and edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET), plus
 * an eventfd through which the main thread tells it to stop. The main thread runs the clients
 * in a second event loop: each connects, streams a few hundred KB in uneven chunks, shuts
 * down its sending side and checks that every byte comes back, in order, followed by EOF.
 *
 * Edge-triggered rules, as with the kernel: after an event, read until EAGAIN (or until the
 * buffer is full) and write until EAGAIN (or nothing is left), and only then wait again. All
 * I/O on registered fds goes through anypoll_read/anypoll_write/anypoll_accept/anypoll_close,
 * so an emulating engine learns when an fd was drained.
 *
 *   usage: echo [--engine NAME] [--clients N] [--bytes PER_CLIENT]
 *   prints: echo: engine native, 8 clients, 3276800 bytes echoed and verified
 *   exit status: 0 when every byte came back intact; 1 on any error, mismatch or timeout (30 s).
 */
#include "anypoll.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#endif

#define WATCHDOG_SECONDS 30
#define MAX_EVENTS 64
#define SERVER_BUF 65536
#define MAX_CHUNK 16384

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("echo: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "echo: FAIL: timeout: not done within 30 s\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(1);
    _exit(1);
}

#ifdef _WIN32
/* Winsock (anypoll.h brought it in): a socket is its SOCKET value as an int, errors come from
 * WSAGetLastError(), and there is no SIGPIPE or alarm(): a watchdog thread takes their place. */
#define SHUT_WR SD_SEND
static int connect_in_progress(void) { return WSAGetLastError() == WSAEWOULDBLOCK; }
static void *watchdog(void *arg)
{
    (void)arg;
    Sleep(WATCHDOG_SECONDS * 1000);
    on_alarm(0);
    return NULL;
}
static void start_watchdog(void)
{
    WSADATA d;
    pthread_t t;
    WSAStartup(MAKEWORD(2, 2), &d);
    if (pthread_create(&t, NULL, watchdog, NULL) != 0) fail("pthread_create");
}
static void stop_watchdog(void) {}
#else
/* EAGAIN: Windows under Cosmopolitan (an APE, mk/ape.mk) reports WSAEWOULDBLOCK as it is */
static int connect_in_progress(void) { return errno == EINPROGRESS || errno == EAGAIN; }
static void start_watchdog(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(WATCHDOG_SECONDS);
}
static void stop_watchdog(void) { alarm(0); }
#endif

static void set_nonblocking(int fd)
{
    int fl = anypoll_fcntl(fd, F_GETFL, 0);
    if (fl < 0 || anypoll_fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        fail("fcntl O_NONBLOCK: %s", strerror(errno));
}

static void watch(int ep, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data = {.ptr = ptr}};
    if (anypoll_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        fail("epoll_ctl ADD %d: %s", fd, strerror(errno));
}

#define STREAM_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

/* The byte at offset `off` of client `id`'s stream: no short period, differs per client. */
static unsigned char pattern(int id, size_t off)
{
    uint32_t x = (uint32_t)off * 2654435761u ^ (uint32_t)id * 0x9e3779b9u;
    x ^= x >> 15;
    x *= 0x85ebca6bu;
    return (unsigned char)(x ^ x >> 13);
}

/* --- server (its own thread and epoll instance) ----------------------------------------- */

struct server {
    int ep, lfd, stopfd;
    int accepted;
    unsigned long long echoed;
};

struct sconn {
    int fd, eof;
    size_t head, tail; /* bytes [head, tail) of buf are read and not yet echoed */
    unsigned char buf[SERVER_BUF];
};

static char listen_tag, stop_tag;

/* Echo until blocked. 1 when the connection is finished (and closed), else 0. */
static int serve(struct server *s, struct sconn *c)
{
    for (int progress = 1; progress;) {
        progress = 0;
        while (c->head < c->tail) {
            ssize_t w = anypoll_write(c->fd, c->buf + c->head, c->tail - c->head);
            if (w > 0) {
                c->head += (size_t)w;
                s->echoed += (unsigned long long)w;
                progress = 1;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else if (w == 0 || errno != EINTR) {
                fail("server write: %s", w ? strerror(errno) : "wrote nothing");
            }
        }
        if (c->head > 0) { /* make room at the end */
            memmove(c->buf, c->buf + c->head, c->tail - c->head);
            c->tail -= c->head;
            c->head = 0;
        }
        while (!c->eof && c->tail < sizeof c->buf) {
            ssize_t r = anypoll_read(c->fd, c->buf + c->tail, sizeof c->buf - c->tail);
            if (r > 0) {
                c->tail += (size_t)r;
                progress = 1;
            } else if (r == 0) {
                c->eof = progress = 1;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            } else if (errno != EINTR) {
                fail("server read: %s", strerror(errno));
            }
        }
    }
    if (!c->eof || c->tail > 0) return 0;
    if (anypoll_close(c->fd) != 0) fail("server close: %s", strerror(errno));
    free(c);
    return 1;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    struct epoll_event evs[MAX_EVENTS];
    for (int stop = 0; !stop;) {
        int n = anypoll_epoll_wait(s->ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("server epoll_wait returned %d: %s", n, n ? strerror(errno) : "-");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &stop_tag) {
                eventfd_t v;
                if (anypoll_eventfd_read(s->stopfd, &v) != 0) fail("stop eventfd read");
                stop = 1;
            } else if (evs[i].data.ptr == &listen_tag) {
                int fd;
                while ((fd = anypoll_accept(s->lfd, NULL, NULL)) >= 0) {
                    struct sconn *c = calloc(1, sizeof *c);
                    if (!c) fail("out of memory");
                    c->fd = fd;
                    set_nonblocking(fd);
                    s->accepted++;
                    watch(s->ep, fd, STREAM_EVENTS, c);
                }
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    fail("accept: %s", strerror(errno));
            } else {
                serve(s, evs[i].data.ptr);
            }
        }
    }
    return NULL;
}

/* --- clients (the main thread's epoll instance) ------------------------------------------ */

struct client {
    int id, fd, connected, shut, eof;
    size_t total, sent, received;
};

/* Send and verify until blocked. 1 when the whole stream came back (fd closed), else 0. */
static int client_pump(struct client *c, uint32_t events)
{
    unsigned char buf[MAX_CHUNK];
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *)&err, &len) != 0 || err)
            fail("client %d: connect: %s", c->id, strerror(err ? err : errno));
        if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) != 0) {
            if (events & (EPOLLERR | EPOLLHUP)) fail("client %d: connection failed", c->id);
            return 0; /* still connecting: EPOLLOUT will say when */
        }
        c->connected = 1;
    }
    for (int progress = 1; progress;) {
        progress = 0;
        while (c->sent < c->total) {
            size_t n = 1 + (c->sent * 7 + (size_t)c->id * 131) % MAX_CHUNK; /* uneven chunks */
            if (n > c->total - c->sent) n = c->total - c->sent;
            for (size_t i = 0; i < n; i++) buf[i] = pattern(c->id, c->sent + i);
            ssize_t w = anypoll_write(c->fd, buf, n);
            if (w > 0) {
                c->sent += (size_t)w;
                progress = 1;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else if (w == 0 || errno != EINTR) {
                fail("client %d: write: %s", c->id, w ? strerror(errno) : "wrote nothing");
            }
        }
        if (c->sent == c->total && !c->shut) {
            if (shutdown(c->fd, SHUT_WR) != 0) fail("client %d: shutdown: %s", c->id, strerror(errno));
            c->shut = 1;
        }
        while (!c->eof) {
            ssize_t r = anypoll_read(c->fd, buf, sizeof buf);
            if (r > 0) {
                if (c->received + (size_t)r > c->total)
                    fail("client %d: %zu bytes echoed, only %zu sent", c->id,
                         c->received + (size_t)r, c->total);
                for (ssize_t i = 0; i < r; i++)
                    if (buf[i] != pattern(c->id, c->received + (size_t)i))
                        fail("client %d: byte %zu is 0x%02x, sent 0x%02x", c->id,
                             c->received + (size_t)i, buf[i], pattern(c->id, c->received + (size_t)i));
                c->received += (size_t)r;
                progress = 1;
            } else if (r == 0) {
                c->eof = 1;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            } else if (errno != EINTR) {
                fail("client %d: read: %s", c->id, strerror(errno));
            }
        }
    }
    if (!c->eof) return 0;
    if (c->received != c->total)
        fail("client %d: EOF after %zu of %zu bytes", c->id, c->received, c->total);
    if (anypoll_close(c->fd) != 0) fail("client close: %s", strerror(errno));
    c->fd = -1;
    return 1;
}

static long parse_count(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "echo: %s wants a number from %ld to %ld\n", opt, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *want = NULL;
    int nclients = 8;
    size_t per_client = 400 * 1024;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--engine") && i + 1 < argc) want = argv[++i];
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            nclients = (int)parse_count("--clients", argv[++i], 1, 500);
        else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
            per_client = (size_t)parse_count("--bytes", argv[++i], 1, 1L << 30);
        else {
            fprintf(stderr, "usage: echo [--engine NAME] [--clients N] [--bytes PER_CLIENT]\n"
                            "A TCP echo server and N clients in one process, on anypoll.\n"
                            "Exit status 0 when every byte came back intact, 1 otherwise.\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    start_watchdog();

    if (want && anypoll_use_engine(want) != 0) fail("engine %s: %s", want, strerror(errno));
    const char *engine = anypoll_engine_name();
    if (!engine) fail("no anypoll engine: %s", strerror(errno));

    /* Server: listening socket on an ephemeral loopback port, stop eventfd, its own thread. */
    struct server srv = {0};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(srv.lfd, 128) != 0 || getsockname(srv.lfd, (struct sockaddr *)&addr, &alen) != 0)
        fail("listen on 127.0.0.1: %s", strerror(errno));
    set_nonblocking(srv.lfd);
    if ((srv.ep = anypoll_epoll_create1(EPOLL_CLOEXEC)) < 0) fail("epoll_create1: %s", strerror(errno));
    if ((srv.stopfd = anypoll_eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        fail("eventfd: %s", strerror(errno));
    watch(srv.ep, srv.lfd, EPOLLIN | EPOLLET, &listen_tag);
    watch(srv.ep, srv.stopfd, EPOLLIN | EPOLLET, &stop_tag);
    pthread_t tid;
    if (pthread_create(&tid, NULL, server_main, &srv) != 0) fail("pthread_create");

    /* Clients: all connecting at once, driven by this thread's loop. */
    int ep = anypoll_epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1: %s", strerror(errno));
    struct client *clients = calloc((size_t)nclients, sizeof *clients);
    if (!clients) fail("out of memory");
    for (int i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        c->id = i;
        c->total = per_client;
        if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) fail("socket: %s", strerror(errno));
        set_nonblocking(c->fd);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) c->connected = 1;
        else if (!connect_in_progress()) fail("connect: %s", strerror(errno));
        watch(ep, c->fd, STREAM_EVENTS, c);
    }
    struct epoll_event evs[MAX_EVENTS];
    for (int done = 0; done < nclients;) {
        int n = anypoll_epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("epoll_wait returned %d: %s", n, n ? strerror(errno) : "-");
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (c->fd >= 0) done += client_pump(c, evs[i].events);
        }
    }

    /* Tell the server thread to stop, from this thread, through its eventfd. */
    if (anypoll_eventfd_write(srv.stopfd, 1) != 0) fail("eventfd_write: %s", strerror(errno));
    if (pthread_join(tid, NULL) != 0) fail("pthread_join");
    unsigned long long total = (unsigned long long)per_client * (unsigned)nclients;
    if (srv.accepted != nclients || srv.echoed != total)
        fail("server accepted %d connections and echoed %llu bytes, expected %d and %llu",
             srv.accepted, srv.echoed, nclients, total);
    if (anypoll_close(ep) || anypoll_close(srv.ep) || anypoll_close(srv.stopfd) ||
        anypoll_close(srv.lfd))
        fail("close: %s", strerror(errno));
    free(clients);
    stop_watchdog();
    printf("echo: engine %s, %d client%s, %llu bytes echoed and verified\n", engine, nclients,
           nclients == 1 ? "" : "s", total);
    return 0;
}
