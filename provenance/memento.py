"""Snapshots from every web archive, not only the Wayback Machine (Memento, RFC 7089).

Many cited pages were never captured by the Wayback Machine but were by
another archive. Archives that speak Memento publish a *TimeMap* per URL:
``BASE + original URL`` answers in link format (RFC 6690 syntax) with one
``rel="memento"`` entry per capture and its ``datetime`` (RFC 1123). An
aggregator (MemGator, Time Travel) is one more base answering for many.

:func:`find_snapshots` asks the Wayback first (:mod:`provenance.wayback`) and
the other archives only for the URLs it has no good capture of on or before
the article's date (or could not answer for), all archives at once, each host
under its own politeness gate (at most 2 in flight, spacing, timeouts, a
breaker, one deadline for the batch). Candidates are chosen by the Wayback's
rule (the latest on or before the date, else the earliest after) and a
memento counts only if its replay answers 200 (redirects inside the archive
followed) and :mod:`provenance.classify` does not call it a soft 404, an error
page or a bot wall.

TimeMaps are streamed and parsed as they arrive, with a byte cap: a popular
page has 100,000 mementos, and only the few closest to the date are kept.
Paged TimeMaps (``rel="timemap"`` links to further pages) are followed to a
bound; a 404 TimeMap means "no mementos".
"""

from __future__ import annotations

import asyncio
import codecs
import heapq
import os
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from . import classify, wayback
from .models import Snapshot
from .retry import retry_after_seconds
from .urls import is_ip_literal

ARCHIVES_ENV = "PROVENANCE_ARCHIVES"


@dataclass(frozen=True)
class Archive:
    """A public web archive that publishes Memento TimeMaps."""

    #: Short name reports and the database use ("arquivo.pt").
    name: str
    #: What the archive calls itself.
    title: str
    #: TimeMap base: ``timemap + original URL`` is a link-format TimeMap.
    timemap: str
    #: Other host names its mementos are served from (archive.today answers as archive.ph, archive.is ...).
    aliases: tuple[str, ...] = ()


#: The default archives: public archives that publish link-format Memento TimeMaps, with the
#: TimeMap addresses their Memento endpoints document (as collected by the Memento aggregator
#: MemGator's archive list, oduwsdl/MemGator docs/archives.json). The Internet Archive is not
#: here: the Wayback is asked first through its CDX API (provenance.wayback).
DEFAULT_ARCHIVES: tuple[Archive, ...] = (
    Archive("archive.today", "archive.today", "https://archive.today/timemap/",
            ("archive.ph", "archive.is", "archive.li", "archive.vn", "archive.fo", "archive.md")),
    Archive("arquivo.pt", "Portuguese Web Archive (Arquivo.pt)", "https://arquivo.pt/wayback/timemap/link/"),
    Archive("webarchive.loc.gov", "Library of Congress Web Archives", "https://webarchive.loc.gov/all/timemap/link/"),
    Archive("webarchive.org.uk", "UK Web Archive", "https://www.webarchive.org.uk/wayback/archive/timemap/link/"),
    Archive("wayback.archive-it.org", "Archive-It", "https://wayback.archive-it.org/all/timemap/link/"),
    Archive("perma.cc", "Perma.cc", "https://perma.cc/timemap/link/", ("perma-archives.org",)),
    Archive("wayback.vefsafn.is", "Icelandic Web Archive (Vefsafn)", "http://wayback.vefsafn.is/wayback/timemap/link/"),
    Archive("swap.stanford.edu", "Stanford Web Archive", "https://swap.stanford.edu/timemap/link/"),
    Archive("webarchive.nationalarchives.gov.uk", "UK Government Web Archive (The National Archives)",
            "https://webarchive.nationalarchives.gov.uk/timemap/"),
)

