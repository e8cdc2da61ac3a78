/*
 * kprobe.c — does this host give a program epoll and eventfd through glibc alone? The clients
 * room's (tests/clients/) probe without anypoll: an eventfd registered edge-triggered in an
 * epoll instance, one write, one wait that must return it. Prints one line and exits 0 if the
 * round trip worked; otherwise names the call that failed and its errno.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int fail(const char *call)
{
    printf("kprobe: FAIL: %s: %s (errno %d)\n", call, strerror(errno), errno);
    return 1;
}

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return fail("epoll_create1");
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) return fail("eventfd");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 42}, out[2];
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) return fail("epoll_ctl");
    if (eventfd_write(efd, 1) < 0) return fail("eventfd_write");
    int n = epoll_wait(ep, out, 2, 1000);
    if (n < 0) return fail("epoll_wait");
    if (n != 1 || out[0].data.u64 != 42 || out[0].events != EPOLLIN) {
        printf("kprobe: FAIL: epoll_wait returned %d event(s), expected the eventfd's EPOLLIN\n", n);
        return 1;
    }
    close(efd);
    close(ep);
    printf("kprobe: ok: glibc's epoll_create1, eventfd, epoll_ctl, epoll_wait: the eventfd's wake-up arrived\n");
    return 0;
}
