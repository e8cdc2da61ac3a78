# tests/clients/clients.sh — how each real client of tests/clients/ is run, one way per "host";
# sourced by tests/check.d/31-clients.sh (the test steps) and scripts/scoreboard.sh (`make
# demo`'s table), so both judge a run by the same rules. The clients room: it touches only
# tests/clients/ (not python/, which the drop-in work owns) and runs what `make clients` built.
#
#   clients_setup BUILD          where the library, `anypoll` and $BUILD/clients/ are
#   client_try CLIENT WAY        runs CLIENT one WAY and sets:
#       CL_VERDICT  expected | unexpected | missing   (did this way give what it must?)
#       CL_MARK     ✓ (the workload ran and checked out) | ✗ (it did not) | "not installed"
#       CL_ENGINE   the engine that served it: native, poll (anypoll's), kernel (no anypoll), none
#       CL_REASON   one line: what the client printed, or why it failed
#       CL_OUT      everything it printed, CL_RAN the command (for logs)
#
# CLIENTs: probe echo python node libuv libevent libev tokio-http tokio-echo (CL_ALL, the clients
# steps), and the fully static programs of mk/static.mk (the scoreboard's rows; `make
# clients-static`): echo-static-glibc, echo-static-musl (examples/echo.c with the drop-in linked
# in, gcc -static / musl-gcc -static), tokio-echo-static and tokio-http-static (tokio-echo and
# tokio-http +crt-static with anypoll-link). They link anypoll, so no way preloads it, and each
# run's engine is the one ANYPOLL_REPORT names; their "bare" runs are the same programs linked static without anypoll
# (build/static/LIBC/echo-bare, build/clients/rust-static-bare).
# WAYs:
#   kernel   this Linux as it is, without anypoll (probe and echo are anypoll's own programs:
#            they link it and must pick the native engine); must pass
#   bare     under `anypoll nosys` (the kernel refuses epoll and eventfd) without anypoll; must
#            FAIL, and with the client's own sign of missing epoll/eventfd (ENOSYS, "os error 38",
#            uv_loop_init's assertion...) — proof that the simulated host bites. probe and echo
#            run their glibc-only builds (kprobe, echo-glibc) here
#   anypoll  under `anypoll nosys` with anypoll: the drop-in preloaded (`anypoll run` once that
#            command exists, LD_PRELOAD until then), or linked for probe/echo; must pass on the
#            poll engine, which the library's ANYPOLL_REPORT line must confirm
#   poll     this Linux, anypoll preloaded with ANYPOLL_ENGINE=poll; must pass on the poll engine
#   native   this Linux, anypoll preloaded and left to choose: must pass on the native engine (the
#            drop-in forwards to the kernel's epoll)
#   posix    as poll, with ANYPOLL_HOST_AIDS=posix: the poll engine with only the plain-POSIX host
#            aids (what a host without Linux's or the BSDs' gets, docs/design.md "Host aids");
#            must pass on the poll engine, with the same checks
#   (static programs: kernel and native are the same run, the program left to choose: native)
# A client whose runtime, library or build is missing is "missing", never expected.

# shellcheck disable=SC2034 # (the callers read what is set here)
CL_TIMEOUT=${CLIENTS_TIMEOUT:-180}
CL_WAYS=(kernel bare anypoll poll native posix)
CL_ALL=(probe echo python node libuv libevent libev tokio-http tokio-echo)
CL_RUST_TARGET=$(uname -m)-unknown-linux-gnu

