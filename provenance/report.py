"""Markdown audit reports, rendered from the database only.

One report per article (``<slug>.md``), an ``index.md`` sorted by how much
needs attention, and ``changes.md`` (what the last run changed against the
one before). Reading only the database means ``provenance report`` works
without the network and always agrees with what datasette shows.

The schema in :mod:`provenance.store` is the interface. Columns added later
(drift scores, failure counts, confirmed-dead dates) are used when present
and skipped when not, so an older database still renders.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from .models import VERDICTS

if TYPE_CHECKING:
    from .audit import AuditResult

#: Longest sentence shown in full; longer ones are cut on a word boundary around the anchor.
MAX_SENTENCE_CHARS = 240
#: Longest sentence excerpt in the all-claims table (kept short so the table stays readable).
MAX_TABLE_SENTENCE_CHARS = 100
#: Longest URL shown as link text in tables before it is shortened.
MAX_URL_CHARS = 70
#: Longest slug (file name without ``.md``).
MAX_SLUG_CHARS = 80
#: Failures on separate runs that confirm a URL dead (the store's rule; used only for "n of N" text).
CONFIRM_FAILURES = 3
#: Names the report files use; an article slug may never take one of them.
RESERVED_SLUGS = frozenset({"index", "changes"})

#: Verdicts that mean the cited source is lost for a reader (rot).
LOST_VERDICTS = ("dead", "soft404")
#: Verdicts that say nothing definite about the page: a person should look.
UNSURE_VERDICTS = ("blocked", "error")
#: Verdicts counted as "OK" in the health line (a redirect works, but its citation should be updated).
OK_VERDICTS = ("ok", "redirect")

#: Problem kinds in the order a report lists them (worst first), with a heading word.
PROBLEM_ORDER = ("dead", "soft404", "drift", "blocked", "error", "redirect")

#: Wording that hides who the source is; such attributions are called out for an editor.
ANONYMOUS_SOURCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("familiar-with", re.compile(r"\b(?:people|persons?|sources?|officials?) familiar with\b", re.I)),
    ("unnamed", re.compile(r"\b(?:unnamed|anonymous|undisclosed)\b", re.I)),
    ("sources-said", re.compile(r"^(?:sources?|officials|insiders|aides|people|reports|critics|experts)$", re.I)),
    ("multiple-outlets", re.compile(r"\b(?:multiple|several|many|various) (?:outlets|reports|sources|media)\b", re.I)),
    ("public-reports", re.compile(r"\bpublic reports\b", re.I)),
    ("speaking-anonymity", re.compile(r"\bcondition of anonymity\b", re.I)),
)


# --------------------------------------------------------------------------- the view


@dataclass
class ClaimView:
    """One claim as a report shows it: the claim, its URL's state at the run, snapshot, drift."""

    id: int
    kind: str
    position: int
    sentence: str
    url: str | None = None
    anchor: str | None = None
    source: str | None = None
    fragment: str | None = None
    verdict: str = "unchecked"
    status: int | None = None
    final_url: str | None = None
    reason: str = ""
    host: str | None = None
    failures: int | None = None
    first_failed: str | None = None
    confirmed_dead_at: str | None = None
    snapshot_url: str | None = None
    snapshot_timestamp: str | None = None
    drift: bool | None = None
    live_score: float | None = None
    snapshot_score: float | None = None
    drift_since: str | None = None
    drift_reason: str | None = None
    anonymous: bool = False
    #: When the shown verdict was observed, and whether this run observed it (False: offline or not due).
    checked_at: str | None = None
    rechecked: bool = True
    #: Failing checks that confirm a URL dead (the store's rule), for "failing (n of N)".
    rot_checks: int = CONFIRM_FAILURES

    @property
    def problem(self) -> str | None:
        """The worst thing wrong with this claim (a PROBLEM_ORDER word), or None."""
        if self.kind != "link":
            return None
        if self.verdict in LOST_VERDICTS:
            return self.verdict
        if self.drift:
            return "drift"
        if self.verdict in UNSURE_VERDICTS or self.verdict == "redirect":
            return self.verdict
        return None

    @property
    def snapshot_date(self) -> str | None:
        t = self.snapshot_timestamp or ""
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}" if len(t) >= 8 and t[:8].isdigit() else None


