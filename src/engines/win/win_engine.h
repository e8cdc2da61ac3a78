/*
 * win_engine.h — the win engine's own types and the calls its rooms share (engines/win room;
 * internal to src/engines/win, Windows only).
 *
 * The rooms, from the bottom up; each calls only rooms below it (make check's `rooms` step):
 *   descriptors.c    the engine lock, anypoll's own descriptors, the sleep of poll() callers
 *   readiness.c      what AFD and the object layer say, in Linux's epoll bits
 *   registrations.c  registrations, the ready list, edges, delivery, completions
 *   instance.c       epoll_create1, epoll_ctl, the end of an instance
 *   wait.c           epoll_wait: arming requests, suspects, nested instances
 *   poll.c           poll() over sets holding anypoll's own descriptors
 *   files.c          eventfd and timerfd: the object layer's files, served through its ops
 *   engine.c         close, dup, fcntl, what the program's I/O shows, the engine table
 * afd.c and port.c (the driver and the completion port) sit below them all.
 *
 * An fd is either a SOCKET value (a multiple of 4) or one of anypoll's descriptors, 4*i + 1,
 * which no SOCKET can equal: an epoll instance, or a file of the object layer. One engine lock
 * guards every object; no call that can block is made while holding it (the zero-timeout AFD
 * poll that reads a level returns at once). The object layer's lock (objects/object.h) is
 * always taken before this one, never while holding it. docs/windows.md has the design and
 * every known difference from Linux.
 */
#ifndef AP_WIN_ENGINE_H
#define AP_WIN_ENGINE_H
#ifdef _WIN32

#include "engines/engine.h"
#include "engines/win/afd.h"
#include "engines/win/port.h"
#include "objects/object.h"

#define SUSPECT_TICK_MS 10 /* how often unread sockets registered EPOLLET are re-measured */

enum kind { K_EPOLL = 1, K_FILE };

struct reg;

struct obj {
    enum kind kind;
    int refs;    /* descriptors naming it */
    int waiters; /* threads inside a wait, or inside an operation on a file */
    int nonblock; /* K_EPOLL: kept and ignored, as the kernel does (a file's is file->sh's) */
    struct reg *watchers; /* registrations of this object (file or instance), everywhere */
    /* K_FILE: the object layer's eventfd or timerfd; cv: readers blocked in it */
    struct ap_obj *file;
    CONDITION_VARIABLE cv;
    /* K_EPOLL */
    HANDLE port, afd;
    struct reg *regs;               /* live registrations */
    struct reg *ready_h, *ready_t;  /* the ready list, in the kernel's queueing order */
    struct reg *zombies;            /* deleted, their poll request not yet completed */
    struct obj *next_ep;            /* all instances */
    int nsuspects;
    int nnested; /* registrations of other instances in this one */
};

struct reg {
    struct obj *ep;
    int fd;
    struct obj *target; /* the file or instance, or NULL for a socket */
    SOCKET base;
    int stream;      /* SOCK_STREAM: its own shutdowns are probed (AFD has no event for them) */
    uint32_t events; /* interest, with ERR|HUP and the flags */
    uint64_t data;
    uint32_t seen;   /* EPOLLET: bits reported and not re-armed since */
    long inq;        /* EPOLLET: bytes queued when IN was last reported */
    int edge, on_ready, disabled, dead, suspect;
    struct reg *next, *rnext, *rprev, *wnext;
    /* the outstanding poll request */
    struct ap_afd_req req;
    int pending;
    uint32_t pending_mask;
};

/* descriptors.c */
extern struct obj *ap_win_instances; /* every epoll instance (under the lock) */
extern int ap_win_nlive;              /* live instances and files (under the lock) */
void ap_win_lock(void);
void ap_win_unlock(void);
/* Sleeps on cv (or, for poll() callers, until a descriptor changes) with the lock released. */
void ap_win_sleep(CONDITION_VARIABLE *cv, DWORD ms);
void ap_win_poll_sleep(DWORD ms);
void ap_win_poll_notify(void); /* something a poll() caller may wait for changed */
int ap_win_is_desc(int fd);
struct obj *ap_win_obj_of(int fd);
/* The lowest free descriptor >= min naming o (new ones start at 5: 1-3 look like stdio), or
 * exactly `exact` when it is >= 0; -1 with errno. */
int ap_win_desc_new(struct obj *o, int cloexec, int min, int exact);
/* Drops descriptor fd, which names an object; returns it (its refs lowered). */
struct obj *ap_win_desc_drop(int fd);
int ap_win_desc_cloexec(int fd);
void ap_win_desc_set_cloexec(int fd, int on);

/* readiness.c */
uint32_t ap_win_wanted_afd(const struct reg *r);
uint32_t ap_win_afd_key(uint32_t afd_events);
uint32_t ap_win_socket_level(const struct reg *r, int *gone);
uint32_t ap_win_file_level(struct ap_obj *f);

/* registrations.c */
void ap_win_queue(struct reg *r);
void ap_win_unqueue(struct reg *r);
void ap_win_wake(struct obj *ep);
void ap_win_raise_edge(struct reg *r);
void ap_win_set_suspect(struct reg *r, int on);
void ap_win_reg_kill(struct reg *r);
struct reg *ap_win_reg_find(struct obj *ep, int fd, struct obj *target, SOCKET base);
void ap_win_completed(struct reg *r);
void ap_win_completions(const OVERLAPPED_ENTRY *got, int n);
void ap_win_queue_if_ready(struct reg *r);
int ap_win_contains(struct obj *x, struct obj *y);
int ap_win_levels_below(struct obj *x);
int ap_win_levels_above(struct obj *x);
int ap_win_deliver(struct obj *ep, struct epoll_event *out, int max, int peek);
uint32_t ap_win_target_level(struct obj *t);

/* instance.c */
int ap_win_epoll_create1(int flags);
int ap_win_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
void ap_win_instance_destroy(struct obj *o);

/* wait.c */
void ap_win_check_suspects(struct obj *ep);
void ap_win_arm(struct obj *ep);
void ap_win_pump_nested(struct obj *ep, int depth);
int ap_win_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms,
                      const struct timespec *ts, const sigset_t *sigmask);

/* poll.c */
int ap_win_poll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);

/* files.c */
int ap_win_eventfd(unsigned int initval, int flags);
int ap_win_timerfd_create(int clockid, int flags);
int ap_win_timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *ov);
int ap_win_timerfd_gettime(int fd, struct itimerspec *cur);
int ap_win_owns(int fd);
ssize_t ap_win_read(int fd, void *buf, size_t count);
ssize_t ap_win_write(int fd, const void *buf, size_t count);
/* A file no descriptor names any more and nobody works on: it goes (called unlocked). */
void ap_win_file_destroy(struct obj *o);

#endif
#endif
