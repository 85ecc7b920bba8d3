"""Articles from the web: fetch each published page (conditionally), then extract it as a file is extracted.

An article fetched from its URL is the same article as the file it was
saved as: it is identified by its canonical URL (else the URL it finally
answered at), and the store finds a file's record by that canonical URL, so
reports, history and rot carry over whichever way it came in.

Nightly runs are cheap: the ETag and Last-Modified of the last fetch go out
as If-None-Match / If-Modified-Since, and a 304 (or a body whose hash has
not changed) means the article is not extracted again; its cited links are
then checked only when due, as for an unchanged file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .check import CheckOptions, PageFetch, PageRequest, fetch_pages
from .ingest import InputError, parse_document
from .models import Article
from .sources import Entry, Robots, body_cut

#: Most decoded bytes of one article page (a long Wikipedia article's HTML is 2-4 MB).
MAX_ARTICLE_PAGE_BYTES = 10 * 1024 * 1024
#: Articles fetched per engine run; their bodies are extracted and dropped before the next batch.
FETCH_BATCH = 100
#: Verdicts of a fetch that gave us the page (or told us it did not change).
FETCHED = frozenset({"ok", "redirect"})

_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9_\-]+)", re.I)


@dataclass
class WebArticle:
    """One listed article after its fetch: extracted, unchanged, refused or failed."""

    entry: Entry
    page: PageFetch | None = None
    #: The article's identity: its canonical URL, else its final URL (None when nothing was read).
    identity: str | None = None
    #: Freshly extracted (None when unchanged, refused or failed).
    article: Article | None = None
    #: sha256 of the page's bytes (the incremental key, as for a file's bytes).
    sha: str = ""
    #: True when the page answered 304 or with the same bytes as last time.
    unchanged: bool = False
    #: One line for the run's errors when the article could not be read.
    error: str | None = None
    #: What the article_sources row should hold after this fetch.
    source: dict[str, Any] = field(default_factory=dict)


def conditional_headers(row: dict[str, Any] | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the last fetch's validators."""
    headers: dict[str, str] = {}
    if row and row.get("etag"):
        headers["If-None-Match"] = row["etag"]
    if row and row.get("last_modified"):
        headers["If-Modified-Since"] = row["last_modified"]
    return headers


def _utf8(page: PageFetch) -> bytes:
    """The page's bytes, re-encoded as UTF-8 when the Content-Type names another charset.

    ingest.decode trusts BOMs, UTF-8 and <meta charset>; a server's header is
    one more authority it cannot see, so a Latin-1 page declared only in its
    header is decoded here.
    """
    match = _CHARSET.search(page.headers.get("content-type", ""))
    charset = match.group(1).lower() if match else ""
    if not charset or charset in ("utf-8", "utf8"):
        return page.body
    try:
        return page.body.decode(charset, errors="replace").encode("utf-8")
    except LookupError:
        return page.body


def article_from_page(page: PageFetch, name: str) -> Article:
    """Extract a fetched page as a file is extracted; links resolve against its final URL. InputError if not text."""
    from .extract import extract_document
    from .pagemeta import fill_metadata

    doc = parse_document(name, _utf8(page))
    doc.base_url = page.final_url or page.url
    article = extract_document(doc)
    if doc.format == "html":
        fill_metadata(article, doc.text, doc.base_url)
    return article


def fetch_articles(entries: Sequence[Entry], options: CheckOptions, known: dict[str, dict[str, Any]],
                   robots: Robots, force: bool = False, now: str = "", run_id: int | None = None,
                   versions: Callable[[str], str | None] | None = None,
                   batch: int = FETCH_BATCH) -> Iterator[list[WebArticle]]:
    """Fetch every listed article (robots.txt first) and extract the new and changed ones, batch by batch.

    ``known``: article_sources rows by URL (validators and the last body's
    hash); ``versions(identity)`` gives the extractor version that stored an
    article, so an upgrade re-extracts unchanged pages once. ``force``
    fetches unconditionally and re-extracts everything. Pages are dropped
    once extracted: a 50,000-article sitemap holds one batch of bodies at a time.
    """
    for start in range(0, len(entries), max(1, batch)):
        yield _fetch_batch(entries[start:start + max(1, batch)], options, known, robots, force, now, run_id, versions)


def _fetch_batch(entries: Sequence[Entry], options: CheckOptions, known: dict[str, dict[str, Any]],
                 robots: Robots, force: bool, now: str, run_id: int | None,
                 versions: Callable[[str], str | None] | None) -> list[WebArticle]:
    if not robots.ignore:
        robots.load([e.url for e in entries])
    out: list[WebArticle] = []
    requests: list[PageRequest] = []
    waiting: list[WebArticle] = []
    for entry in entries:
        item = WebArticle(entry)
        out.append(item)
        refusal = robots.refusal(entry.url)
        if refusal:
            item.error = f"article {entry.url}: not fetched: {refusal}"
            item.source = _source_row(entry, known.get(entry.url), None, "unchecked", refusal, now, run_id)
            continue
        row = known.get(entry.url)
        stored = row.get("article") if row else None
        fresh_extractor = bool(stored and versions is not None and versions(stored) == __version__)
        headers = conditional_headers(row) if (row and not force and fresh_extractor) else {}
        requests.append(PageRequest(entry.url, headers=headers, max_bytes=MAX_ARTICLE_PAGE_BYTES))
        waiting.append(item)
    for item, page in zip(waiting, _fetch_with_delays(requests, options, robots)):
        _settle(item, page, known.get(item.entry.url), force, versions, now, run_id)
        page.body = b""  # extracted (or not needed): do not hold thousands of pages
    return out


