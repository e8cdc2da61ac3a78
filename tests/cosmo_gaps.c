/*
 * cosmo_gaps.c — the cases an APE (conformance.com, `make ape`) cannot run under Cosmopolitan
 * 2.2 on Windows, each with the reason; asked at run time (IsWindows()), so the same file runs
 * every case on Linux. A case is listed only where Cosmopolitan 2.2 on Windows cannot give what
 * it checks (a call it answers with ENOSYS, constants it gives one value, a dup() that Winsock
 * does not take for a socket); a failure of the library or of the suite's helpers there is
 * fixed, not listed. The runner prints each as `skip` with its reason, never counted as passed.
 * README.md ("One binary for every host") repeats the list.
 */
#include "cosmo_gaps.h"
#include "runner.h" /* IsWindows(), through Cosmopolitan's headers */

#if defined(__COSMOPOLITAN__)
#include <stddef.h>
#include <string.h>

#define NO_MKFIFO "Cosmopolitan 2.2 on Windows has no mkfifo() (ENOSYS)"
#define NO_SIGWAIT                                                                                 \
    "a signalfd takes its signals with sigtimedwait(), which Cosmopolitan 2.2 on Windows "        \
    "answers with ENOSYS (and sigqueue() too): anypoll's signalfd reads fail there"
#define CLOCKS                                                                                     \
    "Cosmopolitan 2.2 on Windows gives CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, "                   \
    "CLOCK_BOOTTIME_ALARM and CLOCK_PROCESS_CPUTIME_ID one value (127, no such clock): the case " \
    "needs them told apart"
#define DUP_SOCKET                                                                                 \
    "Cosmopolitan 2.2's dup() of a socket on Windows is a duplicated handle that Winsock does "   \
    "not take for a socket (getsockopt, send and poll through it fail with ENOTSOCK)"

#define NO_PROC                                                                                    \
    "the case churns only once its waiter sleeps in epoll_wait, which the suite reads from "      \
    "/proc/self/task/*/stat (Linux only)"
#define SA_FLAGS                                                                                   \
    "Cosmopolitan 2.2 on Windows does not keep a handler's sa_flags (sigaction() reads "          \
    "SA_RESTART back as 0), so the library cannot know the handler asked for a restart and "      \
    "answers EINTR"
#define UNIX_ONLY                                                                                  \
    "checks AF_UNIX socketpair semantics (HUP when the peer closes); the suite's socketpairs "    \
    "are loopback TCP pairs there (Cosmopolitan's AF_UNIX pairs are named pipes that refuse "     \
    "SOCK_NONBLOCK)"
#define OWN_SHUTDOWN                                                                               \
    "the socket's own shutdown(SHUT_WR), made with the C library's shutdown(), changes nothing "  \
    "Winsock's poll() answers and leaves no state the library can ask (Linux: HUP once both "     \
    "directions are shut)"
#define RESET_RECV                                                                                 \
    "Wine 8's recv() returns 0 on a connection reset by its peer where Linux fails with "         \
    "ECONNRESET (as in the mingw build's list)"

#define PIPE_TICKS                                                                                 \
    "data left unread in a pipe makes the poll engine look again every 10 ms while the waiter "   \
    "is blocked (an EPOLLET suspect), and a pipe has no handle Cosmopolitan 2.2's poll() can "    \
    "wait on, so each look also asks the pipe through the NT API: under Wine that cost the "      \
    "waiter more CPU than the 10 % of its blocked time the case allows on some runs (20 to 40 %, " \
    "counted in Wine's 10 ms steps)"