#: Requests in flight at once per archive host.
ARCHIVE_CONCURRENCY = 2
#: Seconds between request starts to one archive host reached by name (an IP address: 0, a local mirror or test).
ARCHIVE_INTERVAL = 1.0
#: Retries per call after a timeout, 429 or 5xx.
ARCHIVE_RETRIES = 1
#: Failed attempts in a row (no answer: refused, timeout, 5xx) before an archive host is skipped for the batch.
ARCHIVE_BREAKER = 2
#: Seconds the archive lookups of one batch may take, whatever happens.
ARCHIVE_DEADLINE = wayback.DEFAULT_DEADLINE
#: Seconds to resolve an archive's name before it is skipped as offline.
RESOLVE_TIMEOUT = 5.0
#: Most bytes read of one TimeMap page (about 100,000 mementos); the rest is cut, what was read counts.
MAX_TIMEMAP_BYTES = 16 * 1024 * 1024
#: TimeMap pages followed per URL and archive (``rel="timemap"`` links to further pages).
MAX_TIMEMAP_PAGES = 5
#: Replays tried per URL over all archives before giving up (each is a polite request); as many
#: mementos per side of the date are kept per archive while a TimeMap streams by.
MAX_REPLAYS = 4
#: Redirect hops followed inside an archive when replaying a memento (never off it).
MAX_REPLAY_REDIRECTS = 5
#: Bytes of a replay read to judge it (and to judge drift).
MAX_REPLAY_BYTES = 2 * 1024 * 1024
#: Longest Retry-After honoured; longer means "not this batch".
MAX_RETRY_AFTER = 30.0
#: Longest memento URL taken from a TimeMap.
MAX_MEMENTO_URL_CHARS = 8192
#: Longest a buffered, unfinished link-format entry may grow before it is dropped as junk.
MAX_ENTRY_CHARS = 64 * 1024

_LINK_FORMAT = "application/link-format"
_MONTHS = {m: f"{i:02d}" for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                                "nov", "dec"), 1)}
_RFC1123 = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2}):(\d{2})\s*(?:GMT|UTC|Z|\+0000)?\s*$")
#: One link-format entry: <uri> then ;-separated parameters, quoted or bare. Parameters cannot hold '<' or ','
#: outside quotes, so an entry is complete once a top-level ',' (or the end of the answer) follows.
_ENTRY = re.compile(r'\s*<([^<>]*)>((?:\s*;\s*[^\s=;,<>"]+(?:\s*=\s*(?:"[^"]*"|[^;,"<>\s]*))?)*)\s*(,|\Z)')
_PARAM = re.compile(r'\s*;\s*([^\s=;,<>"]+)(?:\s*=\s*(?:"([^"]*)"|([^;,"<>\s]*)))?')


