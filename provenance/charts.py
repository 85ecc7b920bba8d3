"""Charts for ``reports/index.md``: SVG files written next to it, drawn with pygal.

Two pictures people look at rather than read: the link-rot curve newsrooms
know from Pew Research's "When Online Content Disappears" (the share of an
article's cited links that are dead, gone or drifted, by the year the article
was published) and the domains with the most problem links.

pygal writes plain SVG with no display and no browser (import ~0.06 s and ~25 ms to draw, paid
only when reports are rendered); every number is in the file as text (the
value printed on each bar, and ``<desc>`` labels "3 of 12 cited links"), so
the charts read without scripts (GitHub shows SVGs as images) and tests can
parse the numbers back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import ArticleView, ClaimView

#: File names next to index.md.
ROT_CHART = "link-rot-by-year.svg"
DOMAIN_CHART = "problem-domains.svg"
#: Domains shown in the problem-domain chart.
TOP_DOMAINS = 10
#: What a cited link is, for the rot curve, in stacking order (worst at the bottom).
ROT_CATEGORIES = ("dead", "soft404", "drifted", "could not tell", "fine")
#: Problems counted per domain, in stacking order.
DOMAIN_PROBLEMS = ("dead", "soft404", "drifted", "blocked", "error")
#: A colour per category, so "dead" is red in both charts.
COLOURS = {"dead": "#c62828", "soft404": "#ef6c00", "drifted": "#6a1b9a", "could not tell": "#9e9e9e",
           "fine": "#2e7d32", "blocked": "#5d4037", "error": "#fbc02d"}
#: Label for articles without a publication date.
UNDATED = "undated"
WIDTH, HEIGHT = 860, 420


@dataclass
class Chart:
    """One chart written for the index: its file, the alt text, and the numbers it shows."""

    name: str
    title: str
    alt: str
    #: x label -> category -> count (the counts behind the bars).
    counts: dict[str, Counter] = field(default_factory=dict)


def rot_category(claim: "ClaimView") -> str:
    """Where a cited link sits on the rot curve."""
    if claim.verdict in ("dead", "soft404"):
        return claim.verdict
    if claim.drift:
        return "drifted"
    if claim.verdict in ("ok", "redirect"):
        return "fine"
    return "could not tell"  # blocked, error, unchecked: nothing known about the page


def domain_problem(claim: "ClaimView") -> str | None:
    """The problem a cited link counts as for its domain, or None."""
    if claim.verdict in ("dead", "soft404"):
        return claim.verdict
    if claim.drift:
        return "drifted"
    if claim.verdict in ("blocked", "error"):
        return claim.verdict
    return None


def rot_by_year(articles: Iterable["ArticleView"]) -> dict[str, Counter]:
    """Publication year -> rot category -> cited links; undated articles last."""
    years: dict[str, Counter] = {}
    for article in articles:
        published = article.published or ""
        year = published[:4] if re.match(r"\d{4}", published) else UNDATED
        for claim in article.links:
            years.setdefault(year, Counter())[rot_category(claim)] += 1
    return dict(sorted(years.items(), key=lambda kv: (kv[0] == UNDATED, kv[0])))


def problem_domains(articles: Iterable["ArticleView"], top: int = TOP_DOMAINS) -> dict[str, Counter]:
    """The ``top`` domains by problem links (ties by name) -> problem -> cited links."""
    hosts: dict[str, Counter] = {}
    for article in articles:
        for claim in article.links:
            problem = domain_problem(claim)
            if problem:
                hosts.setdefault(_domain(claim), Counter())[problem] += 1
    ranked = sorted(hosts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top]
    return dict(ranked)


def build_charts(articles: list["ArticleView"]) -> list[Chart]:
    """The charts worth drawing for these articles (none without cited links)."""
    charts = []
    years = rot_by_year(articles)
    if years:
        charts.append(Chart(ROT_CHART, "Cited links by the citing article's publication year",
                            "Share of cited links dead, soft-404, drifted and fine, by publication year", years))
    domains = problem_domains(articles)
    if domains:
        charts.append(Chart(DOMAIN_CHART, f"Domains with the most problem links (top {TOP_DOMAINS})",
                            "Domains with the most dead, soft-404, drifted, blocked or error links", domains))
    return charts


def render_svg(chart: Chart) -> str:
    """The chart as an SVG document (deterministic ids, no external scripts)."""
    import pygal
    from pygal.style import Style

    if chart.name == ROT_CHART:
        series = ROT_CATEGORIES
        kind = pygal.StackedBar
        options = {"y_title": "% of cited links", "range": (0, 100), "x_title": "publication year"}
    else:
        series = DOMAIN_PROBLEMS
        kind = pygal.HorizontalStackedBar
        most = max((sum(c.values()) for c in chart.counts.values()), default=1)
        step = max(1, -(-most // 10))
        options = {"x_title": "problem links", "y_labels": list(range(0, most + step, step))}  # whole links only
    style = Style(colors=tuple(COLOURS[s] for s in series), background="white", plot_background="white",
                  font_family="Helvetica, Arial, sans-serif", value_font_size=11)
    graph = kind(js=[], style=style, width=WIDTH, height=HEIGHT, explicit_size=True, title=chart.title,
                 print_values=True, print_zeroes=False, legend_at_bottom=True, truncate_legend=-1,
                 truncate_label=-1, **options)
    labels = list(chart.counts)
    if chart.name == DOMAIN_CHART:
        labels.reverse()  # a horizontal chart draws its first label at the bottom: most problems on top
    graph.x_labels = labels
    for name in series:
        values = []
        for label in labels:
            counts = chart.counts[label]
            total = sum(counts.values())
            n = counts.get(name, 0)
            if chart.name == ROT_CHART:
                share = round(100 * n / total, 1) if total else 0
                values.append({"value": share or None, "label": f"{n} of {total} cited links",
                               "formatter": _percent})
            else:
                values.append({"value": n or None, "label": f"{n} {name}", "formatter": str})
        graph.add(name, values)
    svg = graph.render(is_unicode=True)
    uid = getattr(graph, "uuid", None)
    if uid:
        svg = svg.replace(uid, "provenance-" + chart.name.removesuffix(".svg"))
    return svg


def write_charts(articles: list["ArticleView"], folder: Path) -> list[Chart]:
    """Draw the charts into ``folder``; an old chart with nothing to show is removed."""
    charts = build_charts(articles)
    names = {c.name for c in charts}
    for chart in charts:
        (Path(folder) / chart.name).write_text(render_svg(chart), encoding="utf-8")
    for stale in (ROT_CHART, DOMAIN_CHART):
        if stale not in names and (Path(folder) / stale).is_file():
            (Path(folder) / stale).unlink()
    return charts


def chart_files(folder: Path) -> list[Path]:
    """The charts in ``folder`` after a render: write_charts removed the stale ones, so these are the ones drawn."""
    return [Path(folder) / name for name in (ROT_CHART, DOMAIN_CHART) if (Path(folder) / name).is_file()]


def _percent(value: float) -> str:
    return f"{value:g}%"


def _domain(claim: "ClaimView") -> str:
    if claim.host:
        return claim.host.removeprefix("www.")
    from .urls import host_of

    return (host_of(claim.url or "") or "?").removeprefix("www.")
