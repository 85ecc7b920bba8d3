"""Inputs read only in part are said, never used silently (review 3).

- an article page whose body was cut off: a note, and no validators or hash kept, so the next run fetches it whole;
- a sitemap or feed that is not well-formed XML: the entries before the error are used, and a note says so;
- an article with more than extract.MAX_CLAIMS claims: a note says the rest were not kept;
- audit --save: once the Wayback said stop this run, Save Page Now is not asked.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fake_wayback import FakeWayback
from pages import PAGE
from provenance import extract, sources
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.wayback import WaybackOptions
from raw_server import RawServer

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


# --------------------------------------------------------------------------- 1. an article page cut off


def _cut_story_server(raw, requests: list[bytes]) -> RawServer:
    """/story promises its whole page in Content-Length, sends half and closes; a conditional GET gets a 304."""
    holder: dict[str, str] = {}

    async def handler(conn) -> None:
        request = await conn.request()
        if request is None:
            return
        requests.append(request.raw)
        head = request.raw.lower()
        base = holder["base"]
        page = (f'<html><head><title>Story</title><link rel="canonical" href="{base}/story"></head><body><article>'
                f'<h1>Story</h1><p>A <a href="{base}/a">2019 study</a> found that costs rose by 12 percent in 2019 '
                f'across the region.</p><p>Officials <a href="{base}/b">said in a statement</a> that the program '
                f'would end next year.</p></article></body></html>').encode()
        if request.target == "/story" and (b"if-none-match" in head or b"if-modified-since" in head):
            await conn.send(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nConnection: close\r\n\r\n')
        elif request.target == "/story":
            await conn.send(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: "v1"\r\n'
                            b"Last-Modified: Wed, 10 Jan 2024 10:00:00 GMT\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(page) + page[:page.index(b"<p>Officials")])
        else:
            await conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    server = RawServer(handler, host="127.0.0.23")
    asyncio.run_coroutine_threadsafe(server.start(), raw.loop).result(10)
    raw.servers.append(server)
    holder["base"] = server.url("").rstrip("/")
    return server


def test_cut_article_page_is_noted_in_extract(raw):
    requests: list[bytes] = []
    server = _cut_story_server(raw, requests)
    proc = cli("extract", "--allow-private", "--ignore-robots", "--retries", "0", server.url("/story"))
    assert "read only in part" in proc.stderr and "1 claims from what arrived" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") <= 2  # one line, not a dump


def test_cut_article_page_keeps_no_validators_so_the_next_audit_fetches_it_whole(raw, tmp_path):
    requests: list[bytes] = []
    server = _cut_story_server(raw, requests)
    db = tmp_path / "p.db"
    args = ("audit", server.url("/story"), "--allow-private", "--ignore-robots", "--retries", "0", "--archives", "",
            "--wayback-url", server.url("/wb"), "--db", str(db), "--reports", str(tmp_path / "rep"), "--json")
    first = cli(*args)
    assert "read only in part" in first.stderr, first.stderr
    row = sqlite3.connect(db).execute("select etag, last_modified, body_sha256 from article_sources").fetchone()
    assert row == (None, None, None)
    second = cli(*args)
    run = json.loads(second.stdout)["run"]
    story = [r for r in requests if r.split(b" ")[1] == b"/story"]
    assert len(story) == 2
    assert b"if-none-match" not in story[1].lower() and b"if-modified-since" not in story[1].lower()
    assert run["articles_unchanged"] == 0 and run["articles_extracted"] == 1
    assert "read only in part" in second.stderr


# --------------------------------------------------------------------------- 2. a sitemap or feed that is not XML


def _stories(site, count: int) -> list[str]:
    return [site.page(f"/s{i}.html", f'<html><head><title>Story {i}</title></head><body><article><p>A '
                                     f'<a href="https://example.org/{i}">study</a> found costs rose by twelve '
                                     f'percent in the region last year.</p></article></body></html>')
            for i in range(1, count + 1)]


def test_sitemap_cut_mid_xml_is_noted_and_its_first_entries_used(sim):
    site = sim.site()
    urls = _stories(site, 3)
    xml = ('<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
           + "".join(f"<url><loc>{u}</loc></url>\n" for u in urls) + "</urlset>\n")
    cut_at = xml.index(urls[1]) + 10  # inside the second <loc>
    sitemap = site.page("/sitemap.xml", xml[:cut_at], content_type="application/xml")
    proc = cli("extract", "--allow-private", "--ignore-robots", "--sitemap", sitemap)
    assert "Story 1" in proc.stdout and "Story 2" not in proc.stdout, proc.stdout
    notes = [line for line in proc.stderr.splitlines() if "not well-formed XML" in line]
    assert len(notes) == 1 and "past entry 1" in notes[0] and "the entries before it are used" in notes[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_sitemap_not_xml_at_all_is_still_an_error(sim):
    site = sim.site()
    sitemap = site.page("/sitemap.xml", "<urlset><url><loc", content_type="application/xml")
    proc = cli("extract", "--allow-private", "--ignore-robots", "--sitemap", sitemap)
    assert proc.returncode == 2 and "not a sitemap (XML error" in proc.stderr, proc.stderr
    assert "not well-formed XML past" not in proc.stderr


def test_well_formed_sitemap_and_feed_have_no_note(sim):
    site = sim.site()
    urls = _stories(site, 2)
    xml = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>")
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
            + "".join(f"<item><link>{u}</link></item>" for u in urls) + "</channel></rss>")
    options = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5)
    listing = sources.list_articles([], [site.page("/s.xml", xml, content_type="application/xml")],
                                    [site.page("/f.xml", feed, content_type="application/rss+xml")], options,
                                    robots=sources.Robots(options, ignore=True))
    assert listing.notes == [] and listing.errors == []
    assert len(listing.entries) == 2


def test_feed_cut_mid_xml_is_noted(sim):
    site = sim.site()
    urls = _stories(site, 3)
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
            + "".join(f"<item><link>{u}</link></item>" for u in urls) + "</channel></rss>")
    feed = feed[:feed.index(urls[2]) - 8]  # cut inside the third item
    options = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5)
    listing = sources.list_articles([], [], [site.page("/feed.xml", feed, content_type="application/rss+xml")],
                                    options, robots=sources.Robots(options, ignore=True))
    assert [e.url for e in listing.entries][:2] == urls[:2]
    assert len(listing.notes) == 1 and "is not well-formed XML" in listing.notes[0], listing.notes
    assert listing.notes[0].startswith(f"feed {site.url('/feed.xml')}")


# --------------------------------------------------------------------------- 4. more claims than MAX_CLAIMS


def _big_article(path: Path, links: int) -> Path:
    lines = [f"- Claim number {i} cites [source {i}](https://example.org/page/{i})." for i in range(links)]
    path.write_text("---\ntitle: Big\ndate: 2024-01-01\n---\n# Big\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_more_claims_than_the_cap_are_noted_in_extract(tmp_path):
    big = _big_article(tmp_path / "big.md", extract.MAX_CLAIMS + 1500)
    proc = cli("extract", str(big), "--json")
    assert proc.returncode == 0, proc.stderr
    [got] = json.loads(proc.stdout)
    assert len(got["claims"]) == extract.MAX_CLAIMS
    notes = [line for line in proc.stderr.splitlines() if "MAX_CLAIMS" in line]
    assert len(notes) == 1 and f"only the first {extract.MAX_CLAIMS} kept" in notes[0], proc.stderr
    assert "big.md" in notes[0] and "1,500" in notes[0]


def test_an_article_under_the_cap_has_no_note(tmp_path):
    small = _big_article(tmp_path / "small.md", 20)
    proc = cli("extract", str(small))
    assert proc.returncode == 0 and "MAX_CLAIMS" not in proc.stderr, proc.stderr
    assert extract.extract_file(small).notes == []


def test_more_claims_than_the_cap_are_noted_in_audit(tmp_path):
    big = _big_article(tmp_path / "big.md", extract.MAX_CLAIMS + 10)
    said: list[str] = []
    options = AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports", write_reports=False,
                           check=CheckOptions(offline=True), wayback=WaybackOptions(base_url="http://127.0.0.1:9"))
    result = run_audit([big], options, log=said.append)
    assert sum(len(a["claims"]) for a in result.to_dict()["articles"]) == extract.MAX_CLAIMS
    assert [m for m in said if "MAX_CLAIMS" in m and m.startswith("note: ")], said


# --------------------------------------------------------------------------- 3. --save after the Wayback said stop


def _save_world(sim, tmp_path) -> tuple[FakeWayback, Path]:
    site = sim.site()
    cited = [site.page(f"/{name}", PAGE) for name in ("a", "b", "c")]
    fw = FakeWayback(sim)
    docs = tmp_path / "articles"
    docs.mkdir()
    body = "\n\n".join(f"The claim number {i} is cited [here]({u})." for i, u in enumerate(cited))
    (docs / "one.md").write_text(f"---\ntitle: One\ndate: 2024-06-01\n---\n\n# One\n\n{body}\n", encoding="utf-8")
    return fw, docs


def _save_options(tmp_path: Path, fw: FakeWayback) -> AuditOptions:
    return AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports", write_reports=False,
                        save=True,
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=3))


def _persistent_429(fw) -> None:
    fw.rate_limit("cdx", times=1000, retry_after="1")
    fw.rate_limit("available", times=1000, retry_after="1")


def _failing(fw) -> None:
    fw.fail("cdx", 503)
    fw.fail("available", 503)


@pytest.mark.parametrize("stop, said_why", [(_persistent_429, "429"), (_failing, "skipped the rest")],
                         ids=["persistent-429", "breaker"])
def test_save_page_now_not_asked_after_the_wayback_said_stop(sim, tmp_path, stop, said_why):
    fw, docs = _save_world(sim, tmp_path)
    try:
        stop(fw)
        said: list[str] = []
        run_audit([docs], _save_options(tmp_path, fw), log=said.append)
        assert fw.calls.cdx >= 1
        assert fw.calls.save == 0
        lines = [m for m in said if m.startswith("Save Page Now: not asked")]
        assert len(lines) == 1 and said_why in lines[0], said
    finally:
        fw.close()


def test_save_page_now_still_asked_when_the_wayback_answers(sim, tmp_path):
    fw, docs = _save_world(sim, tmp_path)
    try:
        said: list[str] = []
        run_audit([docs], _save_options(tmp_path, fw), log=said.append)
        assert fw.calls.save == 3
        assert not [m for m in said if "not asked" in m]
    finally:
        fw.close()
