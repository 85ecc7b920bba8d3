"""A fake Wayback Machine on a loopback simulator site, speaking the real wire formats.

- CDX: ``/cdx/search/cdx?url=...&output=json`` -> a JSON array whose first row
  is the header (``urlkey, timestamp, original, mimetype, statuscode, digest,
  length`` or the ``fl=`` subset), every value a string; ``[]`` when nothing
  matches. Honours ``fl``, ``filter=[!]field:regex`` (full match, repeatable),
  ``from``/``to`` (1-14 digits, inclusive, padded), ``limit`` (negative: the
  last N) and plain-text output without ``output=json``.
- Availability: ``/wayback/available?url=...&timestamp=...`` ->
  ``{"url": ..., "archived_snapshots": {"closest": {"available": true, "url":
  ..., "timestamp": ..., "status": "200"}}}`` or ``{"archived_snapshots": {}}``.
- Replays: ``/web/<ts>id_/<url>`` (original bytes and status) and
  ``/web/<ts>/<url>`` (with a toolbar, like the real one); an inexact
  timestamp redirects (302) to the nearest capture, like the real one.
- Save Page Now: ``/save/<url>`` records a capture and answers with
  ``Content-Location`` and a Memento ``Link`` header.

Each endpoint (``cdx``, ``available``, ``web``, ``save``) can be told to fail
with a status, to answer 429 a number of times first (with Retry-After), or to
hang; ``calls`` counts requests per endpoint.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from aiohttp import web

from simulator import SimWeb, Site

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
#: Longest a "hanging" endpoint holds a request (released at close()).
HANG_SECONDS = 30.0

TOOLBAR = ('<!-- BEGIN WAYBACK TOOLBAR INSERT --><div id="wm-ipp-base"><div id="wm-ipp">'
           "Wayback Machine toolbar: captures calendar donate close help</div></div>"
           "<!-- END WAYBACK TOOLBAR INSERT -->")


@dataclass
class Capture:
    url: str
    timestamp: str
    status: int = 200
    body: str = "<html><head><title>Captured</title></head><body><p>Captured page</p></body></html>"
    mimetype: str = "text/html"


@dataclass
class Behaviour:
    """How one endpoint misbehaves: fixed failure status, N 429s first, or hanging."""

    status: int | None = None
    rate_limit_times: int = 0
    retry_after: str | None = "1"
    hang: bool = False
    body: str | None = None


@dataclass
class Calls:
    cdx: int = 0
    available: int = 0
    web: int = 0
    save: int = 0
    cdx_queries: list[dict[str, list[str]]] = field(default_factory=list)


def url_key(url: str) -> str:
    """A loose SURT-like key: scheme, ``www.``, default port and trailing slash do not matter."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    path = parts.path.rstrip("/") or ""
    return f"{host}{port}{path}" + (f"?{parts.query}" if parts.query else "")


def _pad(ts: str, upper: bool) -> str:
    return ts + ("99999999999999" if upper else "00000000000000")[len(ts):14] if len(ts) < 14 else ts[:14]


