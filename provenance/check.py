"""The liveness engine: polite, bounded, async checks of many URLs.

How a run goes (``check_urls``):

* URLs are de-duplicated and grouped by host. Big runs are split by host
  over worker processes (one host always stays in one process, so its
  politeness limits stay exact); each process runs one asyncio event loop
  (uvloop where installed, see USE_UVLOOP) with one keep-alive connection
  pool (:class:`provenance.wire.Wire`; ``HttpxTransport`` is its httpx face).
* Each host gets up to ``host_concurrency`` workers (run by a bounded pool
  of tasks) and one :class:`Host` that owns its politeness: its permits,
  its schedule of request starts ``host_interval`` apart, a pause set by
  ``Retry-After``, and its catch-all probes. Permits are taken *before* a
  request enters the pool, so the pool never holds a queue.
* Every hop resolves its name once per run through :class:`Resolver`,
  which applies the address policy to the resolved addresses and hands the
  same addresses to the connector (no second lookup an attacker could
  answer differently).
* A fetch is a streamed GET (HEAD says too little for soft-404 judgement);
  bodies are read only when a verdict needs them, within byte and
  decompression caps. :mod:`provenance.classify` turns what was seen into
  a verdict; catch-all sites are caught by probing a random sibling URL
  once per host and directory.

This module is the engine and its public API; the stages it calls are
plain functions and dataclasses of their own: :mod:`provenance.resolve`
(names, the address policy, "is there a network"), :mod:`provenance.cookies`
(a redirect chain's cookies) and :mod:`provenance.catchall` (probe plans,
random siblings and the page tests of catch-all detection). Their public
names are re-exported here.

Every limit is a constant here (or in the stage module it belongs to,
re-exported here) or a :class:`CheckOptions` field.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import re
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from . import classify
from .catchall import (_ProbePlan, _Sibling, _canonical, _directory, _drop_fragment, _is_deep, _names_this_page,
                       _outcome, _probe_key, _probe_plan, _same_page, _script_routes_the_path, _script_shell, _site)
from .cookies import _RedirectJar
from .wire import Wire, WireConnectError, WireError, WireProtocolError, WireStaleConnection, WireUnsupported
from .models import CheckResult, iso_z, utc_now
from .resolve import LookupFailed, NameNotFound, Offline, PolicyRefused, Resolver, ResolverFunc, _host, _needs_dns
from .resolve import _private_name, network_available
from .refresh import MAX_REFRESH_DELAY as MAX_REFRESH_DELAY, REFRESH_MAX_WORDS as REFRESH_MAX_WORDS
from .refresh import REFRESH_SCAN_CHARS as REFRESH_SCAN_CHARS, _parse_refresh as _parse_refresh, _refresh_target
from .retry import retry_after_seconds
from .urls import browser_join, browser_url
# Re-exported (``X as X``): the limits and names this module had before its stages moved out stay its API
# (audit.py reads check.PROBE_HOSTS; check.network_available is what check_urls and the audit call).
from .catchall import PROBE_LETTERS as PROBE_LETTERS, PROBE_MIN_RANDOM as PROBE_MIN_RANDOM
from .catchall import SHELL_MAX_WORDS as SHELL_MAX_WORDS
from .cookies import MAX_CHAIN_COOKIES as MAX_CHAIN_COOKIES, MAX_COOKIE_CHARS as MAX_COOKIE_CHARS
from .resolve import DNS_TIMEOUT as DNS_TIMEOUT, NETWORK_CACHE_SECONDS as NETWORK_CACHE_SECONDS
from .resolve import PRIVATE_SUFFIXES as PRIVATE_SUFFIXES, PROBE_HOSTS as PROBE_HOSTS

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
#: Headers a browser sends; some bot walls refuse requests without them.
BROWSER_HEADERS: dict[str, str] = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    # Only what we can decode within a cap ourselves (no br/zstd).
    "Accept-Encoding": "gzip, deflate",
}

#: Most raw (on-the-wire) bytes read from one response.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Most bytes a compressed body may decompress to (a gzip bomb stops here).
MAX_DECODED_BYTES = 2 * 1024 * 1024
#: Bytes read from error pages (403, 429, 503 ...) to spot bot walls.
SIGNATURE_BYTES = 64 * 1024
#: Characters of a live HTML body kept on the result for the drift judge: as much as is decoded, so the
#: live page is judged as far as its snapshot is read (support.MAX_PAGE_CHARS, wayback.MAX_SNAPSHOT_BYTES).
MAX_KEPT_BODY_CHARS = MAX_DECODED_BYTES
#: Characters of bodies one process keeps over a whole run; past it, KEPT_BODY_AFTER_BUDGET per page.
KEPT_BODY_BUDGET = 96 * 1024 * 1024
KEPT_BODY_AFTER_BUDGET = 16 * 1024
#: Redirect hops followed before giving up.
MAX_REDIRECTS = 10
#: Times one URL may come up in a redirect chain (a cookie check needs two; one more for a slow one).
MAX_VISITS_PER_URL = 3
#: Longest ``Retry-After`` honoured; a longer one ends the retries.
MAX_RETRY_AFTER = 30.0
#: Backoff before retry n is BACKOFF_BASE * 2**(n-1) seconds (capped, with jitter).
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
#: Jitter multiplies a backoff by a random factor in this range.
BACKOFF_JITTER = (0.5, 1.5)
#: However late a host's schedule runs, two starts are never closer than this share of host_interval.
MIN_GAP_FRACTION = 0.8
#: After a 429/503 a host's gap between requests becomes at least this, doubled on each new one.
SLOWED_INTERVAL = 1.0
MAX_HOST_INTERVAL = 10.0
#: Hard cap on one URL's total time (retries, redirects, waits), unless CheckOptions.url_deadline says otherwise.
DEFAULT_URL_DEADLINE = 60.0
#: Statuses worth a retry.
RETRY_STATUSES: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
#: Statuses whose body is read (capped at SIGNATURE_BYTES) to look for bot walls.
SIGNATURE_STATUSES: frozenset[int] = frozenset({401, 403, 405, 429, 503, 999})
#: Keep-alive time of idle pooled connections.
KEEPALIVE_SECONDS = 15.0
#: Most connections (idle included) one process keeps open; also at most half its file-descriptor limit.
MAX_POOLED_CONNECTIONS = 2048
#: Tasks that work through hosts' queues in one process: RUNNERS_PER_PERMIT per global permit, at least MIN_RUNNERS.
RUNNERS_PER_PERMIT = 4
MIN_RUNNERS = 256
#: Loop turns the first request to each host gets before the other workers start (see check_urls_async).
FIRST_WAVE_YIELDS = 3
#: Worker processes are used only for runs this big (process start-up costs more than it saves below).
AUTO_SHARD_MIN_URLS = 1500
MAX_WORKERS = 4
#: Results a worker process sends to the parent per message.
RESULT_BATCH = 64
#: Freeze the parent's objects while forking workers (gc.freeze): less copy-on-write memory and GC work in them.
FREEZE_BEFORE_FORK = True
#: Run event loops on uvloop (when installed, as it is on Linux and macOS) instead of asyncio's own:
#: a third less CPU per request on the benchmark. It was off while the per-host gap was kept before a
#: request's connect (under CPU stress uvloop's slower connects let starts bunch at the server); the gap
#: is now kept when the bytes leave (Host.at_send) and the interval tests pass under stress on both
#: loops (docs/checking.md). False: asyncio's own loop.
USE_UVLOOP = True
#: Allocations between collections of the youngest generation while a check runs (Python's default: 700).
GC_THRESHOLD_DURING_RUN = 10_000


@dataclass
class CheckOptions:
    concurrency: int = 64
    host_concurrency: int = 4
    host_interval: float = 0.2
    timeout: float = 20.0
    retries: int = 2
    allow_private: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    #: Set by the run once it knows; None: detect once per run (only when some URL needs DNS).
    offline: bool | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: Hard cap in seconds on one URL's total time; None: max(DEFAULT_URL_DEADLINE, 3 x timeout).
    url_deadline: float | None = None
    #: Async DNS lookup to use instead of the system's (tests, custom DNS).
    resolver: ResolverFunc | None = None
    #: Worker processes; None: automatic (several only for big runs with many hosts).
    workers: int | None = None
    #: Probe a random sibling URL once per host+directory to catch sites that answer 200 to anything.
    probe_catch_all: bool = True
    #: Keep the decoded start of live HTML bodies on results (the drift judge needs it).
    keep_body: bool = True
    #: With keep_body: keep only these URLs' bodies (None: every URL's). The audit names the URLs that have
    #: a snapshot to compare with, so the per-run body budget goes to pages that will be judged.
    keep_body_for: frozenset[str] | None = None
    #: Networks (CIDR) the address policy lets through without allow_private, e.g. one intranet.
    allowed_networks: tuple[str, ...] = ()
    #: A Dask scheduler (tcp://host:8786) whose workers run the host shards (provenance.cluster); None: local.
    cluster: str | None = None


_stamp: tuple[int, str] = (-1, "")


def _checked_at() -> str:
    """iso_z(utc_now()), formatted once per second instead of once per URL."""
    global _stamp
    second = int(time.time())
    if second != _stamp[0]:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


def _run(main: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    """asyncio.run on uvloop when available (USE_UVLOOP), else on asyncio's own loop."""
    factory = None
    if USE_UVLOOP:
        try:
            import uvloop
            factory = uvloop.new_event_loop
        except ImportError:
            pass
    # A check allocates a few dozen short-lived objects per request (futures, timer handles, headers),
    # almost none in cycles: collecting the youngest generation every 700 allocations cost ~5% of the
    # CPU for nothing. Restored afterwards.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], GC_THRESHOLD_DURING_RUN), *thresholds[1:])
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    finally:
        gc.set_threshold(*thresholds)


