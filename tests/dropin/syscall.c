/*
 * tests/dropin/syscall.c — a static program's syscall() by number, through the drop-in
 * (mk/static.mk links it per libc; step static-syscall-*). The C counterpart of the
 * dropin-syscall step's Python: eventfd2, read, write, epoll_create1, epoll_ctl, epoll_wait
 * and close by number must be served by anypoll (under `anypoll nosys` the kernel refuses
 * eventfd2 and epoll_create1, so only the poll engine can answer), io_uring_setup must fail
 * with ENOSYS, and any other number (getpid) must reach the kernel.
 *
 * Prints `syscall(): all as expected` and exits 0, or names the first call that was not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif

static int failed(const char *what, long got, int err)
{
    printf("syscall(): %s: got %ld (errno %d, %s)\n", what, got, err, strerror(err));
    return 1;
}

int main(void)
{
    char params[120] = {0};
    uint64_t v = 5, got = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42}, out[2];
    long r;

    errno = 0;
    r = syscall(SYS_io_uring_setup, 4, params);
    if (r != -1 || errno != ENOSYS) return failed("io_uring_setup is not ENOSYS", r, errno);
    long efd = syscall(SYS_eventfd2, 0, EFD_NONBLOCK);
    if (efd < 0) return failed("eventfd2", efd, errno);
    long ep = syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
    if (ep < 0) return failed("epoll_create1", ep, errno);
    if ((r = syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, efd, &ev)) != 0) return failed("epoll_ctl", r, errno);
    if ((r = syscall(SYS_epoll_pwait, ep, out, 2, 0, NULL, 8)) != 0) return failed("epoll_pwait, nothing ready", r, errno);
    if ((r = syscall(SYS_write, efd, &v, 8)) != 8) return failed("write 8 bytes", r, errno);
    if ((r = syscall(SYS_epoll_pwait, ep, out, 2, 1000, NULL, 8)) != 1 || out[0].data.u64 != 42)
        return failed("epoll_pwait after the write", r, errno);
    if ((r = syscall(SYS_read, efd, &got, 8)) != 8 || got != 5) return failed("read the count", r, errno);
    errno = 0;
    if ((r = syscall(SYS_read, efd, &got, 8)) != -1 || errno != EAGAIN) return failed("read when empty is not EAGAIN", r, errno);
    if ((r = syscall(SYS_getpid)) != getpid()) return failed("getpid", r, errno);
    if ((r = syscall(SYS_close, ep)) != 0 || (r = syscall(SYS_close, efd)) != 0) return failed("close", r, errno);
    printf("syscall(): all as expected (io_uring_setup ENOSYS; eventfd2, epoll_create1, epoll_ctl, epoll_pwait, write, read, close by number; getpid)\n");
    return 0;
}
