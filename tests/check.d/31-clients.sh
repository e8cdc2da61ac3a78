# tests/check.d/31-clients.sh — the real clients of tests/clients/ (Node.js, libuv, libevent,
# libev, tokio + hyper), each one step run six ways by tests/clients/clients.sh: natively; under
# `anypoll nosys` without anypoll (must fail for want of epoll/eventfd); under nosys with the
# drop-in (must pass on the poll engine, as ANYPOLL_REPORT says); with ANYPOLL_ENGINE=poll on
# this kernel; preloaded on this kernel (must pick the native engine); with ANYPOLL_ENGINE=poll and
# ANYPOLL_HOST_AIDS=posix (the plain-POSIX target, same checks). A client that is not
# installed fails its step. Sourced by tests/check.sh.

# shellcheck source=tests/clients/clients.sh
source tests/clients/clients.sh

CLIENTS_BUILT=
build_clients() {
    build_native || return 1
    case $CLIENTS_BUILT in
    ok) return 0 ;;
    failed)
        why "make clients failed (see $LOG/make-clients.log)"
        return 1
        ;;
    esac
    echo "+ $MAKE -j$JOBS BUILD=build clients  (output: $LOG/make-clients.log)"
    if t "$MAKE" -j"$JOBS" BUILD=build clients >"$LOG/make-clients.log" 2>&1; then
        CLIENTS_BUILT=ok
    else
        CLIENTS_BUILT=failed
        # a client whose dependency is missing says "not installed: X" in its own step; the
        # others were still built (make -k below), so only the build as a whole is reported here
        t "$MAKE" -k -j"$JOBS" BUILD=build clients >>"$LOG/make-clients.log" 2>&1 || true
        cat "$LOG/make-clients.log"
    fi
    clients_setup build
    [ $CLIENTS_BUILT = ok ]
}

step_clients_build() {
    build_clients || {
        why "make clients failed: $(grep -m1 -E 'not installed:|error' "$LOG/make-clients.log")"
        return 1
    }
    why "make clients: libuv, libevent, libev, glibc-only probe and echo, tokio + hyper (cargo, offline)"
}

# step_client CLIENT... — every CLIENT every way; passes when each way gave what it must
step_client() {
    build_clients || true # a client missing its dependency is reported as such below
    clients_setup build
    local c w summary='' first='' bad=''
    for c; do
        for w in "${CL_WAYS[@]}"; do
            client_try "$c" "$w"
            echo "+ [$c, $w] $CL_RAN"
            printf '%s\n' "$CL_OUT" | sed 's/^/    | /'
            echo "  => $CL_VERDICT: $CL_MARK engine $CL_ENGINE: $CL_REASON"
            case $CL_VERDICT in
            missing)
                why "$CL_REASON"
                return 1
                ;;
            unexpected) bad="${bad:-$c $w: $CL_MARK $CL_REASON}" ;;
            esac
            [ "$w" = kernel ] && [ -z "$first" ] && first=$CL_REASON
            if [ "$c" = "$1" ]; then
                case $w in
                kernel) summary="native $CL_MARK" ;;
                bare) summary="$summary; nosys alone $CL_MARK ($CL_REASON)" ;;
                anypoll) summary="$summary; nosys+anypoll $CL_MARK $CL_ENGINE" ;;
                poll) summary="$summary; poll engine $CL_MARK" ;;
                native) summary="$summary; preloaded on this kernel $CL_MARK $CL_ENGINE" ;;
                posix) summary="$summary; poll engine, plain-POSIX aids $CL_MARK" ;;
                esac
            fi
        done
    done
    if [ -n "$bad" ]; then
        why "$bad"
        return 1
    fi
    why "$summary — $first"
}

run clients-build "make clients" step_clients_build
run clients-node "Node.js HTTP server+client, 6 ways" step_client node
run clients-libuv "libuv echo/async/timers/backend fd, 6 ways" step_client libuv
run clients-libevent "libevent epoll backend, precise timer, 6 ways" step_client libevent
run clients-libev "libev epoll backend, signals, 6 ways" step_client libev
run clients-tokio "tokio+hyper HTTP GET and TCP echo, 6 ways" step_client tokio-http tokio-echo
