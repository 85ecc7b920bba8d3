"""db/metadata.yml in a real datasette: every canned query runs on the test database and returns the expected rows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette

from provenance import report
from test_report_golden import build_audit_db

ROOT = Path(__file__).resolve().parent.parent
METADATA = ROOT / "db" / "metadata.yml"

#: The five canned queries the issue asks for; a query added later needs its expected rows here too.
QUERIES = {"problem_claims", "links_needing_replacement", "unlinked_attributions", "changes_last_run",
           "hosts_most_failures", "link_rot_by_year", "problem_domains"}  # the last two: tests/test_charts.py


@pytest.fixture(scope="module")
def test_db(tmp_path_factory) -> Path:
    return build_audit_db(tmp_path_factory.mktemp("ds") / "provenance.db")


def _get(db: Path, path: str) -> dict | list:
    """GET ``path`` from an in-process datasette serving ``db`` with the metadata (no socket needed)."""
    ds = Datasette(files=[str(db)], metadata=yaml.safe_load(METADATA.read_text()))

    async def fetch():
        response = await ds.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        return response.json()

    return asyncio.run(fetch())


def _rows(db: Path, query: str) -> list[dict]:
    return _get(db, f"/provenance/{query}.json?_shape=array")


def test_metadata_declares_every_canned_query():
    meta = yaml.safe_load(METADATA.read_text())
    db_meta = meta["databases"]["provenance"]
    assert set(db_meta["queries"]) == QUERIES
    for name, query in db_meta["queries"].items():
        assert query["title"] and query["description"] and query["sql"], name
    assert meta["title"] and meta["description_html"]
    for table in ("runs", "articles", "claims", "urls", "checks", "snapshots"):
        assert db_meta["tables"][table]["description"], table
        assert db_meta["tables"][table]["columns"], table
    assert db_meta["tables"]["urls"]["facets"] == ["verdict", "host"]
    assert "article_id" in db_meta["tables"]["claims"]["facets"]


def test_every_table_column_is_described(test_db):
    """A column the store adds later must get a description (this fails until it has one)."""
    import sqlite_utils

    meta = yaml.safe_load(METADATA.read_text())["databases"]["provenance"]["tables"]
    db = sqlite_utils.Database(test_db)
    missing = [f"{t}.{c}" for t in ("runs", "articles", "claims", "urls", "checks", "snapshots", "article_sources")
               for c in db[t].columns_dict if c not in meta[t]["columns"]]
    assert not missing, f"describe these columns in db/metadata.yml: {missing}"


def test_problem_claims(test_db):
    rows = _rows(test_db, "problem_claims")
    got = [(r["path"], r["position"], r["verdict"], r["drift"]) for r in rows]
    assert got == [
        ("articles/budget-followup.html", 2, "dead", ""),
        ("articles/budget-followup.html", 1, "error", ""),
        ("articles/budget.md", 2, "dead", ""),
        ("articles/budget.md", 3, "soft404", ""),
        ("articles/budget.md", 4, "ok", "yes"),
        ("articles/budget.md", 6, "blocked", ""),
        ("articles/budget.md", 5, "redirect", ""),
    ]
    by_pos = {(r["path"], r["position"]): r for r in rows}
    assert by_pos[("articles/budget.md", 2)]["rot"] == "confirmed dead 2026-01-08"
    assert by_pos[("articles/budget.md", 3)]["rot"] == "failing (1 of 3)"
    assert by_pos[("articles/budget.md", 2)]["snapshot_url"] == \
        "https://web.archive.org/web/20250530120000/https://gone.example.net/study"
    assert "Removed article" not in json.dumps(rows)


def test_links_needing_replacement(test_db):
    rows = _rows(test_db, "links_needing_replacement")
    assert [(r["url"], r["verdict"], r["drift"]) for r in rows] == [
        ("https://gone.example.net/study", "dead", ""),
        ("https://news.example.com/story", "soft404", ""),
        ("https://data.example.org/table", "ok", "yes"),
        ("https://old.example.org/page", "redirect", ""),
    ]
    gone, story, table, moved = rows
    assert gone["snapshot_url"] == "https://web.archive.org/web/20250530120000/https://gone.example.net/study"
    assert gone["confirmed_dead_at"] == "2026-01-08T02:02:00Z"
    assert gone["cited_in"].count("Budget | audit [draft] *notes*") == 2
    assert story["snapshot_timestamp"] == "20250601080000"
    assert table["snapshot_url"].endswith("/https://data.example.org/table")
    assert moved["moved_to"] == "https://new.example.org/page" and moved["snapshot_url"] is None


def test_unlinked_attributions(test_db):
    rows = _rows(test_db, "unlinked_attributions")
    assert [(r["source"], r["anonymous"], r["path"]) for r in rows] == [
        ("people familiar with the matter", "yes", "articles/budget.md"),
        ("the Washington Post", "", "articles/budget.md"),
        ("Reuters", "", "articles/no-links.txt"),
    ]


def test_changes_last_run(test_db):
    rows = _rows(test_db, "changes_last_run")
    assert [(r["change"], r["url"], r["before"], r["after"]) for r in rows] == [
        ("newly confirmed dead", "https://gone.example.net/study", "dead", "dead"),
        ("newly failing", "https://news.example.com/story", "ok", "soft404"),
        ("new drift", "https://data.example.org/table", None, "ok"),
        ("recovered", "https://back.example.org/", "dead", "ok"),
        ("changed", "https://slow.example.com/x", "ok", "error"),
    ]
    assert rows[0]["cited_in"] == "Budget | audit [draft] *notes*"


def test_hosts_most_failures(test_db):
    rows = _rows(test_db, "hosts_most_failures")
    assert [(r["host"], r["failing"], r["blocked"], r["errors"], r["confirmed_dead"]) for r in rows] == [
        ("gone.example.net", 1, 0, 0, 1),
        ("news.example.com", 1, 0, 0, 0),
        ("paywall.example.com", 0, 1, 0, 0),
        ("slow.example.com", 0, 0, 1, 0),
    ]


def test_default_facets_and_descriptions_shown(test_db):
    data = _get(test_db, "/provenance/urls.json?_extra=facet_results")
    facets = data["facet_results"]
    names = set(facets["results"]) if "results" in facets else set(facets)
    assert {"verdict", "host"} <= names
    page = asyncio.run(_html(test_db, "/provenance/claims"))
    assert "Every cited link (kind = link) and unlinked attribution" in page


async def _html(db: Path, path: str) -> str:
    ds = Datasette(files=[str(db)], metadata=yaml.safe_load(METADATA.read_text()))
    response = await ds.client.get(path)
    assert response.status_code == 200
    return response.text


def test_datasette_cli_get_with_metadata(test_db):
    """The documented command line: datasette DB --metadata db/metadata.yml --get /provenance/<query>.json."""
    proc = subprocess.run([sys.executable, "-m", "datasette", str(test_db), "--metadata", str(METADATA), "--get",
                           "/provenance/hosts_most_failures.json?_shape=array"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["host"] == "gone.example.net"


def test_metadata_renamed_for_another_database_name(tmp_path):
    db = build_audit_db(tmp_path / "newsroom.db")
    meta = report.datasette_metadata(db, METADATA)
    assert "newsroom" in meta["databases"] and "provenance" not in meta["databases"]
    ds = Datasette(files=[str(db)], metadata=meta)

    async def fetch():
        return (await ds.client.get("/newsroom/hosts_most_failures.json?_shape=array")).json()

    assert asyncio.run(fetch())[0]["host"] == "gone.example.net"


def test_queries_run_on_an_empty_database(tmp_path):
    """A fresh database (before any audit) must not break a canned query."""
    from provenance import store

    store.open_store(tmp_path / "provenance.db").conn.close()
    for query in sorted(QUERIES):
        assert _rows(tmp_path / "provenance.db", query) == [], query
