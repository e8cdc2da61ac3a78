# tests/check.d/35-host-constants.sh — host constants are not compile-time constants (sourced by
# tests/check.sh). Room: portability.
#
# Under Cosmopolitan, POLLIN, SIGCHLD, O_NONBLOCK, EINVAL... are values the loader fills in at
# run time for the host it finds: a static table or a `case` label over one does not compile.
# This step compiles every portable file of the library (all of src/ but *_linux.c and the
# Windows files) with a header that makes those constants run-time values
# (tests/hostconst/runtime_constants.py), so a new one fails here without a Cosmopolitan
# toolchain; each file twice, the second time configured as a Cosmopolitan build sees it
# (sys_cosmo.c, the run-time host questions). It first shows that the header bites: a static
# table over POLLIN and a case label over SIGCHLD must not compile with it.
#
# The other class a Cosmopolitan build met: declarations its headers lack (struct itimerspec,
# in none of its versions). anypoll.h must provide what a host lacks, as it does struct
# epoll_event; its branch for hosts without Linux's headers (-D__COSMOPOLITAN__) is compiled in
# strict C11, where glibc's headers declare no POSIX timer types either, by a program that uses
# every type the API names. That a bare struct itimerspec does not compile there shows it bites.
#
#   host-constants    every portable file compiles with the host's constants as run-time values,
#                     and anypoll.h declares every type its API names on a host that lacks them

step_host_constants() {
    need_tool python3 cc || return 1
    local dir=$LOG/host-constants n f files bad=()
    mkdir -p "$dir"
    n=$(python3 tests/hostconst/runtime_constants.py "$dir/runtime_constants.h") || {
        why "could not generate the header"
        return 1
    }
    printf 'static const short table[] = {POLLIN};\nshort first(void) { return table[0]; }\n' >"$dir/table.c"
    printf 'int is_chld(int s) { switch (s) { case SIGCHLD: return 1; default: return 0; } }\n' >"$dir/case.c"
    for f in table case; do
        if cc -std=c11 -D_GNU_SOURCE -include "$dir/runtime_constants.h" -c "$dir/$f.c" -o /dev/null >>"$dir/probe.log" 2>&1; then
            why "the header does not bite: $f.c compiled"
            return 1
        fi
    done
    files=$(find src -name '*.c' ! -name '*_linux.c' ! -path 'src/engines/win/*' ! -name '*_win.c' | sort)
    # twice: as this host's build sees them, and as a Cosmopolitan build does (-D__COSMOPOLITAN__,
    # its IsLinux()... declared), which compiles sys_cosmo.c and the run-time host questions too
    mkdir -p "$dir/cosmo"
    printf 'int IsLinux(void);\nint IsWindows(void);\nint IsXnu(void);\nint IsFreebsd(void);\nint IsOpenbsd(void);\nint IsNetbsd(void);\n' >"$dir/cosmo/cosmo.h"
    for f in $files; do
        echo "+ $f"
        t cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc \
            -include "$dir/runtime_constants.h" -c "$f" -o /dev/null || bad+=("$f")
        t cc -std=c11 -D_GNU_SOURCE -D__COSMOPOLITAN__=1 -Wall -Wextra -Werror -Iinclude -Isrc \
            -I"$dir/cosmo" -include "$dir/runtime_constants.h" -c "$f" -o /dev/null || bad+=("$f (as Cosmopolitan)")
    done
    if [ ${#bad[@]} -gt 0 ]; then
        why "a host constant used as a compile-time constant in ${bad[*]} (see the log)"
        return 1
    fi
    # declarations: the host's headers lack struct itimerspec, anypoll.h must declare it
    printf '#include <time.h>\nstruct itimerspec its = {{0, 0}, {1, 0}};\n' >"$dir/bare.c"
    if cc -std=c11 -c "$dir/bare.c" -o /dev/null >>"$dir/probe.log" 2>&1; then
        why "the declaration probe does not bite: struct itimerspec is declared in strict C11"
        return 1
    fi
    cat >"$dir/types.c" <<'EOF'
#include "anypoll.h"
int use_types(int tfd, int sfd);
int use_types(int tfd, int sfd)
{
    struct itimerspec its = {{0, 0}, {1, 0}}, old;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    struct signalfd_siginfo si = {.ssi_signo = 1};
    eventfd_t v = 1;
    sigset_t set;
    struct timespec ts = {0, 0};
    (void)v;
    return anypoll_timerfd_settime(tfd, 0, &its, &old) + (int)si.ssi_signo +
           anypoll_epoll_pwait2(sfd, &ev, 1, &ts, &set);
}
EOF
    t cc -std=c11 -D__COSMOPOLITAN__=1 -Wall -Wextra -Werror -Iinclude -c "$dir/types.c" -o /dev/null || {
        why "anypoll.h does not declare every type its API names on a host that lacks them (see the log)"
        return 1
    }
    why "$(wc -w <<<"$files") portable files compile (as this host's and as Cosmopolitan's) with $n host constants as run-time values (a static table over POLLIN and a case label over SIGCHLD do not); anypoll.h declares struct itimerspec, struct epoll_event, struct signalfd_siginfo and eventfd_t where the host lacks them"
}

run host-constants "host constants are run-time values" step_host_constants
