"""Loopback servers that answer with scripted raw bytes, for testing the HTTP client (libcurl, provenance/fetch.py).

Unlike ``simulator.py`` (a real aiohttp server), these speak whatever bytes a
test scripts: broken framing, endless heads, interim answers, early closes.
Each accepted connection is handed to an async ``handler(conn)`` running in
the test's own event loop; every wait is bounded and ``stop()`` ends every
connection.
"""

from __future__ import annotations

import asyncio
import threading
import ssl
from dataclasses import dataclass, field

#: Longest request head a RawConn reads (the client's heads are small).
MAX_REQUEST_HEAD = 64 * 1024
#: Default bound on any wait for the client.
WAIT = 2.0


@dataclass
class Request:
    """One request head as the server received it."""

    raw: bytes
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        """Every value sent for ``name`` (case-insensitive), in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


class RawConn:
    """The server side of one connection."""

    def __init__(self, server: "RawServer", index: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        #: 0 for the server's first connection, 1 for the second...
        self.index = index
        self.reader = reader
        self.writer = writer
        self.requests: list[Request] = []

    async def request(self, timeout: float = WAIT) -> Request | None:
        """The next request head, or None when the client closed (or sent nothing in ``timeout``)."""
        try:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = raw.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name, value.strip()))
        request = Request(raw, method, target, version, headers)
        self.requests.append(request)
        self.server.requests.append(request)
        return request

    async def send(self, data: bytes) -> bool:
        """Write and drain ``data``; False if the client has gone."""
        if self.writer.is_closing():
            return False
        try:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), WAIT * 5)
        except (ConnectionError, asyncio.TimeoutError):
            return False
        self.server.bytes_sent += len(data)
        return True

    async def wait_client_close(self, timeout: float = WAIT) -> bool:
        """True once the client closed its side (EOF or reset) within ``timeout``; extra bytes are discarded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return False
            except ConnectionError:
                break
            if not data:
                break
        else:
            return False
        self.server.client_closes += 1
        return True

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        """Close with a reset (no FIN)."""
        self.writer.transport.abort()


@dataclass
class RawServer:
    """A listening socket whose connections run ``handler``; use ``async with RawServer(h) as server``."""

    handler: object
    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    port: int = 0
    #: Connections accepted so far.
    connections: int = 0
    #: Connections open now (accepted, handler not finished).
    open: int = 0
    #: Most connections open at once.
    peak: int = 0
    #: Bytes the handlers wrote and drained.
    bytes_sent: int = 0
    #: Connections where the server saw the client close (through ``wait_client_close``).
    client_closes: int = 0
    requests: list[Request] = field(default_factory=list)
    #: Unexpected handler exceptions (a test can assert there are none).
    errors: list[BaseException] = field(default_factory=list)
    _server: asyncio.AbstractServer | None = None
    _tasks: set = field(default_factory=set)

    async def start(self) -> "RawServer":
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.ssl_context,
                                                  limit=MAX_REQUEST_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/", scheme: str | None = None, host: str | None = None) -> str:
        scheme = scheme or ("https" if self.ssl_context else "http")
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        conn = RawConn(self, self.connections, reader, writer)
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            await self.handler(conn)  # type: ignore[operator]
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:  # noqa: BLE001 - kept for the test to see
            self.errors.append(exc)
        finally:
            self.open -= 1
            writer.close()
            self._tasks.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=WAIT)
            await asyncio.wait_for(self._server.wait_closed(), WAIT)
            self._server = None

    async def __aenter__(self) -> "RawServer":
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()


def response(body: bytes = b"", status: int = 200, headers: list[tuple[str, str]] | None = None,
             version: str = "HTTP/1.1", reason: str = "OK", length: bool = True) -> bytes:
    """A response's bytes; with ``length`` a Content-Length header is added."""
    lines = [f"{version} {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answering(make, max_requests: int = 50):
    """A keep-alive handler: each request on a connection gets ``make(conn, request)``'s bytes (None: close)."""
    async def handler(conn: RawConn) -> None:
        for _ in range(max_requests):
            request = await conn.request()
            if request is None:
                return
            data = make(conn, request)
            if data is None or not await conn.send(data):
                return
    return handler


class RawLoop:
    """Raw servers on a background event loop (check_urls runs its own loop in the test's thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rawloop", daemon=True)
        self.servers: list[RawServer] = []

    def server(self, make, host: str = "127.0.0.1") -> RawServer:
        srv = RawServer(answering(make), host=host)
        asyncio.run_coroutine_threadsafe(srv.start(), self.loop).result(10)
        self.servers.append(srv)
        return srv

    def stop(self) -> None:
        for srv in self.servers:
            asyncio.run_coroutine_threadsafe(srv.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
