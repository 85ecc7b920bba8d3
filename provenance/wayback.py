"""Wayback Machine lookups: the capture closest to the article's date.

CDX first (it lists captures with their HTTP status, so a capture of a 404
is never taken for a snapshot), the availability API as a fallback. All
endpoints hang off one base URL so a mirror or a test server can stand in.

Good citizenship is built in, not left to callers: few requests in flight
(``concurrency``), a minimum gap between API calls to the public Archive
(its published CDX limit), a shared pause when it answers 429, Retry-After
honoured, a timeout on every call, and a hard deadline for the whole batch
so a slow or failing Wayback can never hang an audit: what is left gets
``Snapshot(timestamp=None, failed=True, reason=...)``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from .models import Snapshot
from .retry import retry_after_seconds

DEFAULT_WAYBACK_URL = "https://web.archive.org"
WAYBACK_ENV = "PROVENANCE_WAYBACK_URL"
DEFAULT_USER_AGENT = "provenance/0.1 (citation audit; +https://github.com/provenance)"
#: Seconds allowed for one Wayback call, connect to last byte.
WAYBACK_TIMEOUT = 20.0
#: Requests in flight at once; the Archive asks for few.
DEFAULT_CONCURRENCY = 2
#: Hard ceiling on ``concurrency`` whatever the caller asks.
MAX_CONCURRENCY = 8
#: Seconds between API call starts for the public Archive: its CDX limit is
#: 24 requests a minute per IP, and ignoring 429s for a minute gets the IP
#: blocked for an hour, so we stay under it rather than react to it.
ARCHIVE_API_INTERVAL = 2.5
#: Seconds between replay starts for the public Archive (playback is less limited).
ARCHIVE_REPLAY_INTERVAL = 0.5
#: Hosts that are the public Archive (the intervals above apply to them only;
#: a mirror or test server sets its own with ``api_interval``).
ARCHIVE_HOSTS = frozenset({"web.archive.org", "archive.org", "wayback.archive.org"})
#: Seconds the whole ``find_snapshots`` / ``fetch_snapshot_htmls`` batch may take.
DEFAULT_DEADLINE = 300.0
#: Longest Retry-After we honour; longer means "not this run".
MAX_RETRY_AFTER = 60.0
#: First backoff step in seconds (doubles per retry, capped by MAX_BACKOFF).
BACKOFF_BASE = 1.0
MAX_BACKOFF = 30.0
#: Calls in a row (after retries) that found the Wayback unreachable before the rest are skipped.
BREAKER_FAILURES = 4
#: Most bytes read from one API answer (a CDX window is a few hundred bytes).
MAX_API_BYTES = 1024 * 1024
#: Most bytes of a replayed page kept for claim support.
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024
#: Replays per snapshot at most when the chosen capture is a bad copy (a soft 404, error page, bot wall,
#: empty shell) and its neighbours are tried in turn.
MAX_GOOD_CAPTURE_REPLAYS = 3
#: Redirect hops followed inside the Wayback when replaying (never off it).
MAX_REPLAY_REDIRECTS = 5
#: CDX rows asked per query: a small window at the right end of the range.
CDX_WINDOW = 10
#: Save Page Now: URLs asked per run (anonymous users get a few a minute) and seconds per save.
MAX_SAVES = 10
SAVE_TIMEOUT = 90.0
#: Content types worth replaying for claim support.
TEXT_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")

Key = tuple[str, "str | None"]
T = TypeVar("T")


class WaybackUnavailable(Exception):
    """The Wayback did not answer usefully (network, timeout, 5xx, 429 after retries)."""

    def __init__(self, reason: str, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rate_limited = rate_limited


@dataclass
class WaybackOptions:
    """Everything that bounds our use of the Wayback; defaults are polite to the public Archive."""

    #: Base of every endpoint; "" means $PROVENANCE_WAYBACK_URL, else the public Archive.
    base_url: str = ""
    timeout: float = WAYBACK_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    #: Retries after a timeout, 429 or 5xx (per call).
    retries: int = 2
    user_agent: str = DEFAULT_USER_AGENT
    #: Seconds for a whole batch; what is not done by then gets a failed Snapshot.
    deadline: float = DEFAULT_DEADLINE
    #: Seconds between API call starts; None: ARCHIVE_API_INTERVAL for the public Archive, 0 elsewhere.
    api_interval: float | None = None
    #: Seconds between replay starts; None: ARCHIVE_REPLAY_INTERVAL for the public Archive, 0 elsewhere.
    replay_interval: float | None = None
    #: First backoff step in seconds when no Retry-After is given.
    backoff: float = BACKOFF_BASE
    max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES
    #: The same proxy and trust settings as the checker (``--proxy``, ``--ca-bundle``; None: the environment's).
    proxy: str | None = None
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if not self.base_url:
            self.base_url = os.environ.get(WAYBACK_ENV) or DEFAULT_WAYBACK_URL
        self.base_url = self.base_url.strip().rstrip("/")
        self.concurrency = max(1, min(int(self.concurrency), MAX_CONCURRENCY))
        self.retries = max(0, int(self.retries))

    @property
    def is_public_archive(self) -> bool:
        return (urlsplit(self.base_url).hostname or "").lower() in ARCHIVE_HOSTS

    @property
    def effective_api_interval(self) -> float:
        if self.api_interval is not None:
            return max(0.0, self.api_interval)
        return ARCHIVE_API_INTERVAL if self.is_public_archive else 0.0

    @property
    def effective_replay_interval(self) -> float:
        if self.replay_interval is not None:
            return max(0.0, self.replay_interval)
        return ARCHIVE_REPLAY_INTERVAL if self.is_public_archive else 0.0


def validate_base_url(base_url: str) -> str:
    """The base URL if it is an http(s) URL with a host, else ValueError (for a one-line CLI error)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid Wayback URL {base_url!r}: want http(s)://host[:port]")
    return base_url.strip().rstrip("/")


