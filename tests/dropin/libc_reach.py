#!/usr/bin/env python3
"""tests/dropin/libc_reach.py LIBC.a "NAMES" OBJECT... — in a static link, may the library reach
one of the drop-in's names through libc? (tests/check.d/33-static.sh, step static-build)

The library's own objects (OBJECT..., the drop-in's left out) never call the names the drop-in
exports (read, close, poll...: step dropin-symbols). But they call libc functions (malloc,
pthread_create, fprintf, socketpair...), and in a static link those functions' own calls to a
*public* name bind to the drop-in too: musl's getaddrinfo calls close and poll by those names,
glibc's mostly through internal aliases (__close). If any libc member the library can reach,
transitively, called a drop-in name, anypoll could come back into itself (a lock taken twice).
This follows every libc member the library's undefined symbols pull in, then theirs, and prints
each member that calls a drop-in name; exit 1 if there is one."""
import subprocess
import sys
from collections import deque


def nm(paths):
    out = subprocess.run(["nm", "-A"] + paths, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        where, _, rest = line.rpartition(": ") if ": " in line else line.rpartition(":")
        fields = rest.split()
        if len(fields) == 2:  # "U sym"
            yield where, fields[0], fields[1]
        elif len(fields) == 3:  # "addr T sym"
            yield where, fields[1], fields[2]


def main():
    libc, names, objs = sys.argv[1], set(sys.argv[2].split()), sys.argv[3:]
    need, have = set(), set()
    for _, kind, sym in nm(objs):
        (need if kind == "U" else have).add(sym)
    defs, calls = {}, {}
    for member, kind, sym in nm([libc]):
        if kind == "U":
            calls.setdefault(member, set()).add(sym)
        elif kind in "WV":
            defs.setdefault(sym, member)  # weak: a strong definition elsewhere wins
        elif kind.isupper():
            defs[sym] = member
    seen, queue, root = set(), deque(), {}
    for sym in sorted(need - have):
        m = defs.get(sym)
        if m and m not in seen:
            seen.add(m)
            root[m] = sym
            queue.append(m)
    bad = []
    while queue:
        m = queue.popleft()
        for sym in sorted(calls.get(m, ())):
            if sym in names:
                bad.append(f"{m} calls {sym} (reached from the library's call to {root[m]})")
            elif sym in defs and defs[sym] not in seen:
                seen.add(defs[sym])
                root[defs[sym]] = root[m]
                queue.append(defs[sym])
    print(f"{libc}: {len(seen)} members reachable from the library's {len(need - have)} outside calls; "
          f"{len(bad)} call a drop-in name")
    for b in bad:
        print("  recursion:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
