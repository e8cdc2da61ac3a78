/* eventfd.h — the eventfd object (objects room). See eventfd.c. */
#ifndef AP_EVENTFD_H
#define AP_EVENTFD_H

#include "objects/object.h"

struct ap_eventfd {
    struct ap_obj base; /* the counter is base.sh->value, shared across fork() */
    int semaphore;
};

/* A new eventfd served by `ops`: its number, or -1 with errno. */
int ap_eventfd_create(unsigned int initval, int flags, const struct ap_obj_ops *ops);
ssize_t ap_eventfd_read(struct ap_eventfd *ev, int fd, void *buf, size_t n);
ssize_t ap_eventfd_write(struct ap_eventfd *ev, int fd, const void *buf, size_t n);
/* Current readiness as epoll bits (kernel's eventfd_poll). Lock-free. */
uint32_t ap_eventfd_level(struct ap_eventfd *ev);
/* Under the lock, once no number and no engine refers to it. */
void ap_eventfd_free(struct ap_eventfd *ev);

#endif
