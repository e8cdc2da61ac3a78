#!/usr/bin/env bash
# tests/demo.sh — what `make demo` runs after the build: anypoll on this machine as it is, and
# on "a host without epoll" (build/anypoll nosys: the kernel refuses epoll and eventfd).
#
#   probe  build/anypoll probe: which engine, and does its self-check pass
#   echo   build/examples/echo: a TCP echo server + 8 clients, every byte verified
#
# Each run must pick the expected engine (native with the kernel's epoll, poll without it) and
# succeed. Prints one line per run, the output of any run that failed, and exits non-zero if
# anything failed. BUILD=dir selects another build directory (default: build).
set -u
cd "$(dirname "$0")/.." || exit 2

BUILD=${BUILD:-build}
ANYPOLL=$BUILD/anypoll
ECHO=$BUILD/examples/echo
for f in "$ANYPOLL" "$ECHO"; do
    [[ -x $f ]] || { echo "demo: $f is missing: run make first" >&2; exit 2; }
done
# ANYPOLL_ENGINE would override the choice this demo is about.
unset ANYPOLL_ENGINE
TIMEOUT=()
command -v timeout >/dev/null && TIMEOUT=(timeout 120)

passed=0
failed=0

# run WHAT WHERE EXPECTED_ENGINE CMD... — runs CMD, prints a summary line, keeps the score.
run() {
    local what=$1 where=$2 expect=$3
    shift 3
    local out rc engine detail problem=""
    out=$("${TIMEOUT[@]}" "$@" 2>&1)
    rc=$?
    case $what in
    probe)
        engine=$(sed -n 's/^engine: \([^ ]*\).*/\1/p' <<<"$out" | head -n1)
        detail=$(sed -n 's/^self-check: //p' <<<"$out" | head -n1)
        detail="self-check ${detail:-missing}"
        ;;
    echo)
        engine=$(sed -n 's/^echo: engine \([^,]*\),.*/\1/p' <<<"$out" | head -n1)
        detail=$(sed -n 's/^echo: engine [^,]*, //p' <<<"$out" | head -n1)
        [[ -n $detail ]] || detail=$(grep -m1 'FAIL' <<<"$out")
        ;;
    esac
    [[ -n $engine ]] || engine=none
    if ((rc == 124)) && ((${#TIMEOUT[@]})); then
        problem="timed out"
    elif ((rc != 0)); then
        problem="exit status $rc"
    fi
    if [[ $engine != "$expect" ]]; then
        problem="${problem:+$problem, }engine $engine, expected $expect"
    fi
    if [[ -z $problem ]]; then
        passed=$((passed + 1))
        printf '  ok    %-5s %-26s engine %-7s %s\n' "$what" "$where" "$engine" "$detail"
    else
        failed=$((failed + 1))
        printf '  FAIL  %-5s %-26s engine %-7s %s\n' "$what" "$where" "$engine" "$detail"
        printf '        (%s) output of: %s\n' "$problem" "$*"
        sed 's/^/        | /' <<<"$out"
    fi
}

echo "anypoll demo ($BUILD, host $(uname -sm))"
run probe "with the kernel's epoll" native "$ANYPOLL" probe
run probe "without epoll (nosys)" poll "$ANYPOLL" nosys -- "$ANYPOLL" probe
run echo "with the kernel's epoll" native "$ECHO"
run echo "without epoll (nosys)" poll "$ANYPOLL" nosys -- "$ECHO"
echo "demo: $passed passed, $failed failed"
((failed == 0))
