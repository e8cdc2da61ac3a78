/*
 * fdtable.h — the poll engine's fd table (engines/poll room): which object each fd number the
 * program holds refers to, plain fds by identity, and how an emulated object is held — one end
 * of a socketpair, so the number is real and poll()/select(), close-on-exec and fork() behave.
 *
 * Room rules: uses objects/object.h and host/sys.h only; every function but ap_fd_kind() runs
 * under the engine lock. The table never decides an object's end: the engine does, when the
 * last number is gone (registrations.c).
 */
#ifndef AP_POLL_FDTABLE_H
#define AP_POLL_FDTABLE_H

#include "objects/object.h"

#include <sys/stat.h>

/* Lock-free kind lookup; the object under the lock. */
enum ap_kind ap_fd_kind(int fd);
struct ap_obj *ap_fd_obj(int fd);
int ap_fd_bind(int fd, struct ap_obj *o); /* -1 ENOMEM (EBADF for a negative fd) */
void ap_fd_unbind(int fd);                /* drops the number from the table and from its object */
int ap_obj_any_fd(const struct ap_obj *o); /* a number that refers to o, or -1 */

/* Plain objects by identity. */
struct ap_obj *ap_plain_find(dev_t dev, ino_t ino, int accmode);
struct ap_obj *ap_plain_new(int fd, const struct stat *st, int accmode);

/* An emulated object's number: a socketpair whose one end the program holds (returned, with
 * the object's O_NONBLOCK and close-on-exec if asked) and anypoll keeps the other (o->peer). */
int ap_fd_attach_pair(struct ap_obj *o, int cloexec);
/* Keeps the program's end readable exactly while `readable` (-1: leaves the token as it is)
 * and writable exactly while `writable`, so poll() and select() on it tell the truth. */
void ap_fd_show_level(struct ap_obj *o, int readable, int writable);
/* Without the lock, for an object not shared with another process: queues the token that the
 * lock holder marked as there (o->sh->token = 1) and raised o->showing for, then lowers it.
 * 1 if sent. If not, or if a follow-up under the lock meanwhile wanted it back (o->retract,
 * read after this returns), the caller must take the lock and show the level again. */
int ap_fd_send_token(struct ap_obj *o);
/* The last number of o is gone: forgets its identity (plain) or closes anypoll's end. */
void ap_fd_detach(struct ap_obj *o);

#endif