def parse_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` (or None) from a date or ISO datetime string; ValueError otherwise."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return Date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"invalid date {value!r}: want YYYY-MM-DD") from None


def _full_ts(ts: str) -> str:
    return (ts + "00000000000000")[:14] if ts.isdigit() else ts


def _day_end(day: str) -> str:
    return day.replace("-", "") + "235959"


def choose_capture(captures: Sequence[tuple[str, int | None]], date: str | None) -> str | None:
    """Timestamp of the 200 capture closest to ``date``: the latest on or before
    it (what the author could have seen), else the earliest after it; without
    a date the latest. Captures of 404s, redirects and revisits never count.
    """
    good = sorted({_full_ts(str(ts)) for ts, status in captures if status == 200 and str(ts).isdigit()})
    if not good:
        return None
    if not date:
        return good[-1]
    target = _day_end(parse_date(date) or "")
    before = [ts for ts in good if ts <= target]
    if before:
        return before[-1]
    return good[0]


def snapshot_url(base_url: str, timestamp: str, url: str, raw: bool = False) -> str:
    """The replay address; ``raw`` gives the ``id_`` form (original bytes, no toolbar)."""
    return f"{base_url}/web/{timestamp}{'id_' if raw else ''}/{url}"


def parse_timestamp(ts: str) -> datetime | None:
    try:
        return datetime.strptime(ts[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None


# --------------------------------------------------------------------------- the shared politeness gate


#: Per (base URL, kind): when the next call may start and until when a 429 pauses us, carried
#: from one batch to the next in this process, so many small batches (one replay per claim)
#: are as polite as one big one.
_CARRY: dict[tuple[str, str], tuple[float, float]] = {}
_CARRY_LOCK = threading.Lock()


class _Gate:
    """One per batch: the semaphore, the gap between starts, and a pause everyone honours after a 429."""

    def __init__(self, concurrency: int, interval: float, carry_key: tuple[str, str] | None = None) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.interval = interval
        self.carry_key = carry_key
        with _CARRY_LOCK:
            self.next_start, self.paused_until = _CARRY.get(carry_key, (0.0, 0.0)) if carry_key else (0.0, 0.0)
        self.lock = asyncio.Lock()
        #: Calls in a row that found the Wayback unreachable (after their retries).
        self.failures_in_row = 0
        #: 429 answers in a row, whoever got them: the Archive speaks to our IP, not to one lookup.
        self.rate_limited_in_row = 0
        #: Set when we stop asking for the rest of the batch (breaker or persistent 429).
        self.gave_up: str | None = None

    async def wait_turn(self, deadline_at: float) -> None:
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start, self.paused_until)
            if start > deadline_at:
                raise WaybackUnavailable("Wayback deadline reached while waiting for a turn")
            self.next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def save(self) -> None:
        """Hand the schedule on to the next batch against the same Wayback."""
        if self.carry_key:
            with _CARRY_LOCK:
                old_next, old_pause = _CARRY.get(self.carry_key, (0.0, 0.0))
                _CARRY[self.carry_key] = (max(old_next, self.next_start), max(old_pause, self.paused_until))


async def _request(client: httpx.AsyncClient, gate: _Gate, url: str, params: dict[str, str] | None,
                   options: WaybackOptions, deadline_at: float, max_bytes: int) -> tuple[httpx.Response, bytes]:
    """GET with retries on timeout/429/5xx; returns the final response and its (bounded) body.

    Raises :class:`WaybackUnavailable` when every attempt failed.
    """
    last = "no attempt"
    rate_limited = False
    for attempt in range(options.retries + 1):
        if gate.gave_up:
            raise WaybackUnavailable(gate.gave_up, rate_limited=True)
        async with gate.semaphore:
            await gate.wait_turn(deadline_at)
            if gate.gave_up:  # decided while we queued
                raise WaybackUnavailable(gate.gave_up, rate_limited=True)
            budget = min(options.timeout, deadline_at - time.monotonic())
            if budget <= 0:
                raise WaybackUnavailable("Wayback deadline reached")
            retry_after: float | None = None
            try:
                async with asyncio.timeout(budget):  # not wait_for: 3.11's can swallow a cancellation
                    response, body = await _get_bounded(client, url, params, max_bytes)
                rate_limited = response.status_code == 429
                gate.rate_limited_in_row = gate.rate_limited_in_row + 1 if rate_limited else 0
                if rate_limited or response.status_code >= 500 or response.status_code == 408:
                    last = f"HTTP {response.status_code}"
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
                    if rate_limited:
                        if gate.rate_limited_in_row > options.retries:
                            # Ignoring 429s gets an IP blocked for an hour: stop asking for this batch.
                            gate.gave_up = "Wayback rate limit (429) persisted: stopped asking this run"
                            break
                        wait = retry_after if retry_after is not None else max(10.0, options.backoff * 2 ** attempt)
                        gate.pause(min(wait, MAX_RETRY_AFTER))
                else:
                    gate.failures_in_row = 0
                    return response, body
            except (asyncio.TimeoutError, httpx.TimeoutException):
                last = f"timeout after {budget:g}s"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"[:200]
        if attempt >= options.retries:
            break
        wait = retry_after if retry_after is not None else min(MAX_BACKOFF, options.backoff * 2 ** attempt)
        if wait > MAX_RETRY_AFTER or time.monotonic() + wait >= deadline_at:
            last += f" (asked to wait {wait:g}s: not this run)" if retry_after is not None else ""
            if rate_limited:
                gate.gave_up = f"Wayback rate limit (429, retry after {wait:g}s): stopped asking this run"
            break
        await asyncio.sleep(wait)
    if not rate_limited:
        gate.failures_in_row += 1
        if gate.failures_in_row >= BREAKER_FAILURES and not gate.gave_up:
            gate.gave_up = f"Wayback unavailable ({last}) on {gate.failures_in_row} calls in a row: skipped the rest"
    raise WaybackUnavailable(last, rate_limited=rate_limited)


async def _get_bounded(client: httpx.AsyncClient, url: str, params: dict[str, str] | None,
                       max_bytes: int) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", url, params=params) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) >= max_bytes:
                break
        return response, bytes(body[:max_bytes])


def _client(options: WaybackOptions, follow_redirects: bool) -> httpx.AsyncClient:
    """The Archive's client: the checker's proxy for the base URL (network.Proxies) and its CA bundle.

    ``trust_env`` stays off so that httpx does not read the environment a
    second, different way; network.py reads it once for both clients.
    """
    import ssl

    from .network import Proxies, ca_bundle

    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    parts = urlsplit(options.base_url)
    proxy = Proxies.from_env(options.proxy).for_url(parts.scheme.lower(), (parts.hostname or "").lower())
    verify = ssl.create_default_context(cafile=ca_bundle(options.ca_bundle))
    return httpx.AsyncClient(timeout=httpx.Timeout(options.timeout), limits=limits, trust_env=False,
                             follow_redirects=follow_redirects, max_redirects=3, proxy=proxy, verify=verify,
                             headers={"User-Agent": options.user_agent})


def _run(coro_factory: Callable[[], Coroutine[Any, Any, T]], wall: float) -> T:
    """Run a coroutine to completion from sync code, even when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="wayback", daemon=True)
    thread.start()
    thread.join(wall)
    if "error" in box:
        raise box["error"]
    if "value" not in box:
        raise TimeoutError("Wayback batch overran its deadline")
    return box["value"]


# --------------------------------------------------------------------------- lookups


def find_snapshot(url: str, date: str | None, options: WaybackOptions | None = None) -> Snapshot:
    """The snapshot for one URL near ``date`` (see :func:`find_snapshots`)."""
    return find_snapshots([(url, date)], options)[(url, date)]


def find_snapshots(requests: Sequence[tuple[str, str | None]], options: WaybackOptions | None = None,
                   progress: Callable[[Snapshot], None] | None = None,
                   stopped: list[str] | None = None) -> dict[tuple[str, str | None], Snapshot]:
    """The snapshot for each distinct ``(url, date)``, looked up concurrently and politely.

    Never raises for Wayback trouble and never outlives ``options.deadline``:
    a lookup that could not be done gets ``timestamp=None``, ``failed=True``
    and a reason (callers should not cache those); "no good capture" is
    ``timestamp=None``, ``failed=False``. ``progress`` is called once per result.
    ``stopped`` gets the reason when the Wayback said stop (a persistent 429,
    the breaker), so the caller can stop asking it for the rest of the run
    (Save Page Now included).
    """
    options = options or WaybackOptions()
    keys = list(dict.fromkeys((str(u), d) for u, d in requests))
    if not keys:
        return {}
    try:
        return _run(lambda: _find_all(keys, options, progress, stopped), options.deadline + 10.0)
    except TimeoutError:
        return {k: Snapshot(url=k[0], failed=True, reason="Wayback batch overran its deadline") for k in keys}


async def _find_all(keys: list[Key], options: WaybackOptions, progress: Callable[[Snapshot], None] | None,
                    stopped: list[str] | None = None) -> dict[Key, Snapshot]:
    deadline_at = time.monotonic() + options.deadline
    gate = _Gate(options.concurrency, options.effective_api_interval, (options.base_url, "api"))
    out: dict[Key, Snapshot] = {}
    async with _client(options, follow_redirects=True) as client:
        async def one(key: Key) -> None:
            try:
                snap = await _lookup(client, gate, key[0], key[1], options, deadline_at)
            except Exception as exc:  # noqa: BLE001 - one odd URL must not lose the batch
                snap = Snapshot(url=key[0], failed=True, reason=f"lookup failed: {type(exc).__name__}: {exc}"[:300])
            out[key] = snap
            if progress:
                try:
                    progress(snap)
                except Exception:  # noqa: BLE001 - a progress printer must not lose results
                    pass

        await _run_until(deadline_at, [one(k) for k in keys])
    gate.save()
    if gate.gave_up and stopped is not None:
        stopped.append(gate.gave_up)
    for key in keys:
        if key not in out:
            out[key] = Snapshot(url=key[0], failed=True, reason=f"Wayback deadline ({options.deadline:g}s) reached")
            if progress:
                try:
                    progress(out[key])
                except Exception:  # noqa: BLE001
                    pass
    return out


async def _run_until(deadline_at: float, jobs: Sequence[Coroutine[Any, Any, Any]]) -> None:
    """Run ``jobs`` concurrently; cancel what is still running a second past the deadline."""
    tasks = [asyncio.create_task(job) for job in jobs]
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline_at - time.monotonic()) + 1.0)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def _lookup(client: httpx.AsyncClient, gate: _Gate, url: str, date: str | None,
                  options: WaybackOptions, deadline_at: float) -> Snapshot:
    try:
        day = parse_date(date)
    except ValueError as exc:
        return Snapshot(url=url, failed=True, reason=str(exc))
    if gate.gave_up:
        return Snapshot(url=url, failed=True, reason=gate.gave_up)
    reasons: list[str] = []
    try:
        ts = await _cdx_lookup(client, gate, url, day, options, deadline_at)
        if ts:
            return _found(url, ts, options, "CDX")
        return Snapshot(url=url, reason="no capture that answered 200")
    except WaybackUnavailable as exc:
        reasons.append(f"CDX: {exc.reason}")
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        reasons.append(f"CDX: unreadable answer ({type(exc).__name__})")
    if gate.gave_up:
        return Snapshot(url=url, failed=True, reason="; ".join(reasons + [gate.gave_up]))
    try:
        ts, status = await _availability_lookup(client, gate, url, day, options, deadline_at)
        if ts and status == 200:
            return _found(url, ts, options, "availability API (CDX failed)")
        return Snapshot(url=url, reason="; ".join(reasons + ["availability API: no capture that answered 200"]))
    except WaybackUnavailable as exc:
        reasons.append(f"availability API: {exc.reason}")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        reasons.append(f"availability API: unreadable answer ({type(exc).__name__})")
    return Snapshot(url=url, failed=True, reason="; ".join(reasons))


def _found(url: str, ts: str, options: WaybackOptions, source: str) -> Snapshot:
    return Snapshot(url=url, timestamp=ts, snapshot_url=snapshot_url(options.base_url, ts, url), status=200,
                    reason=f"closest good capture ({source})")


async def _cdx_rows(client: httpx.AsyncClient, gate: _Gate, url: str, extra: dict[str, str],
                    options: WaybackOptions, deadline_at: float) -> list[tuple[str, int | None]]:
    params = {"url": url, "output": "json", "fl": "timestamp,statuscode", "filter": "statuscode:200", **extra}
    response, body = await _request(client, gate, f"{options.base_url}/cdx/search/cdx", params, options,
                                    deadline_at, MAX_API_BYTES)
    if response.status_code != 200:
        raise WaybackUnavailable(f"HTTP {response.status_code}")
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    rows = json.loads(text)
    if not isinstance(rows, list):
        raise ValueError("CDX answer is not a JSON array")
    rows = [r for r in rows if isinstance(r, list) and r]
    if not rows:
        return []
    header = [str(h) for h in rows[0]]
    if "timestamp" not in header:
        raise KeyError("timestamp")
    ti = header.index("timestamp")
    si = header.index("statuscode") if "statuscode" in header else None
    captures = []
    for row in rows[1:]:
        if len(row) <= ti:
            continue
        status: int | None = None
        if si is not None and len(row) > si:
            try:
                status = int(str(row[si]))
            except ValueError:
                status = None  # "-" for revisits: unknown, never chosen
        captures.append((str(row[ti]), status))
    return captures


async def _cdx_lookup(client: httpx.AsyncClient, gate: _Gate, url: str, day: str | None,
                      options: WaybackOptions, deadline_at: float) -> str | None:
    """At most two small CDX queries: the last good captures up to the date, else the first after it.

    Asking for a window at the right end of the range (``to`` + negative
    ``limit``) instead of "all captures" matters: a popular page has
    thousands, and the first N of them are years too old.
    """
    if not day:
        return choose_capture(await _cdx_rows(client, gate, url, {"limit": str(-CDX_WINDOW)}, options, deadline_at), None)
    end = _day_end(day)
    before = await _cdx_rows(client, gate, url, {"to": end, "limit": str(-CDX_WINDOW)}, options, deadline_at)
    chosen = choose_capture([c for c in before if _full_ts(c[0]) <= end], day)
    if chosen:
        return chosen
    after = await _cdx_rows(client, gate, url, {"from": day.replace("-", ""), "limit": str(CDX_WINDOW)},
                            options, deadline_at)
    return choose_capture(after + before, day)


async def _availability_lookup(client: httpx.AsyncClient, gate: _Gate, url: str, day: str | None,
                               options: WaybackOptions, deadline_at: float) -> tuple[str | None, int | None]:
    """The availability API's closest capture (either side of the date: it cannot prefer "before")."""
    params = {"url": url}
    if day:
        params["timestamp"] = _day_end(day)
    response, body = await _request(client, gate, f"{options.base_url}/wayback/available", params, options,
                                    deadline_at, MAX_API_BYTES)
    if response.status_code != 200:
        raise WaybackUnavailable(f"HTTP {response.status_code}")
    data = json.loads(body.decode("utf-8", errors="replace") or "{}")
    closest = ((data or {}).get("archived_snapshots") or {}).get("closest") or {}
    if not closest or not closest.get("available", True):
        return None, None
    ts = str(closest.get("timestamp") or "")
    if not ts.isdigit():
        match = re.search(r"/web/(\d{8,14})", str(closest.get("url") or ""))
        ts = match.group(1) if match else ""
    try:
        status = int(str(closest.get("status", "200")))
    except ValueError:
        status = None
    return (_full_ts(ts) if ts else None), status


# --------------------------------------------------------------------------- replays


def snapshot_key(snapshot: Snapshot) -> str | None:
    """The key :func:`fetch_snapshot_htmls` files a snapshot's HTML under (its replay URL)."""
    return snapshot.snapshot_url if snapshot.timestamp else None


def fetch_snapshot_html(snapshot: Snapshot, options: WaybackOptions | None = None) -> str | None:
    """The raw (``id_``) replay of a capture, for claim support; None when it cannot be had."""
    if not snapshot.timestamp:
        return None
    return fetch_snapshot_htmls([snapshot], options).get(snapshot_key(snapshot) or "")


def fetch_snapshot_htmls(snapshots: Sequence[Snapshot], options: WaybackOptions | None = None) -> dict[str, str | None]:
    """Raw replays of many captures, concurrently and bounded (bytes, time, redirects).

    Keyed by :func:`snapshot_key` (the snapshot's ``snapshot_url``); snapshots
    without a timestamp are skipped. A replay that fails, is not text, or is
    not done by the deadline maps to None. Captures are taken as they are;
    :func:`fetch_replays` passes over bad ones.
    """
    return {key: r.html for key, r in fetch_replays(snapshots, options, max_replays=1).items()}


@dataclass
class Replay:
    """The raw replay read for a snapshot: possibly another capture when the chosen one was a bad copy."""

    #: The snapshot asked for.
    snapshot: Snapshot
    #: The page, or None when no good capture could be read.
    html: str | None = None
    #: The capture actually read (the one asked for, or a neighbour when that was bad).
    timestamp: str | None = None
    snapshot_url: str | None = None
    #: Why the page was read only in part (the byte cap), else None.
    cut: str | None = None
    #: Captures passed over, each "<timestamp>: <what was wrong>".
    passed_over: tuple[str, ...] = ()
    #: Why there is no html, when there is none.
    reason: str = ""

    @property
    def replaced(self) -> bool:
        """True when a neighbouring capture stands in for the one asked for."""
        return self.html is not None and self.timestamp != self.snapshot.timestamp


def fetch_replays(snapshots: Sequence[Snapshot], options: WaybackOptions | None = None,
                  max_replays: int = MAX_GOOD_CAPTURE_REPLAYS, stopped: list[str] | None = None) -> dict[str, Replay]:
    """Raw replays of many captures, passing over bad copies for the next good capture.

    A replay that is itself a soft 404, an error page, a bot wall or an empty
    shell (:func:`provenance.capture.replay_problem`) is passed over for its
    nearest good neighbour (earlier ones first: what the author could have
    seen), at most ``max_replays`` replays per snapshot in all; what was
    passed over and why is on the :class:`Replay`. Keyed by
    :func:`snapshot_key`; bounded in bytes, time and redirects; never raises.
    ``stopped`` gets the reason when the Wayback said stop (as for find_snapshots).
    """
    options = options or WaybackOptions()
    wanted = {snapshot_key(s): s for s in snapshots if s.timestamp and snapshot_key(s)}
    if not wanted:
        return {}
    try:
        return _run(lambda: _fetch_all(wanted, options, max(1, max_replays), stopped), options.deadline + 10.0)
    except TimeoutError:
        return {key: Replay(s, reason="Wayback batch overran its deadline") for key, s in wanted.items()}


async def _fetch_all(wanted: dict[str, Snapshot], options: WaybackOptions, max_replays: int,
                     stopped: list[str] | None = None) -> dict[str, Replay]:
    deadline_at = time.monotonic() + options.deadline
    gate = _Gate(options.concurrency, options.effective_replay_interval, (options.base_url, "replay"))
    api = _Gate(options.concurrency, options.effective_api_interval, (options.base_url, "api"))
    out: dict[str, Replay] = {key: Replay(s, reason="Wayback deadline reached") for key, s in wanted.items()}
    async with _client(options, follow_redirects=False) as client:
        async def one(key: str, snap: Snapshot) -> None:
            try:
                out[key] = await _good_replay(client, gate, api, snap, options, deadline_at, max_replays)
            except Exception as exc:  # noqa: BLE001 - a replay we cannot read is simply not there
                out[key] = Replay(snap, reason=f"replay failed: {type(exc).__name__}")

        await _run_until(deadline_at, [one(k, s) for k, s in wanted.items()])
    gate.save()
    api.save()
    if stopped is not None:
        stopped.extend(g.gave_up for g in (api, gate) if g.gave_up)
    return out


async def _good_replay(client: httpx.AsyncClient, gate: _Gate, api: _Gate, snap: Snapshot, options: WaybackOptions,
                       deadline_at: float, max_replays: int) -> Replay:
    from .capture import replay_problem

    passed: list[str] = []
    timestamp = snap.timestamp or ""
    neighbours: list[str] | None = None
    for _n in range(max_replays):
        html, cut = await _replay(client, gate, Snapshot(url=snap.url, timestamp=timestamp), options, deadline_at)
        if html is None:
            return Replay(snap, timestamp=timestamp, passed_over=tuple(passed),
                          reason="snapshot could not be read" if not passed else
                          f"snapshot could not be read after passing over {len(passed)} bad capture(s)")
        problem = replay_problem(html, snap.url, cut=cut is not None) if max_replays > 1 else None
        if problem is None:
            return Replay(snap, html, timestamp, snapshot_url(options.base_url, timestamp, snap.url), cut,
                          tuple(passed))
        passed.append(f"{timestamp}: {problem}")
        if neighbours is None:
            try:
                neighbours = await _neighbours(client, api, snap.url, timestamp, options, deadline_at, max_replays)
            except (WaybackUnavailable, ValueError, TypeError, KeyError, IndexError):
                neighbours = []
        neighbours = [ts for ts in neighbours if ts != timestamp]
        if not neighbours:
            break
        timestamp = neighbours.pop(0)
    return Replay(snap, timestamp=snap.timestamp, passed_over=tuple(passed),
                  reason=f"no good capture: passed over {'; '.join(passed)}"[:500])


async def _neighbours(client: httpx.AsyncClient, gate: _Gate, url: str, timestamp: str, options: WaybackOptions,
                      deadline_at: float, count: int) -> list[str]:
    """Good (200) captures next to ``timestamp``: the earlier ones first, nearest first, then the later ones."""
    ts = _full_ts(timestamp)
    before = await _cdx_rows(client, gate, url, {"to": ts, "limit": str(-(count + 1))}, options, deadline_at)
    earlier = sorted({_full_ts(t) for t, status in before if status == 200 and _full_ts(t) < ts}, reverse=True)
    later: list[str] = []
    if len(earlier) < count:
        after = await _cdx_rows(client, gate, url, {"from": ts, "limit": str(count + 1)}, options, deadline_at)
        later = sorted({_full_ts(t) for t, status in after if status == 200 and _full_ts(t) > ts})
    return (earlier + later)[:count]


async def _replay(client: httpx.AsyncClient, gate: _Gate, snap: Snapshot, options: WaybackOptions,
                  deadline_at: float) -> tuple[str | None, str | None]:
    """One raw replay: (text, why it was cut or None); (None, None) when it is not there or not text."""
    base_host = urlsplit(options.base_url).netloc
    current = snapshot_url(options.base_url, snap.timestamp or "", snap.url, raw=True)
    try:
        for _hop in range(MAX_REPLAY_REDIRECTS + 1):
            response, body = await _request(client, gate, current, None, options, deadline_at,
                                            options.max_snapshot_bytes)
            if response.is_redirect and "location" in response.headers:
                target = urljoin(current, response.headers["location"])
                # Only redirects inside the Wayback (to a neighbouring capture): never to the live web.
                if urlsplit(target).netloc != base_host or "/web/" not in target:
                    return None, None
                current = target
                continue
            if response.status_code != 200:
                return None, None
            ctype = response.headers.get("content-type", "text/html").lower()
            if not any(t in ctype for t in TEXT_TYPES):
                return None, None
            cut = (f"read to its first {options.max_snapshot_bytes:,} bytes"
                   if len(body) >= options.max_snapshot_bytes else None)
            return body.decode(response.encoding or "utf-8", errors="replace"), cut
    except WaybackUnavailable:
        return None, None
    return None, None


# --------------------------------------------------------------------------- Save Page Now


def save_page_now(urls: Sequence[str], options: WaybackOptions | None = None,
                  max_saves: int = MAX_SAVES, save_timeout: float = SAVE_TIMEOUT,
                  stopped: str | None = None) -> dict[str, Snapshot | None]:
    """Ask Save Page Now to archive live pages: ``GET <base>/save/<url>``, through the Archive's client.

    The request goes through :func:`_client`, so it takes the same proxy and
    CA bundle as the lookups (``--proxy``, ``--ca-bundle``, the environment);
    waybackpy, used here before, opened its own ``requests`` session that
    took neither. Each save is bounded by ``save_timeout`` (the whole call by
    ``options.deadline``): it can never block the run. Saves are sequential
    and at most ``max_saves`` per call (anonymous Save Page Now allows a few a
    minute); a 429 stops the rest. The capture's timestamp is read from the
    answer (Content-Location, Link, Location or final URL). Every URL maps to
    a Snapshot: ``timestamp`` set when saved, else None and a reason.
    ``stopped``: the Wayback already said stop this run (a persistent 429,
    the breaker): nothing is asked, and every URL's reason says why.
    """
    options = options or WaybackOptions()
    out: dict[str, Snapshot | None] = {}
    started = time.monotonic()
    stop_reason: str | None = f"Save Page Now not asked: {stopped}" if stopped else None
    for index, url in enumerate(dict.fromkeys(urls)):
        if stop_reason:
            out[url] = Snapshot(url=url, failed=True, reason=stop_reason)
            continue
        if index >= max_saves:
            out[url] = Snapshot(url=url, failed=True, reason=f"Save Page Now: at most {max_saves} saves per run")
            continue
        remaining = options.deadline - (time.monotonic() - started)
        if remaining <= 0:
            out[url] = Snapshot(url=url, failed=True, reason="Save Page Now: deadline reached")
            continue
        snap = _save_one(url, options, min(save_timeout, remaining))
        out[url] = snap
        if "429" in snap.reason:
            stop_reason = "Save Page Now refused (429): stopped saving this run"
    return out


def _save_one(url: str, options: WaybackOptions, timeout: float) -> Snapshot:
    """One save under a wall of ``timeout`` seconds (the answer's body is never read: only its headers count)."""
    try:
        return _run(lambda: asyncio.wait_for(_save_async(url, options, time.monotonic() + timeout), timeout),
                    timeout + 5.0)
    except (asyncio.TimeoutError, TimeoutError):
        return Snapshot(url=url, failed=True, reason=f"Save Page Now: no answer in {timeout:g}s")


async def _save_async(url: str, options: WaybackOptions, deadline_at: float) -> Snapshot:
    """GET <base>/save/<url>, retried (``options.retries``) on 5xx and transport errors while time is left."""
    request_url = f"{options.base_url}/save/{url}"
    detail = "no answer"
    async with _client(options, follow_redirects=False) as client:
        for attempt in range(options.retries + 1):
            try:
                async with client.stream("GET", request_url) as response:
                    status = response.status_code
                    headers = response.headers
            except httpx.HTTPError as exc:
                detail = f"{type(exc).__name__}: {exc}"[:200]
            else:
                if status == 429:
                    return Snapshot(url=url, failed=True, reason="Save Page Now: HTTP 429 (rate limited)")
                for text in (headers.get("content-location", ""), _memento_from_link(headers.get("link", "")),
                             headers.get("location", ""), str(response.url)):
                    match = re.search(r"/web/(\d{14})/", text)
                    if match:
                        ts = match.group(1)
                        return Snapshot(url=url, timestamp=ts, snapshot_url=snapshot_url(options.base_url, ts, url),
                                        status=200, reason="saved by Save Page Now")
                detail = f"HTTP {status}" if status >= 300 else "no capture in the answer"
                if status < 500:
                    break
            wait = min(MAX_BACKOFF, options.backoff * 2 ** attempt)
            if attempt >= options.retries or time.monotonic() + wait >= deadline_at:
                break
            await asyncio.sleep(wait)
    return Snapshot(url=url, failed=True, reason=f"Save Page Now: {detail}")


def _memento_from_link(link: str) -> str:
    """The newest ``rel="...memento"`` target of a Memento Link header ("" if none)."""
    best, best_ts = "", ""
    for target, rel in re.findall(r'<([^>]+)>\s*;[^,<]*?rel="([^"]+)"', link):
        match = re.search(r"/web/(\d{14})/", target)
        if "memento" in rel.split() and match and match.group(1) > best_ts:
            best, best_ts = target, match.group(1)
    return best