@dataclass
class ArticleView:
    id: int
    path: str
    slug: str
    title: str | None
    published: str | None
    authors: list[str]
    canonical_url: str | None
    claims: list[ClaimView] = field(default_factory=list)

    @property
    def links(self) -> list[ClaimView]:
        return [c for c in self.claims if c.kind == "link"]

    @property
    def attributions(self) -> list[ClaimView]:
        return [c for c in self.claims if c.kind != "link"]

    @property
    def problems(self) -> list[ClaimView]:
        found = [c for c in self.links if c.problem]
        return sorted(found, key=lambda c: (PROBLEM_ORDER.index(c.problem or "redirect"), c.position))

    def counts(self) -> Counter:
        """Verdict counts over cited sources, plus ``drift`` and ``attributions``."""
        counts: Counter = Counter(c.verdict for c in self.links)
        counts["drift"] = sum(1 for c in self.links if c.drift)
        counts["attributions"] = len(self.attributions)
        counts["anonymous"] = sum(1 for c in self.attributions if c.anonymous)
        return counts

    def attention(self) -> tuple[int, ...]:
        """Sort key, most urgent first: lost sources, drift, unsure, unlinked attributions."""
        n = self.counts()
        lost = n["dead"] + n["soft404"]
        return (-lost, -n["drift"], -(n["blocked"] + n["error"]), -n["redirect"], -n["attributions"])


@dataclass
class RunView:
    id: int | None
    started_at: str | None = None
    finished_at: str | None = None
    offline: bool = False
    articles: int | None = None
    claims: int | None = None
    urls: int | None = None
    verdicts: dict[str, int] = field(default_factory=dict)


@dataclass
class URLChange:
    """A cited URL whose state moved between the previous run and this one."""

    url: str
    before: str | None
    after: str
    articles: list[ArticleView]
    detail: str = ""


@dataclass
class Changes:
    previous: RunView | None
    newly_failing: list[URLChange] = field(default_factory=list)
    newly_confirmed_dead: list[URLChange] = field(default_factory=list)
    recovered: list[URLChange] = field(default_factory=list)
    new_drift: list[tuple[ArticleView, ClaimView]] = field(default_factory=list)
    drift_is_current: bool = False  # True when history is missing and drift lists every drifted claim


@dataclass
class ReportData:
    run: RunView
    articles: list[ArticleView]
    changes: Changes


# --------------------------------------------------------------------------- loading


def _open(db: sqlite_utils.Database | Path | str) -> sqlite_utils.Database:
    if isinstance(db, sqlite_utils.Database):
        return db
    from .store import open_store

    return open_store(Path(db))


def _cols(db: sqlite_utils.Database, table: str) -> set[str]:
    return set(db[table].columns_dict) if db[table].exists() else set()


def _run(db: sqlite_utils.Database, run_id: int | None, before: bool = False) -> RunView | None:
    if not db["runs"].exists():
        return None
    if before:
        rows = list(db.query("select * from runs where id < ? order by id desc limit 1", [run_id]))
    elif run_id is None:
        rows = list(db.query("select * from runs order by id desc limit 1"))
    else:
        rows = list(db.query("select * from runs where id = ?", [run_id]))
    if not rows:
        return None
    r = rows[0]
    try:
        verdicts = json.loads(r.get("verdicts") or "{}")
    except ValueError:
        verdicts = {}
    return RunView(r["id"], r.get("started_at"), r.get("finished_at"), bool(r.get("offline")), r.get("articles"),
                   r.get("claims"), r.get("urls"), verdicts)


def _url_states(db: sqlite_utils.Database, run_id: int | None) -> dict[str, dict[str, Any]]:
    """Each URL's latest real observation at or before ``run_id``.

    ``unchecked`` (offline, refused) is not an observation: like the store's
    ``urls.verdict``, the last real verdict stands, so an offline night never
    turns a dead link into an unknown one or a live one into a dead one.
    """
    states: dict[str, dict[str, Any]] = {}
    if run_id is None or not db["checks"].exists():
        return states
    sql = ("select c.* from checks c join (select url, max(id) as id from checks where run_id <= ? "
           "and verdict != 'unchecked' group by url) m on c.id = m.id")
    for row in db.query(sql, [run_id]):
        states[row["url"]] = row
    return states


def _checked_in(db: sqlite_utils.Database, run_id: int | None) -> dict[str, dict[str, Any]]:
    """URL -> its check row in run ``run_id`` (the run's own observations, unchecked included)."""
    if run_id is None or not db["checks"].exists():
        return {}
    return {row["url"]: row for row in db.query("select * from checks where run_id = ? order by id", [run_id])}


