"""A fake Memento web archive on a loopback simulator site, speaking real TimeMap link format (RFC 7089).

- TimeMap: ``/timemap/link/<original URL>`` answers ``application/link-format``
  with ``original``, ``self``, ``timegate``, ``first memento``, ``memento``
  and ``last memento`` rels, each memento with its ``datetime`` in RFC 1123
  form; 404 when the archive has no memento of the URL (as real archives do).
- Paged TimeMaps: with ``page_size`` set, each page lists that many mementos
  and links the next with ``rel="timemap"; type="application/link-format"``
  (``/timemap/link/page/<n>/<original URL>``), as pywb-based archives page.
- Replays: ``/web/<14 digits>/<original URL>`` answers the memento's status
  and body; a memento can instead redirect (302) inside the archive, e.g. to
  a replay that answers 404.
- Aggregator: :meth:`FakeArchive.list_elsewhere` lists mementos held by other
  fake archives (their replay URLs), as MemGator or Time Travel do.

``fail``/``hang`` make the TimeMap or replay endpoint misbehave; ``calls``
counts requests per endpoint and ``timemap_bytes`` what TimeMaps sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from fake_wayback import url_key
from simulator import SimWeb, Site

#: Longest a "hanging" endpoint holds a request (released at close()).
HANG_SECONDS = 30.0
GOOD_PAGE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
             "<p>The archived report says the scheme cost twice the estimate, according to the auditors.</p>"
             "<p>It was published by the ministry and reviewed by the committee in full.</p></article></body></html>")


def rfc1123(ts: str) -> str:
    return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


@dataclass
class Memento:
    url: str
    timestamp: str
    status: int = 200
    body: str = ""
    #: Replay answers 302 to this path (inside the archive) instead of the body.
    redirect_to: str | None = None
    #: Full URL of the replay when another archive holds it (aggregator listings).
    elsewhere: str | None = None


@dataclass
class Calls:
    timemap: int = 0
    replay: int = 0
    paths: list[str] = field(default_factory=list)


class FakeArchive:
    """A configurable Memento archive. ``timemap_base`` is what ``--archives`` takes."""

    def __init__(self, sim: SimWeb, page_size: int | None = None) -> None:
        self.sim = sim
        self.site: Site = sim.site()
        self.mementos: list[Memento] = []
        self.page_size = page_size
        self.calls = Calls()
        self.behaviour: dict[str, tuple[str, int]] = {}
        self.timemap_bytes = 0
        self._release = asyncio.Event()
        self.site.default = self._default

    @property
    def timemap_base(self) -> str:
        return f"{self.site.base_url}/timemap/link/"

    def replay_url(self, url: str, ts: str) -> str:
        return f"{self.site.base_url}/web/{ts}/{url}"

    def add(self, url: str, ts: str, status: int = 200, body: str | None = None,
            redirect_to: str | None = None) -> str:
        """Hold a memento of ``url`` taken at ``ts``; returns its replay URL."""
        self.mementos.append(Memento(url, ts, status, body or GOOD_PAGE.format(title=f"Archived {ts}"), redirect_to))
        return self.replay_url(url, ts)

    def list_elsewhere(self, url: str, ts: str, replay_url: str) -> None:
        """List a memento another archive holds (an aggregator's TimeMap)."""
        self.mementos.append(Memento(url, ts, elsewhere=replay_url))

    def fail(self, endpoint: str, status: int = 503) -> None:
        self.behaviour[endpoint] = ("fail", status)

    def hang(self, endpoint: str) -> None:
        self.behaviour[endpoint] = ("hang", 0)

    def close(self) -> None:
        self.sim.call_soon(self._release.set)

    # ------------------------------------------------------------------ handlers

    async def _misbehave(self, endpoint: str) -> web.StreamResponse | None:
        kind, status = self.behaviour.get(endpoint, ("", 0))
        if kind == "hang":
            try:
                await asyncio.wait_for(self._release.wait(), HANG_SECONDS)
            except asyncio.TimeoutError:
                pass
            return web.Response(status=504, text="gateway timeout")
        if kind == "fail":
            return web.Response(status=status, text=f"<html><title>{status}</title></html>", content_type="text/html")
        return None

    def _for(self, url: str) -> list[Memento]:
        key = url_key(url)
        return sorted((m for m in self.mementos if url_key(m.url) == key), key=lambda m: m.timestamp)

    async def _default(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path
        self.calls.paths.append(path)
        if path.startswith("/timemap/link/"):
            rest = path[len("/timemap/link/"):]
            page = 1
            if rest.startswith("page/"):
                number, _, rest = rest[len("page/"):].partition("/")
                page = int(number) if number.isdigit() else 1
            return await self._timemap(rest, page)
        if path.startswith("/web/"):
            return await self._replay(path[len("/web/"):])
        return web.Response(status=404, text="<html><title>404 Not Found</title></html>", content_type="text/html")

    async def _timemap(self, url: str, page: int) -> web.StreamResponse:
        self.calls.timemap += 1
        bad = await self._misbehave("timemap")
        if bad is not None:
            return bad
        held = self._for(url)
        if not held:
            return web.Response(status=404, text="No mementos.", content_type="text/plain")
        size = self.page_size or len(held)
        pages = max(1, -(-len(held) // size))
        chunk = held[(page - 1) * size: page * size]
        if not chunk:
            return web.Response(status=404, text="No such page.", content_type="text/plain")
        base = self.site.base_url
        self_url = f"{base}/timemap/link/{url}" if page == 1 else f"{base}/timemap/link/page/{page}/{url}"
        lines = [f'<{url}>; rel="original"',
                 f'<{self_url}>; rel="self"; type="application/link-format"; '
                 f'from="{rfc1123(chunk[0].timestamp)}"; until="{rfc1123(chunk[-1].timestamp)}"',
                 f'<{base}/web/{url}>; rel="timegate"']
        if page < pages:
            nxt = held[page * size]
            lines.append(f'<{base}/timemap/link/page/{page + 1}/{url}>; rel="timemap"; '
                         f'type="application/link-format"; from="{rfc1123(nxt.timestamp)}"')
        for i, m in enumerate(chunk):
            rel = "memento"
            if page == 1 and i == 0:
                rel = "first memento"
            if page == pages and i == len(chunk) - 1:
                rel = "last memento" if rel == "memento" else "first last memento"
            target = m.elsewhere or f"/web/{m.timestamp}/{m.url}"  # relative targets are allowed
            lines.append(f'<{target}>; rel="{rel}"; datetime="{rfc1123(m.timestamp)}"')
        text = ",\n".join(lines) + "\n"
        self.timemap_bytes += len(text.encode())
        return web.Response(text=text, content_type="application/link-format")

    async def _replay(self, rest: str) -> web.StreamResponse:
        self.calls.replay += 1
        bad = await self._misbehave("replay")
        if bad is not None:
            return bad
        ts, _, url = rest.partition("/")
        for m in self._for(url):
            if m.timestamp == ts and not m.elsewhere:
                if m.redirect_to:
                    return web.Response(status=302, headers={"Location": m.redirect_to})
                return web.Response(status=m.status, text=m.body, content_type="text/html",
                                    headers={"Memento-Datetime": rfc1123(m.timestamp)})
        return web.Response(status=404, text="<html><head><title>Not in archive</title></head>"
                                             "<body><h1>Not found</h1><p>This page is not in the archive.</p></body></html>",
                            content_type="text/html")
