# tests/check.d/29-dropin.sh — the drop-in build (sourced by tests/check.sh). Room: the drop-in.
#
# The conformance suite's kernel target calls glibc's own names (epoll_ctl, read, close...).
# Run with the drop-in preloaded (`anypoll run`), or linked first (build/dropin/conformance-
# static, mk/dropin.mk), those names are anypoll's: the suite written for the kernel then checks
# the drop-in itself, on each engine. Cases an emulation engine documents it does not reproduce
# (TEST_EMULATION_GAP in tests/test_*.c) are left out of the poll-engine runs, listed in the log
# with their reason and counted in the step's reason — never as passed.
#
#   dropin-symbols       libanypoll.so/.a export every standard name; libanypoll-prefixed.a
#                        exports none; no library object but the drop-in's refers to them
#                        (the library never calls itself through them: no recursion)
#   dropin-preload-native|poll   anypoll run --engine E -- conformance --target kernel
#   dropin-nosys         anypoll run --nosys -- conformance --target kernel (auto = poll)
#   dropin-static-native|nosys   the suite linked with libanypoll.a first, natively / in nosys
#   dropin-aarch64       the aarch64 drop-in preloaded into the aarch64 suite under qemu-user
#                        (poll engine; cases qemu-user cannot emulate left out, as in check.sh)
#   dropin-off           the sys layer of hosts without direct system calls (sys_posix.c, forced
#                        with -DAP_SYS_DIRECT=0): no drop-in exported, suite passes (poll, native)
#   dropin-syscall       syscall(): epoll/eventfd numbers reach anypoll, io_uring_setup is ENOSYS
#   dropin-run           `anypoll run` finds the library and keeps its exit codes

DROPIN_NAMES='epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd eventfd_read eventfd_write timerfd_create timerfd_settime timerfd_gettime signalfd read write readv writev recv send recvfrom sendto recvmsg sendmsg accept accept4 shutdown close dup dup2 dup3 fcntl fcntl64 poll ppoll select pselect syscall __read_chk __recv_chk __recvfrom_chk __poll_chk __ppoll_chk'

dropin_build() {
    build_native || return 1
    echo "+ $MAKE BUILD=build dropin-tests"
    t "$MAKE" -j"$JOBS" BUILD=build dropin-tests >"$LOG/make-dropin.log" 2>&1 || {
        cat "$LOG/make-dropin.log"
        why "make dropin-tests failed"
        return 1
    }
}

