"""`extract` of article URLs, sitemaps and feeds: the politeness and quiet flags the other network commands
take, and a list cut short by the timeout said out loud (the entries before the cut are still used)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ("<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>The council said in its report that the <a href=\"{cited}\">flood barrier "
           "budget</a> had doubled since the first estimate was published.</p></article></body></html>")


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def _slow_articles(site, count: int, delay: float) -> list[str]:
    """Articles that take ``delay`` seconds to answer, so requests that may overlap do."""
    urls = []
    for i in range(count):
        body = ARTICLE.format(cited="https://example.org/budget", title=f"Story {i}")

        async def handler(_request: web.Request, body: str = body) -> web.StreamResponse:
            await asyncio.sleep(delay)
            return web.Response(text=body, content_type="text/html")

        urls.append(site.route(f"/articles/s{i}", handler))
    return urls


def test_extract_takes_host_concurrency_and_host_interval(sim):
    site = sim.site()
    urls = _slow_articles(site, 4, 0.4)
    proc = cli("extract", *urls, "--json", "--allow-private", "--retries", "0",
               "--host-concurrency", "1", "--host-interval", "0")
    assert proc.returncode == 0, proc.stderr
    assert [a["title"] for a in json.loads(proc.stdout)] == [f"Story {i}" for i in range(4)]
    assert site.stats.peak == 1                      # one at a time, as asked
    other = sim.site()
    urls = _slow_articles(other, 4, 0.4)
    proc = cli("extract", *urls, "--json", "--allow-private", "--retries", "0",
               "--host-concurrency", "4", "--host-interval", "0")
    assert proc.returncode == 0, proc.stderr
    assert other.stats.peak > 1                      # the same pages overlap when allowed


def test_extract_quiet_keeps_stderr_for_errors_only(sim):
    site = sim.site()
    empty = site.page("/articles/empty", "<html><head><title>Nothing</title></head><body><p>No links here at all, "
                                         "just a sentence or two of prose.</p></body></html>")
    loud = cli("extract", empty, "--allow-private", "--retries", "0")
    assert loud.returncode == 0, loud.stderr
    assert "note:" in loud.stderr                    # 0 claims is noted ...
    quiet = cli("extract", empty, "--allow-private", "--retries", "0", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip() == ""                # ... and --quiet silences it
    assert "Nothing" in quiet.stdout
    gone = cli("extract", site.url("/articles/missing"), "--allow-private", "--retries", "0", "--quiet")
    assert gone.returncode == 2 and "skipped:" in gone.stderr  # errors still speak


def test_the_new_extract_options_are_config_keys(tmp_path):
    (tmp_path / "provenance.toml").write_text("[extract]\nhost-interval = 1.5\nhost-concurrency = 2\nquiet = true\n",
                                              encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "provenance", "config", "extract", "--json"], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = {s["key"]: s for s in json.loads(proc.stdout)["settings"]}
    assert got["host-interval"]["value"] == 1.5 and got["host-concurrency"]["value"] == 2
    assert got["quiet"]["value"] is True and "config file" in got["quiet"]["source"]


def _stalling_sitemap(site, entries: list[str], stall: float) -> str:
    """A sitemap whose body stops halfway (after ``entries``) and stalls for ``stall`` seconds."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        head = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        await response.write(head.encode() + "".join(f"<url><loc>{u}</loc></url>\n" for u in entries).encode())
        try:
            await asyncio.sleep(stall)   # bounded: the client gives up long before
            await response.write(b"<url><loc>" + site.url("/articles/late").encode() + b"</loc></url></urlset>\n")
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    return site.route("/sitemap.xml", handler)


def test_a_sitemap_cut_short_by_the_timeout_is_noted_and_its_entries_used(sim, tmp_path):
    from fake_wayback import FakeWayback

    site = sim.site()
    cited = site.page("/budget")
    urls = [site.page(f"/articles/a{i}", ARTICLE.format(cited=cited, title=f"Early {i}")) for i in range(2)]
    sitemap = _stalling_sitemap(site, urls, stall=8.0)
    proc = cli("extract", "--sitemap", sitemap, "--json", "--allow-private", "--retries", "0", "--timeout", "1.5")
    assert proc.returncode == 0, proc.stderr
    assert sorted(a["title"] for a in json.loads(proc.stdout)) == ["Early 0", "Early 1"]  # the partial list is kept
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note: sitemap")]
    assert len(notes) == 1, proc.stderr
    assert sitemap in notes[0] and "read only in part" in notes[0] and "cut off" in notes[0]
    assert "/articles/late" not in proc.stdout
    fw = FakeWayback(sim)
    try:  # the audit reads lists the same way and says so too
        proc = cli("audit", "--sitemap", sitemap, "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
                   "--allow-private", "--retries", "0", "--timeout", "1.5", "--wayback-url", fw.base_url,
                   "--archives", "")
    finally:
        fw.close()
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith(f"note: sitemap {sitemap} read only in part") for line in proc.stderr.splitlines()), \
        proc.stderr


def test_a_feed_cut_short_is_noted(sim):
    site = sim.site()
    url = site.page("/articles/f0", ARTICLE.format(cited="https://example.org/budget", title="Fed"))

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
                             f"<item><title>Fed</title><link>{url}</link></item>".encode())
        try:
            await asyncio.sleep(8.0)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    feed = site.route("/feed.xml", handler)
    proc = cli("extract", "--feed", feed, "--json", "--allow-private", "--retries", "0", "--timeout", "1.5")
    assert proc.returncode == 0, proc.stderr
    assert [a["title"] for a in json.loads(proc.stdout)] == ["Fed"]
    assert any(line.startswith(f"note: feed {feed} read only in part") for line in proc.stderr.splitlines()), \
        proc.stderr


def test_a_sitemap_over_its_byte_cap_is_noted(sim, monkeypatch):
    from provenance import sources
    from provenance.check import CheckOptions

    site = sim.site()
    urls = [site.url(f"/articles/c{i}") for i in range(200)]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"<url><loc>{u}</loc></url>\n" for u in urls) + "</urlset>\n")
    sitemap = site.page("/sitemap.xml", body)
    monkeypatch.setattr(sources, "MAX_SITEMAP_BYTES", 4096)  # the real cap is 50 MB
    options = CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False)
    listing = sources.list_articles([], [sitemap], [], options)
    assert 0 < len(listing.entries) < len(urls)       # the entries before the cut are used
    assert [e.url for e in listing.entries] == urls[:len(listing.entries)]
    assert len(listing.notes) == 1 and "read only in part" in listing.notes[0] and "4096" in listing.notes[0]
