/* signalfd.h — the signalfd object (objects room; POSIX hosts). See signalfd.c. */
#ifndef AP_SIGNALFD_H
#define AP_SIGNALFD_H

#include "objects/object.h"

struct ap_signalfd {
    struct ap_obj base;
    sigset_t mask;        /* SIGKILL and SIGSTOP never in it */
    sigset_t last;        /* pending ∩ mask at the helper thread's last look (under lock) */
    struct ap_signalfd *snext, *sprev; /* every signalfd of this process (under lock) */
};

/* A new signalfd served by `ops`: its number, or -1 with errno. */
int ap_signalfd_create(const sigset_t *mask, int flags, const struct ap_obj_ops *ops);
/* signalfd(fd, mask, flags) on an existing one: only the mask changes (under no lock). */
int ap_signalfd_update(struct ap_signalfd *s, const sigset_t *mask);
ssize_t ap_signalfd_read(struct ap_signalfd *s, int fd, void *buf, size_t n);
/* Readiness as the calling thread would see it (kernel's signalfd_poll: IN while a signal of
 * the mask is pending for this thread or the process). Under lock. */
uint32_t ap_signalfd_level(struct ap_signalfd *s);
/* Under the lock, once no number and no engine refers to it: unlinks and frees s. */
void ap_signalfd_free(struct ap_signalfd *s);

#endif
