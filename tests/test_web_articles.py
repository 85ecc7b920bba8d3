"""Articles audited from a live site: URLs, sitemaps (an index, gzipped, news), feeds and robots.txt.

Everything is served by a loopback newsroom (tests/simulator.py): a robots.txt
with rules and a ``Sitemap:`` line, a sitemap index over a gzipped sitemap and a
news sitemap, an RSS feed, articles with canonical links and validators (ETag,
Last-Modified: the server answers 304 and counts it), an article that 404s and
one that redirects. Cited links live on a second site, whose request log says
whether a re-run checked them again.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from fake_wayback import FakeWayback
from pages import PAGE
from provenance import sources, store
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions, PageRequest, fetch_pages
from provenance.wayback import WaybackOptions
from provenance.webarticles import MAX_ARTICLE_PAGE_BYTES

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 10:00:00 GMT"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def article_html(base: str, slug: str, title: str, cited: list[str], date: str = "2025-01-10",
                 canonical: bool = True) -> str:
    paras = "".join(f"<p>The council said in its {i} report that the <a href=\"{u}\">flood barrier budget</a> "
                    f"had doubled since the first estimate was published.</p>" for i, u in enumerate(cited, 1))
    link = f'<link rel="canonical" href="{base}/articles/{slug}">' if canonical else ""
    return (f"<!doctype html><html><head><title>{title}</title>{link}"
            f'<meta property="article:published_time" content="{date}T08:00:00Z">'
            f'<meta property="article:modified_time" content="2025-03-02T09:00:00Z">'
            f'<meta name="author" content="Ada Reporter"></head><body><nav><a href="/">Home</a></nav>'
            f"<article><h1>{title}</h1>{paras}</article></body></html>")


def sitemap(urls: list[tuple[str | None, str | None]], news: bool = False) -> str:
    items = []
    for loc, lastmod in urls:
        inner = f"<loc>{loc}</loc>" if loc is not None else ""
        if lastmod and news:
            inner += f"<news:news><news:publication_date>{lastmod}</news:publication_date></news:news>"
        elif lastmod:
            inner += f"<lastmod>{lastmod}</lastmod>"
        items.append(f"<url>{inner}</url>")
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{ns}>'
            + "".join(items) + "</urlset>")


class Newsroom:
    """A loopback news site and the site its articles cite."""

    def __init__(self, sim) -> None:
        self.site = sim.site()
        self.cited = sim.site()
        base = self.base = self.site.base_url
        self.cited_urls = [self.cited.page(f"/source-{i}", PAGE) for i in range(1, 4)]
        self.conditional: list[str] = []  # paths that came with If-None-Match / If-Modified-Since
        self.not_modified = 0
        bodies = {
            "one": article_html(base, "one", "Flood barrier costs double", self.cited_urls[:2]),
            "two": article_html(base, "two", "An old story", self.cited_urls[2:], date="2023-05-01"),
            "three": article_html(base, "three", "Feed-only story", self.cited_urls[1:2], date="2025-02-01"),
            "moved-here": article_html(base, "moved-here", "A story that moved", self.cited_urls[:1]),
            "secret": article_html(base, "secret", "Private", self.cited_urls[:1]),
        }
        for slug, body in bodies.items():
            prefix = "/private" if slug == "secret" else "/articles"
            self.site.route(f"{prefix}/{slug}", self._validated(body.encode()))
        self.site.redirect("/articles/moved", "/articles/moved-here")
        self.site.page("/articles/gone", "<html><title>Not found</title><body>No such page</body></html>", status=404)
        self.site.page("/robots.txt", f"User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap_index.xml\n",
                       content_type="text/plain")
        self.site.page("/sitemap_index.xml", (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-1.xml.gz</loc><lastmod>2025-02-01</lastmod></sitemap>"
            f"<sitemap><loc>{base}/sitemap-news.xml</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemap-2019.xml</loc><lastmod>2019-12-31</lastmod></sitemap>"
            "</sitemapindex>"), content_type="application/xml")
        plain = sitemap([(f"{base}/articles/one", "2025-01-10T08:00:00+00:00"), (f"{base}/articles/two", "2023-05-01"),
                         (f"{base}/private/secret", "2025-01-12"), (None, "2025-01-01"), ("ftp://x.example/a", None),
                         (f"{base}/articles/moved", "2025-01-11")])
        self.site.page("/sitemap-1.xml.gz", gzip.compress(plain.encode()), content_type="application/x-gzip")
        self.site.page("/sitemap-news.xml", sitemap([(f"{base}/articles/gone", "2025-01-15")], news=True),
                       content_type="application/xml")
        self.site.page("/sitemap-2019.xml", sitemap([(f"{base}/articles/ancient", "2019-01-01")]),
                       content_type="application/xml")
        self.site.page("/feed.xml", (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Newsroom</title>'
            f"<item><title>One</title><link>{base}/articles/one</link><pubDate>Fri, 10 Jan 2025 08:00:00 GMT</pubDate></item>"
            f"<item><title>Three</title><link>{base}/articles/three</link><pubDate>Sat, 01 Feb 2025 08:00:00 GMT</pubDate></item>"
            f"<item><title>Two</title><link>{base}/articles/two</link><pubDate>Mon, 01 May 2023 08:00:00 GMT</pubDate></item>"
            "<item><title>No link</title></item>"
            "</channel></rss>"), content_type="application/rss+xml")

    def _validated(self, body: bytes):
        async def handler(request: web.Request) -> web.StreamResponse:
            if request.headers.get("If-None-Match") or request.headers.get("If-Modified-Since"):
                self.conditional.append(request.path)
            if request.headers.get("If-None-Match") == ETAG:
                self.not_modified += 1
                return web.Response(status=304, headers={"ETag": ETAG})
            return web.Response(body=body, content_type="text/html", charset="utf-8",
                                headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})

        return handler

    def url(self, path: str) -> str:
        return self.base + path

    def cited_requests(self, since: int = 0) -> list[str]:
        """Requests for the cited pages themselves (catch-all probes ask for random siblings)."""
        wanted = {u.removeprefix(self.cited.base_url) for u in self.cited_urls}
        return [p for p in self.cited.stats.paths[since:] if p in wanted]


@pytest.fixture
def newsroom(sim):
    return Newsroom(sim)


@pytest.fixture
def wayback(sim):
    fw = FakeWayback(sim)
    yield fw
    fw.close()


def options(tmp_path: Path, fw: FakeWayback, clock: Clock | None = None, **kw) -> AuditOptions:
    return AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports",
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5),
                        clock=clock or Clock(), **kw)


def articles_of(result) -> dict[str, dict]:
    return {a["path"]: a for a in result.to_dict()["articles"]}


# --------------------------------------------------------------------------- listing


def test_site_root_reads_robots_sitemap_index_gzip_and_news(newsroom):
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False)
    listing = sources.list_articles([], [newsroom.base + "/"], [], opts, since="2024-01-01")
    urls = [e.url for e in listing.entries]
    assert urls == [newsroom.url("/articles/one"), newsroom.url("/private/secret"), newsroom.url("/articles/moved"),
                    newsroom.url("/articles/gone")]
    assert listing.entries[0].date == "2025-01-10" and listing.entries[-1].date == "2025-01-15"
    assert listing.bad_entries == 2  # no <loc>, and an ftp: URL
    assert listing.too_old == 1  # /articles/two, lastmod 2023
    assert "/sitemap-2019.xml" not in newsroom.site.stats.paths  # its lastmod says it holds nothing newer
    assert listing.errors == []


def test_feed_since_and_limit(newsroom):
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False)
    listing = sources.list_articles([], [], [newsroom.url("/feed.xml")], opts, since="2025-01-01")
    assert [e.url for e in listing.entries] == [newsroom.url("/articles/one"), newsroom.url("/articles/three")]
    assert listing.bad_entries == 1 and listing.too_old == 1
    capped = sources.list_articles([newsroom.url("/articles/two")], [], [newsroom.url("/feed.xml")], opts, limit=2)
    assert [e.url for e in capped.entries] == [newsroom.url("/articles/two"), newsroom.url("/articles/one")]


def test_a_big_sitemap_streams_and_skips_bad_entries():
    entries = [(f"https://news.example/a/{i}", "2025-01-01") for i in range(50_000)]
    entries[10] = (None, "2025-01-01")
    entries[20] = ("not a url", None)
    data = gzip.compress(sitemap(entries).encode())
    seen = bad = 0
    for kind, loc, _day in sources.iter_sitemap(data):
        assert kind == "url"
        if sources._web_url(loc) is None:
            bad += 1
        else:
            seen += 1
    assert (seen, bad) == (49_998, 2)


def test_not_a_sitemap_and_a_gzip_bomb_are_one_line_errors():
    with pytest.raises(sources.SourceError, match="not a sitemap"):
        list(sources.iter_sitemap(b"<html><body>hello"))
    with pytest.raises(sources.SourceError, match="root element is <html>"):
        list(sources.iter_sitemap(b"<html><body><p>a well-formed page, not a sitemap</p></body></html>"))
    assert list(sources.iter_sitemap(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')) == []
    bomb = gzip.compress(b"<" + b" " * (sources.MAX_SITEMAP_BYTES + 10))
    with pytest.raises(sources.SourceError, match="decompresses to more than"):
        list(sources.iter_sitemap(bomb))


def test_fetch_pages_uses_the_address_policy(newsroom):
    page = fetch_pages([PageRequest(newsroom.url("/articles/one"))], CheckOptions(retries=0, timeout=5, offline=False))[0]
    assert page.verdict == "unchecked" and "address policy" in page.reason
    assert "/articles/one" not in newsroom.site.stats.paths


# --------------------------------------------------------------------------- the audit


def test_audit_from_a_sitemap_then_a_304_night(newsroom, wayback, tmp_path):
    clock = Clock()
    opts = options(tmp_path, wayback, clock, sitemaps=[newsroom.base + "/"], feeds=[newsroom.url("/feed.xml")],
                   since="2024-01-01")
    first = run_audit([], opts)
    got = articles_of(first)
    one, moved = newsroom.url("/articles/one"), newsroom.url("/articles/moved-here")
    # One article, one record: /articles/one came from the sitemap and the feed; the redirect is known by its canonical.
    assert sorted(got) == sorted([one, moved, newsroom.url("/articles/three")])
    assert got[one]["title"] == "Flood barrier costs double" and got[one]["published"] == "2025-01-10"
    assert got[one]["authors"] == ["Ada Reporter"] and got[one]["updated"] == "2025-03-02"
    assert "- Updated: 2025-03-02" in (tmp_path / "reports" / "flood-barrier-costs-double.md").read_text()
    assert {c["url"] for c in got[one]["claims"] if c["kind"] == "link"} == set(newsroom.cited_urls[:2])
    assert all(c["verdict"] == "ok" for c in got[one]["claims"] if c["kind"] == "link")
    # robots.txt is honoured, the 404 is reported, and both are in the run's errors (exit 2) and index.md.
    assert "/private/secret" not in newsroom.site.stats.paths
    assert any("private/secret" in e and "robots.txt disallows" in e for e in first.errors)
    assert any("articles/gone" in e and "dead" in e for e in first.errors)
    index = (tmp_path / "reports" / "index.md").read_text()
    assert "articles/gone" in index and "`dead`" in index and "private/secret" in index
    assert newsroom.conditional == []
    cited_before = len(newsroom.cited_requests())
    assert cited_before >= 2

    clock.now += timedelta(hours=2)  # within --recheck-after: nothing is due
    second = run_audit([], opts)
    assert newsroom.not_modified >= 3  # every article answered 304 to its ETag
    assert set(newsroom.conditional) >= {"/articles/one", "/articles/moved-here", "/articles/three"}
    assert newsroom.cited_requests(0)[cited_before:] == []  # no cited link asked again
    assert sorted(articles_of(second)) == sorted(got)  # the run still lists every article
    assert second.to_dict()["run"]["articles_extracted"] == 0
    assert second.to_dict()["run"]["web_articles_unchanged"] == 3


def test_unchanged_body_without_validators_is_not_reextracted(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    site.page("/story", article_html(site.base_url, "story", "Story", [cited]))  # no ETag, no Last-Modified
    opts = options(tmp_path, wayback, urls=[site.url("/story")], force=False)
    assert run_audit([], opts).to_dict()["run"]["articles_extracted"] == 1
    again = run_audit([], opts).to_dict()["run"]
    assert again["articles_extracted"] == 0 and again["web_articles_unchanged"] == 1


def test_a_file_and_its_url_are_one_record(newsroom, wayback, tmp_path):
    saved = tmp_path / "saved" / "one.html"
    saved.parent.mkdir()
    saved.write_text(article_html(newsroom.base, "one", "Flood barrier costs double", newsroom.cited_urls[:2]))
    opts = options(tmp_path, wayback)
    run_audit([saved.parent], opts)
    opts.urls = [newsroom.url("/articles/one")]
    run_audit([], opts)
    db = store.open_store(tmp_path / "db" / "p.db", create=False)
    try:
        rows = list(db.query("select id, canonical_url from articles"))
    finally:
        store.close_store(db)
    assert len(rows) == 1 and rows[0]["canonical_url"] == newsroom.url("/articles/one")


def test_a_url_first_then_its_file_is_one_record(newsroom, wayback, tmp_path):
    opts = options(tmp_path, wayback, urls=[newsroom.url("/articles/one")])
    run_audit([], opts)
    saved = tmp_path / "saved" / "one.html"
    saved.parent.mkdir()
    saved.write_text(article_html(newsroom.base, "one", "Flood barrier costs double", newsroom.cited_urls[:2]))
    run_audit([saved.parent], options(tmp_path, wayback))
    run_audit([], opts)
    db = store.open_store(tmp_path / "db" / "p.db", create=False)
    try:
        assert db.execute("select count(*) from articles").fetchone()[0] == 1
    finally:
        store.close_store(db)


def test_offline_fetches_nothing_and_keeps_the_last_version(newsroom, wayback, tmp_path):
    opts = options(tmp_path, wayback, urls=[newsroom.url("/articles/one")])
    run_audit([], opts)
    before = newsroom.site.stats.requests
    said: list[str] = []
    opts.check = CheckOptions(allow_private=True, retries=0, timeout=5, offline=True)
    result = run_audit([], opts, log=said.append)
    assert newsroom.site.stats.requests == before
    assert list(articles_of(result)) == [newsroom.url("/articles/one")]
    assert any("offline" in s and "kept" in s for s in said)
    assert result.errors == [] and result.offline
    assert "offline" in (tmp_path / "reports" / "index.md").read_text()


def test_a_failing_article_keeps_its_last_version(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    body = article_html(site.base_url, "story", "Story", [cited])
    site.sequence("/story", [(200, body, {}), (503, "down", {})])
    opts = options(tmp_path, wayback, urls=[site.url("/story")])
    run_audit([], opts)
    result = run_audit([], opts)
    assert any("/story" in e and "error" in e for e in result.errors)
    assert [a["title"] for a in result.to_dict()["articles"]] == ["Story"]


def test_ignore_robots_fetches_ones_own_private_pages(newsroom, wayback, tmp_path):
    url = newsroom.url("/private/secret")
    refused = run_audit([], options(tmp_path, wayback, urls=[url]))
    assert refused.errors and not refused.articles
    allowed = run_audit([], options(tmp_path, wayback, urls=[url], ignore_robots=True))
    # Known by its canonical URL, as every web article is.
    assert allowed.errors == [] and [a["path"] for a in allowed.to_dict()["articles"]] == [newsroom.url("/articles/secret")]


def test_mediawiki_references_are_footnote_citations(sim, wayback, tmp_path):
    wiki = sim.site()
    cited = sim.site().page("/report", PAGE)
    page = (f'<!DOCTYPE html><html><head><title>Flood barrier - Wikipedia</title>'
            f'<link rel="canonical" href="{wiki.base_url}/wiki/Flood_barrier"></head><body>'
            '<div id="mw-content-text"><div class="mw-parser-output">'
            '<p>The barrier cost twice the first estimate.<sup id="cite_ref-1" class="reference">'
            '<a href="#cite_note-1">[1]</a></sup> It opened in 2024.</p>'
            '<div class="reflist"><ol class="references"><li id="cite_note-1"><span class="mw-cite-backlink">'
            '<a href="#cite_ref-1">^</a></span> <span class="reference-text"><cite class="citation web">'
            f'<a class="external text" href="{cited}">"Barrier budget report"</a>. Council. 2023.</cite>'
            '</span></li></ol></div></div></div></body></html>')
    wiki.page("/wiki/Flood_barrier", page)
    result = run_audit([], options(tmp_path, wayback, urls=[wiki.url("/wiki/Flood_barrier")]))
    claims = [c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"]
    assert [c["url"] for c in claims] == [cited]
    assert "cost twice the first estimate" in claims[0]["sentence"]


# --------------------------------------------------------------------------- the command line


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def test_extract_takes_an_article_url_unmangled(newsroom):
    proc = cli("extract", newsroom.url("/articles/moved"), "--allow-private", "--json")
    assert proc.returncode == 0, proc.stderr
    [got] = json.loads(proc.stdout)
    assert got["canonical_url"] == newsroom.url("/articles/moved-here") and got["title"] == "A story that moved"


def test_bad_web_inputs_are_one_line_errors(tmp_path):
    for args, needle in ((["--sitemap", "ftp://x.example/s.xml"], "--sitemap must be an http(s) URL"),
                         (["--feed", "https://bad host/feed"], "bad --feed"),
                         (["--sitemap", "https://x.example/", "--since", "yesterday"], "bad --since date")):
        proc = cli("audit", *args, "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and needle in proc.stderr, proc.stderr
        assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1


def test_audit_url_does_not_add_seeds_and_a_404_exits_2(newsroom, wayback, tmp_path):
    proc = cli("audit", newsroom.url("/articles/gone"), "--allow-private", "--db", str(tmp_path / "p.db"),
               "--reports", str(tmp_path / "r"), "--wayback-url", wayback.base_url, "--retries", "0", "--json")
    assert proc.returncode == 2, proc.stderr
    run = json.loads(proc.stdout)
    assert run["articles"] == [] and any("articles/gone" in e for e in run["run"]["errors"])
    assert "Traceback" not in proc.stderr


def test_article_fetches_keep_the_hosts_limits_and_byte_caps(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    urls = [site.page(f"/story-{i}", article_html(site.base_url, f"story-{i}", f"Story {i}", [cited]), delay=0.05)
            for i in range(6)]
    urls.append(site.endless("/endless"))
    opts = options(tmp_path, wayback, urls=urls)
    opts.check = CheckOptions(allow_private=True, retries=0, host_interval=0.0, host_concurrency=1, timeout=10,
                              offline=False)
    result = run_audit([], opts)
    assert site.stats.peak == 1  # one at a time, as --host-concurrency 1 says
    assert len(result.articles) == 7
    # The endless page was cut at the cap (plus what the loopback socket buffers held), not read on to the
    # server's own 512 MB stop.
    assert site.stats.streamed < 4 * MAX_ARTICLE_PAGE_BYTES


def test_a_canonical_link_to_the_home_page_does_not_fold_articles(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    home = site.base_url + "/"
    urls = [site.page(f"/story-{i}", article_html(site.base_url, f"story-{i}", f"Story {i}", [cited])
                      .replace(f"{site.base_url}/articles/story-{i}", home)) for i in range(2)]
    result = run_audit([], options(tmp_path, wayback, urls=urls))
    assert sorted(articles_of(result)) == sorted(urls)


def test_offline_article_urls_are_unchecked_never_dead():
    pages = fetch_pages([PageRequest("https://news.example.org/a")], CheckOptions(offline=True))
    assert [(p.verdict, p.reason) for p in pages] == [("unchecked", "offline: no network to resolve names")]


def test_a_file_and_its_url_in_one_run_are_one_article(newsroom, wayback, tmp_path):
    saved = tmp_path / "saved" / "one.html"
    saved.parent.mkdir()
    saved.write_text(article_html(newsroom.base, "one", "Flood barrier costs double", newsroom.cited_urls[:2]))
    result = run_audit([saved.parent], options(tmp_path, wayback, urls=[newsroom.url("/articles/one")]))
    assert len(result.articles) == 1 and result.errors == []


def test_extract_reads_a_sitemap_with_a_limit(newsroom):
    proc = cli("extract", "--sitemap", newsroom.url("/sitemap_index.xml"), "--limit", "2", "--allow-private", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [a["canonical_url"] for a in json.loads(proc.stdout)] == [newsroom.url("/articles/one"),
                                                                    newsroom.url("/articles/two")]
    assert "/private/secret" not in newsroom.site.stats.paths  # the limit stopped the listing before it


def test_last_modified_alone_revalidates_with_if_modified_since(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    body = article_html(site.base_url, "story", "Story", [cited]).encode()
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("If-Modified-Since"))
        if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return web.Response(status=304)
        return web.Response(body=body, content_type="text/html", headers={"Last-Modified": LAST_MODIFIED})

    url = site.route("/story", handler)
    clock = Clock()
    opts = options(tmp_path, wayback, clock, urls=[url])
    run_audit([], opts)
    clock.now += timedelta(hours=1)
    again = run_audit([], opts)
    assert seen == [None, LAST_MODIFIED]
    assert again.to_dict()["run"]["web_articles_unchanged"] == 1 and len(again.articles) == 1
    clock.now += timedelta(hours=1)
    opts.force = True  # --force: fetched unconditionally and extracted again
    forced = run_audit([], opts)
    assert seen[-1] is None and forced.to_dict()["run"]["articles_extracted"] == 1


def test_an_article_behind_a_cookie_redirect_is_read(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    body = article_html(site.base_url, "story", "Story", [cited])

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.cookies.get("consent") != "yes":
            return web.Response(status=302, headers={"Location": "/story", "Set-Cookie": "consent=yes; Path=/"})
        return web.Response(text=body, content_type="text/html")

    url = site.route("/story", handler)
    result = run_audit([], options(tmp_path, wayback, urls=[url]))
    assert result.errors == [] and [a["title"] for a in result.to_dict()["articles"]] == ["Story"]


def test_text_sitemaps_and_whitespace_before_the_declaration():
    text = b"https://news.example/a\n\nhttps://news.example/b\nnot a url\n"
    assert [loc for _k, loc, _d in sources.iter_sitemap(text)] == ["https://news.example/a", "https://news.example/b",
                                                                   "not a url"]
    spaced = b"\n\n  " + sitemap([("https://news.example/c", "2025-01-01")]).encode()
    assert list(sources.iter_sitemap(spaced)) == [("url", "https://news.example/c", "2025-01-01")]


def test_a_feed_given_as_a_sitemap_is_read_as_a_feed(newsroom):
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False)
    listing = sources.list_articles([], [newsroom.url("/feed.xml")], [], opts)
    assert [e.url for e in listing.entries] == [newsroom.url(p) for p in ("/articles/one", "/articles/three",
                                                                         "/articles/two")]
    assert listing.errors == []


def test_a_site_root_without_sitemap_lines_tries_the_usual_places(sim):
    site = sim.site()
    site.page("/robots.txt", "User-agent: *\nDisallow:\n", content_type="text/plain")
    site.page("/wp-sitemap.xml", sitemap([(site.url("/a"), None)]), content_type="application/xml")
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False)
    listing = sources.list_articles([], [site.base_url + "/"], [], opts)
    assert [e.url for e in listing.entries] == [site.url("/a")] and listing.errors == []
    bare = sim.site()
    nothing = sources.list_articles([], [bare.base_url + "/"], [], opts)
    assert nothing.entries == [] and len(nothing.errors) == 1 and "none found" in nothing.errors[0]


def test_consecutive_page_fetches_keep_the_hosts_gap(sim):
    """robots.txt, sitemaps and article batches are separate engine runs; the site still sees the gap."""
    site = sim.site()
    urls = [site.page(f"/p{i}") for i in range(3)]
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.3, timeout=5, offline=False)
    for url in urls:  # three runs of one request each, back to back
        assert fetch_pages([PageRequest(url)], opts)[0].verdict == "ok"
    assert site.stats.min_gap() >= 0.3 * 0.8  # the engine's own floor (MIN_GAP_FRACTION); load only widens gaps


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'.encode()
                             for i in range(1, 10)) + b"]>")


def test_entity_bombs_in_sitemaps_and_feeds_stay_small():
    with pytest.raises(sources.SourceError, match="not a sitemap"):
        list(sources.iter_sitemap(BILLION_LAUGHS + b"<urlset><url><loc>&lol9;</loc></url></urlset>"))
    feed = BILLION_LAUGHS + (b'<rss version="2.0"><channel><item><title>&lol9;</title>'
                             b"<link>https://a.example/x</link></item></channel></rss>")
    entries, _bad = sources.parse_feed(feed, "https://a.example/feed")
    assert [e.url for e in entries] == ["https://a.example/x"]


def test_robots_crawl_delay_spaces_article_fetches(sim, wayback, tmp_path):
    site = sim.site()
    cited = sim.site().page("/s", PAGE)
    site.page("/robots.txt", "User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain")
    urls = [site.page(f"/story-{i}", article_html(site.base_url, f"story-{i}", f"Story {i}", [cited])) for i in range(3)]
    result = run_audit([], options(tmp_path, wayback, urls=urls))  # --host-interval 0 in these options
    assert len(result.articles) == 3
    starts = sorted(t for p, t in zip(site.stats.paths, site.stats.starts) if p.startswith("/story-"))
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.4 * 0.8  # the engine's floor; load only widens it


def test_pages_queued_behind_a_hosts_interval_do_not_time_out(sim):
    site = sim.site()
    urls = [site.page(f"/p{i}") for i in range(6)]
    # Six pages 0.5 s apart on one host: the last starts ~2.5 s in, well past a 1 s per-page deadline.
    opts = CheckOptions(allow_private=True, retries=0, host_interval=0.5, host_concurrency=1, timeout=1,
                        url_deadline=1.0, offline=False)
    pages = fetch_pages([PageRequest(u) for u in urls], opts)
    assert [p.verdict for p in pages] == ["ok"] * 6, [p.reason for p in pages]
