"""Reports rendered from a database built here, compared with tests/golden/*.md.

The database is built with the store's own schema (``store.open_store``) and
plain sqlite-utils inserts with fixed dates, so the output is byte-stable.
It is also the test database for the datasette and browser tests.

Regenerate the expected files after an intended change with::

    PROVENANCE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_golden.py

which writes the files and fails, showing the diff of each that changed; review ``git diff tests/golden/``,
then run again without the variable (green) before committing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from datetime import datetime, timedelta, timezone

import pytest
from markdown_it import MarkdownIt

from provenance import report, store
from provenance.models import Article, CheckResult, Claim, Drift, Snapshot, iso_z

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PROVENANCE_UPDATE_GOLDEN") == "1"

#: The three nightly runs of the test database (rot needs failing checks days apart).
RUN_TIMES = [datetime(2025, 12, 18, 2, 0, tzinfo=timezone.utc), datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc),
             datetime(2026, 1, 8, 2, 0, tzinfo=timezone.utc)]

LONG = ("In a sprawling statement that ran to several paragraphs, the ministry said that it had reviewed every "
        "contract signed between 2019 and 2023, that none of them had breached procurement law, that the auditors "
        "had been given full access to the files, and that the final figures were set out in the annex to the "
        "annual accounts published in March.")

#: url -> (verdict in runs 1, 2, 3), status of the last, final_url, reason of the last
URLS = {
    "https://example.org/report": (("ok", "ok", "ok"), 200, None, ""),
    "https://gone.example.net/study": (("dead", "dead", "dead"), 404, None, "HTTP 404"),
    "https://news.example.com/story": (("ok", "ok", "soft404"), 200, None, "soft-404 phrase: page not found"),
    "https://data.example.org/table": (("ok", "ok", "ok"), 200, None, ""),
    "https://old.example.org/page": (("redirect", "redirect", "redirect"), 301, "https://new.example.org/page",
                                     "moved permanently"),
    "https://paywall.example.com/a": (("blocked", "blocked", "blocked"), 403, None, "bot wall: cloudflare"),
    "https://back.example.org/": (("dead", "dead", "ok"), 200, None, ""),
    "https://ministry.example.gov/annex": (("ok", "ok", "ok"), 200, None, ""),
    "https://slow.example.com/x": (("ok", "ok", "error"), None, None, "timeout after 3 attempts"),
}

#: (url, article date) -> Wayback timestamp (None: the archive has no good capture)
SNAPSHOTS = {
    ("https://gone.example.net/study", "2025-06-01"): "20250530120000",
    ("https://news.example.com/story", "2025-06-01"): "20250601080000",
    ("https://data.example.org/table", "2025-06-01"): "20250515000000",
    ("https://ministry.example.gov/annex", "2025-06-01"): None,
}


def _link(pos: int, sentence: str, url: str, anchor: str) -> Claim:
    return Claim(kind="link", sentence=sentence, position=pos, url=url, anchor=anchor)


def _attr(pos: int, sentence: str, source: str) -> Claim:
    return Claim(kind="attribution", sentence=sentence, position=pos, source=source)


def sample_articles() -> list[Article]:
    """The articles of the test database: escaping, a long sentence, no links, a title clash, no title."""
    return [
        Article(path="articles/budget.md", title="Budget | audit [draft] *notes*", published="2025-06-01",
                authors=["Ann Author", "Bob_Builder"], canonical_url="https://paper.example/budget", format="markdown",
                claims=[
                    _link(1, "The report | table 3 says spending rose [1] by 4% in 2024.", "https://example.org/report",
                          "The report"),
                    _link(2, "A 2019 study found the scheme cost <b>twice</b> the estimate.",
                          "https://gone.example.net/study", "2019 study"),
                    _link(3, "The story was first reported by a local paper_with_underscores.",
                          "https://news.example.com/story", "first reported"),
                    _link(4, "The official table lists 1,204 contracts.", "https://data.example.org/table",
                          "official table"),
                    _link(5, "The guidance was updated last year.", "https://old.example.org/page", "guidance"),
                    _link(6, "Critics called it a giveaway.", "https://paywall.example.com/a", "called it"),
                    _link(7, "The agency is back online.", "https://back.example.org/", "back online"),
                    _link(8, LONG, "https://ministry.example.gov/annex", "annex to the annual accounts"),
                    _attr(9, "According to the Washington Post, the vote was delayed.", "the Washington Post"),
                    _attr(10, "People familiar with the matter said the deal [was] off.",
                          "people familiar with the matter"),
                ]),
        Article(path="articles/no-links.txt", title="Opinion without links", published="2025-07-04", format="text",
                claims=[_attr(1, "The minister told Reuters the plan would go ahead.", "Reuters")]),
        Article(path="articles/budget-followup.html", title="Budget | audit [draft] *notes*", published="2025-08-01",
                authors=["Cy"], format="html",
                claims=[_link(1, "Costs are tracked on a slow site.", "https://slow.example.com/x", "slow site"),
                        _link(2, "The same study still matters.", "https://gone.example.net/study", "same study")]),
        Article(path="articles/2025_untitled | note.txt", format="text"),
    ]


#: Kept in run 1 only, so it is marked removed and must vanish from the reports.
REMOVED = Article(path="articles/removed.md", title="Removed article", format="markdown",
                  claims=[_link(1, "Gone with the article.", "https://example.org/report", "Gone")])


def build_audit_db(path: Path, offline_last_run: bool = False) -> Path:
    """Write the test database at ``path`` through the store's own functions, with fixed clocks.

    Three runs a week or two apart: one URL fails every night (confirmed dead
    in run 3), one fails for the first time, one recovers, one drifts. With
    ``offline_last_run`` a fourth, offline run follows (everything unchecked).
    The file name is the datasette database name.
    """
    db = store.open_store(path)
    articles = sample_articles()
    claim_ids: dict[str, int] = {}
    for n, now in enumerate(RUN_TIMES):
        run_id = store.start_run(db, {"paths": ["articles"]}, False, now=now)
        items = articles + ([REMOVED] if n == 0 else [])
        store.save_articles(db, [(a, f"sha-{a.path}") for a in items], run_id, now=now)
        if n == 2:
            store.mark_removed(db, [a.path for a in articles], now)
        results = []
        for url, (verdicts, status, final, reason) in URLS.items():
            verdict = verdicts[n]
            last = verdict == verdicts[2]
            results.append(CheckResult(url=url, verdict=verdict, status=status if last else 200,
                                       final_url=final, reason=reason if last else "", attempts=1, elapsed_ms=10,
                                       checked_at=iso_z(now + timedelta(minutes=1))))
        for row in db.query("select id, url from claims where kind = 'link'"):
            claim_ids.setdefault(row["url"], row["id"])
        drifts = []
        if n == 2:
            table = db.execute("select id from claims where url = ?", ["https://data.example.org/table"]).fetchone()[0]
            drifts = [(table, Drift(True, 0.2, 0.8, "snapshot carries the claim, live page no longer does"))]
            report_claim = db.execute("select id from claims where url = ? and article_id = 1",
                                      ["https://example.org/report"]).fetchone()[0]
            drifts.append((report_claim, Drift(False, 0.9, 0.9, "live page still carries the claim")))
        store.save_checks(db, run_id, results, now=now + timedelta(minutes=2), drifts=drifts)
        if n == 0:
            store.save_snapshots(db, {(url, date): Snapshot(url, ts, f"https://web.archive.org/web/{ts}/{url}"
                                                            if ts else None, 200 if ts else None,
                                                            "" if ts else "no capture")
                                      for (url, date), ts in SNAPSHOTS.items()}, now=now)
        store.finish_run(db, run_id, len(articles), sum(len(a.claims) for a in articles), len(URLS),
                         {}, now=now + timedelta(minutes=5))
    if offline_last_run:
        now = RUN_TIMES[-1] + timedelta(days=1)
        run_id = store.start_run(db, {"paths": ["articles"]}, True, now=now)
        store.save_checks(db, run_id, [CheckResult(url=u, verdict="unchecked", reason="offline") for u in URLS],
                          now=now)
        store.finish_run(db, run_id, len(articles), 0, len(URLS), {}, now=now + timedelta(minutes=1))
    db.conn.close()
    return path


@pytest.fixture
def rendered(tmp_path) -> dict[str, str]:
    db_path = build_audit_db(tmp_path / "provenance.db")
    out = tmp_path / "reports"
    written = report.render_reports(db_path, out)
    assert all(p.parent == out for p in written)
    return {p.name: p.read_text(encoding="utf-8") for p in written}


EXPECTED_FILES = ["budget-audit-draft-notes.md", "opinion-without-links.md",
                  "budget-audit-draft-notes-budget-followup.md", "2025-untitled-note.md", "index.md", "changes.md"]


def test_report_files_and_slugs(rendered):
    assert sorted(rendered) == sorted(EXPECTED_FILES)


def check_golden(golden: Path, text: str, update: bool) -> None:
    """Compare ``text`` with the golden file; with ``update``, write it, and fail with the diff when it changed.

    An update run is never silently green: whatever it changed is shown, and passes only on a second run
    (after ``git diff tests/golden/`` was read).
    """
    old = golden.read_text(encoding="utf-8") if golden.exists() else None
    if update and old != text:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        pytest.fail(f"{golden.name} {'written' if old is None else 'updated'}; review, then run again without "
                    f"PROVENANCE_UPDATE_GOLDEN:\n" + _diff(old or "", text, golden.name), pytrace=False)
    assert old is not None, f"missing {golden}; run with PROVENANCE_UPDATE_GOLDEN=1 to create it"
    if text != old:
        pytest.fail(f"{golden.name} differs from the rendering (- golden, + now):\n" + _diff(old, text, golden.name),
                    pytrace=False)


def _diff(old: str, new: str, name: str) -> str:
    import difflib

    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"golden/{name}", "rendered", lineterm=""))
    return "\n".join(lines[:200])


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_report_matches_golden(rendered, name):
    check_golden(GOLDEN / name, rendered[name], UPDATE)


def test_a_golden_update_run_fails_with_the_diff_and_writes_the_file(tmp_path):
    golden = tmp_path / "golden" / "a.md"
    with pytest.raises(pytest.fail.Exception, match="a.md written"):
        check_golden(golden, "line one\n", update=True)
    assert golden.read_text() == "line one\n"
    with pytest.raises(pytest.fail.Exception, match=r"(?s)a.md updated.*-line one.*\+line two"):
        check_golden(golden, "line two\n", update=True)
    assert golden.read_text() == "line two\n"
    check_golden(golden, "line two\n", update=True)   # nothing changed: nothing to review
    check_golden(golden, "line two\n", update=False)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)differs.*\+line three"):
        check_golden(golden, "line three\n", update=False)
    assert golden.read_text() == "line two\n"          # a compare run never writes
    with pytest.raises(AssertionError, match="missing"):
        check_golden(tmp_path / "none.md", "x", update=False)


def test_escaping_of_pipes_and_brackets(rendered):
    text = rendered["budget-audit-draft-notes.md"]
    assert "# Budget \\| audit \\[draft\\] \\*notes\\*" in text
    assert "**The report** \\| table 3 says spending rose \\[1\\] by 4% in 2024." in text
    assert "paper\\_with\\_underscores" in text
    assert "\\<b\\>twice\\</b\\>" in text
    assert "<b>twice" not in text


def _tables(md: MarkdownIt, text: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts, from a real GFM parse."""
    tokens = md.parse(text)
    tables, rows, row, cell = [], None, None, None
    for tok in tokens:
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("td_open", "th_open"):
            cell = ""
        elif tok.type == "inline" and cell is not None:
            cell += tok.content
        elif tok.type in ("td_close", "th_close"):
            row.append(cell)
            cell = None
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type == "table_close":
            tables.append(rows)
    return tables


