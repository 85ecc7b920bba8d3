"""Which articles a site has published: sitemaps, feeds and robots.txt, fetched through the checker's engine.

A newsroom's archive lives on its website, so a nightly audit starts from
the site's own lists: a sitemap (or a sitemap index of gzipped sitemaps,
news sitemaps included; a site's root means the ``Sitemap:`` lines of its
robots.txt), an RSS or Atom feed, or article URLs given one by one. Every
list is fetched by :func:`provenance.check.fetch_pages`, so the politeness,
address policy, proxies, retries and byte caps of link checks apply here too.

Sitemaps are parsed incrementally (lxml's iterparse, entities never
resolved, each element freed once read): a 50,000-URL sitemap is never held
as a tree, entries are filtered by ``since`` as they stream by, and bad
entries are counted and skipped. Feeds are read by feedparser, robots.txt by
protego (Scrapy's parser: the wildcard and precedence rules of RFC 9309).
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from .check import CheckOptions, PageFetch, PageRequest, fetch_pages
from .urls import InvalidURL, normalize_url

#: Most decoded bytes of one sitemap: the sitemap protocol's own limit (50 MB uncompressed).
MAX_SITEMAP_BYTES = 52_428_800
#: Most decoded bytes of a feed or a robots.txt (Google reads 500 KiB of robots.txt).
MAX_FEED_BYTES = 8 * 1024 * 1024
MAX_ROBOTS_BYTES = 512 * 1024
#: Most sitemaps read from one index tree (an index may list 50,000; a site with more is split over runs by --limit).
MAX_SITEMAPS = 1000
#: Sitemaps fetched per engine run (a 50 MB sitemap is possible, so only a few bodies at once).
SITEMAP_FETCH_BATCH = 4
#: Levels of sitemap indexes followed (an index of indexes is not in the protocol, but exists).
MAX_SITEMAP_DEPTH = 3
#: Where sites put their sitemap when robots.txt does not say (the protocol's, Yoast's, WordPress core's).
WELL_KNOWN_SITEMAPS = ("/sitemap.xml", "/sitemap_index.xml", "/wp-sitemap.xml")
#: Longest robots.txt ``Crawl-delay`` honoured (seconds between article requests to one site).
MAX_CRAWL_DELAY = 10.0
#: The product token matched against robots.txt ``User-agent`` lines.
ROBOTS_AGENT = "provenance"

_GZIP_MAGIC = b"\x1f\x8b"
#: The root element of an RSS or Atom feed, near the start of a document.
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")


class SourceError(Exception):
    """A sitemap, feed or robots.txt that could not be used: one line for the user."""


@dataclass
class Entry:
    """An article a list named: its URL, its date (lastmod / published, YYYY-MM-DD) and the list."""

    url: str
    date: str | None = None
    #: "url" for an article given on the command line, else the sitemap or feed URL that listed it.
    via: str = "url"


@dataclass
class Listing:
    """What the lists named, after ``since`` and ``limit``; problems are one line each."""

    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Entries skipped because they were malformed (no <loc>, not an http(s) URL, a bad date).
    bad_entries: int = 0
    #: Entries left out by --since.
    too_old: int = 0
    #: Sitemaps and feeds read only in part (cut by the timeout or the byte cap): one line each; the
    #: entries before the cut are used, so the run goes on, but the user is told the list is incomplete.
    notes: list[str] = field(default_factory=list)
    #: Sitemaps and feeds read.
    lists_read: int = 0


def body_cut(page: PageFetch) -> str | None:
    """Why a fetched list's body is incomplete ("body cut off: still arriving after 20s"), or None.

    The engine keeps what arrived and appends the cut to the reason (check.py); a partial sitemap parses
    fine up to the break, so without this the user would never learn the list was short.
    """
    for part in page.reason.split("; "):
        if part.startswith(("body cut off", "body not decodable")):
            return part
    return None


def _note_cut(listing: Listing, what: str, page: PageFetch) -> None:
    cut = body_cut(page)
    if cut:
        listing.notes.append(f"{what} read only in part ({cut}): the entries before the cut are used")


def _note_broken_feed(listing: Listing, what: str, page: PageFetch, broken: list[str], entries: int) -> None:
    """A feed that is not well-formed XML: its entries are used, and the user told (a cut body has its own note)."""
    if broken and not body_cut(page):
        listing.notes.append(f"{what} is not well-formed XML ({broken[0]}): the {entries} entries read before "
                             f"or around the error are used")


# --------------------------------------------------------------------------- dates


_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


def parse_since(text: str | None) -> str | None:
    """``--since``: YYYY-MM-DD (a W3C datetime's date part is accepted); ValueError otherwise."""
    if not text:
        return None
    match = _DATE.match(text)
    try:
        if not match:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        raise ValueError(f"bad --since date {text!r}: use YYYY-MM-DD") from None


def _w3c_date(text: str | None) -> str | None:
    """A sitemap's W3C datetime -> YYYY-MM-DD, None when absent or not a date."""
    if not text:
        return None
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- sitemaps


def _inflate(data: bytes, limit: int) -> bytes:
    """A gzipped sitemap's bytes (``.xml.gz`` is served as a file, not as Content-Encoding), capped."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SourceError(f"not a readable gzip file: {exc}") from None
    if len(out) > limit:
        raise SourceError(f"decompresses to more than {limit} bytes (the sitemap protocol's limit)")
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def iter_sitemap(data: bytes, broken: list[str] | None = None) -> Iterator[tuple[str, str | None, str | None]]:
    """``(kind, loc, date)`` per entry, streamed: kind is ``url`` or ``sitemap`` (an index's child).

    ``loc`` is None for an entry without one (counted as bad by the caller);
    the date is the news sitemap's publication date, else ``lastmod``.
    Raises SourceError when the document is not XML at all. A document that
    breaks after some entries keeps them, and ``broken`` gets why
    ("past entry 3 (...)"): the caller tells the user the list is incomplete.
    """
    from lxml import etree

    if data.startswith(_GZIP_MAGIC):
        data = _inflate(data, MAX_SITEMAP_BYTES)
    # Whitespace before the XML declaration (a common plugin bug) would make the whole sitemap an XML error.
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if data and not data.startswith(b"<"):
        yield from _text_sitemap(data)
        return
    events = etree.iterparse(io.BytesIO(data), events=("end",), tag=("{*}url", "{*}sitemap"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False, recover=False)
    seen_any = False
    read = 0
    try:
        for _event, elem in events:
            kind = _local(elem.tag)
            if kind not in ("url", "sitemap"):
                continue
            seen_any = True
            read += 1
            loc = lastmod = published = None
            for child in elem:
                name = _local(child.tag)
                if name == "loc" and loc is None:
                    loc = (child.text or "").strip() or None
                elif name == "lastmod" and lastmod is None:
                    lastmod = (child.text or "").strip()
                elif name == "news":  # <news:news><news:publication_date>
                    for grand in child:
                        if _local(grand.tag) == "publication_date":
                            published = (grand.text or "").strip()
            yield kind, loc, _w3c_date(published) or _w3c_date(lastmod)
            # Free what was read: the tree never grows past one entry.
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        if not seen_any:
            raise SourceError(f"not a sitemap (XML error: {exc})") from None
        if broken is not None:  # a sitemap cut off midway: the entries before the break are kept, and said
            broken.append(f"past entry {read} ({' '.join(str(exc).split())[:200]})")
        return
    root = _local(getattr(events, "root", None).tag if getattr(events, "root", None) is not None else "")
    if not seen_any and root not in ("urlset", "sitemapindex"):
        raise SourceError(f"not a sitemap (its root element is <{root or '?'}>, not <urlset> or <sitemapindex>)")


def _text_sitemap(data: bytes) -> Iterator[tuple[str, str | None, str | None]]:
    """The protocol's plain-text sitemap: one URL a line (blank lines skipped)."""
    for line in io.BytesIO(data):
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            yield "url", text, None


def _web_url(text: str | None) -> str | None:
    if not text or not re.match(r"https?://", text, re.I):
        return None
    try:
        return normalize_url(text)[0]
    except InvalidURL:
        return None


def _is_root(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


# --------------------------------------------------------------------------- feeds


def parse_feed(data: bytes, base: str, broken: list[str] | None = None) -> tuple[list[Entry], int]:
    """RSS / Atom entries (link, published or updated date) and the number of bad entries; SourceError if no feed.

    feedparser reads a feed that is not well-formed XML with its loose parser
    and says so only in ``bozo_exception``; ``broken`` gets that XML error,
    so the caller can tell the user the list may be incomplete.
    """
    import xml.sax

    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": base})
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise SourceError(f"not an RSS or Atom feed{f' ({problem})' if problem else ''}")
    problem = parsed.get("bozo_exception")
    if broken is not None and parsed.get("bozo") and isinstance(problem, xml.sax.SAXException):
        broken.append(" ".join(str(problem).split())[:200])
    entries: list[Entry] = []
    bad = 0
    for item in parsed.entries:
        url = _web_url(item.get("link"))
        if url is None:
            bad += 1
            continue
        when = item.get("published_parsed") or item.get("updated_parsed")
        day = f"{when.tm_year:04d}-{when.tm_mon:02d}-{when.tm_mday:02d}" if when else None
        entries.append(Entry(url, day, base))
    return entries, bad


# --------------------------------------------------------------------------- robots.txt


@dataclass
class Robots:
    """robots.txt rules per site, fetched once each through the engine."""

    options: CheckOptions
    #: Never consult robots.txt (``--ignore-robots``: one's own site).
    ignore: bool = False
    #: site ("scheme://host:port") -> parsed rules, or the reason every path is refused.
    sites: dict[str, object] = field(default_factory=dict)

    def load(self, urls: Sequence[str]) -> None:
        """Fetch the robots.txt of every site among ``urls`` not seen yet (one request per site)."""
        todo = list(dict.fromkeys(_robots_url(u) for u in urls if _site(u) not in self.sites))
        if not todo:
            return
        for page in fetch_pages([PageRequest(u, max_bytes=MAX_ROBOTS_BYTES) for u in todo], self.options):
            self.sites[_site(page.url)] = _robots_rules(page)

    def parser(self, url: str):
        """The protego parser of ``url``'s site (fetched if needed), or a reason string when none applies."""
        self.load([url])
        return self.sites.get(_site(url))

    def refusal(self, url: str) -> str | None:
        """Why robots.txt forbids fetching ``url`` (None: allowed)."""
        if self.ignore:
            return None
        rules = self.parser(url)
        if isinstance(rules, str):
            return rules
        if rules is not None and not rules.can_fetch(url, ROBOTS_AGENT):
            return "robots.txt disallows it (use --ignore-robots for your own site)"
        return None

    def crawl_delay(self, url: str) -> float:
        """Seconds the site's robots.txt asks between requests (``Crawl-delay``), at most MAX_CRAWL_DELAY; 0 if none."""
        if self.ignore:
            return 0.0
        rules = self.parser(url)
        if rules is None or isinstance(rules, str):
            return 0.0
        try:
            delay = float(rules.crawl_delay(ROBOTS_AGENT) or 0.0)
        except (TypeError, ValueError):
            return 0.0
        return min(max(0.0, delay), MAX_CRAWL_DELAY) if delay == delay else 0.0

    def sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` lines of the site's robots.txt."""
        rules = self.parser(url)
        if rules is None or isinstance(rules, str):
            return []
        return [u for u in (_web_url(s) for s in rules.sitemaps) if u]


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _robots_rules(page: PageFetch):
    """protego rules; None (everything allowed) for a missing robots.txt; a reason when the site refuses all.

    As RFC 9309 says: 4xx means no rules; an unreachable robots.txt (5xx,
    timeouts) means the site may not want crawling now, so nothing is fetched.
    """
    from protego import Protego

    status = page.status or 0
    if 200 <= status < 300:
        text = page.body.decode("utf-8", errors="replace")
        return Protego.parse(text)
    if 400 <= status < 500 and status != 429:  # 429 is "not now" (as Google reads it), not "no rules"
        return None
    if page.verdict == "unchecked":
        return page.reason  # offline, or the address policy: the article itself would be refused the same way
    return f"robots.txt could not be read ({page.reason}); not fetched (use --ignore-robots for your own site)"


# --------------------------------------------------------------------------- enumeration


def list_articles(urls: Sequence[str], sitemaps: Sequence[str], feeds: Sequence[str], options: CheckOptions,
                  since: str | None = None, limit: int | None = None, robots: Robots | None = None) -> Listing:
    """The articles named by ``urls``, ``sitemaps`` and ``feeds``, de-duplicated, newest filter and cap applied.

    An article given by URL is always kept (``since`` filters listed ones
    only; its date is not known before it is fetched); a listed entry with
    no date is kept too (it cannot be shown to be old).
    """
    listing = Listing()
    robots = robots or Robots(options)
    seen: set[str] = set()

    def add(entry: Entry) -> bool:
        """False once the limit is reached."""
        if limit is not None and len(listing.entries) >= limit:
            return False
        if entry.url in seen:
            return True
        if since and entry.via != "url" and entry.date and entry.date < since:
            listing.too_old += 1
            return True
        seen.add(entry.url)
        listing.entries.append(entry)
        return limit is None or len(listing.entries) < limit

    for url in urls:
        if not add(Entry(url, None, "url")):
            return listing
    for url in sitemaps:
        if not _walk_sitemaps(url, options, robots, listing, add, since):
            return listing
    for url in feeds:
        page = fetch_pages([PageRequest(url, max_bytes=MAX_FEED_BYTES)], options)[0]
        if page.verdict not in ("ok", "redirect") or not page.body:
            listing.errors.append(f"feed {url}: {page.verdict} ({page.reason})")
            continue
        broken: list[str] = []
        try:
            entries, bad = parse_feed(page.body, page.final_url or url, broken)
        except SourceError as exc:
            listing.errors.append(f"feed {url}: {exc}")
            continue
        listing.lists_read += 1
        listing.bad_entries += bad
        _note_cut(listing, f"feed {url}", page)
        _note_broken_feed(listing, f"feed {url}", page, broken, len(entries))
        for entry in entries:
            entry.via = url
            if not add(entry):
                return listing
    return listing


def _guess_sitemap(root: str, options: CheckOptions) -> list[str]:
    """The first of the usual sitemap addresses that answers, for a site whose robots.txt names none."""
    base = root.rstrip("/")
    pages = fetch_pages([PageRequest(base + path, max_bytes=MAX_SITEMAP_BYTES) for path in WELL_KNOWN_SITEMAPS],
                        options)
    return [page.url for page in pages if page.verdict in ("ok", "redirect") and page.body][:1]


def _walk_sitemaps(start: str, options: CheckOptions, robots: Robots, listing: Listing, add,
                   since: str | None = None) -> bool:
    """Read a sitemap (or index, or a site's root via robots.txt) breadth-first; False once the limit is hit."""
    if _is_root(start):
        found = robots.sitemaps(start) or _guess_sitemap(start, options)
        if not found:
            listing.errors.append(f"sitemap {start}: none found (robots.txt names none, and "
                                  f"{', '.join(WELL_KNOWN_SITEMAPS)} do not answer)")
            return True
        queue = [(u, 0) for u in found]
    else:
        queue = [(start, 0)]
    done: set[str] = set()
    while queue:
        # A few sitemaps per engine run: the engine spaces requests to one host, and only a few bodies are held.
        batch: list[tuple[str, int]] = []
        while queue and len(batch) < SITEMAP_FETCH_BATCH:
            url, depth = queue.pop(0)
            if url in done:
                continue
            if len(done) >= MAX_SITEMAPS:
                listing.errors.append(f"sitemap {start}: more than {MAX_SITEMAPS} sitemaps; the rest were not read")
                queue.clear()
                break
            done.add(url)
            batch.append((url, depth))
        pages = fetch_pages([PageRequest(u, max_bytes=MAX_SITEMAP_BYTES) for u, _d in batch], options)
        for (url, depth), page in zip(batch, pages):
            if page.verdict not in ("ok", "redirect") or not page.body:
                listing.errors.append(f"sitemap {url}: {page.verdict} ({page.reason or 'empty'})")
                continue
            listing.lists_read += 1
            _note_cut(listing, f"sitemap {url}", page)
            if _FEED_ROOT.search(page.body[:2048]):  # a feed given as --sitemap: read it as the feed it is
                broken_feed: list[str] = []
                try:
                    entries, bad = parse_feed(page.body, page.final_url or url, broken_feed)
                except SourceError as exc:
                    listing.errors.append(f"sitemap {url}: {exc}")
                    continue
                listing.bad_entries += bad
                _note_broken_feed(listing, f"sitemap {url}", page, broken_feed, len(entries))
                for entry in entries:
                    entry.via = start
                    if not add(entry):
                        return False
                continue
            broken: list[str] = []
            try:
                for kind, loc, day in iter_sitemap(page.body, broken):
                    target = _web_url(loc)
                    if target is None:
                        listing.bad_entries += 1
                    elif kind == "sitemap":
                        # A child sitemap last modified before --since lists nothing newer: not fetched at all.
                        if depth + 1 <= MAX_SITEMAP_DEPTH and not (since and day and day < since):
                            queue.append((target, depth + 1))
                    elif not add(Entry(target, day, start)):
                        return False
            except SourceError as exc:
                listing.errors.append(f"sitemap {url}: {exc}")
            if broken and not body_cut(page):  # a cut body breaks the XML too, and already has its note
                listing.notes.append(f"sitemap {url} is not well-formed XML {broken[0]}: the entries before it are used")
            page.body = b""
    return True
