/* Windows build of the suite: POSIX socket names over Winsock (tests/compat_win.h). */
#include "compat_win.h"
