/*
 * files.c — eventfd and timerfd on Windows (engines/win room): the object layer
 * (objects/eventfd.c, objects/timerfd.c) keeps their semantics; this room gives each a
 * descriptor, tells its watchers and blocked readers of its wake-ups (ops->changed) and blocks
 * its readers on a condition variable (ops->block). Calls registrations.c and below, and the
 * object layer.
 * Windows only.
 */
#ifdef _WIN32
#include "engines/win/win_engine.h"
#include "host/sys.h"
#include "host/sys_win.h"
#include "objects/eventfd.h"
#include "objects/timerfd.h"

#include <errno.h>
#include <stdlib.h>

/* --- files: the object layer's eventfds and timerfds ------------------------------------- */

/* The kernel wakes watchers with key `key` (IN on write or expiry, OUT on read): an edge for each
 * registration interested in it. Under the lock. */
static void file_notify(struct obj *o, uint32_t key)
{
    for (struct reg *r = o->watchers; r; r = r->wnext) {
        if (r->disabled || !(r->events & key)) continue;
        ap_win_raise_edge(r);
        ap_win_wake(r->ep);
    }
    WakeAllConditionVariable(&o->cv);
    ap_win_poll_notify();
}

/* ops->attach: the file gets a descriptor of anypoll's own. Called under the object layer's
 * lock, which is always taken before this engine's, never after. */
static int file_attach(struct ap_obj *f, int cloexec)
{
    struct obj *o = calloc(1, sizeof *o);
    if (!o) return errno = ENOMEM, -1;
    o->kind = K_FILE;
    o->file = f;
    InitializeConditionVariable(&o->cv);
    ap_win_lock();
    int fd = ap_win_desc_new(o, cloexec, 0, -1);
    if (fd >= 0) ap_win_nlive++;
    ap_win_unlock();
    if (fd < 0) {
        free(o);
        return -1;
    }
    f->engine = o;
    return fd;
}

/* ops->changed: the wake-ups the file counted since the last call reach its watchers, its
 * blocked readers and poll(). */
static void file_changed(struct ap_obj *f)
{
    uint64_t in = atomic_load(&f->sh->in_seq), out = atomic_load(&f->sh->out_seq);
    uint32_t key = (in != f->told_in ? EPOLLIN : 0) | (out != f->told_out ? EPOLLOUT : 0);
    f->told_in = in;
    f->told_out = out;
    ap_win_lock();
    if (f->engine) file_notify(f->engine, key);
    ap_win_unlock();
}

/* ops->block: sleeps on the file's condition variable until a change (file_changed wakes it
 * under this engine's lock, so none is missed between the look and the sleep). */
static int file_block(struct ap_obj *f, int fd, uint32_t want, int64_t timeout_ns)
{
    (void)fd;
    DWORD ms = INFINITE;
    if (timeout_ns >= 0) { /* rounded up: a wake-up before the deadline finds it not due */
        int64_t m = (timeout_ns + 999999) / 1000000;
        ms = m > 0x7ffffffe ? 0x7ffffffe : (DWORD)m;
    }
    ap_win_lock();
    struct obj *o = f->engine;
    if (o && !(ap_win_file_level(f) & want)) ap_win_sleep(&o->cv, ms);
    ap_win_unlock();
    return 0;
}

static const struct ap_obj_ops file_ops = {
    .attach = file_attach,
    .changed = file_changed,
    .block = file_block,
};

int ap_win_eventfd(unsigned int initval, int flags)
{
    ap_win_startup();
    return ap_eventfd_create(initval, flags, &file_ops);
}

int ap_win_timerfd_create(int clockid, int flags)
{
    ap_win_startup(); /* the clock thread's wake pair is a socket pair */
    return ap_timerfd_create(clockid, flags, &file_ops);
}

int ap_win_owns(int fd)
{
    if (!ap_win_is_desc(fd)) return 0;
    ap_win_lock();
    int r = ap_win_obj_of(fd) != NULL;
    ap_win_unlock();
    return r;
}

/* The file named fd (of object-layer kind `kind`, 0: any), held so a concurrent close cannot
 * free it while the object layer works on it; NULL with the kernel's errno (EBADF, or EINVAL
 * for another kind of file). */
static struct obj *file_get(int fd, enum ap_kind kind)
{
    ap_win_lock();
    struct obj *o = ap_win_obj_of(fd);
    if (!o) {
        errno = !ap_win_is_desc(fd) && ap_win_is_socket(fd) ? EINVAL : EBADF;
    } else if (o->kind != K_FILE || (kind && o->file->kind != kind)) {
        errno = EINVAL;
        o = NULL;
    } else {
        o->waiters++;
    }
    ap_win_unlock();
    return o;
}

static void file_put(struct obj *o)
{
    int e = errno;
    ap_win_lock();
    int last = --o->waiters == 0 && o->refs == 0;
    ap_win_unlock();
    if (last) ap_win_file_destroy(o);
    errno = e;
}

ssize_t ap_win_read(int fd, void *buf, size_t count)
{
    struct obj *o = file_get(fd, 0);
    if (!o) return -1;
    ssize_t r = o->file->kind == AP_KIND_EVENTFD
                    ? ap_eventfd_read((struct ap_eventfd *)o->file, fd, buf, count)
                    : ap_timerfd_read((struct ap_timerfd *)o->file, fd, buf, count);
    file_put(o);
    return r;
}

ssize_t ap_win_write(int fd, const void *buf, size_t count)
{
    struct obj *o = file_get(fd, AP_KIND_EVENTFD);
    if (!o) return -1;
    ssize_t r = ap_eventfd_write((struct ap_eventfd *)o->file, fd, buf, count);
    file_put(o);
    return r;
}

int ap_win_timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *ov)
{
    ap_win_startup();
    struct obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_settime((struct ap_timerfd *)o->file, flags, nv, ov);
    file_put(o);
    return r;
}

int ap_win_timerfd_gettime(int fd, struct itimerspec *cur)
{
    struct obj *o = file_get(fd, AP_KIND_TIMERFD);
    if (!o) return -1;
    int r = ap_timerfd_gettime((struct ap_timerfd *)o->file, cur);
    file_put(o);
    return r;
}

/* The file goes from the object layer first (under its lock, which this engine's never
 * encloses), so no follow-up can reach `o` afterwards. */
void ap_win_file_destroy(struct obj *o)
{
    struct ap_obj *f = o->file;
    ap_lock();
    f->engine = NULL;
    if (f->kind == AP_KIND_EVENTFD) ap_eventfd_free((struct ap_eventfd *)f);
    else ap_timerfd_free((struct ap_timerfd *)f);
    ap_unlock();
    free(o);
}
#endif
