"""A cheap loopback web for the liveness benchmark, run as its own process.

Why not ``tests/simulator.py``: aiohttp spends ~0.3 ms of CPU per request,
which on a 2-core machine would make every client look alike. This server
is a bare ``asyncio.Protocol``: it parses only the request line, answers
from prebuilt bytes after ``--delay`` seconds (``call_later``, no coroutine
per request), and keeps the server-side view the benchmark reports:
requests, peak concurrency and smallest gap between request starts, per host.

Hosts are 127.77.X.Y addresses (all loopback on Linux), one per simulated
site. ``/p/<n>`` for n < --pages answers 200 HTML; anything else 404.

Protocol: prints ``READY <port>`` when listening; on stdin EOF (or SIGTERM)
prints one JSON line with the stats and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import sys
import time

#: Most bytes of request head accepted before the connection is dropped.
MAX_HEAD_BYTES = 16 * 1024


def host_address(index: int) -> str:
    """The loopback address of simulated host number ``index`` (0-based)."""
    return f"127.77.{index // 250}.{index % 250 + 1}"


def _response(status: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return head.encode() + body


PAGE = _response("200 OK", (
    "<!doctype html><html><head><title>A research page</title></head><body>"
    "<h1>Findings</h1>" + "<p>The study found that sources matter. " * 40 + "</p></body></html>").encode())
MISSING = _response("404 Not Found", b"<html><head><title>404 Not Found</title></head><body>gone</body></html>")


class HostStats:
    __slots__ = ("requests", "active", "peak", "first_start", "last_start", "min_gap", "paths", "gaps", "connections")

    def __init__(self) -> None:
        self.requests = 0
        self.active = 0
        self.peak = 0
        self.first_start = 0.0
        self.last_start = 0.0
        self.min_gap = float("inf")
        self.paths = 0
        self.gaps: list[float] = []
        #: TCP connections opened to this host (a client that keeps connections alive opens few).
        self.connections = 0


class Conn(asyncio.Protocol):
    def __init__(self, stats: HostStats, pages: int, delay: float) -> None:
        self.stats = stats
        self.pages = pages
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES and self.transport:
                    self.transport.close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            line = head.split(b"\r\n", 1)[0]
            parts = line.split(b" ")
            path = parts[1] if len(parts) > 1 else b"/"
            now = time.monotonic()
            s = self.stats
            s.requests += 1
            if s.requests == 1:
                s.first_start = now
            if s.requests > 1:
                s.min_gap = min(s.min_gap, now - s.last_start)
                s.gaps.append(now - s.last_start)
            s.last_start = now
            s.active += 1
            if s.active > s.peak:
                s.peak = s.active
            ok = False
            if path.startswith(b"/p/"):
                try:
                    ok = int(path[3:]) < self.pages
                except ValueError:
                    ok = False
            payload = PAGE if ok else MISSING
            head_only = parts[0] == b"HEAD"
            self.loop.call_later(self.delay, self._answer, payload, head_only)

    def _answer(self, payload: bytes, head_only: bool) -> None:
        self.stats.active -= 1
        if self.transport is not None and not self.transport.is_closing():
            if head_only:
                payload = payload[: payload.index(b"\r\n\r\n") + 4]
            self.transport.write(payload)

    def connection_lost(self, exc) -> None:  # type: ignore[override]
        self.transport = None


async def serve(hosts: int, pages: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    stats = {host_address(i): HostStats() for i in range(hosts)}
    servers = []
    port = 0
    for address, st in stats.items():
        server = await loop.create_server(lambda st=st: Conn(st, pages, delay), address, port, backlog=1024,
                                          reuse_address=True)
        if port == 0:
            port = server.sockets[0].getsockname()[1]
        servers.append(server)
    print(f"READY {port}", flush=True)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_reader(sys.stdin.fileno(), lambda: (sys.stdin.buffer.read1(4096) or done.set()) and None)
    await done.wait()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    gaps = sorted(g for s in stats.values() for g in s.gaps)
    report = {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "requests": sum(s.requests for s in stats.values()),
        "connections": sum(s.connections for s in stats.values()),
        "host_peak_max": max((s.peak for s in stats.values()), default=0),
        "host_min_gap_ms": round(min((s.min_gap for s in stats.values()), default=0) * 1000, 2),
        "per_host_requests_max": max((s.requests for s in stats.values()), default=0),
        "gap_p5_ms": round(gaps[len(gaps) // 20] * 1000, 2) if gaps else None,
        "gap_median_ms": round(gaps[len(gaps) // 2] * 1000, 2) if gaps else None,
        "gaps_under_25ms_pct": round(100 * sum(1 for g in gaps if g < 0.025) / len(gaps), 2) if gaps else None,
        # When requests began and ended (CLOCK_MONOTONIC, shared with the benchmark's process), and how long one
        # host's requests took from first to last start: start-up, steady state and tail can then be told apart.
        "first_start_at": min((s.first_start for s in stats.values() if s.requests), default=None),
        "last_start_at": max((s.last_start for s in stats.values() if s.requests), default=None),
        "host_span_median_ms": round(statistics.median(s.last_start - s.first_start for s in stats.values()
                                                       if s.requests) * 1000, 1) if any(s.requests for s in stats.values()) else None,
    }
    print(json.dumps(report), flush=True)
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--pages", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(serve(args.hosts, args.pages, args.delay))


if __name__ == "__main__":
    main()