class ArchiveUnavailable(Exception):
    """An archive did not answer usefully (network, timeout, 5xx, 429, breaker, deadline)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- options


def parse_archives(text: str | None) -> tuple[str, ...]:
    """``--archives``: comma-separated TimeMap bases; "" none; "default" the documented list; ValueError if bad.

    None means "not given": ``$PROVENANCE_ARCHIVES`` when set (even empty), else the defaults.
    """
    if text is None:
        text = os.environ.get(ARCHIVES_ENV)
        if text is None:
            return tuple(a.timemap for a in DEFAULT_ARCHIVES)
    out: list[str] = []
    for part in str(text).split(","):
        base = part.strip()
        if not base:
            continue
        if base.lower() in ("default", "defaults"):
            out += [a.timemap for a in DEFAULT_ARCHIVES]
            continue
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid archive TimeMap base {base!r}: want http(s)://host/path/ "
                             f"(the original URL is appended to it)")
        out.append(base)
    return tuple(dict.fromkeys(out))


@dataclass
class MementoOptions:
    """What bounds our use of other web archives; defaults are polite to public ones."""

    #: TimeMap bases; None: $PROVENANCE_ARCHIVES when set, else DEFAULT_ARCHIVES. Empty: ask none.
    archives: Sequence[str] | None = None
    timeout: float = wayback.WAYBACK_TIMEOUT
    retries: int = ARCHIVE_RETRIES
    user_agent: str = wayback.DEFAULT_USER_AGENT
    #: Requests in flight per archive host (at most ARCHIVE_CONCURRENCY).
    concurrency: int = ARCHIVE_CONCURRENCY
    #: Seconds between request starts per host; None: ARCHIVE_INTERVAL for names, 0 for IP addresses.
    interval: float | None = None
    deadline: float = ARCHIVE_DEADLINE
    max_timemap_bytes: int = MAX_TIMEMAP_BYTES
    max_pages: int = MAX_TIMEMAP_PAGES
    max_replays: int = MAX_REPLAYS
    #: The run is offline: archives reached by name are skipped (an IP address is still asked).
    offline: bool = False
    #: First backoff step in seconds when no Retry-After is given.
    backoff: float = 1.0
    #: The same proxy and trust settings as the checker (``--proxy``, ``--ca-bundle``; None: the environment's).
    proxy: str | None = None
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        self.archives = parse_archives(None) if self.archives is None else tuple(
            b.strip() for b in self.archives if b and b.strip())
        self.concurrency = max(1, min(int(self.concurrency), ARCHIVE_CONCURRENCY))
        self.retries = max(0, int(self.retries))

    def interval_for(self, host: str) -> float:
        if self.interval is not None:
            return max(0.0, self.interval)
        return 0.0 if is_ip_literal(host) else ARCHIVE_INTERVAL


def archive_name(url: str | None) -> str | None:
    """The archive a capture URL belongs to: a DEFAULT_ARCHIVES name, else its host without ``www.``."""
    host = (urlsplit(url or "").hostname or "").lower()
    if not host:
        return None
    for archive in DEFAULT_ARCHIVES:
        own = (urlsplit(archive.timemap).hostname or "").lower()
        if host == own or host in archive.aliases or host == archive.name:
            return archive.name
    return host[4:] if host.startswith("www.") else host


# --------------------------------------------------------------------------- link format, streamed


@dataclass
class Link:
    """One link-format entry: a target and its parameters (``rel`` split into lower-case words)."""

    uri: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def rels(self) -> frozenset[str]:
        return frozenset(self.params.get("rel", "").lower().split())


def _link(uri: str, params_text: str) -> Link:
    params: dict[str, str] = {}
    for name, quoted, bare in _PARAM.findall(params_text):
        name = name.lower()
        if name not in params:  # the first of a repeated parameter counts
            params[name] = quoted or bare
    return Link(uri.strip(), params)


class LinkFormatReader:
    """Parses link format as it arrives: ``feed`` text pieces, get complete entries back.

    Only the unfinished tail is buffered, so a 10 MB TimeMap is never held
    whole; a malformed entry is skipped, never fatal.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[Link]:
        self._buffer += text
        return self._drain(final=False)

    def close(self) -> list[Link]:
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[Link]:
        buf, pos, out = self._buffer, 0, []
        while True:
            start = buf.find("<", pos)
            if start < 0:
                pos = len(buf)
                break
            match = _ENTRY.match(buf, start)
            if match and (match.group(3) == "," or final):
                out.append(_link(match.group(1), match.group(2)))
                pos = match.end()
                continue
            if match and not final:
                pos = start  # a whole entry so far, but the next piece may add parameters to it: wait
                break
            # Not an entry: junk before the next one (skip it) or an unfinished tail (wait for more).
            nxt = buf.find("<", start + 1)
            if nxt >= 0:
                pos = nxt
                continue
            pos = len(buf) if final or len(buf) - start > MAX_ENTRY_CHARS else start
            break
        self._buffer = buf[pos:]
        return out


def memento_timestamp(value: str | None) -> str | None:
    """A Memento ``datetime`` (RFC 1123, "Tue, 20 Nov 2024 08:30:00 GMT") as 14 digits in UTC; None if unreadable."""
    if not value:
        return None
    match = _RFC1123.match(value)
    if match:  # the form archives write, read without the email parser (a TimeMap may list 100,000)
        day, mon, year, hh, mm, ss = match.groups()
        month = _MONTHS.get(mon.lower())
        day = day.zfill(2)
        if month and "01" <= day <= "31" and hh < "24" and mm < "60" and ss < "62":
            return f"{year}{month}{day}{hh}{mm}{ss if ss < '60' else '59'}"
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


# --------------------------------------------------------------------------- choosing


@dataclass(frozen=True, order=True)
class Candidate:
    """A memento that might be the snapshot, before its replay is checked."""

    timestamp: str
    url: str
    #: Name of the TimeMap base that listed it (for reasons).
    source: str = ""