def _rot_checks(db: sqlite_utils.Database) -> int:
    """Failing checks that confirm a URL dead (the store's ``meta.rot_checks``, else the default)."""
    if db["meta"].exists():
        row = db.execute("select value from meta where key = 'rot_checks'").fetchone()
        if row and str(row[0]).isdigit():
            return int(row[0])
    return CONFIRM_FAILURES


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:MAX_SLUG_CHARS].strip("-") or "article"


def assign_slugs(articles: list[tuple[int, str, str | None]]) -> dict[int, str]:
    """``(id, path, title)`` -> unique slug per article id.

    The slug comes from the title (else the file name). When several articles
    share one, the earliest in the database keeps it and the others get their
    file name added, so a slug never changes because a later article arrived.
    """
    out: dict[int, str] = {}
    used: set[str] = set(RESERVED_SLUGS)
    for article_id, path, title in sorted(articles):
        stem = Path(path).stem
        base = slugify(title or stem)
        slug = base
        if slug in used:
            slug = slugify(f"{base[:MAX_SLUG_CHARS - 30]}-{stem[-28:]}")
        if slug in used:
            slug = f"{base[:MAX_SLUG_CHARS - 9]}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"
        n = 2
        while slug in used:
            slug = f"{base[:MAX_SLUG_CHARS - 6]}-{n}"
            n += 1
        used.add(slug)
        out[article_id] = slug
    return out


def is_anonymous(source: str | None, sentence: str = "") -> bool:
    """True when an attribution hides who the source is ("people familiar with the matter")."""
    text = (source or "").strip()
    if not text:
        return True
    return any(p.search(text) for _n, p in ANONYMOUS_SOURCES)


def load_view(db: sqlite_utils.Database | Path | str, run_id: int | None = None) -> ReportData:
    """Everything the reports show, read from the database for run ``run_id`` (default: the last)."""
    db = _open(db)
    run = _run(db, run_id) or RunView(run_id)
    latest = _run(db, None)
    is_latest = latest is None or run.id is None or run.id == latest.id
    states = _url_states(db, run.id)
    this_run = _checked_in(db, run.id)
    rot_checks = _rot_checks(db)
    urls = {row["url"]: row for row in db["urls"].rows} if db["urls"].exists() else {}
    snaps: dict[tuple[str, str], dict[str, Any]] = {}
    any_snap: dict[str, dict[str, Any]] = {}
    if db["snapshots"].exists():
        for row in db.query("select * from snapshots where timestamp is not null order by url, date"):
            snaps[(row["url"], row["date"] or "")] = row
            any_snap.setdefault(row["url"], row)
    art_cols = _cols(db, "articles")
    where = "removed_at is null" if "removed_at" in art_cols else "1"
    arows = list(db.query(f"select * from articles where {where} order by id")) if art_cols else []
    slugs = assign_slugs([(a["id"], a["path"], a.get("title")) for a in arows])
    articles: list[ArticleView] = []
    for a in arows:
        try:
            authors = json.loads(a.get("authors") or "[]")
        except ValueError:
            authors = [a["authors"]]
        view = ArticleView(a["id"], a["path"], slugs[a["id"]], a.get("title"), a.get("published"),
                           [str(x) for x in authors or []], a.get("canonical_url"))
        for c in db.query("select * from claims where article_id = ? order by position, id", [a["id"]]):
            cv = ClaimView(c["id"], c["kind"], c.get("position") or 0, c.get("sentence") or "", c.get("url"),
                           c.get("anchor"), c.get("source"), c.get("fragment"))
            cv.rot_checks = rot_checks
            if cv.kind == "link" and cv.url:
                _fill_link(cv, view, urls.get(cv.url) or {}, states.get(cv.url), this_run.get(cv.url), run,
                           is_latest, snaps, any_snap)
                if c.get("drift") is not None:
                    cv.drift = bool(c["drift"])
                cv.live_score = c.get("live_score")
                cv.snapshot_score = c.get("snapshot_score")
                cv.drift_since = c.get("drift_since")
                cv.drift_reason = c.get("drift_reason")
            elif cv.kind != "link":
                cv.anonymous = bool(c["anonymous"]) if c.get("anonymous") is not None else is_anonymous(cv.source)
            view.claims.append(cv)
        articles.append(view)
    changes = _changes(db, run, articles, states, this_run)
    return ReportData(run, articles, changes)


