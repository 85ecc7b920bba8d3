"""The liveness engine: polite, bounded, async checks of many URLs.

How a run goes (``check_urls``):

* URLs are de-duplicated and grouped by host. Big runs are split by host
  over worker processes (one host always stays in one process, so its
  politeness limits stay exact); each process runs one asyncio event loop
  (uvloop where installed, see USE_UVLOOP) with one libcurl connection
  pool (:class:`provenance.fetch.Transport`, curl_cffi's multi handle).
* Each host gets up to ``host_concurrency`` workers (run by a bounded pool
  of tasks) and one :class:`provenance.politeness.Host` that owns its
  politeness: its permits, its schedule of request starts
  ``host_interval`` apart, the floor kept when the bytes leave, a pause
  set by ``Retry-After``, and its catch-all probes. Permits are taken
  *before* a request is handed to libcurl, so libcurl never holds a queue.
* Every hop resolves its name once per run through :class:`Resolver`,
  which applies the address policy to the resolved addresses; libcurl is
  pinned to those same addresses (no second lookup an attacker could
  answer differently). Behind a proxy that resolves names, nothing is
  looked up here and the policy judges what the URL itself says.
* A fetch is a GET (HEAD says too little for soft-404 judgement); bodies
  are read only when a verdict needs them, within a decoded-size cap.
  :mod:`provenance.judge` reads the answer, :mod:`provenance.classify`
  turns it into a verdict; catch-all sites are caught by probing a random
  sibling URL once per host and directory; a bot wall earns one
  browser-like second request (``CheckOptions.impersonate``).

This module is the engine and its public API; the stages it calls are
plain functions and dataclasses of their own: :mod:`provenance.options`
(``CheckOptions``), :mod:`provenance.fetch` (libcurl), :mod:`provenance.network`
(proxies, CA bundle), :mod:`provenance.politeness`, :mod:`provenance.judge`,
:mod:`provenance.resolve` (names, the address policy, "is there a network"),
:mod:`provenance.cookies` (a redirect chain's cookies) and
:mod:`provenance.catchall` (probe plans, random siblings and the page tests
of catch-all detection). Their public names are re-exported here.

Every limit is a constant here (or in the stage module it belongs to,
re-exported here) or a :class:`CheckOptions` field.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from . import classify
from .catchall import (ProbePlan, Sibling, canonical_link, directory_of, drop_fragment, is_deep, names_this_page,
                       probe_outcome, probe_key, probe_plan, same_page, script_routes_the_path, script_shell, site_of)
from .cookies import RedirectJar
from .fetch import Answer, FetchError, StaleConnection, Transport, UnknownEncoding
from .judge import Fetched, content_type_of, decode_text, fetched_from, header_dict, is_html, unjudgeable
from .politeness import MAX_HOST_INTERVAL as MAX_HOST_INTERVAL, MIN_GAP_FRACTION as MIN_GAP_FRACTION
from .politeness import SLOWED_INTERVAL as SLOWED_INTERVAL, Host as Host, Permits as Permits
from .network import Proxies, ca_bundle, resolves_remotely, run_proxies, shown
from .options import BROWSER_HEADERS as BROWSER_HEADERS, DEFAULT_USER_AGENT as DEFAULT_USER_AGENT
from .options import CheckOptions as CheckOptions
from .models import CheckResult, iso_z, utc_now
from .resolve import LookupFailed, NameNotFound, Offline, PolicyRefused, Resolver, ResolverFunc, url_host, needs_dns
from .resolve import private_name, network_available
from .refresh import MAX_REFRESH_DELAY as MAX_REFRESH_DELAY, REFRESH_MAX_WORDS as REFRESH_MAX_WORDS
from .refresh import REFRESH_SCAN_CHARS as REFRESH_SCAN_CHARS, parse_refresh as parse_refresh, refresh_target
from .retry import retry_after_seconds
from .urls import browser_join, browser_url, is_ip_literal, is_public_address
# Re-exported (``X as X``): the limits and names this module had before its stages moved out stay its API
# (audit.py reads check.PROBE_HOSTS; check.network_available is what check_urls and the audit call).
from .catchall import PROBE_LETTERS as PROBE_LETTERS, PROBE_MIN_RANDOM as PROBE_MIN_RANDOM
from .catchall import SHELL_MAX_WORDS as SHELL_MAX_WORDS
from .cookies import MAX_CHAIN_COOKIES as MAX_CHAIN_COOKIES, MAX_COOKIE_CHARS as MAX_COOKIE_CHARS
from .resolve import DNS_TIMEOUT as DNS_TIMEOUT, NETWORK_CACHE_SECONDS as NETWORK_CACHE_SECONDS
from .resolve import PRIVATE_SUFFIXES as PRIVATE_SUFFIXES, PROBE_HOSTS as PROBE_HOSTS

# Old spellings that tests and benchmarks still read from here.
_host, _directory, _needs_dns, _parse_refresh = url_host, directory_of, needs_dns, parse_refresh
_header_dict = header_dict

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
#: Hard cap on one URL's total time (retries, redirects, waits), unless CheckOptions.url_deadline says otherwise.
DEFAULT_URL_DEADLINE = 60.0
#: Statuses worth a retry.
RETRY_STATUSES: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
#: Statuses whose body is read (capped at SIGNATURE_BYTES) to look for bot walls.
SIGNATURE_STATUSES: frozenset[int] = frozenset({401, 403, 405, 429, 503, 999})
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
#: Seconds a stopped run waits for its cancelled tasks to wind down before closing the transport under them
#: (a closed transport starts nothing more, so one that lingers cannot leave a transfer behind).
STOP_WAIT = 5.0
#: Allocations between collections of the youngest generation while a check runs (Python's default: 700).
GC_THRESHOLD_DURING_RUN = 10_000


_stamp: tuple[int, str] = (-1, "")


def _checked_at() -> str:
    """iso_z(utc_now()), formatted once per second instead of once per URL."""
    global _stamp
    second = int(time.time())
    if second != _stamp[0]:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _stamp[1]


def run_loop(main: Awaitable[list[CheckResult]]) -> list[CheckResult]:
    """asyncio.run on uvloop when available (USE_UVLOOP), else on asyncio's own loop (a shard's runner, here
    and in provenance.cluster's worker task)."""
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