def _parse_ts(ts: str) -> datetime:
    return datetime.strptime(ts[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


class FakeWayback:
    """A configurable fake of web.archive.org. ``base_url`` is what ``--wayback-url`` takes."""

    def __init__(self, sim: SimWeb) -> None:
        self.sim = sim
        self.site: Site = sim.site()
        self.captures: list[Capture] = []
        self.behaviour: dict[str, Behaviour] = {}
        self.calls = Calls()
        self._release = asyncio.Event()
        self.site.route("/cdx/search/cdx", self._cdx)
        self.site.route("/wayback/available", self._available)
        self.site.default = self._default

    @property
    def base_url(self) -> str:
        return self.site.base_url

    # ------------------------------------------------------------------ configuration

    def add(self, url: str, timestamp: str, status: int = 200, body: str | None = None,
            mimetype: str = "text/html") -> Capture:
        capture = Capture(url, timestamp, status, body or Capture.body, mimetype)
        self.captures.append(capture)
        return capture

    def fail(self, endpoint: str, status: int = 503, body: str | None = None) -> None:
        self.behaviour[endpoint] = Behaviour(status=status, body=body)

    def rate_limit(self, endpoint: str, times: int = 1, retry_after: str | None = "1") -> None:
        self.behaviour[endpoint] = Behaviour(rate_limit_times=times, retry_after=retry_after)

    def hang(self, endpoint: str) -> None:
        self.behaviour[endpoint] = Behaviour(hang=True)

    def close(self) -> None:
        """Release hanging handlers so the simulator stops promptly."""
        self.sim.call_soon(self._release.set)

    # ------------------------------------------------------------------ handlers

    async def _misbehave(self, endpoint: str) -> web.StreamResponse | None:
        setattr(self.calls, endpoint, getattr(self.calls, endpoint) + 1)
        b = self.behaviour.get(endpoint)
        if b is None:
            return None
        if b.hang:
            try:
                await asyncio.wait_for(self._release.wait(), HANG_SECONDS)
            except asyncio.TimeoutError:
                pass
            return web.Response(status=504, text="gateway timeout")
        if b.rate_limit_times > 0:
            b.rate_limit_times -= 1
            headers = {"Retry-After": b.retry_after} if b.retry_after is not None else {}
            return web.Response(status=429, text="<html><title>429 Too Many Requests</title></html>",
                                content_type="text/html", headers=headers)
        if b.status is not None:
            return web.Response(status=b.status, text=b.body or f"<html><title>{b.status}</title></html>",
                                content_type="text/html")
        return None

    def _for(self, url: str) -> list[Capture]:
        key = url_key(url)
        return sorted((c for c in self.captures if url_key(c.url) == key), key=lambda c: c.timestamp)

    @staticmethod
    def _row(c: Capture) -> dict[str, str]:
        parts = urlsplit(c.url)
        host = ".".join(reversed((parts.hostname or "").split(".")))
        return {"urlkey": f"{host}){parts.path or '/'}", "timestamp": c.timestamp, "original": c.url,
                "mimetype": c.mimetype, "statuscode": str(c.status),
                "digest": f"D{abs(hash(c.body)) % 10**12:012d}", "length": str(len(c.body))}

    async def _cdx(self, request: web.Request) -> web.StreamResponse:
        bad = await self._misbehave("cdx")
        if bad is not None:
            return bad
        q = request.query
        self.calls.cdx_queries.append({k: q.getall(k) for k in q.keys()})
        url = q.get("url", "")
        if not url:
            return web.Response(status=400, text="url param is required")
        rows = [self._row(c) for c in self._for(url)]
        if q.get("from"):
            low = _pad(q["from"], upper=False)
            rows = [r for r in rows if r["timestamp"] >= low]
        if q.get("to"):
            high = _pad(q["to"], upper=True)
            rows = [r for r in rows if r["timestamp"] <= high]
        for flt in q.getall("filter", []):
            negate = flt.startswith("!")
            name, _, pattern = flt.lstrip("!").partition(":")
            rows = [r for r in rows if bool(re.fullmatch(pattern, r.get(name, ""))) != negate]
        limit = q.get("limit")
        if limit:
            n = int(limit)
            rows = rows[:n] if n >= 0 else rows[n:]
        fields = [f for f in (q.get("fl") or ",".join(CDX_FIELDS)).split(",") if f in CDX_FIELDS]
        if q.get("output") == "json":
            data = [fields] + [[r[f] for f in fields] for r in rows] if rows else []
            return web.Response(text=json.dumps(data), content_type="application/json")
        return web.Response(text="".join(" ".join(r[f] for f in fields) + "\n" for r in rows), content_type="text/plain")

    async def _available(self, request: web.Request) -> web.StreamResponse:
        bad = await self._misbehave("available")
        if bad is not None:
            return bad
        url = request.query.get("url", "")
        good = [c for c in self._for(url) if c.status == 200]
        answer: dict = {"url": url, "archived_snapshots": {}}
        if good:
            ts = request.query.get("timestamp")
            if ts and ts.isdigit():
                target = _parse_ts(_pad(ts, upper=False))
                best = min(good, key=lambda c: abs((_parse_ts(c.timestamp) - target).total_seconds()))
            else:
                best = good[-1]
            answer["archived_snapshots"]["closest"] = {
                "status": "200", "available": True, "timestamp": best.timestamp,
                "url": f"http://web.archive.org/web/{best.timestamp}/{best.url}"}
        return web.Response(text=json.dumps(answer), content_type="application/json")

    async def _default(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path
        if path.startswith("/web/"):
            return await self._replay(request, path[len("/web/"):])
        if path.startswith("/save/"):
            return await self._save(path[len("/save/"):])
        return web.Response(status=404, text="<html><title>404 Not Found</title></html>", content_type="text/html")

    async def _replay(self, request: web.Request, rest: str) -> web.StreamResponse:
        bad = await self._misbehave("web")
        if bad is not None:
            return bad
        match = re.match(r"(\d{1,14})(id_)?/(.+)", rest)
        if not match:
            return web.Response(status=400, text="bad replay path")
        ts, raw, url = match.group(1), bool(match.group(2)), match.group(3)
        captures = self._for(url)
        if not captures:
            return web.Response(status=404, text="<html><body>Wayback Machine doesn't have that page archived."
                                                 "</body></html>", content_type="text/html")
        exact = [c for c in captures if c.timestamp == ts]
        if not exact:
            target = _parse_ts(_pad(ts, upper=False))
            near = min(captures, key=lambda c: abs((_parse_ts(c.timestamp) - target).total_seconds()))
            return web.Response(status=302, headers={"Location": f"/web/{near.timestamp}{'id_' if raw else ''}/{near.url}"})
        capture = exact[-1]
        body = capture.body
        if not raw:
            body = re.sub(r"(<body[^>]*>)", r"\1" + TOOLBAR, body, count=1) if "<body" in body else TOOLBAR + body
        return web.Response(status=capture.status, text=body, content_type=capture.mimetype)

    async def _save(self, url: str) -> web.StreamResponse:
        bad = await self._misbehave("save")
        if bad is not None:
            return bad
        ts = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self.add(url, ts, 200, f"<html><body><p>Saved copy of {url}</p></body></html>")
        link = (f'<{url}>; rel="original", <https://web.archive.org/web/timemap/link/{url}>; rel="timemap"; '
                f'type="application/link-format", <https://web.archive.org/web/{ts}/{url}>; rel="memento"; '
                f'datetime="{datetime.now(timezone.utc):%a, %d %b %Y %H:%M:%S GMT}"')
        return web.Response(status=200, text="<html><body>Saved</body></html>", content_type="text/html",
                            headers={"Content-Location": f"/web/{ts}/{url}", "Link": link})
