/* host.h — run-time host detection and engine choice (internal). See host.c. */
#ifndef AP_HOST_H
#define AP_HOST_H

struct ap_engine;
/* The engine in use, chosen on first call; NULL with errno set if none can be. */
const struct ap_engine *ap_engine_choose(void);

#endif
