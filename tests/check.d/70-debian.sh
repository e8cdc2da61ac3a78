# tests/check.d/70-debian.sh — the Debian packages (debian/): built, checked by lintian, unpacked
# in a scratch root and used from there. Sourced by tests/check.sh (helpers: why, need_tool, t,
# run, and the install step's use_pkgconfig, use_cmake, man_pages, write_hello).
#
#   deb   dpkg-buildpackage -us -uc -b on a copy of the tree in build/deb-pkg/ (so nothing it
#         writes lands in the repository; DEB_BUILD_OPTIONS=nocheck: the suite is make check's),
#         lintian with no error allowed, then libanypoll0, libanypoll-dev and anypoll unpacked
#         (dpkg-deb -x) in a scratch root: its anypoll probe passes, its anypoll run preloads its
#         libanypoll.so.0, a pkg-config and a CMake project build and run against it, and its
#         manual pages lint clean, format and are found by man.

step_deb() {
    need_tool dpkg-buildpackage dh lintian dpkg-deb pkg-config cmake mandoc man python3 || return 1
    local work=$PWD/build/deb-pkg version arch triplet src root changes out rc=0 lint e w deb
    version=$(dpkg-parsechangelog -l debian/changelog -S Version) || {
        why "debian/changelog does not parse"
        return 1
    }
    arch=$(dpkg-architecture -qDEB_HOST_ARCH)
    triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    src=$work/anypoll-$version
    root=$work/root
    rm -rf "$work"
    mkdir -p "$src" "$root"
    echo "+ copy of the tree (without build/ and .git/) into $src"
    tar -cf - --exclude=./build --exclude=./.git . | tar -C "$src" -xf - || {
        why "cannot copy the tree to $src"
        return 1
    }
    echo "+ (cd $src && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b)"
    (cd "$src" && DEB_BUILD_OPTIONS=nocheck t dpkg-buildpackage -us -uc -b) || {
        why "dpkg-buildpackage -us -uc -b failed"
        return 1
    }
    changes=$work/anypoll_${version}_$arch.changes
    for deb in libanypoll0 libanypoll-dev anypoll; do
        [ -e "$work/${deb}_${version}_$arch.deb" ] || {
            why "dpkg-buildpackage made no $deb package"
            return 1
        }
    done
    echo "+ lintian --fail-on error $changes"
    lint=$(t lintian --fail-on error "$changes" 2>&1) || rc=$?
    printf '%s\n' "$lint"
    e=$(grep -c '^E: ' <<<"$lint" || true)
    w=$(grep -c '^W: ' <<<"$lint" || true)
    if [ $rc -ne 0 ] || [ "$e" -ne 0 ]; then
        why "lintian: $e error(s), exit $rc: $(grep -m1 '^E: ' <<<"$lint")"
        return 1
    fi
    for deb in libanypoll0 libanypoll-dev anypoll; do
        echo "+ dpkg-deb -x ${deb}_${version}_$arch.deb $root"
        dpkg-deb -x "$work/${deb}_${version}_$arch.deb" "$root" || {
            why "dpkg-deb -x $deb failed"
            return 1
        }
    done
    echo "+ $root/usr/bin/anypoll probe"
    rc=0
    out=$(t "$root/usr/bin/anypoll" probe 2>&1) || rc=$?
    printf '%s\n' "$out"
    if [ $rc -ne 0 ] || ! grep -q '^self-check: pass' <<<"$out"; then
        why "the packaged anypoll probe failed (exit $rc): $(grep -m1 -E '^(engine|self-check)' <<<"$out")"
        return 1
    fi
    # anypoll run finds the runtime package's libanypoll.so.0 (../lib/<triplet>) and preloads it
    local py='import select; select.epoll().close()'
    echo "+ ANYPOLL_REPORT=$work/report $root/usr/bin/anypoll run -- python3 -c '$py'"
    rm -f "$work/report"
    ANYPOLL_REPORT=$work/report t "$root/usr/bin/anypoll" run -- python3 -c "$py" &&
        grep 'engine native' "$work/report" || {
        why "the packaged anypoll run did not preload $root/usr/lib/$triplet/libanypoll.so.0"
        return 1
    }
    use_pkgconfig "$root" "/usr/lib/$triplet" "$work" || return 1
    use_cmake "$root" /usr "/usr/lib/$triplet" "$work" || return 1
    man_pages "$root" /usr/share/man || return 1
    why "libanypoll0, libanypoll-dev, anypoll $version built; lintian: 0 errors, $w warning(s); unpacked: anypoll probe passes, anypoll run preloads libanypoll.so.0, pkg-config and CMake projects build and run, $INSTALLED_RESULT"
}

run deb "Debian packages: build, lintian, use" step_deb
