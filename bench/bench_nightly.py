"""Nightly re-run benchmark: is a run over an unchanged archive cheap, and are writes batched?

1. Generates ARTICLES Markdown articles with CLAIMS_PER_ARTICLE cited links each
   (URLS distinct URLs over HOSTS loopback simulator hosts, some dead, some
   archived in a fake Wayback), audits them once (the first run), then again
   at once (everything fresh). Reports both times and the requests the
   simulator and the fake Wayback received during the re-run (must be 0).
2. Stores STORE_CLAIMS claims (articles of 20 claims) with store.save_articles
   in batches, timing the writes.

Run:  .venv/bin/python bench/bench_nightly.py [--articles 1000] [--claims-per-article 20]
Numbers go in bench/nightly.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_wayback import Capture, FakeWayback, url_key  # noqa: E402
from simulator import SimWeb  # noqa: E402

from provenance import store  # noqa: E402
from provenance.audit import AuditOptions, run_audit  # noqa: E402
from provenance.check import CheckOptions  # noqa: E402
from provenance.models import Article, Claim  # noqa: E402
from provenance.wayback import WaybackOptions  # noqa: E402

ARTICLES = 1000
CLAIMS_PER_ARTICLE = 20
URLS = 10_000
HOSTS = 20
#: Every DEAD_EVERY-th URL answers 404; every ARCHIVED_EVERY-th has a Wayback capture.
DEAD_EVERY = 25
ARCHIVED_EVERY = 5
STORE_CLAIMS = 100_000
STORE_BATCH = 200  # articles per transaction
SEED = 7

BODY = ("<html><head><title>Source {n}</title></head><body><article><p>Source page number {n} reports that the "
        "regional council approved the harbour budget of {n} thousand euros after a long debate.</p><p>Officials from "
        "several councils attended the session, which covered maintenance schedules, staffing levels, procurement "
        "rules and the timetable for public hearings in the spring.</p></article></body></html>")


class IndexedWayback(FakeWayback):
    """The test fake with a dict index, so 20,000 lookups do not scan every capture."""

    def __init__(self, sim: SimWeb) -> None:
        super().__init__(sim)
        self.index: dict[str, list[Capture]] = {}

    def add(self, url, timestamp, status=200, body=None, mimetype="text/html"):
        capture = super().add(url, timestamp, status, body, mimetype)
        self.index.setdefault(url_key(url), []).append(capture)
        return capture

    def _for(self, url):
        return sorted(self.index.get(url_key(url), []), key=lambda c: c.timestamp)


def build(sim: SimWeb, docs: Path, articles: int, per_article: int, n_urls: int) -> IndexedWayback:
    rng = random.Random(SEED)
    sites = [sim.site() for _ in range(HOSTS)]
    fw = IndexedWayback(sim)
    urls = []
    for n in range(n_urls):
        site = sites[n % HOSTS]
        body = BODY.format(n=n)
        url = site.page(f"/source/{n}", body, status=404 if n % DEAD_EVERY == 0 else 200)
        if n % ARCHIVED_EVERY == 0:
            fw.add(url, "20240101000000", body=body)
        urls.append(url)
    for i in range(articles):
        picks = rng.sample(range(n_urls), per_article)
        lines = [f"Article {i} says the council approved the budget of {n} thousand euros, "
                 f"[according to the minutes]({urls[n]})." for n in picks]
        month, day = 1 + i % 12, 1 + i % 28
        (docs / f"article-{i:05d}.md").write_text(
            f"---\ntitle: Article {i}\ndate: 2024-{month:02d}-{day:02d}\n---\n\n" + "\n\n".join(lines) + "\n",
            encoding="utf-8")
    return fw


def requests(sim: SimWeb) -> int:
    return sum(site.stats.requests for site in sim.sites)


def audit_options(work: Path, fw: FakeWayback) -> AuditOptions:
    return AuditOptions(db_path=work / "db" / "provenance.db", reports_dir=work / "reports",
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, host_concurrency=8,
                                           concurrency=64, timeout=20, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, concurrency=8, timeout=20,
                                               deadline=1800))


def bench_runs(articles: int, per_article: int, n_urls: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    docs = work / "articles"
    docs.mkdir()
    try:
        with SimWeb() as sim:
            fw = build(sim, docs, articles, per_article, n_urls)
            before = requests(sim)
            started = time.perf_counter()
            first = run_audit([docs], audit_options(work, fw))
            first_s = time.perf_counter() - started
            first_requests = requests(sim) - before
            before = requests(sim)
            started = time.perf_counter()
            second = run_audit([docs], audit_options(work, fw))
            second_s = time.perf_counter() - started
            second_requests = requests(sim) - before
            fw.close()
        one, two = first.to_dict()["run"], second.to_dict()["run"]
        same = ([c.get("verdict") for a in first.to_dict()["articles"] for c in a["claims"]]
                == [c.get("verdict") for a in second.to_dict()["articles"] for c in a["claims"]])
        db_bytes = (work / "db" / "provenance.db").stat().st_size
        return {"articles": one["articles"], "claims": one["claims"], "urls": one["urls"],
                "first_run_s": round(first_s, 2), "first_run_requests": first_requests,
                "first_urls_checked": one["urls_checked"], "first_snapshot_lookups": one["snapshot_lookups"],
                "rerun_s": round(second_s, 2), "rerun_requests": second_requests,
                "rerun_urls_checked": two["urls_checked"], "rerun_snapshot_lookups": two["snapshot_lookups"],
                "rerun_articles_extracted": two["articles_extracted"],
                "rerun_share": round(second_s / first_s, 4), "same_verdicts": same, "verdicts": one["verdicts"],
                "db_mb": round(db_bytes / 1e6, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_store(total_claims: int, per_article: int = 20) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        db = store.open_store(work / "p.db")
        articles = []
        for i in range(total_claims // per_article):
            claims = [Claim(kind="link", position=j, url=f"https://host{(i * per_article + j) % 500}.example/p/{i}/{j}",
                            anchor="source", sentence=f"Article {i} claim {j}: the council approved a budget of {j} "
                                                      f"thousand euros after a long debate.")
                      for j in range(per_article)]
            path = f"articles/a{i:06d}.md"
            articles.append((Article(path=path, title=f"Article {i}", published="2024-01-01", claims=claims),
                             hashlib.sha256(path.encode()).hexdigest()))
        started = time.perf_counter()
        for start in range(0, len(articles), STORE_BATCH):
            store.save_articles(db, articles[start:start + STORE_BATCH])
        seconds = time.perf_counter() - started
        count = db.execute("select count(*) from claims").fetchone()[0]
        fts = db.execute("select count(*) from claims_fts where claims_fts match 'council'").fetchone()[0]
        db.close()
        return {"claims_stored": count, "store_s": round(seconds, 2), "claims_per_s": int(count / seconds),
                "fts_hits": fts}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--claims-per-article", type=int, default=CLAIMS_PER_ARTICLE)
    parser.add_argument("--urls", type=int, default=URLS)
    parser.add_argument("--store-claims", type=int, default=STORE_CLAIMS)
    args = parser.parse_args()
    result = bench_runs(args.articles, args.claims_per_article, args.urls)
    result.update(bench_store(args.store_claims))
    print(json.dumps(result, indent=2))
    ok = result["rerun_requests"] == 0 and result["rerun_share"] < 0.10 and result["same_verdicts"]
    print("PASS" if ok else "FAIL", "(re-run < 10% of the first run, no requests, same verdicts)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
