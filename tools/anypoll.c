#include "anypoll.h"
#include <stdio.h>
int main(void) { const char *e = anypoll_engine_name(); printf("engine: %s\n", e ? e : "none"); return 0; }
