# tests/check.d/30-python.sh — Python, unmodified, as a real client of the drop-in (sourced by
# tests/check.sh). Room: the Python client (tests/clients/python/); it touches nothing else.
#
# Three workloads, each run five ways:
#   regrtest   /usr/bin/python3 -m test -v test_epoll test_selectors (Debian's test suite)
#   eventfd    /usr/bin/python3 -m test -v test_os -m '*EventfdTests*'
#   asyncio    tests/clients/python/asyncio_epoll.py (TCP echo, and subprocess pipes, on
#              selectors.EpollSelector)
# ways:
#   python-native        the real kernel, no anypoll: the baseline counts
#   python-nosys-bites   `anypoll nosys` without anypoll: every workload must FAIL with ENOSYS
#                        (errno 38) — proof that the simulated host without epoll bites
#   python-nosys-anypoll `anypoll run --nosys`: must pass in full, with the baseline's counts
#                        (as many tests run, no more skipped), served by the poll engine
#   python-poll          `anypoll run --engine poll` on the real kernel: the same
#   python-poll-posix    the same with ANYPOLL_HOST_AIDS=posix (the plain-POSIX host aids)
# The engine that served each run is read from ANYPOLL_REPORT, never assumed.

PY=/usr/bin/python3
PY_ASYNCIO=tests/clients/python/asyncio_epoll.py
PY_BASE= # "ran skipped" of the native regrtest run, once measured

# py_in_tmp CMD... — runs CMD from a scratch directory (regrtest writes its cwd there).
py_in_tmp() {
    local dir rc=0
    dir=$(mktemp -d)
    (cd "$dir" && t "$@") || rc=$?
    rm -rf "$dir"
    return $rc
}