class _Deadline:
    """``asyncio.timeout_at`` for the per-request hot path, with less Python per use.

    The same contract (the block is cancelled at ``when`` and TimeoutError
    comes out; a cancellation from outside still propagates as
    CancelledError) with one timer and no state machine or rescheduling:
    two of these per URL cost ~4% of the engine's CPU as asyncio's own.
    """

    __slots__ = ("_when", "_task", "_handle", "_fired", "_cancelling")

    def __init__(self, when: float) -> None:
        self._when = when

    async def __aenter__(self) -> "_Deadline":
        task = self._task = asyncio.current_task()
        assert task is not None, "_Deadline needs a task"
        self._cancelling = task.cancelling()
        self._fired = False
        self._handle = task.get_loop().call_at(self._when, self._fire)
        return self

    def _fire(self) -> None:
        self._fired = True
        self._task.cancel()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self._handle.cancel()
        if self._fired and self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


# --- politeness ---

class Permits:
    """A counting semaphore that hands a freed permit to the oldest waiter.

    asyncio.Semaphore lets the releasing task grab the permit straight back
    (a waiter can starve) and, in 3.11, rescans its waiters on each wake-up
    (quadratic with thousands of waiting requests); this is O(1) per step.
    """

    def __init__(self, limit: int) -> None:
        #: Permits that may be out at once (a host's may be lowered while running).
        self.limit = max(1, limit)
        #: Permits out now.
        self.active = 0
        #: Tasks waiting for a permit, first come first served.
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        """Take a permit. A released permit is handed to the oldest waiter (``urgent`` ones first),
        never grabbed back by the task that released it: no waiter starves."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # it was handed to us: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        self.active -= 1
        self._wake()

    def reclaim(self) -> None:
        """Count a permit as taken again without waiting (for a holder that let it go and must return it)."""
        self.active += 1

    def _wake(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)



class Host(Permits):
    """Everything one host's politeness needs, in one place (its permits are ``host_concurrency``)."""

    def __init__(self, name: str, concurrency: int, interval: float) -> None:
        super().__init__(concurrency)
        #: Host name (the per-host key).
        self.name = name
        #: Minimum seconds between two request starts; raised by 429/503.
        self.interval = max(0.0, interval)
        #: Earliest start a new reservation may take (spreads waiting requests over time).
        self._next_slot = 0.0
        #: When the last request was let start (it may still be connecting).
        self._last_start = -1e9
        #: When the last request's bytes were written to its connection.
        self._last_sent = -1e9
        #: No request starts before this (Retry-After).
        self.paused_until = 0.0
        #: Catch-all probes per directory and shape (see _probe_plan): what a random sibling got, or None.
        self.probes: dict[str, asyncio.Future[_Sibling | None]] = {}
        #: Times this host asked us to slow down.
        self.slowdowns = 0
        #: A first request to this host has been let through.
        self.opened = False
        #: Set when the first exchange with this host ended (its connection is then open and free).
        self.answered = asyncio.Event()

    async def wait_slot(self) -> None:
        """Reserve this host's next start slot and sleep until it (no permit is held meanwhile)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot, self.paused_until)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def start(self, gate: Permits) -> None:
        """Keep the gap floor and take a global permit (held on return); after wait_slot and acquire.

        Slots are an absolute schedule ``host_interval`` apart, reserved on
        arrival so waiting requests spread out instead of waking together.
        An urgent request (a catch-all probe, once per host and directory,
        that pages are waiting on) skips wait_slot and only keeps the floor.
        A start that a busy machine made late does not push back the ones
        after it (a strict "gap since the last real start" rule turns every
        late wake-up into a permanent slowdown: measured here, 87 ms gaps
        for a 50 ms interval under load), but two starts are never closer
        than MIN_GAP_FRACTION of the interval, even after waiting for the
        global permit. The global permit is never held while sleeping.
        """
        loop = asyncio.get_running_loop()
        floor = self.interval * MIN_GAP_FRACTION
        for _ in range(1000):  # bounded: each round waits for a real start to pass
            await gate.acquire()
            now = loop.time()
            ready_at = max(self._last_start + floor, self.paused_until)
            if now >= ready_at:
                self._last_start = now
                return
            gate.release()
            await asyncio.sleep(ready_at - now)
        await gate.acquire()
        self._last_start = loop.time()

    async def at_send(self, gate: Permits) -> None:
        """Right before a request is written: keep the gap floor since the last request written.

        ``start`` spaces the starts, but a start that must open a new
        connection first is written later than one on a pooled connection,
        and the server would see the two bunched; this keeps the floor at
        the moment the bytes leave, which is what the server sees. The
        caller's global permit (``gate``) is not held while waiting, and
        is held again on return.
        """
        loop = asyncio.get_running_loop()
        floor = self.interval * MIN_GAP_FRACTION
        for _ in range(100):  # bounded: each round waits for the floor to pass
            now = loop.time()
            ready_at = self._last_sent + floor
            if now >= ready_at:
                break
            gate.release()
            try:
                await asyncio.sleep(ready_at - now)
                await gate.acquire(urgent=True)  # back first in line: this request is under way
            except BaseException:
                gate.reclaim()  # cancelled (a deadline): the caller gives the permit back on its way out
                raise
        self._last_sent = loop.time()

    def slow_down(self, pause: float) -> None:
        """The host said 'too many requests': pause it and stay slower for the rest of the run."""
        now = asyncio.get_running_loop().time()
        if now >= self.paused_until:
            # Once per pause: the answers to requests already in flight are the same complaint.
            self.slowdowns += 1
            self.interval = min(MAX_HOST_INTERVAL, max(self.interval * 2, SLOWED_INTERVAL))
            self.limit = max(1, self.limit // 2)
        self.paused_until = max(self.paused_until, now + pause)
        self._next_slot = max(self._next_slot, self.paused_until)


# --- one fetch ---

@dataclass
class _Fetched:
    """One HTTP exchange, body already read (within caps)."""

    status: int
    headers: dict[str, str]
    content_type: str
    body: bytes | bytearray = b""
    #: Why reading stopped early ('' when the whole body was read or none was wanted).
    cut: str = ""
    #: The response's Set-Cookie headers, one per cookie.
    cookies: tuple[str, ...] = ()
    #: A redirect's target as browsers read it (see _location), or None.
    location: str | None = None
    #: Why a redirect's Location cannot be followed ('' when it can).
    location_problem: str = ""


class _Failure(Exception):
    """A request that got no usable answer; ``retry`` says whether trying again may help."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def _header_dict(raw_headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased header names -> values, as ``httpx.Headers`` would give them, without building one.

    Repeated headers are joined with ", " and values are decoded the way
    httpx does (ASCII, else UTF-8, else Latin-1 for the whole set), so
    verdicts and reasons are the same as through an ``httpx.Response``.
    """
    try:
        pairs = [(k.decode("ascii").lower(), v.decode("ascii")) for k, v in raw_headers]
    except UnicodeDecodeError:
        try:
            for _k, v in raw_headers:
                v.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "iso-8859-1"
        pairs = [(k.decode("latin-1").lower(), v.decode(encoding)) for k, v in raw_headers]
    headers: dict[str, str] = {}
    for name, value in pairs:
        if name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    return headers


def _location(raw_headers: Sequence[tuple[bytes, bytes]]) -> tuple[str | None, str]:
    """A redirect's Location as browsers read it: ``(value, problem)``.

    Read from the raw header lines, not from the joined header dict: two
    identical Location lines are one target (joined they would read
    "/new, /new", a false dead), two different ones are an error, as in
    Chrome (ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION). The value is decoded
    on its own, UTF-8 first: another header's Latin-1 byte (a cookie) must
    not turn a UTF-8 path into mojibake. Bytes that are not UTF-8 are
    percent-encoded as they are, which is what browsers send.
    """
    values = [v.strip() for k, v in raw_headers if k.lower() == b"location"]
    values = [v for v in values if v]
    if not values:
        return None, ""
    if len(set(values)) > 1:
        shown = ", ".join(repr(v.decode("latin-1")[:60]) for v in dict.fromkeys(values))
        return None, f"conflicting Location headers ({shown})"
    raw = values[0]
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw), ""


def _want_body(status: int, content_type: str) -> int:
    """Bytes of a page's body worth reading: live HTML whole (capped), error pages' start for bot walls."""
    if 200 <= status < 300:
        return MAX_DECODED_BYTES if _is_html(content_type) else 0
    if status in SIGNATURE_STATUSES:
        return SIGNATURE_BYTES
    return 0


def _is_html(content_type: str) -> bool:
    return not content_type or "html" in content_type or content_type.startswith("text/")


def _decoder(encoding: str):
    """A capped decompressor for a Content-Encoding, or None for identity/unknown."""
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, auto-detected
    return None


#: Errors while a body streams: what arrived is kept and the cut is noted in the reason.
_READ_ERRORS = (WireError, OSError)


async def _read_body(chunks: AsyncIterator[bytes], headers: dict[str, str], want: int, fetched: "_Fetched",
                     complete: Callable[[], bool] = lambda: False) -> None:
    """Up to ``want`` decoded bytes into ``fetched.body``; never more than MAX_BODY_BYTES off the wire.

    Decompression is done here, not by the HTTP library, so ``max_length``
    caps each step: a 10 kB gzip bomb that would expand to gigabytes never
    allocates more than ``want`` bytes. The body grows in place so that a
    timeout keeps what already arrived. ``complete`` says whether the whole
    response has arrived: a body that ends exactly at a limit (a short page
    drained to its Content-Length) was not cut off, and its reason says nothing.
    """
    encoding = headers.get("content-encoding", "").strip().lower()
    decoder = _decoder(encoding) if encoding else None
    if encoding and decoder is None and encoding != "identity":
        fetched.cut = f"body not read: unsupported content-encoding {encoding}"
        return
    out = fetched.body = bytearray()
    raw = 0
    async for chunk in chunks:
        raw += len(chunk)
        if decoder is None:
            room = want - len(out)
            left_over = len(chunk) > room
            out += chunk[:room]
        else:
            try:
                out += decoder.decompress(chunk, want - len(out))
            except zlib.error as exc:
                fetched.cut = f"body not decodable: {exc}"
                return
            if decoder.unconsumed_tail:
                fetched.cut = f"body cut off: decompressed size over {want} bytes"
                return
            left_over = not decoder.eof
        if len(out) >= want:
            if left_over or not complete():
                fetched.cut = f"body cut off at {want} bytes"
            return
        if raw >= max(MAX_BODY_BYTES, want):  # a caller may want more (fetch_pages: a 50 MB sitemap)
            if not complete():
                fetched.cut = f"body cut off at {max(MAX_BODY_BYTES, want)} bytes on the wire"
            return


#: Bodies at most this long are looked at for being blank (longer ones never are: no copy of a big page).
_BLANK_CHECK_BYTES = 1024


def _unjudgeable(fetched: _Fetched) -> classify.Judgement | None:
    """``error`` for a 2xx HTML page that says nothing, instead of ``ok``: an unreadable or a blank body.

    A body the engine could not read (a Content-Encoding it never asked
    for, a broken gzip stream, a connection that died before the first
    byte) may be a "not found" page as well as the article; an empty
    200 page is what a reader sees as a blank screen (a crashed
    application). Neither shows the page is there, so neither is ``ok``.
    """
    status = fetched.status
    if not (200 <= status < 300) or status == 204 or not _is_html(fetched.content_type):
        return None
    body = fetched.body
    if fetched.cut and not body:
        return classify.Judgement("error", f"HTTP {status}, but the page could not be read, so it says nothing",
                                  "body-unreadable")
    if not fetched.cut and len(body) <= _BLANK_CHECK_BYTES and not body.strip():
        return classify.Judgement("error", f"HTTP {status} with an empty page: a blank page says nothing about "
                                           "the content", "empty-page")
    return None


def _failure_reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = str(cause) or type(cause).__name__
    lowered = text.lower()
    if "connection refused" in lowered or "connect call failed" in lowered:
        return "connection refused"
    if "reset" in lowered or isinstance(cause, ConnectionResetError):
        return "connection reset"
    if "closed the connection" in lowered or "disconnected" in lowered:
        return "server closed the connection"
    if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
        return f"TLS failure: {text}"[:200]
    return f"{type(cause).__name__}: {text}"[:200]


class _Engine:
    """One event loop's worth of checking: the transport, the hosts, the resolver."""

    def __init__(self, options: CheckOptions, transport: Wire, resolver: Resolver) -> None:
        self.options = options
        self.transport = transport
        self.resolver = resolver
        self.gate = Permits(options.concurrency)
        self.hosts: dict[str, Host] = {}
        #: Characters of live bodies kept on results so far (bounded by KEPT_BODY_BUDGET).
        self.kept_chars = 0
        #: Hosts with more than one URL in this run (their catch-all probe starts early).
        self.busy_hosts: set[str] = set()
        self.deadline = options.url_deadline or max(DEFAULT_URL_DEADLINE, 3 * options.timeout)
        self.headers = _request_headers(options)
        #: None when the pool already sends these headers by default (no per-request header building).
        self.send_headers = None if transport.default_headers == self.headers else self.headers

    def host(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = Host(name, self.options.host_concurrency, self.options.host_interval)
        return host

    async def _exchange(self, url: str, host: Host, want_body: Callable[[int, str], int],
                        urgent: bool = False, request_headers: dict[str, str] | None = None) -> _Fetched:
        """One GET under the host's politeness; the body read as ``want_body(status, type)`` says.

        One timer covers the attempt: a timeout before the headers is a
        failure; a timeout while the body streams keeps what arrived.
        """
        if not urgent:
            await host.wait_slot()
        if host.opened and not host.answered.is_set():
            # Nothing else goes to a host before its first exchange ends: requests racing over
            # several new connections at start-up reach the server bunched, whatever gap we kept.
            try:
                await asyncio.wait_for(host.answered.wait(), self.options.timeout)
            except TimeoutError:
                pass
        host.opened = True
        await host.acquire(urgent)
        fetched: _Fetched | None = None
        try:
            await host.start(self.gate)
            try:
                async with _Deadline(asyncio.get_running_loop().time() + self.options.timeout):
                    for fresh in (False, True):
                        lease = await self.transport.connect(url, fresh)
                        try:
                            await host.at_send(self.gate)
                        except BaseException:
                            self.transport.give_back(lease)
                            raise
                        # Written before send's first await: the time at_send recorded is when it left.
                        try:
                            response = await self.transport.send(lease, "GET", request_headers or self.send_headers)
                            break
                        except WireStaleConnection:
                            if fresh:
                                raise
                            # The server had closed the pooled connection: once more on a new one, with the
                            # gap kept again (the first write never reached its application).
                    try:
                        headers = _header_dict(response.raw_headers)
                        status = response.status
                        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                        fetched = _Fetched(status, headers, content_type)
                        if status in classify.REDIRECT_STATUSES:
                            fetched.location, fetched.location_problem = _location(response.raw_headers)
                        if "set-cookie" in headers:  # each on its own: joined, their dates' commas mislead
                            fetched.cookies = tuple(v.decode("latin-1") for k, v in response.raw_headers
                                                    if k.lower() == b"set-cookie")
                        want = want_body(status, content_type)
                        if want == 0:
                            length = headers.get("content-length", "")
                            # A short body is cheaper to drain than a connection to re-open.
                            if length.isdigit() and int(length) <= SIGNATURE_BYTES and "content-encoding" not in headers:
                                want = int(length)
                        if want:
                            try:
                                await _read_body(response.iter_chunks(), headers, want, fetched,
                                                 lambda: response.complete)
                            except _READ_ERRORS as exc:
                                fetched.cut = f"body cut off: {_failure_reason(exc)}"
                    finally:
                        # Back to the pool when the body was read to the end, closed otherwise.
                        response.release()
            finally:
                self.gate.release()
        except TimeoutError as exc:
            if fetched is not None:
                fetched.cut = fetched.cut or f"body cut off: still arriving after {self.options.timeout:g}s"
                return fetched
            raise _Failure(f"timeout after {self.options.timeout:g}s", retry=True) from exc
        except WireUnsupported as exc:
            raise _Failure(f"unsupported URL: {exc}", retry=False) from exc
        except (WireError, OSError) as exc:
            reason = _failure_reason(exc)
            # A certificate or a policy refusal will not change on a second try.
            retry = "address policy" not in reason and not reason.startswith("TLS failure")
            raise _Failure(reason, retry=retry) from exc
        finally:
            host.release()
            host.answered.set()
        return fetched

    async def fetch(self, url: str, want_body: Callable[[int, str], int], result: CheckResult | None,
                    retries: int, give_up_at: float, urgent: bool = False,
                    headers: dict[str, str] | None = None) -> _Fetched:
        """GET with retries, backoff and Retry-After; raises _Failure when every try failed."""
        loop = asyncio.get_running_loop()
        host = self.host(_host(url))
        last: _Failure | _Fetched | None = None
        for attempt in range(retries + 1):
            if result is not None:
                result.attempts += 1
            try:
                fetched = await self._exchange(url, host, want_body, urgent, headers)
            except _Failure as failure:
                last = failure
                if not failure.retry:
                    raise
                pause = _backoff(attempt)
            else:
                if fetched.status not in RETRY_STATUSES:
                    return fetched
                last = fetched
                retry_after = retry_after_seconds(fetched.headers.get("retry-after"))
                if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                    host.slow_down(MAX_RETRY_AFTER)
                    fetched.cut = f"Retry-After {retry_after:g}s is over the {MAX_RETRY_AFTER:g}s cap"
                    return fetched
                pause = retry_after if retry_after is not None else _backoff(attempt)
                # A host that says "too many" (429, or 503 with a date) stays slower for the rest of the run.
                if fetched.status == 429 or (fetched.status == 503 and retry_after is not None):
                    host.slow_down(pause)
            if attempt == retries or loop.time() + pause >= give_up_at:
                break
            await asyncio.sleep(pause)
        if isinstance(last, _Fetched):
            return last
        assert last is not None
        raise last

    async def check(self, url: str, detach: Callable[[Awaitable[CheckResult]], None] | None = None) -> CheckResult | None:
        """The verdict for one URL, within the URL deadline.

        With ``detach``, a URL that only waits for its directory's catch-all
        probe is handed over as an awaitable and None is returned, so the
        host's worker can move on instead of idling until the probe answers.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = CheckResult(url=url, verdict="unchecked", checked_at=_checked_at())
        give_up_at = started + self.deadline
        rest = await self._guarded(self._check(url, result, give_up_at), result, started)
        if rest is not None:
            if detach is not None:
                detach(self._finish(rest, result, started))
                return None
            return await self._finish(rest, result, started)
        return result

    async def _finish(self, rest: Awaitable[None], result: CheckResult, started: float) -> CheckResult:
        await self._guarded(rest, result, started)
        return result

    async def _guarded(self, step: Awaitable, result: CheckResult, started: float):
        """Run one step of a check inside the URL's deadline; errors become verdicts."""
        loop = asyncio.get_running_loop()
        outcome = None
        try:
            async with _Deadline(started + self.deadline):
                outcome = await step
        except TimeoutError:
            result.verdict, result.reason = "error", f"gave up after {self.deadline:g}s (time cap per URL)"
        except Exception as exc:  # noqa: BLE001 - one odd URL must not end the run
            result.verdict, result.reason = "error", f"internal error: {type(exc).__name__}: {exc}"[:300]
        result.elapsed_ms = int((loop.time() - started) * 1000)
        return outcome

    async def _check(self, url: str, result: CheckResult, give_up_at: float) -> Awaitable[None] | None:
        """Fill ``result``; returns what is left to await when only the catch-all probe is missing."""
        current = start = browser_url(url)  # what a reader's browser requests (backslashes, dot segments, non-ASCII)
        jar: _RedirectJar | None = None
        #: (URL, cookies it would get): the same URL again with new cookies is not (yet) a loop ...
        seen: set[tuple[str, str | None]] = {(current, None)}
        #: ... but a visit past MAX_VISITS_PER_URL is, whatever the cookies (a cookie rotated on every hop).
        visits: dict[str, int] = {current: 1}
        hops: list[tuple[int, str]] = []
        keep = self.options.keep_body and (self.options.keep_body_for is None or url in self.options.keep_body_for)
        #: (kind, target) of the last refresh followed (a meta refresh or Refresh header), for the reason.
        refreshed: tuple[str, str] | None = None
        if self.options.probe_catch_all and _host(current) in self.busy_hosts:
            # On a host with several URLs in this run, the probe starts with the first page, not
            # after it: the page's verdict then does not wait for it. A host with one URL is
            # probed only when its page comes back as a 200 worth comparing.
            try:
                if _is_deep(current):
                    self._probe_for(current, give_up_at)
            except ValueError:
                pass  # a URL urlsplit refuses: its fetch says why

        for _hop in range(MAX_REDIRECTS + 1):
            # A host already vetted this run needs no await (the common case after its first URL).
            verdict = None if _host(current) in self.resolver.vetted else await self._vet(current)
            if verdict is not None:
                result.verdict, result.reason = verdict
                if hops:
                    result.final_url = current
                    result.reason += f" (redirect target {current})"
                return
            cookie = jar.header_for(current) if jar is not None else None
            try:
                fetched = await self.fetch(current, _want_body, result, self.options.retries, give_up_at,
                                           headers={**(self.send_headers or {}), "Cookie": cookie} if cookie else None)
            except _Failure as failure:
                result.verdict, result.reason = "error", failure.reason
                if hops:
                    result.final_url = current
                    result.reason += f" (at redirect target {current})"
                return
            result.status = fetched.status
            if fetched.location_problem:
                result.verdict, result.reason = "error", fetched.location_problem
                if hops:
                    result.final_url = current
                    result.reason += f" (at redirect target {current})"
                return
            location = fetched.location
            if location:
                try:
                    target = browser_join(current, location)
                    scheme = urlsplit(target).scheme
                except ValueError:
                    result.verdict, result.reason = "error", f"bad redirect Location: {location[:100]!r}"
                    return
                if scheme not in ("http", "https"):
                    result.verdict, result.reason = "error", f"redirect to a non-web URL: {target[:100]}"
                    return
                target = browser_url(_drop_fragment(target))
                by = ""
            else:
                # Bodies drained only to keep a connection alive (images, JSON ...) are not judged.
                judged = fetched.body and (_is_html(fetched.content_type) or fetched.status in SIGNATURE_STATUSES)
                text = _decode(fetched.body, fetched.headers.get("content-type", "")) if judged else ""
                obs = classify.Observation(url=url, final_url=current, status=fetched.status,
                                           headers=fetched.headers, text=text, hops=tuple(hops))
                judgement = classify.judge(obs)
                if judgement.verdict in ("ok", "redirect"):
                    judgement = _unjudgeable(fetched) or judgement
                elif fetched.status == 404 and judgement.verdict == "dead" and text and _script_routes_the_path(text):
                    judgement = classify.Judgement(
                        "error", "HTTP 404 from a page that hands the path to a script (a single-page app on static "
                        "hosting): what a reader sees depends on the script, so it could not be judged", "script-404")
                # A page that sends its reader on at once (a redirect stub) is one more hop, like a 302. Not a
                # bot wall's: its refresh is the challenge asking again (SiteGround's sgcaptcha).
                refresh = (_refresh_target(current, fetched.headers, text)
                           if 200 <= fetched.status < 300 and fetched.status != 204 and judgement.verdict != "blocked"
                           and _is_html(fetched.content_type) else None)
                if refresh is None or refresh.target is None:
                    result.verdict, result.reason = judgement.verdict, judgement.reason
                    result.signature = judgement.signature
                    result.final_url = current
                    result.content_type = fetched.content_type or None
                    if refreshed:
                        kind, to = refreshed
                        result.reason += f" (by a {kind})" if to in result.reason else f" (after a {kind} to {to})"
                    if refresh is not None:
                        result.reason += f"; {refresh.note}"
                    if fetched.cut:
                        result.reason += f"; {fetched.cut}"
                    if keep and text and 200 <= fetched.status < 300 and _is_html(fetched.content_type):
                        # Bounded per page, and per run: past the budget only the page's start is kept.
                        limit = MAX_KEPT_BODY_CHARS if self.kept_chars < KEPT_BODY_BUDGET else KEPT_BODY_AFTER_BUDGET
                        result.body = text[:limit]
                        self.kept_chars += len(result.body)
                        if fetched.cut or len(text) > limit:
                            result.body_cut = fetched.cut or f"kept to its first {limit:,} characters"
                    if text and self.options.probe_catch_all:
                        return self._catch_all(result, start, current, text, hops, give_up_at)
                    return None
                target, by = refresh.target, f", the last by a {refresh.kind}"
                refreshed = (refresh.kind, target)
            hops.append((fetched.status, target))
            if fetched.cookies:
                jar = jar or _RedirectJar()
                jar.store(_host(current), fetched.cookies)
            visit = (target, jar.header_for(target) if jar is not None else None)
            visits[target] = visits.get(target, 0) + 1
            if visit in seen or visits[target] > MAX_VISITS_PER_URL:
                result.verdict, result.reason = "error", f"redirect loop ({len(hops)} hops back to {target}{by})"
                result.final_url = target
                return
            seen.add(visit)
            current = target
        result.verdict, result.reason = "error", f"too many redirects (more than {MAX_REDIRECTS})"
        result.final_url = current

    async def _vet(self, url: str) -> tuple[str, str] | None:
        """Resolve and apply the address policy; a verdict when the URL must not be fetched."""
        name = _host(url)
        if not name:
            return "error", "URL has no host"
        try:
            await self.resolver.addresses(name)
        except PolicyRefused as exc:
            return "unchecked", f"address policy: {exc} (use --allow-private to permit)"
        except Offline:
            return "unchecked", "offline: no network to resolve names"
        except NameNotFound:
            private = _private_name(name)
            if private:
                # An intranet name answers only inside its network: not resolving from here says nothing.
                return "unchecked", f"{private}: not resolvable from here"
            return "dead", f"domain does not exist: {name} does not resolve"
        except LookupFailed as exc:
            return "error", str(exc)
        return None

    def _probe_for(self, url: str, give_up_at: float, id_probe: bool = False) -> asyncio.Future[_Sibling | None]:
        """The (shared) catch-all probe of this URL's host, directory and shape, started if new.

        ``id_probe``: the sibling with the directory's digits randomised too
        (does the page depend on an id earlier in the path?), asked for only
        when the plain sibling got this very page.
        """
        key = _probe_key(url)
        if id_probe:
            key += "\x00id"
        host = self.host(_host(url))
        probe = host.probes.get(key)
        if probe is None:
            probe = host.probes[key] = asyncio.ensure_future(self._probe(_probe_plan(url), give_up_at, id_probe))
        return probe

    def _catch_all(self, result: CheckResult, start: str, final: str, text: str, hops: list[tuple[int, str]],
                   give_up_at: float) -> Awaitable[None] | None:
        """Compare the page with what the site answers for random siblings; what is left to await, if anything.

        The siblings are taken in the final URL's directory and, after a
        redirect that changed directory, in the cited URL's too: an old
        domain that sends every path to one "for sale" page is seen only
        there. A deep URL sent to another site's home page (a link
        shortener, a moved project) is judged by the cited directory's
        sibling alone: only if a random URL lands on that home page too is
        the page gone.
        """
        cross_home = result.signature == "redirect-to-home" and bool(hops) and _site(start) != _site(final)
        if cross_home:
            probes = [(self._probe_for(start, give_up_at), start)]
        elif result.verdict in ("ok", "redirect"):
            probes = [(self._probe_for(final, give_up_at), final)] if _is_deep(final) else []
            if hops and _is_deep(start) and _directory(start).split("/", 3)[3] != _directory(final).split("/", 3)[3]:
                probes.append((self._probe_for(start, give_up_at), start))
        else:
            return None
        if not probes:
            return None
        if all(probe.done() for probe, _page in probes):
            return self._settle(result, start, final, text, hops, probes, cross_home, give_up_at)
        return self._settle_when([probe for probe, _page in probes], result, start, final, text, hops, probes,
                                 cross_home, give_up_at)

    async def _settle_when(self, awaited: list[asyncio.Future], result: CheckResult, start: str, final: str, text: str,
                           hops: list[tuple[int, str]], probes: list[tuple[asyncio.Future, str]], cross_home: bool,
                           give_up_at: float) -> None:
        """``_settle`` once the ``awaited`` probes answered (and again while it asks for one more)."""
        await asyncio.wait(awaited)
        rest = self._settle(result, start, final, text, hops, probes, cross_home, give_up_at)
        if rest is not None:
            await rest

    def _settle(self, result: CheckResult, start: str, final: str, text: str, hops: list[tuple[int, str]],
                probes: list[tuple[asyncio.Future, str]], cross_home: bool,
                give_up_at: float) -> Awaitable[None] | None:
        """The verdict once the probes answered; an awaitable when an id probe must answer first."""
        if cross_home:
            sibling = _outcome(probes[0][0])
            if sibling is not None and sibling.fingerprint is not None and _same_page(sibling.final_url, final):
                result.reason += " (a random URL there is sent to it too)"
                return None
            permanent = all(status in classify.PERMANENT_REDIRECTS for status, _ in hops)
            result.verdict = "redirect" if permanent else "ok"
            result.signature = None
            result.reason = (f"moved permanently to {final}" if permanent
                             else f"HTTP {result.status} after a temporary redirect to {final}")
            result.reason += " (another site's home page; a random URL there is not sent to it)"
            return None
        mine: frozenset[int] | None = None

        def got_this_page(sibling: _Sibling) -> bool:
            """Did the random sibling land here, or get a page like this one? (Fingerprinted once, if asked.)"""
            nonlocal mine
            if _same_page(sibling.final_url, final):
                return True
            if mine is None:
                mine = classify.fingerprint(text, classify.path_words(final))
            return classify.same_as_sibling(mine, sibling.fingerprint)

        for probe, page in probes:
            sibling = _outcome(probe)
            if sibling is None or sibling.fingerprint is None:
                continue  # the site answers a random URL as missing (or not at all): not a catch-all
            if not got_this_page(sibling):
                continue
            # A random sibling got this page.
            if _names_this_page(sibling, start, final, text):
                continue  # ... because the site sends any slug here to the page itself (id + decorative slug)
            if _script_shell(text):
                result.signature = "script-shell"
                result.reason = ("a script-rendered page: the site sends the same script shell for any URL here, "
                                 "so its content could not be judged")
                return None
            if _probe_plan(page).directory_has_digits:
                ids = self._probe_for(page, give_up_at, id_probe=True)
                if not ids.done():
                    return self._settle_when([ids], result, start, final, text, hops, probes, False, give_up_at)
                other = _outcome(ids)
                if other is None or other.fingerprint is None:
                    continue  # a random id is missing: the page depends on its id, which exists
                if not got_this_page(other):
                    continue
            result.verdict, result.signature = "soft404", "catch-all"
            result.reason = "the site answers this page like any random URL (catch-all, page likely gone)"
            return None
        return None

    async def _probe(self, plan: "_ProbePlan", give_up_at: float, id_probe: bool = False) -> _Sibling | None:
        """What the site answers for a random sibling URL of ``plan``'s shape; None when it could not be asked."""
        url = asked = plan.sibling(id_probe)
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                if await self._vet(url) is not None:
                    return None

                fetched = await self.fetch(url, lambda s, t: MAX_DECODED_BYTES if 200 <= s < 300 and _is_html(t) else 0,
                                           None, 0, give_up_at, urgent=True)
                if fetched.location_problem:
                    return None
                location = fetched.location
                if location:
                    url = browser_url(_drop_fragment(browser_join(url, location)))
                    if urlsplit(url).scheme not in ("http", "https"):
                        return None
                    continue
                if not (200 <= fetched.status < 300) or not _is_html(fetched.content_type):
                    return _Sibling(asked, url, fetched.status, None, None)
                text = _decode(fetched.body, fetched.headers.get("content-type", "")) if fetched.body else ""
                # A random URL's stub that sends the reader on is followed, as the cited page's is.
                refresh = _refresh_target(url, fetched.headers, text)
                if refresh is not None and refresh.target is not None and refresh.target != url:
                    url = refresh.target
                    continue
                if not text:
                    return _Sibling(asked, url, fetched.status, None, None)
                drop = classify.path_words(asked) + classify.path_words(url)
                return _Sibling(asked, url, fetched.status, classify.fingerprint(text, drop), _canonical(text, url))
        except (_Failure, ValueError):
            return None
        return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter, so retries from many tasks do not arrive together."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt) * random.uniform(*BACKOFF_JITTER)


_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


def _decode(body: bytes, content_type: str) -> str:
    """Bytes -> text using the declared charset, a <meta> charset, then UTF-8 (never raises)."""
    charset = None
    match = _CHARSET.search(content_type)
    if match:
        charset = match.group(1)
    else:
        meta = _META_CHARSET.search(body[:2048])
        if meta:
            charset = meta.group(1).decode("ascii", "ignore")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


# --- running many ---

def _httpx_face():
    """HttpxTransport: a :class:`Wire` behind httpx's transport interface (Responses, httpx exceptions).

    Built on first use (``check.HttpxTransport``), because importing httpx
    costs a ``provenance check`` run ~60 ms that the engine itself never needs.
    """
    import httpx

    class HttpxTransport(httpx.AsyncBaseTransport):
        """httpx's transport interface over one :class:`Wire`: usable as any ``httpx.AsyncClient``'s transport."""

        def __init__(self, wire: Wire | None = None) -> None:
            self.wire = wire or Wire()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
                # The pool sends heads only (what a link check needs); a body would be silently lost.
                raise httpx.UnsupportedProtocol("this transport sends no request bodies (use GET or HEAD)")
            return await self.send(request.method, str(request.url), dict(request.headers))

        async def send(self, method: str, url: str, headers: dict[str, str] | None) -> httpx.Response:
            """Send one request; the body is left to stream (close the response when done)."""
            try:
                raw = await self.wire.open(method, url, headers)
            except WireConnectError as exc:
                raise httpx.ConnectError(str(exc)) from exc
            except WireUnsupported as exc:
                raise httpx.UnsupportedProtocol(str(exc)) from exc
            except WireProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            except WireError as exc:
                raise httpx.NetworkError(str(exc)) from exc
            return httpx.Response(raw.status, headers=raw.raw_headers, stream=_WireStream(raw))

        async def aclose(self) -> None:
            await self.wire.aclose()

    class _WireStream(httpx.AsyncByteStream):
        def __init__(self, raw) -> None:
            self.raw = raw

        async def __aiter__(self):
            try:
                async for chunk in self.raw.iter_chunks():
                    yield chunk
            except (WireError, OSError) as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__) from exc

        async def aclose(self) -> None:
            # Back to the pool when the whole response arrived, closed otherwise.
            self.raw.release()

    HttpxTransport.__module__ = _WireStream.__module__ = __name__
    return HttpxTransport


