/* engine_poll.c — placeholder while the poll engine is being written. */
#include "engine.h"
static int usable(void) { return 0; }
const struct ap_engine ap_engine_poll = {.name = "poll", .usable = usable};
