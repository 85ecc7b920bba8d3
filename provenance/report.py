"""Markdown audit reports: one per article, an index, and what changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .audit import AuditResult


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "article"


def escape_md(text: str) -> str:
    return re.sub(r"([|\[\]\\*_`<>])", r"\\\1", " ".join((text or "").split()))


def write_reports(result: AuditResult, reports_dir: Path) -> list[Path]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    index_rows = []
    for article, crs in result.articles:
        slug = slugify(Path(article.path).stem)
        links = [cr for cr in crs if cr.claim.kind == "link"]
        ok = sum(1 for cr in links if cr.check and cr.check.verdict in ("ok", "redirect"))
        lines = [f"# {escape_md(article.title or article.path)}", "",
                 f"- Source file: `{article.path}`", f"- Published: {article.published or 'unknown'}",
                 f"- Authors: {', '.join(article.authors) or 'unknown'}",
                 f"- Canonical URL: {article.canonical_url or 'none'}", "",
                 f"**{ok} of {len(links)} cited links OK**", "", "| # | verdict | anchor | URL |", "|---|---|---|---|"]
        for cr in links:
            lines.append(f"| {cr.claim.position} | {cr.check.verdict if cr.check else 'unchecked'} | {escape_md(cr.claim.anchor or '')} | {escape_md(cr.claim.url or '')} |")
        path = reports_dir / f"{slug}.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
        index_rows.append(f"- [{escape_md(article.title or article.path)}]({slug}.md): {ok} of {len(links)} OK")
    index = reports_dir / "index.md"
    index.write_text("# provenance audit\n\n" + "\n".join(index_rows) + "\n", encoding="utf-8")
    written.append(index)
    return written


def render_from_db(db_path: Path, reports_dir: Path) -> list[Path]:
    """Rebuild the last run's view from the database and write the reports."""
    import json
    from collections import Counter

    from .audit import AuditResult, ClaimResult
    from .models import Article, CheckResult, Claim, Drift, Snapshot
    from .store import open_store

    db = open_store(db_path)
    runs = list(db.query("select * from runs order by id desc limit 1"))
    run = runs[0] if runs else {"id": 0, "started_at": "", "offline": 0}
    urls = {row["url"]: row for row in db["urls"].rows}
    snaps = {}
    for row in db["snapshots"].rows:
        snaps[(row["url"], row["date"])] = row
    combined = []
    verdicts: Counter = Counter()
    for arow in db.query("select * from articles where removed_at is null order by path"):
        article = Article(path=arow["path"], title=arow["title"], published=arow["published"],
                          authors=json.loads(arow["authors"] or "[]"), canonical_url=arow["canonical_url"])
        crs = []
        for c in db.query("select * from claims where article_id = ? order by position", [arow["id"]]):
            claim = Claim(kind=c["kind"], sentence=c["sentence"], position=c["position"], url=c["url"],
                          anchor=c["anchor"], source=c["source"], fragment=c["fragment"])
            cr = ClaimResult(claim)
            if claim.url and claim.url in urls:
                u = urls[claim.url]
                cr.check = CheckResult(url=claim.url, verdict=u["verdict"], status=u["status"], final_url=u["final_url"], reason=u["reason"] or "")
                verdicts[u["verdict"]] += 1
                s = snaps.get((claim.url, article.published or ""))
                if s:
                    cr.snapshot = Snapshot(url=claim.url, timestamp=s["timestamp"], snapshot_url=s["snapshot_url"], status=s["status"])
                cr.drift = Drift(None if c["drift"] is None else bool(c["drift"]))
            article.claims.append(claim)
            crs.append(cr)
        combined.append((article, crs))
    result = AuditResult(run["id"], run["started_at"], bool(run["offline"]), combined, [], verdicts)
    return write_reports(result, reports_dir)
