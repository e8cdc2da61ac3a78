# tests/check.d/34-amalgamation.sh — the single-file build (sourced by tests/check.sh). Room:
# packaging (mk/amalgamation.mk, scripts/amalgamate.py).
#
#   amalgamation-build   `make amalgamation`: build/amalgamation/anypoll.c compiles alone (with
#                        only anypoll.h beside it) under gcc, clang, mingw-w64 and aarch64 gcc,
#                        -Wall -Wextra -Werror; the conformance suite is built from it
#   amalgamation-kernel|native|poll   that suite, every target

step_amalgamation_build() {
    need_tool python3 clang x86_64-w64-mingw32-gcc aarch64-linux-gnu-gcc || return 1
    local dir=build/amalgamation cc
    echo "+ $MAKE amalgamation $dir/conformance"
    t "$MAKE" -j"$JOBS" BUILD=build amalgamation "$dir/conformance" || {
        why "make amalgamation or its conformance build failed"
        return 1
    }
    for cc in clang "x86_64-w64-mingw32-gcc -D__USE_MINGW_ANSI_STDIO=1" aarch64-linux-gnu-gcc; do
        echo "+ $cc -c $dir/anypoll.c"
        # shellcheck disable=SC2086 # the compiler and its flag are two words
        t $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -I"$dir" -c "$dir/anypoll.c" \
            -o /dev/null || {
            why "$dir/anypoll.c does not compile with $cc"
            return 1
        }
    done
    why "$(grep -c '^/\* === src/' "$dir/anypoll.c") sources in one file, $(wc -l <"$dir/anypoll.c") lines: compiles alone with gcc, clang, mingw-w64, aarch64 gcc; the suite built from it"
}

step_amalgamation_suite() { # TARGET
    build_native || return 1
    [ -x build/amalgamation/conformance ] || {
        why "build/amalgamation/conformance missing (step amalgamation-build)"
        return 1
    }
    suite build/amalgamation/conformance --target "$1" || return 1
    why "$SUITE_RESULT"
}

run amalgamation-build "single-file build" step_amalgamation_build
run amalgamation-kernel "suite from the single file, kernel" step_amalgamation_suite kernel
run amalgamation-native "suite from the single file, native" step_amalgamation_suite native
run amalgamation-poll "suite from the single file, poll" step_amalgamation_suite poll
