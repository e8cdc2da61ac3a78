# tests/check.d/33-static.sh — fully static programs with the drop-in linked in, per libc
# (sourced by tests/check.sh). Room: the drop-in. The programs are mk/static.mk's, each linked by
# the link line docs/dropin.md documents for its libc ("Static binaries").
#
#   static-build           make static-tests: every program `file` calls "statically linked",
#                          each defines the drop-in's epoll_ctl and its libc's marker
#   static-glibc-native|nosys  the suite's kernel target, gcc -static with glibc's libc.a:
#   static-musl-native|nosys   ... musl-gcc -static with musl's libc.a; natively (every process
#                          on the native engine) and under `anypoll nosys` (the poll engine;
#                          TEST_EMULATION_GAP cases left out and counted, as in 29-dropin.sh)
#   static-echo-glibc|musl examples/echo.c written with the standard names, natively and under
#                          nosys, the engine each run used (ANYPOLL_REPORT) checked
#   static-syscall-glibc|musl  tests/dropin/syscall.c: syscall() by number (eventfd2, epoll_*,
#                          read, write, close) served by anypoll, io_uring_setup ENOSYS, other
#                          numbers to the kernel; natively and under nosys, engine checked
#   static-guard           the link line's guard: without the drop-in, with the other libc's
#                          archive, or with libc's own definitions pulled in first, the link
#                          fails; the same program linked statically without anypoll dies of
#                          ENOSYS under nosys (what the guard prevents)
#   static-rust-build      make clients-rust-static: tests/clients/rust-static, cargo with
#                          RUSTFLAGS=+crt-static and bindings/rust/anypoll-link, offline
#   static-rust-guard      tests/clients/rust-static/guard, a binary that lists the crate but
#                          never names it, must fail to link (the RUSTFLAGS guard)
#   static-rust-tokio-http|tokio-echo|reqwest   each natively and under nosys, as the echo

STATIC_PROGRAMS='glibc/conformance glibc/echo glibc/syscall musl/conformance musl/echo musl/syscall'
STATIC_BUILT=

static_build() {
    build_native || return 1
    need_tool musl-gcc || return 1
    case $STATIC_BUILT in
    ok) return 0 ;;
    failed)
        why "make static-tests failed (see $LOG/make-static.log)"
        return 1
        ;;
    esac
    echo "+ $MAKE BUILD=build static-tests  (output: $LOG/make-static.log)"
    if t "$MAKE" -j"$JOBS" BUILD=build static-tests >"$LOG/make-static.log" 2>&1; then
        STATIC_BUILT=ok
        return 0
    fi
    STATIC_BUILT=failed
    cat "$LOG/make-static.log"
    why "make static-tests failed: $(grep -m1 -E 'not installed:|error|undefined symbol|multiple definition' "$LOG/make-static.log")"
    return 1
}

# static_is_static FILE MARKER — `file` says statically linked; the drop-in is in, for MARKER's libc
static_is_static() {
    local f=$1 marker=$2 desc syms
    desc=$(file -b "$f")
    echo "$f: $desc"
    case $desc in
    *"statically linked"*) ;;
    *)
        why "$f is not statically linked: $desc"
        return 1
        ;;
    esac
    syms=$(nm "$f")
    grep -qE " [RDT] $marker\$" <<<"$syms" && grep -qE ' T epoll_ctl$' <<<"$syms" || {
        why "$f does not carry the drop-in ($marker, epoll_ctl)"
        return 1
    }
}

step_static_build() {
    static_build || return 1
    local p
    for p in $STATIC_PROGRAMS; do
        static_is_static "build/static/$p" "anypoll_dropin_${p%%/*}" || return 1
    done
    # nothing recurses: no libc function the library calls reaches a drop-in name (libc_reach.py)
    need_tool python3 || return 1
    local libc objs a out reach=()
    for libc in glibc musl; do
        objs=build/obj/lib a=$(cc -print-file-name=libc.a)
        # musl-gcc is gcc with musl's specs file, in the directory of musl's libc.a
        [ $libc = glibc ] || objs=build/musl/obj/lib a=$(sed -n 's|.*-specs "\(.*\)/musl-gcc.specs".*|\1/libc.a|p' "$(command -v musl-gcc)")
        echo "+ libc_reach.py $a (the library's objects in $objs, the drop-in's left out)"
        # shellcheck disable=SC2046 # one word per object file
        out=$(t python3 tests/dropin/libc_reach.py "$a" "$DROPIN_NAMES" \
            $(find "$objs" -name '*.o' ! -path '*/dropin/*' | sort)) || {
            printf '%s\n' "$out"
            why "$libc: a libc function the library calls reaches a drop-in name (recursion; see log)"
            return 1
        }
        printf '%s\n' "$out"
        reach+=("$libc $(sed -n 's/.*: \([0-9]*\) members.*/\1/p' <<<"$out")")
    done
    why "glibc (gcc -static) and musl (musl-gcc -static): conformance, echo and syscall, each 'statically linked' with the drop-in; libc members the library reaches, none calling a drop-in name: ${reach[0]}, ${reach[1]}"
}

