"""Other archives' mementos through the commands users run: `snapshot --archives`, `audit`, the reports and the db."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_memento import FakeArchive
from fake_wayback import FakeWayback
from provenance import store
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.memento import MementoOptions
from provenance.wayback import WaybackOptions

ROOT = Path(__file__).resolve().parent.parent
DATE = "2024-11-20"
CLI_LIMIT = 60
MEMENTO_PAGE = ("<html><head><title>Budget report</title></head><body><article><h1>Budget report</h1>"
                "<p>The ministry found the tunnel scheme cost twice the estimate in its 2019 review of public "
                "works, and the committee published the figures with every contract and invoice attached for "
                "anyone to read in full.</p><p>Auditors traced overruns to late design changes, rising steel "
                "prices, contractor disputes over drainage, and a second tender after the original builder "
                "withdrew; engineers recommended independent oversight for future tunnels and bridges.</p>"
                "</article></body></html>")
LIVE_PAGE = ("<html><head><title>Gardening tips</title></head><body><article><h1>Gardening tips</h1>"
             "<p>Water tomatoes in the morning and keep the soil moist but never soaked; mulch helps the "
             "roots stay cool through the long summer afternoons in every kind of garden.</p></article></body></html>")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "PROVENANCE_WAYBACK_URL"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=CLI_LIMIT)


@pytest.fixture
def archive(sim):
    a = FakeArchive(sim)
    yield a
    a.close()


def test_snapshot_cli_names_the_archive(fake, archive):
    url = "https://example.org/only-elsewhere"
    memento = archive.add(url, "20241101083000")
    proc = run_cli("snapshot", url, "--date", DATE, "--json", "--wayback-url", fake.base_url, "--archives",
                   archive.timemap_base, "--timeout", "2", "--retries", "0")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    assert row == {"url": url, "timestamp": "20241101083000", "snapshot_url": memento, "status": 200,
                   "archive": archive.site.host}
    # The variable works like the option; an empty option turns the archives off.
    by_env = run_cli("snapshot", url, "--date", DATE, "--json", "--wayback-url", fake.base_url, "--timeout", "2",
                     env={"PROVENANCE_ARCHIVES": archive.timemap_base})
    assert json.loads(by_env.stdout)[0]["snapshot_url"] == memento
    off = run_cli("snapshot", url, "--date", DATE, "--json", "--wayback-url", fake.base_url, "--archives", "",
                  env={"PROVENANCE_ARCHIVES": archive.timemap_base})
    assert json.loads(off.stdout)[0]["timestamp"] is None


def test_a_bad_archives_value_is_one_line_and_exit_2(fake):
    proc = run_cli("snapshot", "https://example.org/", "--wayback-url", fake.base_url, "--archives", "ftp://x/tm/")
    assert proc.returncode == 2
    assert "invalid archive TimeMap base" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    audit = run_cli("audit", "--archives", "not a url", "--db", "/nonexistent/x.db")
    assert audit.returncode == 2 and "invalid archive" in audit.stderr and "Traceback" not in audit.stderr


def _audit(tmp_path: Path, fake: FakeWayback, docs: Path, bases: list[str]):
    return run_audit([docs], AuditOptions(
        db_path=tmp_path / "provenance.db", reports_dir=tmp_path / "reports",
        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False),
        wayback=WaybackOptions(base_url=fake.base_url, retries=0, timeout=5),
        memento=MementoOptions(archives=bases, retries=0, timeout=5)))


def test_audit_cites_another_archives_memento_for_a_dead_link(sim, fake, archive, tmp_path):
    site = sim.site()
    dead = site.page("/study", "<title>Not Found</title>", status=404)
    memento = archive.add(dead, "20241102000000")
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: A\ndate: {DATE}\n---\n\nA [2019 study]({dead}) found it.\n")
    result = _audit(tmp_path, fake, docs, [archive.timemap_base])
    [claim] = [c for a in result.to_dict()["articles"] for c in a["claims"]]
    assert claim["verdict"] == "dead"
    assert claim["snapshot"] == {"timestamp": "20241102000000", "snapshot_url": memento, "archive": archive.site.host}
    report = next(p for p in (tmp_path / "reports").glob("*.md") if p.name not in ("index.md", "changes.md"))
    text = report.read_text()
    assert f"- Snapshot: [2024-11-02]({memento}) ({archive.site.host})" in text
    assert f'data-versionurl="{memento}"' in text
    db = store.open_store(tmp_path / "provenance.db")
    try:
        assert [r["archive"] for r in db.query("select archive from snapshots")] == [archive.site.host]
        assert next(db.query("select snapshot_archive from claim_status"))["snapshot_archive"] == archive.site.host
        assert next(db.query("select replacement_archive from claims_needing_replacement"))["replacement_archive"] \
            == archive.site.host
    finally:
        db.close()
    # datasette facets the snapshots by archive (db/metadata.yml), and the canned query names it.
    facets = _datasette(tmp_path / "provenance.db", "/provenance/snapshots.json?_extra=facet_results")["facet_results"]
    facets = facets.get("results", facets)
    assert [v["value"] for v in facets["archive"]["results"]] == [archive.site.host]
    [row] = _datasette(tmp_path / "provenance.db", "/provenance/links_needing_replacement.json?_shape=array")
    assert row["archive"] == archive.site.host and row["snapshot_url"] == memento


def _datasette(db: Path, path: str):
    import asyncio

    import yaml
    from datasette.app import Datasette

    ds = Datasette(files=[str(db)], metadata=yaml.safe_load((ROOT / "db" / "metadata.yml").read_text()))

    async def fetch():
        response = await ds.client.get(path)
        assert response.status_code == 200, response.text[:300]
        return response.json()

    return asyncio.run(fetch())


def test_drift_is_judged_against_the_memento(sim, fake, archive, tmp_path):
    site = sim.site()
    live = site.page("/report", LIVE_PAGE)
    archive.add(live, "20241102000000", body=MEMENTO_PAGE)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: A\ndate: {DATE}\n---\n\nThe ministry found the tunnel scheme "
                               f"[cost twice the estimate]({live}) in its 2019 review of public works.\n")
    result = _audit(tmp_path, fake, docs, [archive.timemap_base])
    [claim] = [c for a in result.to_dict()["articles"] for c in a["claims"]]
    assert claim["verdict"] == "ok" and claim["snapshot"]["archive"] == archive.site.host
    assert claim["drift"] is True  # the memento carries the claim, the live page does not
    assert archive.calls.replay >= 2  # replayed once to judge it, once to read it for drift


def test_a_failed_archive_is_not_cached_and_is_asked_again(sim, fake, archive, tmp_path):
    site = sim.site()
    dead = site.page("/gone", "<title>Not Found</title>", status=404)
    archive.add(dead, "20241102000000")
    archive.fail("timemap", 503)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: A\ndate: {DATE}\n---\n\nIt [was said]({dead}).\n")
    first = _audit(tmp_path, fake, docs, [archive.timemap_base])
    [claim] = [c for a in first.to_dict()["articles"] for c in a["claims"]]
    assert claim["snapshot"] is None
    db = store.open_store(tmp_path / "provenance.db")
    try:
        assert next(db.query("select outcome from snapshots"))["outcome"] == "error"
    finally:
        db.close()
    archive.behaviour.clear()
    second = _audit(tmp_path, fake, docs, [archive.timemap_base])
    [claim] = [c for a in second.to_dict()["articles"] for c in a["claims"]]
    assert claim["snapshot"]["timestamp"] == "20241102000000"
