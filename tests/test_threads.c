/*
 * test_threads.c — ADD/MOD/DEL and writes from other threads while a thread is blocked in
 * epoll_wait; DEL is final for every wait that starts after it returned. Bounded waits and
 * wake-up counts, no sleeps as synchronisation.
 */
#include "runner.h"

#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

struct waiter {
    int ep;
    int timeout;
    pid_t tid;
    atomic_int armed;
    int n;
    int err;
    struct epoll_event evs[8];
    int64_t took_ms;
};

static void *wait_thread(void *p)
{
    struct waiter *w = p;
    w->tid = current_tid();
    int64_t t0 = now_ns();
    w->armed = 1;
    w->n = T.epoll_wait(w->ep, w->evs, 8, w->timeout);
    w->err = errno;
    w->took_ms = elapsed_ms(t0);
    return NULL;
}

/* Starts a waiter on ep and returns once it is (observably) blocked in epoll_wait. */
static pthread_t start_waiter(struct waiter *w, int ep, int timeout)
{
    memset(w, 0, sizeof *w);
    w->ep = ep;
    w->timeout = timeout;
    pthread_t t = start_thread(wait_thread, w);
    int64_t t0 = now_ns();
    while (!w->armed && elapsed_ms(t0) < 2000) {
        struct timespec tick = {0, 100000};
        nanosleep(&tick, NULL);
    }
    wait_until_blocked(w->tid, &w->armed);
    return t;
}

TEST(thread_add_wakes_blocked_waiter)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK); /* already readable */
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    ADD(ep, efd, EPOLLIN, 0x5151);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 0x5151));
    CHECK(w.took_ms < 5000);
    CLOSE(efd);
    CLOSE(ep);
}

/* mio's pattern: registrations through a dup of the epoll fd, the driver blocked on the
 * original. */
TEST(thread_add_through_dup_wakes_waiter)
{
    int ep = new_epoll();
    int ep2 = MUST(T.fcntl(ep, F_DUPFD_CLOEXEC, 0));
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    ADD(ep2, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 0x77);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLOUT, 0x77));
    CHECK(w.took_ms < 5000);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep2);
    CLOSE(ep);
}

TEST(thread_mod_rearm_wakes_blocked_waiter)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLONESHOT, 1);
    WAIT_EXPECT(ep, EV(EPOLLIN, 1));
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    MOD(ep, efd, EPOLLIN | EPOLLONESHOT, 2);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 2));
    CHECK(w.took_ms < 5000);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(thread_eventfd_write_wakes_blocked_waiter)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 3);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    efd_write(efd, 1);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 3));
    CHECK(w.took_ms < 5000);
    CLOSE(efd);
    CLOSE(ep);
}

TEST(thread_socket_data_wakes_blocked_waiter)
{
    int ep = new_epoll();
    int c, s;
    tcp_pair(&c, &s);
    ADD(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET, 4);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    CHECK_EQ(T.send(c, "ping", 4, 0), 4);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 4));
    CLOSE(c);
    CLOSE(s);
    CLOSE(ep);
}

/* DEL while a waiter is blocked: the already-blocked wait never reports the registration. */
TEST(thread_del_takes_effect_in_blocked_wait)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 5);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 300);
    DEL(ep, efd);
    efd_write(efd, 1);
    join_thread(t);
    CHECK_EQ(w.n, 0);
    CHECK(w.took_ms >= 300);
    CLOSE(efd);
    CLOSE(ep);
}

/* tokio: data is a pointer freed after DEL. A wait that starts after DEL returned must never
 * report that registration, while another thread keeps adding, firing and deleting. */
struct churn {
    int ep;
    int rounds;
    atomic_ullong deleted_upto; /* every registration with data <= this was DELeted */
    atomic_int done;
};