step_static_suite() { # LIBC native|nosys
    static_build || return 1
    local bin=build/static/$1/conformance report=$(pwd)/$LOG/static-$1-$2.report
    static_is_static "$bin" "anypoll_dropin_$1" || return 1
    if [ "$2" = nosys ]; then
        dropin_suite poll "$report" build/anypoll nosys -- "$bin"
    else
        dropin_suite native "$report" "$bin"
    fi
}

# static_ways LABEL OK-PATTERN BIN... — BIN natively and under nosys: each run exits 0, prints
# OK-PATTERN, and every process reports the engine of the way (ANYPOLL_REPORT); STATIC_SUMMARY
# says so, with the program's own last line
static_ways() {
    local label=$1 pattern=$2 w report out rc engine
    shift 2
    STATIC_SUMMARY=
    for w in native nosys; do
        report=$(pwd)/$LOG/$label-$w.report
        rm -f "$report"
        local cmd=("$@")
        [ $w = nosys ] && cmd=(build/anypoll nosys -- "$@")
        echo "+ ANYPOLL_REPORT=$report ${cmd[*]}"
        rc=0
        out=$(ANYPOLL_REPORT=$report t "${cmd[@]}" 2>&1) || rc=$?
        printf '%s\n' "$out"
        cat "$report" 2>/dev/null || true
        [ $rc -eq 0 ] && grep -q -- "$pattern" <<<"$out" || {
            why "$w: ${cmd[*]} exited $rc: $(tail -n 1 <<<"$out")"
            return 1
        }
        engine=$([ $w = nosys ] && echo poll || echo native)
        grep -q "engine $engine " "$report" 2>/dev/null && ! grep -v "engine $engine " "$report" | grep -q . || {
            why "$w: passed, but ANYPOLL_REPORT does not say engine $engine for every process: $(head -n 1 "$report" 2>/dev/null)"
            return 1
        }
        STATIC_SUMMARY="$STATIC_SUMMARY; $w: engine $engine"
    done
    STATIC_SUMMARY="${STATIC_SUMMARY#; } — $(tail -n 1 <<<"$out")"
}

step_static_program() { # LIBC PROGRAM OK-PATTERN — build/static/LIBC/PROGRAM, both ways
    static_build || return 1
    local bin=build/static/$1/$2
    static_is_static "$bin" "anypoll_dropin_$1" || return 1
    static_ways "static-$2-$1" "$3" "$bin" || return 1
    # (echo's "engine" is the stand-in header's label for the standard names: the report is the truth)
    why "${STATIC_SUMMARY/echo: engine glibc (no anypoll), /}"
}

RUST_STATIC_BUILT=
rust_static_build() {
    build_native || return 1
    case $RUST_STATIC_BUILT in
    ok) return 0 ;;
    failed)
        why "make clients-rust-static failed (see $LOG/make-rust-static.log)"
        return 1
        ;;
    esac
    echo "+ $MAKE BUILD=build clients-rust-static  (output: $LOG/make-rust-static.log)"
    if t "$MAKE" BUILD=build clients-rust-static >"$LOG/make-rust-static.log" 2>&1; then
        RUST_STATIC_BUILT=ok
        return 0
    fi
    RUST_STATIC_BUILT=failed
    cat "$LOG/make-rust-static.log"
    why "make clients-rust-static failed: $(grep -m1 -E 'not installed:|error' "$LOG/make-rust-static.log")"
    return 1
}
RUST_STATIC_DIR=build/clients/rust-static/$(uname -m)-unknown-linux-gnu/release

step_static_rust_build() {
    rust_static_build || return 1
    local b
    for b in tokio-http tokio-echo reqwest-get; do
        static_is_static "$RUST_STATIC_DIR/$b" anypoll_dropin_glibc || return 1
    done
    why "cargo +crt-static with bindings/rust/anypoll-link: tokio-http, tokio-echo, reqwest-get, each 'statically linked' with the drop-in"
}

step_static_rust_guard() { # a binary that lists anypoll-link but never names it must not link
    build_native || return 1
    local out rc=0
    echo "+ $MAKE rust-static-guard (must fail)"
    out=$(t "$MAKE" BUILD=build rust-static-guard 2>&1) || rc=$?
    printf '%s\n' "$out"
    if [ $rc -eq 0 ]; then
        why "tests/clients/rust-static/guard linked without anypoll: the RUSTFLAGS guard did not hold"
        return 1
    fi
    grep -qE "(symbol not found|undefined symbol \`?): ?'?anypoll_dropin_glibc" <<<"$out" || {
        why "the guard binary failed to build, but not on the missing drop-in: $(grep -m1 error <<<"$out")"
        return 1
    }
    why "a +crt-static binary that lists anypoll-link without naming it fails to link: $(grep -m1 -oE '(symbol not found|undefined symbol)[^\n]*anypoll_dropin_glibc[^ ]*' <<<"$out")"
}

