#!/usr/bin/env bash
# scripts/external-suites.sh — other projects' own test suites, run unmodified against the
# drop-in (`make external`; not part of `make check`: it downloads and builds those projects).
#
# Each suite runs five ways, one after the other:
#   plain        no anypoll: the suite's own result on this machine (the baseline)
#   native       anypoll run --engine native   (the drop-in forwarding to the kernel)
#   poll         anypoll run --engine poll     (the emulation, on the real kernel)
#   nosys        anypoll run --nosys           (a host without epoll/eventfd, with anypoll)
#   nosys-bare   anypoll nosys                 (the same host without anypoll: must fail)
# A way passes when it runs as many cases as the plain run and fails none the plain run passed;
# nosys-bare must fail. Cases that fail in the plain run are the machine's (printed, not counted
# either way). A case that failed on an anypoll way only is run alone three more times without
# anypoll: if it fails there too it is this machine's flake (printed as such), else the way fails.
#
# Suites:
#   python   CPython's test_asyncio test_selectors test_epoll test_socket test_subprocess
#            test_signal test_select test_poll test_os test_threading test_socketserver
#            (Debian's libpython3.11-testsuite; AF_VSOCK cases excluded: they hang here
#            without anypoll too)
#   libuv    libuv's own runner (Debian's source of libuv1, `apt-get source`; needs a
#            deb-src line in the apt sources, see docs/dropin.md)
#   libevent libevent's regress with only the epoll backend allowed, with and without
#            EVENT_EPOLL_USE_CHANGELIST (Debian's source of libevent)
#
#   scripts/external-suites.sh [--work DIR] [SUITE...]      (default: all three; DIR: build/external)
#   EXTERNAL_WAYS="plain poll nosys" scripts/external-suites.sh python   (some ways only; plain
#   is the baseline the others are judged against)
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
WORK=$ROOT/build/external
SUITES=()
while [ $# -gt 0 ]; do
    case $1 in
    --work) WORK=$2 && shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
    python | libuv | libevent) SUITES+=("$1") && shift ;;
    *) echo "usage: $0 [--work DIR] [python|libuv|libevent]..." >&2 && exit 2 ;;
    esac
done
[ ${#SUITES[@]} -gt 0 ] || SUITES=(python libuv libevent)
AP=$ROOT/build/anypoll
[ -x "$AP" ] && [ -f "$ROOT/build/libanypoll.so" ] || { echo "external: run make first" >&2; exit 2; }
mkdir -p "$WORK/logs" && rm -f "$WORK/logs/"*.note
LOGS=$WORK/logs
read -ra WAYS <<<"${EXTERNAL_WAYS:-plain native poll nosys nosys-bare}"
STATUS=0

prefix() { # the command words that put a suite on way $1
    case $1 in
    plain) ;;
    native) echo "$AP run --engine native --" ;;
    poll) echo "$AP run --engine poll --" ;;
    nosys) echo "$AP run --nosys --" ;;
    nosys-bare) echo "$AP nosys --" ;;
    esac
}

# judge SUITE: compares each way's failed cases ($LOGS/SUITE-WAY.failed, one name a line, and
# $LOGS/SUITE-WAY.total) with the plain run's; prints one line a way.
judge() {
    local s=$1 w extra plain_total
    plain_total=$(cat "$LOGS/$s-plain.total" 2>/dev/null || echo 0)
    for w in "${WAYS[@]}"; do
        local total failed
        total=$(cat "$LOGS/$s-$w.total" 2>/dev/null || echo 0)
        failed=$(grep -c . "$LOGS/$s-$w.failed" 2>/dev/null || true)
        if [ "$w" = plain ]; then
            printf '%-19s %-10s %5s cases, %3s failed here without anypoll: %s\n' "$s" "$w" "$total" \
                "$failed" "$(tr '\n' ' ' <"$LOGS/$s-$w.failed" | cut -c1-120)"
            continue
        fi
        local flaky="" c i
        extra=""
        while IFS= read -r c; do
            [ -n "$c" ] || continue
            for i in 1 2 3; do
                if [ "$w" != nosys-bare ] && ! "recheck_${s%%-*}" "$s" "$c" >"$LOGS/$s-recheck.log" 2>&1; then
                    flaky="$flaky$c; "
                    continue 2
                fi
            done
            extra="$extra$c; "
        done < <(comm -23 <(sort -u "$LOGS/$s-$w.failed") <(sort -u "$LOGS/$s-plain.failed"))
        [ -z "$flaky" ] || flaky=" (failed here alone without anypoll too: ${flaky%; })"
        if [ "$w" = nosys-bare ]; then
            if [ "$failed" -gt 0 ] || [ "$total" -eq 0 ]; then
                printf '%-19s %-10s fails as it must: %s of %s cases fail%s\n' "$s" "$w" "$failed" "$total" \
                    "$(sed 's/^/: /' "$LOGS/$s-$w.note" 2>/dev/null)"
            else
                printf '%-19s %-10s FAIL: passed without anypoll (the simulation does not bite)\n' "$s" "$w"
                STATUS=1
            fi
        elif [ "$total" -ne "$plain_total" ]; then
            printf '%-19s %-10s FAIL: %s cases ran, plain ran %s; failed beyond plain: %s\n' "$s" "$w" \
                "$total" "$plain_total" "${extra:-none}"
            STATUS=1
        elif [ "$total" -eq 0 ] || [ -n "$extra" ]; then
            printf '%-19s %-10s FAIL: %s cases; failed beyond plain: %s\n' "$s" "$w" "$total" "${extra:-the run itself}"
            STATUS=1
        else
            printf '%-19s %-10s ok: %s cases, nothing failed that passed plain%s\n' "$s" "$w" "$total" "$flaky"
        fi
    done
}