class _Closest:
    """Keeps, while a TimeMap streams by, the few mementos closest to the date on each side."""

    def __init__(self, day: str | None, keep: int = MAX_REPLAYS) -> None:
        self.end = wayback._day_end(day) if day else None
        self.keep = keep
        self.before: list[tuple[str, str, str]] = []  # min-heap: the latest `keep` on or before the date
        self.after: list[tuple[str, str, str]] = []   # min-heap of negated order: the earliest `keep` after it
        self.seen = 0

    def add(self, ts: str, uri: str, where: str) -> None:
        """A memento at ``ts``; ``uri`` as the TimeMap wrote it, resolved against ``where`` only if kept."""
        self.seen += 1
        if self.end is None or ts <= self.end:
            item = (ts, uri, where)
            if len(self.before) < self.keep:
                heapq.heappush(self.before, item)
            elif item > self.before[0]:
                heapq.heapreplace(self.before, item)
        else:
            neg = (_negate(ts), uri, where)
            if len(self.after) < self.keep:
                heapq.heappush(self.after, neg)
            elif neg > self.after[0]:
                heapq.heapreplace(self.after, neg)

    def candidates(self, source: str) -> list[Candidate]:
        return ([Candidate(ts, urljoin(w, u), source) for ts, u, w in self.before]
                + [Candidate(_negate(n), urljoin(w, u), source) for n, u, w in self.after])


def _negate(ts: str) -> str:
    return "".join(chr(ord("9") - ord(c) + ord("0")) for c in ts)


def order_candidates(candidates: Sequence[Candidate], day: str | None) -> list[Candidate]:
    """Preference order, the Wayback's rule: on or before the date latest first, then after it earliest first."""
    unique = {c.url: c for c in sorted(candidates)}.values()
    if not day:
        return sorted(unique, key=lambda c: c.timestamp, reverse=True)
    end = wayback._day_end(day)
    before = sorted((c for c in unique if c.timestamp <= end), key=lambda c: c.timestamp, reverse=True)
    after = sorted((c for c in unique if c.timestamp > end), key=lambda c: c.timestamp)
    return before + after


def good_enough(snapshot: Snapshot | None, day: str | None) -> bool:
    """True when the Wayback's answer needs no other archive: a good capture on or before the date
    (or, for an undated article, any good capture)."""
    if snapshot is None or not snapshot.timestamp:
        return False
    return not day or wayback._full_ts(snapshot.timestamp) <= wayback._day_end(day)


def _beats(candidate: Candidate, incumbent: Snapshot | None, day: str | None) -> bool:
    """Would ``candidate`` be preferred to the Wayback's own (after-the-date) capture?"""
    if incumbent is None or not incumbent.timestamp:
        return True
    ts = wayback._full_ts(incumbent.timestamp)
    if not day:
        return candidate.timestamp > ts
    end = wayback._day_end(day)
    if candidate.timestamp <= end:
        return ts > end or candidate.timestamp > ts
    return ts > end and candidate.timestamp < ts


# --------------------------------------------------------------------------- per-host politeness


class _Hosts:
    """One politeness gate per archive host (semaphore, spacing, 429 pause, breaker) for a batch."""

    def __init__(self, options: MementoOptions) -> None:
        self.options = options
        self.gates: dict[str, wayback._Gate] = {}
        #: Hosts skipped for the batch, with why (offline, name does not resolve).
        self.skipped: dict[str, str] = {}
        self._resolving: dict[str, asyncio.Future[None]] = {}

    def gate(self, host: str) -> wayback._Gate:
        gate = self.gates.get(host)
        if gate is None:
            gate = self.gates[host] = wayback._Gate(self.options.concurrency, self.options.interval_for(host),
                                                    (f"memento:{host}", "api"))
        return gate

    async def usable(self, host: str) -> str | None:
        """None when ``host`` may be asked, else why not (offline run, a name that does not resolve)."""
        if host in self.skipped:
            return self.skipped[host]
        if is_ip_literal(host):
            return None
        if self.options.offline:
            self.skipped[host] = f"{host}: skipped, the run is offline"
            return self.skipped[host]
        pending = self._resolving.get(host)
        if pending is None:
            pending = self._resolving[host] = asyncio.ensure_future(self._resolve(host))
        await asyncio.shield(pending)
        return self.skipped.get(host)

    async def _resolve(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):  # not wait_for: 3.11's can swallow a cancellation
                await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, asyncio.TimeoutError, UnicodeError):
            self.skipped[host] = f"{host}: skipped, the name does not resolve (offline?)"