static void *churn_thread(void *p)
{
    struct churn *c = p;
    for (int i = 1; i <= c->rounds; i++) {
        int efd = new_eventfd(0, EFD_NONBLOCK);
        ADD(c->ep, efd, EPOLLIN | EPOLLET, (uint64_t)i);
        efd_write(efd, 1);
        DEL(c->ep, efd);
        atomic_store(&c->deleted_upto, (unsigned long long)i);
        CLOSE(efd);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

TEST(thread_wait_after_del_never_reports_it)
{
    int ep = new_epoll();
    struct churn c = {.ep = ep, .rounds = 2000};
    atomic_init(&c.deleted_upto, 0);
    atomic_init(&c.done, 0);
    pthread_t t = start_thread(churn_thread, &c);
    int reported = 0;
    int64_t t0 = now_ns();
    while (!atomic_load(&c.done)) {
        if (elapsed_ms(t0) > 10000) FAIL("the churn thread did not finish");
        unsigned long long before = atomic_load(&c.deleted_upto);
        struct epoll_event evs[8];
        int n = T.epoll_wait(ep, evs, 8, 1);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 <= before)
                FAIL("registration %llu reported by a wait that started after its DEL returned "
                     "(deleted up to %llu)", (unsigned long long)evs[i].data.u64, before);
            CHECK_EQ(evs[i].events, EPOLLIN);
            reported++;
        }
    }
    join_thread(t);
    WAIT_NONE(ep);
    (void)reported;
    CLOSE(ep);
}

struct writers {
    int efd;
    int per_thread;
};

static void *write_many(void *p)
{
    struct writers *w = p;
    for (int i = 0; i < w->per_thread; i++) efd_write(w->efd, 1);
    return NULL;
}

TEST(thread_eventfd_writes_from_n_threads_counted)
{
    enum { N = 8, EACH = 2000 };
    int efd = new_eventfd(0, 0);
    struct writers w = {efd, EACH};
    pthread_t t[N];
    for (int i = 0; i < N; i++) t[i] = start_thread(write_many, &w);
    for (int i = 0; i < N; i++) join_thread(t[i]);
    CHECK_U64(efd_read(efd), (uint64_t)N * EACH);
    CLOSE(efd);
}

/* Writers in several threads, a reader consuming concurrently: nothing lost, nothing doubled. */
TEST(thread_eventfd_concurrent_reader_sums)
{
    enum { N = 4, EACH = 3000 };
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 6);
    struct writers w = {efd, EACH};
    pthread_t t[N];
    for (int i = 0; i < N; i++) t[i] = start_thread(write_many, &w);
    uint64_t total = 0;
    int64_t t0 = now_ns();
    while (total < (uint64_t)N * EACH) {
        if (elapsed_ms(t0) > 10000) FAIL("only %llu of %d counted", (unsigned long long)total, N * EACH);
        struct epoll_event ev[2];
        int n = T.epoll_wait(ep, ev, 2, WAIT_MS);
        if (n == 0) FAIL("no event with %llu of %d counted", (unsigned long long)total, N * EACH);
        CHECK_EQ(n, 1);
        for (;;) {
            uint64_t v;
            ssize_t r = T.read(efd, &v, 8);
            if (r < 0 && errno == EAGAIN) break;
            CHECK_EQ(r, 8);
            total += v;
        }
    }
    for (int i = 0; i < N; i++) join_thread(t[i]);
    CHECK_U64(total, (uint64_t)N * EACH);
    CLOSE(efd);
    CLOSE(ep);
}

/* Two threads blocked on one instance, one ET event: delivered exactly once. */
TEST(thread_two_waiters_one_et_event_delivered_once)
{
    int ep = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 7);
    struct waiter a, b;
    pthread_t ta = start_waiter(&a, ep, 500);
    pthread_t tb = start_waiter(&b, ep, 500);
    efd_write(efd, 1);
    join_thread(ta);
    join_thread(tb);
    CHECK(a.n >= 0 && b.n >= 0);
    CHECK_EQ(a.n + b.n, 1);
    if (a.n) CHECK_EVENTS(a.n, a.evs, EV(EPOLLIN, 7));
    else CHECK_EVENTS(b.n, b.evs, EV(EPOLLIN, 7));
    CLOSE(efd);
    CLOSE(ep);
}

/* A blocked waiter on the outer instance is woken by an event in a nested one. */
TEST(thread_nested_event_wakes_outer_waiter)
{
    int outer = new_epoll(), inner = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(inner, efd, EPOLLIN, 8);
    ADD(outer, inner, EPOLLIN, 9);
    struct waiter w;
    pthread_t t = start_waiter(&w, outer, 10000);
    efd_write(efd, 1);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 9));
    CHECK(w.took_ms < 5000);
    CLOSE(efd);
    CLOSE(inner);
    CLOSE(outer);
}

