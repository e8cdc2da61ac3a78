# tests/check.d/50-reliability.sh — the reliability steps of issue 4 (docs/reliability.md): the
# differential fuzzer, the API fuzzer, the lost wake-up stress and the fault injector, each on a
# bounded budget (about 2-3 minutes in all on an idle machine; `make soak` runs them long).
# Sourced by tests/check.sh (helpers: why, need_tool, t, build, run).

# fuzz_build DIR MAKE-ARGS... — the library build of DIR (shared with the other steps), then
# the reliability programs into DIR/fuzz.
fuzz_build() {
    local dir=$1 log=$LOG/make-fuzz-${1//\//-}.log
    shift
    build "$dir" "$@" || return 1
    echo "+ $MAKE BUILD=$dir $* fuzz-tools  (output: $log)"
    t "$MAKE" -j"$JOBS" BUILD="$dir" "$@" fuzz-tools >"$log" 2>&1 || {
        cat "$log"
        why "make fuzz-tools failed in $dir"
        return 1
    }
}
fuzz_native() { need_tool "${CC:-cc}" && fuzz_build build; }
fuzz_asan() { need_tool "$SAN_CC" && fuzz_build build/asan CC="$SAN_CC" EXTRA_CFLAGS="$SAN_FLAGS" EXTRA_LDFLAGS="$SAN_FLAGS"; }
fuzz_tsan() { need_tool "$SAN_CC" && fuzz_build build/tsan CC="$SAN_CC" EXTRA_CFLAGS="$TSAN_FLAGS" EXTRA_LDFLAGS="$TSAN_FLAGS"; }

# rel_run CLOSING-REGEX CMD... — runs CMD, passes when it exits 0, prints CLOSING-REGEX's line and
# no sanitizer or valgrind report; REL_OUT keeps the output for the figures.
REL_OUT=
rel_run() {
    local want=$1 rc=0 report
    shift
    echo "+ $*"
    # through a file the heartbeat can read while it runs (fuzz_diff_progress)
    local live=$LOG/${STEP:-reliability}.out
    t "$@" >"$live" 2>&1 || rc=$?
    REL_OUT=$(<"$live")
    printf '%s\n' "$REL_OUT" | grep -v '^\.\.\. ' || true # (progress lines left out)
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        why "timed out: $*"
        return 1
    fi
    report=$(printf '%s\n' "$REL_OUT" | grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer|ThreadSanitizer: |ERROR SUMMARY: [1-9]|Process terminating with|definitely lost in [1-9]|^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param)' || true)
    if [ -n "$report" ]; then
        why "report: $report"
        return 1
    fi
    if [ $rc -ne 0 ] || ! grep -qE "$want" <<<"$REL_OUT"; then
        why "exit $rc; $(printf '%s\n' "$REL_OUT" | grep -E 'DIVERGENCE|STALL|FAIL|api_fuzz:|faults .*: ' | head -n 1)"
        return 1
    fi
}
# The figure lines of the last run, joined.
figures() { printf '%s\n' "$REL_OUT" | grep -E "$1" | sed -E "$2" | paste -sd ';' -; }

# The heartbeat's progress of a differential fuzzer step: its last `... N/M sequences, K ops`.
fuzz_diff_progress() {
    local l
    l=$(grep '^\.\.\. ' "$LOG/$1.out" | tail -n 1)
    printf '%s' "${l#... }"
}

step_fuzz_diff() { # DIR SEQS [wrapper...]: the differential fuzzer, kernel vs native and poll
    local dir=$1 seqs=$2 extra=()
    shift 2
    case $dir in build/asan) fuzz_asan ;; *) fuzz_native ;; esac || return 1
    [ "${1:-}" = valgrind ] && extra=(--valgrind) # no calls valgrind cannot check or does not know
    rel_run '^diff: ok$' "$@" "$dir/fuzz/diff" --verbose --seqs "$seqs" --ops 200 --seed "${FUZZ_SEED:-1}" "${extra[@]}" || return 1
    why "$(figures '^diff (native|poll):' 's/ sequences, / seqs, /; s/, [0-9]+ waits, [0-9]+ kernel events//; s/known limits: //')"
}

step_fuzz_posix_aids() { # SEQS: the differential fuzzer on the poll engine with the plain-POSIX
    # host aids (ANYPOLL_HOST_AIDS=posix), their two gaps (docs/design.md, "Host aids") declared
    # and counted apart by --posix-aids, every other difference a divergence
    fuzz_native || return 1
    rel_run '^diff: ok$' build/fuzz/diff --verbose --seqs "$1" --ops 200 --seed "${FUZZ_SEED:-1}" --engines poll --posix-aids || return 1
    why "$(figures '^diff poll:' 's/ sequences, / seqs, /; s/, [0-9]+ waits, [0-9]+ kernel events//; s/known limits: //')"
}

