/*
 * tests/clients/glibc/anypoll.h — the clients room's stand-in for anypoll.h: the same names,
 * straight onto glibc and the kernel. Compiling examples/echo.c with this directory first on
 * the include path gives "the same C program without anypoll", which the scoreboard runs on a
 * host without epoll to show what anypoll replaces. Nothing here emulates anything.
 */
#ifndef ANYPOLL_H
#define ANYPOLL_H
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define anypoll_accept accept
#define anypoll_close close
#define anypoll_epoll_create1 epoll_create1
#define anypoll_epoll_ctl epoll_ctl
#define anypoll_epoll_wait epoll_wait
#define anypoll_eventfd eventfd
#define anypoll_eventfd_read eventfd_read
#define anypoll_eventfd_write eventfd_write
#define anypoll_fcntl fcntl
#define anypoll_read read
#define anypoll_write write

/* No engines to choose from: the kernel's epoll or nothing. */
static inline const char *anypoll_engine_name(void) { return "glibc (no anypoll)"; }
static inline int anypoll_use_engine(const char *name)
{
    (void)name;
    errno = ENOTSUP;
    return -1;
}
#endif
