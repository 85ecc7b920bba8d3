"""Report rendering from hand-built views: Robust Links dates and the index's order of attention.

These build ``report.ArticleView`` / ``ClaimView`` directly (no database),
so each case is exactly the one under test.
"""

from __future__ import annotations

import re

from provenance import report
from provenance.report import ArticleView, ClaimView, ReportData, RunView, Changes

RUN = RunView(id=7, started_at="2026-01-08T02:00:00Z", finished_at="2026-01-08T02:05:00Z")
SNAP = "https://web.archive.org/web/20250530120000/https://gone.example.net/study"


def dead_claim(position: int = 1) -> ClaimView:
    return ClaimView(id=position, kind="link", position=position, sentence="A study found the cost doubled.",
                     url="https://gone.example.net/study", anchor="study", verdict="dead", status=404,
                     snapshot_url=SNAP, snapshot_timestamp="20250530120000")


def article(path: str, title: str | None, claims: list[ClaimView], published: str | None = None,
            n: int = 1) -> ArticleView:
    return ArticleView(id=n, path=path, slug=report.slugify(title or path), title=title, published=published,
                       authors=[], canonical_url=None, claims=claims)


def _markup(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip().startswith("<a href="))


# --------------------------------------------------------------------------- Robust Links date


def test_robust_link_date_is_the_articles_publication_date():
    text = report.render_article(article("a.md", "Dated", [dead_claim()], published="2025-06-14T08:00:00Z"), RUN)
    markup = _markup(text)
    assert 'data-versiondate="2025-06-14"' in markup
    assert f'data-versionurl="{SNAP}"' in markup
    assert "- Snapshot: [2025-05-30]" in text  # the snapshot line keeps the capture's own date


def test_robust_link_date_falls_back_to_the_snapshot_for_an_undated_article():
    for published in (None, "", "sometime in spring"):
        markup = _markup(report.render_article(article("a.md", "Undated", [dead_claim()], published=published), RUN))
        assert 'data-versiondate="2025-05-30"' in markup, published