async def _get(client: httpx.AsyncClient, hosts: _Hosts, url: str, deadline_at: float,
               consume: Callable[[httpx.Response], Any], follow: bool) -> Any:
    """GET under ``url``'s host gate, with retries on timeout/429/5xx; ``consume(response)`` reads the answer.

    Returns what ``consume`` returned for the final answer (any status but
    408/429/5xx). Raises :class:`ArchiveUnavailable` otherwise.
    """
    host = (urlsplit(url).hostname or "").lower()
    why = await hosts.usable(host)
    if why:
        raise ArchiveUnavailable(why)
    gate = hosts.gate(host)
    options = hosts.options
    last = "no attempt"
    for attempt in range(options.retries + 1):
        if gate.gave_up:
            raise ArchiveUnavailable(gate.gave_up)
        retry_after: float | None = None
        async with gate.semaphore:
            try:
                await gate.wait_turn(deadline_at)
            except wayback.WaybackUnavailable:
                raise ArchiveUnavailable(f"{host}: deadline reached") from None
            if gate.gave_up:
                raise ArchiveUnavailable(gate.gave_up)
            budget = min(options.timeout, deadline_at - time.monotonic())
            if budget <= 0:
                raise ArchiveUnavailable(f"{host}: deadline reached")
            try:
                async def call() -> tuple[int, Any, str | None]:
                    async with client.stream("GET", url, follow_redirects=follow) as response:
                        status = response.status_code
                        if status == 429 or status == 408 or status >= 500:
                            return status, None, response.headers.get("retry-after")
                        return status, await consume(response), None

                async with asyncio.timeout(budget):  # not wait_for: 3.11's can swallow a cancellation
                    status, value, retry_header = await call()
                if status == 429 or status == 408 or status >= 500:
                    last = f"{host}: HTTP {status}"
                    retry_after = retry_after_seconds(retry_header)
                    if status == 429:
                        gate.pause(min(retry_after if retry_after is not None else 10.0, MAX_RETRY_AFTER))
                    gate.failures_in_row += 1
                else:
                    gate.failures_in_row = 0
                    return value
            except (asyncio.TimeoutError, httpx.TimeoutException):
                last = f"{host}: no answer in {budget:g}s"
                gate.failures_in_row += 1
            except httpx.HTTPError as exc:
                last = f"{host}: {type(exc).__name__}: {exc}"[:200]
                gate.failures_in_row += 1
            if gate.failures_in_row >= ARCHIVE_BREAKER and not gate.gave_up:
                # A dead archive must cost seconds, not URLs x timeout: skip it for the rest of the batch.
                gate.gave_up = f"{last} ({gate.failures_in_row} failures in a row: skipped for this run)"
        if attempt >= options.retries or gate.gave_up:
            break
        wait = retry_after if retry_after is not None else options.backoff * 2 ** attempt
        if wait > MAX_RETRY_AFTER or time.monotonic() + wait >= deadline_at:
            break
        await asyncio.sleep(wait)
    raise ArchiveUnavailable(gate.gave_up or last)


def _client(options: MementoOptions) -> httpx.AsyncClient:
    """One client for every archive: the checker's proxies and CA bundle (network.httpx_settings)."""
    from .network import httpx_settings

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    return httpx.AsyncClient(timeout=httpx.Timeout(options.timeout), limits=limits, trust_env=False,
                             max_redirects=MAX_REPLAY_REDIRECTS, headers={"User-Agent": options.user_agent},
                             **httpx_settings(options.proxy, options.ca_bundle, limits))


# --------------------------------------------------------------------------- TimeMaps


@dataclass
class TimeMapResult:
    """What one archive's TimeMap said about a URL."""

    base: str
    candidates: list[Candidate] = field(default_factory=list)
    #: Mementos listed (over all pages read).
    mementos: int = 0
    pages: int = 0
    #: Set when the archive could not answer (not for "no mementos").
    error: str | None = None
    #: True when a page was cut at the byte cap or pages were left unread.
    truncated: bool = False