def test_reports_are_valid_gfm(rendered):
    """Tables keep their column count (escaped pipes), and brackets in sentences never become links."""
    md = MarkdownIt("commonmark").enable("table")
    tables_seen = links_seen = 0
    for name, text in rendered.items():
        for table in _tables(md, text):
            tables_seen += 1
            widths = {len(row) for row in table}
            assert len(widths) == 1, (name, table)
        html = md.render(text)
        assert "<a href=\"1\"" not in html
        # every link in the reports points to a report, a cited URL or a snapshot
        for href in re.findall(r'<a href="([^"]+)"', html):
            links_seen += 1
            assert href.endswith(".md") or href.startswith("https://"), (name, href)
    # The loops looked at something: the tables (index, changes, a report) and the links of every file.
    assert tables_seen >= 3 and links_seen >= 10, (tables_seen, links_seen)
    budget = md.render(rendered["budget-audit-draft-notes.md"])
    assert "<strong>The report</strong> | table 3 says spending rose [1] by 4% in 2024." in budget


def test_article_with_no_links(rendered):
    text = rendered["opinion-without-links.md"]
    assert "**no cited sources, 1 unlinked attribution**" in text
    assert "This article cites no links." in text
    assert "- Reuters: The minister told Reuters the plan would go ahead." in text


