/* eventfd.h — eventfd emulated on an anypoll object (internal). See eventfd.c. */
#ifndef AP_EVENTFD_H
#define AP_EVENTFD_H

#include "objects/object.h"

struct ap_eventfd {
    struct ap_obj base; /* the counter is base.sh->value, shared across fork() */
    int semaphore;
};

int ap_eventfd_create(unsigned int initval, int flags);
ssize_t ap_eventfd_read(struct ap_eventfd *ev, int fd, void *buf, size_t n);
ssize_t ap_eventfd_write(struct ap_eventfd *ev, int fd, const void *buf, size_t n);
/* Current readiness as epoll bits (kernel's eventfd_poll). */
uint32_t ap_eventfd_level(struct ap_eventfd *ev);
/* Deferred follow-up after a change: readability token (under lock). Watchers are woken by
 * the engine's deferred hook. */
void ap_eventfd_sync(struct ap_eventfd *ev);

#endif
