/*
 * common.h — what the timers clients share (tests/clients/timers/, a room of its own: real
 * event libraries run against the kernel or anypoll; they include no anypoll header, since
 * the point is that unmodified library code reaches anypoll through the drop-in).
 */
#ifndef TIMERS_COMMON_H
#define TIMERS_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>

static inline int64_t clock_ns(int id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The fds on which timerfd_gettime() works: the timerfds the library made, whoever serves them
 * (the kernel, or anypoll's drop-in, whose timerfd_gettime answers for its emulated ones). */
static inline int count_timerfds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++) {
        struct itimerspec its;
        if (timerfd_gettime(fd, &its) == 0) n++;
    }
    return n;
}

__attribute__((noreturn, format(printf, 2, 3))) static inline void fail(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: FAIL: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

#endif