def _fill_link(cv: ClaimView, article: ArticleView, u: dict[str, Any], state: dict[str, Any] | None,
               own: dict[str, Any] | None, run: RunView, is_latest: bool,
               snaps: dict[tuple[str, str], dict[str, Any]], any_snap: dict[str, dict[str, Any]]) -> None:
    """A link claim's verdict, rot history and snapshot as of ``run``."""
    if state is None and is_latest and u.get("verdict"):
        state = u  # a database without check history: the URL's current state
    state = state or {}
    cv.verdict = state.get("verdict") or "unchecked"
    cv.status = state.get("status")
    cv.final_url = state.get("final_url")
    cv.reason = state.get("reason") or ""
    cv.checked_at = state.get("checked_at") or state.get("last_checked")
    cv.rechecked = bool(own and own.get("verdict") != "unchecked")
    cv.host = u.get("host")
    if is_latest:
        cv.failures = u.get("failures")
        cv.first_failed = u.get("first_failed")
        cv.confirmed_dead_at = u.get("confirmed_dead_at")
    else:  # an earlier run: the count its check recorded; confirmed only if it already was
        cv.failures = state.get("failures")
        confirmed = u.get("confirmed_dead_at")
        if confirmed and run.finished_at and confirmed <= run.finished_at:
            cv.confirmed_dead_at = confirmed
    snap = snaps.get((cv.url or "", article.published or "")) or any_snap.get(cv.url or "")
    if snap:
        cv.snapshot_url, cv.snapshot_timestamp = snap.get("snapshot_url"), snap.get("timestamp")
    elif u.get("snapshot_url"):
        cv.snapshot_url, cv.snapshot_timestamp = u.get("snapshot_url"), u.get("snapshot_timestamp")


def _changes(db: sqlite_utils.Database, run: RunView, articles: list[ArticleView],
             states: dict[str, dict[str, Any]], this_run: dict[str, dict[str, Any]]) -> Changes:
    """What moved in ``run``: the store's per-check ``change`` labels, else a comparison with the run before."""
    previous = _run(db, run.id, before=True) if run.id is not None else None
    changes = Changes(previous)
    citing: dict[str, list[ArticleView]] = {}
    for a in articles:
        for c in a.links:
            if c.url and a not in citing.setdefault(c.url, []):
                citing[c.url].append(a)
    labelled = "change" in _cols(db, "checks")
    before = _url_states(db, previous.id) if previous and not labelled else {}
    buckets = {"newly_failing": changes.newly_failing, "newly_confirmed_dead": changes.newly_confirmed_dead,
               "recovered": changes.recovered}
    for url in sorted(citing):
        own = this_run.get(url)
        if not own or own.get("verdict") == "unchecked":
            continue
        after = own.get("verdict") or "unchecked"
        if labelled:
            label, prev = own.get("change"), own.get("previous_verdict")
        else:
            prev = before.get(url, {}).get("verdict")
            label = ("newly_failing" if after in LOST_VERDICTS and prev not in LOST_VERDICTS else
                     "recovered" if after in OK_VERDICTS and prev in LOST_VERDICTS else None)
        if label in buckets:
            buckets[label].append(URLChange(url, prev, after, citing[url], own.get("reason") or ""))
    claim_cols = _cols(db, "claims")
    history = "drift_since" in claim_cols
    for a in articles:
        for c in a.links:
            if not c.drift:
                continue
            if history and (not c.drift_since or not run.started_at or c.drift_since < run.started_at
                            or (run.finished_at and c.drift_since > run.finished_at)):
                continue
            changes.new_drift.append((a, c))
    changes.drift_is_current = not history
    return changes


# --------------------------------------------------------------------------- Markdown helpers


def escape_md(text: str | None) -> str:
    """Collapse whitespace and escape what GFM would read as markup (``| [ ] * _ < > ` \\``)."""
    return re.sub(r"([|\[\]\\*_`<>#~])", r"\\\1", " ".join((text or "").split()))


def escape_url(url: str) -> str:
    """A URL as a link target: spaces, parentheses and pipes percent-encoded so tables and links hold."""
    return (url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("|", "%7C")
            .replace("<", "%3C").replace(">", "%3E"))