def _fetch_with_delays(requests: list[PageRequest], options: CheckOptions, robots: Robots) -> list[PageFetch]:
    """fetch_pages, with a site's robots.txt ``Crawl-delay`` as its host interval when that is longer."""
    groups: dict[float, list[int]] = {}
    for index, request in enumerate(requests):
        interval = max(options.host_interval, robots.crawl_delay(request.url))
        groups.setdefault(interval, []).append(index)
    out: list[PageFetch | None] = [None] * len(requests)
    for interval, indexes in groups.items():
        group_options = options if interval == options.host_interval else replace(options, host_interval=interval)
        for index, page in zip(indexes, fetch_pages([requests[i] for i in indexes], group_options)):
            out[index] = page
    return [page for page in out if page is not None]


def _settle(item: WebArticle, page: PageFetch, row: dict[str, Any] | None, force: bool,
            versions: Callable[[str], str | None] | None, now: str, run_id: int | None) -> None:
    item.page = page
    url = item.entry.url
    if page.verdict not in FETCHED:
        item.error = f"article {url}: {page.verdict} ({page.reason})"
        item.source = _source_row(item.entry, row, page, page.verdict, page.reason, now, run_id)
        return
    stored = row.get("article") if row else None
    if page.not_modified and not stored:
        # We asked unconditionally (or forgot what we had): a 304 then gives nothing to read.
        item.error = f"article {url}: error (HTTP 304 with no stored version to keep)"
        item.source = _source_row(item.entry, row, page, "error", "HTTP 304 with no stored version", now, run_id)
        return
    if page.not_modified and stored:
        item.unchanged, item.identity, item.sha = True, stored, row.get("body_sha256") or ""
        item.source = _source_row(item.entry, row, page, "ok", page.reason, now, run_id, keep_validators=True)
        return
    item.sha = hashlib.sha256(page.body).hexdigest()
    cut = body_cut(page)
    same = (not cut and stored and row.get("body_sha256") == item.sha and not force
            and versions is not None and versions(stored) == __version__)
    if same:
        item.unchanged, item.identity = True, stored
    else:
        try:
            article = article_from_page(page, page.final_url or url)
        except InputError as exc:
            item.error = f"article {url}: {exc}"
            item.source = _source_row(item.entry, row, page, "error", str(exc), now, run_id)
            return
        item.identity = identity_of(article.canonical_url, page.final_url or url)
        article.canonical_url = item.identity  # the canonical URL, unless missing or a template's home-page link
        article.path = item.identity
        item.article = article
        if cut:
            article.notes.append(f"article {url} read only in part ({cut}): {len(article.claims)} claims from what arrived")
    item.source = _source_row(item.entry, row, page, page.verdict, page.reason, now, run_id)
    item.source.update({"article": item.identity, "body_sha256": item.sha})
    if cut:
        # A partial body must not look current: without validators and hash the next run fetches it whole
        # (a 304 to If-None-Match would otherwise keep the truncated version for good).
        item.source.update({"etag": None, "last_modified": None, "body_sha256": None})


def identity_of(canonical: str | None, final_url: str) -> str:
    """An article's identity: its canonical URL, else the URL it answered at.

    A canonical link to the site's home page from a deeper page is a
    template's mistake, not the article's address: trusted, it would fold
    every article of the site into one record.
    """
    if not canonical:
        return final_url
    home = urlsplit(canonical)
    if home.path in ("", "/") and not home.query and urlsplit(final_url).path not in ("", "/"):
        return final_url
    return canonical


def _source_row(entry: Entry, row: dict[str, Any] | None, page: PageFetch | None, verdict: str, reason: str,
                now: str, run_id: int | None, keep_validators: bool = False) -> dict[str, Any]:
    """The article_sources row after a fetch; a failed fetch keeps what the last good one learned."""
    base = dict(row or {})
    base.update({"url": entry.url, "via": entry.via if entry.via else base.get("via", "url"),
                 "listed_date": entry.date, "last_fetched": now, "last_verdict": verdict,
                 "last_reason": reason[:500], "last_run_id": run_id,
                 "last_status": page.status if page is not None else None})
    if page is not None and page.verdict in FETCHED and not keep_validators:
        base["etag"] = page.headers.get("etag")
        base["last_modified"] = page.headers.get("last-modified")
        base["final_url"] = page.final_url
    return base


def extract_urls(entries: Sequence[Entry], options: CheckOptions, robots: Robots) -> tuple[list[Article], list[str]]:
    """For ``provenance extract``: each listed article fetched and extracted (no database); errors one line each."""
    items = [i for chunk in fetch_articles(entries, options, {}, robots, force=True) for i in chunk]
    articles = [i.article for i in items if i.article is not None]
    return articles, [i.error for i in items if i.error]
