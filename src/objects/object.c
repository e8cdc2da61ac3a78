/*
 * emul.c — the engine lock, the fd table and object bookkeeping shared by emulation engines.
 * See emul.h for the model. Nothing here blocks while holding the lock.
 */
#include "objects/object.h"
#include "host/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* --- the lock -------------------------------------------------------------------------- */

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int deferred_any;
static struct ap_obj *all_objs; /* emulated objects, for deferred work and fork */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* How many times this thread holds the engine lock or is taking it (a signal handler that
 * interrupted it may take it again on top). A signal-safe writer that finds the lock taken
 * waits for it, so its follow-up is done when write() returns (poll()/select() right after
 * must see the new level), unless this very thread is in it (a handler that interrupted it):
 * then it leaves the work to the holder, which runs it before it releases. Counted before the
 * lock is tried and after it is released, so no handler ever sees 0 while this thread has it.
 * Initial-exec: no allocation on first use, which a signal handler could not afford. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((tls_model("initial-exec")))
#endif
static _Thread_local volatile sig_atomic_t this_thread_locks;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&engine_lock);
    for (struct ap_obj *o = all_objs; o; o = o->next_all) o->forked = 1;
}
static void atfork_parent(void) { pthread_mutex_unlock(&engine_lock); }
static void atfork_child(void)
{
    for (struct ap_obj *o = all_objs; o; o = o->next_all) ap_hook_atfork_child(o);
    pthread_mutex_unlock(&engine_lock);
}
static void install_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

void ap_lock(void)
{
    pthread_once(&atfork_once, install_atfork);
    this_thread_locks++;
    atomic_signal_fence(memory_order_seq_cst);
    pthread_mutex_lock(&engine_lock);
}

int ap_trylock(void)
{
    this_thread_locks++;
    atomic_signal_fence(memory_order_seq_cst);
    if (pthread_mutex_trylock(&engine_lock) == 0) return 1;
    atomic_signal_fence(memory_order_seq_cst);
    this_thread_locks--;
    return 0;
}

static void run_deferred(void)
{
    while (atomic_exchange(&deferred_any, 0))
        for (struct ap_obj *o = all_objs; o; o = o->next_all)
            if (atomic_exchange(&o->deferred, 0)) ap_hook_deferred(o);
}

void ap_unlock(void)
{
    for (;;) {
        run_deferred();
        pthread_mutex_unlock(&engine_lock);
        /* A signal-safe writer that found the lock taken after our last check left its
         * work to us; take it back unless somebody else now holds the lock (then it's theirs). */
        if (!atomic_load(&deferred_any) || pthread_mutex_trylock(&engine_lock) != 0) break;
    }
    atomic_signal_fence(memory_order_seq_cst);
    this_thread_locks--;
}

void ap_defer(struct ap_obj *o)
{
    atomic_store(&o->deferred, 1);
    atomic_store(&deferred_any, 1);
    if (ap_trylock()) {
        ap_unlock();
    } else if (!this_thread_locks) {
        ap_lock(); /* another thread's: it never blocks while holding it */
        ap_unlock();
    }
}

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
    ap_hook_number_gone(o, fd);
    ap_obj_maybe_release(o);
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
        /* FIONREAD sums a SEQPACKET queue; for datagrams it is only the next one's size */
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

/* --- emulated objects ------------------------------------------------------------------- */

static int live_emulated;

int ap_emul_init(struct ap_obj *o, enum ap_kind kind, int cloexec, int nonblock)
{
    int sv[2] = {-1, -1};
    o->peer = -1;
    o->sh = mmap(NULL, sizeof *o->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (o->sh == MAP_FAILED) {
        o->sh = NULL;
        errno = ENOMEM;
        return -1;
    }
    atomic_flag_clear(&o->sh->token_lock);
    atomic_store(&o->sh->nonblock, nonblock);
    if (ap_sys_socketpair_cloexec_nonblock(sv) < 0) goto fail;
    o->peer = ap_sys_move_high(sv[1]);
    /* The user end carries the caller's flags; ours stays non-blocking and close-on-exec. */
    if ((!cloexec && ap_sys_fcntl(sv[0], F_SETFD, 0) < 0) ||
        (!nonblock && ap_sys_fcntl(sv[0], F_SETFL, O_RDWR) < 0))
        goto fail;
    o->kind = kind;
    if (ap_fd_bind(sv[0], o) < 0) goto fail;
    o->next_all = all_objs;
    if (all_objs) all_objs->prev_all = o;
    all_objs = o;
    live_emulated++;
    return sv[0];
fail:;
    int e = errno;
    if (sv[0] >= 0) ap_sys_close(sv[0]);
    if (o->peer >= 0) ap_sys_close(o->peer);
    o->peer = -1;
    munmap(o->sh, sizeof *o->sh);
    o->sh = NULL;
    errno = e;
    return -1;
}

void ap_emul_token(struct ap_obj *o, int readable, int writable)
{
    struct ap_shared *sh = o->sh;
    readable = !!readable;
    /* Another process sharing the object may be doing the same: the lock is held for a few
     * non-blocking calls at most. */
    while (atomic_flag_test_and_set(&sh->token_lock)) {
    }
    if (sh->token != readable) {
        if (readable) {
            if (ap_sys_send(o->peer, "t", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) sh->token = 1;
        } else {
            char c;
            int fd = ap_obj_any_fd(o);
            if (fd >= 0 && ap_sys_recv(fd, &c, 1, MSG_DONTWAIT) == 1) sh->token = 0;
        }
    }
    if (!writable && !sh->full) { /* fill the user end's send buffer: it stops polling POLLOUT */
        static const char junk[4096];
        int fd = ap_obj_any_fd(o);
        while (fd >= 0 && ap_sys_send(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
        }
        sh->full = 1;
    } else if (writable && sh->full) {
        char buf[4096];
        while (ap_sys_recv(o->peer, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        }
        sh->full = 0;
    }
    atomic_flag_clear(&sh->token_lock);
}

static _Atomic uint64_t stamp_clock;
uint64_t ap_stamp(void) { return atomic_fetch_add(&stamp_clock, 1) + 1; }

int ap_live_objects(void) { return live_emulated; }

void ap_obj_maybe_release(struct ap_obj *o)
{
    if (o->nfds || o->busy) return;
    if (o->kind == AP_KIND_PLAIN) {
        ident_remove(o);
    } else {
        if (o->prev_all) o->prev_all->next_all = o->next_all;
        else all_objs = o->next_all;
        if (o->next_all) o->next_all->prev_all = o->prev_all;
        live_emulated--;
        if (o->peer >= 0) ap_sys_close(o->peer);
        o->peer = -1;
        if (o->sh) munmap(o->sh, sizeof *o->sh);
        o->sh = NULL;
    }
    free(o->fds);
    o->fds = NULL;
    ap_hook_obj_released(o); /* frees o */
}