def test_problems_come_first_worst_first(rendered):
    text = rendered["budget-audit-draft-notes.md"]
    problems = text.split("## Problems")[1].split("## All cited sources")[0]
    order = re.findall(r"^### ([a-z ()0-9]+):", problems, re.M)
    assert order == ["dead", "gone (soft 404)", "drifted", "blocked", "moved"]
    assert "confirmed dead on 2026-01-08" in problems
    assert "failing (1 of 3 checks before confirmed dead); first failed 2026-01-08" in problems
    assert ('<a href="https://gone.example.net/study" data-versionurl="https://web.archive.org/web/20250530120000/'
            'https://gone.example.net/study" data-versiondate="2025-06-01">2019 study</a>') in problems
    assert "Replace with: [new.example.org/page](https://new.example.org/page)" in problems
    assert "**3 of 8 cited sources OK, 1 dead, 1 soft404, 1 blocked, 1 drifted, 1 moved, 2 unlinked attributions**" \
        in text


def test_long_sentence_shortened_on_word_boundary(rendered):
    text = rendered["budget-audit-draft-notes.md"]
    row = next(line for line in text.splitlines() if line.startswith("| 8 |"))
    assert "**annex to the annual accounts**" in row
    cell = row.split(" | ")[3]
    assert "…" in cell
    assert len(LONG) > report.MAX_TABLE_SENTENCE_CHARS
    plain = cell.replace("\\", "").replace("**", "")
    assert len(plain) <= report.MAX_TABLE_SENTENCE_CHARS + 2
    for piece in plain.strip("…").split(" "):
        assert piece in LONG  # cut between words, never inside one


