#!/usr/bin/env python3
"""A tiny round-robin TCP front end for the stream tests (loopback only, standard library).

  python3 -m e2e.loadgen.tcp_rr BACKEND_PORT [BACKEND_PORT...]

Listens on a free 127.0.0.1 port (printed on stdout as "port=N", then flushed), and gives each new
connection to the next backend in turn; a backend that refuses the connection is skipped, as a front
end does with an endpoint that is gone. Bytes are copied both ways; when one side closes, the other
is closed too, so a backend killed with SIGKILL looks to the client as it would through a proxy.
It runs until it is killed.
"""
import asyncio
import itertools
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(backends):
    turn = itertools.cycle(range(len(backends)))

    async def handle(c_reader, c_writer):
        start = next(turn)
        for i in range(len(backends)):
            port = backends[(start + i) % len(backends)]
            try:
                b_reader, b_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            c_writer.close()  # no backend left: the client sees the connection end at once
            return
        await asyncio.gather(pipe(c_reader, b_writer), pipe(b_reader, c_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("port=%d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main([int(p) for p in sys.argv[1:]]))
