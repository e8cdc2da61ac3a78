/*
 * fdtable.c — the poll engine's fd table, plain objects by identity, and the socketpair that
 * holds an emulated object (see fdtable.h). Runs under the engine lock.
 */
#include "engines/poll/fdtable.h"
#include "host/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* --- fd table ---------------------------------------------------------------------------- */

#define PAGE_BITS 10
#define PAGE_SIZE (1 << PAGE_BITS)
#define MAX_PAGES 4096 /* 4M descriptors */

struct fd_page {
    atomic_uchar kind[PAGE_SIZE];
    struct ap_obj *obj[PAGE_SIZE];
};
static _Atomic(struct fd_page *) pages[MAX_PAGES];

static struct fd_page *page_of(int fd, int create)
{
    if (fd < 0 || (fd >> PAGE_BITS) >= MAX_PAGES) return NULL;
    struct fd_page *p = atomic_load_explicit(&pages[fd >> PAGE_BITS], memory_order_acquire);
    if (!p && create) { /* only under the lock, so no race between creators */
        p = calloc(1, sizeof *p);
        if (p) atomic_store_explicit(&pages[fd >> PAGE_BITS], p, memory_order_release);
    }
    return p;
}

enum ap_kind ap_fd_kind(int fd)
{
    struct fd_page *p = page_of(fd, 0);
    return p ? (enum ap_kind)atomic_load_explicit(&p->kind[fd & (PAGE_SIZE - 1)],
                                                  memory_order_acquire)
             : AP_KIND_NONE;
}

struct ap_obj *ap_fd_obj(int fd)
{
    struct fd_page *p = page_of(fd, 0);
    return p ? p->obj[fd & (PAGE_SIZE - 1)] : NULL;
}

int ap_fd_bind(int fd, struct ap_obj *o)
{
    struct fd_page *p = page_of(fd, 1);
    if (!p) {
        errno = fd < 0 ? EBADF : ENOMEM;
        return -1;
    }
    if (o->nfds == o->capfds) {
        int cap = o->capfds ? o->capfds * 2 : 2;
        int *n = realloc(o->fds, (size_t)cap * sizeof *n);
        if (!n) {
            errno = ENOMEM;
            return -1;
        }
        o->fds = n;
        o->capfds = cap;
    }
    o->fds[o->nfds++] = fd;
    p->obj[fd & (PAGE_SIZE - 1)] = o;
    atomic_store_explicit(&p->kind[fd & (PAGE_SIZE - 1)], (unsigned char)o->kind,
                          memory_order_release);
    return 0;
}

void ap_fd_unbind(int fd)
{
    struct fd_page *p = page_of(fd, 0);
    struct ap_obj *o = p ? p->obj[fd & (PAGE_SIZE - 1)] : NULL;
    if (!o) return;
    atomic_store_explicit(&p->kind[fd & (PAGE_SIZE - 1)], AP_KIND_NONE, memory_order_release);
    p->obj[fd & (PAGE_SIZE - 1)] = NULL;
    for (int i = 0; i < o->nfds; i++)
        if (o->fds[i] == fd) {
            o->fds[i] = o->fds[--o->nfds];
            break;
        }
}

int ap_obj_any_fd(const struct ap_obj *o) { return o->nfds ? o->fds[0] : -1; }

/* --- plain objects by identity ------------------------------------------------------------ */

static struct ap_obj **ident_hash;
static size_t ident_cap, ident_count;

static size_t ident_slot(dev_t dev, ino_t ino, int accmode, size_t cap)
{
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full;
    h ^= (uint64_t)accmode;
    return (size_t)(h >> 17) & (cap - 1);
}

struct ap_obj *ap_plain_find(dev_t dev, ino_t ino, int accmode)
{
    if (!ident_cap) return NULL;
    for (struct ap_obj *o = ident_hash[ident_slot(dev, ino, accmode, ident_cap)]; o; o = o->hnext)
        if (o->dev == dev && o->ino == ino && o->accmode == accmode) return o;
    return NULL;
}

static int ident_grow(void)
{
    size_t cap = ident_cap ? ident_cap * 2 : 64;
    struct ap_obj **h = calloc(cap, sizeof *h);
    if (!h) return -1;
    for (size_t i = 0; i < ident_cap; i++)
        for (struct ap_obj *o = ident_hash[i], *nx; o; o = nx) {
            nx = o->hnext;
            size_t s = ident_slot(o->dev, o->ino, o->accmode, cap);
            o->hnext = h[s];
            h[s] = o;
        }
    free(ident_hash);
    ident_hash = h;
    ident_cap = cap;
    return 0;
}

static void ident_remove(struct ap_obj *o)
{
    struct ap_obj **pp = &ident_hash[ident_slot(o->dev, o->ino, o->accmode, ident_cap)];
    while (*pp && *pp != o) pp = &(*pp)->hnext;
    if (*pp) {
        *pp = o->hnext;
        ident_count--;
    }
}

