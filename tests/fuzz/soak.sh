#!/usr/bin/env bash
# tests/fuzz/soak.sh BUILD — `make soak`: the reliability programs (docs/reliability.md) run long,
# one after the other, each printing its figures; the last line is `soak: ok` or `soak: FAIL`.
#   SOAK_SEQS (differential sequences of 200 ops, default 5500: 1.1 million ops per engine),
#   SOAK_UNITS (stress units per writer, default 350000), SOAK_API_SECS (libFuzzer seconds per
#   engine, default 300), SOAK_FAULT_ROUNDS (default 50000), FUZZ_SEED (default: the date).
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
SEED=${FUZZ_SEED:-$(date +%Y%m%d)000}
bad=0
step() {
    echo "== $*"
    local start=$SECONDS
    "$@" || bad=1
    echo "== $((SECONDS - start)) s"
}
step "$B/fuzz/diff" --seqs "${SOAK_SEQS:-5500}" --ops 200 --seed "$SEED" --verbose
for e in native poll; do
    step "$B/fuzz/stress" --engine "$e" --units "${SOAK_UNITS:-350000}" --writers 3 --waiters 2 --stall 300
done
step "$B/fuzz/faults" --rounds "${SOAK_FAULT_ROUNDS:-50000}"
if [ -x "$B/fuzz/api_fuzz" ]; then
    work=$(mktemp -d)
    for e in poll native; do
        mkdir -p "$work/$e"
        ANYPOLL_FUZZ_ENGINE=$e step "$B/fuzz/api_fuzz" -max_total_time="${SOAK_API_SECS:-300}" -max_len=1024 \
            -timeout=10 -artifact_prefix="$work/" -print_final_stats=1 "$work/$e" tests/fuzz/corpus
    done
    if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null; then bad=1; fi
    rm -rf "$work"
else
    echo "== api_fuzz not built (needs clang): skipped, soak fails" && bad=1
fi
echo "soak: $([ $bad -eq 0 ] && echo ok || echo FAIL)"
exit $bad
