# tests/check.d/32-timers.sh — timerfd and signalfd with real clients (sourced by tests/check.sh).
#
#   timers-nosys-bites     `anypoll nosys` refuses timerfd_create/gettime and signalfd by default
#                          (ENOSYS), and --keep-timerfd / --keep-signalfd let each through
#   timers-clients-native  the clients of tests/clients/timers/ on this kernel: libevent with
#                          EVENT_BASE_FLAG_PRECISE_TIMER on epoll, libev with an ev_periodic, libev
#                          with EVFLAG_SIGNALFD (each asserts its backend is epoll and counts)
#   timers-clients-nosys   the same clients on "a host without epoll", served by anypoll's drop-in:
#                          `build/anypoll run --nosys -- CLIENT`
#
# The clients link only the system's libevent/libev; mk/timers.mk builds them.

TIMERS_CLIENTS=(levent_precise libev_periodic libev_signalfd)

timers_build() { # DIR — the library build of DIR, then the clients beside it
    build "$1" || return 1
    need_tool pkg-config || return 1
    [ -e /usr/include/event2/event.h ] && [ -e /usr/include/ev.h ] || {
        why "libevent-dev and libev-dev are needed (apt-get install libevent-dev libev-dev)"
        return 1
    }
    echo "+ $MAKE BUILD=$1 timers-clients"
    t "$MAKE" -j"$JOBS" BUILD="$1" timers-clients || {
        why "the timers clients do not build (make timers-clients)"
        return 1
    }
}

step_timers_nosys_bites() {
    timers_build build || return 1
    local probe=build/clients/timers/nosys_probe
    local -a cases=(
        "ok ok"
        "ENOSYS ENOSYS"
        "ok ENOSYS --keep-timerfd"
        "ENOSYS ok --keep-signalfd"
        "ok ok --keep-timerfd --keep-signalfd"
    )
    local c i=0
    for c in "${cases[@]}"; do
        # shellcheck disable=SC2086
        set -- $c
        local want_t=$1 want_s=$2
        shift 2
        local cmd=("$probe" "$want_t" "$want_s")
        [ $i -eq 0 ] || cmd=(build/anypoll nosys "$@" -- "${cmd[@]}")
        echo "+ ${cmd[*]}"
        t "${cmd[@]}" || {
            why "${cmd[*]}: the kernel's answers were not timerfd $want_t, signalfd $want_s"
            return 1
        }
        i=$((i + 1))
    done
    why "timerfd and signalfd: ENOSYS under nosys, each kept by its --keep flag, working without nosys"
}

timers_run_clients() { # PREFIX-COMMAND... — runs every client behind the prefix
    local c out rc summary=()
    for c in "${TIMERS_CLIENTS[@]}"; do
        echo "+ $* build/clients/timers/$c"
        rc=0
        out=$(t "$@" "build/clients/timers/$c" 2>&1) || rc=$?
        printf '%s\n' "$out"
        [ $rc -eq 0 ] || {
            why "$c exited $rc: $(printf '%s\n' "$out" | tail -n 1)"
            return 1
        }
        summary+=("$(printf '%s\n' "$out" | tail -n 1 | sed 's/:.*//')")
    done
    why "${summary[*]} passed (counts exact, nothing early)"
}

step_timers_clients_native() {
    timers_build build || return 1
    timers_run_clients
}

step_timers_clients_nosys() {
    timers_build build || return 1
    echo "+ build/anypoll run --help"
    build/anypoll run --help >/dev/null 2>&1 || {
        why "drop-in not built: build/anypoll has no 'run' command (anypoll run --nosys -- CMD)"
        return 1
    }
    timers_run_clients build/anypoll run --nosys --
}

run timers-nosys-bites "nosys refuses timerfd/signalfd" step_timers_nosys_bites
run timers-clients-native "libevent/libev timers, kernel" step_timers_clients_native
run timers-clients-nosys "libevent/libev timers, nosys+anypoll" step_timers_clients_nosys
