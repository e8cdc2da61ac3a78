/* engine_choice.h — run-time host detection and engine choice (api room; internal). See
 * engine_choice.c. */
#ifndef AP_HOST_H
#define AP_HOST_H

struct ap_engine;
/* The engine in use, chosen on first call; NULL with errno set if none can be. */
const struct ap_engine *ap_engine_choose(void);

/* The engine in use without choosing one (NULL before the first choice): for hot paths that
 * need not choose, such as the drop-in's I/O. */
#include <stdatomic.h>
extern _Atomic(const struct ap_engine *) ap_chosen;
static inline const struct ap_engine *ap_engine_chosen(void)
{
    return atomic_load_explicit(&ap_chosen, memory_order_acquire);
}

#endif
