/*
 * bench/httpd.c — workload 5, a small HTTP/1.1 keep-alive server for `wrk` (room: bench/; see
 * harness.h).
 *
 * Single-threaded, level-triggered: the listener accepts until EAGAIN, a connection reads once
 * per readiness and answers every complete request in what it read with one fixed 200 response.
 * Prints `listening port=N` once ready, serves until SIGTERM/SIGINT (a self-pipe in the loop
 * notices it) or --seconds, then prints its `result` line: requests served, with its own CPU
 * time, so the server's cost per request is measured apart from wrk's.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
                           "Hello, world!";
static long long served, conns;
static int sig_pipe[2], stopping;

struct conn {
    int tail; /* how many bytes of "\r\n\r\n" the previous read ended with */
};

static void on_sig(int s)
{
    (void)s;
    int e = errno;
    (void)!write(sig_pipe[1], "s", 1);
    errno = e;
}

static void on_stop(struct bl *l, struct bw *w, unsigned ev)
{
    (void)l, (void)w, (void)ev;
    stopping = 1;
}

static void close_conn(struct bl *l, struct bw *w)
{
    CHECK(C->del(l, w) == 0);
    C->close(w->fd);
    free(w->arg);
    bench_watcher_free(w);
}

static void on_conn(struct bl *l, struct bw *w, unsigned ev)
{
    (void)ev;
    struct conn *c = w->arg;
    char buf[8192];
    ssize_t r = C->read(w->fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        close_conn(l, w);
        return;
    }
    static const char end[] = "\r\n\r\n";
    int reqs = 0, t = c->tail;
    for (ssize_t i = 0; i < r; i++) {
        t = buf[i] == end[t] ? t + 1 : (buf[i] == '\r' ? 1 : 0);
        if (t == 4) {
            reqs++;
            t = 0;
        }
    }
    c->tail = t;
    /* responses are small and wrk does not pipeline: they fit the send buffer */
    static char out[sizeof RESP * 64];
    while (reqs > 0) {
        int k = reqs > 64 ? 64 : reqs;
        for (int i = 0; i < k; i++) memcpy(out + i * (sizeof RESP - 1), RESP, sizeof RESP - 1);
        size_t len = k * (sizeof RESP - 1);
        if (C->write(w->fd, out, len) != (ssize_t)len) {
            close_conn(l, w);
            return;
        }
        served += k;
        reqs -= k;
    }
}

static void on_accept(struct bl *l, struct bw *w, unsigned ev)
{
    (void)ev;
    for (;;) {
        int fd = C->accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
            bench_die("accept4: %m");
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        CHECK(c);
        struct bw *cw = bench_watcher(fd, BL_IN, on_conn, c);
        CHECK(C->add(l, cw) == 0);
        conns++;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "httpd", "port=0 m=0", 0);
    bench_fds(bench_opt_ll("m") + 256); /* --m: the connections to expect */
    CHECK(pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == 0);
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((int)bench_opt_ll("port")),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(ls, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(listen(ls, 4096) == 0);
    socklen_t sl = sizeof sin;
    CHECK(getsockname(ls, (struct sockaddr *)&sin, &sl) == 0);

    struct bl *l = C->loop_new(0);
    struct bw *lw = bench_watcher(ls, BL_IN, on_accept, NULL);
    struct bw *sw = bench_watcher(sig_pipe[0], BL_IN, on_stop, NULL);
    CHECK(C->add(l, lw) == 0 && C->add(l, sw) == 0);
    printf("listening port=%d\n", ntohs(sin.sin_port));
    fflush(stdout);
    bench_start();
    /* --seconds and --iters are checked after each wake-up; the runner stops it with SIGTERM */
    while (!stopping && bench_more(served)) CHECK(C->run_once(l, -1) >= 0);
    bench_result(served, "metric=requests connections=%lld", conns);
    return 0;
}
