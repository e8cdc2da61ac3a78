#!/usr/bin/env bash
# scripts/scoreboard.sh — the scoreboard `make demo` prints (tests/demo.sh calls it after
# `make all clients`): which workloads run on which host, and on which engine. The clients room
# (tests/clients/) owns it; each run is judged by tests/clients/clients.sh, as in `make check`.
#
#   rows     workloads: anypoll's probe and C echo, then unmodified programs on their own
#            runtimes (Python asyncio, Node.js, libuv, libevent, libev, tokio + hyper), then
#            fully static programs with the drop-in linked in (`make clients-static`): the C echo
#            with glibc and with musl, tokio's echo and HTTP +crt-static with anypoll-link; their
#            "no anypoll" cells run the same programs linked static without anypoll
#   columns  hosts, each a function below (column_NAME title | column_NAME cell CLIENT, setting
#            CL_MARK, CL_ENGINE, CL_REASON, CL_VERDICT as client_try does): to add a host (e.g.
#            "Windows (Wine)"), write its function and add its name to COLUMNS
#   cells    ✓ the workload ran and all its checks held; ✗ it did not; "not installed" when a
#            runtime or library is missing (never ✓). (!) marks a cell that is not what that
#            host must give; the script then exits 1.
#
#   scripts/scoreboard.sh [--build DIR] [--columns "a b ..."]
#   defaults: build; linux_epoll linux_nosys linux_nosys_anypoll linux_poll_engine windows_wine (also there:
#   linux_anypoll_native, the drop-in on this kernel left to choose: the native engine)
set -u
cd "$(dirname "$0")/.." || exit 2
export LC_ALL=C.UTF-8 # widths below count characters: ✓ and ✗ are one column wide

BUILD=${BUILD:-build}
COLUMNS=(linux_epoll linux_nosys linux_nosys_anypoll linux_poll_engine windows_wine)
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2 && shift 2 ;;
    --columns) read -r -a COLUMNS <<<"$2" && shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
    *) echo "usage: $0 [--build DIR] [--columns \"NAME...\"]" >&2 && exit 2 ;;
    esac
done

# shellcheck source=tests/clients/clients.sh
source tests/clients/clients.sh
clients_setup "$BUILD"
unset ANYPOLL_ENGINE # it would override the choice the columns are about

ROWS=("probe|probe" "C echo|echo" "Python asyncio|python" "Node HTTP|node" "libuv|libuv"
    "libevent|libevent" "libev|libev" "tokio HTTP GET|tokio-http" "tokio TCP echo|tokio-echo"
    "C echo, static glibc|echo-static-glibc" "C echo, static musl|echo-static-musl"
    "tokio TCP echo, static|tokio-echo-static" "tokio HTTP GET, static|tokio-http-static")

# --- columns: one function per host ----------------------------------------------------------

column_linux_epoll() {
    [ "$1" = title ] && { echo "Linux, kernel epoll"; return; }
    client_try "$2" kernel
}
column_linux_nosys() {
    [ "$1" = title ] && { echo "Linux without epoll, no anypoll"; return; }
    client_try "$2" bare
}
column_linux_nosys_anypoll() {
    [ "$1" = title ] && { echo "Linux without epoll, with anypoll"; return; }
    client_try "$2" anypoll
}
# not shown by default (--columns adds it): the drop-in on this kernel, left to choose
column_linux_anypoll_native() {
    [ "$1" = title ] && { echo "Linux, kernel epoll, with anypoll"; return; }
    client_try "$2" native
}
column_linux_poll_engine() {
    [ "$1" = title ] && { echo "Linux, anypoll poll engine forced"; return; }
    client_try "$2" poll
}

# Windows under Wine: anypoll's probe and C echo cross-built with mingw-w64 (tests/windows_demo.sh
# runs both once). The other rows are Linux builds of their runtimes; Windows builds of them are
# not on this machine, so those cells say so and count as neither pass nor fail.
WINDOWS_OUT=
column_windows_wine() {
    [ "$1" = title ] && { echo "Windows (Wine), anypoll"; return; }
    local line
    case $2 in
    probe | echo)
        [ -n "$WINDOWS_OUT" ] || WINDOWS_OUT=$(bash tests/windows_demo.sh 2>&1)
        line=$(grep -m1 "^$2 " <<<"$WINDOWS_OUT")
        CL_ENGINE=$(sed -n 's/.*(engine \([^)]*\))$/\1/p' <<<"$line")
        case $line in
        "$2 ✓"*)
            CL_MARK=✓ CL_VERDICT=expected
            CL_REASON="wine build/windows/$([ "$2" = probe ] && echo anypoll.exe probe || echo examples/echo.exe)"
            ;;
        *"not found (scripts/deps.sh"*)
            CL_MARK="not installed" CL_VERDICT=missing CL_REASON=${line#"$2 ✗ "}
            ;;
        *)
            CL_MARK=✗ CL_VERDICT=unexpected
            CL_REASON=${line:-tests/windows_demo.sh printed nothing for $2}
            ;;
        esac
        ;;
    *-static-* | *-static) CL_MARK="n/a" CL_ENGINE='' CL_VERDICT=n/a CL_REASON="a static Linux (ELF) program: nothing for Wine to run" ;;
    *) CL_MARK="n/a" CL_ENGINE= CL_VERDICT=n/a CL_REASON="no Windows build of this runtime here (the Linux one cannot run under Wine)" ;;
    esac
}

