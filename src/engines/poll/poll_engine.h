/*
 * poll_engine.h — the poll engine's types and the calls its files share (engines/poll room;
 * internal: included only by the files of this folder).
 *
 * The engine is split along its jobs into files in layers. A file calls only files of lower
 * layers, never one of its own layer or above; tests/check.sh (step `rooms`) checks on the
 * objects that no two files of the library call each other, directly or around a loop:
 *
 *   5  engine.c         entry points: object ops, creation, read/write of emulated files,
 *                       close/dup/fcntl, the `ap_engine_poll` table (the overview of the engine
 *                       heads this file)
 *   4  ctl.c            epoll_ctl: checks, nesting limits, ADD/MOD/DEL
 *   3  wait.c           poll sets, evaluation, delivery, epoll_wait, poll() over epoll fds
 *   3  evidence.c       what the program's own I/O shows (io_seen, io_reading, sender_going)
 *   2  registrations.c  hash, watchers, EPOLLET counters, reg_kill, which object a number is,
 *                       the end of numbers and objects
 *   1  instance.c       ready/pending/suspect lists, readiness bits, the pollfd array, waking,
 *                       the follow-up of an object's change
 *   0  fdtable.c        numbers to objects, plain objects by identity, socketpairs (fdtable.h)
 *
 * Below them all: objects/ and host/sys.h. The entry points (engine.c's table and what it
 * reaches directly in ctl.c, wait.c and evidence.c) take the engine lock (ap_lock) themselves
 * (an eventfd write never does: it stays async-signal-safe); everything else here runs under it.
 *
 * Globals shared between files: only the EPOLLET counters and list below, owned (written) by
 * registrations.c, read by evidence.c, and the count of nested instances, read by wait.c. (fdtable.c keeps its table to itself.)
 */
#ifndef AP_POLL_ENGINE_H
#define AP_POLL_ENGINE_H

#include "engines/ctl_rules.h"
#include "engines/engine.h"
#include "host/sys.h"
#include "objects/object.h"

#include <sys/stat.h>


#define EV_USER (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |     \
                 EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)
#define EV_IN (EPOLLIN | EPOLLRDNORM)
#define EV_OUT (EPOLLOUT | EPOLLWRNORM)

struct ap_epoll;

struct ap_reg {
    struct ap_epoll *ep;
    struct ap_obj *obj; /* what is watched */
    int fd;             /* the number it was added with: with obj, the key */
    int slot;           /* index in ep->pfd, or -1 */
    uint32_t events;    /* interest and flags, EPOLLERR|EPOLLHUP always added */
    uint64_t data;
    uint32_t seen;      /* EPOLLET: reported and not observed low since */
    uint32_t level;     /* last observed readiness, masked */
    unsigned gen;       /* ep->gen when `level` was observed */
    uint64_t in_seq, out_seq; /* owned targets: sequences last looked at */
    long nread;         /* EPOLLET: queue size after the last report, -1 unknown */
    uint32_t nseen;     /* plain: bits a look at ep as a nested instance saw high, not low since */
    int susp;           /* index in ep->susp, or -1 */
    int owned_idx;      /* index in ep->owned, or -1 */
    int narmed;         /* owned eventfd: blocked waiters polling its user end for IN (wait.c) */
    unsigned disabled : 1, dead : 1, on_ready : 1, on_pending : 1, candidate : 1;
    unsigned noarm : 1; /* its user end answered poll() without the token: never armed again */
    struct ap_reg *wnext, *wprev; /* obj->watchers */
    struct ap_reg *dnext, *dprev; /* ap_poll_et_dgram_list */
    struct ap_reg *rnext, *rprev; /* ep ready list */
    struct ap_reg *hnext;         /* ep hash chain */
    struct ap_reg *pnext;         /* ep pending list, then graveyard */
};

/* A thread blocked in a wait on an instance, and the change generation its poll set reflects. */
struct ap_blocked {
    unsigned gen;
    struct ap_blocked *next;
};

struct ap_epoll {
    struct ap_obj base;
    struct ap_reg wake_reg; /* stands for the wake channel in pollsets (obj == NULL) */
    struct ap_bell wake; /* rung to wake the waiters: they poll wake.r (slot 0) */
    atomic_int wake_flag;
    atomic_int ringing; /* rings due outside the lock (ap_poll_ep_wake_later): the bell waits */
    unsigned wake_gen;         /* bumped by every change a blocked waiter must look at */
    struct ap_blocked *blocked; /* waiters inside their blocking poll() */
    struct ap_reg **hash;
    size_t hcap, count;
    struct pollfd *pfd; /* slot 0: wake channel; others: plain registrations */
    struct ap_reg **preg;
    int npfd, cappfd, holes;
    int polling;  /* a waiter is in poll() on pfd itself: patch later */
    int inpoll;   /* waiters in poll() with pfd or a copy of it: keep dead regs */
    int waiters;  /* threads inside a blocking wait on this instance */
    int pollers;  /* anypoll_poll() calls blocked on this instance */
    int changed;  /* pfd was patched since the last poll of it */
    unsigned gen;
    struct ap_reg *pending, **pending_tail, *graveyard; /* pending is FIFO: slots keep ADD order */
    struct ap_reg ready; /* sentinel */
    struct ap_reg **owned;
    int nowned, capowned, nnested;
    int nsigfd; /* registered signalfds: a blocked wait looks at its own pending signals */
    struct ap_reg **susp;
    int nsusp, capsusp;
};

