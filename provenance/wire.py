"""A small HTTP/1.1 client for the liveness engine: one keep-alive pool, streamed bodies.

Why not aiohttp or httpx's own pool: on this project's benchmark (5,000
GETs to 250 loopback hosts, 2 cores) a bare ``ClientSession.get`` loop used
2.0-2.7 s of CPU and this client 0.6 s, and importing aiohttp took ~0.28 s
of every run (httptools: ~0.02 s). The engine needs little of a full
client: GET, no cookies, no credentials, no proxies, redirects followed
by the caller, bodies decompressed by the caller within its own caps. So
this module is an ``asyncio.Protocol`` per connection with llhttp (the
parser Node.js uses, through ``httptools``) doing the framing: chunked and
length-delimited bodies, keep-alive, malformed answers.

What it guarantees, whatever the server does:

* Only the addresses the caller's lookup returned are connected to (the
  engine's lookup applies the address policy), never a second lookup.
* A response head larger than MAX_HEAD_BYTES is an error, not memory.
* At most READ_HIGH_WATER bytes of body wait unread per connection: the
  socket stops being read until the caller takes them.
* Cancelling a request (the caller's timeout) closes its connection; a
  connection goes back to the pool only after a complete response.
* At most ``limit`` connections are open at once, counting idle ones:
  the least recently used idle connection is closed to make room.
* A pooled connection that the server closed while it sat idle is retried
  once on a fresh connection, if no byte of an answer arrived on it (by
  :meth:`Wire.open`; :meth:`Wire.send` raises WireStaleConnection and
  leaves the second write to its caller, which may keep a gap first).
* A host with several addresses is connected to Happy-Eyeballs style (RFC
  8305): families interleaved, the next address tried when the last one
  failed or after CONNECT_STAGGER seconds; an address that drops packets
  does not cost the whole timeout.

Timeouts are the caller's (cancel the awaiting task); :class:`Wire` has none.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, urlsplit

import httptools

from .urls import ascii_host, browser_url, fast_split

#: Most bytes of a response's status line and headers (a server streaming endless headers stops here).
MAX_HEAD_BYTES = 64 * 1024
#: Body bytes buffered unread per connection before the socket is paused.
READ_HIGH_WATER = 256 * 1024
READ_LOW_WATER = 64 * 1024
#: Addresses tried per connection attempt (a name with dozens of records is not tried forever).
MAX_ADDRESSES = 4
#: Seconds before the next address is tried while a connect is still pending (RFC 8305 recommends 0.25).
CONNECT_STAGGER = 0.25

#: An async lookup: host name -> addresses to connect to (raise to refuse the host).
AddressLookup = Callable[[str], Awaitable[list[str]]]


class WireError(Exception):
    """A request that got no (complete) answer; ``__cause__`` is the underlying error, if any."""


class WireConnectError(WireError):
    """No connection could be made (refused, unreachable, TLS handshake failed, host refused by the lookup)."""


class WireUnsupported(WireError):
    """The request cannot be sent (bad URL, unsupported scheme, bad header): no retry helps."""


class WireStaleConnection(WireError):
    """A pooled keep-alive connection was closed by the server before any byte of an answer: send again."""


class WireProtocolError(WireError):
    """The server's answer was not HTTP/1.x, or broke its framing, or its head was too large."""


# --- URLs ---

