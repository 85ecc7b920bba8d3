"""The liveness engine: polite, bounded, async checks of many URLs.

Every limit is a constant here or a :class:`CheckOptions` field.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from . import classify
from .models import CheckResult, iso_z, utc_now
from .urls import host_of, is_ip_literal, is_public_address

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36 provenance/0.1 (+https://github.com/provenance)"
)
#: Most bytes of a body read per page.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Redirect hops followed before giving up.
MAX_REDIRECTS = 10
#: Names resolved to tell "no network" from "this domain is gone".
PROBE_HOSTS: tuple[str, ...] = ("web.archive.org", "www.google.com", "www.wikipedia.org", "cloudflare.com")


@dataclass
class CheckOptions:
    concurrency: int = 64
    host_concurrency: int = 4
    host_interval: float = 0.2
    timeout: float = 20.0
    retries: int = 2
    allow_private: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    #: Set by the run once it knows; None means "detect".
    offline: bool | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def network_available(probe_hosts: Sequence[str] = PROBE_HOSTS) -> bool:
    """True when at least one well-known name resolves (checked once per run)."""
    for name in probe_hosts:
        try:
            socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
            return True
        except OSError:
            continue
    return False


class _Host:
    """Per-host politeness: a semaphore and the time the next request may start."""

    def __init__(self, concurrency: int, interval: float) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self.interval = interval
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        async with self.lock:
            now = time.monotonic()
            delay = self.next_start - now
            self.next_start = max(now, self.next_start) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def check_urls(urls: Sequence[str], options: CheckOptions | None = None,
               progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check each distinct URL once; results in input order."""
    return asyncio.run(check_urls_async(urls, options or CheckOptions(), progress))


async def check_urls_async(urls: Sequence[str], options: CheckOptions,
                           progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    offline = options.offline if options.offline is not None else not network_available()
    unique = list(dict.fromkeys(urls))
    hosts: dict[str, _Host] = {}
    gate = asyncio.Semaphore(options.concurrency)
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    async with httpx.AsyncClient(timeout=options.timeout, limits=limits, follow_redirects=False,
                                 headers={"User-Agent": options.user_agent, **options.extra_headers},
                                 trust_env=False) as client:
        async def one(url: str) -> CheckResult:
            host = hosts.setdefault(host_of(url), _Host(options.host_concurrency, options.host_interval))
            async with gate:
                result = await _check_one(client, url, host, options, offline)
            if progress:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(u) for u in unique)))


async def _resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def _check_one(client: httpx.AsyncClient, url: str, host: _Host, options: CheckOptions, offline: bool) -> CheckResult:
    started = time.monotonic()
    result = CheckResult(url=url, verdict="unchecked", checked_at=iso_z(utc_now()))
    current = url
    seen: set[str] = set()
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            name = host_of(current)
            try:
                addresses = [name] if is_ip_literal(name) else await _resolve(name)
            except OSError:
                if offline:
                    result.verdict, result.reason = "unchecked", "offline: no network to resolve names"
                else:
                    result.verdict, result.reason = "dead", f"domain does not resolve: {name}"
                return result
            if not options.allow_private and not all(is_public_address(a) for a in addresses):
                result.verdict, result.reason = "unchecked", f"address policy: {name} is a private or reserved address"
                return result
            response, body = await _fetch(client, current, host, options, result)
            if response is None:
                return result
            if response.is_redirect and "location" in response.headers:
                target = urljoin(current, response.headers["location"])
                if target in seen or target == current:
                    result.verdict, result.reason, result.status = "error", "redirect loop", response.status_code
                    return result
                seen.add(current)
                if response.status_code in (301, 308) and result.final_url is None:
                    result.final_url = "permanent"
                current = target
                continue
            permanent = result.final_url == "permanent"
            result.status = response.status_code
            result.final_url = current
            result.content_type = response.headers.get("content-type")
            body_text = body.decode(response.encoding or "utf-8", errors="replace")
            signature = classify.match_signature(response.status_code, dict(response.headers), body_text[:65536])
            if signature:
                result.verdict, result.reason, result.signature = signature.verdict, signature.reason, signature.name
            else:
                result.verdict, result.reason = classify.verdict_for_status(response.status_code)
                if result.verdict == "ok" and current != url:
                    if permanent:
                        result.verdict, result.reason = "redirect", f"moved permanently to {current}"
                    else:
                        result.reason = f"temporary redirect to {current}"
            if "html" in (result.content_type or "") or not result.content_type:
                result.body = body_text
            return result
        result.verdict, result.reason = "error", f"too many redirects (>{MAX_REDIRECTS})"
        return result
    finally:
        result.elapsed_ms = int((time.monotonic() - started) * 1000)


async def _fetch(client: httpx.AsyncClient, url: str, host: _Host, options: CheckOptions,
                 result: CheckResult) -> tuple[httpx.Response | None, bytes]:
    """GET with retries; None response means the result was set to an error."""
    last_error = ""
    for attempt in range(options.retries + 1):
        result.attempts += 1
        if attempt:
            await asyncio.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
        async with host.semaphore:
            await host.wait_turn()
            try:
                async with client.stream("GET", url) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) >= MAX_BODY_BYTES:
                            break
                    if response.status_code in (408, 429) or response.status_code >= 500:
                        last_error = f"HTTP {response.status_code}"
                        if attempt < options.retries:
                            continue
                    return response, bytes(body)
            except httpx.TimeoutException:
                last_error = f"timeout after {options.timeout:g}s"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"[:300]
    result.verdict, result.reason = "error", last_error
    return None, b""
