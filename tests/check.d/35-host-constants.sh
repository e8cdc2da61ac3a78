# tests/check.d/35-host-constants.sh — host constants are not compile-time constants (sourced by
# tests/check.sh). Room: portability.
#
# Under Cosmopolitan, POLLIN, SIGCHLD, O_NONBLOCK, EINVAL... are values the loader fills in at
# run time for the host it finds: a static table or a `case` label over one does not compile.
# This step compiles every portable file of the library (all of src/ but *_linux.c and the
# Windows files) with a header that makes those constants run-time values
# (tests/hostconst/runtime_constants.py), so a new one fails here without a Cosmopolitan
# toolchain. It first shows that the header bites: a static table over POLLIN and a case
# label over SIGCHLD must not compile with it.
#
#   host-constants    every portable file compiles with the host's constants as run-time values

step_host_constants() {
    need_tool python3 cc || return 1
    local dir=$LOG/host-constants n f files bad=()
    mkdir -p "$dir"
    n=$(python3 tests/hostconst/runtime_constants.py "$dir/runtime_constants.h") || {
        why "could not generate the header"
        return 1
    }
    printf 'static const short table[] = {POLLIN};\nshort first(void) { return table[0]; }\n' >"$dir/table.c"
    printf 'int is_chld(int s) { switch (s) { case SIGCHLD: return 1; default: return 0; } }\n' >"$dir/case.c"
    for f in table case; do
        if cc -std=c11 -D_GNU_SOURCE -include "$dir/runtime_constants.h" -c "$dir/$f.c" -o /dev/null >>"$dir/probe.log" 2>&1; then
            why "the header does not bite: $f.c compiled"
            return 1
        fi
    done
    files=$(find src -name '*.c' ! -name '*_linux.c' ! -path 'src/engines/win/*' ! -name '*_win.c' | sort)
    for f in $files; do
        echo "+ $f"
        t cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc \
            -include "$dir/runtime_constants.h" -c "$f" -o /dev/null || bad+=("$f")
    done
    if [ ${#bad[@]} -gt 0 ]; then
        why "a host constant used as a compile-time constant in ${bad[*]} (see the log)"
        return 1
    fi
    why "$(wc -w <<<"$files") portable files compile with $n host constants as run-time values (a static table over POLLIN and a case label over SIGCHLD do not)"
}

run host-constants "host constants are run-time values" step_host_constants