async def read_timemap(client: httpx.AsyncClient, hosts: _Hosts, base: str, url: str, day: str | None,
                       deadline_at: float) -> TimeMapResult:
    """Stream ``base + url`` (and its further pages, to a bound); keep the mementos closest to ``day``."""
    options = hosts.options
    result = TimeMapResult(base)
    closest = _Closest(day, max(1, options.max_replays))
    queue = [base + url]
    seen: set[str] = set()
    while queue:
        page = queue.pop(0)
        if page in seen:
            continue
        if result.pages >= options.max_pages:
            result.truncated = True
            break
        seen.add(page)
        result.pages += 1
        found_next: list[str] = []

        async def consume(response: httpx.Response, page: str = page, found_next: list[str] = found_next) -> int:
            if response.status_code != 200:
                return response.status_code
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            reader = LinkFormatReader()
            where = str(response.url)
            read = 0

            def take(links: list[Link]) -> None:
                for link in links:
                    if len(link.uri) > MAX_MEMENTO_URL_CHARS:
                        continue  # no archive writes such a URL; asking for it would only cost a failure
                    rels = link.rels
                    if "memento" in rels:
                        ts = memento_timestamp(link.params.get("datetime"))
                        if ts:
                            closest.add(ts, link.uri, where)
                    elif ("timemap" in rels or "next" in rels) and "self" not in rels:
                        kind = link.params.get("type", _LINK_FORMAT).lower()
                        target = urljoin(where, link.uri)
                        if _LINK_FORMAT in kind and target not in (page, where) and len(found_next) < options.max_pages:
                            found_next.append(target)

            async for chunk in response.aiter_bytes():
                read += len(chunk)
                if read > options.max_timemap_bytes:
                    chunk = chunk[:max(0, len(chunk) - (read - options.max_timemap_bytes))]
                    result.truncated = True
                take(reader.feed(decoder.decode(chunk)))
                if result.truncated:
                    break
            take(reader.feed(decoder.decode(b"", final=True)))
            if not result.truncated:
                take(reader.close())
            return 200

        try:
            status = await _get(client, hosts, page, deadline_at, consume, follow=True)
        except ArchiveUnavailable as exc:
            if result.pages == 1 or not closest.seen:
                result.error = exc.reason
            else:
                result.truncated = True  # later pages failed: what was read still counts
            break
        if status in (404, 410):
            if result.pages == 1:
                break  # the archive has no mementos of this URL: an answer, not an error
            continue
        if status != 200:
            if result.pages == 1:
                result.error = f"{urlsplit(page).hostname}: TimeMap answered HTTP {status}"
            break
        queue += [p for p in found_next if p not in seen]
    result.mementos = closest.seen
    result.candidates = closest.candidates(archive_name(base) or base)
    return result


# --------------------------------------------------------------------------- replays


@dataclass
class Replay:
    """A memento's replay: whether it counts, why not, and its text for claim support."""

    ok: bool
    reason: str
    html: str | None = None
    #: True when the archive could not be asked (worth asking again), not a bad replay.
    failed: bool = False


async def check_replay(client: httpx.AsyncClient, hosts: _Hosts, memento_url: str, deadline_at: float) -> Replay:
    """Replay a memento: 200 after redirects inside the archive, and not a soft 404, error page or bot wall."""
    home = (urlsplit(memento_url).hostname or "").lower()
    current = memento_url
    hops: list[tuple[int, str]] = []

    async def consume(response: httpx.Response) -> tuple[int, dict[str, str], str]:
        headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code != 200:
            return response.status_code, headers, ""
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) >= MAX_REPLAY_BYTES:
                break
        return 200, headers, bytes(body[:MAX_REPLAY_BYTES]).decode(response.encoding or "utf-8", errors="replace")

    try:
        for _hop in range(MAX_REPLAY_REDIRECTS + 1):
            status, headers, text = await _get(client, hosts, current, deadline_at, consume, follow=False)
            if status in classify.REDIRECT_STATUSES and headers.get("location"):
                target = urljoin(current, headers["location"])
                if (urlsplit(target).hostname or "").lower() != home:
                    return Replay(False, f"replay redirects off the archive ({target})")
                hops.append((status, target))
                current = target
                continue
            break
        else:
            return Replay(False, "replay redirects too many times")
    except ArchiveUnavailable as exc:
        return Replay(False, f"replay: {exc.reason}", failed=True)
    if status != 200:
        return Replay(False, f"replay answered HTTP {status}")
    ctype = headers.get("content-type", "text/html").lower()
    obs = classify.Observation(url=memento_url, final_url=current, status=200, headers=headers,
                               text=text if any(t in ctype for t in wayback.TEXT_TYPES) else "", hops=tuple(hops))
    judgement = classify.judge(obs)
    if judgement.verdict not in ("ok", "redirect"):
        return Replay(False, f"replay is {judgement.verdict}: {judgement.reason}")
    return Replay(True, "replay answered 200", text if any(t in ctype for t in wayback.TEXT_TYPES) else None)


