"""A simulated web in its own process, for measuring timing from the server's side.

:class:`simulator.SimWeb` runs its servers on a thread of the test process,
so it shares the GIL with the engine under test: on a busy machine it stamps
request arrivals late and in bunches (a stressed run saw a 19 ms gap between
starts the engine had written 31 ms apart). :class:`ProcessSim` runs a SimWeb
in a child process instead, and stamps each request with the time the kernel
received its bytes (SO_TIMESTAMPNS), moved onto ``time.monotonic()``
(CLOCK_MONOTONIC, system-wide on Linux): a child that the scheduler wakes late
(measured: up to 14 ms with two CPU hogs on two cores) still records when the
request arrived. Where the kernel gives no stamps, the moment it was read.

The parent declares sites (pages, sequences, a default answer) over a JSON-line
control pipe (the child's stdin/stdout) and asks for the statistics when the
test is done. Every wait is bounded; the child is always stopped and reaped,
and exits on its own when the pipe closes (its parent died).

Run as a script, this module is the child.
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from simulator import SiteStats

#: Seconds to wait for the child to be ready (it normally takes ~0.3 s: Python and aiohttp imports).
START_TIMEOUT = 10.0
#: Seconds to wait for the answer to one command.
REPLY_TIMEOUT = 10.0
#: Seconds to wait for the child to exit after "stop" (then it is killed).
STOP_TIMEOUT = 5.0
CONTENT_TYPE = "text/html; charset=utf-8"

Response = tuple[int, str, dict[str, str]]


@dataclass
class Page:
    """A fixed answer; ``delay`` seconds pass before it is sent."""

    body: str = "<html><head><title>Page</title></head><body><p>Hello</p></body></html>"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def spec(self) -> dict[str, Any]:
        return {"body": self.body, "status": self.status, "headers": self.headers, "delay": self.delay}


@dataclass
class ProcSiteStats(SiteStats):
    """A site's stats from the child: ``starts`` are when each request reached the host (kernel stamps).

    ``handled`` are the moments the handler ran (what :class:`simulator.SimWeb`
    calls starts): later by however long the child waited to be scheduled.
    """

    handled: list[float] = field(default_factory=list)


@dataclass
class WebStats:
    """What the child's servers saw: per site (by base URL) and the global in-flight peak."""

    sites: dict[str, ProcSiteStats]
    peak: int


class ProcessSimError(RuntimeError):
    """The child failed, answered with an error, or did not answer in time."""


class ProcSite:
    """One simulated host in the child process; mirrors :class:`simulator.Site`'s declaring methods."""

    def __init__(self, web_: "ProcessSim", index: int, host: str, port: int) -> None:
        self.web = web_
        self.index = index
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def page(self, path: str, body: str = Page.body, status: int = 200,
             headers: dict[str, str] | None = None, delay: float = 0.0) -> str:
        """Serve a fixed answer at ``path``; returns the full URL."""
        self.web.request({"op": "page", "site": self.index, "path": path,
                          "page": Page(body, status, headers or {}, delay).spec()})
        return self.url(path)

    def sequence(self, path: str, responses: list[Response]) -> str:
        """Answer the n-th request with ``responses[n]`` (status, body, headers); the last one repeats."""
        self.web.request({"op": "sequence", "site": self.index, "path": path, "responses": _responses(responses)})
        return self.url(path)

    def stats(self) -> ProcSiteStats:
        """A snapshot of what this site has seen so far (fetched from the child)."""
        return self.web.stats().sites[self.base_url]