struct ap_obj *ap_plain_new(int fd, const struct stat *st, int accmode)
{
    if (ident_count + 1 > ident_cap / 2 && ident_grow() < 0) {
        errno = ENOMEM;
        return NULL;
    }
    struct ap_obj *o = calloc(1, sizeof *o);
    if (!o) {
        errno = ENOMEM;
        return NULL;
    }
    o->kind = AP_KIND_PLAIN;
    o->peer = -1;
    o->dev = st->st_dev;
    o->ino = st->st_ino;
    o->accmode = accmode;
    o->queue = AP_QUEUE_BYTES;
    if (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode)) {
        o->stream = 1;
    } else if (S_ISSOCK(st->st_mode)) {
        o->socket = 1;
        int type = 0, listening = 0;
        socklen_t len = sizeof type;
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) listening = 0;
        o->stream = type == SOCK_STREAM && !listening;
        /* how arrivals are counted (host/aids.h answers each, per host family): a SEQPACKET
         * queue in bytes like a stream, a datagram queue apart (Linux's FIONREAD is only the
         * next datagram's size), a listener's connections */
        o->queue = listening ? AP_QUEUE_ACCEPT
                 : type == SOCK_DGRAM ? AP_QUEUE_DGRAM : AP_QUEUE_BYTES;
    }
    if (ap_fd_bind(fd, o) < 0) {
        free(o);
        return NULL;
    }
    size_t s = ident_slot(o->dev, o->ino, o->accmode, ident_cap);
    o->hnext = ident_hash[s];
    ident_hash[s] = o;
    ident_count++;
    return o;
}

/* --- emulated objects: the program's end of a socketpair ------------------------------- */

int ap_fd_attach_pair(struct ap_obj *o, int cloexec)
{
    int sv[2] = {-1, -1};
    o->peer = -1;
    if (ap_sys_socketpair_cloexec_nonblock(sv) < 0) return -1;
    o->peer = ap_sys_move_high(sv[1]);
    /* The user end carries the caller's flags; ours stays non-blocking and close-on-exec. */
    if ((!cloexec && ap_sys_fcntl(sv[0], F_SETFD, 0) < 0) ||
        (!atomic_load(&o->sh->nonblock) && ap_sys_fcntl(sv[0], F_SETFL, O_RDWR) < 0) ||
        ap_fd_bind(sv[0], o) < 0) {
        int e = errno;
        ap_sys_close(sv[0]);
        ap_sys_close(o->peer);
        o->peer = -1;
        errno = e;
        return -1;
    }
    return sv[0];
}

void ap_fd_show_level(struct ap_obj *o, int readable, int writable)
{
    struct ap_shared *sh = o->sh;
    /* Another process sharing the object may be doing the same: the lock is held for a few
     * non-blocking calls at most. */
    while (atomic_flag_test_and_set(&sh->token_lock)) {
    }
    if (readable >= 0 && sh->token != !!readable) {
        if (readable) {
            if (ap_sys_send(o->peer, "t", 1, AP_DONTWAIT | MSG_NOSIGNAL) == 1) sh->token = 1;
        } else {
            char c;
            int fd = ap_obj_any_fd(o);
            if (fd >= 0 && ap_sys_recv(fd, &c, 1, AP_DONTWAIT) == 1) {
                sh->token = 0;
            } else if (fd >= 0) {
                /* The token is being sent outside the lock (ap_fd_send_token) and had not
                 * arrived (or arrived just after our receive: `showing` may already be down,
                 * so we look again whatever it says). Another thread's send ends soon,
                 * without the lock: we wait for it,
                 * so the read that emptied o returns with its end unreadable. A send of this
                 * very thread (a handler interrupted it) cannot end before we return: its
                 * sender takes the token back (it looks at `retract` after it lowers
                 * `showing`, and we look at `showing` after we raise `retract`: one of us
                 * sees the other, and whoever does takes it back). */
                if (!ap_obj_this_thread_shows())
                    for (int spins = 0; atomic_load(&o->showing); spins++)
                        if (spins >= 64) sched_yield();
                atomic_store(&o->retract, 1);
                if (!atomic_load(&o->showing) && ap_sys_recv(fd, &c, 1, AP_DONTWAIT) == 1)
                    sh->token = 0;
            }
        }
    }
    if (!writable && !sh->full) { /* fill the user end's send buffer: it stops polling POLLOUT */
        static const char junk[4096];
        int fd = ap_obj_any_fd(o);
        while (fd >= 0 && ap_sys_send(fd, junk, sizeof junk, AP_DONTWAIT | MSG_NOSIGNAL) > 0) {
        }
        sh->full = 1;
    } else if (writable && sh->full) {
        char buf[4096];
        while (ap_sys_recv(o->peer, buf, sizeof buf, AP_DONTWAIT) > 0) {
        }
        sh->full = 0;
    }
    atomic_flag_clear(&sh->token_lock);
}

int ap_fd_send_token(struct ap_obj *o)
{
    int sent = ap_sys_send(o->peer, "t", 1, AP_DONTWAIT | MSG_NOSIGNAL) == 1;
    atomic_fetch_sub(&o->showing, 1);
    return sent;
}

void ap_fd_detach(struct ap_obj *o)
{
    if (o->kind == AP_KIND_PLAIN) ident_remove(o);
    if (o->peer >= 0) ap_sys_close(o->peer);
    o->peer = -1;
    free(o->fds);
    o->fds = NULL;
}