# --- python ------------------------------------------------------------------------------
PY_TESTS=(test_asyncio test_selectors test_epoll test_socket test_subprocess test_signal
    test_select test_poll test_os test_threading test_socketserver)
suite_python() {
    local py=/usr/bin/python3 w
    "$py" -c 'import test.test_epoll' 2>/dev/null ||
        { echo "python: Debian's libpython3-testsuite is not installed" >&2; return 2; }
    for w in "${WAYS[@]}"; do
        local log=$LOGS/python-$w.log
        # shellcheck disable=SC2046
        timeout -k 10 1800 $(prefix "$w") "$py" -m test -u network -v -i '*VSOCK*' "${PY_TESTS[@]}" >"$log" 2>&1
        awk '/^Ran [0-9]+ tests? in/ { n += $2 } END { print n + 0 }' "$log" >"$LOGS/python-$w.total"
        # unittest's own report of each failed case, and a test file that died before reporting
        { grep -E '^(ERROR|FAIL): ' "$log" | sed -E 's/^[A-Z]+: //'
          grep -oE 'test_[a-z_0-9]+ (crashed|timed out)' "$log"; } | sort -u >"$LOGS/python-$w.failed"
        grep -q 'Errno 38' "$log" && echo "OSError: [Errno 38] Function not implemented" >"$LOGS/python-$w.note"
    done
    judge python
}
recheck_python() { # SUITE "name (test.FILE.Class.name)": that case alone, without anypoll
    local id=${2#*\(}
    id=${id%\)}
    local file=${id#test.}
    /usr/bin/python3 -m test -u network -v "${file%%.*}" -m "$id"
}

# --- Debian sources ----------------------------------------------------------------------
debian_source() { # fetch and unpack Debian's source of package $1 into $WORK/src/$1
    local pkg=$1 dir=$WORK/src/$1
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir" && (cd "$dir" && apt-get source -qq "$pkg" >"$LOGS/$pkg-source.log" 2>&1) || {
            echo "$pkg: apt-get source failed (a deb-src line is needed: docs/dropin.md)" >&2
            rm -rf "$dir"
            return 2
        }
    fi
    find "$dir" -mindepth 1 -maxdepth 1 -type d | head -1
}