class ProcessSim:
    """A SimWeb in a child process. Use as a context manager."""

    def __init__(self, start_timeout: float = START_TIMEOUT, reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.start_timeout = start_timeout
        self.reply_timeout = reply_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.sites: list[ProcSite] = []
        #: Seconds the child took to be ready.
        self.startup = 0.0
        self._buffer = b""
        self._stderr = tempfile.TemporaryFile()

    def __enter__(self) -> "ProcessSim":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        began = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, close_fds=True)
        self._read(self.start_timeout)  # the child's "ready" line
        self.startup = time.monotonic() - began

    def site(self, host: str | None = None, pages: dict[str, Page] | None = None,
             sequences: dict[str, list[Response]] | None = None, default: Page | None = None) -> ProcSite:
        """Start a site on ``host`` (next free 127.0.0.x when None) serving the given spec.

        Unknown paths get ``default`` (a 404 page when None).
        """
        reply = self.request({
            "op": "site", "host": host,
            "pages": {path: page.spec() for path, page in (pages or {}).items()},
            "sequences": {path: _responses(answers) for path, answers in (sequences or {}).items()},
            "default": default.spec() if default else None,
        })
        site = ProcSite(self, reply["index"], reply["host"], reply["port"])
        self.sites.append(site)
        return site

    def stats(self) -> WebStats:
        """Everything the child's servers have seen so far."""
        reply = self.request({"op": "stats"})
        sites = {url: ProcSiteStats(requests=s["requests"], active=s["active"], peak=s["peak"], paths=s["paths"],
                                    starts=s["starts"], methods=s["methods"], handled=s["handled"])
                 for url, s in reply["sites"].items()}
        return WebStats(sites=sites, peak=reply["peak"])

    def request(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command and wait (bounded) for its answer."""
        if self.proc is None or self.proc.stdin is None:
            raise ProcessSimError("the simulator is not running")
        try:
            self.proc.stdin.write(json.dumps(command).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise ProcessSimError(f"the simulator is gone: {exc}{self._child_errors()}") from exc
        return self._read(self.reply_timeout)

    def _read(self, timeout: float) -> dict[str, Any]:
        """One JSON line from the child within ``timeout`` seconds."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProcessSimError(f"no answer from the simulator in {timeout} s{self._child_errors()}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise ProcessSimError(f"the simulator exited{self._child_errors()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise ProcessSimError(f"simulator error: {reply.get('error')}")
        return reply

    def _child_errors(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read()[-4000:].decode(errors="replace").strip()
        return f"\nchild stderr:\n{text}" if text else ""

    def close(self) -> None:
        """Stop the child: ask, then close its pipe, then kill; always reaped (every wait bounded)."""
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(b'{"op": "stop"}\n')
                    proc.stdin.flush()
            except OSError:
                pass
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        self._stderr.close()


def _responses(responses: list[Response]) -> list[list[Any]]:
    if not responses:
        raise ValueError("a sequence needs at least one response")
    return [[status, body, dict(headers)] for status, body, headers in responses]


# --- the child ---

#: Linux's SO_TIMESTAMPNS (the socket module has no name for it): the kernel stamps each received packet.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
_TIMESPEC = struct.Struct("@ll")
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0
#: File descriptor -> when the bytes last read from that connection arrived (monotonic seconds).
_arrivals: dict[int, float] = {}


class _StampingSocket(socket.socket):
    """A socket that notes when the kernel received the bytes it reads (its connections do too).

    The event loop reads a request only when the scheduler lets it run; the
    kernel's receive stamp is when the bytes reached this host, so the
    measured gaps are the client's, not this process's wake-ups. Without
    kernel stamps, the moment of the read is used.
    """

    def accept(self) -> tuple["_StampingSocket", Any]:
        fd, addr = self._accept()
        conn = _StampingSocket(self.family, self.type, self.proto, fileno=fd)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, addr

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if not _CMSG_SPACE:
            data = super().recv(bufsize, flags)
            self._note([], len(data))
            return data
        data, ancdata, _flags, _addr = self.recvmsg(bufsize, _CMSG_SPACE, flags)
        self._note(ancdata, len(data))
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        if not _CMSG_SPACE:
            count = super().recv_into(buffer, nbytes, flags)
            self._note([], count)
            return count
        view = memoryview(buffer)
        count, ancdata, _flags, _addr = self.recvmsg_into([view[:nbytes] if nbytes else view], _CMSG_SPACE, flags)
        self._note(ancdata, count)
        return count

    def _note(self, ancdata: list[tuple[int, int, bytes]], count: int) -> None:
        if not count:
            return
        now = time.monotonic()
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(payload)
                # The kernel stamps with the wall clock: move it onto the monotonic one.
                _arrivals[self.fileno()] = min(sec + nsec / 1e9 - _wall_minus_monotonic(), now)
                return
        _arrivals[self.fileno()] = now


def _wall_minus_monotonic() -> float:
    """time.time() - time.monotonic() now, from the tightest of three bracketed reads (a preemption skews one)."""
    best, offset = float("inf"), 0.0
    for _ in range(3):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        if after - before < best:
            best, offset = after - before, wall - (before + after) / 2
        if best < 20e-6:
            break
    return offset


def _listening_socket(host: str, port: int) -> _StampingSocket:
    sock = _StampingSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if SO_TIMESTAMPNS is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # accepted connections inherit it
        except OSError:
            pass
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def _serve() -> None:
    """Answer commands from stdin until "stop" or EOF; replies go to the original stdout only."""
    import asyncio

    from aiohttp import web
    from simulator import SimWeb, Site, free_port

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (from anything) must not corrupt the control pipe

    class StampedSite(Site):
        """A simulator Site on a stamping socket; ``arrivals[i]`` is when request ``i`` reached the host."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.arrivals: list[float] = []

        async def _dispatch(self, request: web.Request) -> web.StreamResponse:
            sock = request.transport.get_extra_info("socket") if request.transport else None
            arrived = _arrivals.get(sock.fileno(), time.monotonic()) if sock is not None else time.monotonic()
            self.arrivals.append(arrived)  # in step with stats.starts: Site._dispatch stamps before its first await
            return await super()._dispatch(request)

        async def _start(self) -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._dispatch)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.SockSite(self._runner, _listening_socket(self.host, self.port), backlog=1024).start()

    def fixed(spec: dict[str, Any]):
        payload = spec["body"].encode()
        headers = {"Content-Type": CONTENT_TYPE, **spec["headers"]}
        status, delay = spec["status"], spec["delay"]

        async def handler(_request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            return web.Response(body=payload, status=status, headers=headers)

        return handler

    async def snapshot(sim: SimWeb) -> dict[str, Any]:
        sites = {site.base_url: {"requests": site.stats.requests, "active": site.stats.active,
                                 "peak": site.stats.peak, "paths": list(site.stats.paths),
                                 "starts": list(site.arrivals), "handled": list(site.stats.starts),
                                 "methods": list(site.stats.methods)}
                 for site in sim.sites}
        return {"sites": sites, "peak": sim.peak}

    def add_routes(site: Site, pages: dict[str, Any], sequences: dict[str, Any]) -> None:
        for path, spec in pages.items():
            site.route(path, fixed(spec))
        for path, answers in sequences.items():
            site.sequence(path, [(status, body, headers) for status, body, headers in answers])

    octets = iter(range(2, 255))

    def new_site(sim: SimWeb, host: str | None, default: dict[str, Any] | None) -> Site:
        host = host or f"127.0.0.{next(octets)}"
        site = StampedSite(sim, host, free_port(host), fixed(default) if default else None)
        sim.run(site._start())
        sim.sites.append(site)  # SimWeb stops its sites on exit
        return site

    with SimWeb() as sim:
        proto.write(json.dumps({"ok": True, "ready": True}) + "\n")
        for line in sys.stdin:
            try:
                command = json.loads(line)
                op = command["op"]
                if op == "stop":
                    break
                if op == "site":
                    site = new_site(sim, command["host"], command["default"])
                    add_routes(site, command["pages"], command["sequences"])
                    reply = {"index": len(sim.sites) - 1, "host": site.host, "port": site.port}
                elif op == "page":
                    add_routes(sim.sites[command["site"]], {command["path"]: command["page"]}, {})
                    reply = {}
                elif op == "sequence":
                    add_routes(sim.sites[command["site"]], {}, {command["path"]: command["responses"]})
                    reply = {}
                elif op == "stats":
                    reply = sim.run(snapshot(sim))
                else:
                    raise ValueError(f"unknown op {op!r}")
                proto.write(json.dumps({"ok": True, **reply}) + "\n")
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
                proto.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")


if __name__ == "__main__":
    _serve()