step_fuzz_api() { # SECONDS: libFuzzer over every entry point, errno compared with the kernel's
    local secs=$1 work
    need_tool clang || return 1
    echo "+ $MAKE fuzz-build (api_fuzz)"
    t "$MAKE" -j"$JOBS" build/fuzz/api_fuzz >"$LOG/make-api-fuzz.log" 2>&1 || {
        cat "$LOG/make-api-fuzz.log"
        why "build of build/fuzz/api_fuzz failed"
        return 1
    }
    work=$(mktemp -d)
    local e out=() rc=0
    for e in poll native; do
        mkdir -p "$work/$e"
        ANYPOLL_FUZZ_ENGINE=$e rel_run 'Done [0-9]+ runs' build/fuzz/api_fuzz -max_total_time="$secs" \
            -max_len=512 -timeout=10 -rss_limit_mb=1024 -artifact_prefix="$work/" "$work/$e" tests/fuzz/corpus || rc=1
        out+=("$e $(printf '%s\n' "$REL_OUT" | grep -oE 'Done [0-9]+ runs' | tail -n 1)")
        [ $rc -eq 0 ] || break
    done
    ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null && rc=1
    rm -rf "$work"
    [ $rc -eq 0 ] || return 1
    why "no difference from the kernel, no crash, leak or hang: $(IFS=';'; echo "${out[*]}")"
}

step_stress() { # DIR UNITS ENGINE... [-- wrapper...]
    local dir=$1 units=$2 e f=()
    shift 2
    local engines=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do engines+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    case $dir in build/tsan) fuzz_tsan ;; build/asan) fuzz_asan ;; *) fuzz_native ;; esac || return 1
    for e in "${engines[@]}"; do
        rel_run '^stress: ok$' "$@" "$dir/fuzz/stress" --engine "$e" --units "$units" --stall 120 || return 1
        f+=("$(figures '^stress [a-z]+:' 's/^stress ([a-z]+): .* ([0-9]+) ops: wake-ups sent ([0-9]+), received ([0-9]+), lost ([0-9]+).*/\1 \2 ops, sent \3, received \4, lost \5/')")
    done
    why "$(IFS=';'; echo "${f[*]}")"
}

step_faults() { # DIR ROUNDS PARTS [wrapper...]
    local dir=$1 rounds=$2 parts=$3
    shift 3
    case $dir in build/tsan) fuzz_tsan ;; build/asan) fuzz_asan ;; *) fuzz_native ;; esac || return 1
    rel_run '^faults: ok$' "$@" "$dir/fuzz/faults" --rounds "$rounds" --parts "$parts" || return 1
    why "$parts: $(figures '^faults [a-z]+: faults injected' 's/^faults ([a-z]+): faults injected ([0-9]+), survived ([0-9]+)/\1 \2 injected, \3 survived/')"
}

for _s in fuzz-diff fuzz-posix-aids fuzz-asan fuzz-valgrind; do PROGRESS[$_s]=fuzz_diff_progress; done
run fuzz-diff "differential fuzzer vs the kernel" step_fuzz_diff build 1800
run fuzz-posix-aids "differential fuzzer vs the kernel, plain-POSIX host aids" step_fuzz_posix_aids 300
run fuzz-api "libFuzzer, every entry point" step_fuzz_api 20
run fuzz-stress "lost wake-up stress" step_stress build 30000 kernel native poll
run fuzz-faults "EMFILE, ENOMEM, signals, fork" step_faults build 30000 emfile,malloc,signals,fork
run fuzz-asan "ASan+UBSan: differential fuzzer" step_fuzz_diff build/asan 60
run fuzz-asan-stress "ASan+UBSan: stress" step_stress build/asan 10000 native poll
run fuzz-asan-faults "ASan+UBSan: faults (not malloc)" step_faults build/asan 10000 emfile,signals,fork
run fuzz-tsan "TSan: stress" step_stress build/tsan 5000 native poll
run fuzz-tsan-faults "TSan: faults (not malloc)" step_faults build/tsan 5000 emfile,signals,fork
run fuzz-valgrind "valgrind: differential fuzzer" step_fuzz_diff build 15 valgrind -q --error-exitcode=1 --leak-check=full
run fuzz-valgrind-stress "valgrind: stress" step_stress build 2000 poll -- valgrind -q --error-exitcode=1 --leak-check=full
# (valgrind keeps fds of its own at the top of the table: the EMFILE part cannot run under it)
run fuzz-valgrind-faults "valgrind: signals, fork" step_faults build 2000 signals,fork valgrind -q --error-exitcode=1 --leak-check=full