static inline struct ap_epoll *ap_poll_as_epoll(struct ap_obj *o) { return (struct ap_epoll *)o; }

/* --- instance.c ------------------------------------------------------------------------------ */

int ap_poll_is_file_kind(enum ap_kind k);
uint32_t ap_poll_file_level(struct ap_obj *o);
int ap_poll_vec_push(struct ap_reg ***v, int *n, int *cap, struct ap_reg *r);
void ap_poll_ready_del(struct ap_reg *r);
void ap_poll_ready_add(struct ap_epoll *ep, struct ap_reg *r);
void ap_poll_mark_pending(struct ap_reg *r);
void ap_poll_update_suspect(struct ap_reg *r);
short ap_poll_to_poll(uint32_t ev);
uint32_t ap_poll_from_poll(short p);
uint32_t ap_poll_watched(const struct ap_reg *r);
short ap_poll_asked(const struct ap_reg *r, uint32_t want);
uint32_t ap_poll_observed(const struct ap_reg *r, int fd, short revents);
uint32_t ap_poll_reportable(const struct ap_reg *r);
int ap_poll_poll_number(const struct ap_reg *r);
int ap_poll_grow_slots(struct pollfd **pfd, struct ap_reg ***preg, int *cap, int need);
int ap_poll_pfd_reserve(struct ap_epoll *ep);
void ap_poll_apply_pending(struct ap_epoll *ep);
long ap_poll_queue_size(const struct ap_reg *r, int fd);
void ap_poll_ep_wake(struct ap_epoll *ep);
int ap_poll_ep_wake_later(struct ap_epoll *ep);
void ap_poll_ep_ring(struct ap_epoll *ep);
void ap_poll_ep_ringing_done(struct ap_epoll *ep);
void ap_poll_ep_drain(struct ap_epoll *ep);
void ap_poll_obj_changed(struct ap_obj *o);
int ap_poll_obj_changed_unshown(struct ap_obj *o);
void ap_poll_obj_show(struct ap_obj *o);

/* --- registrations.c ------------------------------------------------------------------------- */

/* Live EPOLLET registrations of plain fds in this process, and of datagram sockets, with the
 * list of the latter (under the lock): written by ap_poll_et_count only, read by evidence.c. */
extern atomic_long ap_poll_et_plain_regs;
extern atomic_long ap_poll_et_dgram_regs;
extern struct ap_reg *ap_poll_et_dgram_list;
/* Registrations of instances in instances (written by ap_poll_nested_count only). */
extern atomic_long ap_poll_nested_regs;

struct ap_reg *ap_poll_reg_find(struct ap_epoll *ep, int fd, struct ap_obj *o);
int ap_poll_hash_insert(struct ap_epoll *ep, struct ap_reg *r);
void ap_poll_et_count(struct ap_reg *r, long delta);
void ap_poll_nested_count(struct ap_epoll *ep, int delta);
void ap_poll_reg_kill(struct ap_reg *r);
int ap_poll_pollable(const struct stat *st);
int ap_poll_fd_is_open(int fd);
int ap_poll_access_mode(int fd, const struct stat *st);
struct ap_obj *ap_poll_plain_for(int fd, const struct stat *st, int acc, int create);
void ap_poll_release_if_unused(struct ap_obj *o);
void ap_poll_drop_number(int fd);

/* --- wait.c ---------------------------------------------------------------------------------- */

int ap_poll_ep_has_events(struct ap_epoll *ep, int depth);
int ap_poll_ep_wait(int epfd, struct epoll_event *events, int maxevents, int ms,
                    const struct timespec *ts, const sigset_t *sigmask);
int ap_poll_ep_poll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                    const sigset_t *sigmask);
void ap_poll_nested_io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked);
void ap_poll_shutdown_seen(int fd);

/* --- evidence.c ------------------------------------------------------------------------------ */

void ap_poll_io_seen(int fd, enum ap_io_dir dir, ssize_t res, int err, size_t asked);
void ap_poll_io_reading(int fd);
void ap_poll_sender_going(int fd);

/* --- ctl.c ----------------------------------------------------------------------------------- */

int ap_poll_ep_ctl(int epfd, int op, int fd, struct epoll_event *event);

#endif
