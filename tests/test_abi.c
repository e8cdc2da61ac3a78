/*
 * test_abi.c — struct epoll_event layout and flag values as the kernel defines them.
 */
#include "runner.h"

#include <fcntl.h>
#include <stddef.h>

TEST(abi_epoll_event_layout)
{
#if defined(__x86_64__) || defined(__i386__)
    CHECK_EQ(sizeof(struct epoll_event), 12);
    CHECK_EQ(offsetof(struct epoll_event, data), 4);
#else
    CHECK_EQ(sizeof(struct epoll_event), 16);
    CHECK_EQ(offsetof(struct epoll_event, data), 8);
#endif
    CHECK_EQ(sizeof(epoll_data_t), 8);
    /* consecutive entries written by a wait land where the caller's array says */
    int ep = new_epoll();
    int a = new_eventfd(1, EFD_NONBLOCK), b = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, a, EPOLLIN, 0x0102030405060708ull);
    ADD(ep, b, EPOLLIN, 0x1112131415161718ull);
    struct epoll_event evs[3];
    CHECK_EQ(T.epoll_wait(ep, evs, 3, WAIT_MS), 2);
    CHECK_EVENTS(2, evs, EV(EPOLLIN, 0x0102030405060708ull), EV(EPOLLIN, 0x1112131415161718ull));
    CLOSE(a);
    CLOSE(b);
    CLOSE(ep);
}

TEST(abi_flag_values)
{
    CHECK_EQ(EPOLLIN, 0x1);
    CHECK_EQ(EPOLLPRI, 0x2);
    CHECK_EQ(EPOLLOUT, 0x4);
    CHECK_EQ(EPOLLERR, 0x8);
    CHECK_EQ(EPOLLHUP, 0x10);
    CHECK_EQ(EPOLLRDNORM, 0x40);
    CHECK_EQ(EPOLLRDBAND, 0x80);
    CHECK_EQ(EPOLLWRNORM, 0x100);
    CHECK_EQ(EPOLLWRBAND, 0x200);
    CHECK_EQ(EPOLLMSG, 0x400);
    CHECK_EQ(EPOLLRDHUP, 0x2000);
    CHECK_EQ((uint32_t)EPOLLEXCLUSIVE, 1u << 28);
    CHECK_EQ((uint32_t)EPOLLWAKEUP, 1u << 29);
    CHECK_EQ((uint32_t)EPOLLONESHOT, 1u << 30);
    CHECK_EQ((uint32_t)EPOLLET, 1u << 31);
    CHECK_EQ(EPOLL_CTL_ADD, 1);
    CHECK_EQ(EPOLL_CTL_DEL, 2);
    CHECK_EQ(EPOLL_CTL_MOD, 3);
    CHECK_EQ(EPOLL_CLOEXEC, O_CLOEXEC);
    CHECK_EQ(EFD_CLOEXEC, O_CLOEXEC);
    CHECK_EQ(EFD_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(EFD_SEMAPHORE, 1);
}
