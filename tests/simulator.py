"""A real HTTP web on loopback addresses for tests and benchmarks.

Each :class:`Site` is an aiohttp server on its own 127.0.0.x address (a
"host" for per-host politeness), with a route table that tests fill with
well-behaved and hostile pages. The servers run on one event loop in a
background thread; :class:`SimWeb` counts requests and in-flight peaks per
site so tests can assert politeness from the server's side.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Seconds a test may wait for the simulator to start or stop.
START_TIMEOUT = 10.0
#: An endless body stops after this many bytes or seconds, whichever first (the server is bounded too).
ENDLESS_MAX_BYTES = 512 * 1024 * 1024
ENDLESS_MAX_SECONDS = 60.0


@dataclass
class SiteStats:
    """Server-side view of one site: what the client actually did."""

    requests: int = 0
    active: int = 0
    peak: int = 0
    paths: list[str] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    #: Bytes of body written by streaming handlers (endless bodies).
    streamed: int = 0

    def min_gap(self) -> float:
        """Smallest gap in seconds between two request starts (inf with fewer than two)."""
        ordered = sorted(self.starts)
        return min((b - a for a, b in zip(ordered, ordered[1:])), default=float("inf"))


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Site:
    """One simulated host: an address, a port and a route table."""

    def __init__(self, web_: "SimWeb", host: str, port: int, default: Handler | None = None,
                 ssl_context: "ssl.SSLContext | None" = None) -> None:
        self.web = web_
        #: Serve HTTPS with this context (None: plain HTTP).
        self.ssl_context = ssl_context
        self.host = host
        self.port = port
        self.routes: dict[str, Handler] = {}
        self.default = default
        self.stats = SiteStats()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> str:
        """Serve ``handler`` at ``path`` (path plus query string, exact); returns the full URL."""
        self.routes[path] = handler
        return self.url(path)

    def page(self, path: str, body: str | bytes = "<html><head><title>Page</title></head><body><p>Hello</p></body></html>",
             status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0,
             content_type: str = "text/html; charset=utf-8") -> str:
        """A fixed response (cached bytes, so the simulator is never the bottleneck)."""
        payload = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": content_type, **(headers or {})}

        async def handler(_request: web.Request) -> web.StreamResponse:
            if delay:
                await asyncio.sleep(delay)
            return web.Response(body=payload, status=status, headers=hdrs)

        return self.route(path, handler)

    def redirect(self, path: str, location: str, status: int = 301) -> str:
        async def handler(_request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        return self.route(path, handler)

    def sequence(self, path: str, responses: list[tuple[int, str, dict[str, str]]],
                 content_type: str = "text/html; charset=utf-8") -> str:
        """Answer the n-th request with ``responses[n]`` (status, body, headers); the last one repeats."""
        served = 0

        async def handler(_request: web.Request) -> web.StreamResponse:
            nonlocal served
            status, body, headers = responses[min(served, len(responses) - 1)]
            served += 1
            return web.Response(body=body.encode(), status=status, headers={"Content-Type": content_type, **headers})

        return self.route(path, handler)

    def endless(self, path: str, content_type: str = "text/html; charset=utf-8", chunk_delay: float = 0.0) -> str:
        """A 200 whose body never ends (until ENDLESS_MAX_BYTES/SECONDS or the client leaves)."""
        chunk = b"<p>" + b"more " * 4000 + b"</p>\n"

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
            await response.prepare(request)
            await response.write(b"<html><head><title>Endless</title></head><body>")
            started = time.monotonic()
            try:
                while self.stats.streamed < ENDLESS_MAX_BYTES and time.monotonic() - started < ENDLESS_MAX_SECONDS:
                    await response.write(chunk)
                    self.stats.streamed += len(chunk)
                    await asyncio.sleep(chunk_delay)
            except (ConnectionError, asyncio.CancelledError):
                pass
            return response

        return self.route(path, handler)

    def gzip_bomb(self, path: str, size: int = 256 * 1024 * 1024) -> str:
        """A 200 HTML page whose gzip body inflates to ``size`` bytes (compressed once, cached)."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = b"\0" * (1024 * 1024)
        parts = [compressor.compress(b"<html><head><title>Bomb</title></head><body>")]
        for _ in range(size // len(block)):
            parts.append(compressor.compress(block))
        parts.append(compressor.flush())
        payload = b"".join(parts)
        assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload[:64])[:6] == b"<html>"  # it is gzip

        async def handler(_request: web.Request) -> web.StreamResponse:
            return web.Response(body=payload, status=200,
                                headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"})

        return self.route(path, handler)

    def head_refused(self, path: str, body: str = "<html><head><title>Page</title></head><body>Hi</body></html>") -> str:
        """405 to HEAD, 200 to GET: servers that never implemented HEAD."""
        async def handler(request: web.Request) -> web.StreamResponse:
            if request.method == "HEAD":
                return web.Response(status=405, headers={"Allow": "GET"})
            return web.Response(text=body, content_type="text/html")

        return self.route(path, handler)

    def catch_all(self, body: str, status: int = 200) -> None:
        """Answer every path without a route with the same page (``{path}`` is replaced by the path)."""
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(text=body.replace("{path}", request.path), status=status, content_type="text/html")

        self.default = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        stats.active += 1
        stats.peak = max(stats.peak, stats.active)
        self.web.active += 1
        self.web.peak = max(self.web.peak, self.web.active)
        stats.paths.append(request.path_qs)
        stats.methods.append(request.method)
        stats.starts.append(time.monotonic())
        try:
            handler = self.routes.get(request.path_qs) or self.routes.get(request.path) or self.default
            if handler is None:
                return web.Response(status=404, text="<html><title>404 Not Found</title></html>", content_type="text/html")
            return await handler(request)
        finally:
            stats.active -= 1
            self.web.active -= 1

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, backlog=1024, ssl_context=self.ssl_context).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class SimWeb:
    """A set of sites on one background event loop. Use as a context manager."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="simweb", daemon=True)
        self.sites: list[Site] = []
        self._next_octet = 2
        #: Requests in flight across all sites, and the most seen at once (global concurrency).
        self.active = 0
        self.peak = 0

    def __enter__(self) -> "SimWeb":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, coro: Awaitable, timeout: float = START_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def site(self, host: str | None = None, default: Handler | None = None,
             ssl_context: "ssl.SSLContext | None" = None) -> Site:
        """Start a new site on ``host`` (next free 127.0.0.x when None); HTTPS with ``ssl_context``."""
        if host is None:
            host = f"127.0.0.{self._next_octet}"
            self._next_octet += 1
            if self._next_octet > 254:
                self._next_octet = 2
        site = Site(self, host, free_port(host), default, ssl_context)
        self.run(site._start())
        self.sites.append(site)
        return site

    def closed_port_url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """A URL on a port where nothing listens (connection refused)."""
        return f"http://{host}:{free_port(host)}{path}"

    def call_soon(self, func: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(func)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        for site in self.sites:
            try:
                self.run(site._stop())
            except Exception:  # noqa: BLE001 - stopping must not raise in teardown
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT)
        self.loop.close()