/* MOD from another thread adds interest a blocked waiter must see at once. */
TEST(thread_mod_adds_interest_wakes_waiter)
{
    int ep = new_epoll();
    int sv[2];
    make_socketpair(sv, SOCK_STREAM);
    ADD(ep, sv[0], EPOLLIN, 10);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    MOD(ep, sv[0], EPOLLIN | EPOLLOUT, 11);
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLOUT, 11));
    CHECK(w.took_ms < 5000);
    CLOSE(sv[0]);
    CLOSE(sv[1]);
    CLOSE(ep);
}

/* An infinite wait never returns 0, however much happens around it that is not an event for
 * it: registrations of fds that are not ready come and go, other instances get events. */
struct bystander {
    int ep, other_ep, target_efd;
    pid_t tid;
    atomic_int armed;
};

static void *busy_bystander(void *p)
{
    struct bystander *b = p;
    wait_until_blocked(b->tid, &b->armed);
    int quiet = new_eventfd(0, EFD_NONBLOCK);
    int side = new_eventfd(0, EFD_NONBLOCK);
    ADD(b->other_ep, side, EPOLLIN | EPOLLET, 1);
    for (int i = 0; i < 200; i++) {
        ADD(b->ep, quiet, EPOLLIN | EPOLLET, 2);
        MOD(b->ep, quiet, EPOLLIN, 3);
        DEL(b->ep, quiet);
        efd_write(side, 1); /* an event, but in another instance */
    }
    CLOSE(quiet);
    CLOSE(side);
    efd_write(b->target_efd, 1);
    return NULL;
}

TEST(thread_infinite_wait_never_returns_zero)
{
    int ep = new_epoll(), other = new_epoll();
    int efd = new_eventfd(0, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN, 0x99);
    struct bystander b = {ep, other, efd, current_tid(), 0};
    pthread_t t = start_thread(busy_bystander, &b);
    struct epoll_event evs[8];
    b.armed = 1;
    int n = T.epoll_wait(ep, evs, 8, -1);
    join_thread(t);
    CHECK_EVENTS(n, evs, EV(EPOLLIN, 0x99));
    CLOSE(efd);
    CLOSE(ep);
    CLOSE(other);
}

/* Ping-pong between two threads, each blocked in its own instance, for many rounds: every
 * wake-up must arrive (a lost one stalls a round until the bounded wait gives up, and the case
 * fails with the round and the counts). */
enum { PINGPONG_ROUNDS = 2000 };

struct pingpong {
    int ep[2];    /* ep[i] is waited on by side i */
    int wake[2];  /* writing wake[i] wakes side i */
    int socket;   /* 1: socketpair ends drained to EAGAIN; 0: eventfds never read */
    atomic_int got[2], lost[2];
    int why_n[2], why_errno[2], why_round[2]; /* how a side lost a round, for the failure */
};

static void pingpong_kick(struct pingpong *pp, int to)
{
    if (pp->socket) {
        if (T.write(pp->wake[to], "p", 1) != 1) atomic_fetch_add(&pp->lost[to], 1);
    } else {
        uint64_t one = 1;
        if (T.write(pp->wake[to], &one, 8) != 8) atomic_fetch_add(&pp->lost[to], 1);
    }
}

/* Side `me` waits for a kick, then kicks the other side; side 0 kicks first. */
static void pingpong_side(struct pingpong *pp, int me, int *peer_fd_to_drain)
{
    for (int round = 0; round < PINGPONG_ROUNDS; round++) {
        if (me == 0) pingpong_kick(pp, 1);
        struct epoll_event ev[4];
        int n = T.epoll_wait(pp->ep[me], ev, 4, 5000);
        if (n != 1) {
            pp->why_n[me] = n;
            pp->why_errno[me] = errno;
            pp->why_round[me] = round;
            atomic_fetch_add(&pp->lost[me], 1);
            return;
        }
        atomic_fetch_add(&pp->got[me], 1);
        if (peer_fd_to_drain) { /* as mio/tokio do: read until EAGAIN */
            char buf[64];
            while (T.read(*peer_fd_to_drain, buf, sizeof buf) > 0) {
            }
        }
        if (me == 1) pingpong_kick(pp, 0);
    }
}

struct pingpong_arg {
    struct pingpong *pp;
    int drain;
};

static void *pingpong_thread(void *p)
{
    struct pingpong_arg *a = p;
    pingpong_side(a->pp, 1, a->pp->socket ? &a->drain : NULL);
    return NULL;
}

