"""The fetch layer: one GET through libcurl (curl_cffi), pinned to vetted addresses, bounded.

Why libcurl: a hand-written HTTP/1.1 client read less of the real web
than curl or a browser does (no proxies, no HTTP/2, no br or zstd, strict
framing). libcurl through curl_cffi brings all of it, with BoringSSL and
browser TLS and HTTP/2 fingerprints for the one retry a bot wall earns
(:data:`IMPERSONATE_TARGET`). It is driven here through curl_cffi's
lower-level ``Curl`` handles on one multi handle per event loop (:class:`_Multi`,
a leaner ``AsyncCurl``), because the engine needs per-request options its ``AsyncSession``
does not take.

What it guarantees, whatever the server does:

* Only the addresses the engine's address policy approved are connected
  to: each handle gets ``CURLOPT_RESOLVE`` entries for its host, so libcurl
  never looks the name up itself, and ``CURLOPT_PREREQFUNCTION`` (called
  once connected, before the request is sent) refuses a connection to any
  other address. Through a proxy that resolves names itself, the proxy is
  connected to (the user's own setting) and the target is never looked up
  here. Redirects are followed by the engine, one request per hop.
* A response head over MAX_HEAD_BYTES (Chrome's limit) stops the transfer;
  a body is read only as far as the caller's ``want`` says, counted after
  decompression (a gzip bomb stops there), and a transfer stopped early
  closes its connection.
* Cancelling the awaiting task (the engine's timeout) removes the transfer
  from the multi handle, which closes its connection.
* A connection whose answer had lenient framing (Transfer-Encoding with
  Content-Length, repeated or listed Content-Length) is not reused.

The engine keeps its own politeness, retries and judging; this module
knows nothing of hosts or verdicts.
"""

from __future__ import annotations

import asyncio
import errno as _errno
import functools
import ipaddress
import re
import select
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from curl_cffi import Curl, CurlError, CurlInfo, CurlOpt
from curl_cffi._wrapper import ffi
from curl_cffi._wrapper import lib as _curl_lib
from curl_cffi.const import CurlECode, CurlHttpVersion, CurlMOpt

from .network import Proxies, resolves_remotely
from .urls import ascii_host, browser_url, fast_split

#: Most bytes of a response's status line and headers, interim answers included (Chrome's limit: 256 KiB).
MAX_HEAD_BYTES = 256 * 1024
#: curl_cffi's browser profile for the one retry a bot wall earns (its newest Chrome when it names one).
IMPERSONATE_TARGET = "chrome"
#: What a write callback returns to stop a transfer (libcurl's CURL_WRITEFUNC_ERROR).
_STOP = 0xFFFFFFFF
#: libcurl's CURL_PREREQFUNC_OK / CURL_PREREQFUNC_ABORT.
_PREREQ_OK, _PREREQ_ABORT = 0, 1