def test_anonymous_sources_called_out(rendered):
    text = rendered["budget-audit-draft-notes.md"]
    assert "- people familiar with the matter **(anonymous source)**:" in text
    assert "- the Washington Post: According to the Washington Post" in text
    assert "1 attribution cites an anonymous source" in text


def test_index_sorted_by_attention(rendered):
    index = rendered["index.md"]
    links = re.findall(r"^\| \[[^\]]*?(?:\\\][^\]]*?)*\]\(([^)]+)\)", index, re.M)
    assert links == ["budget-audit-draft-notes.md", "budget-audit-draft-notes-budget-followup.md",
                     "opinion-without-links.md", "2025-untitled-note.md"]
    assert "Removed article" not in index
    assert "offline" not in index


def test_changes_sections(rendered):
    changes = rendered["changes.md"]
    assert "Run 3 (2026-01-08T02:00:00Z) compared with run 2 (2026-01-01T02:00:00Z)." in changes
    failing = changes.split("## Newly failing")[1].split("## Newly confirmed dead")[0]
    assert "news.example.com/story" in failing and "`ok` → `soft404`" in failing
    confirmed = changes.split("## Newly confirmed dead")[1].split("## Recovered")[0]
    assert "gone.example.net/study" in confirmed
    recovered = changes.split("## Recovered")[1].split("## New drift")[0]
    assert "back.example.org" in recovered and "`dead` → `ok`" in recovered
    assert "data.example.org/table" in changes.split("## New drift")[1]


