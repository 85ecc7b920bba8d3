"""Wayback Machine lookups: the capture closest to the article's date.

CDX first (it lists every capture with its status, so a capture of a 404
is never taken for a snapshot), the availability API as a fallback. All
endpoints hang off one base URL so a mirror or a test server can stand in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from .models import Snapshot

DEFAULT_WAYBACK_URL = "https://web.archive.org"
WAYBACK_ENV = "PROVENANCE_WAYBACK_URL"
#: Seconds allowed for one Wayback API call.
WAYBACK_TIMEOUT = 20.0
#: Captures asked of the CDX API per URL.
CDX_LIMIT = 500


@dataclass
class WaybackOptions:
    base_url: str = ""
    timeout: float = WAYBACK_TIMEOUT
    concurrency: int = 2
    retries: int = 2
    user_agent: str = "provenance/0.1"

    def __post_init__(self) -> None:
        if not self.base_url:
            self.base_url = os.environ.get(WAYBACK_ENV) or DEFAULT_WAYBACK_URL
        self.base_url = self.base_url.rstrip("/")


def choose_capture(captures: Sequence[tuple[str, int | None]], date: str | None) -> str | None:
    """Timestamp of the 200 capture closest to ``date``, preferring on/before it."""
    good = sorted(ts for ts, status in captures if status == 200)
    if not good:
        return None
    if not date:
        return good[-1]
    target = date.replace("-", "")[:8] + "235959"
    before = [ts for ts in good if ts <= target]
    if before:
        return before[-1]
    return good[0]


def snapshot_url(base_url: str, timestamp: str, url: str, raw: bool = False) -> str:
    return f"{base_url}/web/{timestamp}{'id_' if raw else ''}/{url}"


def find_snapshot(url: str, date: str | None, options: WaybackOptions | None = None) -> Snapshot:
    options = options or WaybackOptions()
    with httpx.Client(timeout=options.timeout, headers={"User-Agent": options.user_agent}, trust_env=False) as client:
        return _find(client, url, date, options)


def find_snapshots(requests: Sequence[tuple[str, str | None]], options: WaybackOptions | None = None) -> dict[tuple[str, str | None], Snapshot]:
    options = options or WaybackOptions()
    out: dict[tuple[str, str | None], Snapshot] = {}
    with httpx.Client(timeout=options.timeout, headers={"User-Agent": options.user_agent}, trust_env=False) as client:
        for key in dict.fromkeys(requests):
            out[key] = _find(client, key[0], key[1], options)
    return out


def _find(client: httpx.Client, url: str, date: str | None, options: WaybackOptions) -> Snapshot:
    reasons = []
    try:
        response = client.get(f"{options.base_url}/cdx/search/cdx", params={"url": url, "output": "json", "fl": "timestamp,statuscode", "limit": str(CDX_LIMIT)})
        response.raise_for_status()
        rows = response.json() if response.content.strip() else []
        captures = []
        for row in rows[1:]:
            try:
                captures.append((str(row[0]), int(row[1])))
            except (ValueError, IndexError, TypeError):
                captures.append((str(row[0]), None))
        chosen = choose_capture(captures, date)
        if chosen:
            return Snapshot(url=url, timestamp=chosen, snapshot_url=snapshot_url(options.base_url, chosen, url), status=200, reason="CDX")
        return Snapshot(url=url, reason="no capture that answered 200")
    except (httpx.HTTPError, ValueError) as exc:
        reasons.append(f"CDX failed: {type(exc).__name__}")
    try:
        params = {"url": url}
        if date:
            params["timestamp"] = date.replace("-", "")
        response = client.get(f"{options.base_url}/wayback/available", params=params)
        response.raise_for_status()
        closest = (response.json().get("archived_snapshots") or {}).get("closest") or {}
        if closest.get("available") and str(closest.get("status")) == "200":
            ts = str(closest["timestamp"])
            return Snapshot(url=url, timestamp=ts, snapshot_url=snapshot_url(options.base_url, ts, url), status=200, reason="availability API")
        return Snapshot(url=url, reason="; ".join(reasons + ["availability: no capture"]))
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        reasons.append(f"availability failed: {type(exc).__name__}")
    return Snapshot(url=url, reason="; ".join(reasons))


def fetch_snapshot_html(snapshot: Snapshot, options: WaybackOptions | None = None) -> str | None:
    """The raw (``id_``) replay of a capture, for claim support."""
    options = options or WaybackOptions()
    if not snapshot.timestamp:
        return None
    try:
        with httpx.Client(timeout=options.timeout, trust_env=False, follow_redirects=True) as client:
            response = client.get(snapshot_url(options.base_url, snapshot.timestamp, snapshot.url, raw=True))
            if response.status_code == 200:
                return response.text[:2_000_000]
    except httpx.HTTPError:
        return None
    return None


def parse_timestamp(ts: str) -> datetime | None:
    try:
        return datetime.strptime(ts[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