def __getattr__(name: str):
    if name == "HttpxTransport":
        cls = globals()["HttpxTransport"] = _httpx_face()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _request_headers(options: CheckOptions) -> dict[str, str]:
    """What every check sends: a browser's User-Agent and Accept headers, then the caller's extras."""
    return {"User-Agent": options.user_agent, **BROWSER_HEADERS, **options.extra_headers}


def _connection_budget(concurrency: int) -> int:
    """Connections one process keeps open, idle ones included: enough to keep a few per host alive
    (closing and reopening them costs more CPU than the requests, and reaches the server bunched),
    within half of the process's file-descriptor limit."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft == resource.RLIM_INFINITY:
            soft = 1 << 16
    except (ImportError, OSError, ValueError):  # no resource module (Windows): a conservative guess
        soft = 1024
    return max(1, concurrency, min(MAX_POOLED_CONNECTIONS, soft // 2 - 32))


def _make_transport(options: CheckOptions, resolver: Resolver) -> Wire:
    """The pool never makes a request holding its permits wait for a connection (it may always open
    one), keeps idle connections within :func:`_connection_budget`, sends the check's headers as its
    defaults (no per-request header work) and connects only to addresses the Resolver vetted."""
    return Wire(resolver.addresses, _request_headers(options), limit=_connection_budget(options.concurrency),
                keepalive=KEEPALIVE_SECONDS)


async def check_urls_async(urls: Sequence[str], options: CheckOptions,
                           progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check each distinct URL once in this event loop; results in input order."""
    unique = list(dict.fromkeys(urls))
    if not unique:
        return []
    resolver = Resolver(options)
    by_host: dict[str, list[str]] = {}
    for url in unique:
        by_host.setdefault(_host(url), []).append(url)
    results: dict[str, CheckResult] = {}
    transport = _make_transport(options, resolver)
    try:
        engine = _Engine(options, transport, resolver)
        engine.busy_hosts = {name for name, host_urls in by_host.items() if len(host_urls) > 1}

        def record(result: CheckResult) -> None:
            results[result.url] = result
            if progress is not None:
                progress(result)

        detached: list[asyncio.Future] = []

        def detach(rest: Awaitable[CheckResult]) -> None:
            task = asyncio.ensure_future(rest)
            task.add_done_callback(lambda t: record(t.result()) if not t.cancelled() else None)
            detached.append(task)

        async def host_worker(queue: deque[str]) -> None:
            while queue:
                result = await engine.check(queue.popleft(), detach)
                if result is not None:
                    record(result)

        # Up to one worker per host permit (a worker holds at most one request and waits for nothing
        # else), dealt round-robin so every host gets its first worker before any gets a second, and run
        # by a bounded number of tasks: a run over 100,000 hosts must not hold 100,000 coroutines.
        queues = [(deque(host_urls), min(len(host_urls), max(1, options.host_concurrency)))
                  for host_urls in by_host.values()]
        tickets: deque[deque[str]] = deque()
        for round_ in range(max((n for _q, n in queues), default=0)):
            tickets.extend(q for q, n in queues if round_ < n)

        async def runner() -> None:
            while tickets:
                await host_worker(tickets.popleft())

        runners = min(len(tickets), max(MIN_RUNNERS, RUNNERS_PER_PERMIT * max(1, options.concurrency)))
        # Each host's first worker starts first and gets its connect under way before the others (which
        # would only wait for that first exchange) take their first steps: the first requests leave sooner.
        first_wave = min(runners, len(queues))
        tasks = [asyncio.ensure_future(runner()) for _ in range(first_wave)]
        for _ in range(FIRST_WAVE_YIELDS if first_wave < runners else 0):
            await asyncio.sleep(0)
        tasks += [asyncio.ensure_future(runner()) for _ in range(runners - first_wave)]
        try:
            await asyncio.gather(*tasks)
            await asyncio.gather(*detached)
        finally:
            for task in tasks + detached:
                task.cancel()
    finally:
        await transport.aclose()
    return [results[url] for url in unique]