clients_setup() { # BUILD
    CL_BUILD=$1
    CL_BIN=$1/clients
    CL_ANYPOLL=$1/anypoll
    CL_SO=$(cd "$1" 2>/dev/null && pwd)/libanypoll.so
    CL_NODE=$(command -v node || command -v nodejs || true)
    CL_PYTHON=/usr/bin/python3
    # The drop-in helper's asyncio round trip with an explicit EpollSelector, when it is there.
    CL_PY_SCRIPT=$(ls tests/clients/python/*asyncio*.py 2>/dev/null | head -n 1)
}

# The prefix that runs a command with the drop-in: `anypoll run --` once the tool has it.
cl_dropin() {
    if "$CL_ANYPOLL" help 2>/dev/null | grep -qE '^ +run '; then
        CL_PRE=("$CL_ANYPOLL" run --)
    else
        CL_PRE=(env "LD_PRELOAD=$CL_SO")
    fi
}

# cl_need CLIENT — empty if CLIENT can run, else what is missing
cl_need() {
    case $1 in
    probe | echo)
        [ -x "$CL_ANYPOLL" ] || { echo "not built: $CL_ANYPOLL (make)"; return; }
        [ "$1" = probe ] && [ ! -x "$CL_BIN/kprobe" ] && { echo "not built: $CL_BIN/kprobe (make clients)"; return; }
        [ "$1" = echo ] && [ ! -x "$CL_BIN/echo-glibc" ] && { echo "not built: $CL_BIN/echo-glibc (make clients)"; return; }
        [ "$1" = echo ] && [ ! -x "$CL_BUILD/examples/echo" ] && echo "not built: $CL_BUILD/examples/echo (make)"
        ;;
    python)
        [ -x "$CL_PYTHON" ] || { echo "not installed: python3 ($CL_PYTHON)"; return; }
        [ -n "$CL_PY_SCRIPT" ] || echo "not available: no tests/clients/python/*asyncio*.py"
        ;;
    node) [ -n "$CL_NODE" ] || echo "not installed: nodejs (no node on PATH)" ;;
    libuv)
        pkg-config --exists libuv 2>/dev/null || { echo "not installed: libuv1-dev"; return; }
        [ -x "$CL_BIN/uv_client" ] || echo "not built: $CL_BIN/uv_client (make clients)"
        ;;
    libevent)
        pkg-config --exists libevent libevent_pthreads 2>/dev/null || { echo "not installed: libevent-dev"; return; }
        [ -x "$CL_BIN/event_client" ] || echo "not built: $CL_BIN/event_client (make clients)"
        ;;
    libev)
        [ -e /usr/include/ev.h ] || { echo "not installed: libev-dev"; return; }
        [ -x "$CL_BIN/ev_client" ] || echo "not built: $CL_BIN/ev_client (make clients)"
        ;;
    tokio-*-static)
        local f
        for f in "$CL_BIN"/rust-static{,-bare}/"$CL_RUST_TARGET/release/${1%-static}"; do
            [ -x "$f" ] || { echo "not built: $f (make clients-static)"; return; }
        done
        ;;
    tokio-*)
        command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || { echo "not installed: cargo"; return; }
        compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null || { echo "not installed: librust-tokio-dev"; return; }
        compgen -G "/usr/share/cargo/registry/hyper-0.14.*" >/dev/null || { echo "not installed: librust-hyper-dev"; return; }
        [ -x "$CL_BIN/tokio/release/$1" ] || echo "not built: $CL_BIN/tokio/release/$1 (make clients)"
        ;;
    echo-static-glibc | echo-static-musl)
        local libc=${1#echo-static-}
        [ "$libc" = glibc ] || command -v musl-gcc >/dev/null || { echo "not installed: musl-tools"; return; }
        [ -x "$CL_BUILD/static/$libc/echo" ] || { echo "not built: $CL_BUILD/static/$libc/echo (make clients-static)"; return; }
        [ -x "$CL_BUILD/static/$libc/echo-bare" ] || echo "not built: $CL_BUILD/static/$libc/echo-bare (make clients-static)"
        ;;
    *) echo "no such client: $1" ;;
    esac
}

# cl_cmd CLIENT [bare] — the client's command in CL_CMD; CL_LINKED=1 if it links anypoll,
# CL_STATIC=1 if it is a static program (its engine is the one ANYPOLL_REPORT names)
cl_cmd() {
    CL_LINKED=0 CL_STATIC=0
    case $1 in
    probe)
        if [ "${2:-}" = bare ]; then CL_CMD=("$CL_BIN/kprobe"); else CL_CMD=("$CL_ANYPOLL" probe) CL_LINKED=1; fi ;;
    echo)
        if [ "${2:-}" = bare ]; then CL_CMD=("$CL_BIN/echo-glibc"); else CL_CMD=("$CL_BUILD/examples/echo") CL_LINKED=1; fi ;;
    python) CL_CMD=("$CL_PYTHON" "$CL_PY_SCRIPT") ;;
    node) CL_CMD=("$CL_NODE" tests/clients/node/http.js) ;;
    libuv) CL_CMD=("$CL_BIN/uv_client") ;;
    libevent) CL_CMD=("$CL_BIN/event_client") ;;
    libev) CL_CMD=("$CL_BIN/ev_client") ;;
    echo-static-*)
        CL_STATIC=1
        if [ "${2:-}" = bare ]; then CL_CMD=("$CL_BUILD/static/${1#echo-static-}/echo-bare"); else
            CL_CMD=("$CL_BUILD/static/${1#echo-static-}/echo") CL_LINKED=1; fi ;;
    tokio-*-static)
        CL_STATIC=1
        if [ "${2:-}" = bare ]; then CL_CMD=("$CL_BIN/rust-static-bare/$CL_RUST_TARGET/release/${1%-static}"); else
            CL_CMD=("$CL_BIN/rust-static/$CL_RUST_TARGET/release/${1%-static}") CL_LINKED=1; fi ;;
    tokio-*) CL_CMD=("$CL_BIN/tokio/release/$1") ;;
    esac
}

# cl_passed CLIENT RC OUT — did the run check out? Sets CL_REASON either way.
cl_passed() {
    local line
    case $1 in
    probe)
        if [ "$2" = 0 ] && grep -qx 'self-check: pass' <<<"$3"; then
            CL_REASON="self-check passed (anypoll probe, linked)"
            return 0
        fi
        line=$(grep -m1 '^self-check' <<<"$3")
        ;;
    echo | echo-static-*)
        line=$(grep -m1 '^echo: engine' <<<"$3")
        if [ "$2" = 0 ] && [[ $line == *"echoed and verified"* ]]; then
            CL_REASON="${line#echo: engine *, } ($([ "$1" = echo ] && echo examples/echo, linked || echo "${CL_CMD[0]}"))"
            return 0
        fi
        line=$(grep -m1 -i 'fail\|error' <<<"$3")
        ;;
    *)
        line=$(grep -m1 -E '^[a-z-]+: ok: ' <<<"$3")
        if [ "$2" = 0 ] && [ -n "$line" ]; then
            CL_REASON=${line#*: ok: }
            return 0
        fi
        [ "$1" = python ] && [ "$2" = 0 ] && line=$(grep -v '^anypoll: ' <<<"$3" | grep . | tail -n 1) &&
            [ -n "$line" ] && ! grep -qiE 'fail|error|traceback' <<<"$3" && { CL_REASON=$line; return 0; }
        line=$(grep -m1 -E ': FAIL: |Assertion failed|panicked|Error|error' <<<"$3")
        ;;
    esac
    [ -n "$line" ] || line=$(grep . <<<"$3" | tail -n 1)
    if [ "$2" = 124 ] || [ "$2" = 137 ]; then
        CL_REASON="timed out after ${CL_TIMEOUT}s${line:+; last: $line}"
    else
        CL_REASON="exit $2${line:+: $line}"
    fi
    return 1
}

# What each client prints when the host has no epoll/eventfd and nothing stands in for them.
cl_signature() {
    case $1 in
    probe | echo | echo-static-* | libevent | libev) echo 'epoll_create1: Function not implemented' ;;
    python) echo 'Errno 38|ENOSYS|Function not implemented' ;;
    node) echo 'Assertion failed: \(uv_loop_init\(' ;;
    libuv) echo 'uv_loop_init: function not implemented \(ENOSYS\)' ;;
    tokio-*) echo 'os error 38' ;;
    esac
}

# cl_engines FILE — the engines the library reported (one word per process), or nothing
cl_engines() {
    [ -s "$1" ] || return 0
    sed -n 's/^anypoll: pid [0-9]* engine \([^ ]*\).*/\1/p' "$1" | sort -u | xargs
}

client_try() { # CLIENT WAY
    local client=$1 way=$2 miss rc=0 report engines
    CL_OUT='' CL_RAN='' CL_ENGINE=none CL_REASON='' CL_MARK='' CL_VERDICT=unexpected
    miss=$(cl_need "$client")
    if [ -n "$miss" ]; then
        CL_VERDICT=missing CL_MARK="not installed" CL_REASON=$miss
        [[ $miss == "not available"* ]] && CL_MARK="not available"
        return 0
    fi
    cl_cmd "$client" "$([ "$way" = bare ] && echo bare)"
    cl_dropin
    local pre=() env=() force=()
    report=$(mktemp)
    # nothing of the caller's may choose for the run: no engine forced, nothing preloaded
    env=(env -u ANYPOLL_ENGINE -u ANYPOLL_HOST_AIDS -u LD_PRELOAD "ANYPOLL_REPORT=$report")
    case $way in
    kernel) ;;
    bare) pre=("$CL_ANYPOLL" nosys --) ;;
    anypoll)
        pre=("$CL_ANYPOLL" nosys --)
        [ "$CL_LINKED" = 1 ] || pre+=("${CL_PRE[@]}")
        ;;
    poll)
        force=(ANYPOLL_ENGINE=poll)
        [ "$CL_LINKED" = 1 ] || pre=("${CL_PRE[@]}")
        ;;
    native) [ "$CL_LINKED" = 1 ] || pre=("${CL_PRE[@]}") ;;
    posix)
        force=(ANYPOLL_ENGINE=poll ANYPOLL_HOST_AIDS=posix)
        [ "$CL_LINKED" = 1 ] || pre=("${CL_PRE[@]}")
        ;;
    esac
    CL_OUT=$(timeout -k 5 "$CL_TIMEOUT" "${env[@]}" "${force[@]}" "${pre[@]}" "${CL_CMD[@]}" 2>&1) || rc=$?
    engines=$(cl_engines "$report")
    rm -f "$report"
    CL_RAN="${force[*]} ${pre[*]} ${CL_CMD[*]}"
    # The engine: anypoll's own programs say it; a preloaded drop-in writes it to ANYPOLL_REPORT.
    if [ "$CL_STATIC" = 1 ] && [ "$way" != bare ]; then
        CL_ENGINE=${engines:-none}
    elif [ "$CL_LINKED" = 1 ] && [ "$way" != bare ]; then
        CL_ENGINE=$(sed -n -e 's/^engine: \([^ ]*\).*/\1/p' -e 's/^echo: engine \([^,]*\),.*/\1/p' <<<"$CL_OUT" | head -n 1)
        CL_ENGINE=${CL_ENGINE:-none}
    elif [ "$way" = kernel ] || [ "$way" = bare ]; then
        CL_ENGINE=kernel
    else
        CL_ENGINE=${engines:-none}
    fi
    if [ "$CL_LINKED" = 0 ] && { [ "$way" = kernel ] || [ "$way" = bare ]; } && [ -n "$engines" ]; then
        CL_MARK=✗ CL_REASON="anypoll was loaded (engine $engines) in a run that must go without it"
    elif cl_passed "$client" "$rc" "$CL_OUT"; then
        CL_MARK=✓
        case $way in
        kernel) [ "$CL_LINKED" = 0 ] || [ "$CL_ENGINE" = native ] && CL_VERDICT=expected ||
            CL_REASON="engine $CL_ENGINE, expected native; $CL_REASON" ;;
        bare) CL_REASON="ran although nosys should refuse epoll/eventfd: $CL_REASON" ;;
        anypoll | poll | native | posix)
            local want=poll
            [ "$way" = native ] && want=native
            if [ "$CL_ENGINE" = "$want" ]; then
                CL_VERDICT=expected
            elif [ "$CL_ENGINE" = none ]; then
                CL_REASON="no engine reported (ANYPOLL_REPORT empty: was the drop-in loaded?); $CL_REASON"
            else
                CL_REASON="engine $CL_ENGINE, expected $want; $CL_REASON"
            fi
            ;;
        esac
    else
        CL_MARK=✗
        if [ "$way" = bare ]; then
            local sig line
            sig=$(cl_signature "$client")
            line=$(grep -m1 -E "$sig" <<<"$CL_OUT")
            if [ -n "$line" ]; then
                CL_VERDICT=expected
                CL_REASON=$(sed -E -e 's/^ *#? *//' -e 's/^[a-z-]+: FAIL: //' <<<"$line")
            else
                CL_REASON="failed, but not for want of epoll/eventfd ($sig): $CL_REASON"
            fi
        fi
    fi
    [ ${#CL_REASON} -le 200 ] || CL_REASON="${CL_REASON:0:197}..."
    return 0
}
