/*
 * test_bad_input.c — NULL where the kernel expects memory: the kernel's EFAULT, never a crash,
 * and exactly the kernel's side effects (an eventfd read that cannot copy out still takes the
 * count; a wait that cannot copy out keeps its events).
 */
#include "runner.h"

#include <sys/socket.h>

/* Through a volatile pointer, so the compiler does not see the NULL coming. */
static void *volatile null_ptr;

TEST(bad_input_wait_null_events_nothing_ready)
{
    int ep = new_epoll();
    CHECK_EQ(T.epoll_wait(ep, null_ptr, 1, 0), 0);
    CLOSE(ep);
}

TEST(bad_input_wait_null_events_ready_efault_and_kept)
{
    int ep = new_epoll();
    int efd = new_eventfd(1, EFD_NONBLOCK);
    ADD(ep, efd, EPOLLIN | EPOLLET, 7);
    CHECK_ERR(T.epoll_wait(ep, null_ptr, 1, 0), EFAULT);
    WAIT_EXPECT(ep, EV(EPOLLIN, 7)); /* the edge was not consumed by the failed copy */
    CLOSE(efd);
    CLOSE(ep);
}

TEST(bad_input_eventfd_read_null_takes_count)
{
    int efd = new_eventfd(5, EFD_NONBLOCK);
    CHECK_ERR(T.read(efd, null_ptr, 8), EFAULT);
    uint64_t v;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    CLOSE(efd);
}

TEST(bad_input_eventfd_write_null)
{
    int efd = new_eventfd(0, EFD_NONBLOCK);
    CHECK_ERR(T.write(efd, null_ptr, 8), EFAULT);
    uint64_t v;
    CHECK_ERR(T.read(efd, &v, 8), EAGAIN);
    CLOSE(efd);
}

TEST(bad_input_poll_null)
{
    int ep = new_epoll();
    CHECK_ERR(T.poll(null_ptr, 1, 0), EFAULT);
    CHECK_EQ(T.poll(null_ptr, 0, 0), 0);
    CLOSE(ep);
}

TEST(bad_input_readv_null_on_eventfd)
{
    int efd = new_eventfd(2, EFD_NONBLOCK);
    CHECK_ERR(T.readv(efd, null_ptr, 1), EFAULT);
    CLOSE(efd);
}
