# tests/check.d/60-bench.sh — smoke test of the benchmark programs (issue 5; room: bench/).
# Each program runs once per contender with tiny sizes and a fixed number of operations; the
# step passes when every run exits 0 and prints a `result` line that parses with ops > 0.
# No timing is asserted: `make bench` measures, this only proves the pipeline works.

bench_result_ok() { # OUTPUT — the result line has ops=N>0 and a ns_per_op figure
    grep -qE '^result bench=[a-z]+ contender=[a-z]+ .*ops=[1-9][0-9]* wall_s=[0-9.]+ cpu_s=[0-9.]+ ns_per_op=[0-9.]+ ops_per_s=[0-9.]+' <<<"$1"
}

step_bench_smoke() {
    need_tool "${CC:-cc}" || return 1
    if ! [ -e /usr/include/event2/event.h ] || ! [ -e /usr/include/ev.h ]; then
        why "libevent-dev or libev-dev missing (scripts/deps.sh check installs them)"
        return 1
    fi
    echo "+ $MAKE -j$JOBS bench-programs"
    t "$MAKE" -j"$JOBS" bench-programs || {
        why "make bench-programs failed"
        return 1
    }
    local c p out rc runs=0 bad=()
    local progs=("pingpong --iters 50 --warmup 5" "pipechain --n 20 --a 2 --iters 5 --warmup 1"
        "idle --n 50 --iters 50 --warmup 5" "churn --k 8 --iters 300 --warmup 30")
    for c in epoll native poll bare libevent libev; do
        for p in "${progs[@]}"; do
            rc=0
            # shellcheck disable=SC2086 # the options are words
            out=$(t build/bench/$p --contender "$c" 2>&1) || rc=$?
            printf '%s\n' "+ build/bench/$p --contender $c" "$out"
            runs=$((runs + 1))
            if [ $rc -ne 0 ] || ! bench_result_ok "$out"; then bad+=("${p%% *}/$c (exit $rc)"); fi
        done
        # the HTTP server: two requests on one keep-alive connection, then it exits (--iters 2)
        rc=0
        out=$(bench_httpd_smoke "$c" 2>&1) || rc=$?
        printf '%s\n' "+ build/bench/httpd --contender $c --iters 2" "$out"
        runs=$((runs + 1))
        if [ $rc -ne 0 ] || ! bench_result_ok "$out"; then bad+=("httpd/$c (exit $rc)"); fi
    done
    if [ ${#bad[@]} -ne 0 ]; then
        why "${#bad[@]} of $runs runs failed: ${bad[*]}"
        return 1
    fi
    why "$runs runs (5 programs x 6 contenders), each completed with a parsable result line"
}

bench_httpd_smoke() { # CONTENDER
    local fifo port line pid rc=0 n=0
    fifo=$(mktemp -u) && mkfifo "$fifo"
    t build/bench/httpd --contender "$1" --iters 2 --m 10 >"$fifo" &
    pid=$!
    exec 4<"$fifo"
    rm -f "$fifo"
    read -r -t 30 line <&4 || true
    port=${line#listening port=}
    if [[ $port =~ ^[0-9]+$ ]] && exec 5<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' >&5
        # the server exits after its second response, which ends the stream
        n=$(t cat <&5 | grep -o 'HTTP/1.1 200 OK' | wc -l) || true
        exec 5<&-
    fi
    wait $pid || rc=$?
    cat <&4
    exec 4<&-
    echo "responses: $n"
    [ "$rc" -eq 0 ] && [ "$n" -eq 2 ]
}

run bench-smoke "benchmark programs: every workload x contender once, tiny sizes" step_bench_smoke