_ECONNREFUSED = _errno.ECONNREFUSED
#: Long option values as libcurl's glue takes them (a pointer to the value), made once.
_ZERO, _ONE = ffi.new("long *", 0), ffi.new("long *", 1)
_HOST_NAME = re.compile(r"[a-z0-9._\-]+")
#: Characters left as they are in a request target (everything else is percent-encoded, UTF-8).
_TARGET_SAFE = "/:@!$&'()*+,;=-._~%?[]"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchError(Exception):
    """A request that got no usable answer; ``retry`` says whether trying again may help."""

    def __init__(self, reason: str, retry: bool = True, code: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        #: libcurl's error code (CURLE_*), 0 when the error is not libcurl's.
        self.code = code


class FetchUnsupported(FetchError):
    """The request cannot be sent (bad URL, unsupported scheme, bad header): no retry helps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retry=False)


class StaleConnection(FetchError):
    """A reused connection the server had closed: libcurl would resend at once, so the caller resends instead
    (and may keep a gap first: the first write never reached the server's application)."""


class UnknownEncoding(FetchError):
    """The answer named a content-coding libcurl does not know: ask again and read the body as it is."""


# --- where a URL's request goes ---

class Target:
    """Where a URL's request goes: scheme, host (IDNA, no brackets), port, and the URL libcurl is given."""

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

    @property
    def url(self) -> str:
        """The URL as it is sent: what libcurl is given."""
        return f"{self.scheme}://{self.authority}{self.path}"


def split_url(url: str, _browsed: bool = False) -> Target:
    """Parse an absolute http(s) URL into a :class:`Target`; FetchUnsupported when it cannot be requested.

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
                raise FetchUnsupported(f"bad port in {url[:200]}")
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
        raise FetchUnsupported(f"bad URL {url[:200]!r}: {exc}") from exc
    if scheme not in _DEFAULT_PORTS:
        raise FetchUnsupported(f"not an http(s) URL: {url[:200]!r}")
    if not host:
        raise FetchUnsupported(f"URL has no host: {url[:200]!r}")
    if ":" not in host:
        try:
            host = ascii_host(host)
        except UnicodeError as exc:
            raise FetchUnsupported(f"bad host name {host[:100]!r}: {exc}") from exc
        if not _HOST_NAME.fullmatch(host):
            raise FetchUnsupported(f"bad host name {host[:100]!r}")
    if number is None:
        number = _DEFAULT_PORTS[scheme]
    elif not 0 < number < 65536:
        raise FetchUnsupported(f"bad port in {url[:200]!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, number, quote(path, safe=_TARGET_SAFE))


def _header_lines(headers: dict[str, str]) -> list[str]:
    """Header lines, names de-duplicated case-insensitively (the last one wins); CR/LF/NUL refused.

    Host is dropped (a request's Host is always its URL's own) and
    Accept-Encoding is left to the caller (libcurl must know the codings
    it offered to decode them).
    """
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers.items():
        if name.lower() not in ("host", "accept-encoding"):
            merged[name.lower()] = (name, str(value))
    lines = []
    for name, value in merged.values():
        if not name or any(c in name for c in "\r\n\0: ") or any(c in value for c in "\r\n\0"):
            raise FetchUnsupported(f"header not sendable: {name[:50]!r}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise FetchUnsupported(f"header not sendable as Latin-1: {exc}") from exc
        # "Name;" sends a header with an empty value ("Name:" would remove one of libcurl's own).
        lines.append(f"{name}: {value}" if value else f"{name};")
    return lines


def _accept_encoding(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "accept-encoding":
            return value
    return None


# --- one answer ---

@dataclass
class Answer:
    """What one GET got: the final head and as much of the body as was wanted."""

    status: int
    raw_headers: list[tuple[bytes, bytes]]
    body: bytearray = field(default_factory=bytearray)
    #: Why reading stopped early ('' when the whole body was read or none was wanted).
    cut: str = ""
    #: "1.1", "2" ... as the status line said.
    http_version: str = ""
    #: The final head has arrived (a timeout after it keeps what came).
    head_done: bool = False
    #: The framing needed leniency (its connection was not reused).
    quirky: bool = False


#: want(status, raw_headers) -> decoded body bytes to keep; drain(...) -> bytes worth reading to keep the
#: connection (a short body is cheaper to read than a connection to re-open).
WantBody = Callable[[int, list[tuple[bytes, bytes]]], int]


class _Transfer:
    """One handle's callbacks: the head as it arrives, the body within ``want``, into the caller's Answer."""

    __slots__ = ("curl", "want_body", "drain", "answer", "head_bytes", "want", "drained", "stopped",
                 "over_head", "allowed", "refused", "on_send", "handle", "sends", "error")

    def __init__(self, curl: Curl, want_body: WantBody, drain: int, allowed: frozenset[str] | None,
                 on_send: Callable[[], None] | None, answer: Answer) -> None:
        self.curl = curl
        self.want_body = want_body
        self.drain = drain
        self.answer = answer
        self.head_bytes = 0
        self.want: int | None = None
        self.drained = 0
        #: The transfer was stopped here on purpose (a body cap), not by a failure.
        self.stopped = False
        self.over_head = False
        #: Addresses the connection may go to (None: through a proxy, which the user chose).
        self.allowed = allowed
        self.refused = ""
        self.on_send = on_send
        self.handle = None
        #: Times libcurl was about to send this request (a second time: a reused connection had died).
        self.sends = 0
        #: An exception one of the callbacks raised (it cannot cross libcurl: the transfer stops, the caller raises it).
        self.error: BaseException | None = None

    def header(self, line: bytes) -> int:
        self.head_bytes += len(line)
        if self.head_bytes > MAX_HEAD_BYTES:
            self.over_head = True
            return _STOP
        answer = self.answer
        if line.startswith(b"HTTP/"):
            # A new head: an interim answer (100, 103) before the final one starts over.
            parts = line.split(None, 2)
            try:
                answer.status = int(parts[1])
            except (IndexError, ValueError):
                answer.status = 0
            answer.http_version = parts[0][5:].decode("latin-1")
            answer.raw_headers = []
            answer.head_done = False
            return len(line)
        stripped = line.rstrip(b"\r\n")
        if not stripped:
            if answer.status >= 200:
                answer.head_done = True
                self._check_framing()
            return len(line)
        if stripped[:1] in (b" ", b"\t") and answer.raw_headers:  # an obsolete folded line continues the last value
            name, value = answer.raw_headers[-1]
            answer.raw_headers[-1] = (name, value + b" " + stripped.strip())
            return len(line)
        name, _, value = stripped.partition(b":")
        answer.raw_headers.append((name.strip(), value.strip()))
        return len(line)

    def _check_framing(self) -> None:
        """Read leniently, as curl and browsers do, but never reuse a connection that needed it."""
        raw = self.answer.raw_headers
        lengths = [v for k, v in raw if k.lower() == b"content-length"]
        chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in raw)
        if len(lengths) > 1 or any(b"," in v for v in lengths) or (chunked and lengths):
            self.answer.quirky = True
            self.curl.setopt(CurlOpt.FORBID_REUSE, 1)

    def write(self, data: bytes) -> int:
        want = self.want
        if want is None:
            want = self.want = self.want_body(self.answer.status, self.answer.raw_headers)
            if want == 0:
                # Unwanted: read on (and keep) only a body known to be short and plain, so the connection stays
                # open; the caller may still look at it (a 404 page that hands its path to a script).
                raw = self.answer.raw_headers
                length = next((v for k, v in raw if k.lower() == b"content-length"), b"")
                encoded = any(k.lower() == b"content-encoding" for k, _v in raw)
                if length.isdigit() and int(length) <= self.drain and not encoded:
                    want = self.want = self.drain
                else:
                    self.drain = 0
        if want == 0:
            self.drained += len(data)
            if self.drained > self.drain:
                self.stopped = True
                return _STOP
            return len(data)
        body = self.answer.body
        room = want - len(body)
        if len(data) > room:
            # Bytes past the cap: keep what fits and stop (the transfer closes its connection).
            body += data[:room]
            self.answer.cut = f"body cut off at {want} bytes"
            self.stopped = True
            return _STOP
        body += data
        return len(data)

    def prereq(self, primary_ip: bytes) -> int:
        self.sends += 1
        if self.sends > 1:
            return _PREREQ_ABORT  # libcurl's own resend on a new connection: the caller resends, keeping its gap
        if self.allowed is not None:
            address = _canonical_ip(primary_ip.decode("ascii", "replace"))
            if address not in self.allowed:
                self.refused = f"address policy: connected to {address}, which was not approved"
                return _PREREQ_ABORT
        if self.on_send is not None:
            self.on_send()
        return _PREREQ_OK


@ffi.callback("int(void *, char *, char *, int, int)")
def _prereq(clientp, primary_ip, local_ip, primary_port, local_port):  # pragma: no cover - called by libcurl
    """libcurl's CURLOPT_PREREQFUNCTION: connected, the request not yet sent."""
    try:
        return ffi.from_handle(clientp).prereq(ffi.string(primary_ip))
    except Exception:  # noqa: BLE001 - an exception cannot cross libcurl: refuse the request instead
        return _PREREQ_ABORT


# The head and body callbacks are libcurl's directly (not curl_cffi's generic ones, which cost two more
# Python calls and a context object per callback): one Python call per header line and per body chunk.
@ffi.callback("size_t(void *, size_t, size_t, void *)")
def _on_header(ptr, size, nmemb, userdata):  # pragma: no cover - called by libcurl
    transfer = ffi.from_handle(userdata)
    try:
        return transfer.header(ffi.buffer(ptr, nmemb)[:])
    except BaseException as exc:  # noqa: BLE001 - kept for the caller, the transfer stops
        transfer.error = exc
        return _STOP


@ffi.callback("size_t(void *, size_t, size_t, void *)")
def _on_body(ptr, size, nmemb, userdata):  # pragma: no cover - called by libcurl
    transfer = ffi.from_handle(userdata)
    try:
        return transfer.write(ffi.buffer(ptr, nmemb)[:])
    except BaseException as exc:  # noqa: BLE001 - kept for the caller, the transfer stops
        transfer.error = exc
        return _STOP


# --- the multi handle on the event loop ---

_CURL_POLL_IN, _CURL_POLL_OUT, _CURL_POLL_REMOVE = 1, 2, 4
_CURL_CSELECT_IN, _CURL_CSELECT_OUT, _CURL_CSELECT_ERR = 1, 2, 4
if hasattr(select, "epoll"):
    #: libcurl's CURL_POLL_* wish (IN 1, OUT 2, both 3) as epoll events.
    _EPOLL_EVENTS = (0, select.EPOLLIN, select.EPOLLOUT, select.EPOLLIN | select.EPOLLOUT)
    #: What epoll reports that reads as "readable" / "writable" (errors and hang-ups wake both, as selectors do).
    _EPOLL_IN_LIKE = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
    _EPOLL_OUT_LIKE = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
_CURL_SOCKET_TIMEOUT = -1
_CURLMSG_DONE = 1
#: Seconds between the safety-net runs of libcurl's timers (curl_cffi's AsyncCurl: 0.1 s).
_SAFETY_TICK = 0.1


@ffi.callback("int(void *, int, int, void *, void *)")
def _on_socket(easy, fd, what, clientp, socketp):  # pragma: no cover - called by libcurl
    try:
        ffi.from_handle(clientp).watch(fd, what)
    except Exception:  # noqa: BLE001 - nothing may cross libcurl; the safety tick still drives it
        return -1
    return 0


@ffi.callback("int(void *, long, void *)")
def _on_timer(multi, timeout_ms, clientp):  # pragma: no cover - called by libcurl
    try:
        ffi.from_handle(clientp).arm(timeout_ms)
    except Exception:  # noqa: BLE001
        return -1
    return 0


class _Multi:
    """One libcurl multi handle driven by the running event loop (libcurl's socket API).

    What curl_cffi's ``AsyncCurl`` does, with less Python per transfer. On
    Linux libcurl's sockets are watched by an epoll set of their own, whose
    one descriptor the event loop watches: libcurl asks to watch a socket
    when a request goes out on it and to stop when the answer is in, and
    with the loop's own ``add_reader``/``remove_reader`` that was a new
    watcher object and ~7 system calls per request (uvloop checks and
    (de)registers each descriptor; AsyncCurl also removed and re-added both
    directions on every call); here it is one ``epoll_ctl`` each way, in C.
    Elsewhere the loop's readers and writers are used, changed only when
    libcurl's wish changes. A due-now timer is a ``call_soon``, the C
    out-parameters are made once, and a transfer's future gets libcurl's
    result code (the caller makes the error).
    """

    def __init__(self, max_connections: int) -> None:
        self.loop = asyncio.get_running_loop()
        self._curlm = _curl_lib.curl_multi_init()
        self._self = ffi.new_handle(self)
        self._running = ffi.new("int *")
        self._queued = ffi.new("int *")
        #: fd -> what the loop watches it for now (libcurl's CURL_POLL_IN / _OUT bits).
        self._fds: dict[int, int] = {}
        #: The easy handle (C pointer) -> the future its transfer's result code goes to.
        self._futures: dict = {}
        self._timer: asyncio.Handle | None = None
        #: True while curl_multi_add_handle runs (its due-now timer is run by add itself).
        self._adding = False
        self._closing = False
        setopt = _curl_lib.curl_multi_setopt
        setopt(self._curlm, CurlMOpt.SOCKETFUNCTION, _on_socket)
        setopt(self._curlm, CurlMOpt.SOCKETDATA, self._self)
        setopt(self._curlm, CurlMOpt.TIMERFUNCTION, _on_timer)
        setopt(self._curlm, CurlMOpt.TIMERDATA, self._self)
        setopt(self._curlm, CurlMOpt.MAXCONNECTS, ffi.new("long *", max_connections))
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        if self._epoll is not None:
            self.loop.add_reader(self._epoll.fileno(), self._ready)
        # A safety net for a wake-up missed, as AsyncCurl keeps one.
        self._ticker = self.loop.create_task(self._tick())

    async def _tick(self) -> None:
        while self._curlm is not None and not self._closing:
            self.act(_CURL_SOCKET_TIMEOUT, 0)
            await asyncio.sleep(_SAFETY_TICK)

    def watch(self, fd: int, what: int) -> None:
        """libcurl's socket callback: watch ``fd`` for what libcurl now waits on (only the changes)."""
        old = self._fds.get(fd, 0)
        new = 0 if what == _CURL_POLL_REMOVE else what & 3
        changed = old ^ new
        if not changed:
            return
        epoll = self._epoll
        if epoll is not None:
            events = _EPOLL_EVENTS[new]
            if not new:
                del self._fds[fd]
                try:
                    epoll.unregister(fd)
                except OSError:
                    pass  # already closed (the kernel dropped it from the set)
                return
            self._fds[fd] = new
            if old:
                try:
                    epoll.modify(fd, events)
                    return
                except FileNotFoundError:
                    pass  # the descriptor was closed and its number reused: a new registration
            try:
                epoll.register(fd, events)
            except FileExistsError:
                epoll.modify(fd, events)
            return
        loop = self.loop
        if changed & _CURL_POLL_IN:
            if new & _CURL_POLL_IN:
                loop.add_reader(fd, self.act, fd, _CURL_CSELECT_IN)
            else:
                loop.remove_reader(fd)
        if changed & _CURL_POLL_OUT:
            if new & _CURL_POLL_OUT:
                loop.add_writer(fd, self.act, fd, _CURL_CSELECT_OUT)
            else:
                loop.remove_writer(fd)
        if new:
            self._fds[fd] = new
        else:
            del self._fds[fd]

    def arm(self, timeout_ms: int) -> None:
        """libcurl's timer callback: one pending wake-up, ``timeout_ms`` from now (-1: none)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if timeout_ms < 0 or self._closing:
            return
        if timeout_ms == 0 and self._adding:
            return  # add() runs libcurl's due timers itself, at once
        if timeout_ms == 0:
            self._timer = self.loop.call_soon(self.act, _CURL_SOCKET_TIMEOUT, 0)
        else:
            self._timer = self.loop.call_later(timeout_ms / 1000, self.act, _CURL_SOCKET_TIMEOUT, 0)

    def _ready(self) -> None:
        """The epoll set has sockets ready: let libcurl work on each (as the loop's readers would)."""
        if self._curlm is None:
            return
        fds = self._fds
        for fd, events in self._epoll.poll(0):
            wanted = fds.get(fd, 0)  # libcurl's CURL_POLL_IN/OUT bits are its CURL_CSELECT_IN/OUT bits
            if not wanted:
                continue  # let go while an earlier socket of this batch was worked on
            mask = 0
            if events & _EPOLL_IN_LIKE:
                mask |= wanted & _CURL_CSELECT_IN
            if events & _EPOLL_OUT_LIKE:
                mask |= wanted & _CURL_CSELECT_OUT
            if events & select.EPOLLERR:
                mask |= _CURL_CSELECT_ERR
            self.act(fd, mask)

    def act(self, fd: int, mask: int) -> None:
        """Let libcurl work on ``fd`` (or its due timers), then hand finished transfers their result codes."""
        curlm = self._curlm
        if curlm is None:
            return
        _curl_lib.curl_multi_socket_action(curlm, fd, mask, self._running)
        info_read, queued = _curl_lib.curl_multi_info_read, self._queued
        while True:
            message = info_read(curlm, queued)
            if message == ffi.NULL:
                break
            if message.msg != _CURLMSG_DONE:
                continue
            easy = message.easy_handle
            code = message.data.result
            future = self._futures.pop(easy, None)
            _curl_lib.curl_multi_remove_handle(curlm, easy)
            if future is not None and not future.done():
                future.set_result(code)

    def add(self, easy, now: bool = False) -> asyncio.Future[int]:
        """Start the transfer on ``easy`` (a CURL pointer); the future gets libcurl's result code (0: done).

        ``now``: start it inside this call rather than on the due-now timer
        libcurl asks for (a loop turn later, shared by every transfer added
        in this turn). It leaves sooner, but each such call costs libcurl a
        pass of its own (~60 us: +20% CPU when every request does it).
        """
        self._adding = now
        try:
            code = _curl_lib.curl_multi_add_handle(self._curlm, easy)
        finally:
            self._adding = False
        if code != 0:
            raise CurlError(f"curl_multi_add_handle failed: ({code})", code=code)
        future = self.loop.create_future()
        self._futures[easy] = future
        if now:
            self.act(_CURL_SOCKET_TIMEOUT, 0)
        return future

    def remove(self, easy) -> None:
        """Stop the transfer on ``easy`` (its connection is closed when mid-transfer)."""
        if self._futures.pop(easy, None) is not None and self._curlm is not None:
            _curl_lib.curl_multi_remove_handle(self._curlm, easy)

    async def close(self) -> None:
        self._closing = True
        self._ticker.cancel()
        try:
            await self._ticker
        except asyncio.CancelledError:
            pass
        curlm = self._curlm
        for easy, future in list(self._futures.items()):
            _curl_lib.curl_multi_remove_handle(curlm, easy)
            if not future.done():
                future.cancel()
        self._futures.clear()
        _curl_lib.curl_multi_cleanup(curlm)
        self._curlm = None
        if self._epoll is not None:
            self.loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
        else:
            for fd in list(self._fds):
                self.loop.remove_reader(fd)
                self.loop.remove_writer(fd)
        self._fds.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_profile: list[str] = []


def _browser_profile() -> str:
    """curl_cffi's newest profile of IMPERSONATE_TARGET that this libcurl build has (looked up once)."""
    if not _profile:
        names = []
        try:
            from curl_cffi.requests.impersonate import REAL_TARGET_MAP

            names.append(REAL_TARGET_MAP[IMPERSONATE_TARGET])
        except (ImportError, KeyError):
            pass
        names += [f"{IMPERSONATE_TARGET}{v}" for v in (146, 145, 142, 136, 131, 124)]
        probe = Curl()
        try:
            _profile.append(next((n for n in names if probe.impersonate(n) == 0), names[-1]))
        finally:
            probe.close()
    return _profile[0]


def _canonical_ip(address: str) -> str:
    """One spelling per address (``0:0::1`` and ``::1`` are one), so approved and connected compare equal."""
    address = address.split("%", 1)[0]
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


@functools.lru_cache(maxsize=4096)
def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve_entries(target: Target, addresses: list[str]) -> list[str]:
    """CURLOPT_RESOLVE lines pinning ``target``'s name to ``addresses`` (a trailing-dot name pinned both ways)."""
    listed = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
    names = {target.host, target.host.rstrip(".")}
    return [f"{name}:{target.port}:{listed}" for name in names if name]


#: libcurl errors that will not change on a second try.
_FINAL_ERRORS: frozenset[int] = frozenset({
    CurlECode.UNSUPPORTED_PROTOCOL, CurlECode.URL_MALFORMAT, CurlECode.PEER_FAILED_VERIFICATION,
    CurlECode.SSL_CACERT_BADFILE, CurlECode.SSL_CERTPROBLEM, CurlECode.SSL_PINNEDPUBKEYNOTMATCH,
    CurlECode.SSL_INVALIDCERTSTATUS, CurlECode.SSL_ISSUER_ERROR, CurlECode.ABORTED_BY_CALLBACK,
    CurlECode.TOO_LARGE})
_TLS_ERRORS: frozenset[int] = frozenset({
    CurlECode.SSL_CONNECT_ERROR, CurlECode.PEER_FAILED_VERIFICATION, CurlECode.SSL_CACERT_BADFILE,
    CurlECode.SSL_CERTPROBLEM, CurlECode.SSL_CIPHER, CurlECode.SSL_PINNEDPUBKEYNOTMATCH,
    CurlECode.SSL_INVALIDCERTSTATUS, CurlECode.SSL_ISSUER_ERROR, CurlECode.USE_SSL_FAILED,
    CurlECode.SSL_SHUTDOWN_FAILED})


def _curl_message(exc: CurlError) -> str:
    """libcurl's own sentence, without curl_cffi's wrapping."""
    text = str(exc)
    match = re.search(r"curl: \(\d+\) (.*?)(?:\. See https://curl\.se.*)?$", text, re.S)
    return (match.group(1) if match else text).strip()


def failure_reason(code: int, message: str, proxied: bool) -> str:
    """A short, stable reason for a libcurl error (what a report shows)."""
    lowered = message.lower()
    if code in _TLS_ERRORS or (code == CurlECode.RECV_ERROR and "ssl" in lowered):
        return f"TLS failure: {message}"[:200]
    if code == CurlECode.COULDNT_CONNECT:
        if proxied and "proxy" in lowered:
            return f"proxy unreachable: {message}"[:200]
        return "connection refused" if "refused" in lowered else f"could not connect: {message}"[:200]
    if code == CurlECode.PROXY or (proxied and ("connect tunnel" in lowered or "proxy" in lowered)):
        return f"proxy error: {message}"[:200]
    if code == CurlECode.COULDNT_RESOLVE_PROXY:
        return f"proxy name does not resolve: {message}"[:200]
    if code == CurlECode.GOT_NOTHING:
        return "server closed the connection"
    if code in (CurlECode.RECV_ERROR, CurlECode.SEND_ERROR):
        return "connection reset" if "reset" in lowered else f"connection failed: {message}"[:200]
    if code == CurlECode.OPERATION_TIMEDOUT:
        return f"timeout: {message}"[:200]
    if code in (CurlECode.WEIRD_SERVER_REPLY, CurlECode.HTTP2, CurlECode.HTTP2_STREAM, CurlECode.TOO_LARGE):
        return f"bad answer: {message}"[:200]
    return f"curl error {code}: {message}"[:200]


class Transport:
    """GETs over one libcurl multi handle (its connection pool) in the running event loop.

    ``default_headers`` go out on every request unless a call passes its
    own; ``proxies`` says which proxy each URL goes through; ``ca_bundle``
    is the CA file trusted for origins and HTTPS proxies alike.
    """

    def __init__(self, default_headers: dict[str, str], *, ca_bundle: str, proxies: Proxies | None = None,
                 max_connections: int = 256) -> None:
        self.default_headers = dict(default_headers)
        self.proxies = proxies or Proxies()
        self.ca_bundle = ca_bundle
        self.max_connections = max(1, max_connections)
        self._header_lines = _header_lines(self.default_headers)
        self._encoding = _accept_encoding(self.default_headers) or ""
        self._multi: _Multi | None = None
        #: Set by aclose: no request starts after it.
        self._closed = False
        self._base: Curl | None = None
        #: Handles of finished plain requests, for the next ones (at most max_spare).
        self._spare: list[Curl] = []
        self.max_spare = self.max_connections

    def proxy_for(self, target: Target) -> str | None:
        return self.proxies.for_url(target.scheme, target.host)

    def _multi_handle(self) -> _Multi:
        if self._multi is None:
            if self._closed:
                # A task that outlived the run (a probe, a retry) must not open a pool nobody will close:
                # its transfers would call back into freed handles.
                raise FetchError("the check was stopped", retry=False)
            self._multi = _Multi(self.max_connections)
        return self._multi

    def _template(self) -> Curl:
        """A handle with every option that is the same for each request; each request's handle is its copy.

        curl_cffi's ``setopt`` costs ~40 us a call in Python; one
        ``curl_easy_duphandle`` copies a dozen options in C (the copy shares
        the template's header list, which lives as long as this transport).
        """
        if self._base is None:
            base = self._base = Curl(cacert=self.ca_bundle)
            base.setopt(CurlOpt.NOSIGNAL, 1)
            base.setopt(CurlOpt.CAINFO, self.ca_bundle)
            base.setopt(CurlOpt.PROXY_CAINFO, self.ca_bundle)
            base.setopt(CurlOpt.HTTP_VERSION, CurlHttpVersion.V2TLS)  # HTTP/2 where ALPN offers it, else 1.1
            if self._header_lines:
                base.setopt(CurlOpt.HTTPHEADER, [line.encode("latin-1") for line in self._header_lines])
            base.setopt(CurlOpt.ACCEPT_ENCODING, self._encoding)  # sent, and decoded by libcurl
            # The proxy is always set per handle ("" goes direct): libcurl must not read the environment itself.
            base.setopt(CurlOpt.PROXY, "")
            setopt = _curl_lib._curl_easy_setopt
            setopt(base._curl, CurlOpt.HEADERFUNCTION, _on_header)
            setopt(base._curl, CurlOpt.WRITEFUNCTION, _on_body)
            setopt(base._curl, CurlOpt.PREREQFUNCTION, _prereq)
        return self._base

    def _handle(self, target: Target, addresses: list[str] | None, proxy: str | None,
                headers: dict[str, str] | None, decode: bool, impersonate: bool) -> Curl:
        if impersonate:
            curl = self._template().duphandle()
            curl.setopt(CurlOpt.HTTPHEADER, [])  # the profile's own headers, not the template's
            if curl.impersonate(_browser_profile(), default_headers=True) != 0:
                raise FetchError(f"libcurl has no browser profile {_browser_profile()!r}", retry=False)
            lines = _header_lines(headers or {})
            if lines:
                curl.setopt(CurlOpt.HTTPHEADER, [line.encode("latin-1") for line in lines])
        elif headers is None and decode and not proxy and self._spare:
            # A plain request on a plain handle of an earlier one: its options are the template's but the URL
            # and the pinned addresses, set below (a handle is reusable, and copying one costs more).
            curl = self._spare.pop()
            if curl._resolve != ffi.NULL:
                _curl_lib._curl_easy_setopt(curl._curl, CurlOpt.RESOLVE, ffi.NULL)  # no stale pins re-applied
                _curl_lib.curl_slist_free_all(curl._resolve)
                curl._resolve = ffi.NULL
        else:
            curl = Curl(cacert=self.ca_bundle, handle=_curl_lib.curl_easy_duphandle(self._template()._curl))
            if headers is not None:
                lines = _header_lines(headers)
                if lines:
                    curl.setopt(CurlOpt.HTTPHEADER, [line.encode("latin-1") for line in lines])
                else:
                    _curl_lib._curl_easy_setopt(curl._curl, CurlOpt.HTTPHEADER, ffi.NULL)
                curl.setopt(CurlOpt.ACCEPT_ENCODING, _accept_encoding(headers) or "")
        curl._is_cert_set = True  # the template's CA options were copied (curl_cffi would set them again)
        setopt = _curl_lib._curl_easy_setopt
        handle = curl._curl
        setopt(handle, CurlOpt.URL, target.url.encode("ascii"))
        if not decode:
            setopt(handle, CurlOpt.HTTP_CONTENT_DECODING, _ZERO)
        if proxy:
            setopt(handle, CurlOpt.PROXY, proxy.encode())
            setopt(handle, CurlOpt.NOPROXY, b"")
            setopt(handle, CurlOpt.SUPPRESS_CONNECT_HEADERS, _ONE)
        if addresses and not _is_literal(target.host):  # an address in the URL is connected to as it is
            curl.setopt(CurlOpt.RESOLVE, _resolve_entries(target, addresses))
        return curl

    async def get(self, url: str | Target, want: WantBody, *, addresses: list[str] | None,
                  headers: dict[str, str] | None = None, drain: int = 0, decode: bool = True,
                  impersonate: bool = False, on_send: Callable[[], None] | None = None,
                  answer: Answer | None = None, start_now: bool = False) -> Answer:
        """GET ``url``, connecting only to ``addresses`` (None: through its proxy, which resolves the name).

        ``want(status, raw_headers)`` says how many decoded body bytes to
        keep; ``drain`` how many unwanted ones to read so the connection
        can be reused. ``on_send`` is called when the request is about to
        leave on a connected socket. ``start_now``: the transfer starts
        within this call, a loop turn sooner, at some CPU (see _Multi.add):
        for a caller that others are waiting on. ``answer`` is filled as the response
        arrives (a caller that cancels keeps what came). Raises FetchError
        (UnknownEncoding when the body's coding is one libcurl does not know).
        """
        target = url if isinstance(url, Target) else split_url(url)
        proxy = self.proxy_for(target)
        if proxy is None and not addresses:
            raise FetchUnsupported(f"no approved address for {target.host}")
        if proxy is not None and not resolves_remotely(proxy) and not addresses:
            raise FetchUnsupported(f"no approved address for {target.host}")
        curl = self._handle(target, addresses, proxy, headers, decode, impersonate)
        allowed = None if proxy is not None else frozenset(_canonical_ip(a) for a in addresses or ())
        answer = answer if answer is not None else Answer(0, [])
        transfer = _Transfer(curl, want, drain, allowed, on_send, answer)
        # One handle for the head, body and pre-request callbacks; it must live as long as the transfer.
        setopt = _curl_lib._curl_easy_setopt
        handle = transfer.handle = ffi.new_handle(transfer)
        easy = curl._curl
        setopt(easy, CurlOpt.HEADERDATA, handle)
        setopt(easy, CurlOpt.WRITEDATA, handle)
        setopt(easy, CurlOpt.PREREQDATA, handle)
        multi = self._multi_handle()
        failure: CurlError | None = None
        # Only a handle with nothing but the template's options and a transfer that ran its course is reused.
        reusable = headers is None and decode and not impersonate and not proxy
        try:
            try:
                future = multi.add(easy, start_now)
            except CurlError as exc:
                future, failure = None, exc
            code = 0
            if future is not None:
                try:
                    code = await future
                except asyncio.CancelledError:
                    reusable = False
                    multi.remove(easy)  # closes the connection mid-transfer
                    raise
            if transfer.error is not None:
                raise transfer.error
            if code:
                failure = curl._get_error(code, "perform")
                if code == CurlECode.COULDNT_CONNECT:
                    errno = curl.getinfo(CurlInfo.OS_ERRNO)
                    if errno == _ECONNREFUSED:
                        failure = CurlError(f"curl: (7) connection refused: {failure}", code=code)
        finally:
            if reusable and not transfer.answer.quirky and self._multi is multi and len(self._spare) < self.max_spare:
                self._spare.append(curl)
            else:
                curl.close()
            transfer.handle = transfer.curl = transfer.error = None  # no cycle left for the collector
        return self._answer(transfer, failure, proxy is not None)

    @staticmethod
    def _answer(transfer: _Transfer, failure: CurlError | None, proxied: bool) -> Answer:
        answer = transfer.answer
        code = int(getattr(failure, "code", 0) or 0) if failure is not None else 0
        if failure is None or (code == CurlECode.WRITE_ERROR and transfer.stopped):
            return answer
        message = _curl_message(failure)
        if transfer.sends > 1 and not answer.status:
            raise StaleConnection("server closed the kept-alive connection", retry=True, code=code)
        if transfer.refused:
            raise FetchError(transfer.refused, retry=False, code=code)
        if "multiple location" in message.lower():
            # Chrome's ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION: no target can be chosen.
            raise FetchError(f"conflicting Location headers ({message})", retry=False, code=code)
        if transfer.over_head or code == CurlECode.TOO_LARGE:
            raise FetchError(f"bad answer: response head over {MAX_HEAD_BYTES} bytes", retry=False, code=code)
        if code == CurlECode.BAD_CONTENT_ENCODING:
            if "nrecognized" in message and not answer.body:
                raise UnknownEncoding(message, retry=True, code=code)
            if answer.head_done:
                answer.cut = f"body not decodable: {message}"[:200]
                return answer
        if answer.head_done:
            # The head arrived and the body broke off: what came is kept, the cut is noted.
            answer.cut = "body cut off: " + failure_reason(code, message, proxied)
            return answer
        raise FetchError(failure_reason(code, message, proxied), retry=code not in _FINAL_ERRORS, code=code)

    async def aclose(self) -> None:
        self._closed = True
        if self._multi is not None:
            multi, self._multi = self._multi, None
            await multi.close()
        spare, self._spare = self._spare, []
        for curl in spare:
            curl.close()
        if self._base is not None:
            base, self._base = self._base, None
            base.close()
