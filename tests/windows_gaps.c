/*
 * windows_gaps.c — every case of the suite that cannot apply on Windows, and why
 * (Windows build of the suite only). A case is listed here only when what it checks does not
 * exist on Windows; a case about sockets or eventfds that Windows merely gets wrong is not
 * listed: it runs, and fails. docs/windows.md repeats this list.
 */
#ifdef _WIN32
#include "windows_gaps.h"

#include <stddef.h>
#include <string.h>
#include <windows.h>

#define PIPES "pipes: Windows anonymous pipes cannot be polled (AFD polls sockets only)"

static const struct {
    const char *file, *reason;
} files[] = {
    {"test_fork.c", "fork() does not exist on Windows"},
    {"test_signals.c", "POSIX signals (sigaction, signal masks, EINTR) do not exist on Windows"},
    {"test_pipes.c", PIPES},
    {"test_signalfd.c", "signalfd: POSIX signals do not exist on Windows (anypoll_signalfd fails "
                        "with ENOSYS there)"},
    {"test_poll_fd.c", "the file uses POSIX signal masks (sigaddset, SIGUSR2) and pipes; poll() "
                       "over anypoll's own descriptors is run on Windows by eventfd_poll, "
                       "nest_epoll_fd_poll_* and the timerfd cases"},
    {"test_select.c", "the file uses POSIX signal masks and pipes; select() over anypoll's own "
                      "descriptors is run on Windows by timerfd_poll_and_select"},
    {"test_churn.c", "the case churns only once its waiter sleeps in epoll_wait, which the suite "
                     "reads from /proc/self/task/*/stat (Linux only); threads_* run the same "
                     "ctl-while-blocked paths on Windows"},
};

/* The suite's pipes and AF_UNIX socketpairs are loopback TCP pairs on Windows (compat_win.c):
 * the cases below check what only a pipe or an AF_UNIX socket does. */
#define PIPE_ONLY "checks pipe semantics (HUP/ERR when an end closes, data readable the moment " \
                  "it is written); the suite's pipes are loopback TCP pairs on Windows"
#define UNIX_ONLY "checks AF_UNIX socketpair semantics (synchronous delivery, HUP when the peer " \
                  "closes); the suite's socketpairs are loopback TCP pairs on Windows"
#define NO_FILES "regular files, directories and devices: anypoll on Windows takes SOCKETs and " \
                 "its own descriptors; a CRT file descriptor is neither (EBADF)"
#define SOCKET_DUP "dup() of a SOCKET: Windows has none (WSADuplicateSocket makes a new socket " \
                   "for another process); anypoll dups only its own descriptors"
#define DGRAM_BEHIND "a new datagram behind an unread one: Windows' FIONREAD on a datagram " \
                     "socket gives the size of the first datagram only, so an arrival cannot be " \
                     "counted"
#define NUMBERS "descriptor numbers: SOCKET values come from the Windows handle table, " \
                "anypoll's own from the numbers no SOCKET can have; no common lowest-free rule"