# py_counts LOGFILE — "ran skipped failures errors" summed over unittest's closing lines.
py_counts() {
    awk '/^Ran [0-9]+ tests? in/ {ran += $2}
         /^(OK|FAILED) \(/ {
             s = $0; sub(/^[A-Z]+ \(/, "", s); sub(/\)$/, "", s)
             n = split(s, kv, ", ")
             for (i = 1; i <= n; i++) { split(kv[i], p, "="); c[p[1]] += p[2] }
         }
         END {printf "%d %d %d %d\n", ran, c["skipped"], c["failures"], c["errors"]}' "$1"
}

# py_workloads WAY PREFIX... — runs the three workloads under PREFIX, output in $LOG/python-WAY-*.
py_workloads() {
    local way=$1 out=$LOG/python-$1
    shift
    local abs_asyncio
    abs_asyncio=$(pwd)/$PY_ASYNCIO
    echo "+ $* $PY -m test -v test_epoll test_selectors"
    py_in_tmp "$@" "$PY" -m test -v test_epoll test_selectors >"$out-regrtest.log" 2>&1 || true
    echo "+ $* $PY -m test -v test_os -m '*EventfdTests*'"
    py_in_tmp "$@" "$PY" -m test -v test_os -m '*EventfdTests*' >"$out-eventfd.log" 2>&1 || true
    echo "+ $* $PY $PY_ASYNCIO"
    py_in_tmp "$@" "$PY" "$abs_asyncio" >"$out-asyncio.log" 2>&1 || true
    tail -n 4 "$out-regrtest.log" "$out-eventfd.log" "$out-asyncio.log"
}

py_need() {
    build_native || return 1
    [ -x "$PY" ] || {
        why "$PY not found (Debian's python3)"
        return 1
    }
    "$PY" -c 'import test.test_epoll, test.test_selectors, test.test_os' 2>/dev/null || {
        why "Python's test suite is not installed (libpython3.11-testsuite; scripts/deps.sh check)"
        return 1
    }
}

# py_baseline — measures the native counts once per run (also when only a later step is chosen).
py_baseline() {
    [ -z "$PY_BASE" ] || return 0
    py_workloads native env || true
    local c
    c=$(py_counts "$LOG/python-native-regrtest.log")
    read -r b_ran b_skip b_fail b_err <<<"$c"
    if [ "$b_ran" -eq 0 ] || [ "$b_fail" -ne 0 ] || [ "$b_err" -ne 0 ] ||
        ! grep -q 'Tests result: SUCCESS' "$LOG/python-native-regrtest.log"; then
        why "natively (no anypoll) test_epoll/test_selectors do not pass: ran $b_ran, failures $b_fail, errors $b_err"
        return 1
    fi
    PY_BASE="$b_ran $b_skip"
}

# py_pass WAY — the three workloads of WAY passed in full with the baseline's counts.
py_pass() {
    local way=$1 out=$LOG/python-$1 ran skip fail err b_ran b_skip e_ran e_skip e_fail e_err line
    read -r b_ran b_skip <<<"$PY_BASE"
    read -r ran skip fail err <<<"$(py_counts "$out-regrtest.log")"
    if ! grep -q 'Tests result: SUCCESS' "$out-regrtest.log" || [ "$fail" -ne 0 ] || [ "$err" -ne 0 ]; then
        why "test_epoll/test_selectors: ran $ran, failures $fail, errors $err ($(grep -m1 -E '^(FAIL|ERROR):' "$out-regrtest.log" || echo 'no SUCCESS line'))"
        return 1
    fi
    if [ "$ran" -ne "$b_ran" ] || [ "$skip" -ne "$b_skip" ]; then
        why "test_epoll/test_selectors: ran $ran with $skip skipped, natively $b_ran with $b_skip skipped"
        return 1
    fi
    read -r e_ran e_skip e_fail e_err <<<"$(py_counts "$out-eventfd.log")"
    if [ "$e_ran" -lt 3 ] || [ "$e_skip" -ne 0 ] || [ "$e_fail" -ne 0 ] || [ "$e_err" -ne 0 ] ||
        ! grep -q '^OK$' "$out-eventfd.log"; then
        why "test_os EventfdTests: ran $e_ran, skipped $e_skip, failures $e_fail, errors $e_err"
        return 1
    fi
    line=$(tail -n 1 "$out-asyncio.log")
    if [ "$line" != "asyncio-epoll: 20 clients, 500 round trips, 589800 bytes echoed, 5 subprocesses piped 1000000 bytes, selector EpollSelector" ]; then
        why "asyncio on EpollSelector: $line"
        return 1
    fi
    PY_RESULT="test_epoll+test_selectors $ran run/$skip skipped (as natively), test_os EventfdTests $e_ran/$e_ran, asyncio 500 round trips/589800 bytes + 5 subprocesses/1000000 bytes piped"
}

# py_engine REPORT WANT — every process that chose an engine chose WANT, and there was one.
py_engine() {
    local n bad
    n=$(grep -c '^anypoll: pid [0-9]* engine ' "$1" 2>/dev/null || true)
    bad=$(grep -v "^anypoll: pid [0-9]* engine $2 host " "$1" 2>/dev/null | head -n 1 || true)
    cat "$1" 2>/dev/null || true
    if [ "${n:-0}" -eq 0 ]; then
        why "ANYPOLL_REPORT: no process reported an engine (was the drop-in loaded?)"
        return 1
    fi
    if [ -n "$bad" ]; then
        why "ANYPOLL_REPORT: a process did not use engine $2: $bad"
        return 1
    fi
}

step_python_native() {
    py_need || return 1
    py_baseline || return 1
    py_pass native || return 1
    why "no anypoll: $PY_RESULT"
}

step_python_nosys_bites() {
    py_need || return 1
    py_workloads nosys-bites "$(pwd)/build/anypoll" nosys -- || true
    local out=$LOG/python-nosys-bites ran skip fail err n38
    read -r ran skip fail err <<<"$(py_counts "$out-regrtest.log")"
    n38=$(grep -c 'OSError: \[Errno 38\] Function not implemented' "$out-regrtest.log" || true)
    if grep -q 'Tests result: SUCCESS' "$out-regrtest.log" || [ "$err" -eq 0 ] || [ "$n38" -eq 0 ]; then
        why "test_epoll/test_selectors did not fail with ENOSYS under nosys (errors $err, Errno 38 seen $n38 times)"
        return 1
    fi
    local e_ran e_skip e_fail e_err e38
    read -r e_ran e_skip e_fail e_err <<<"$(py_counts "$out-eventfd.log")"
    e38=$(grep -c 'OSError: \[Errno 38\]' "$out-eventfd.log" || true)
    if [ "$e_err" -lt 3 ] || [ "$e38" -lt 3 ]; then
        why "test_os EventfdTests did not all fail with ENOSYS under nosys (errors $e_err, Errno 38 seen $e38 times)"
        return 1
    fi
    if [ "$(tail -n 1 "$out-asyncio.log")" != "asyncio-epoll: no epoll: [Errno 38] Function not implemented" ]; then
        why "asyncio: expected EpollSelector() to fail with Errno 38, got: $(tail -n 1 "$out-asyncio.log")"
        return 1
    fi
    why "without anypoll: test_epoll/test_selectors $err errors ($n38 x Errno 38), EventfdTests $e_err errors, EpollSelector() Errno 38"
}

step_python_anypoll() { # WAY ENGINE PREFIX...
    py_need || return 1
    py_baseline || return 1
    local way=$1 engine=$2 report=$LOG/python-$1.report
    shift 2
    rm -f "$report"
    py_workloads "$way" env ANYPOLL_REPORT="$(pwd)/$report" "$@" || true
    py_pass "$way" || return 1
    py_engine "$report" "$engine" || return 1
    why "engine $engine ($(grep -c . "$report") processes): $PY_RESULT"
}

run python-native "Python natively" step_python_native
run python-nosys-bites "Python under nosys, no anypoll" step_python_nosys_bites
run python-nosys-anypoll "Python under nosys, drop-in" step_python_anypoll nosys-anypoll poll "$(pwd)/build/anypoll" run --nosys --
run python-poll "Python, drop-in, poll engine" step_python_anypoll poll poll "$(pwd)/build/anypoll" run --engine poll --
run python-poll-posix "Python, drop-in, poll engine, plain-POSIX aids" step_python_anypoll poll-posix poll env ANYPOLL_HOST_AIDS=posix "$(pwd)/build/anypoll" run --engine poll --
