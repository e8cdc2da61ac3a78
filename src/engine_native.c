/* engine_native.c — placeholder while the native engine is being written. */
#include "engine.h"
static int usable(void) { return 0; }
const struct ap_engine ap_engine_native = {.name = "native", .usable = usable};