def md_link(text: str, url: str | None) -> str:
    if not url:
        return escape_md(text)
    return f"[{escape_md(text)}]({escape_url(url)})"


def short_url(url: str, limit: int = MAX_URL_CHARS) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", url)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def shorten(text: str, limit: int, keep: str | None = None) -> str:
    """``text`` cut to about ``limit`` characters on word boundaries, keeping ``keep`` in view."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    start, end = 0, limit
    if keep:
        at = text.find(keep)
        if at < 0:
            at = text.lower().find(keep.lower())
        if at >= 0 and at + len(keep) > limit - 1:
            middle = at + len(keep) // 2
            start = max(0, min(middle - limit // 2, len(text) - limit))
            end = start + limit
    head = text[start:end]
    if start > 0:
        cut = head.find(" ")
        head = "…" + (head[cut + 1:] if 0 <= cut < len(head) // 3 else head)
    if end < len(text):
        cut = head.rfind(" ")
        head = (head[:cut] if cut > len(head) // 2 else head).rstrip(" ,;:") + "…"
    return head


def sentence_md(claim: ClaimView, limit: int = MAX_SENTENCE_CHARS) -> str:
    """The claim's sentence, shortened around the anchor, escaped, with the anchor in bold."""
    anchor = " ".join((claim.anchor or "").split())
    text = shorten(claim.sentence, limit, anchor or None)
    if not anchor:
        return escape_md(text)
    at = text.find(anchor)
    if at < 0:
        low = text.lower().find(anchor.lower())
        at = low
    if at < 0:
        return escape_md(text)
    before, hit, after = text[:at], text[at:at + len(anchor)], text[at + len(anchor):]
    return f"{escape_md(before)}{' ' if before.endswith(' ') else ''}**{escape_md(hit)}**" \
           f"{' ' if after.startswith(' ') else ''}{escape_md(after)}".replace("  ", " ")


def table_cell(text: str) -> str:
    """Escaped text safe inside a GFM table cell (no newlines, pipes escaped)."""
    return text.replace("\n", " ") or " "


def _date(value: str | None) -> str:
    return (value or "")[:10] or "unknown"


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- rendering


def ok_count(article: ArticleView) -> int:
    """Cited sources needing nothing: the page answers at the cited URL and still carries the claim."""
    return sum(1 for c in article.links if c.verdict == "ok" and not c.drift)


def health_line(article: ArticleView) -> str:
    """One line: "47 of 50 cited sources OK, 2 dead, 1 drifted, 3 unlinked attributions"."""
    n = article.counts()
    links = len(article.links)
    if not links and not n["attributions"]:
        return "No cited sources and no attributions found."
    parts = [f"{ok_count(article)} of {_plural(links, 'cited source')} OK" if links else "no cited sources"]
    for verdict in ("dead", "soft404", "blocked", "error", "unchecked"):
        if n[verdict]:
            parts.append(f"{n[verdict]} {verdict}")
    if n["drift"]:
        parts.append(f"{n['drift']} drifted")
    if n["redirect"]:
        parts.append(f"{n['redirect']} moved")
    if n["attributions"]:
        parts.append(_plural(n["attributions"], "unlinked attribution"))
    return ", ".join(parts)


def _failing_text(c: ClaimView, offline: bool) -> str:
    if c.confirmed_dead_at:
        return f"confirmed dead on {_date(c.confirmed_dead_at)}"
    bits = []
    if c.verdict in LOST_VERDICTS and c.failures:
        bits.append(f"failing ({min(c.failures, c.rot_checks)} of {c.rot_checks} checks before confirmed dead)")
    elif c.verdict in LOST_VERDICTS:
        bits.append("failing, not yet confirmed dead")
    if c.first_failed:
        bits.append(f"first failed {_date(c.first_failed)}")
    return "; ".join(bits)