# --------------------------------------------------------------------------- lookups


Key = tuple[str, "str | None"]


def find_snapshots(requests: Sequence[tuple[str, str | None]], wayback_options: wayback.WaybackOptions | None = None,
                   options: MementoOptions | None = None) -> dict[Key, Snapshot]:
    """The snapshot for each distinct ``(url, date)`` over the Wayback and every other archive.

    The Wayback is asked first; the archives in ``options.archives`` only for
    the URLs it has no good capture of on or before the date (or could not
    answer for). The closest good capture over all of them wins, by the
    Wayback's rule. Never raises for archive trouble and never outlives the
    deadlines. ``failed=True`` (do not cache) when nothing was found and some
    archive could not be asked.
    """
    wayback_options = wayback_options or wayback.WaybackOptions()
    keys = list(dict.fromkeys((str(u), d) for u, d in requests))
    if not keys:
        return {}
    return improve(wayback.find_snapshots(keys, wayback_options), wayback_options, options)


def improve(found: dict[Key, Snapshot], wayback_options: wayback.WaybackOptions,
            options: MementoOptions | None = None) -> dict[Key, Snapshot]:
    """The Wayback's answers (``wayback.find_snapshots``), improved by the other archives where it had
    no good capture on or before the date; every found snapshot names its archive."""
    options = options or MementoOptions()
    wayback_archive = archive_name(wayback_options.base_url)
    for snap in found.values():
        if snap.timestamp and not snap.archive:
            snap.archive = wayback_archive
    need = [k for k, snap in found.items() if not good_enough(snap, _day(k[1]))]
    out = dict(found)
    if need and options.archives:
        out.update(find_mementos(need, options, {k: found.get(k) for k in need}))
    return out


def _day(date: str | None) -> str | None:
    try:
        return wayback.parse_date(date)
    except ValueError:
        return None


def find_mementos(keys: Sequence[Key], options: MementoOptions | None = None,
                  incumbents: dict[Key, Snapshot | None] | None = None) -> dict[Key, Snapshot]:
    """Ask every archive in ``options.archives`` for each ``(url, date)``; the Wayback's answer is the incumbent.

    Each result is the best of the incumbent (a Wayback capture after the
    date, or none) and the archives' good mementos.
    """
    options = options or MementoOptions()
    incumbents = incumbents or {}
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    try:
        return wayback._run(lambda: _find_all(keys, options, incumbents), options.deadline + 10.0)
    except TimeoutError:
        return {k: _merge_failed(incumbents.get(k), k[0], "archives: batch overran its deadline") for k in keys}


def _merge_failed(incumbent: Snapshot | None, url: str, reason: str) -> Snapshot:
    if incumbent is not None and incumbent.timestamp:
        return incumbent
    prior = f"{incumbent.reason}; " if incumbent is not None and incumbent.reason else ""
    return Snapshot(url=url, failed=True, reason=f"{prior}{reason}")