def test_offline_run_notice(tmp_path):
    db_path = build_audit_db(tmp_path / "provenance.db", offline_last_run=True)
    out = tmp_path / "r"
    report.render_reports(db_path, out)
    assert "This run was offline" in (out / "index.md").read_text()
    assert "This run was offline" in (out / "changes.md").read_text()
    text = (out / "budget-audit-draft-notes.md").read_text()
    assert "| 2 | `dead` |" in text  # the last real verdict stands; offline never hides or invents rot
    assert "confirmed dead on 2026-01-08" in text
    assert "**0 newly failing, 0 newly confirmed dead, 0 recovered, 0 new drift.**" in (out / "changes.md").read_text()


def test_stale_generated_reports_removed_others_kept(tmp_path):
    db_path = build_audit_db(tmp_path / "provenance.db")
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes-by-a-person.md").write_text("# my notes\n")
    (out / "old-slug.md").write_text(f"# old\n\n{report.GENERATED_MARK}\n")
    written = report.render_reports(db_path, out)
    names = {p.name for p in out.glob("*.md")}
    assert "old-slug.md" not in names and "notes-by-a-person.md" in names
    assert names - {"notes-by-a-person.md"} == {p.name for p in written}


def test_earlier_run_can_be_rendered(tmp_path):
    db_path = build_audit_db(tmp_path / "provenance.db")
    out = tmp_path / "r2"
    report.render_reports(db_path, out, run_id=2)
    text = (out / "budget-audit-draft-notes.md").read_text()
    assert "Audit run: 2 (2026-01-01T02:00:00Z)" in text
    assert "| 3 | `ok` |" in text and "| 7 | `dead` |" in text
    assert "confirmed dead on" not in text  # confirmed only in run 3
    assert "failing (2 of 3 checks before confirmed dead)" in text
    changes = (out / "changes.md").read_text()
    assert "**0 newly failing, 0 newly confirmed dead, 0 recovered, 0 new drift.**" in changes
    report.render_reports(db_path, tmp_path / "r1", run_id=1)
    first = (tmp_path / "r1" / "changes.md").read_text()
    assert "is the first run" in first
    assert "gone.example.net/study" in first.split("## Newly failing")[1].split("## Newly confirmed dead")[0]


def test_slugs_stable_and_unique():
    slugs = report.assign_slugs([(2, "b/x.md", "Same title"), (1, "a/y.md", "Same title"), (3, "c/index.md", None),
                                 (4, "d/changes.txt", "")])
    assert slugs[1] == "same-title"
    assert slugs[2] == "same-title-x"
    assert slugs[3] != "index" and slugs[4] != "changes"
    assert len(set(slugs.values())) == 4
    # adding a later article with the same title never renames the earlier ones
    again = report.assign_slugs([(1, "a/y.md", "Same title"), (2, "b/x.md", "Same title"), (9, "z/x.md", "Same title")])
    assert again[1] == slugs[1] and again[2] == slugs[2] and again[9] not in (slugs[1], slugs[2])


def test_shorten_keeps_anchor_and_word_boundaries():
    words = " ".join(f"word{i}" for i in range(100))
    out = report.shorten(words, 60, "word90")
    assert "word90" in out and out.startswith("…") and len(out) <= 62
    assert all(w in words.split() for w in out.replace("…", " ").split())
    assert report.shorten("short", 60) == "short"


def test_report_command_rerenders_without_network(tmp_path):
    db_path = build_audit_db(tmp_path / "provenance.db")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "provenance", "report", "--db", str(db_path), "--reports", str(out),
                           "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PROVENANCE_WAYBACK_URL": "http://127.0.0.9:9"})
    assert proc.returncode == 0, proc.stderr
    from provenance.charts import DOMAIN_CHART, ROT_CHART  # the SVG charts beside index.md are listed too

    assert sorted(Path(p).name for p in json.loads(proc.stdout)) == sorted([*EXPECTED_FILES, ROT_CHART, DOMAIN_CHART])
    assert (out / "budget-audit-draft-notes.md").read_text() == (GOLDEN / "budget-audit-draft-notes.md").read_text()


def test_report_command_missing_db(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "provenance", "report", "--db", str(tmp_path / "nope.db")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "no database" in proc.stderr
    assert not (tmp_path / "nope.db").exists()
