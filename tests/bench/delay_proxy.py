#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that behaves like a wide-area link: each new
connection waits one round-trip time before it reaches the target (the TCP
handshake), and every chunk of bytes is delivered half a round-trip time after
it was read, in each direction (order kept, chunks in flight overlap as on a
real link). So TLS handshakes and every request/response exchange cost what
they cost over a WAN, which latency injected inside a server hides.

    delay_proxy.py --rtt-ms 50 --ready-file R --log L TARGET_HOST:PORT [...]

Listens on one free port per target; the ready file gets
{"HOST:PORT": listen_port, …}. The log gets one JSON line per event:
{"t": seconds since start, "conn": n, "event": "open" | "up" | "down" | "close", "bytes": n},
where "up" is a burst of client bytes that followed a response (a new
request, or a handshake flight) and "down" the first bytes of an answer to it.
Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import json
import signal
import time


class EventLog:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1) if path else None
        self.began = time.monotonic()
        self.connections = 0

    def write(self, conn, event, count=0):
        if self.file:
            self.file.write(json.dumps({"t": round(time.monotonic() - self.began, 4), "conn": conn,
                                        "event": event, "bytes": count}) + "\n")


async def pump(reader, writer, delay, on_chunk):
    """Copies reader to writer, each chunk delivered `delay` seconds after it was read."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    delivery = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            on_chunk(len(data))
            queue.put_nowait((time.monotonic() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((time.monotonic() + delay, None))
    try:
        await delivery
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, host, port, rtt, log):
    log.connections += 1
    conn = log.connections
    log.write(conn, "open")
    await asyncio.sleep(rtt)  # the TCP handshake
    try:
        server_reader, server_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    state = {"last": None}

    def seen(direction):
        def on_chunk(count):
            if state["last"] != direction:
                log.write(conn, direction, count)
                state["last"] = direction
        return on_chunk

    await asyncio.gather(pump(client_reader, server_writer, rtt / 2, seen("up")),
                         pump(server_reader, client_writer, rtt / 2, seen("down")))
    log.write(conn, "close")
    for writer in (server_writer, client_writer):
        try:
            writer.close()
        except OSError:
            pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt-ms", type=float, default=50)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--log")
    parser.add_argument("targets", nargs="+", help="HOST:PORT")
    args = parser.parse_args()
    rtt = args.rtt_ms / 1000.0
    log = EventLog(args.log)
    ports = {}
    servers = []
    for target in args.targets:
        host, port = target.rsplit(":", 1)
        server = await asyncio.start_server(
            lambda r, w, h=host, p=int(port): handle(r, w, h, p, rtt, log), "127.0.0.1", 0)
        servers.append(server)
        ports[target] = server.sockets[0].getsockname()[1]
    with open(args.ready_file + ".tmp", "w") as f:
        json.dump(ports, f)
    import os
    os.rename(args.ready_file + ".tmp", args.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
