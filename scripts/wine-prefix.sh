# scripts/wine-prefix.sh — the Wine prefix anypoll's Windows programs run in (sourced by
# tests/check.d/40-windows.sh and tests/windows_demo.sh).
#
#   source scripts/wine-prefix.sh
#   wine_prefix [--fresh]   exports WINEPREFIX=$PWD/build/wine64, WINEARCH=win64, WINEDEBUG=-all
#                           and an empty DISPLAY, and makes sure the prefix is set up: if it is
#                           missing, was made by another Wine version, or --fresh is given, it is
#                           (re)created with one `wineboot -i`. 0, or 1 with the reason on stderr.
#
# 64-bit only: anypoll's Windows build is x86_64, so no 32-bit side is needed. Debian's wine64
# without wine32 still tries to set up the prefix's 32-bit half on creation and says so
# ("failed to open ...syswow64\rundll32.exe"); that and the rest of wineboot's output go to
# build/wine64.log, once, so the logs of the programs run later hold only their own output.

wine_prefix() {
    local prefix=$PWD/build/wine64 log=$PWD/build/wine64.log version
    export WINEPREFIX=$prefix WINEARCH=win64 WINEDEBUG=-all DISPLAY=
    command -v wine >/dev/null || {
        echo "wine not found (scripts/deps.sh installs it)" >&2
        return 1
    }
    version=$(wine --version 2>/dev/null)
    if [ "${1:-}" != --fresh ] && [ "$(cat "$prefix/.anypoll-ready" 2>/dev/null)" = "$version win64" ]; then
        return 0
    fi
    rm -rf "$prefix"
    mkdir -p "${prefix%/*}"
    # wineboot -i creates the prefix; wineserver -w waits until everything it started is done
    if ! { wineboot -i && wineserver -w; } >"$log" 2>&1 || [ ! -d "$prefix/drive_c/windows/system32" ]; then
        echo "wineboot -i failed to create the Wine prefix $prefix (see $log)" >&2
        return 1
    fi
    echo "$version win64" >"$prefix/.anypoll-ready"
}
