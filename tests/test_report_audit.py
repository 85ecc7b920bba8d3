"""End to end: real audits against the loopback simulator and fake Wayback write reports that tell the story.

Three nightly runs days apart: a cited page is gone every night (confirmed
dead on the third), another one changes so it no longer carries its claim
(drift), a third keeps working; reports/ follows, rendered from the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fake_wayback import FakeWayback
from provenance import report
from pages import CHANGED, CLAIM, PAGE
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.wayback import WaybackOptions

T0 = datetime(2026, 2, 1, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_three_nights_of_audits_render_problems_and_changes(sim, tmp_path):
    site = sim.site()
    ok_url = site.page("/ok", PAGE)
    drift_url = site.page("/budget", PAGE)
    gone_url = site.page("/gone", "<title>Not found</title>", status=404)
    fw = FakeWayback(sim)
    fw.add(drift_url, "20240520120000", body=PAGE)
    fw.add(gone_url, "20240521120000", body=PAGE)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "budget.md").write_text(
        "---\ntitle: Flood | barrier [budget]\ndate: 2024-06-01\nauthors: [Ann]\n---\n\n"
        f"{CLAIM} according to [the committee]({drift_url}).\n\n"
        f"The figures were [checked by auditors]({ok_url}) last year.\n\n"
        f"An earlier [review]({gone_url}) found the same gap.\n", encoding="utf-8")
    (docs / "quiet.md").write_text("---\ntitle: Quiet note\ndate: 2024-07-01\n---\n\nNo links here at all.\n",
                                   encoding="utf-8")
    clock = Clock()
    reports = tmp_path / "reports"
    opts = AuditOptions(db_path=tmp_path / "provenance.db", reports_dir=reports, force=True, clock=clock,
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=20, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=20))
    run_audit([docs], opts)
    first = (reports / "flood-barrier-budget.md").read_text()
    assert "### dead: review" in first
    assert "failing (1 of 3 checks before confirmed dead)" in first
    assert "data-versionurl=" in first and "20240521120000" in first
    assert (reports / "quiet-note.md").exists()
    site.page("/budget", CHANGED)
    for _night in range(2):
        clock.now += timedelta(days=4)
        run_audit([docs], opts)
    text = (reports / "flood-barrier-budget.md").read_text()
    assert text.startswith("# Flood \\| barrier \\[budget\\]\n")
    assert "**1 of 3 cited sources OK, 1 dead, 1 drifted**" in text
    problems = text.split("## Problems")[1].split("## All cited sources")[0]
    assert problems.index("### dead: review") < problems.index("### drifted: the committee")
    assert "confirmed dead on 2026-02-09" in problems
    changes = (reports / "changes.md").read_text()
    confirmed = changes.split("## Newly confirmed dead")[1].split("## Recovered")[0]
    assert gone_url.split("//")[1] in confirmed
    index = (reports / "index.md").read_text()
    assert index.index("flood-barrier-budget.md") < index.index("quiet-note.md")
    # `provenance report` re-renders the same files from the database alone
    again = tmp_path / "again"
    report.render_reports(tmp_path / "provenance.db", again)
    for name in ("flood-barrier-budget.md", "quiet-note.md", "index.md", "changes.md"):
        assert (again / name).read_text() == (reports / name).read_text(), name