def _problem_block(c: ClaimView, run: RunView) -> list[str]:
    from .support import robust_link

    label = {"dead": "dead", "soft404": "gone (soft 404)", "drift": "drifted", "blocked": "blocked",
             "error": "could not check", "redirect": "moved"}[c.problem or "redirect"]
    lines = [f"### {label}: {escape_md(c.anchor or short_url(c.url or ''))}", "", f"> {sentence_md(c)}", ""]
    verdict = f"`{c.verdict}`" + (f" (HTTP {c.status})" if c.status else "")
    lines.append(f"- Cited: {md_link(short_url(c.url or ''), c.url)}")
    reason = "" if not c.reason or c.reason == f"HTTP {c.status}" else f": {escape_md(c.reason)}"
    lines.append(f"- Verdict: {verdict}{reason}")
    failing = _failing_text(c, run.offline)
    if failing:
        lines.append(f"- History: {failing}")
    if c.drift:
        scores = ""
        if c.live_score is not None and c.snapshot_score is not None:
            scores = f" (claim words found: snapshot {c.snapshot_score:.0%}, live page {c.live_score:.0%})"
        lines.append(f"- Drift: the snapshot carries the claim, the live page no longer does{scores}")
    if c.final_url and c.final_url != c.url and c.verdict == "redirect":
        lines.append(f"- Replace with: {md_link(short_url(c.final_url), c.final_url)}")
    if c.snapshot_url:
        lines.append(f"- Snapshot: {md_link(c.snapshot_date or 'archived copy', c.snapshot_url)}")
        if c.problem in ("dead", "soft404", "drift", "blocked"):
            lines += ["- Suggested replacement (Robust Links):", "",
                      "  ```html", "  " + robust_link(c.url or "", c.anchor or "", c.snapshot_url, c.snapshot_date),
                      "  ```"]
    elif c.problem in ("dead", "soft404", "drift"):
        lines.append("- Snapshot: none found" + (" (offline run)" if run.offline else "")
                     + ": look for another source")
    lines.append("")
    return lines


def render_article(article: ArticleView, run: RunView) -> str:
    """The Markdown report for one article."""
    title = article.title or Path(article.path).name
    lines = [f"# {escape_md(title)}", ""]
    lines.append(f"- Published: {escape_md(article.published) or 'unknown'}")
    lines.append(f"- Authors: {escape_md(', '.join(article.authors)) or 'unknown'}")
    lines.append(f"- Source file: `{article.path.replace('`', '')}`")
    lines.append(f"- Canonical URL: {md_link(article.canonical_url, article.canonical_url) if article.canonical_url else 'none'}")
    if run.id is not None:
        lines.append(f"- Audit run: {run.id} ({run.started_at or 'unknown'})" + (" — offline" if run.offline else ""))
    lines += ["", f"**{health_line(article)}**", ""]
    if run.offline:
        lines += ["> [!NOTE]", "> This run was offline: links that needed the network are `unchecked`, not dead.", ""]
    problems = article.problems
    lines += ["## Problems", ""]
    if problems:
        for c in problems:
            lines += _problem_block(c, run)
    else:
        lines += ["None found." if article.links else "This article cites no links.", ""]
    lines += ["## All cited sources", ""]
    if article.links:
        lines += ["| # | verdict | drift | claim | source | snapshot |", "|---:|---|---|---|---|---|"]
        for c in article.links:
            drift = {True: "yes", False: "no", None: "–"}[c.drift]
            snap = md_link(c.snapshot_date or "archived", c.snapshot_url) if c.snapshot_url else "–"
            lines.append(f"| {c.position} | `{c.verdict}` | {drift} | {table_cell(sentence_md(c, MAX_TABLE_SENTENCE_CHARS))} "
                         f"| {table_cell(md_link(short_url(c.url or '', 50), c.url))} | {table_cell(snap)} |")
    else:
        lines.append("No cited links.")
    lines += ["", "## Unlinked attributions", ""]
    attributions = article.attributions
    if attributions:
        lines += ["These claims name a source but link to none: an editor should find a citation.", ""]
        for c in attributions:
            flag = " **(anonymous source)**" if c.anonymous else ""
            lines.append(f"- {escape_md(c.source or 'unnamed source')}{flag}: "
                         f"{escape_md(shorten(c.sentence, MAX_SENTENCE_CHARS, c.source))}")
        anon = sum(1 for c in attributions if c.anonymous)
        if anon:
            lines += ["", f"{_plural(anon, 'attribution')} cite{'s' if anon == 1 else ''} an anonymous source: "
                      "ask the author who it is, or say why it cannot be named."]
    else:
        lines.append("None found.")
    return "\n".join(lines).rstrip() + "\n"


