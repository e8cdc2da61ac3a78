#!/usr/bin/env bash
# tests/demo.sh — what `make demo` runs after `make all` (scripts/deps.sh demo installed the
# runtimes and libraries first): builds the real clients of tests/clients/ and the static
# programs (`make clients clients-static`) and prints the scoreboard (scripts/scoreboard.sh) —
# anypoll's probe, its C echo and unmodified Python, Node.js, libuv, libevent, libev and tokio
# programs, and the C echo (glibc, musl) and tokio programs linked fully static with the
# drop-in, each on this Linux with its
# kernel's epoll, on "a host without epoll" (`anypoll nosys`) without and with anypoll, and on
# anypoll's poll engine. Exits non-zero if a cell is not what its host must give; a client that
# could not be built shows as "not installed" (its build error is printed first), never as ✓.
# BUILD=dir selects another build directory (default: build).
set -u
cd "$(dirname "$0")/.." || exit 2
unset MAKEFLAGS MFLAGS MAKELEVEL

BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
for f in "$BUILD/anypoll" "$BUILD/examples/echo" "$BUILD/libanypoll.so"; do
    [[ -e $f ]] || { echo "demo: $f is missing: run make first" >&2; exit 2; }
done

start=$SECONDS
log=$BUILD/clients/make.log
mkdir -p "$BUILD/clients"
echo "demo: building the clients (make BUILD=$BUILD clients clients-static; the tokio + hyper builds, dynamic, static and static without anypoll, take a few minutes the first time)"
if ! "$MAKE" --no-print-directory -k -j2 BUILD="$BUILD" clients clients-static >"$log" 2>&1; then
    echo "demo: some clients did not build; they show as not installed / not built:"
    grep -E 'not installed:|error' "$log" | head -n 10 | sed 's/^/  /'
fi
echo "demo: clients built in $((SECONDS - start)) s"
echo
bash scripts/scoreboard.sh --build "$BUILD"
