"""Orchestrates a run: ingest -> extract -> check -> archive -> support -> store -> report.

A nightly job over a growing archive must be cheap when little changed and
must never lose its history, so a run is incremental and crash-safe:

- an article whose file bytes are unchanged (sha256) is not re-extracted;
- a URL checked more recently than ``--recheck-after`` is not fetched again
  (working links after a day, failing ones sooner); ``--force`` re-checks all;
- Wayback lookups are cached in the database per (url, article date);
- work is committed in batches (articles, snapshot lookups, checks with their
  drift judgements), each batch one transaction, so a run killed at any point
  leaves a consistent database and the next run only does what is left;
- one audit per database at a time (an OS lock; a second one waits briefly,
  then fails with a one-line message).

Reports are rendered from the database afterwards (:func:`report.render_reports`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import __version__, check, memento, report, store, support, wayback
from .defaults import DEFAULT_DB, DEFAULT_REPORTS
from .extract import extract_file
from .filters import LinkFilter, is_left_out, left_out_results
from .ingest import InputError, InputScan, display_path, read_bytes, scan_inputs
from .models import VERDICTS, Article, CheckResult, Claim, Drift, Snapshot, iso_z, utc_now
from .store import GOOD_VERDICTS, RotPolicy
from .urls import host_of, is_ip_literal

#: Re-check a working link after this long.
RECHECK_WORKING = timedelta(days=1)
#: Re-check a failing (or inconclusive) link sooner: rot needs several looks.
RECHECK_FAILING = timedelta(hours=6)
#: Ask the Wayback again for a (url, date) it had no good capture of after this long.
#: Articles extracted per transaction.
ARTICLE_BATCH = 200
#: Verdicts of links that are gone: the snapshot is suggested in their place (Robust Links), so it is
#: replayed once to be sure it is a good copy. (A blocked page is there; its snapshot is only an aid.)
SUGGESTED_VERDICTS = frozenset({"dead", "soft404"})
#: URLs checked per batch; each batch's checks and drift are one transaction.
CHECK_BATCH = 500
#: (url, date) Wayback lookups per batch, saved as one transaction.
SNAPSHOT_BATCH = 500
#: Seconds of Wayback lookups per run; at the public Archive's pace that is about 1,400 lookups.
SNAPSHOT_BUDGET = 3600.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: Environment variable naming the hosts resolved to tell "no network" from "this domain is gone"
#: (comma-separated); e.g. PROVENANCE_PROBE_HOSTS=probe.invalid forces offline detection in tests.
PROBE_HOSTS_ENV = "PROVENANCE_PROBE_HOSTS"

#: progress(stage, done, total); stages: extract, snapshot, check, report
Progress = Callable[[str, int, int], None]


def parse_duration(text: str) -> timedelta:
    """"1d", "12h", "30m", "45s", "2w", "1d12h", or "0": a timedelta; InputError otherwise."""
    raw = text.strip().lower()
    if raw in ("0", "0s"):
        return timedelta(0)
    parts = _DURATION.findall(raw)
    if not parts or _DURATION.sub("", raw).strip():
        raise InputError(f"bad duration {text!r}: use e.g. 1d, 12h, 30m or 1d12h")
    try:
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    except OverflowError:
        raise InputError(f"duration {text!r} is too long (at most {timedelta.max.days} days)") from None


def parse_recheck(text: str | None) -> tuple[timedelta, timedelta]:
    """``--recheck-after``: "1d" (working; failing ones use the smaller of it and 6h) or "1d,6h"."""
    if not text:
        return RECHECK_WORKING, RECHECK_FAILING
    working, _, failing = text.partition(",")
    good = parse_duration(working)
    bad = parse_duration(failing) if failing.strip() else min(good, RECHECK_FAILING)
    return good, bad


@dataclass
class AuditOptions:
    db_path: Path = DEFAULT_DB
    reports_dir: Path = DEFAULT_REPORTS
    check: check.CheckOptions = field(default_factory=check.CheckOptions)
    wayback: wayback.WaybackOptions = field(default_factory=wayback.WaybackOptions)
    #: Other web archives (Memento TimeMaps), asked when the Wayback has no good capture on or before the date.
    memento: memento.MementoOptions = field(default_factory=memento.MementoOptions)
    #: "1d" or "1d,6h" (working, failing); None: the defaults above.
    recheck_after: str | None = None
    #: Re-extract every article and re-check every URL now.
    force: bool = False
    save: bool = False
    write_reports: bool = True
    rot: RotPolicy = field(default_factory=RotPolicy)
    #: Seconds a second audit on the same database waits for the first.
    lock_wait: float = store.LOCK_WAIT
    #: The run's notion of "now" (tests inject a simulated clock).
    clock: Callable[[], datetime] = utc_now
    article_batch: int = ARTICLE_BATCH
    check_batch: int = CHECK_BATCH
    snapshot_batch: int = SNAPSHOT_BATCH
    #: Seconds the Wayback lookups of one run may take (None: no limit); the rest wait for the next run.
    snapshot_budget: float | None = SNAPSHOT_BUDGET
    #: Names resolved to decide whether the machine is offline; None: $PROVENANCE_PROBE_HOSTS, else check.PROBE_HOSTS.
    probe_hosts: tuple[str, ...] | None = None
    #: --include / --exclude: links left out are recorded 'unchecked' with the pattern, never requested.
    links: LinkFilter = field(default_factory=LinkFilter)
    #: Articles on the web (issue 16): article URLs, sitemaps (or a site's root) and RSS/Atom feeds.
    urls: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    #: YYYY-MM-DD: listed articles dated (lastmod / published) before it are left out.
    since: str | None = None
    #: Most web articles one run takes.
    limit: int | None = None
    #: Fetch articles that robots.txt disallows (one's own site).
    ignore_robots: bool = False

    @property
    def web(self) -> bool:
        """True when articles come from the web: then seeds/ is not the default input."""
        return bool(self.urls or self.sitemaps or self.feeds)


def probe_hosts(options: AuditOptions) -> tuple[str, ...]:
    """The offline probe names: the option, else $PROVENANCE_PROBE_HOSTS (comma-separated), else the defaults."""
    if options.probe_hosts:
        return tuple(options.probe_hosts)
    names = tuple(n.strip() for n in os.environ.get(PROBE_HOSTS_ENV, "").split(",") if n.strip())
    return names or check.PROBE_HOSTS


@dataclass
class ClaimResult:
    claim: Claim
    check: CheckResult | None = None
    snapshot: Snapshot | None = None
    drift: Drift | None = None
    #: "failing (n of 3)" / "confirmed dead" / None, from the URL's history.
    rot: str | None = None
    #: True when the verdict comes from this run's check, False when it is the stored one.
    checked_now: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = self.claim.to_dict()
        if self.claim.kind == "link":
            data.update({
                "verdict": self.check.verdict if self.check else "unchecked",
                "status": self.check.status if self.check else None,
                "final_url": self.check.final_url if self.check else None,
                "reason": self.check.reason if self.check else "",
                "checked_at": self.check.checked_at if self.check else None,
                "rot": self.rot,
                "snapshot": ({"timestamp": self.snapshot.timestamp, "snapshot_url": self.snapshot.snapshot_url,
                              "archive": self.snapshot.archive}
                             if self.snapshot and self.snapshot.timestamp else None),
                "drift": self.drift.drift if self.drift else None,
            })
            if self.drift is not None and self.drift.evidence is not None:
                data["evidence"] = self.drift.evidence
        return data


@dataclass
class AuditResult:
    run_id: int
    started_at: str
    offline: bool
    articles: list[tuple[Article, list[ClaimResult]]]
    errors: list[str]
    verdicts: Counter
    #: What the run did: urls_checked, urls_fresh, snapshot_lookups, articles_extracted, ...
    stats: dict[str, int] = field(default_factory=dict)
    #: The folder the Markdown reports were written to, None when none were (not asked, or writing failed).
    reports_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        urls = {cr.claim.url for _a, crs in self.articles for cr in crs if cr.claim.url and cr.claim.kind == "link"}
        return {
            "run": {"id": self.run_id, "started_at": self.started_at, "offline": self.offline,
                    "articles": len(self.articles), "claims": sum(len(crs) for _a, crs in self.articles),
                    "urls": len(urls), "verdicts": dict(self.verdicts), "url_verdicts": dict(self.url_verdicts()),
                    "errors": self.errors, **self.stats},
            "articles": [{**{k: v for k, v in a.to_dict().items() if k != "claims"},
                          "claims": [cr.to_dict() for cr in crs]} for a, crs in self.articles],
        }

    def url_verdicts(self) -> Counter:
        """Verdicts per cited URL (``verdicts`` counts link claims: a URL cited twice counts there twice)."""
        per_url: dict[str, str] = {}
        for _a, crs in self.articles:
            for cr in crs:
                if cr.claim.kind == "link" and cr.claim.url:
                    per_url.setdefault(cr.claim.url, cr.check.verdict if cr.check else "unchecked")
        counts = Counter(per_url.values())
        return Counter({v: counts[v] for v in VERDICTS if counts.get(v)})

    def not_checked(self) -> Counter:
        """Why URLs this run set out to check could not be (offline, address policy): reason -> URLs.

        Links --exclude/--include left out are not counted: nobody meant to check them.
        """
        why: dict[str, str] = {}
        for _a, crs in self.articles:
            for cr in crs:
                c = cr.check
                if cr.checked_now and c is not None and c.verdict == "unchecked" and not is_left_out(c.reason):
                    why[c.url] = report.reason_group(c.reason)
        return Counter(why.values())

    def has_verdicts(self, verdicts: set[str]) -> bool:
        """Does a link claim have one of these verdicts? Links the user left out (--exclude) never count."""
        return any(cr.claim.kind == "link" and not _left_out(cr.check)
                   and (cr.check.verdict if cr.check else "unchecked") in verdicts
                   for _a, crs in self.articles for cr in crs)


def _left_out(result: CheckResult | None) -> bool:
    """A link the user left out (--exclude / --include): no verdict or old drift speaks for it."""
    return result is not None and result.verdict == "unchecked" and is_left_out(result.reason)


def run_audit(paths: list[Path], options: AuditOptions, progress: Progress | None = None,
              log: Callable[[str], None] | None = None) -> AuditResult:
    """The whole job. Raises InputError / store.StoreError for problems the user must fix."""
    db_path = Path(options.db_path)
    # Never audit our own output: reports and the database folder inside an input folder are skipped.
    exclude = [db_path.parent] + ([Path(options.reports_dir)] if options.write_reports else [])
    scan = scan_inputs(paths, exclude)
    if options.write_reports:
        check_reports_dir(Path(options.reports_dir), scan)
    intervals = parse_recheck(options.recheck_after)
    with store.audit_lock(db_path, options.lock_wait):
        db = store.open_store(db_path)
        try:
            return _Run(db, scan, options, intervals, progress, log).go()
        except sqlite3.DatabaseError as exc:  # disk full, I/O error: what was committed stays consistent
            raise store.StoreError(f"database error in {db_path}: {exc}") from exc
        finally:
            store.close_store(db)


class _Run:
    """One audit run's state; each stage commits its own batches."""

    def __init__(self, db, scan: InputScan, options: AuditOptions, intervals: tuple[timedelta, timedelta],
                 progress: Progress | None, log: Callable[[str], None] | None) -> None:
        self.db = db
        self.scan = scan
        self.files = scan.files
        self.options = options
        self.recheck_working, self.recheck_failing = intervals
        self.tell = progress or (lambda stage, done, total: None)
        self.say = log or (lambda message: None)
        self.errors: list[str] = []
        self.stats: Counter = Counter()
        self.results: dict[str, CheckResult] = {}
        self.offline = False
        self.snaps: dict[tuple[str, str], dict[str, Any]] = {}
        #: Why the Wayback said stop this run (a persistent 429, the breaker): nothing more is asked of it.
        self.wayback_stop: str | None = None

    def now(self) -> datetime:
        return self.options.clock()

    def go(self) -> AuditResult:
        o = self.options
        started = self.now()
        web = {k: v for k, v in (("urls", o.urls[:1000]), ("sitemaps", o.sitemaps), ("feeds", o.feeds),
                                 ("since", o.since), ("limit", o.limit)) if v}
        self.run_id = store.start_run(self.db, {"paths": [str(p) for p in self.files][:1000], **web, "force": o.force,
                                                "recheck_after": o.recheck_after, "rot_checks": o.rot.checks,
                                                "rot_gap_days": o.rot.gap.total_seconds() / 86400}, False, started)
        store.set_meta(self.db, {"rot_checks": o.rot.checks, "rot_gap_days": o.rot.gap.total_seconds() / 86400})
        present = self.ingest()
        links = self.active_links()
        urls = list(dict.fromkeys(url for _cid, url, _date in links))
        wanted, left_out = o.links.split(urls)
        due = self.due_urls(wanted)
        lookups = [pair for pair in self.due_lookups(links) if pair[0] not in left_out]
        self.stats["urls_excluded"] = len(left_out)
        self.stats["urls_fresh"] = len(wanted) - len(due)
        # Offline means "a name had to be resolved and none could be": a run whose URLs (and Wayback) are all
        # IP literals never asks, and is never called offline.
        # A public IP address asks too: offline, what answers for it is an interceptor (check._offline_first).
        needs_dns = any(check.asks_online(u) for u in due) or bool(lookups and not self.wayback_literal())
        if (due or lookups) and o.check.offline is not None:
            self.offline = o.check.offline
        elif needs_dns:
            self.offline = not check.network_available(probe_hosts(o), check.Proxies.from_env(o.check.proxy))
        if self.offline:
            self.say("offline: no DNS name resolves; links that need the network are marked 'unchecked', never 'dead'")
        store.set_run_offline(self.db, self.run_id, self.offline)
        self.snapshots(lookups)
        self.leave_out(left_out)
        self.checks(due, links)
        result = self.result(present)
        store.finish_run(self.db, self.run_id, len(result.articles), sum(len(c) for _a, c in result.articles),
                         len(urls), dict(result.verdicts), self.now(), **{k: int(v) for k, v in self.stats.items()
                                                                          if k in store.COLUMNS["runs"]})
        if o.write_reports:
            try:
                report.render_reports(self.db, o.reports_dir, run_id=self.run_id)
                result.reports_dir = Path(o.reports_dir)
            except OSError as exc:
                # The run is saved and its result is still the answer (--json prints it); the error makes it exit 2.
                message = (f"cannot write reports to {o.reports_dir}: {exc.strerror or exc} "
                           f"(the run is saved; 'provenance report' renders them again)")
                self.errors.append(message)
                self.say(f"error: {message}")
            self.tell("report", len(result.articles), len(result.articles))
        return result

    # ------------------------------------------------------------------ ingest

    def ingest(self) -> list[str]:
        """Extract new and changed articles (batched), touch unchanged ones, mark missing ones removed.

        A new provenance version may extract differently, so an upgrade re-extracts everything once.
        """
        for message in self.scan.errors:  # folders that could not be listed: their articles are kept as they were
            self._skip(message, "")
        store.migrate_resolved_paths(self.db)
        known = store.known_articles(self.db)
        pending: list[tuple[Article, str, str]] = []
        unchanged: list[int] = []
        shown: list[str] = []
        present: list[str] = []
        now = self.now()
        for index, path in enumerate(self.files, 1):
            # An article is its real file, however the path was typed; people see a short display path.
            name, display = str(ingest_real(path)), display_path(path)
            try:
                sha = hashlib.sha256(read_bytes(path)).hexdigest()
            except InputError as exc:
                self._skip(str(exc), name)
                continue
            row = known.get(name)
            if row and row["file_sha256"] == sha and row["extractor_version"] == __version__ and not self.options.force:
                unchanged.append(row["id"])
                shown.append(display)
                present.append(name)
            else:
                try:
                    article = extract_file(path)
                    article.path = display
                    for note in article.notes:  # claims past MAX_CLAIMS: said, as other cuts are
                        self.say(f"note: {note}")
                    if row is None and article.canonical_url:
                        store.adopt_web_article(self.db, article.canonical_url, name)  # one article, one record
                    pending.append((article, sha, name))
                    present.append(name)
                except InputError as exc:
                    self._skip(str(exc), name)
                if len(pending) >= max(1, self.options.article_batch):
                    self._save_articles(pending, now)
            self.tell("extract", index, len(self.files))
        self._save_articles(pending, now)
        if self.options.web:
            self.ingest_web(present, unchanged, shown, now)
        store.touch_articles(self.db, unchanged, self.run_id, now, shown)
        self.stats["articles_unchanged"] = len(unchanged)
        # Only files deleted from the audited folders are retired: unreadable files and folders keep their
        # last good state, and auditing one file (or a folder by another name) retires nothing else.
        self.stats["articles_removed"] = store.mark_removed(
            self.db, [str(ingest_real(p)) for p in self.files], now, roots=self.scan.roots,
            unreadable=self.scan.unreadable)
        return present

    def ingest_web(self, present: list[str], unchanged: list[int], shown: list[str], now: datetime) -> None:
        """Articles from URLs, sitemaps and feeds: fetched conditionally, extracted when new or changed.

        Offline, nothing is fetched: the last audited version of every article
        these inputs named before is kept, and the run says so. An article
        that fails is an error (exit 2) and keeps its last audited version.
        """
        from . import sources, webarticles

        o = self.options
        needs_dns = any(check.needs_dns(u) for u in [*o.urls, *o.sitemaps, *o.feeds])
        if o.check.offline is not None:
            offline = o.check.offline
        else:
            offline = needs_dns and not check.network_available(probe_hosts(o))
        known_sources = store.source_rows(self.db)
        if offline:
            rows = [r for r in known_sources.values()
                    if r["url"] in o.urls or r["via"] in o.sitemaps or r["via"] in o.feeds]
            self.say(f"offline: web articles not fetched; the last audited version of {len(rows)} kept")
            self.stats["web_articles_kept_offline"] = len(rows)
            self.offline = True  # the run is offline even when no cited link is due (index.md says so)
            self._keep_web([r["article"] for r in rows if r["article"]], present, unchanged, shown)
            return
        fetch_options = replace(o.check, offline=False)  # just found online (or told so)
        robots = sources.Robots(fetch_options, ignore=o.ignore_robots)
        listing = sources.list_articles(o.urls, o.sitemaps, o.feeds, fetch_options, since=o.since, limit=o.limit,
                                        robots=robots)
        for message in listing.errors:
            self._skip(message, "")
        for note in listing.notes:
            self.say(f"note: {note}")
        if listing.bad_entries:
            self.say(f"sitemaps and feeds: {listing.bad_entries} bad entries skipped")
        self.stats["web_bad_entries"] = listing.bad_entries
        versions = {r["resolved_path"]: r["extractor_version"] for r in
                    self.db.query("select resolved_path, extractor_version from articles where resolved_path is not null")}
        stamp = iso_z(now)
        batches = webarticles.fetch_articles(listing.entries, fetch_options, known_sources, robots, force=o.force,
                                             now=stamp, run_id=self.run_id,
                                             versions=lambda key: versions.get(self._article_key(key) or ""))
        keep: list[str] = []
        taken = set(present)  # present is a list (the output's order); 50,000 articles need a set beside it
        done = 0
        for items in batches:
            pending: list[tuple[Article, str, str]] = []
            for item in items:
                if item.error:
                    self._skip(item.error, item.entry.url)
                    old = known_sources.get(item.entry.url, {}).get("article")
                    if old:
                        keep.append(old)  # a failed fetch keeps the last audited version
                elif item.unchanged and item.identity:
                    keep.append(item.identity)
                elif item.article is not None and item.identity:
                    for note in item.article.notes:  # a page read only in part, claims past MAX_CLAIMS
                        self.say(f"note: {note}")
                    row = store.article_for_url(self.db, item.identity)
                    key = row["resolved_path"] if row and row["resolved_path"] else item.identity
                    if key not in taken:  # two URLs of one article (a redirect and its target): one record
                        pending.append((item.article, item.sha, key))
                        present.append(key)
                        taken.add(key)
            self._save_articles(pending, now)  # each batch one transaction: a killed run keeps what it read
            store.save_sources(self.db, [i.source for i in items if i.source])
            self.stats["web_articles_unchanged"] += sum(1 for i in items if i.unchanged)
            done += len(items)
            self.tell("fetch", done, len(listing.entries))
        self._keep_web(keep, present, unchanged, shown)

    def _article_key(self, identity: str) -> str | None:
        """The resolved_path of the article a web identity names (a file's, when the file came first)."""
        row = store.article_for_url(self.db, identity)
        return row["resolved_path"] if row else None

    def _keep_web(self, identities: list[str], present: list[str], unchanged: list[int], shown: list[str]) -> None:
        """Unchanged (or unreachable) web articles stay in the run as they were last audited."""
        taken = set(present)
        for identity in dict.fromkeys(identities):
            row = store.article_for_url(self.db, identity)
            key = (row["resolved_path"] or row["path"]) if row is not None else None
            if key is None or key in taken:
                continue
            taken.add(key)
            present.append(key)
            unchanged.append(row["id"])
            shown.append(row["path"])

    def _skip(self, message: str, _name: str) -> None:
        self.errors.append(message)
        self.say(f"skipped: {message}")

    def _save_articles(self, pending: list[tuple[Article, str, str]], now: datetime) -> None:
        if pending:
            store.save_articles(self.db, pending, self.run_id, now)
            self.stats["articles_extracted"] += len(pending)
            pending.clear()

    def active_links(self) -> list[tuple[int, str, str]]:
        """(claim id, url, article date or "") of every link claim in the current articles."""
        return [(r[0], r[1], store.cited_date(r[2], r[3])) for r in self.db.execute(
            "select c.id, c.url, a.published, a.first_seen from claims c join articles a on a.id = c.article_id "
            "where a.removed_at is null and c.kind = 'link' and c.url is not null order by c.id").fetchall()]

    # ------------------------------------------------------------------ what needs the network

    def due_urls(self, urls: list[str]) -> list[str]:
        if self.options.force:
            return list(urls)
        rows = store.url_rows(self.db, urls)
        now = self.now()
        due = []
        for url in urls:
            row = rows.get(url) or {}
            last = store.parse_iso(row.get("last_checked"))
            if last is None:
                due.append(url)
                continue
            wait = self.recheck_working if row.get("verdict") in GOOD_VERDICTS else self.recheck_failing
            if now - last >= wait:
                due.append(url)
        return due

    def due_lookups(self, links: list[tuple[int, str, str]]) -> list[tuple[str, str]]:
        cached = store.snapshot_rows(self.db)
        now = self.now()
        return [pair for pair in dict.fromkeys((url, date) for _cid, url, date in links)
                if store.snapshot_lookup_due(cached.get(pair), now, self.options.force)]

    def wayback_literal(self) -> bool:
        return is_ip_literal(host_of(self.options.wayback.base_url))

    def wayback_reachable(self) -> bool:
        """Offline means names do not resolve; a Wayback mirror at an IP address still answers."""
        return not self.offline or self.wayback_literal()

    # ------------------------------------------------------------------ snapshots

    def snapshots(self, lookups: list[tuple[str, str]]) -> None:
        """Look up captures in committed batches, within a time budget; what is left waits for the next run.

        The public Archive allows a lookup every few seconds, so a first run
        over a big archive spreads its lookups over several nights instead of
        running all day; a batch that mostly failed (429s, deadline, breaker)
        also ends the stage, because the Archive is saying "not now".
        """
        if not lookups or not self.wayback_reachable():
            return
        w = self.options.wayback
        step = max(1, self.options.snapshot_batch)
        if w.effective_api_interval > 0:  # keep each batch inside the Wayback's own per-call deadline
            step = max(1, min(step, int(w.deadline / w.effective_api_interval * 0.8)))
        budget = self.options.snapshot_budget
        started = time.monotonic()
        done = 0
        for start in range(0, len(lookups), step):
            if budget is not None and time.monotonic() - started >= budget:
                self.say(f"Wayback: time budget ({budget:g}s) used; {len(lookups) - done} lookups left for the next run")
                break
            batch = lookups[start:start + step]
            stopped: list[str] = []
            found = wayback.find_snapshots([(u, d or None) for u, d in batch], w, stopped=stopped)
            self.wayback_stop = self.wayback_stop or (stopped[0] if stopped else None)
            # Only the Wayback saying "not now" ends the stage; another archive's trouble is per URL (not cached).
            failed = sum(1 for s in found.values() if getattr(s, "failed", False))
            # Other archives (Memento) for what the Wayback has no good capture of on or before the date.
            found = memento.improve(found, w, replace(self.options.memento, offline=self.offline))
            store.save_snapshots(self.db, {(u, d or ""): s for (u, d), s in found.items()}, self.now())
            done += len(batch)
            self.stats["snapshot_lookups"] += len(batch)
            self.tell("snapshot", done, len(lookups))
            if failed and failed * 2 >= len(batch) and done < len(lookups):
                self.say(f"Wayback: {failed} of {len(batch)} lookups failed; {len(lookups) - done} left for the next run")
                break

    # ------------------------------------------------------------------ checks and drift

    def leave_out(self, left_out: dict[str, str]) -> None:
        """Links the filters left out: an 'unchecked' check with the pattern, stored each run; no request."""
        if not left_out:
            return
        results = left_out_results(left_out)
        stamp = iso_z(self.now())
        for r in results.values():
            r.checked_at = stamp
        store.save_checks(self.db, self.run_id, list(results.values()), self.now(), self.options.rot)
        self.results.update(results)

    def checks(self, due: list[str], links: list[tuple[int, str, str]]) -> None:
        if not due:
            return
        o = self.options
        self.snaps = store.snapshot_rows(self.db)
        # Only pages with a snapshot to compare with are judged: only their bodies are kept (bounded per run).
        check_options = replace(o.check, offline=self.offline, keep_body_for=frozenset(
            url for (url, _date), row in self.snaps.items() if row["timestamp"]))
        citing: dict[str, list[tuple[int, str]]] = {}
        for claim_id, url, date in links:
            citing.setdefault(url, []).append((claim_id, date))
        ordered = _round_robin_by_host(due)
        total, done = len(ordered), 0
        step = max(1, o.check_batch)
        saved_urls: list[str] = []

        def on_result(_r: CheckResult) -> None:
            nonlocal done
            done += 1
            self.tell("check", done, total)

        for start in range(0, total, step):
            batch = ordered[start:start + step]
            results = check.check_urls(batch, check_options, on_result)
            stamp = iso_z(self.now())
            for r in results:
                r.checked_at = stamp
            drifts = self.judge(results, citing)
            changes = store.save_checks(self.db, self.run_id, results, self.now(), o.rot, drifts)
            for key in ("newly_failing", "newly_confirmed_dead", "recovered", "new_drift", "back"):
                self.stats[key] += changes.get(key, 0)
            for r in results:
                r.body = None  # bodies are only needed for drift; do not hold thousands in memory
                self.results[r.url] = r
            self.stats["urls_checked"] += len(results)
            saved_urls += [r.url for r in results if r.verdict in GOOD_VERDICTS]
        if o.save and saved_urls and self.wayback_reachable():
            self.save_pages(saved_urls, citing)

    def judge(self, results: list[CheckResult], citing: dict[str, list[tuple[int, str]]]) -> list[tuple[int, Drift]]:
        """Drift for the claims citing freshly checked URLs: live body vs the snapshot near the article's date."""
        snaps = self.snaps
        wanted: dict[str, Snapshot] = {}
        plan: list[tuple[int, CheckResult, Snapshot | None]] = []
        for r in results:
            if r.verdict in SUGGESTED_VERDICTS:
                # The snapshot will be suggested in place of the link: it must be a good copy (replayed once).
                for _cid, date in citing.get(r.url, []):
                    row = snaps.get((r.url, date))
                    if row and row["timestamp"] and not row.get("replay_checked_at"):
                        snap = Snapshot(url=r.url, timestamp=row["timestamp"], snapshot_url=row["snapshot_url"],
                                        status=200, archive=row.get("archive"))
                        if memento.is_wayback_snapshot(snap, self.options.wayback):  # others: checked when found
                            wanted[wayback.snapshot_key(snap) or ""] = snap
            if r.verdict not in GOOD_VERDICTS and r.verdict not in ("dead", "soft404"):
                continue  # error / blocked / unchecked: nothing seen, keep what is known
            for claim_id, date in citing.get(r.url, []):
                row = snaps.get((r.url, date))
                snap = None
                if row and row["timestamp"] and r.body is not None and r.verdict in GOOD_VERDICTS:
                    snap = Snapshot(url=r.url, timestamp=row["timestamp"], snapshot_url=row["snapshot_url"], status=200,
                                    archive=row.get("archive"))
                    wanted[wayback.snapshot_key(snap) or ""] = snap
                plan.append((claim_id, r, snap))
        replays: dict[str, wayback.Replay] = {}
        if wanted and self.wayback_reachable():
            w = self.options.wayback
            ours = [s for s in wanted.values() if memento.is_wayback_snapshot(s, w)]
            others = [s for s in wanted.values() if not memento.is_wayback_snapshot(s, w)]
            stopped: list[str] = []
            replays = wayback.fetch_replays(ours, w, stopped=stopped) if ours else {}
            self.wayback_stop = self.wayback_stop or (stopped[0] if stopped else None)
            if others:  # another archive's memento: its replay URL as it is, under that archive's politeness
                htmls = memento.fetch_memento_htmls(others, replace(self.options.memento, offline=self.offline))
                for s in others:
                    html = htmls.get(s.snapshot_url or "")
                    replays[wayback.snapshot_key(s) or ""] = wayback.Replay(
                        s, html, s.timestamp, s.snapshot_url,
                        reason="" if html is not None else "the archived copy could not be read (or is a bad copy)")
        self._record_good_captures(replays, citing, {r.url for r in results if r.verdict in GOOD_VERDICTS})
        claims = self._claims([cid for cid, _r, _s in plan])
        # Each page is reduced once, however many claims cite it (live by URL, snapshot by replay).
        live_pages: dict[str, support.PageText] = {}
        snap_pages: dict[str, support.PageText] = {}
        out = []
        for claim_id, r, snap in plan:
            claim = claims.get(claim_id)
            if claim is None:
                continue
            if r.verdict not in GOOD_VERDICTS:
                out.append((claim_id, Drift(None, reason=f"live page unavailable ({r.verdict})")))
            elif snap is None:
                out.append((claim_id, Drift(None, reason="no snapshot near the article's date")))
            else:
                key = wayback.snapshot_key(snap) or ""
                replay = replays.get(key)
                if replay is None or replay.html is None:
                    out.append((claim_id, Drift(None, reason=replay.reason if replay and replay.reason
                                                else "snapshot could not be read")))
                    continue
                if key not in snap_pages:
                    snap_pages[key] = support.read_page(replay.html, r.url, replay.cut)
                if r.url not in live_pages:
                    live_pages[r.url] = support.read_page(r.body, r.final_url or r.url, r.body_cut)
                drift = support.judge_drift(claim, live_pages[r.url], snap_pages[key])
                if replay.passed_over:
                    drift.reason += f" (snapshot {replay.timestamp}; passed over {'; '.join(replay.passed_over)})"
                out.append((claim_id, drift))
        return out

    def _record_good_captures(self, replays: dict[str, wayback.Replay], citing: dict[str, list[tuple[int, str]]],
                              live: set[str]) -> None:
        """Store what the replays found about the captures: a good one that stood in for a bad copy (with what
        was passed over and why), that a capture was checked, or, for a link that is gone, that none was good."""
        found: dict[tuple[str, str | None], Snapshot] = {}
        checked: list[tuple[str, str]] = []
        for replay in replays.values():
            url, asked = replay.snapshot.url, replay.snapshot.timestamp
            keys = [(url, date) for _cid, date in citing.get(url, [])
                    if (self.snaps.get((url, date)) or {}).get("timestamp") == asked]
            passed = "; ".join(replay.passed_over)
            if replay.replaced:
                good = Snapshot(url=url, timestamp=replay.timestamp, snapshot_url=replay.snapshot_url, status=200,
                                reason=f"closest good capture; passed over {passed}"[:500], archive=replay.snapshot.archive)
                found.update({key: good for key in keys})
            elif replay.html is None and replay.passed_over and url not in live:
                # A gone link must not be "fixed" with a soft 404. (A live page's bad capture stays: drift
                # says why it was not judged, and --save does not archive the page again and again.)
                found.update({key: Snapshot(url=url, reason=replay.reason[:500]) for key in keys})
            if replay.html is not None:
                checked += [(u, d) for u, d in dict.fromkeys(keys)]
        if found:
            store.save_snapshots(self.db, found, self.now())
        if found or checked:
            store.mark_replays_checked(self.db, checked, self.now())
            self.snaps = store.snapshot_rows(self.db)

    def _claims(self, ids: list[int]) -> dict[int, Claim]:
        out: dict[int, Claim] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in self.db.execute(f"select id, kind, sentence, position, url, anchor, source, fragment from claims "
                                       f"where id in ({', '.join('?' for _ in chunk)})", chunk).fetchall():
                out[row[0]] = Claim(kind=row[1], sentence=row[2] or "", position=row[3] or 0, url=row[4],
                                    anchor=row[5], source=row[6], fragment=row[7])
        return out

    def save_pages(self, live_urls: list[str], citing: dict[str, list[tuple[int, str]]]) -> None:
        """--save: ask Save Page Now for live pages that have no snapshot at all; store what it made."""
        snaps = store.snapshot_rows(self.db)
        have = {url for (url, _d), row in snaps.items() if row["timestamp"]}
        missing = [u for u in dict.fromkeys(live_urls) if u not in have]
        if not missing:
            return
        if self.wayback_stop:  # the Wayback said stop this run: Save Page Now is the same Archive
            self.say(f"Save Page Now: not asked for {len(missing)} pages ({self.wayback_stop})")
        saved = wayback.save_page_now(missing, self.options.wayback, stopped=self.wayback_stop)
        found = {}
        for url, snap in saved.items():
            if snap is not None and snap.timestamp:
                for _cid, date in citing.get(url, []):
                    found[(url, date)] = snap
        if found:
            store.save_snapshots(self.db, found, self.now())
            self.snaps = store.snapshot_rows(self.db)
        self.stats["saved"] = len({u for u, _d in found})

    # ------------------------------------------------------------------ the result, from the database

    def result(self, present: list[str]) -> AuditResult:
        rows = store.load_articles(self.db, present)
        urls = store.url_rows(self.db, {c["url"] for _a, cs in rows for c in cs if c["url"]})
        snaps = store.snapshot_rows(self.db)
        verdicts: Counter = Counter()
        combined: list[tuple[Article, list[ClaimResult]]] = []
        checks_needed = self.options.rot.checks
        for a, claim_rows in rows:
            article = Article(path=a["path"], title=a["title"], published=a["published"],
                              authors=_json_list(a["authors"]), canonical_url=a["canonical_url"],
                              format=a["format"] or "text", content_hash=a["content_hash"] or "",
                              updated=a.get("updated"))
            crs = []
            for c in claim_rows:
                claim = Claim(kind=c["kind"], sentence=c["sentence"] or "", position=c["position"] or 0, url=c["url"],
                              anchor=c["anchor"], source=c["source"], fragment=c["fragment"])
                article.claims.append(claim)
                cr = ClaimResult(claim)
                if claim.kind == "link" and claim.url:
                    u = urls.get(claim.url) or {}
                    now_result = self.results.get(claim.url)
                    if now_result is not None:
                        cr.check, cr.checked_now = now_result, True
                    elif u.get("verdict"):
                        cr.check = CheckResult(url=claim.url, verdict=u["verdict"], status=u["status"],
                                               final_url=u["final_url"], reason=u["reason"] or "",
                                               checked_at=u["last_checked"] or "")
                    else:
                        cr.check = CheckResult(url=claim.url, verdict="unchecked", reason="not checked yet")
                    if u.get("confirmed_dead_at"):
                        cr.rot = "confirmed dead"
                    elif u.get("failures"):
                        cr.rot = f"failing ({u['failures']} of {checks_needed})"
                    s = snaps.get((claim.url, store.cited_date(a["published"], a["first_seen"])))
                    if s:
                        cr.snapshot = Snapshot(url=claim.url, timestamp=s["timestamp"], snapshot_url=s["snapshot_url"],
                                               status=s["status"], reason=s["reason"] or "",
                                               archive=s.get("archive") or (store.snapshot_archive(
                                                   Snapshot(claim.url, s["timestamp"], s["snapshot_url"]))
                                                   if s["timestamp"] else None))
                    if c["drift_judged_at"] and not _left_out(cr.check):  # a left-out link's old drift is not news
                        cr.drift = Drift(None if c["drift"] is None else bool(c["drift"]), c["live_score"],
                                         c["snapshot_score"], c["drift_reason"] or "", then=c.get("evidence_then"),
                                         now=c.get("evidence_now"), diff=c.get("evidence_diff"))
                    verdicts[cr.check.verdict] += 1
                crs.append(cr)
            combined.append((article, crs))
        run = self.db["runs"].get(self.run_id)
        stats = {k: int(self.stats.get(k, 0)) for k in ("urls_checked", "urls_fresh", "urls_excluded", "snapshot_lookups",
                                                         "articles_extracted", "articles_unchanged", "articles_removed",
                                                         "newly_failing", "newly_confirmed_dead", "recovered",
                                                         "new_drift", "back")}
        stats.update({k: int(v) for k, v in self.stats.items() if k.startswith("web_")})
        ordered = Counter({v: verdicts[v] for v in VERDICTS if verdicts.get(v)})
        return AuditResult(self.run_id, run["started_at"], self.offline, combined, self.errors, ordered, stats)


