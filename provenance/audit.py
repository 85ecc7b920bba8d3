"""Orchestrates a run: ingest -> extract -> check -> archive -> support -> store -> report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import check, report, store, support, wayback
from .extract import extract_file
from .ingest import InputError, collect_paths
from .models import Article, CheckResult, Claim, Drift, Snapshot

DEFAULT_DB = Path("db/provenance.db")
DEFAULT_REPORTS = Path("reports")
DEFAULT_INPUT = Path("seeds")

#: progress(stage, done, total); stages: extract, check, snapshot, support, report
Progress = Callable[[str, int, int], None]


@dataclass
class AuditOptions:
    db_path: Path = DEFAULT_DB
    reports_dir: Path = DEFAULT_REPORTS
    check: check.CheckOptions = field(default_factory=check.CheckOptions)
    wayback: wayback.WaybackOptions = field(default_factory=wayback.WaybackOptions)
    recheck_after: str | None = None
    force: bool = False
    save: bool = False
    write_reports: bool = True


@dataclass
class ClaimResult:
    claim: Claim
    check: CheckResult | None = None
    snapshot: Snapshot | None = None
    drift: Drift | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.claim.to_dict()
        if self.claim.kind == "link":
            data.update({
                "verdict": self.check.verdict if self.check else "unchecked",
                "status": self.check.status if self.check else None,
                "final_url": self.check.final_url if self.check else None,
                "reason": self.check.reason if self.check else "",
                "snapshot": ({"timestamp": self.snapshot.timestamp, "snapshot_url": self.snapshot.snapshot_url}
                             if self.snapshot and self.snapshot.timestamp else None),
                "drift": self.drift.drift if self.drift else None,
            })
        return data


@dataclass
class AuditResult:
    run_id: int
    started_at: str
    offline: bool
    articles: list[tuple[Article, list[ClaimResult]]]
    errors: list[str]
    verdicts: Counter

    def to_dict(self) -> dict[str, Any]:
        urls = {cr.claim.url for _a, crs in self.articles for cr in crs if cr.claim.url}
        return {
            "run": {"id": self.run_id, "started_at": self.started_at, "offline": self.offline,
                    "articles": len(self.articles), "claims": sum(len(crs) for _a, crs in self.articles),
                    "urls": len(urls), "verdicts": dict(self.verdicts), "errors": self.errors},
            "articles": [{**{k: v for k, v in a.to_dict().items() if k != "claims"},
                          "claims": [cr.to_dict() for cr in crs]} for a, crs in self.articles],
        }

    def has_verdicts(self, verdicts: set[str]) -> bool:
        return any(cr.check and cr.check.verdict in verdicts for _a, crs in self.articles for cr in crs)


def run_audit(paths: list[Path], options: AuditOptions, progress: Progress | None = None,
              log: Callable[[str], None] | None = None) -> AuditResult:
    """The whole job. Raises InputError / store.StoreError for problems the user must fix."""
    tell = progress or (lambda stage, done, total: None)
    say = log or (lambda message: None)
    files = collect_paths(paths)
    db = store.open_store(options.db_path)
    articles: list[Article] = []
    errors: list[str] = []
    for index, path in enumerate(files, 1):
        try:
            articles.append(extract_file(path))
        except InputError as exc:
            errors.append(str(exc))
            say(f"skipped: {exc}")
        tell("extract", index, len(files))
    offline = options.check.offline if options.check.offline is not None else not check.network_available()
    if offline:
        say("offline: no DNS name resolves; links that need the network are marked 'unchecked', never 'dead'")
    options.check.offline = offline
    run_id = store.start_run(db, {"paths": [str(p) for p in paths], "force": options.force}, offline)
    started_at = db["runs"].get(run_id)["started_at"]
    for article in articles:
        store.save_article(db, article)
    urls = list(dict.fromkeys(c.url for a in articles for c in a.claims if c.kind == "link" and c.url))
    done = 0

    def on_result(_result: CheckResult) -> None:
        nonlocal done
        done += 1
        tell("check", done, len(urls))

    results = {r.url: r for r in check.check_urls(urls, options.check, on_result)} if urls else {}
    store.save_checks(db, run_id, results.values())
    wanted = list(dict.fromkeys((c.url, a.published) for a in articles for c in a.claims if c.kind == "link" and c.url))
    snapshots: dict[tuple[str, str | None], Snapshot] = {}
    if wanted and not offline:
        snapshots = wayback.find_snapshots(wanted, options.wayback)
    elif wanted:
        snapshots = {key: Snapshot(url=key[0], reason="offline") for key in wanted}
    tell("snapshot", len(wanted), len(wanted))
    for (url, date), snap in snapshots.items():
        store.save_snapshot(db, snap, date)
    combined: list[tuple[Article, list[ClaimResult]]] = []
    verdicts: Counter = Counter()
    for article in articles:
        crs = []
        for claim in article.claims:
            cr = ClaimResult(claim)
            if claim.kind == "link" and claim.url:
                cr.check = results.get(claim.url)
                cr.snapshot = snapshots.get((claim.url, article.published))
                live = cr.check.body if cr.check and cr.check.verdict in ("ok", "redirect") else None
                snap_html = wayback.fetch_snapshot_html(cr.snapshot, options.wayback) if (live and cr.snapshot and cr.snapshot.timestamp) else None
                cr.drift = support.judge_drift(claim, live, snap_html)
                if cr.check:
                    verdicts[cr.check.verdict] += 1
            crs.append(cr)
        combined.append((article, crs))
    store.finish_run(db, run_id, len(articles), sum(len(a.claims) for a in articles), len(urls), dict(verdicts))
    result = AuditResult(run_id, started_at, offline, combined, errors, verdicts)
    if options.write_reports:
        report.write_reports(result, options.reports_dir)
        tell("report", len(articles), len(articles))
    return result