static const struct {
    const char *name;
    int engine_limit; /* 0: not on Windows; 1: a documented difference of the win engine;
                       * 2: a difference of Wine's, skipped only under Wine */
    const char *reason;
} cases[] = {
    {"close_reused_number_is_a_new_file", 1, SOCKET_DUP},
    {"close_with_dup_alive_keeps_reporting", 1, SOCKET_DUP},
    {"instances_dup_of_receiver_in_each", 1, SOCKET_DUP},
    {"ctl_dev_null_eperm", 0, NO_FILES},
    {"ctl_directory_eperm", 0, NO_FILES},
    {"ctl_regular_file_eperm", 0, NO_FILES},
    {"ctl_error_precedence", 0, NO_FILES},
    {"fifo_reader_closed", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reader_reopened_et_new_out_edge", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reader_reopened_lt", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reader_without_writer_yet", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reopened_et_data_left_new_edge", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reopened_et_new_edge", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_reopened_lt", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"fifo_writer_closed", 0, "FIFOs (mkfifo) do not exist on Windows"},
    {"pipe_reader_closed_in_interest_err_only", 0, PIPE_ONLY},
    {"pipe_reader_closed_out_err", 0, PIPE_ONLY},
    {"pipe_writer_closed_drained_hup", 0, PIPE_ONLY},
    {"pipe_writer_closed_et_hup_once", 0, PIPE_ONLY},
    {"pipe_writer_closed_with_data_in_hup", 0, PIPE_ONLY},
    {"hup_err_reported_without_interest", 0, PIPE_ONLY},
    {"oneshot_silent_even_for_hup_and_err", 0, PIPE_ONLY},
    {"edge_ready_at_ctl_time_keeps_ctl_order", 0, PIPE_ONLY},
    {"socketpair_peer_closed", 0, UNIX_ONLY},
    {"edge_short_read_after_eof_no_new_edge", 0, UNIX_ONLY},
    {"et_datagram_socketpair_edge_per_datagram", 1, DGRAM_BEHIND},
    {"udp_et_edge_per_datagram", 1, DGRAM_BEHIND},
    {"fuzz_dgram_arrival_then_read_is_an_edge", 1, DGRAM_BEHIND},
    {"dgram_arrival_then_sender_closed_is_an_edge", 1, DGRAM_BEHIND},
    {"et_listening_socket_edge_per_connection", 1,
     "a new connection behind an unaccepted one: Windows has no accept-queue count (the poll "
     "engine has the same limit off Linux)"},
    {"tcp_both_directions_shut_hup", 1,
     "the socket's own shutdown(SHUT_WR) wakes nothing on Windows (AFD has no event for it): "
     "an EPOLLET registration sees it at its next edge, a level-triggered one at once"},
    {"tcp_unconnected_out_hup", 1,
     "AFD reports nothing for a TCP socket that never connected (Linux: OUT|HUP), and no "
     "Winsock query tells it from a connect in progress"},
    {"eventfd_and_epoll_fd_take_lowest_free_number", 1, NUMBERS},
    {"timerfd_blocking_read_interrupted", 0,
     "POSIX signals (sigaction, pthread_kill, EINTR) do not exist on Windows"},
    {"timerfd_shared_across_fork", 0, "fork() does not exist on Windows"},
    {"fuzz_poll_eventfd_answers_in_out_only", 0,
     "Winsock's poll bits are merged (POLLIN is POLLRDNORM|POLLRDBAND, POLLOUT is POLLWRNORM), "
     "so \"IN and OUT, never RDNORM or WRNORM\" cannot be asked on Windows"},
    {"dup2_dup3_same_and_bad_fds", 1,
     "dup2/dup3 onto a multiple of 4 is refused (EBADF): such a number may become a SOCKET"},
    /* Wine 8 only (2: skipped when running under Wine, run on Windows) */
    {"instances_same_fd_et_each_gets_shutdown_edge", 2,
     "Wine 8's AFD does not report the peer's shutdown (DISCONNECT) while unread data remains"},
    {"tcp_peer_reset_err_hup", 2,
     "Wine 8's recv() returns 0 on a reset connection where Windows and Linux fail with "
     "ECONNRESET (the events themselves match)"},
    {NULL, 0, NULL},
};

const char *windows_file_gap(const char *file)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!strcmp(files[i].file, file)) return files[i].reason;
    return "this file is not built on Windows";
}

static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

const char *windows_gap(const char *name, int *engine_limit)
{
    for (size_t i = 0; cases[i].name; i++)
        if (!strcmp(cases[i].name, name)) {
            if (cases[i].engine_limit == 2 && !under_wine()) return NULL;
            *engine_limit = cases[i].engine_limit;
            return cases[i].reason;
        }
    return NULL;
}
#endif
