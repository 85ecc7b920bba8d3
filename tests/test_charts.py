"""The charts beside reports/index.md (SVG, pygal) and the same numbers in datasette (canned queries, datasette-vega)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette

from provenance import charts, report
from provenance.report import ArticleView, ClaimView
from test_datasette_metadata import METADATA, _rows
from test_report_golden import build_audit_db

SVG = "{http://www.w3.org/2000/svg}"


def bars(path: Path, series: tuple[str, ...]) -> dict[tuple[str, str], tuple[str, str]]:
    """(x label, series name) -> (printed value, label) of every non-empty bar in a pygal SVG, parsed back."""
    root = ET.parse(path).getroot()  # parses: a broken SVG fails here
    assert root.tag == f"{SVG}svg"
    out = {}
    for group in root.iter(f"{SVG}g"):
        cls = group.get("class", "")
        if not cls.startswith("series serie-"):
            continue
        name = series[int(cls.split()[1].removeprefix("serie-"))]
        for bar in group.iter(f"{SVG}g"):
            if bar.get("class") != "bar":
                continue
            desc = {d.get("class"): d.text for d in bar.findall(f"{SVG}desc")}
            if desc["value"] not in ("0", "0%"):  # a stacked chart draws empty bars for missing values
                out[(desc["x_label"], name)] = (desc["value"], desc["label"])
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("charts")
    db = build_audit_db(folder / "provenance.db")
    report.render_reports(db, folder / "reports")
    return db, folder / "reports"


def test_index_embeds_both_charts_and_they_carry_the_runs_numbers(rendered):
    _db, out = rendered
    index = (out / "index.md").read_text()
    assert f"]({charts.ROT_CHART})" in index and f"]({charts.DOMAIN_CHART})" in index
    rot = bars(out / charts.ROT_CHART, charts.ROT_CATEGORIES)
    # the golden run: 10 cited links in 2025 articles: 2 dead, 1 soft404, 1 drifted, 2 blocked/error, 4 fine
    assert rot == {("2025", "dead"): ("20%", "2 of 10 cited links"), ("2025", "soft404"): ("10%", "1 of 10 cited links"),
                   ("2025", "drifted"): ("10%", "1 of 10 cited links"),
                   ("2025", "could not tell"): ("20%", "2 of 10 cited links"),
                   ("2025", "fine"): ("40%", "4 of 10 cited links")}
    domains = bars(out / charts.DOMAIN_CHART, charts.DOMAIN_PROBLEMS)
    assert domains == {("gone.example.net", "dead"): ("2", "2 dead"), ("news.example.com", "soft404"): ("1", "1 soft404"),
                       ("data.example.org", "drifted"): ("1", "1 drifted"),
                       ("paywall.example.com", "blocked"): ("1", "1 blocked"),
                       ("slow.example.com", "error"): ("1", "1 error")}
    text = (out / charts.ROT_CHART).read_text()
    assert "<script" not in text.replace('<script type="text/javascript">window.pygal', "")  # no external script
    assert "http://" not in text.replace("http://www.w3.org", "").replace("http://pygal.org", "") \
        .replace("http://github.com/Kozea/pygal", "")


def test_datasette_shows_the_same_numbers(rendered):
    db, out = rendered
    rot = {(r["year"], r["category"]): (f"{r['share']:g}%", f"{r['links']} of 10 cited links")
           for r in _rows(db, "link_rot_by_year")}
    assert rot == bars(out / charts.ROT_CHART, charts.ROT_CATEGORIES)
    domains = {(r["domain"], r["problem"]): (str(r["links"]), f"{r['links']} {r['problem']}")
               for r in _rows(db, "problem_domains")}
    assert domains == bars(out / charts.DOMAIN_CHART, charts.DOMAIN_PROBLEMS)


def test_datasette_vega_is_loaded_on_the_chart_queries(rendered):
    db, _out = rendered
    ds = Datasette(files=[str(db)], metadata=yaml.safe_load(METADATA.read_text()))

    async def fetch() -> tuple[list, str]:
        plugins = (await ds.client.get("/-/plugins.json")).json()
        page = (await ds.client.get("/provenance/link_rot_by_year")).text
        return plugins, page

    plugins, page = asyncio.run(fetch())
    assert "datasette-vega" in {p["name"] for p in plugins}
    assert "/-/static-plugins/datasette_vega/" in page
    assert "g.mark=bar" in page and "g.color_column=category" in page


def _article(year: str | None, verdicts: list[tuple[str, bool | None, str]]) -> ArticleView:
    view = ArticleView(1, "a.md", "a", "A", year, [], None)
    for i, (verdict, drift, host) in enumerate(verdicts):
        view.claims.append(ClaimView(i, "link", i, "s", url=f"https://{host}/{i}", verdict=verdict, drift=drift,
                                     host=host))
    return view


def test_years_in_order_undated_last_and_top_domains():
    articles = [_article("2021-05-01", [("dead", None, "www.a.org"), ("ok", False, "b.org")]),
                _article(None, [("ok", True, "a.org")]),
                _article("2019-01-01", [("unchecked", None, "c.org"), ("redirect", None, "c.org")])]
    years = charts.rot_by_year(articles)
    assert list(years) == ["2019", "2021", "undated"]
    assert years["2019"] == Counter({"could not tell": 1, "fine": 1})
    assert years["undated"] == Counter({"drifted": 1})
    domains = charts.problem_domains(articles)
    assert domains == {"a.org": Counter({"dead": 1, "drifted": 1})}  # www. folded; c.org has no problem
    many = [_article("2020", [("dead", None, f"h{i:02}.org") for i in range(15)])]
    assert len(charts.problem_domains(many)) == charts.TOP_DOMAINS


def test_no_links_no_charts_and_stale_ones_removed(tmp_path):
    (tmp_path / charts.ROT_CHART).write_text("<svg/>")
    assert charts.write_charts([_article("2020", [])], tmp_path) == []
    assert not (tmp_path / charts.ROT_CHART).exists()
    made = charts.write_charts([_article("2020", [("ok", None, "a.org")])], tmp_path)
    assert [c.name for c in made] == [charts.ROT_CHART]  # nothing to show per domain
    assert bars(tmp_path / charts.ROT_CHART, charts.ROT_CATEGORIES) == {("2020", "fine"): ("100%", "1 of 1 cited links")}
