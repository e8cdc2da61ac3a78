/*
 * target_anypoll.c — the anypoll targets (native, poll, auto): every call goes to anypoll_*.
 * Which engine serves them is chosen by the runner (anypoll_use_engine) before the cases run.
 */
#include "runner.h"

const struct target target_anypoll = {
    .name = "anypoll",
    .epoll_create = anypoll_epoll_create,
    .epoll_create1 = anypoll_epoll_create1,
    .epoll_ctl = anypoll_epoll_ctl,
    .epoll_wait = anypoll_epoll_wait,
    .epoll_pwait = anypoll_epoll_pwait,
    .epoll_pwait2 = anypoll_epoll_pwait2,
    .eventfd = anypoll_eventfd,
    .eventfd_read = anypoll_eventfd_read,
    .eventfd_write = anypoll_eventfd_write,
    .read = anypoll_read,
    .write = anypoll_write,
    .readv = anypoll_readv,
    .writev = anypoll_writev,
    .recv = anypoll_recv,
    .send = anypoll_send,
    .recvfrom = anypoll_recvfrom,
    .sendto = anypoll_sendto,
    .recvmsg = anypoll_recvmsg,
    .shutdown = anypoll_shutdown,
    .sendmsg = anypoll_sendmsg,
    .accept = anypoll_accept,
    .accept4 = anypoll_accept4,
    .close = anypoll_close,
    .dup = anypoll_dup,
    .dup2 = anypoll_dup2,
    .dup3 = anypoll_dup3,
    .fcntl = anypoll_fcntl,
    .poll = anypoll_poll,
    .ppoll = anypoll_ppoll,
    .select = anypoll_select,
    .pselect = anypoll_pselect,
    .timerfd_create = anypoll_timerfd_create,
    .timerfd_settime = anypoll_timerfd_settime,
    .timerfd_gettime = anypoll_timerfd_gettime,
    .signalfd = anypoll_signalfd,
};