def check_urls(urls: Sequence[str], options: CheckOptions | None = None,
               progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check each distinct URL once; results in input order, one per distinct URL.

    Big runs with many hosts are split by host over worker processes (see
    ``CheckOptions.workers``); ``progress`` is still called here, once per URL.
    """
    options = options or CheckOptions()
    unique = list(dict.fromkeys(urls))
    if not unique:
        return []
    if options.offline is None and options.resolver is None and any(_needs_dns(u) for u in unique):
        # Once for the whole run (and before any worker starts): a dead network is not a dead web.
        options = replace(options, offline=not network_available())
    if options.offline and options.resolver is None:
        return _offline_first(unique, options, progress)
    if options.cluster:
        from .cluster import check_on_cluster  # only runs that name a cluster import Dask

        return check_on_cluster(unique, options, progress)
    workers = _worker_count(options, unique)
    if workers <= 1:
        return _run(check_urls_async(unique, options, progress))
    return _check_sharded(unique, options, progress, workers)


def _offline_first(unique: list[str], options: CheckOptions,
                   progress: Callable[[CheckResult], None] | None) -> list[CheckResult]:
    """Offline: names cannot resolve, so answer those URLs at once and check only IP literals."""
    now = iso_z(utc_now())
    results: dict[str, CheckResult] = {}
    literal = [u for u in unique if not _needs_dns(u)]
    for url in unique:
        if url not in literal:
            result = CheckResult(url=url, verdict="unchecked", reason="offline: no network to resolve names",
                                 checked_at=now)
            results[url] = result
            if progress is not None:
                progress(result)
    if literal:
        for result in _run(check_urls_async(literal, options, progress)):
            results[result.url] = result
    return [results[u] for u in unique]


def _worker_count(options: CheckOptions, unique: list[str]) -> int:
    if options.workers is not None:
        wanted = options.workers
    elif len(unique) < AUTO_SHARD_MIN_URLS:
        return 1
    else:
        wanted = min(MAX_WORKERS, os.cpu_count() or 1)
    if wanted <= 1:
        return 1
    import multiprocessing  # only for runs big enough to shard

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # workers reuse the parent's imports and options through fork; elsewhere stay in one process
    hosts = len({_host(u) for u in unique})
    return max(1, min(wanted, hosts))


def _shards(unique: list[str], workers: int) -> list[list[str]]:
    """Hosts dealt to workers, biggest first onto the lightest shard; a host never splits."""
    by_host: dict[str, list[str]] = {}
    for url in unique:
        by_host.setdefault(_host(url), []).append(url)
    shards: list[list[str]] = [[] for _ in range(workers)]
    for host_urls in sorted(by_host.values(), key=len, reverse=True):
        min(shards, key=len).extend(host_urls)
    return [s for s in shards if s]


def _worker_main(urls: list[str], options: CheckOptions, conn) -> None:
    """Entry point of a worker process: check a shard, stream results back in batches."""
    batch: list[CheckResult] = []

    def send(result: CheckResult) -> None:
        batch.append(result)
        if len(batch) >= RESULT_BATCH:
            conn.send(list(batch))
            batch.clear()

    try:
        _run(check_urls_async(urls, options, send))
        if batch:
            conn.send(batch)
    finally:
        conn.close()


def _check_sharded(unique: list[str], options: CheckOptions, progress: Callable[[CheckResult], None] | None,
                   workers: int) -> list[CheckResult]:
    import multiprocessing
    from multiprocessing.connection import wait

    shards = _shards(unique, workers)
    share = replace(options, workers=1, concurrency=max(1, options.concurrency // len(shards)))
    context = multiprocessing.get_context("fork")  # the parent's imports are reused: no start-up cost
    results: dict[str, CheckResult] = {}
    procs, conns = [], []
    if FREEZE_BEFORE_FORK:
        # What the parent holds now (modules, the URL list) is never garbage in a worker: frozen, the workers'
        # collections skip it and do not write to (and so copy) its pages.
        gc.freeze()
    try:
        for shard in shards:
            reader, writer = context.Pipe(duplex=False)
            proc = context.Process(target=_worker_main, args=(shard, share, writer), daemon=True)
            proc.start()
            writer.close()
            procs.append(proc)
            conns.append(reader)
    finally:
        if FREEZE_BEFORE_FORK:
            gc.unfreeze()  # the parent's own objects stay collectable
    try:
        open_conns = list(conns)
        while open_conns:
            for conn in wait(open_conns, timeout=5.0):
                try:
                    batch = conn.recv()
                except (EOFError, OSError):
                    open_conns.remove(conn)
                    continue
                for result in batch:
                    results[result.url] = result
                    if progress is not None:
                        progress(result)
            if not any(p.is_alive() for p in procs) and not any(c.poll() for c in open_conns):
                break
    finally:
        for proc in procs:
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)
        for conn in conns:
            conn.close()
    now = iso_z(utc_now())
    out = []
    for url in unique:
        result = results.get(url)
        if result is None:
            result = CheckResult(url=url, verdict="unchecked", reason="run cut short: worker process failed",
                                 checked_at=now)
            if progress is not None:
                progress(result)
        out.append(result)
    return out


# --- fetching whole pages (articles, sitemaps, feeds, robots.txt) through the same engine ---


@dataclass
class PageRequest:
    """One page to fetch: its URL, extra request headers (If-None-Match ...) and the most decoded bytes wanted."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    max_bytes: int = MAX_DECODED_BYTES


@dataclass
class PageFetch:
    """A fetched page: what the last hop answered, its headers and its (decoded, capped) body.

    ``verdict`` uses the check's words (a 304 is ``ok``: the page is there,
    unchanged); ``body`` is empty for failures and for 304s.
    """

    url: str
    verdict: str = "unchecked"
    status: int | None = None
    final_url: str | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: ``(status, url)`` of each redirect followed.
    hops: tuple[tuple[int, str], ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304


async def _fetch_page(engine: _Engine, request: PageRequest) -> PageFetch:
    """GET one page under the engine's politeness, address policy, retries and caps, following redirects."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + engine.deadline
    page = PageFetch(url=request.url)
    current = browser_url(request.url)
    hops: list[tuple[int, str]] = []
    cap = max(1, request.max_bytes)

    def want(status: int, _content_type: str) -> int:
        if 200 <= status < 300:
            return cap
        return SIGNATURE_BYTES if status in SIGNATURE_STATUSES else 0

    base_headers = {**(engine.send_headers or {}), **request.headers} if request.headers else None
    jar: _RedirectJar | None = None  # a site that sets a cookie and redirects to itself (a consent or session step)
    seen: set[tuple[str, str | None]] = {(current, None)}
    for _hop in range(MAX_REDIRECTS + 1):
        verdict = None if _host(current) in engine.resolver.vetted else await engine._vet(current)
        if verdict is not None:
            page.verdict, page.reason = verdict
            page.final_url = current
            return page
        cookie = jar.header_for(current) if jar is not None else None
        headers = {**(base_headers or engine.send_headers or {}), "Cookie": cookie} if cookie else base_headers
        try:
            fetched = await engine.fetch(current, want, None, engine.options.retries, give_up_at, headers=headers)
        except _Failure as failure:
            page.verdict, page.reason, page.final_url = "error", failure.reason, current
            return page
        page.status, page.headers, page.final_url, page.hops = fetched.status, fetched.headers, current, tuple(hops)
        if fetched.location_problem:
            page.verdict, page.reason = "error", fetched.location_problem
            return page
        if fetched.location:
            try:
                target = browser_url(_drop_fragment(browser_join(current, fetched.location)))
                if urlsplit(target).scheme not in ("http", "https"):
                    raise ValueError(target)
            except ValueError:
                page.verdict, page.reason = "error", f"bad redirect Location: {fetched.location[:100]!r}"
                return page
            hops.append((fetched.status, target))
            if fetched.cookies:
                jar = jar or _RedirectJar()
                jar.store(_host(current), fetched.cookies)
            visit = (target, jar.header_for(target) if jar is not None else None)
            if visit in seen or sum(1 for _s, u in hops if u == target) > MAX_VISITS_PER_URL:
                page.verdict, page.reason = "error", f"redirect loop ({len(hops)} hops back to {target})"
                return page
            seen.add(visit)
            current = target
            continue
        if fetched.status == 304:
            page.verdict, page.reason = "ok", "HTTP 304: not modified since the last fetch"
            return page
        text = _decode(bytes(fetched.body[:SIGNATURE_BYTES]), fetched.headers.get("content-type", "")) \
            if fetched.body and _is_html(fetched.content_type) else ""
        judgement = classify.judge(classify.Observation(url=request.url, final_url=current, status=fetched.status,
                                                        headers=fetched.headers, text=text, hops=tuple(hops)))
        page.verdict, page.reason = judgement.verdict, judgement.reason
        if 200 <= fetched.status < 300:
            if fetched.cut:
                page.reason += f"; {fetched.cut}"
            page.body = bytes(fetched.body)
        return page
    page.verdict, page.reason = "error", f"too many redirects (more than {MAX_REDIRECTS})"
    return page


async def fetch_pages_async(requests: Sequence[PageRequest], options: CheckOptions,
                            progress: Callable[[PageFetch], None] | None = None) -> list[PageFetch]:
    """Fetch pages in this event loop with the checker's engine; results in input order."""
    if not requests:
        return []
    resolver = Resolver(options)
    transport = _make_transport(options, resolver)
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.monotonic()  # this loop's clock vs the process's (uvloop keeps its own)
    engine: _Engine | None = None
    try:
        engine = _Engine(options, transport, resolver)
        for name in {_host(r.url) for r in requests}:
            _resume_host(engine.host(name), offset)

        async def one(request: PageRequest) -> PageFetch:
            loop = asyncio.get_running_loop()
            page = PageFetch(url=request.url)
            try:
                async with _Deadline(loop.time() + engine.deadline):
                    page = await _fetch_page(engine, request)
            except TimeoutError:
                page.verdict, page.reason = "error", f"gave up after {engine.deadline:g}s (time cap per URL)"
            except Exception as exc:  # noqa: BLE001 - one odd page must not end the run
                page.verdict, page.reason = "error", f"internal error: {type(exc).__name__}: {exc}"[:300]
            if progress is not None:
                progress(page)
            return page

        # As check_urls_async does: each host gets up to host_concurrency workers taking its pages in turn, so a
        # page's deadline starts when a worker takes it, not while it queues behind its host's interval.
        by_host: dict[str, deque[int]] = {}
        for index, request in enumerate(requests):
            by_host.setdefault(_host(request.url), deque()).append(index)
        results: list[PageFetch | None] = [None] * len(requests)

        async def worker(queue: deque[int]) -> None:
            while queue:
                index = queue.popleft()
                results[index] = await one(requests[index])

        await asyncio.gather(*(worker(queue) for queue in by_host.values()
                               for _ in range(min(len(queue), max(1, options.host_concurrency)))))
        return [page if page is not None else PageFetch(url=r.url, reason="not fetched")
                for page, r in zip(results, requests)]
    finally:
        for name, host in (engine.hosts.items() if engine is not None else ()):
            if host._last_sent > 0:
                _PAGE_HOSTS[name] = (host._last_sent - offset, host.interval)
        await transport.aclose()


#: host -> (time.monotonic() of the last page request sent to it, its interval then), across fetch_pages runs:
#: robots.txt, each batch of sitemaps and each batch of articles is its own engine run, and a site must
#: not see two of them closer together than one run would have sent them.
_PAGE_HOSTS: dict[str, tuple[float, float]] = {}
#: Hosts remembered at most (the oldest are forgotten first).
MAX_REMEMBERED_HOSTS = 10_000


def _resume_host(host: Host, offset: float) -> None:
    """Start a host's schedule where the last engine run left it (its last send and a slowed interval)."""
    seen = _PAGE_HOSTS.get(host.name)
    if seen is None:
        return
    last, interval = seen
    host.interval = max(host.interval, min(interval, MAX_HOST_INTERVAL))
    host._last_sent = host._last_start = last + offset
    host._next_slot = last + offset + host.interval
    if len(_PAGE_HOSTS) > MAX_REMEMBERED_HOSTS:
        for name in list(_PAGE_HOSTS)[: len(_PAGE_HOSTS) - MAX_REMEMBERED_HOSTS]:
            del _PAGE_HOSTS[name]


def fetch_pages(requests: Sequence[PageRequest], options: CheckOptions | None = None,
                progress: Callable[[PageFetch], None] | None = None) -> list[PageFetch]:
    """Fetch whole pages (articles, sitemaps, feeds, robots.txt) as checks are made: the same politeness,
    address policy, retries, redirect limits and body caps; offline, names are not resolved (``unchecked``)."""
    options = options or CheckOptions()
    if not requests:
        return []
    if options.offline is None and options.resolver is None and any(_needs_dns(r.url) for r in requests):
        # As for checks: a dead network must not make an article's domain "not exist".
        options = replace(options, offline=not network_available())
    if options.offline and options.resolver is None:
        now_offline = [PageFetch(url=r.url, verdict="unchecked", reason="offline: no network to resolve names")
                       for r in requests]
        literal = [i for i, r in enumerate(requests) if not _needs_dns(r.url)]
        if literal:
            for i, page in zip(literal, _run(fetch_pages_async([requests[i] for i in literal], options, progress))):
                now_offline[i] = page
        return now_offline
    return _run(fetch_pages_async(list(requests), options, progress))