def check_reports_dir(reports_dir: Path, scan: InputScan) -> None:
    """Refuse, before any work, a reports folder that cannot be written or is an input folder.

    Finding out after an hour of checks that ``--reports`` names a file is
    too late; and a report named after its article would overwrite it.
    """
    if reports_dir.exists() and not reports_dir.is_dir():
        raise InputError(f"--reports {reports_dir} is not a folder")
    real = ingest_real(reports_dir)
    if real.is_dir() and any(real == root for root in scan.roots):
        raise InputError(f"--reports {reports_dir} is an input folder: reports would overwrite articles; "
                         f"choose another folder (e.g. reports/)")
    # Nothing is created here: a run refused later (a busy or foreign database) leaves no empty folder behind.
    existing = Path(os.path.abspath(reports_dir))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot create reports folder {reports_dir}: {existing} is not a folder")
    if existing != Path(os.path.abspath(reports_dir)):
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InputError(f"cannot create reports folder {reports_dir}: {existing} is not writable")
        return
    try:
        with tempfile.TemporaryFile(dir=reports_dir, prefix=".provenance-write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write reports to {reports_dir}: {exc.strerror or exc}") from None


def ingest_real(path: Path) -> Path:
    """The article's identity: its real absolute path."""
    return Path(os.path.realpath(path))


def _json_list(text: str | None) -> list[str]:
    import json

    try:
        value = json.loads(text or "[]")
    except ValueError:
        return [text] if text else []
    return [str(x) for x in value] if isinstance(value, list) else []


def _round_robin_by_host(urls: Iterable[str]) -> list[str]:
    """Interleave hosts so each check batch keeps many hosts busy instead of queueing on one."""
    by_host: dict[str, list[str]] = {}
    for url in urls:
        by_host.setdefault(host_of(url), []).append(url)
    queues = [iter(q) for q in by_host.values()]
    out: list[str] = []
    while queues:
        alive = []
        for queue in queues:
            url = next(queue, None)
            if url is not None:
                out.append(url)
                alive.append(queue)
        queues = alive
    return out
