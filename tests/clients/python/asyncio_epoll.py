"""asyncio TCP round trip on selectors.EpollSelector, chosen explicitly (never a fallback).

Room: the Python real client (tests/clients/python, run by tests/check.d/30-python.sh). Uses
only the standard library, so whatever carries it on a host without epoll is the drop-in.

A server on 127.0.0.1 echoes every line it reads; CLIENTS concurrent clients each send ROUNDS
messages of growing size and check every echo byte for byte. Then SUBPROCS child processes
(`cat`, spawned by asyncio through vfork, its pipes registered in the same selector) each echo
PIPE_BYTES bytes. The last line printed is
    asyncio-epoll: CLIENTS clients, N round trips, B bytes echoed, S subprocesses piped P bytes, selector EpollSelector
and the exit status is 0 only if every count and byte matched. If the selector cannot be
created, it prints `asyncio-epoll: no epoll: [Errno E] ...` and exits 3.
"""
import asyncio
import selectors
import subprocess
import sys

CLIENTS = 20
ROUNDS = 25
SUBPROCS = 5
PIPE_BYTES = 200000


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def client(port, k):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    trips = nbytes = 0
    for r in range(ROUNDS):
        msg = (f"{k}:{r}:" + "x" * (r * 97 + k)).encode() + b"\n"
        writer.write(msg)
        await writer.drain()
        echo = await reader.readexactly(len(msg))
        if echo != msg:
            raise AssertionError(f"client {k} round {r}: echo differs")
        trips += 1
        nbytes += len(echo)
    writer.close()
    await writer.wait_closed()
    return trips, nbytes


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    results = await asyncio.wait_for(
        asyncio.gather(*(client(port, k) for k in range(CLIENTS))), timeout=60)
    server.close()
    await server.wait_closed()
    piped = 0
    for k in range(SUBPROCS):
        data = bytes((k + i) % 251 for i in range(PIPE_BYTES))
        proc = await asyncio.create_subprocess_exec(
            "cat", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = await asyncio.wait_for(proc.communicate(data), timeout=60)
        if out != data or proc.returncode != 0:
            raise AssertionError(f"subprocess {k}: {len(out)} bytes back, exit {proc.returncode}")
        piped += len(out)
    return results, piped


def expected_bytes():
    return sum(len((f"{k}:{r}:" + "x" * (r * 97 + k)).encode()) + 1
               for k in range(CLIENTS) for r in range(ROUNDS))


if __name__ == "__main__":
    try:
        selector = selectors.EpollSelector()
    except OSError as e:
        print(f"asyncio-epoll: no epoll: [Errno {e.errno}] {e.strerror}")
        sys.exit(3)
    loop = asyncio.SelectorEventLoop(selector)
    try:
        results, piped = loop.run_until_complete(main())
        used = type(loop._selector).__name__
    finally:
        loop.close()
    trips = sum(t for t, _ in results)
    nbytes = sum(b for _, b in results)
    if (used != "EpollSelector" or trips != CLIENTS * ROUNDS or nbytes != expected_bytes()
            or piped != SUBPROCS * PIPE_BYTES):
        print(f"asyncio-epoll: MISMATCH selector {used}, {trips} round trips, {nbytes} bytes, "
              f"{piped} piped (want {CLIENTS * ROUNDS}, {expected_bytes()}, "
              f"{SUBPROCS * PIPE_BYTES})")
        sys.exit(1)
    print(f"asyncio-epoll: {CLIENTS} clients, {trips} round trips, {nbytes} bytes echoed, "
          f"{SUBPROCS} subprocesses piped {piped} bytes, selector {used}")