step_static_rust() { # BIN OK-PATTERN
    rust_static_build || return 1
    static_is_static "$RUST_STATIC_DIR/$1" anypoll_dropin_glibc || return 1
    static_ways "static-rust-$1" "$2" "$RUST_STATIC_DIR/$1" || return 1
    why "$STATIC_SUMMARY"
}

# static_link_fails WHAT PATTERN CMD... — CMD (a link) must fail, saying PATTERN
static_link_fails() {
    local what=$1 pattern=$2 out rc=0
    shift 2
    echo "+ $*"
    out=$(t "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v 'first defined here' | head -n 6
    if [ $rc -eq 0 ]; then
        why "$what: the link succeeded (the program would bypass anypoll)"
        return 1
    fi
    grep -q -- "$pattern" <<<"$out" || {
        why "$what: the link failed, but not with '$pattern'"
        return 1
    }
}

step_static_guard() {
    static_build || return 1
    local dir=$LOG/static-guard src=examples/echo.c inc=-Itests/clients/glibc
    mkdir -p "$dir"
    local wa=(-Wl,--whole-archive) nwa=(-Wl,--no-whole-archive)
    local g=anypoll_dropin_glibc m=anypoll_dropin_musl
    static_link_fails "glibc, libanypoll-prefixed.a (no drop-in)" "undefined symbol \`$g' referenced in expression" \
        cc -static -o "$dir/a" $inc $src "${wa[@]}" build/libanypoll-prefixed.a "${nwa[@]}" -Wl,--defsym=anypoll_guard=$g -pthread || return 1
    static_link_fails "musl, libanypoll.a built for glibc" "undefined symbol \`$m' referenced in expression" \
        musl-gcc -static -o "$dir/b" $inc $src "${wa[@]}" build/libanypoll.a "${nwa[@]}" -Wl,--defsym=anypoll_guard=$m -pthread || return 1
    static_link_fails "glibc, libanypoll.a built for musl" "undefined symbol \`$g' referenced in expression" \
        cc -static -o "$dir/c" $inc $src "${wa[@]}" build/musl/libanypoll.a "${nwa[@]}" -Wl,--defsym=anypoll_guard=$g -pthread || return 1
    static_link_fails "glibc, libc.a searched before the drop-in" "multiple definition of \`epoll_ctl'" \
        cc -static -o "$dir/d" $inc $src -lc "${wa[@]}" build/libanypoll.a "${nwa[@]}" -Wl,--defsym=anypoll_guard=$g -pthread || return 1
    static_link_fails "musl, libc.a searched before the drop-in" "multiple definition of \`epoll_ctl'" \
        musl-gcc -static -o "$dir/e" $inc $src -lc "${wa[@]}" build/musl/libanypoll.a "${nwa[@]}" -Wl,--defsym=anypoll_guard=$m -pthread || return 1
    # what the guard is for: the same program, static, no anypoll, on a host without epoll
    local out rc=0
    echo "+ cc -static echo.c (no anypoll); anypoll nosys -- it"
    t cc -static -o "$dir/bare" $inc $src -pthread || {
        why "cannot link the bare static echo"
        return 1
    }
    out=$(t build/anypoll nosys -- "$dir/bare" 2>&1) || rc=$?
    printf '%s\n' "$out"
    [ $rc -ne 0 ] && grep -q 'Function not implemented' <<<"$out" || {
        why "control: static echo without anypoll under nosys exited $rc without ENOSYS: $(tail -n 1 <<<"$out")"
        return 1
    }
    why "link fails without the drop-in, with the other libc's archive (glibc<->musl), with libc first (glibc, musl); without anypoll the static echo dies of ENOSYS under nosys"
}

run static-build "static programs (glibc, musl)" step_static_build
run static-glibc-native "kernel target, gcc -static, native" step_static_suite glibc native
run static-glibc-nosys "kernel target, gcc -static, nosys" step_static_suite glibc nosys
run static-musl-native "kernel target, musl-gcc -static, native" step_static_suite musl native
run static-musl-nosys "kernel target, musl-gcc -static, nosys" step_static_suite musl nosys
run static-echo-glibc "echo, gcc -static, native+nosys" step_static_program glibc echo 'bytes echoed and verified'
run static-echo-musl "echo, musl-gcc -static, native+nosys" step_static_program musl echo 'bytes echoed and verified'
run static-syscall-glibc "syscall() by number, gcc -static" step_static_program glibc syscall 'all as expected'
run static-syscall-musl "syscall() by number, musl-gcc -static" step_static_program musl syscall 'all as expected'
run static-guard "static link line's guard" step_static_guard
run static-rust-build "Rust +crt-static clients (anypoll-link)" step_static_rust_build
run static-rust-guard "Rust binary not naming the crate: no link" step_static_rust_guard
run static-rust-tokio-http "tokio+hyper HTTP, +crt-static, native+nosys" step_static_rust tokio-http 'tokio-http: ok'
run static-rust-tokio-echo "tokio TCP echo, +crt-static, native+nosys" step_static_rust tokio-echo 'tokio-echo: ok'
run static-rust-reqwest "reqwest GETs+POST, +crt-static, native+nosys" step_static_rust reqwest-get 'reqwest-get: ok'

