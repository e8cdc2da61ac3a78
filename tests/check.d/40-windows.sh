# tests/check.d/40-windows.sh — the Windows build (mingw-w64) and its tests under Wine
# (docs/windows.md). Sourced by tests/check.sh; uses its helpers (why, need_tool, t, suite, run).
#
#   windows-build        make windows: libanypoll.a, anypoll.exe, conformance.exe, examples/echo.exe;
#                        and include/anypoll.h alone compiles for Windows (C99, C11, GNU11)
#   windows-probe        anypoll.exe probe under Wine: engine win, self-check pass
#   windows-conformance  conformance.exe under Wine: the socket and eventfd cases pass; the
#                        cases that cannot apply on Windows are listed as skip with the reason
#   windows-echo         examples/echo.exe under Wine: every byte echoed and verified
#
# Wine runs in a 64-bit prefix of its own, build/wine64 (scripts/wine-prefix.sh), created
# afresh once per run by the first step that needs Wine (`wineboot -i`, its output in
# build/wine64.log), with WINEDEBUG=-all and no display: the steps' logs hold only the
# programs' own output.

WIN_DIR=build/windows
WINE=(wine) # WINEPREFIX, WINEARCH, WINEDEBUG and DISPLAY: exported by wine_prefix
# shellcheck source=scripts/wine-prefix.sh
source scripts/wine-prefix.sh

windows_built=
step_windows_build() {
    need_tool x86_64-w64-mingw32-gcc || return 1
    if [ -z "$windows_built" ]; then
        local rc=0
        echo "+ $MAKE -j$JOBS windows"
        t "$MAKE" -j"$JOBS" windows || rc=$?
        windows_built=$([ $rc -eq 0 ] && echo ok || echo failed)
    fi
    if [ "$windows_built" != ok ]; then
        why "make windows failed (x86_64-w64-mingw32-gcc)"
        return 1
    fi
    # the public header alone, as a Windows program sees it: every type its prototypes use
    local src=$LOG/windows-header.c std
    cat >"$src" <<'C'
#include "anypoll.h"
_Static_assert(sizeof(struct epoll_event) == 12, "packed as on Linux x86_64");
int main(void)
{
    struct epoll_event e = {EPOLLIN | EPOLLET, {0}};
    sigset_t m;
    nfds_t n = 0;
    ssize_t z = 0;
    struct iovec v = {0, 0};
    struct msghdr h = {0};
    struct pollfd p = {0};
    fd_set f;
    struct timespec ts = {0, 0};
    socklen_t sl = 0;
    struct itimerspec its = {{0, 0}, {0, 0}};
    (void)m, (void)n, (void)z, (void)v, (void)h, (void)p, (void)f, (void)ts, (void)sl;
    return anypoll_timerfd_settime(anypoll_timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC),
                                   TFD_TIMER_ABSTIME, &its, NULL) +
           anypoll_epoll_wait(anypoll_epoll_create1(EPOLL_CLOEXEC), &e, 1, 0) +
           anypoll_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE) +
           anypoll_accept4(0, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC) + anypoll_fcntl(0, F_GETFL);
}
C
    for std in c99 c11 gnu11; do
        echo "+ x86_64-w64-mingw32-gcc -std=$std -Wall -Wextra -Werror -Iinclude -c $src"
        if ! x86_64-w64-mingw32-gcc -std=$std -Wall -Wextra -Werror -Iinclude -c "$src" -o "$LOG/windows-header.o"; then
            why "include/anypoll.h does not compile for Windows as $std"
            return 1
        fi
    done
    why "x86_64-w64-mingw32-gcc: libanypoll.a, anypoll.exe, conformance.exe, examples/echo.exe; anypoll.h alone as C99, C11, GNU11"
}

wine_ready=
win_ready() {
    step_windows_build >/dev/null && need_tool wine || return 1
    if [ -z "$wine_ready" ]; then
        echo "+ wine_prefix --fresh  (wineboot -i; output: build/wine64.log)"
        local err
        if err=$(wine_prefix --fresh 2>&1); then wine_ready=ok; else wine_ready=$err; fi
    fi
    [ "$wine_ready" = ok ] || {
        why "$wine_ready"
        return 1
    }
    wine_prefix # the exports, in this step's shell
}

step_windows_probe() {
    win_ready || return 1
    local out rc=0
    out=$(t "${WINE[@]}" "$WIN_DIR/anypoll.exe" probe 2>&1) || rc=$?
    printf '%s\n' "$out"
    if [ $rc -ne 0 ] || ! grep -q '^engine: win' <<<"$out" || ! grep -q '^self-check: pass' <<<"$out"; then
        why "exit $rc: $(grep -m1 -E '^(engine|self-check):' <<<"$out" | tr -d '\r')"
        return 1
    fi
    why "host windows, engine win, self-check pass"
}

step_windows_conformance() {
    win_ready || return 1
    # Wine makes every system call a round trip to wineserver: a longer watchdog per case
    CONFORMANCE_TIMEOUT=${CONFORMANCE_TIMEOUT:-60} suite "${WINE[@]}" "$WIN_DIR/conformance.exe" \
        --target win || return 1
}

step_windows_echo() {
    win_ready || return 1
    local out rc=0
    out=$(t "${WINE[@]}" "$WIN_DIR/examples/echo.exe" 2>&1) || rc=$?
    printf '%s\n' "$out"
    if [ $rc -ne 0 ] || ! grep -q '^echo: engine win,' <<<"$out"; then
        why "exit $rc: $(grep -m1 -E 'echo:' <<<"$out" | tr -d '\r')"
        return 1
    fi
    why "$(grep -m1 '^echo:' <<<"$out" | tr -d '\r' | sed 's/^echo: //')"
}

run windows-build "Windows cross build (mingw-w64)" step_windows_build
run windows-probe "anypoll.exe probe under Wine" step_windows_probe
run windows-conformance "suite under Wine, win engine" step_windows_conformance
run windows-echo "examples/echo.exe under Wine" step_windows_echo