# --- one fetch ---

class _Failure(Exception):
    """A request that got no usable answer; ``retry`` says whether trying again may help."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def _want_body(status: int, content_type: str) -> int:
    """Bytes of a page's body worth reading: live HTML whole (capped), error pages' start for bot walls."""
    if 200 <= status < 300:
        return MAX_DECODED_BYTES if is_html(content_type) else 0
    if status in SIGNATURE_STATUSES:
        return SIGNATURE_BYTES
    return 0


class _Engine:
    """One event loop's worth of checking: the transport, the hosts, the resolver."""

    def __init__(self, options: CheckOptions, transport: Transport, resolver: Resolver) -> None:
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

    async def stop(self, tasks: list[asyncio.Future]) -> None:
        """Cancel what is still running (the run's tasks and the hosts' catch-all probes) and wait until it
        has: nothing may use the transport after it closes (a transfer left in libcurl would call back
        into freed memory)."""
        running = [t for t in tasks if not t.done()]
        running += [p for host in self.hosts.values() for p in host.probes.values() if not p.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=STOP_WAIT)

    def host(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = Host(name, self.options.host_concurrency, self.options.host_interval)
        return host

    async def _exchange(self, url: str, host: Host, want_body: Callable[[int, str], int],
                        urgent: bool = False, request_headers: dict[str, str] | None = None,
                        impersonate: bool = False) -> Fetched:
        """One GET under the host's politeness; the body read as ``want_body(status, type)`` says.

        One timer covers the attempt: a timeout before the headers is a
        failure; a timeout while the body streams keeps what arrived. A
        body in a content-coding libcurl does not know is asked for once
        more and read as it is, as browsers read it.
        """
        if not urgent:
            await host.wait_slot()
        if host.opened and not host.answered.is_set():
            # Nothing else goes to a host before its first exchange ends: requests racing over
            # several new connections at start-up reach the server bunched, whatever gap we kept.
            # (asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancellation that comes as the event
            # is set, and a stopped run's task would go on to start a transfer.)
            try:
                async with asyncio.timeout(self.options.timeout):
                    await host.answered.wait()
            except TimeoutError:
                pass
        host.opened = True
        await host.acquire(urgent)
        answer = Answer(0, [])
        name = url_host(url)
        addresses = None if self._proxied_remotely(url) else self.resolver.vetted.get(name)

        def want(status: int, raw_headers: list[tuple[bytes, bytes]]) -> int:
            return want_body(status, content_type_of(raw_headers))

        try:
            await host.start(self.gate, urgent)
            try:
                async with _Deadline(asyncio.get_running_loop().time() + self.options.timeout):
                    decode, stale = True, False
                    for _ in range(3):
                        token = await host.at_send(self.gate)
                        try:
                            await self.transport.get(url, want, addresses=addresses, headers=request_headers,
                                                     drain=SIGNATURE_BYTES, decode=decode, impersonate=impersonate,
                                                     on_send=lambda: host.sent(token), answer=answer,
                                                     # Others wait for global permits: this one's is held a
                                                     # loop turn less if its transfer starts at once.
                                                     start_now=self.gate.waiting > 0)
                            break
                        except StaleConnection:
                            if stale:
                                raise
                            stale = True  # once more on a new connection, the gap kept again
                        except UnknownEncoding:
                            if not decode:
                                raise
                            decode = False  # an unknown token (``UTF-8``): the body as it is, once more
                        finally:
                            host.settled(token)
                        answer = Answer(0, [])
            finally:
                self.gate.release()
        except TimeoutError as exc:
            if answer.head_done:
                fetched = fetched_from(answer)
                fetched.cut = fetched.cut or f"body cut off: still arriving after {self.options.timeout:g}s"
                return fetched
            raise _Failure(f"timeout after {self.options.timeout:g}s", retry=True) from exc
        except FetchError as exc:
            raise _Failure(exc.reason, retry=exc.retry) from exc
        finally:
            host.release()
            host.answered.set()
        return fetched_from(answer)

    def _proxy(self, url: str) -> str | None:
        """The proxy ``url`` goes through, or None."""
        if not self.transport.proxies.any:
            return None
        scheme = url.split(":", 1)[0].lower()
        return self.transport.proxies.for_url(scheme, url_host(url))

    def _proxied_remotely(self, url: str) -> bool:
        """Does ``url`` go through a proxy that resolves its name (so nothing is looked up here)?"""
        proxy = self._proxy(url)
        return proxy is not None and resolves_remotely(proxy)

    async def fetch(self, url: str, want_body: Callable[[int, str], int], result: CheckResult | None,
                    retries: int, give_up_at: float, urgent: bool = False,
                    headers: dict[str, str] | None = None, impersonate: bool = False) -> Fetched:
        """GET with retries, backoff and Retry-After; raises _Failure when every try failed."""
        loop = asyncio.get_running_loop()
        host = self.host(url_host(url))
        last: _Failure | Fetched | None = None
        for attempt in range(retries + 1):
            if result is not None:
                result.attempts += 1
            try:
                fetched = await self._exchange(url, host, want_body, urgent, headers, impersonate)
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
        if isinstance(last, Fetched):
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
        jar: RedirectJar | None = None
        #: (URL, cookies it would get): the same URL again with new cookies is not (yet) a loop ...
        seen: set[tuple[str, str | None]] = {(current, None)}
        #: ... but a visit past MAX_VISITS_PER_URL is, whatever the cookies (a cookie rotated on every hop).
        visits: dict[str, int] = {current: 1}
        hops: list[tuple[int, str]] = []
        keep = self.options.keep_body and (self.options.keep_body_for is None or url in self.options.keep_body_for)
        #: (kind, target) of the last refresh followed (a meta refresh or Refresh header), for the reason.
        refreshed: tuple[str, str] | None = None
        #: Requests go out as a browser's (curl_cffi's Chrome profile): from the start with "always", after a
        #: bot wall with "auto"; ``walled`` is the first wall's reason once one answered.
        browser_like = self.options.impersonate == "always"
        walled: str | None = None
        if self.options.probe_catch_all and url_host(current) in self.busy_hosts:
            # On a host with several URLs in this run, the probe starts with the first page, not
            # after it: the page's verdict then does not wait for it. A host with one URL is
            # probed only when its page comes back as a 200 worth comparing.
            try:
                if is_deep(current):
                    self._probe_for(current, give_up_at)
            except ValueError:
                pass  # a URL urlsplit refuses: its fetch says why

        for _hop in range(MAX_REDIRECTS + 2):  # one more turn: a bot wall's browser-like second request
            if len(hops) > MAX_REDIRECTS:
                break
            # A host already vetted this run needs no await (the common case after its first URL).
            verdict = (None if url_host(current) in self.resolver.vetted and not self.transport.proxies.any
                       else await self._vet(current))
            if verdict is not None:
                result.verdict, result.reason = verdict
                if hops:
                    result.final_url = current
                    result.reason += f" (redirect target {current})"
                return
            cookie = jar.header_for(current) if jar is not None else None
            if browser_like:
                # The browser profile sends its own headers; only the chain's cookies are added.
                headers = {"Cookie": cookie} if cookie else None
            else:
                headers = {**(self.send_headers or {}), "Cookie": cookie} if cookie else None
            try:
                fetched = await self.fetch(current, _want_body, result, self.options.retries, give_up_at,
                                           headers=headers, impersonate=browser_like)
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
                target = browser_url(drop_fragment(target))
                by = ""
            else:
                # Bodies drained only to keep a connection alive (images, JSON ...) are not judged.
                judged = fetched.body and (is_html(fetched.content_type) or fetched.status in SIGNATURE_STATUSES)
                text = decode_text(fetched.body, fetched.headers.get("content-type", "")) if judged else ""
                obs = classify.Observation(url=url, final_url=current, status=fetched.status,
                                           headers=fetched.headers, text=text, hops=tuple(hops))
                judgement = classify.judge(obs)
                if (judgement.verdict == "blocked" and judgement.signature in classify.WALL_SIGNATURES
                        and self.options.impersonate == "auto" and walled is None and not browser_like):
                    # A bot wall: once more as a browser, with the cookies the wall set; that answer decides.
                    walled, browser_like = judgement.reason, True
                    if fetched.cookies:
                        jar = jar or RedirectJar()
                        jar.store(url_host(current), fetched.cookies)
                    continue
                if walled is not None:
                    if judgement.verdict == "blocked":
                        judgement = classify.Judgement(
                            judgement.verdict, f"{judgement.reason}, also to a browser-like second request "
                            f"(the first got: {walled})", judgement.signature)
                    else:
                        judgement = classify.Judgement(
                            judgement.verdict, f"{judgement.reason} (to a browser-like second request; the first "
                            f"got a bot wall: {walled})", judgement.signature)
                if judgement.verdict in ("ok", "redirect"):
                    judgement = unjudgeable(fetched) or judgement
                elif fetched.status == 404 and judgement.verdict == "dead" and text and script_routes_the_path(text):
                    judgement = classify.Judgement(
                        "error", "HTTP 404 from a page that hands the path to a script (a single-page app on static "
                        "hosting): what a reader sees depends on the script, so it could not be judged", "script-404")
                # A page that sends its reader on at once (a redirect stub) is one more hop, like a 302. Not a
                # bot wall's: its refresh is the challenge asking again (SiteGround's sgcaptcha).
                refresh = (refresh_target(current, fetched.headers, text)
                           if 200 <= fetched.status < 300 and fetched.status != 204 and judgement.verdict != "blocked"
                           and is_html(fetched.content_type) else None)
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
                    if keep and text and 200 <= fetched.status < 300 and is_html(fetched.content_type):
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
                jar = jar or RedirectJar()
                jar.store(url_host(current), fetched.cookies)
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
        name = url_host(url)
        if not name:
            return "error", "URL has no host"
        if self._proxied_remotely(url):
            # The proxy resolves the name: nothing is looked up here, and only what the name or literal
            # address itself says (an intranet name, a private address) is refused.
            refused = self.resolver.refusal_without_lookup(name)
            if refused:
                return "unchecked", f"address policy: {refused} (use --allow-private to permit)"
            return None
        try:
            await self.resolver.addresses(name)
        except PolicyRefused as exc:
            return "unchecked", f"address policy: {exc} (use --allow-private to permit)"
        except Offline:
            return "unchecked", "offline: no network to resolve names"
        except NameNotFound:
            private = private_name(name)
            if private:
                # An intranet name answers only inside its network: not resolving from here says nothing.
                return "unchecked", f"{private}: not resolvable from here"
            return "dead", f"domain does not exist: {name} does not resolve"
        except LookupFailed as exc:
            return "error", str(exc)
        return None

    def _probe_for(self, url: str, give_up_at: float, id_probe: bool = False) -> asyncio.Future[Sibling | None]:
        """The (shared) catch-all probe of this URL's host, directory and shape, started if new.

        ``id_probe``: the sibling with the directory's digits randomised too
        (does the page depend on an id earlier in the path?), asked for only
        when the plain sibling got this very page.
        """
        key = probe_key(url)
        if id_probe:
            key += "\x00id"
        host = self.host(url_host(url))
        probe = host.probes.get(key)
        if probe is None:
            probe = host.probes[key] = asyncio.ensure_future(self._probe(probe_plan(url), give_up_at, id_probe))
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
        cross_home = result.signature == "redirect-to-home" and bool(hops) and site_of(start) != site_of(final)
        if cross_home:
            probes = [(self._probe_for(start, give_up_at), start)]
        elif result.verdict in ("ok", "redirect"):
            probes = [(self._probe_for(final, give_up_at), final)] if is_deep(final) else []
            if hops and is_deep(start) and directory_of(start).split("/", 3)[3] != directory_of(final).split("/", 3)[3]:
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
            sibling = probe_outcome(probes[0][0])
            if sibling is not None and sibling.fingerprint is not None and same_page(sibling.final_url, final):
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

        def got_this_page(sibling: Sibling) -> bool:
            """Did the random sibling land here, or get a page like this one? (Fingerprinted once, if asked.)"""
            nonlocal mine
            if same_page(sibling.final_url, final):
                return True
            if mine is None:
                mine = classify.fingerprint(text, classify.path_words(final))
            return classify.same_as_sibling(mine, sibling.fingerprint)

        for probe, page in probes:
            sibling = probe_outcome(probe)
            if sibling is None or sibling.fingerprint is None:
                continue  # the site answers a random URL as missing (or not at all): not a catch-all
            if not got_this_page(sibling):
                continue
            # A random sibling got this page.
            if names_this_page(sibling, start, final, text):
                continue  # ... because the site sends any slug here to the page itself (id + decorative slug)
            if script_shell(text):
                result.signature = "script-shell"
                result.reason = ("a script-rendered page: the site sends the same script shell for any URL here, "
                                 "so its content could not be judged")
                return None
            if probe_plan(page).directory_has_digits:
                ids = self._probe_for(page, give_up_at, id_probe=True)
                if not ids.done():
                    return self._settle_when([ids], result, start, final, text, hops, probes, False, give_up_at)
                other = probe_outcome(ids)
                if other is None or other.fingerprint is None:
                    continue  # a random id is missing: the page depends on its id, which exists
                if not got_this_page(other):
                    continue
            result.verdict, result.signature = "soft404", "catch-all"
            result.reason = "the site answers this page like any random URL (catch-all, page likely gone)"
            return None
        return None

    async def _probe(self, plan: "ProbePlan", give_up_at: float, id_probe: bool = False) -> Sibling | None:
        """What the site answers for a random sibling URL of ``plan``'s shape; None when it could not be asked."""
        url = asked = plan.sibling(id_probe)
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                if await self._vet(url) is not None:
                    return None

                fetched = await self.fetch(url, lambda s, t: MAX_DECODED_BYTES if 200 <= s < 300 and is_html(t) else 0,
                                           None, 0, give_up_at, urgent=True)
                if fetched.location_problem:
                    return None
                location = fetched.location
                if location:
                    url = browser_url(drop_fragment(browser_join(url, location)))
                    if urlsplit(url).scheme not in ("http", "https"):
                        return None
                    continue
                if not (200 <= fetched.status < 300) or not is_html(fetched.content_type):
                    return Sibling(asked, url, fetched.status, None, None)
                text = decode_text(fetched.body, fetched.headers.get("content-type", "")) if fetched.body else ""
                # A random URL's stub that sends the reader on is followed, as the cited page's is.
                refresh = refresh_target(url, fetched.headers, text)
                if refresh is not None and refresh.target is not None and refresh.target != url:
                    url = refresh.target
                    continue
                if not text:
                    return Sibling(asked, url, fetched.status, None, None)
                drop = classify.path_words(asked) + classify.path_words(url)
                return Sibling(asked, url, fetched.status, classify.fingerprint(text, drop), canonical_link(text, url))
        except (_Failure, ValueError):
            return None
        return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter, so retries from many tasks do not arrive together."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt) * random.uniform(*BACKOFF_JITTER)


# --- running many ---

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


def _make_transport(options: CheckOptions) -> Transport:
    """One libcurl pool for this event loop: the check's headers as its defaults (no per-request header
    work), the user's proxies and CA bundle, idle connections kept within :func:`_connection_budget`."""
    return Transport(_request_headers(options), ca_bundle=ca_bundle(options.ca_bundle),
                     proxies=run_proxies(options.proxy, options.proxy_env), max_connections=_connection_budget(options.concurrency))


async def check_urls_async(urls: Sequence[str], options: CheckOptions,
                           progress: Callable[[CheckResult], None] | None = None,
                           keep: bool = True) -> list[CheckResult]:
    """Check each distinct URL once in this event loop; results in input order.

    ``keep=False``: each result goes only to ``progress`` and none is kept
    (a worker process streams its shard to the parent and returns []).
    """
    unique = list(dict.fromkeys(urls))
    if not unique:
        return []
    resolver = Resolver(options)
    by_host: dict[str, list[str]] = {}
    for url in unique:
        by_host.setdefault(url_host(url), []).append(url)
    results: dict[str, CheckResult] = {}
    transport = _make_transport(options)
    try:
        engine = _Engine(options, transport, resolver)
        engine.busy_hosts = {name for name, host_urls in by_host.items() if len(host_urls) > 1}

        def record(result: CheckResult) -> None:
            if keep:
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
            await engine.stop(tasks + detached)
    finally:
        await transport.aclose()
    return [results[url] for url in unique] if keep else []


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
    if options.offline is None and options.resolver is None and any(asks_online(u) for u in unique):
        # Once for the whole run (and before any worker starts): a dead network is not a dead web.
        options = replace(options, offline=not network_available(PROBE_HOSTS, run_proxies(options.proxy, options.proxy_env)))
    if options.offline and options.resolver is None:
        return _offline_first(unique, options, progress)
    if options.cluster:
        from .cluster import check_on_cluster  # only runs that name a cluster import Dask

        return check_on_cluster(unique, options, progress)
    workers = _worker_count(options, unique)
    if workers <= 1:
        return run_loop(check_urls_async(unique, options, progress))
    return _check_sharded(unique, options, progress, workers)


#: Verdicts of absence that an offline machine does not take from a public address (see _offline_first).
OFFLINE_DISTRUSTED = frozenset({"dead", "soft404"})


def asks_online(url: str) -> bool:
    """Does the URL's verdict depend on the machine being online: a name to resolve, or a public address?
    (A run with such a URL asks network_available once; check_urls and the audit alike.)"""
    return needs_dns(url) or public_literal(url)


def public_literal(url: str) -> bool:
    """Is the URL's host a public IP address (no name to resolve, but the open internet to reach)?"""
    return public_host(url_host(url))


@functools.lru_cache(maxsize=4096)
def public_host(host: str) -> bool:
    return is_ip_literal(host) and is_public_address(host.strip("[]"))


def _offline_first(unique: list[str], options: CheckOptions,
                   progress: Callable[[CheckResult], None] | None) -> list[CheckResult]:
    """Offline: names cannot resolve, so answer those URLs at once and check only IP literals.

    A public address that answers "not found" while no name resolves is not
    taken at its word: on a machine cut off from the internet that answer
    comes from whatever intercepts the traffic (a sandbox, a captive portal),
    and an offline run must never say ``dead``. It is ``unchecked``, the
    answer kept in the reason; loopback and private addresses are judged as ever.
    """
    now = iso_z(utc_now())
    results: dict[str, CheckResult] = {}
    literal = [u for u in unique if not needs_dns(u)]
    proxies = run_proxies(options.proxy, options.proxy_env)
    reason = ("offline: no network to resolve names" if not proxies.any
              else f"offline: the proxy ({shown(proxies.https or proxies.http or '')}) reaches none of the probe names")
    for url in unique:
        if url not in literal:
            result = CheckResult(url=url, verdict="unchecked", reason=reason, checked_at=now)
            results[url] = result
            if progress is not None:
                progress(result)
    def distrust(result: CheckResult) -> None:
        if result.verdict in OFFLINE_DISTRUSTED and public_literal(result.url):
            result.reason = (f"offline (no name resolves), so a public address's '{result.verdict}' is not taken "
                             f"as absence: {result.reason}")[:500]
            result.verdict = "unchecked"
        if progress is not None:
            progress(result)

    if literal:
        for result in run_loop(check_urls_async(literal, options, distrust)):
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
    hosts = len({url_host(u) for u in unique})
    return max(1, min(wanted, hosts))


def _shards(unique: list[str], workers: int) -> list[list[str]]:
    """Hosts dealt to workers, biggest first onto the lightest shard; a host never splits."""
    by_host: dict[str, list[str]] = {}
    for url in unique:
        by_host.setdefault(url_host(url), []).append(url)
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
        run_loop(check_urls_async(urls, options, send, keep=False))
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
    jar: RedirectJar | None = None  # a site that sets a cookie and redirects to itself (a consent or session step)
    seen: set[tuple[str, str | None]] = {(current, None)}
    for _hop in range(MAX_REDIRECTS + 1):
        verdict = (None if _host(current) in engine.resolver.vetted and not engine.transport.proxies.any
                   else await engine._vet(current))
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
                target = browser_url(drop_fragment(browser_join(current, fetched.location)))
                if urlsplit(target).scheme not in ("http", "https"):
                    raise ValueError(target)
            except ValueError:
                page.verdict, page.reason = "error", f"bad redirect Location: {fetched.location[:100]!r}"
                return page
            hops.append((fetched.status, target))
            if fetched.cookies:
                jar = jar or RedirectJar()
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
        text = decode_text(bytes(fetched.body[:SIGNATURE_BYTES]), fetched.headers.get("content-type", "")) \
            if fetched.body and is_html(fetched.content_type) else ""
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
    transport = _make_transport(options)
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.monotonic()  # this loop's clock vs the process's (uvloop keeps its own)
    engine: _Engine | None = None
    workers: list[asyncio.Future] = []
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

        workers.extend(asyncio.ensure_future(worker(queue)) for queue in by_host.values()
                       for _ in range(min(len(queue), max(1, options.host_concurrency))))
        await asyncio.gather(*workers)
        return [page if page is not None else PageFetch(url=r.url, reason="not fetched")
                for page, r in zip(results, requests)]
    finally:
        if engine is not None:
            await engine.stop(list(workers))
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
        options = replace(options, offline=not network_available(PROBE_HOSTS, run_proxies(options.proxy, options.proxy_env)))
    if options.offline and options.resolver is None:
        now_offline = [PageFetch(url=r.url, verdict="unchecked", reason="offline: no network to resolve names")
                       for r in requests]
        literal = [i for i, r in enumerate(requests) if not _needs_dns(r.url)]
        if literal:
            for i, page in zip(literal, run_loop(fetch_pages_async([requests[i] for i in literal], options, progress))):
                now_offline[i] = page
        return now_offline
    return run_loop(fetch_pages_async(list(requests), options, progress))
