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


# --------------------------------------------------------------------------- index order


def unchecked(position: int) -> ClaimView:
    return ClaimView(id=1000 + position, kind="link", position=position, sentence=f"Claim {position}.",
                     url=f"https://example.org/{position}", anchor="claim", verdict="unchecked")


def attribution(position: int) -> ClaimView:
    return ClaimView(id=2000 + position, kind="attribution", position=position, sentence="Reuters said so.",
                     source="Reuters")


def _index_order(articles: list[ArticleView]) -> list[str]:
    text = report.render_index(ReportData(RUN, articles, Changes(previous=None)))
    return re.findall(r"^\| \[([^\]]+)\]\(", text, re.M)


def test_index_ranks_unchecked_links_above_articles_without_links():
    articles = [
        article("none.md", "A no links at all", [], n=1),
        article("attr.md", "B only attributions", [attribution(1), attribution(2)], n=2),
        article("many.md", "Z fifty unchecked", [unchecked(i) for i in range(1, 51)], n=3),
        article("few.md", "Y two unchecked", [unchecked(1), unchecked(2)], n=4),
        article("dead.md", "X one dead", [dead_claim(1)], n=5),
    ]
    assert _index_order(articles) == ["X one dead", "Z fifty unchecked", "Y two unchecked", "B only attributions",
                                      "A no links at all"]


def test_index_problems_before_unchecked_worst_first_then_title():
    def with_verdict(verdict: str, drift: bool | None = None) -> ClaimView:
        c = unchecked(1)
        c.verdict, c.drift = verdict, drift
        return c

    articles = [
        article("u.md", "U unchecked", [unchecked(i) for i in range(1, 51)], n=1),
        article("e.md", "E error", [with_verdict("error")], n=2),
        article("b.md", "B blocked", [with_verdict("blocked")], n=3),
        article("d.md", "D drift", [with_verdict("ok", True)], n=4),
        article("s.md", "S soft404", [with_verdict("soft404")], n=5),
        article("x.md", "X dead", [with_verdict("dead")], n=6),
        article("a.md", "A ok", [with_verdict("ok")], n=7),
        article("c.md", "C ok", [with_verdict("ok")], n=8),
    ]
    order = _index_order(articles)
    assert order[:3] in (["S soft404", "X dead", "D drift"], ["X dead", "S soft404", "D drift"])
    assert order[3:] == ["B blocked", "E error", "U unchecked", "A ok", "C ok"]
