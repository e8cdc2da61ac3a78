/*
 * common.c — what the reliability programs (tests/fuzz, tests/stress, tests/faults) borrow from
 * the conformance suite: its helpers.c needs a current target `T` and `fail_at`, which the
 * suite's runner.c (with its own main) provides there. Tests only; touches no library file.
 */
#include "runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

struct target T;

void fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    _exit(1);
}