# --- the table -------------------------------------------------------------------------------

short() { # the cell's text from CL_MARK, CL_ENGINE, CL_REASON, CL_VERDICT
    local s
    case $CL_MARK in
    ✓) s="✓ $CL_ENGINE" ;;
    ✗)
        case $CL_REASON in
        *"Assertion failed"*) s="✗ aborts" ;;
        *"os error 38"* | *ENOSYS* | *"not implemented"*) s="✗ ENOSYS" ;;
        "timed out"*) s="✗ timeout" ;;
        "exit "*) s="✗ ${CL_REASON%%:*}" ;;
        *) s="✗" ;;
        esac
        ;;
    *) s=$CL_MARK ;;
    esac
    [ "$CL_VERDICT" = unexpected ] && s="$s (!)"
    printf '%s' "$s"
}
pad() { printf '%s%*s' "$1" $(($2 - ${#1})) ''; }

start=$SECONDS
declare -A cell=() detail=()
titles=()
for col in "${COLUMNS[@]}"; do titles+=("$("column_$col" title)"); done
expected=0 unexpected=0 missing=0 inapplicable=0
for r in "${!ROWS[@]}"; do
    client=${ROWS[r]#*|}
    for c in "${!COLUMNS[@]}"; do
        "column_${COLUMNS[c]}" cell "$client"
        cell[$r,$c]=$(short)
        case $CL_MARK in
        ✓) detail[$r,$c]="✓ engine $CL_ENGINE: $CL_REASON" ;;
        ✗) detail[$r,$c]="✗ $CL_REASON" ;;
        *) detail[$r,$c]=$CL_REASON ;;
        esac
        [ "$CL_VERDICT" = unexpected ] && detail[$r,$c]="${detail[$r,$c]} (!)"
        case $CL_VERDICT in
        expected) expected=$((expected + 1)) ;;
        unexpected) unexpected=$((unexpected + 1)) ;;
        n/a) inapplicable=$((inapplicable + 1)) ;;
        *) missing=$((missing + 1)) ;;
        esac
    done
done

# column widths: the longest of the title and the cells
w0=8
for r in "${!ROWS[@]}"; do l=${ROWS[r]%%|*} && [ ${#l} -gt $w0 ] && w0=${#l}; done
widths=()
for c in "${!COLUMNS[@]}"; do
    w=${#titles[c]}
    for r in "${!ROWS[@]}"; do [ ${#cell[$r,$c]} -gt "$w" ] && w=${#cell[$r,$c]}; done
    widths+=("$w")
done

echo "anypoll scoreboard — $(uname -sr) $(uname -m), $(date -u '+%Y-%m-%d %H:%M UTC'), build $BUILD"
echo
line="| $(pad workload $w0) |"
rule="|$(printf -- '-%.0s' $(seq 1 $((w0 + 2))))|"
for c in "${!COLUMNS[@]}"; do
    line+=" $(pad "${titles[c]}" "${widths[c]}") |"
    rule+="$(printf -- '-%.0s' $(seq 1 $((widths[c] + 2))))|"
done
echo "$line"
echo "$rule"
for r in "${!ROWS[@]}"; do
    line="| $(pad "${ROWS[r]%%|*}" $w0) |"
    for c in "${!COLUMNS[@]}"; do line+=" $(pad "${cell[$r,$c]}" "${widths[c]}") |"; done
    echo "$line"
done
echo
echo "✓ ran and every check held · ✗ did not run, or a check failed · (!) not what this host must give ·"
echo "n/a: no build of that runtime for that host here"
echo "engine: native = the kernel's epoll through anypoll · poll = anypoll's emulation on poll() ·"
echo "win = anypoll's Windows engine (AFD poll requests on an I/O completion port) ·"
echo "kernel = the kernel's epoll directly, no anypoll. \"Without epoll\" is \`anypoll nosys\`: a"
echo "seccomp filter makes the kernel refuse epoll and eventfd with ENOSYS."
echo
echo "Each cell in one line:"
for r in "${!ROWS[@]}"; do
    echo "  ${ROWS[r]%%|*}"
    for c in "${!COLUMNS[@]}"; do echo "    ${titles[c]}: ${detail[$r,$c]}"; done
done
echo
echo "scoreboard: $expected cell(s) as expected, $unexpected not, $missing not installed or not available, $inapplicable not applicable ($((SECONDS - start)) s)"
[ $unexpected -eq 0 ]
