/* tool.h — what the portable part of the `anypoll` command needs from host-specific files. */
#ifndef AP_TOOL_H
#define AP_TOOL_H

/* 1 if `anypoll nosys` can work on this host (Linux on x86_64 or aarch64). */
int ap_nosys_supported(void);

/* Make the kernel refuse the epoll system calls (unless keep_epoll) and the eventfd ones
 * (unless keep_eventfd) with ENOSYS, for this process and everything it execs.
 * 0, or -1 with errno. */
int ap_nosys_install(int keep_epoll, int keep_eventfd);
/* The timerfd (timerfd_create/settime/gettime) and signalfd (signalfd, signalfd4) calls are
 * refused too unless this, called before ap_nosys_install, keeps them. */
void ap_nosys_keep_timers(int keep_timerfd, int keep_signalfd);

/* run.c: `anypoll run` (argv[0] is "run"; argv0 is the command's own argv[0]) and its help. */
int ap_cmd_run(int argc, char **argv, const char *argv0);
extern const char ap_usage_run[];

#ifdef _WIN32
/* Windows has no socketpair(): a connected loopback TCP pair (socketpair_win.c). */
int ap_tool_socketpair(int domain, int type, int protocol, int sv[2]);
#define socketpair ap_tool_socketpair
#endif

#endif
