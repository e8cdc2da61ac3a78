#!/usr/bin/env bash
# tests/windows_demo.sh — the scoreboard's "Windows (Wine)" column: the probe and the echo
# example, cross-built with mingw-w64 (make windows) and run under Wine. One line each:
#
#   probe ✓ (engine win)
#   echo ✗ exit status 1: echo: FAIL: ... (engine win)
#
# Exit status 0 when both passed. Builds the Windows binaries first if needed (quietly).
set -u
cd "$(dirname "$0")/.." || exit 2

DIR=build/windows
# shellcheck source=scripts/wine-prefix.sh
source scripts/wine-prefix.sh
unset ANYPOLL_ENGINE
TIMEOUT=()
command -v timeout >/dev/null && TIMEOUT=(timeout 120)

fail_all() { echo "probe ✗ $1 (engine none)"; echo "echo ✗ $1 (engine none)"; exit 1; }
command -v x86_64-w64-mingw32-gcc >/dev/null || fail_all "x86_64-w64-mingw32-gcc not found (scripts/deps.sh installs it)"
command -v wine >/dev/null || fail_all "wine not found (scripts/deps.sh installs it)"
make -s windows >/dev/null 2>&1 || fail_all "make windows failed (run it to see why)"
# the 64-bit prefix in build/wine64, created on first use (about 15 s) and kept
err=$(mktemp)
wine_prefix 2>"$err" || fail_all "$(cat "$err"; rm -f "$err")"
rm -f "$err"

ok=0
# show WHAT OUTPUT RC ENGINE PROBLEM
show() {
    local what=$1 rc=$2 engine=$3 problem=$4
    if [[ $rc -eq 0 && -z $problem ]]; then
        echo "$what ✓ (engine ${engine:-none})"
    else
        ok=1
        echo "$what ✗ ${problem:-exit status $rc} (engine ${engine:-none})"
    fi
}

out=$("${TIMEOUT[@]}" wine "$DIR/anypoll.exe" probe 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
engine=$(sed -n 's/^engine: \([^ ]*\).*/\1/p' <<<"$out" | head -n1)
problem=
grep -q '^self-check: pass' <<<"$out" || problem="$(grep -m1 '^self-check:' <<<"$out" || echo "no self-check line")"
[[ $engine == win ]] || problem="${problem:+$problem, }engine ${engine:-none}, expected win"
show probe "$rc" "$engine" "$problem"

out=$("${TIMEOUT[@]}" wine "$DIR/examples/echo.exe" 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
engine=$(sed -n 's/^echo: engine \([^,]*\),.*/\1/p' <<<"$out" | head -n1)
problem=
[[ $rc -eq 0 ]] || problem="exit status $rc: $(grep -m1 'FAIL' <<<"$out")"
[[ $engine == win ]] || problem="${problem:+$problem, }engine ${engine:-none}, expected win"
show echo "$rc" "$engine" "$problem"
exit $ok
