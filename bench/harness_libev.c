/*
 * bench/harness_libev.c — the libev contender's loop (room: bench/; see harness.h). Apart from
 * harness.c because libev's ev.h and libevent's headers define the same EV_ names.
 */
#include "harness.h"

#include <ev.h>
#include <pthread.h>
#include <stdlib.h>

struct lv {
    int fired, threadsafe;
    pthread_mutex_t mu;
    struct ev_loop *evl;
    ev_async async;
};
#define LV(l) ((struct lv *)(void *)(l))

/* --- libev on its poll backend ------------------------------------------------------------ */

/* libev is not thread-safe: a loop changed from another thread needs the pattern of its manual
 * ("THREAD LOCKING EXAMPLE"): a mutex released only around the backend's poll(), and an
 * ev_async to wake it. */
static void libev_release(struct ev_loop *L) { pthread_mutex_unlock(&((struct lv *)ev_userdata(L))->mu); }
static void libev_acquire(struct ev_loop *L) { pthread_mutex_lock(&((struct lv *)ev_userdata(L))->mu); }
static void libev_async_cb(struct ev_loop *L, ev_async *a, int revents) { (void)L, (void)a, (void)revents; }

struct bl *libev_new(int threadsafe)
{
    struct lv *l = calloc(1, sizeof *l);
    CHECK(l);
    l->threadsafe = threadsafe;
    pthread_mutex_init(&l->mu, NULL);
    l->evl = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV);
    CHECK(l->evl);
    if (ev_backend(l->evl) != EVBACKEND_POLL) bench_die("libev chose backend %#x, not poll", ev_backend(l->evl));
    ev_set_userdata(l->evl, l);
    if (threadsafe) {
        ev_set_loop_release_cb(l->evl, libev_release, libev_acquire);
        ev_async_init(&l->async, libev_async_cb);
        ev_async_start(l->evl, &l->async);
    }
    return (struct bl *)(void *)l;
}

void libev_free(struct bl *bl)
{
    struct lv *l = LV(bl);
    ev_loop_destroy(l->evl);
    free(l);
}

static void libev_cb(struct ev_loop *L, ev_io *io, int revents)
{
    struct lv *l = ev_userdata(L);
    struct bw *w = io->data;
    l->fired++;
    w->cb((struct bl *)(void *)l, w, (revents & EV_READ ? BL_IN : 0) | (revents & EV_WRITE ? BL_OUT : 0));
}

static int libev_evs(unsigned ev) { return (ev & BL_IN ? EV_READ : 0) | (ev & BL_OUT ? EV_WRITE : 0); }

static void libev_lock(struct lv *l)
{
    if (l->threadsafe) pthread_mutex_lock(&l->mu);
}
static void libev_unlock(struct lv *l)
{
    if (!l->threadsafe) return;
    ev_async_send(l->evl, &l->async);
    pthread_mutex_unlock(&l->mu);
}

int libev_add(struct bl *bl, struct bw *w)
{
    struct lv *l = LV(bl);
    libev_lock(l);
    if (!w->impl) {
        w->impl = malloc(sizeof(ev_io));
        CHECK(w->impl);
    }
    ev_io *io = w->impl;
    ev_io_init(io, libev_cb, w->fd, libev_evs(w->events));
    io->data = w;
    ev_io_start(l->evl, io);
    libev_unlock(l);
    return 0;
}

int libev_mod(struct bl *bl, struct bw *w, unsigned ev)
{
    struct lv *l = LV(bl);
    libev_lock(l);
    ev_io *io = w->impl;
    w->events = ev;
    ev_io_stop(l->evl, io);
    ev_io_set(io, w->fd, libev_evs(ev));
    ev_io_start(l->evl, io);
    libev_unlock(l);
    return 0;
}

int libev_del(struct bl *bl, struct bw *w)
{
    struct lv *l = LV(bl);
    libev_lock(l);
    ev_io_stop(l->evl, w->impl);
    libev_unlock(l);
    return 0;
}

void libev_forget(struct bw *w)
{
    free(w->impl);
    w->impl = NULL;
}

int libev_run_once(struct bl *bl, int timeout_ms)
{
    struct lv *l = LV(bl);
    l->fired = 0;
    if (l->threadsafe) pthread_mutex_lock(&l->mu);
    ev_run(l->evl, timeout_ms == 0 ? EVRUN_NOWAIT : EVRUN_ONCE);
    if (l->threadsafe) pthread_mutex_unlock(&l->mu);
    return l->fired;
}