async def _find_all(keys: list[Key], options: MementoOptions,
                    incumbents: dict[Key, Snapshot | None]) -> dict[Key, Snapshot]:
    deadline_at = time.monotonic() + options.deadline
    hosts = _Hosts(options)
    out: dict[Key, Snapshot] = {}
    async with _client(options) as client:
        async def one(key: Key) -> None:
            try:
                out[key] = await _lookup(client, hosts, key, incumbents.get(key), deadline_at)
            except Exception as exc:  # noqa: BLE001 - one odd URL must not lose the batch
                out[key] = _merge_failed(incumbents.get(key), key[0],
                                         f"archives: lookup failed: {type(exc).__name__}: {exc}"[:300])

        await wayback._run_until(deadline_at, [one(k) for k in keys])
    for gate in hosts.gates.values():
        gate.save()
    for key in keys:
        if key not in out:
            out[key] = _merge_failed(incumbents.get(key), key[0], f"archives: deadline ({options.deadline:g}s) reached")
    return out


async def _lookup(client: httpx.AsyncClient, hosts: _Hosts, key: Key, incumbent: Snapshot | None,
                  deadline_at: float) -> Snapshot:
    url, date = key
    day = _day(date)
    options = hosts.options
    maps = await asyncio.gather(*(read_timemap(client, hosts, base, url, day, deadline_at)
                                  for base in options.archives))
    problems = [m.error for m in maps if m.error]
    if incumbent is not None and incumbent.failed:
        problems.insert(0, f"Wayback: {incumbent.reason}")
    candidates = [c for c in order_candidates([c for m in maps for c in m.candidates], day)
                  if _beats(c, incumbent, day) and urlsplit(c.url).scheme in ("http", "https")]
    rejected: list[str] = []
    for candidate in candidates[:max(0, options.max_replays)]:
        replay = await check_replay(client, hosts, candidate.url, deadline_at)
        if replay.ok:
            name = archive_name(candidate.url) or candidate.source
            return Snapshot(url=url, timestamp=candidate.timestamp, snapshot_url=candidate.url, status=200,
                            archive=name, reason=f"closest good memento ({name}, listed by {candidate.source})")
        rejected.append(f"{archive_name(candidate.url)} {candidate.timestamp}: {replay.reason}")
        if replay.failed:
            problems.append(replay.reason)
    if incumbent is not None and incumbent.timestamp:
        return incumbent
    listed = sum(m.mementos for m in maps)
    detail = f"{len(options.archives)} other archives: {listed} mementos listed"
    if rejected:
        detail += "; passed over: " + "; ".join(rejected)
    if problems:
        return Snapshot(url=url, failed=True, reason=("no good capture; could not ask: " + "; ".join(problems)
                                                      + f" ({detail})")[:1000])
    prior = incumbent.reason if incumbent is not None and incumbent.reason else "Wayback: no capture that answered 200"
    return Snapshot(url=url, reason=f"{prior}; {detail}, none good"[:1000])


# --------------------------------------------------------------------------- replays for claim support


def is_wayback_snapshot(snapshot: Snapshot, wayback_options: wayback.WaybackOptions) -> bool:
    """True when the snapshot is a Wayback capture (read through the ``id_`` replay), else another archive's memento."""
    return bool(snapshot.snapshot_url) and str(snapshot.snapshot_url).startswith(wayback_options.base_url + "/web/")


def fetch_memento_htmls(snapshots: Sequence[Snapshot], options: MementoOptions | None = None) -> dict[str, str | None]:
    """Replays of other archives' mementos for claim support, keyed by ``snapshot_url``; None when unreadable.

    Same bounds as the lookups (per-host gates, bytes, redirects inside the
    archive, one deadline); a replay that turned into a soft 404 maps to None.
    """
    options = options or MementoOptions()
    wanted = list(dict.fromkeys(s.snapshot_url for s in snapshots if s.timestamp and s.snapshot_url))
    if not wanted:
        return {}

    async def go() -> dict[str, str | None]:
        deadline_at = time.monotonic() + options.deadline
        hosts = _Hosts(options)
        out: dict[str, str | None] = {u: None for u in wanted}
        async with _client(options) as client:
            async def one(u: str) -> None:
                replay = await check_replay(client, hosts, u, deadline_at)
                out[u] = replay.html if replay.ok else None

            await wayback._run_until(deadline_at, [one(u) for u in wanted])
        for gate in hosts.gates.values():
            gate.save()
        return out

    try:
        return wayback._run(go, options.deadline + 10.0)
    except TimeoutError:
        return {u: None for u in wanted}