def render_index(data: ReportData) -> str:
    run = data.run
    lines = ["# provenance audit", ""]
    if run.id is not None:
        lines.append(f"Run {run.id}, started {run.started_at or 'unknown'}"
                     + (f", finished {run.finished_at}" if run.finished_at else "") + ".")
    if run.offline:
        lines += ["", "> [!WARNING]", "> This run was offline: no cited link could be checked, so links are "
                  "`unchecked` rather than dead. Run the audit again with network access."]
    totals: Counter = Counter()
    for a in data.articles:
        totals.update(a.counts())
    links = sum(len(a.links) for a in data.articles)
    urls = len({c.url for a in data.articles for c in a.links if c.url})
    lines += ["", f"**{_plural(len(data.articles), 'article')}, {_plural(links, 'cited link')} "
              f"({_plural(urls, 'distinct URL')}), {_plural(totals['attributions'], 'unlinked attribution')}.**", ""]
    verdict_line = ", ".join(f"{totals[v]} {v}" for v in VERDICTS if totals[v])
    if verdict_line:
        lines.append(f"Verdicts: {verdict_line}" + (f"; {totals['drift']} drifted" if totals["drift"] else "") + ".")
        lines.append("")
    lines.append("See [what changed in this run](changes.md).")
    lines += ["", "| article | file | published | links | OK | dead | soft404 | drifted | blocked/error | moved "
              "| attributions |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for a in sorted(data.articles, key=lambda a: (a.attention(), (a.title or a.path).lower(), a.path)):
        n = a.counts()
        lines.append(f"| {table_cell(md_link(shorten(a.title or Path(a.path).name, 90), a.slug + '.md'))} "
                     f"| `{a.path.replace('`', '')}` | {escape_md(a.published) or '–'} | {len(a.links)} | {ok_count(a)} "
                     f"| {n['dead']} | {n['soft404']} | {n['drift']} | {n['blocked'] + n['error']} | {n['redirect']} "
                     f"| {n['attributions']} |")
    return "\n".join(lines).rstrip() + "\n"


def _change_lines(items: list[URLChange], show: str) -> list[str]:
    if not items:
        return ["None.", ""]
    out = []
    for ch in items:
        where = ", ".join(md_link(shorten(a.title or Path(a.path).name, 60), a.slug + ".md") for a in ch.articles)
        state = f"`{ch.before}` → `{ch.after}`" if ch.before and ch.before != ch.after else f"`{ch.after}`"
        detail = f" ({escape_md(ch.detail)})" if ch.detail and show != "none" else ""
        out.append(f"- {md_link(short_url(ch.url), ch.url)}: {state}{detail}; cited in {where}")
    return out + [""]


def render_changes(data: ReportData) -> str:
    run, ch = data.run, data.changes
    lines = ["# What changed", ""]
    if run.id is None:
        return "\n".join(lines + ["No audit run recorded yet."]) + "\n"
    if ch.previous:
        lines.append(f"Run {run.id} ({run.started_at or 'unknown'}) compared with run {ch.previous.id} "
                     f"({ch.previous.started_at or 'unknown'}).")
    else:
        lines.append(f"Run {run.id} ({run.started_at or 'unknown'}) is the first run: everything failing is new.")
    if run.offline:
        lines += ["", "> [!WARNING]", "> This run was offline: nothing could be re-checked, so nothing changed."]
    lines += ["", f"**{len(ch.newly_failing)} newly failing, {len(ch.newly_confirmed_dead)} newly confirmed dead, "
              f"{len(ch.recovered)} recovered, {len(ch.new_drift)} new drift.**", ""]
    lines += ["## Newly failing", ""] + _change_lines(ch.newly_failing, "reason")
    lines += ["## Newly confirmed dead", ""] + _change_lines(ch.newly_confirmed_dead, "none")
    lines += ["## Recovered", ""] + _change_lines(ch.recovered, "reason")
    lines += ["## New drift", ""]
    if ch.drift_is_current and ch.new_drift:
        lines += ["(The database keeps no drift history, so this lists every claim drifting now.)", ""]
    if ch.new_drift:
        for a, c in ch.new_drift:
            lines.append(f"- {md_link(a.title or Path(a.path).name, a.slug + '.md')}: "
                         f"{sentence_md(c, MAX_TABLE_SENTENCE_CHARS)} ({md_link(short_url(c.url or ''), c.url)})")
        lines.append("")
    else:
        lines += ["None.", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_reports(db: sqlite_utils.Database | Path, reports_dir: Path, run_id: int | None = None) -> list[Path]:
    """Write one report per article, ``index.md`` and ``changes.md`` from the database; return the paths.

    ``run_id`` picks the run whose verdicts are shown (default: the last run).
    Reports of articles no longer in the database are removed so the folder
    mirrors the database.
    """
    data = load_view(db, run_id)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for article in data.articles:
        path = reports_dir / f"{article.slug}.md"
        path.write_text(render_article(article, data.run), encoding="utf-8")
        written.append(path)
    for name, text in (("index.md", render_index(data)), ("changes.md", render_changes(data))):
        path = reports_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------- compatibility


def render_from_db(db_path: Path, reports_dir: Path) -> list[Path]:
    """Deprecated name for :func:`render_reports` (the last run)."""
    return render_reports(db_path, reports_dir)


def write_reports(result: AuditResult, reports_dir: Path) -> list[Path]:
    """Deprecated (audit.py should call :func:`render_reports` with its database): the old in-memory reports."""
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
            lines.append(f"| {cr.claim.position} | {cr.check.verdict if cr.check else 'unchecked'} "
                         f"| {escape_md(cr.claim.anchor or '')} | {escape_md(cr.claim.url or '')} |")
        path = reports_dir / f"{slug}.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
        index_rows.append(f"- [{escape_md(article.title or article.path)}]({slug}.md): {ok} of {len(links)} OK")
    index = reports_dir / "index.md"
    index.write_text("# provenance audit\n\n" + "\n".join(index_rows) + "\n", encoding="utf-8")
    written.append(index)
    return written


# --------------------------------------------------------------------------- datasette (provenance browse)

#: The metadata shipped beside the code (db/metadata.yml in the repository).
DEFAULT_METADATA = Path(__file__).resolve().parent.parent / "db" / "metadata.yml"
#: The database name db/metadata.yml is written for (datasette names a database after its file).
METADATA_DB_NAME = "provenance"


class BrowseError(Exception):
    """``provenance browse`` cannot start: one line for the user."""


def find_metadata(db_path: Path) -> Path | None:
    """``metadata.yml`` beside the database, else the repository's ``db/metadata.yml``."""
    for candidate in (Path(db_path).parent / "metadata.yml", DEFAULT_METADATA):
        if candidate.is_file():
            return candidate
    return None


def datasette_metadata(db_path: Path, metadata_path: Path) -> dict[str, Any]:
    """The metadata with its database key renamed to ``db_path``'s name, so ``--db other.db`` keeps it."""
    import yaml

    try:
        meta = yaml.safe_load(Path(metadata_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BrowseError(f"cannot read datasette metadata {metadata_path}: {exc}") from exc
    databases = meta.get("databases") or {}
    name = Path(db_path).stem
    if METADATA_DB_NAME in databases and name != METADATA_DB_NAME:
        databases[name] = databases.pop(METADATA_DB_NAME)
    return meta


def browse_command(db_path: Path, host: str, port: int, metadata_file: Path | None) -> list[str]:
    """The datasette command line that serves ``db_path`` (read by ``provenance browse``)."""
    import sys

    cmd = [sys.executable, "-m", "datasette", "serve", str(db_path), "--host", host, "--port", str(port)]
    if metadata_file is not None:
        cmd += ["--metadata", str(metadata_file)]
    return cmd


def browse_url(db_path: Path, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{Path(db_path).stem}"


def check_port_free(host: str, port: int) -> None:
    """Fail early with one line when the address is taken, instead of datasette's traceback."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BrowseError(f"cannot serve on {host}:{port}: {exc.strerror or exc} (choose another --port/--host)") \
                from exc


def prepare_browse(db_path: Path, host: str, port: int, workdir: Path) -> tuple[list[str], str]:
    """Check the database and address, write the metadata for its name into ``workdir``; (command, URL)."""
    from .store import StoreError, check_database_file

    db_path = Path(db_path)
    if not db_path.is_file():
        raise BrowseError(f"no database at {db_path}: run 'provenance audit' first")
    try:
        check_database_file(db_path)
    except StoreError as exc:
        raise BrowseError(str(exc)) from exc
    check_port_free(host, port)
    metadata = find_metadata(db_path)
    metadata_file = None
    if metadata is not None:
        metadata_file = Path(workdir) / "metadata.json"
        metadata_file.write_text(json.dumps(datasette_metadata(db_path, metadata)), encoding="utf-8")
    return browse_command(db_path, host, port, metadata_file), browse_url(db_path, host, port)