_HOST_NAME = re.compile(r"[a-z0-9._\-]+")
#: Characters left as they are in a request target (everything else is percent-encoded, UTF-8).
_TARGET_SAFE = "/:@!$&'()*+,;=-._~%?[]"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Target:
    """Where a URL's request goes: the connection key, the Host header and the request target."""

    __slots__ = ("scheme", "host", "port", "authority", "path")

    def __init__(self, scheme: str, host: str, port: int, path: str) -> None:
        self.scheme = scheme
        #: Host name (IDNA-encoded) or IP address, without brackets: what is looked up and connected to.
        self.host = host
        self.port = port
        name = f"[{host}]" if ":" in host else host
        #: The Host header.
        self.authority = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
        #: The request target (path and query, percent-encoded).
        self.path = path

    @property
    def key(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def split_url(url: str, _browsed: bool = False) -> Target:
    """Parse an absolute http(s) URL into a :class:`Target`; WireUnsupported when it cannot be requested.

    User info is dropped (no credentials are sent), the fragment too; a
    non-ASCII host is IDNA-encoded and a path with spaces, non-ASCII or
    control characters is percent-encoded (UTF-8), backslashes before the
    query are slashes and dot segments are removed (urls.browser_url), as
    browsers send them.
    """
    split = fast_split(url)
    if split is not None:
        scheme = split[1]
        if scheme is not None:  # a plain URL: nothing to encode or check but the port (and dot segments)
            host, port, path = split[3].strip("[]"), split[4], split[5]  # host, port, target (urls.fast_split)
            if ("/." in path or "/%2" in path) and not _browsed and browser_url(url) != url:
                return _split_slowly(url)
            number = int(port) if port else _DEFAULT_PORTS[scheme]
            if not 0 < number < 65536:
                raise WireUnsupported(f"bad port in {url[:200]}")
            return Target(scheme, host, number, path or "/")
    return _split_slowly(url, _browsed)


def _split_slowly(url: str, browsed: bool = False) -> Target:
    """split_url's slow road: the URL as a browser reads it (urls.browser_url, once), then urlsplit."""
    if not browsed:
        changed = browser_url(url)
        if changed != url:
            return split_url(changed, True)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        number = parts.port
    except ValueError as exc:
        raise WireUnsupported(f"bad URL {url[:200]!r}: {exc}") from exc
    if scheme not in _DEFAULT_PORTS:
        raise WireUnsupported(f"not an http(s) URL: {url[:200]!r}")
    if not host:
        raise WireUnsupported(f"URL has no host: {url[:200]!r}")
    if ":" not in host:
        try:
            host = ascii_host(host)
        except UnicodeError as exc:
            raise WireUnsupported(f"bad host name {host[:100]!r}: {exc}") from exc
        if not _HOST_NAME.fullmatch(host):
            raise WireUnsupported(f"bad host name {host[:100]!r}")
    if number is None:
        number = _DEFAULT_PORTS[scheme]
    elif not 0 < number < 65536:
        raise WireUnsupported(f"bad port in {url[:200]!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, number, quote(path, safe=_TARGET_SAFE))


def _header_lines(headers: dict[str, str]) -> bytes:
    """Header lines, names de-duplicated case-insensitively (the last one wins); CR/LF/NUL refused.

    A Host header given here is dropped: the request's Host is always its URL's own (a caller's copy,
    e.g. httpx's, is not sent twice).
    """
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers.items():
        if name.lower() != "host":
            merged[name.lower()] = (name, str(value))
    lines = []
    for name, value in merged.values():
        if not name or any(c in name for c in "\r\n\0: ") or any(c in value for c in "\r\n\0"):
            raise WireUnsupported(f"header not sendable: {name[:50]!r}")
        lines.append(f"{name}: {value}\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise WireUnsupported(f"header not sendable as Latin-1: {exc}") from exc


_ssl_context: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """The system's trust store with certificate and host name checks, made on first HTTPS use (it reads the CA bundle)."""
    global _ssl_context
    if _ssl_context is None:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        _ssl_context = context
    return _ssl_context


def _interleave_families(addresses: list[str]) -> list[str]:
    """IPv6 and IPv4 addresses alternated, first family first (RFC 8305 section 4)."""
    v6 = [a for a in addresses if ":" in a]
    v4 = [a for a in addresses if ":" not in a]
    if not v6 or not v4:
        return addresses
    first, second = (v6, v4) if ":" in addresses[0] else (v4, v6)
    out: list[str] = []
    for i in range(max(len(first), len(second))):
        out.extend(x[i] for x in (first, second) if i < len(x))
    return out


async def system_lookup(name: str) -> list[str]:
    """Addresses of ``name`` from the system resolver (what a Wire uses when given no lookup)."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


# --- one response ---

class Response:
    """A response whose head has arrived; its body streams through :meth:`iter_chunks`.

    Call :meth:`release` when done: the connection goes back to the pool
    if the whole response arrived, and is closed otherwise.
    """

    __slots__ = ("status", "raw_headers", "http_version", "_conn", "_head", "_chunks", "_buffered", "_waiter",
                 "_error", "complete", "_head_bytes", "_interim", "_until_eof", "_keep_alive", "_head_only",
                 "_released", "got_bytes")

    def __init__(self, conn: "_Connection", head_only: bool) -> None:
        self.status = 0
        #: Header (name, value) pairs as sent, in order.
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.http_version = ""
        #: The whole response has arrived (the connection is at a message boundary).
        self.complete = False
        #: Some byte of an answer arrived.
        self.got_bytes = False
        self._conn = conn
        self._head: asyncio.Future[None] = conn.loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._head_bytes = 0
        self._interim = False
        self._until_eof = False
        self._keep_alive = False
        self._head_only = head_only
        self._released = False

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive (already de-chunked, not decompressed); WireError if the body broke off."""
        conn = self._conn
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if conn.paused and self._buffered <= READ_LOW_WATER:
                    conn.resume()
                yield chunk
                continue
            if self._error is not None:
                raise self._error
            if self.complete or self._released:
                return
            self._waiter = conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def read(self, limit: int) -> bytes:
        """Up to ``limit`` body bytes (the rest is not read)."""
        out = bytearray()
        async for chunk in self.iter_chunks():
            out += chunk[: limit - len(out)]
            if len(out) >= limit:
                break
        return bytes(out)

    def release(self) -> None:
        """Hand the connection back (complete, keep-alive response) or close it (anything else)."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if self.complete and self._keep_alive and self._error is None and not conn.closed:
            conn.response = None
            conn.resume()  # reading may have been paused for unread body bytes that are now dropped
            conn.wire._put_idle(conn)
        else:
            conn.close()
        self._chunks.clear()
        self._wake()

    # called by the connection
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self.complete or self._error is not None:
            return  # the first error is the one that says what went wrong (not the close that followed)
        self._error = error
        if not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved: the opener may already be gone (cancelled)
        self._wake()


def _tolerate_what_browsers_read(parser: httptools.HttpResponseParser) -> None:
    """Accept the sloppiness browsers accept (bare-LF line ends, odd bytes in header values).

    A link checker that calls a page an error because its old server ends
    lines with LF alone reports a page readers can open. Only leniencies
    that cannot change where a response ends are on: framing stays strict
    (two lengths, bad chunk sizes, a bad Transfer-Encoding are still errors),
    so a pooled connection never carries half of the last answer.
    """
    lenient = getattr(parser, "set_dangerous_leniencies", None)
    if lenient is not None:  # httptools >= 0.6.2
        lenient(lenient_headers=True, lenient_optional_cr_before_lf=True)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; llhttp frames its responses."""

    def __init__(self, wire: "Wire", key: tuple[str, str, int]) -> None:
        self.wire = wire
        self.key = key
        self.loop = wire.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        _tolerate_what_browsers_read(self.parser)
        self.response: Response | None = None
        self.closed = False
        self.paused = False
        self.idle_since = 0.0
        #: Why this side closed the connection, when it says more than "closed".
        self.close_reason: str | None = None

    # asyncio.Protocol
    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:
            # Bytes nobody asked for: on an idle connection its framing can't be trusted; on a new one the
            # server talks first (an SSH or mail banner), so it is not an HTTP server.
            self.close_reason = "the server sent bytes before any request (not an HTTP server?)"
            self.close()
            return
        response.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response._fail(WireProtocolError("server switched protocols"))
            self.close()
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
            response._fail(WireProtocolError(f"malformed response: {cause or exc}"[:200]))
            self.close()
            return
        if not response._head.done():
            # Still no end of the head: llhttp holds the partial header in memory, so it is capped here
            # (one read is at most 256 kB, so the cap is overshot by at most that).
            response._head_bytes += len(data)
            if response._head_bytes > MAX_HEAD_BYTES:
                response._fail(WireProtocolError(f"response head over {MAX_HEAD_BYTES} bytes"))
                self.close()

    def connection_lost(self, exc: Exception | None) -> None:  # type: ignore[override]
        self.closed = True
        self.wire._forget(self)
        response = self.response
        if response is not None and not response.complete:
            if response._head.done() and response._until_eof and exc is None and response._error is None:
                response.complete = True  # a body delimited by the end of the connection has ended
                response._wake()
            else:
                error = WireError("server closed the connection" if response._head.done() or not response.got_bytes
                                  else "server closed the connection mid-answer")
                if exc is not None:
                    error.__cause__ = exc
                response._fail(error)

    # llhttp callbacks
    def on_message_begin(self) -> None:
        response = self.response
        if response is None:
            return
        if response.complete:
            # More bytes after a complete answer: nobody asked for them, so the connection is not reused.
            response._keep_alive = False
            raise WireProtocolError("unsolicited data after the response")
        if not response._interim:
            response.raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        response = self.response
        if response is not None:
            response.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        response = self.response
        if response is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the real one follows on the same connection.
            response._interim = True
            response.raw_headers = []
            return
        response.status = status
        response.http_version = self.parser.get_http_version()
        response._keep_alive = self.parser.should_keep_alive()
        if status not in (204, 304) and not response._head_only:
            # RFC 9112 6.3: a Transfer-Encoding whose last coding is chunked is framed by chunks; any
            # other Transfer-Encoding is read to the close (Content-Length ignored); else Content-Length.
            has_length, last_coding = False, None
            for name, value in response.raw_headers:
                lowered = name.lower()
                if lowered == b"content-length":
                    has_length = True
                elif lowered == b"transfer-encoding":
                    last_coding = value.rsplit(b",", 1)[-1].strip().lower()
            framed = last_coding == b"chunked" if last_coding is not None else has_length
            response._until_eof = not framed
        if not response._head.done():
            response._head.set_result(None)
        if response._head_only:
            # llhttp cannot know there is no body after a HEAD: the connection is not reused.
            response._keep_alive = False
            response.complete = True

    def on_body(self, body: bytes) -> None:
        response = self.response
        if response is None or response.complete or response._released:
            return
        response._chunks.append(body)
        response._buffered += len(body)
        if response._buffered > READ_HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        response._wake()

    def on_message_complete(self) -> None:
        response = self.response
        if response is None:
            return
        if response._interim:
            response._interim = False
            return
        response.complete = True
        response._wake()

    # for the pool and the response
    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def closed_error(self) -> WireError:
        """What to raise for a request this connection can no longer carry."""
        if self.close_reason:
            return WireProtocolError(self.close_reason)
        return WireError("server closed the connection before the request was sent")

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
            self.wire._forget(self)


# --- the pool ---

class Lease:
    """A connection taken from the pool for one request (see :meth:`Wire.connect`)."""

    __slots__ = ("conn", "target", "reused")

    def __init__(self, conn: _Connection, target: Target, reused: bool) -> None:
        self.conn = conn
        self.target = target
        #: The connection carried an earlier request (it may turn out closed by the server).
        self.reused = reused


class Wire:
    """A keep-alive pool of HTTP/1.1 connections: ``await open("GET", url)`` gives a :class:`Response`.

    ``lookup`` gives the addresses to connect to for a host name (the engine
    passes its address-policy resolver; the default is the system's);
    ``default_headers`` are sent with every request, before any
    per-request ones; at most ``limit`` connections are open at once,
    idle ones kept for ``keepalive`` seconds.
    """

    def __init__(self, lookup: AddressLookup | None = None, default_headers: dict[str, str] | None = None,
                 limit: int = 100, keepalive: float = 15.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.lookup = lookup or system_lookup
        #: Headers sent on every request (the engine compares these to its own to skip per-request headers).
        self.default_headers = dict(default_headers or {})
        self._default_lines = _header_lines(self.default_headers)
        self.limit = max(1, limit)
        self.keepalive = keepalive
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        #: Idle connections, least recently used first (closed first when the pool is full).
        self._idle_order: OrderedDict[_Connection, None] = OrderedDict()
        self._open: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Connections opened so far (for tests and benchmarks).
        self.connections_opened = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _request_head(self, method: str, target: Target, headers: dict[str, str] | None) -> bytes:
        lines = self._default_lines if headers is None else _header_lines({**self.default_headers, **headers})
        return b"".join((f"{method} {target.path} HTTP/1.1\r\nHost: {target.authority}\r\n".encode("ascii"),
                         lines, b"\r\n"))

    async def open(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        """Send one request and return once the response's head has arrived; the body is left to stream.

        Raises WireUnsupported (cannot be sent), WireConnectError (no
        connection), WireProtocolError (not a usable HTTP answer) or
        WireError (the connection ended before an answer). A pooled
        connection the server had closed is replaced once, transparently.
        """
        try:
            return await self.send(await self.connect(url), method, headers)
        except WireStaleConnection:
            return await self.send(await self.connect(url, fresh=True), method, headers)

    async def connect(self, url: str, fresh: bool = False) -> "Lease":
        """A connection ready to carry a request to ``url`` (pooled, or opened now); nothing is sent yet.

        Splitting this from :meth:`send` lets a caller time the moment the
        request really leaves (the engine's per-host gap is kept there, not
        before a connect of unknown length). Hand the lease to :meth:`send`,
        or back with :meth:`give_back`. ``fresh``: never a pooled connection
        (after a WireStaleConnection).
        """
        target = split_url(url)
        conn = None if fresh else self._take_idle(target.key)
        if conn is not None:
            return Lease(conn, target, True)
        return Lease(await self._connect(target), target, False)

    def give_back(self, lease: "Lease") -> None:
        """Return an unused lease's connection to the pool."""
        if not lease.conn.closed and lease.conn.response is None:
            self._put_idle(lease.conn)

    async def send(self, lease: "Lease", method: str, headers: dict[str, str] | None = None) -> Response:
        """Write the request at once (before any await) and wait for the response's head.

        Raises WireStaleConnection when a pooled connection turns out closed
        by the server before any byte of an answer: the request may be sent
        again on a fresh connection (``connect(url, fresh=True)``). This
        method never sends a request twice itself, so a caller that spaces
        its requests (the engine's per-host gap) sees every write.
        """
        target = lease.target
        try:
            head = self._request_head(method, target, headers)
        except (UnicodeEncodeError, WireUnsupported) as exc:  # a method or header that cannot be sent
            self.give_back(lease)
            if isinstance(exc, WireUnsupported):
                raise
            raise WireUnsupported(f"cannot send to {target.authority}: {exc}") from exc
        conn = lease.conn
        if conn.closed or conn.transport is None or conn.transport.is_closing():
            # Closed while the caller waited (a server's keep-alive timeout during the per-host gap): writing
            # would be dropped (asyncio) or raise RuntimeError (uvloop).
            conn.close()
            if lease.reused and conn.close_reason is None:
                raise WireStaleConnection("the server had closed this pooled connection")
            raise conn.closed_error()
        response = conn.response = Response(conn, method.upper() == "HEAD")
        try:
            try:
                conn.transport.write(head)
            except RuntimeError as exc:  # uvloop: the transport closed under us
                raise WireError(f"server closed the connection: {exc}") from exc
            await response._head
        except WireError as exc:
            conn.close()
            if lease.reused and not response.got_bytes:
                raise WireStaleConnection(f"the server had closed this pooled connection: {exc}") from exc
            raise
        except BaseException:
            conn.close()  # cancelled (the caller's timeout): the answer would be read by nobody
            raise
        return response

    async def _connect(self, target: Target) -> _Connection:
        try:
            addresses = await self.lookup(target.host)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the lookup refuses a host by raising; say why
            raise WireConnectError(str(exc) or type(exc).__name__) from exc
        if not addresses:
            raise WireConnectError(f"{target.host}: no addresses")
        self._make_room()
        # Families mixed first, then cut: four IPv6 addresses first must not crowd out every IPv4 one.
        conn = await self._race(target, _interleave_families(addresses)[:MAX_ADDRESSES])
        if conn.closed:  # e.g. a server that talks first (a banner) and was hung up on
            raise conn.closed_error()
        self._open.add(conn)
        self.connections_opened += 1
        return conn

    async def _open_one(self, target: Target, address: str) -> _Connection:
        https = target.scheme == "https"
        context = (self._ssl or default_ssl_context()) if https else None
        try:
            _transport, conn = await self.loop.create_connection(
                lambda: _Connection(self, target.key), address, target.port,
                ssl=context, server_hostname=target.host if https else None)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise WireConnectError(f"TLS failure: {exc}") from exc
        return conn

    async def _race(self, target: Target, addresses: list[str]) -> _Connection:
        """Happy Eyeballs (RFC 8305): try the addresses in turn, starting the next one when the last
        failed or after CONNECT_STAGGER seconds, whichever is first; the first connection wins.

        Without it, a site whose first address drops packets (a broken IPv6 route, a dead server
        in a DNS round robin) is an error after the whole timeout, though its next address answers.
        """
        if len(addresses) == 1:
            try:
                return await self._open_one(target, addresses[0])
            except OSError as exc:
                raise WireConnectError(str(exc) or type(exc).__name__) from exc
        loop = self.loop
        tasks: list[asyncio.Task[_Connection]] = []
        errors: list[BaseException] = []
        winner: _Connection | None = None
        try:
            while winner is None:
                if len(tasks) < len(addresses):
                    tasks.append(loop.create_task(self._open_one(target, addresses[len(tasks)])))
                running = [t for t in tasks if not t.done()]
                if not running:
                    if len(tasks) == len(addresses):
                        break
                    continue  # every attempt so far failed: the next address at once
                more = len(tasks) < len(addresses)
                done, _ = await asyncio.wait(running, timeout=CONNECT_STAGGER if more else None,
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        winner = task.result()
                        break
                    if isinstance(exc, WireConnectError):  # TLS: the same certificate on every address
                        raise exc
                    errors.append(exc)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
                elif not task.cancelled():
                    exc = task.exception()  # retrieved, so a late failure is not logged as forgotten
                    if exc is None and task.result() is not winner:
                        task.result().close()  # connected too, but later than the winner
        if winner is not None:
            return winner
        last = errors[-1] if errors else None
        raise WireConnectError(str(last) or type(last).__name__) from last

    def _take_idle(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        found = None
        while idle:
            conn = idle.pop()
            self._idle_order.pop(conn, None)
            if conn.closed:
                continue
            if self.loop.time() - conn.idle_since > self.keepalive:
                conn.close()
                continue
            found = conn
            break
        if idle is not None and not idle:
            del self._idle[key]  # a run over 100,000 hosts keeps no empty list per host
        return found

    def _put_idle(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._idle_order[conn] = None

    def _make_room(self) -> None:
        """Close least recently used idle connections until a new one fits under ``limit``."""
        while len(self._open) >= self.limit and self._idle_order:
            conn, _ = self._idle_order.popitem(last=False)
            self._unlist(conn)
            conn.close()

    def _unlist(self, conn: _Connection) -> None:
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)
            if not idle:
                del self._idle[conn.key]

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)
        if conn in self._idle_order:
            del self._idle_order[conn]
            self._unlist(conn)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def aclose(self) -> None:
        """Close every connection, idle or not."""
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()
        self._idle_order.clear()
        await asyncio.sleep(0)  # let the transports finish closing

    async def __aenter__(self) -> "Wire":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()