# --- libuv -------------------------------------------------------------------------------
suite_libuv() {
    local src bld=$WORK/libuv-build w
    src=$(debian_source libuv1) || return 2
    if [ ! -x "$bld/uv_run_tests" ]; then
        cmake -S "$src" -B "$bld" -DLIBUV_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            >"$LOGS/libuv-build.log" 2>&1 && make -C "$bld" -j2 uv_run_tests >>"$LOGS/libuv-build.log" 2>&1 ||
            { echo "libuv: build failed ($LOGS/libuv-build.log)" >&2; return 2; }
    fi
    LIBUV_SRC=$src
    for w in "${WAYS[@]}"; do
        # shellcheck disable=SC2046
        libuv_run $(prefix "$w") "$bld/uv_run_tests" >"$LOGS/libuv-$w.tap" 2>&1
        grep -cE '^(not )?ok [0-9]+ ' "$LOGS/libuv-$w.tap" >"$LOGS/libuv-$w.total"
        grep -E '^not ok [0-9]+ - ' "$LOGS/libuv-$w.tap" | sed -E 's/^not ok [0-9]+ - //; s/ .*//' >"$LOGS/libuv-$w.failed"
        grep -q 'uv_loop_init' "$LOGS/libuv-$w.tap" && echo "uv_loop_init failed (ENOSYS)" >"$LOGS/libuv-$w.note"
    done
    judge libuv
}
# libuv_run CMD...: in a fresh directory holding the fixtures, as nobody when root (the runner
# refuses root)
libuv_run() {
    local user=() run=$WORK/libuv-run
    [ "$(id -u)" = 0 ] && user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    rm -rf "$run" && mkdir -p "$run/test" && cp -a "$LIBUV_SRC/test/fixtures" "$run/test/"
    [ ${#user[@]} = 0 ] || chown -R 65534:65534 "$run" # its cases change the times of "."
    (cd "$run" && HOME=$run UV_TEST_TIMEOUT_MULTIPLIER=2 timeout -k 10 1200 "${user[@]}" "$@")
}
recheck_libuv() { libuv_run "$WORK/libuv-build/uv_run_tests" "$2"; }

# --- libevent ----------------------------------------------------------------------------
suite_libevent() {
    local src bld=$WORK/libevent-build w name
    src=$(debian_source libevent) || return 2
    if [ ! -x "$bld/bin/regress" ]; then
        cmake -S "$src" -B "$bld" -DEVENT__DISABLE_OPENSSL=ON -DEVENT__DISABLE_MBEDTLS=ON \
            -DEVENT__DISABLE_BENCHMARK=ON -DEVENT__DISABLE_SAMPLES=ON -DEVENT__LIBRARY_TYPE=SHARED \
            >"$LOGS/libevent-build.log" 2>&1 && make -C "$bld" -j2 regress >>"$LOGS/libevent-build.log" 2>&1 ||
            { echo "libevent: build failed ($LOGS/libevent-build.log)" >&2; return 2; }
    fi
    for name in libevent libevent-changelist; do
        for w in "${WAYS[@]}"; do
            local log=$LOGS/$name-$w.log
            # shellcheck disable=SC2046
            libevent_run "$name" $(prefix "$w") ./bin/regress --timeout 60 >"$log" 2>&1
            # a case starts with "group/name: " and fails with "[name FAILED]" on a later line
            awk -v total="$LOGS/$name-$w.total" '
                /^[a-z_0-9]+\/[A-Za-z_0-9\/]+: / { cur = $1; sub(/:$/, "", cur); if (!(cur in seen)) n++; seen[cur] = 1 }
                /\[[A-Za-z_0-9]+ FAILED\]/ && cur != "" && !(cur in bad) { bad[cur] = 1; print cur }
                END { print n + 0 > total }' "$log" >"$LOGS/$name-$w.failed"
            grep -q 'no event mechanism available' "$log" && echo "no event mechanism available" >"$LOGS/$name-$w.note"
            # every base but those main/methods and main/base_environ make on purpose is epoll
            local want='epoll$' label=epoll
            [ "$name" = libevent-changelist ] && want='epoll \(with changelist\)$' label='epoll with changelist'
            if [ "$w" != nosys-bare ] && ! grep -qE "\[msg\] libevent using: $want" "$log"; then
                printf '%-19s %-10s FAIL: no event base used %s\n' "$name" "$w" "$label"
                STATUS=1
            fi
        done
        judge "$name"
    done
}
# libevent_run SUITE CMD...: epoll the only backend allowed; SUITE libevent-changelist with
# EVENT_EPOLL_USE_CHANGELIST
libevent_run() {
    local cl=
    [ "$1" = libevent-changelist ] && cl=1
    shift
    (cd "$WORK/libevent-build" && export EVENT_NOSELECT=1 EVENT_NOPOLL=1 EVENT_NODEVPOLL=1 EVENT_NOKQUEUE=1 \
        EVENT_SHOW_METHOD=1 &&
        if [ -n "$cl" ]; then export EVENT_EPOLL_USE_CHANGELIST=1; else unset EVENT_EPOLL_USE_CHANGELIST; fi &&
        timeout -k 10 2400 "$@")
}
recheck_libevent() { libevent_run "$1" ./bin/regress --timeout 60 "$2"; }

for s in "${SUITES[@]}"; do
    "suite_$s" || STATUS=1
done
echo "external: logs in $LOGS"
[ $STATUS = 0 ] && echo "external: ok" || echo "external: FAILED"
exit $STATUS