static const struct {
    const char *name, *reason;
} gaps[] = {
    {"fifo_reader_closed", NO_MKFIFO},
    {"fifo_reader_without_writer_yet", NO_MKFIFO},
    {"fifo_reopened_et_data_left_new_edge", NO_MKFIFO},
    {"fifo_reopened_et_new_edge", NO_MKFIFO},
    {"fifo_reopened_lt", NO_MKFIFO},
    {"fifo_writer_closed", NO_MKFIFO},
    {"timerfd_absolute_not_early_and_past_fires_at_once", CLOCKS},
    {"timerfd_create_flags_and_clocks", CLOCKS},
    {"fuzz_poll_eventfd_answers_in_out_only",
     "Cosmopolitan 2.2 on Windows gives POLLWRNORM the value of POLLOUT (Winsock's): the case "
     "cannot ask for WRNORM without OUT"},
    {"instances_dup_of_receiver_in_each", DUP_SOCKET},
    {"timerfd_dup_fcntl_close", DUP_SOCKET},
    {"eventfd_and_epoll_fd_take_lowest_free_number",
     "the library's own sockets take the lowest free numbers too: Linux builds move them high "
     "with a dup(), which under Cosmopolitan 2.2 on Windows gives no usable socket "
     "(" DUP_SOCKET ")"},
    {"timerfd_one_shot_relative_not_early", CLOCKS},
    {"fifo_reader_reopened_et_new_out_edge", NO_MKFIFO},
    {"fifo_reader_reopened_lt", NO_MKFIFO},
    {"signal_blocking_signalfd_read_eintr", NO_SIGWAIT},
    {"signal_blocking_signalfd_read_restarted_with_sa_restart", NO_SIGWAIT},
    {"signal_blocking_eventfd_read_restarted_with_sa_restart", SA_FLAGS},
    {"signal_blocking_timerfd_read_restarted_with_sa_restart", SA_FLAGS},
    {"signal_successful_wait_leaves_errno",
     "Cosmopolitan 2.2 on Windows runs the handler of a signal a thread sends itself at its next "
     "check point (a blocking call), not before pthread_kill() returns as Linux does"},
    {"thread_churn_while_waiter_blocked", NO_PROC},
    {"socketpair_peer_closed", UNIX_ONLY},
    {"tcp_both_directions_shut_hup", OWN_SHUTDOWN},
    {"tcp_own_shutdown_rdwr_hup", OWN_SHUTDOWN},
    {"tcp_peer_reset_err_hup", RESET_RECV},
    {"lt_tcp_reset_keeps_the_error_for_the_program", RESET_RECV},
    {"tcp_unconnected_out_hup",
     "Winsock's poll() answers nothing for a TCP socket that never connected (Linux: OUT|HUP), "
     "and no Winsock query tells it from a connect in progress (as in the mingw build's list)"},
    {"nest_et_waiters_kept_both_outer_pipe", PIPE_TICKS},
    {"nest_et_waiters_kept_both_outer_pipe_et", PIPE_TICKS},
    {"nest_et_waiters_ppoll_kept_pipe", PIPE_TICKS},
    {"nest_et_waiters_pselect_kept_pipe_et", PIPE_TICKS},
    {"tcp_urgent_data_pri",
     "urgent data (MSG_OOB) is never answered POLLPRI by Cosmopolitan 2.2's poll() under Wine "
     "(WSAPoll underneath; the mingw build's AFD poll answers it)"},
    {"tcp_refused_connect_like_reset",
     "Cosmopolitan 2.2's connect() on Windows completes before it returns, on a non-blocking "
     "socket too: a refused connection fails at once (ECONNREFUSED), never EINPROGRESS then "
     "an error for poll()"},
    {"signalfd_flags", NO_SIGWAIT},
    {"signalfd_kill_record", NO_SIGWAIT},
    {"signalfd_sigqueue_record", NO_SIGWAIT},
    {"signalfd_several_records_per_read", NO_SIGWAIT},
    {"signalfd_mask_and_update", NO_SIGWAIT},
    {"signalfd_poll_readiness", NO_SIGWAIT},
    {"signalfd_epoll_level_triggered", NO_SIGWAIT},
    {"signalfd_epoll_et_edge_per_signal", NO_SIGWAIT},
    {"signalfd_wakes_blocked_epoll_waiter", NO_SIGWAIT},
    {"signalfd_blocking_read_in_other_thread", NO_SIGWAIT},
    {"signalfd_thread_directed_signal", NO_SIGWAIT},
    {"signalfd_sigchld_record", NO_SIGWAIT},
    {"signalfd_fork_child_reads_own_signals", NO_SIGWAIT},
    {"signalfd_readv_records", NO_SIGWAIT},
    {"signalfd_thread_directed_readiness_per_thread", NO_SIGWAIT},
    {"signalfd_two_fds_signal_read_through_one", NO_SIGWAIT},
    {"signalfd_two_fds_signal_taken_by_sigtimedwait", NO_SIGWAIT},
};

const char *cosmo_windows_gap(const char *name)
{
    if (!IsWindows()) return NULL;
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++)
        if (!strcmp(gaps[i].name, name)) return gaps[i].reason;
    return NULL;
}
#endif
