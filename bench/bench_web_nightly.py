"""Nightly audit of a live site (issue 16): the first night vs a night when nothing changed.

A loopback newsroom serves ARTICLES articles listed by a gzipped sitemap behind a
sitemap index and robots.txt; every article has ETag / Last-Modified and cites
LINKS pages on other loopback hosts. The audit runs once (everything fetched,
extracted and checked), then again two hours later (within --recheck-after):
articles must answer 304 and no cited page may be asked again. Reports wall
time, peak memory of the sitemap parse, and the requests each night made.

Run:  .venv/bin/python bench/bench_web_nightly.py [--articles 500] [--links 5]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from aiohttp import web  # noqa: E402
from fake_wayback import FakeWayback  # noqa: E402
from simulator import SimWeb  # noqa: E402

from provenance import sources  # noqa: E402
from provenance.audit import AuditOptions, run_audit  # noqa: E402
from provenance.check import CheckOptions  # noqa: E402
from provenance.wayback import WaybackOptions  # noqa: E402

ETAG = '"v1"'


def article(base: str, n: int, cited: list[str]) -> bytes:
    paras = "".join(f"<p>Report {n}.{i} says the harbour council <a href=\"{u}\">approved the budget</a> of {n} "
                    f"thousand euros after a long debate about maintenance and staffing.</p>"
                    for i, u in enumerate(cited))
    return (f"<!doctype html><html><head><title>Story {n}</title><link rel=canonical href=\"{base}/a/{n}\">"
            f"<meta property=\"article:published_time\" content=\"2025-01-{1 + n % 28:02d}\"></head><body><article>"
            f"<h1>Story {n}</h1>{paras}</article></body></html>").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--links", type=int, default=5)
    args = parser.parse_args()

    # The parse of a 50,000-URL sitemap alone: entries per second and peak Python memory.
    big = gzip.compress(("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">" + "".join(
        f"<url><loc>https://news.example/a/{i}</loc><lastmod>2025-01-01</lastmod></url>" for i in range(50_000))
        + "</urlset>").encode())
    tracemalloc.start()
    started = time.perf_counter()
    count = sum(1 for _ in sources.iter_sitemap(big))
    parse_s = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"sitemap of {count} URLs ({len(big)} bytes gzipped): parsed in {parse_s:.2f} s, "
          f"peak traced memory {peak / 1e6:.1f} MB (the decompressed XML is {len(gzip.decompress(big)) / 1e6:.1f} MB)")

    with SimWeb() as sim, tempfile.TemporaryDirectory() as tmp:
        site = sim.site()
        hosts = [sim.site() for _ in range(5)]
        cited = [h.page(f"/s/{i}", "<html><title>s</title><body><p>source page</p></body></html>")
                 for i, h in enumerate(hosts * (args.articles * args.links // 5 // 3 + 1))][:args.articles * args.links // 3]
        not_modified = 0

        def validated(body: bytes):
            async def handler(request: web.Request) -> web.StreamResponse:
                nonlocal not_modified
                if request.headers.get("If-None-Match") == ETAG:
                    not_modified += 1
                    return web.Response(status=304, headers={"ETag": ETAG})
                return web.Response(body=body, content_type="text/html", headers={"ETag": ETAG})
            return handler

        locs = []
        for n in range(args.articles):
            links = [cited[(n * args.links + i) % len(cited)] for i in range(args.links)]
            site.route(f"/a/{n}", validated(article(site.base_url, n, links)))
            locs.append(f"<url><loc>{site.base_url}/a/{n}</loc><lastmod>2025-01-01</lastmod></url>")
        site.page("/robots.txt", f"User-agent: *\nSitemap: {site.base_url}/index.xml\n", content_type="text/plain")
        site.page("/index.xml", f"<sitemapindex><sitemap><loc>{site.base_url}/s.xml.gz</loc></sitemap></sitemapindex>",
                  content_type="application/xml")
        site.page("/s.xml.gz", gzip.compress(("<urlset>" + "".join(locs) + "</urlset>").encode()),
                  content_type="application/x-gzip")
        fw = FakeWayback(sim)
        clock = [datetime(2026, 1, 1, 2, tzinfo=timezone.utc)]
        opts = AuditOptions(db_path=Path(tmp) / "p.db", reports_dir=Path(tmp) / "r", sitemaps=[site.base_url + "/"],
                            check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, host_concurrency=8,
                                               timeout=10, offline=False),
                            wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5),
                            clock=lambda: clock[0], snapshot_budget=0.0)
        for night in ("first", "second"):
            before_site, before_cited = site.stats.requests, sum(h.stats.requests for h in hosts)
            started = time.perf_counter()
            full = run_audit([], opts)
            result = full.to_dict()["run"]
            if full.errors:
                print("  errors:", full.errors[:3])
            wall = time.perf_counter() - started
            print(f"{night} night: {result['articles']} articles, {wall:.2f} s wall; site requests "
                  f"{site.stats.requests - before_site}, cited-page requests "
                  f"{sum(h.stats.requests for h in hosts) - before_cited}; extracted {result['articles_extracted']}, "
                  f"unchanged {result.get('web_articles_unchanged', 0)}; 304s so far {not_modified}")
            clock[0] += timedelta(hours=2)
        fw.close()
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