static void pingpong_run(int socket)
{
    struct pingpong pp = {.socket = socket};
    int rx[2]; /* the fd each side registers */
    if (socket) {
        int a[2], b[2];
        make_socketpair(a, SOCK_STREAM); /* side 0 reads a[0], side 1 writes a[1] */
        make_socketpair(b, SOCK_STREAM); /* side 1 reads b[0], side 0 writes b[1] */
        for (int i = 0; i < 2; i++) {
            CHECK_EQ(T.fcntl(a[i], F_SETFL, O_NONBLOCK), 0);
            CHECK_EQ(T.fcntl(b[i], F_SETFL, O_NONBLOCK), 0);
        }
        rx[0] = a[0], rx[1] = b[0];
        pp.wake[0] = a[1], pp.wake[1] = b[1];
    } else {
        rx[0] = pp.wake[0] = new_eventfd(0, EFD_NONBLOCK);
        rx[1] = pp.wake[1] = new_eventfd(0, EFD_NONBLOCK);
    }
    for (int i = 0; i < 2; i++) {
        pp.ep[i] = new_epoll();
        ADD(pp.ep[i], rx[i], EPOLLIN | EPOLLRDHUP | EPOLLET, (uint64_t)i);
    }
    struct pingpong_arg arg = {&pp, rx[1]};
    pthread_t t = start_thread(pingpong_thread, &arg);
    int drain0 = rx[0];
    pingpong_side(&pp, 0, socket ? &drain0 : NULL);
    join_thread(t);
    for (int i = 0; i < 2; i++)
        if (atomic_load(&pp.lost[i]))
            FAIL("side %d lost round %d: epoll_wait returned %d (%s) after %d of %d wake-ups", i,
                 pp.why_round[i], pp.why_n[i], errno_name(pp.why_errno[i]),
                 atomic_load(&pp.got[i]), PINGPONG_ROUNDS);
    CHECK_EQ(atomic_load(&pp.got[0]), PINGPONG_ROUNDS);
    CHECK_EQ(atomic_load(&pp.got[1]), PINGPONG_ROUNDS);
    for (int i = 0; i < 2; i++) {
        CLOSE(pp.ep[i]);
        CLOSE(rx[i]);
        if (socket) CLOSE(pp.wake[i]);
    }
}

TEST(thread_pingpong_et_eventfds_never_read_every_wakeup_arrives) { pingpong_run(0); }

TEST(thread_pingpong_et_sockets_drained_every_wakeup_arrives) { pingpong_run(1); }

/* Two threads blocked on one instance; an fd that is ready is ADDed level-triggered. The kernel
 * hands it to one waiter and, the ready list still holding it, wakes the next: both return it.
 * Neither may sleep on with a poll set that predates the ADD (it would return 0 at its timeout). */
TEST(thread_two_waiters_both_see_level_triggered_add)
{
    int ep = new_epoll();
    int p[2];
    make_pipe(p, O_NONBLOCK);
    write_str(p[1], "x");
    struct waiter a, b;
    pthread_t ta = start_waiter(&a, ep, 3000);
    pthread_t tb = start_waiter(&b, ep, 3000);
    ADD(ep, p[0], EPOLLIN, 0x77);
    join_thread(ta);
    join_thread(tb);
    CHECK_EQ(a.n, 1);
    CHECK_EQ(b.n, 1);
    CHECK_U64(a.evs[0].data.u64, 0x77);
    CHECK_U64(b.evs[0].data.u64, 0x77);
    CLOSE(p[0]);
    CLOSE(p[1]);
    CLOSE(ep);
}

/* Many pipes ADDed while a thread is blocked: the poll engine grows its arrays when the waiter
 * comes back, and the waiter must not read the wake-ups of its round from the arrays it polled
 * (freed by that growth: a use after free ASan reports, a crash under tokio). The last pipe
 * made readable is the answer. */
TEST(thread_adds_grow_the_set_of_a_blocked_waiter)
{
    enum { N = 200 };
    int ep = new_epoll();
    int p[N][2];
    for (int i = 0; i < N; i++) make_pipe(p[i], O_NONBLOCK);
    struct waiter w;
    pthread_t t = start_waiter(&w, ep, 10000);
    for (int i = 0; i < N; i++) ADD(ep, p[i][0], EPOLLIN, 1000 + i);
    write_str(p[N - 1][1], "x");
    join_thread(t);
    CHECK_EVENTS(w.n, w.evs, EV(EPOLLIN, 1000 + N - 1));
    for (int i = 0; i < N; i++) {
        CLOSE(p[i][0]);
        CLOSE(p[i][1]);
    }
    CLOSE(ep);
}