step_dropin_symbols() {
    build_native || return 1
    local n missing=() extra=() name dyn arch pre refs
    dyn=$(nm -D --defined-only build/libanypoll.so | awk '{print $3}')
    arch=$(nm --defined-only build/libanypoll.a 2>/dev/null | awk '$2 == "T" {print $3}')
    pre=$(nm --defined-only build/libanypoll-prefixed.a 2>/dev/null | awk '$2 == "T" {print $3}')
    for name in $DROPIN_NAMES; do
        grep -qx "$name" <<<"$dyn" || missing+=("libanypoll.so:$name")
        grep -qx "$name" <<<"$arch" || missing+=("libanypoll.a:$name")
        if grep -qx "$name" <<<"$pre"; then extra+=("$name"); fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        why "not exported: ${missing[*]}"
        return 1
    fi
    if [ ${#extra[@]} -gt 0 ]; then
        why "libanypoll-prefixed.a defines standard names: ${extra[*]}"
        return 1
    fi
    # the library's own objects must reach the kernel without these names
    refs=$(for o in build/obj/lib/*.o; do
        case $o in */dropin*) continue ;; esac
        nm -u "$o" | awk -v o="${o##*/}" '{print o ": " $2}'
    done | grep -wE "($(tr ' ' '|' <<<"$DROPIN_NAMES"))$" || true)
    if [ -n "$refs" ]; then
        printf '%s\n' "$refs"
        why "library objects call interposed names (recursion in the drop-in): $(head -n 1 <<<"$refs")"
        return 1
    fi
    n=$(wc -w <<<"$DROPIN_NAMES")
    why "$n standard names exported by libanypoll.so and .a, none by libanypoll-prefixed.a; no library object calls them"
}

# dropin_suite ENGINE REPORT CMD... — the kernel target under the drop-in; ENGINE must serve it.
dropin_suite() {
    local engine=$1 report=$2 all c keep=() gaps=() nskip=0
    shift 2
    rm -f "$report"
    export ANYPOLL_REPORT=$report
    all=$(t "$@" --target kernel --list) || {
        unset ANYPOLL_REPORT
        why "--list failed"
        return 1
    }
    if [ "$engine" != native ]; then
        mapfile -t gaps < <(grep -ho 'TEST_EMULATION_GAP([a-z0-9_]*' tests/test_*.c | sed 's/.*(//')
    fi
    local d
    for c in $all; do
        d=
        if [ -n "${DROPIN_QEMU:-}" ]; then d=$(qemu_deviation "$engine" "$c"); fi
        if printf '%s\n' "${gaps[@]}" | grep -qx "$c"; then
            echo "not run on the $engine engine: $c (TEST_EMULATION_GAP: a documented engine difference, docs/design.md)"
            nskip=$((nskip + 1))
        elif [ -n "$d" ]; then
            echo "not run under qemu-user: $c ($d)"
            nskip=$((nskip + 1))
        else
            keep+=("$c")
        fi
    done
    local rc=0
    suite "$@" --target kernel "${keep[@]}" || rc=$?
    unset ANYPOLL_REPORT
    [ $rc -eq 0 ] || return 1
    echo "--- $report"
    cat "$report" 2>/dev/null || true
    if ! grep -q "engine $engine " "$report" 2>/dev/null; then
        why "$SUITE_RESULT, but no process reported engine $engine (ANYPOLL_REPORT)"
        return 1
    fi
    if grep -v "engine $engine " "$report" | grep -q .; then
        why "$SUITE_RESULT, but a process used another engine: $(grep -v "engine $engine " "$report" | head -n 1)"
        return 1
    fi
    local msg="engine $engine: $SUITE_RESULT"
    local kind="documented engine difference(s)"
    [ -z "${DROPIN_QEMU:-}" ] || kind="documented engine or qemu-user difference(s)"
    [ $nskip -eq 0 ] || msg="$msg; not run: $nskip $kind (listed in the log)"
    why "$msg"
}

step_dropin_preload() { # ENGINE
    build_native || return 1
    dropin_suite "$1" "$(pwd)/$LOG/dropin-preload-$1.report" build/anypoll run --engine "$1" -- build/conformance
}

step_dropin_nosys() {
    build_native || return 1
    dropin_suite poll "$(pwd)/$LOG/dropin-nosys.report" build/anypoll run --nosys -- build/conformance
}

step_dropin_static() { # native|nosys
    dropin_build || return 1
    local syms
    syms=$(nm build/dropin/conformance-static)
    grep -qE ' T epoll_ctl$' <<<"$syms" || {
        why "build/dropin/conformance-static does not define epoll_ctl itself (drop-in not linked first)"
        return 1
    }
    if [ "$1" = nosys ]; then
        dropin_suite poll "$(pwd)/$LOG/dropin-static-nosys.report" build/anypoll nosys -- build/dropin/conformance-static
    else
        dropin_suite native "$(pwd)/$LOG/dropin-static-native.report" build/dropin/conformance-static
    fi
}

step_dropin_aarch64() { # the aarch64 drop-in under qemu-user, poll engine (qemu has epoll)
    build_aarch64 || return 1
    need_tool "${QEMU[0]}" || return 1
    DROPIN_QEMU=1 dropin_suite poll "$(pwd)/$LOG/dropin-aarch64.report" env ANYPOLL_ENGINE=poll \
        "${SLOW[@]}" "${QEMU[@]}" -E LD_PRELOAD="$(pwd)/build/aarch64/libanypoll.so" \
        build/aarch64/conformance
}

step_dropin_off() { # the sys layer other hosts use (libc's names), built on Linux: no drop-in
    build build/libc EXTRA_CFLAGS=-DAP_SYS_DIRECT=0 || return 1
    local dyn
    dyn=$(nm -D --defined-only build/libc/libanypoll.so | awk '{print $3}')
    if grep -qxE 'read|epoll_ctl|syscall' <<<"$dyn"; then
        why "built with AP_SYS_DIRECT=0 (library calls libc's names), yet libanypoll.so exports standard names: it would call itself"
        return 1
    fi
    suite build/libc/conformance --target poll || return 1
    local poll=$SUITE_RESULT
    suite build/libc/conformance --target native || return 1
    why "AP_SYS_DIRECT=0: no standard names exported; poll: $poll; native: $SUITE_RESULT"
}

DROPIN_SYSCALL_PY='
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(*a):
    ctypes.set_errno(0)
    r = libc.syscall(*[ctypes.c_long(x) for x in a])
    return r, ctypes.get_errno()
NR = {"x86_64": dict(io_uring_setup=425, eventfd2=290, epoll_create1=291, write=1, read=0, close=3, getpid=39),
      "aarch64": dict(io_uring_setup=425, eventfd2=19, epoll_create1=20, write=64, read=63, close=57, getpid=172)}[os.uname().machine]
got = {}
params = ctypes.create_string_buffer(120)
got["io_uring_setup"] = call(NR["io_uring_setup"], 4, ctypes.addressof(params))
efd, e = call(NR["eventfd2"], 5, os.O_NONBLOCK)
got["eventfd2"] = (efd >= 0, e)
buf = ctypes.c_uint64(0)
got["read"] = call(NR["read"], efd, ctypes.addressof(buf), 8) + (buf.value,)
got["read-empty"] = call(NR["read"], efd, ctypes.addressof(buf), 8)
ep, e = call(NR["epoll_create1"], 0)
got["epoll_create1"] = (ep >= 0, e)
got["close"] = (call(NR["close"], ep), call(NR["close"], efd))
got["getpid"] = call(NR["getpid"])[0] == os.getpid()
print(got)
want = {"io_uring_setup": (-1, errno.ENOSYS), "eventfd2": (True, 0), "read": (8, 0, 5),
        "read-empty": (-1, errno.EAGAIN), "epoll_create1": (True, 0),
        "close": ((0, 0), (0, 0)), "getpid": True}
bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
print("mismatch:", bad) if bad else print("syscall(): all as expected")
sys.exit(1 if bad else 0)
'

step_dropin_syscall() {
    build_native || return 1
    [ -x /usr/bin/python3 ] || {
        why "/usr/bin/python3 not found (used to call syscall() through ctypes)"
        return 1
    }
    local report=$(pwd)/$LOG/dropin-syscall.report
    rm -f "$report"
    echo "+ anypoll run --nosys -- python3 (syscall() by number)"
    ANYPOLL_REPORT=$report t build/anypoll run --nosys -- /usr/bin/python3 -c "$DROPIN_SYSCALL_PY" || {
        why "under nosys with the drop-in, syscall() did not answer as expected (see log)"
        return 1
    }
    cat "$report"
    grep -q 'engine poll ' "$report" || {
        why "the eventfd2/epoll_create1 numbers did not reach anypoll's poll engine"
        return 1
    }
    echo "+ python3 alone (io_uring_setup is not refused without the drop-in)"
    local r
    r=$(t /usr/bin/python3 -c 'import ctypes; p = ctypes.create_string_buffer(120); libc = ctypes.CDLL(None, use_errno=True); r = libc.syscall(425, 4, p); print(r, ctypes.get_errno())')
    echo "$r"
    why "under nosys: eventfd2, read, epoll_create1, close by number served by engine poll; io_uring_setup ENOSYS (without the drop-in: '$r')"
}

step_dropin_run() {
    build_native || return 1
    local rc=0 out
    t build/anypoll run -- sh -c 'exit 7' || rc=$?
    [ $rc -eq 7 ] || {
        why "anypoll run -- sh -c 'exit 7' exited $rc, not 7"
        return 1
    }
    rc=0
    t build/anypoll run -- /nonexistent/cmd 2>/dev/null || rc=$?
    [ $rc -eq 127 ] || {
        why "a command that cannot run: exit $rc, not 127"
        return 1
    }
    rc=0
    t build/anypoll run --engine nosuch -- true 2>/dev/null || rc=$?
    [ $rc -eq 2 ] || {
        why "unknown engine: exit $rc, not 2"
        return 1
    }
    rc=0
    ANYPOLL_LIBRARY=/nonexistent.so t build/anypoll run -- true 2>/dev/null || rc=$?
    [ $rc -eq 125 ] || {
        why "library not found: exit $rc, not 125"
        return 1
    }
    out=$(LD_PRELOAD= t build/anypoll run -- sh -c 'echo "$LD_PRELOAD"')
    [ "$out" = "$(realpath build/libanypoll.so)" ] || {
        why "LD_PRELOAD set to '$out', expected $(realpath build/libanypoll.so)"
        return 1
    }
    # installed layout: bin/anypoll finds lib/libanypoll.so
    local dir
    dir=$(mktemp -d)
    mkdir -p "$dir/bin" "$dir/lib"
    cp build/anypoll "$dir/bin/" && cp build/libanypoll.so "$dir/lib/"
    out=$(PATH=$dir/bin:$PATH t anypoll run -- sh -c 'echo "$LD_PRELOAD"') || true
    rm -rf "$dir"
    [ "$out" = "$dir/lib/libanypoll.so" ] || {
        why "installed layout: LD_PRELOAD '$out', expected $dir/lib/libanypoll.so"
        return 1
    }
    why "exit codes 7 (CMD's), 127, 2, 125; LD_PRELOAD = the library beside the command or in ../lib"
}

run dropin-symbols "drop-in exports, no recursion" step_dropin_symbols
run dropin-preload-native "suite's kernel target, preloaded, native" step_dropin_preload native
run dropin-preload-poll "suite's kernel target, preloaded, poll" step_dropin_preload poll
run dropin-nosys "kernel target, preloaded, in nosys" step_dropin_nosys
run dropin-static-native "kernel target, linked first, native" step_dropin_static native
run dropin-static-nosys "kernel target, linked first, nosys" step_dropin_static nosys
run dropin-aarch64 "kernel target, aarch64 drop-in, qemu" step_dropin_aarch64
run dropin-off "libc sys path (other hosts), no drop-in" step_dropin_off
run dropin-syscall "syscall() routing" step_dropin_syscall
run dropin-run "anypoll run" step_dropin_run