/* A write has taken effect when it returns: poll() right after sees the eventfd readable, and
 * after the read not readable, even while another thread keeps the library busy (on the poll
 * engine it holds the engine lock for its epoll_ctl calls). Counted over 1 000 rounds (about
 * 160 of them failed before the fix). */
static atomic_int busy_stop;
static void *ctl_churn(void *arg)
{
    int *fds = arg; /* an epoll fd and a pipe's read end */
    while (!atomic_load(&busy_stop)) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
        if (T.epoll_ctl(fds[0], EPOLL_CTL_ADD, fds[1], &ev) == 0)
            T.epoll_ctl(fds[0], EPOLL_CTL_DEL, fds[1], NULL);
        sched_yield(); /* under valgrind's one-thread-at-a-time scheduler the writer would
                        * otherwise rarely find the lock free (a 1 000-round run took 6-58 s) */
    }
    return NULL;
}

TEST(thread_eventfd_level_visible_when_write_returns)
{
    enum { ROUNDS = 1000 };
    int p[2];
    make_pipe(p, O_NONBLOCK);
    int fds[2] = {new_epoll(), p[0]};
    int efd = new_eventfd(0, EFD_NONBLOCK);
    atomic_store(&busy_stop, 0);
    pthread_t t = start_thread(ctl_churn, fds);
    int unreadable = 0, still_readable = 0;
    for (int i = 0; i < ROUNDS; i++) {
        efd_write(efd, 1);
        struct pollfd q = {.fd = efd, .events = POLLIN};
        if (T.poll(&q, 1, 0) != 1 || !(q.revents & POLLIN)) unreadable++;
        CHECK_U64(efd_read(efd), 1);
        q.revents = 0;
        if (T.poll(&q, 1, 0) != 0) still_readable++;
    }
    atomic_store(&busy_stop, 1);
    join_thread(t);
    CHECK_EQ(unreadable, 0);
    CHECK_EQ(still_readable, 0);
    CLOSE(efd);
    CLOSE(fds[0]);
    CLOSE(p[0]);
    CLOSE(p[1]);
}

/* A write in one thread and a read in another, released together round after round: the
 * poll engine sends the eventfd's token after its lock is released (issue 16), so a read may
 * empty the counter while the write's token is still on its way. Whatever the interleaving,
 * once both calls have returned poll() must answer the counter's level: readable exactly when
 * a read then succeeds, and not once that read emptied it. Counted, never timed. */
struct read_racer {
    int efd;
    atomic_int go, done;
    uint64_t got;
    int bad;
};

static void *race_reads(void *p)
{
    struct read_racer *r = p;
    for (int round = 1; round <= 2000; round++) {
        while (atomic_load(&r->go) < round) sched_yield();
        uint64_t v;
        ssize_t n = T.read(r->efd, &v, 8);
        if (n == 8) r->got += v;
        else if (!(n < 0 && errno == EAGAIN)) r->bad++;
        atomic_store(&r->done, round);
    }
    return NULL;
}

TEST(thread_eventfd_read_racing_write_leaves_poll_exact)
{
    enum { ROUNDS = 2000 };
    struct read_racer r = {.efd = new_eventfd(0, EFD_NONBLOCK)};
    pthread_t t = start_thread(race_reads, &r);
    uint64_t mine = 0;
    int readable_but_empty = 0, count_but_unreadable = 0, readable_after_drain = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        atomic_store(&r.go, round);
        efd_write(r.efd, 1);
        while (atomic_load(&r.done) < round) sched_yield();
        struct pollfd q = {.fd = r.efd, .events = POLLIN};
        int level = T.poll(&q, 1, 0);
        uint64_t v;
        ssize_t n = T.read(r.efd, &v, 8);
        if (n == 8) mine += v;
        else if (errno != EAGAIN) FAIL("read: %zd, errno %d", n, errno);
        if (level == 1 && n != 8) readable_but_empty++;
        if (level != 1 && n == 8) count_but_unreadable++;
        q.revents = 0;
        if (T.poll(&q, 1, 0) != 0) readable_after_drain++;
    }
    join_thread(t);
    CHECK_EQ(r.bad, 0);
    CHECK_U64(r.got + mine, ROUNDS);
    CHECK_EQ(readable_but_empty, 0);
    CHECK_EQ(count_but_unreadable, 0);
    CHECK_EQ(readable_after_drain, 0);
    CLOSE(r.efd);
}
