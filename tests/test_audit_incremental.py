"""Nightly re-runs are cheap: unchanged articles are not re-extracted, fresh URLs are not fetched,
Wayback answers are cached, removed articles are marked (not deleted); drift is judged and kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fake_wayback import FakeWayback
from pages import CHANGED, CLAIM, PAGE
from provenance import store
from provenance.audit import AuditOptions, parse_duration, parse_recheck, run_audit
from provenance.check import CheckOptions
from provenance.ingest import InputError
from provenance.wayback import WaybackOptions

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)


class Clock:
    """A simulated clock the test moves forward."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def article(path: Path, title: str, links: list[tuple[str, str]], date: str = "2024-06-01") -> Path:
    body = "\n\n".join(f"{sentence} [{sentence.split()[1]}]({url})." for sentence, url in links)
    path.write_text(f"---\ntitle: {title}\ndate: {date}\n---\n\n# {title}\n\n{body}\n", encoding="utf-8")
    return path


def options(tmp_path: Path, fw: FakeWayback, clock: Clock, **kw) -> AuditOptions:
    return AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports",
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5), clock=clock, **kw)


#: Paths the tests serve; the checker may also probe a random path per host (soft-404 detection).
SERVED = {"/a", "/b", "/c", "/d", "/gone"}


def fetched(site, since: int = 0) -> list[str]:
    """Sorted cited paths the simulator was asked for since request number ``since``."""
    return sorted(p for p in site.stats.paths[since:] if p in SERVED)


def verdicts(result) -> dict[str, str]:
    return {c["url"]: c["verdict"] for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}


@pytest.fixture
def world(sim, tmp_path):
    site = sim.site()
    urls = {name: site.page(f"/{name}", PAGE) for name in ("a", "b", "c")}
    urls["gone"] = site.page("/gone", "<title>Not found</title>", status=404)
    fw = FakeWayback(sim)
    fw.add(urls["a"], "20240520120000", body=PAGE)
    docs = tmp_path / "articles"
    docs.mkdir()
    first = article(docs / "one.md", "One", [(f"{CLAIM} here", urls["a"]), ("Second claim cites the b page", urls["b"]),
                                             ("Third claim cites a page now gone", urls["gone"])])
    second = article(docs / "two.md", "Two", [("Another claim cites the b page", urls["b"]),
                                              ("And one cites c", urls["c"])])
    yield site, fw, docs, urls, first, second
    fw.close()


def test_second_run_sends_no_request_and_keeps_verdicts(world, tmp_path):
    site, fw, docs, urls, _first, _second = world
    clock = Clock()
    one = run_audit([docs], options(tmp_path, fw, clock))
    assert verdicts(one) == {urls["a"]: "ok", urls["b"]: "ok", urls["c"]: "ok", urls["gone"]: "dead"}
    assert fetched(site) == ["/a", "/b", "/c", "/gone"]  # one request per distinct URL
    lookups = fw.calls.cdx + fw.calls.available
    assert lookups >= 4
    data = one.to_dict()
    assert data["run"]["urls_checked"] == 4 and data["run"]["articles_extracted"] == 2

    clock.advance(hours=1)
    requests, wb_calls = site.stats.requests, fw.calls.cdx + fw.calls.available + fw.calls.web
    two = run_audit([docs], options(tmp_path, fw, clock))
    assert site.stats.requests == requests, site.stats.paths[requests:]
    assert fw.calls.cdx + fw.calls.available + fw.calls.web == wb_calls  # snapshots cached in the db
    assert verdicts(two) == verdicts(one)
    run = two.to_dict()["run"]
    assert run["urls_checked"] == 0 and run["urls_fresh"] == 4 and run["snapshot_lookups"] == 0
    assert run["articles_extracted"] == 0 and run["articles_unchanged"] == 2
    assert run["verdicts"] == one.to_dict()["run"]["verdicts"] == {"dead": 1, "ok": 4}
    # The snapshot and the failing count come back from the database too.
    claims = {c["url"]: c for a in two.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["a"]]["snapshot"]["timestamp"] == "20240520120000"
    assert claims[urls["gone"]]["rot"] == "failing (1 of 3)"
    db = store.open_store(tmp_path / "db" / "p.db")
    assert [r["status"] for r in db.query("select status from runs order by id")] == ["finished", "finished"]
    assert db.execute("select count(*) from checks").fetchone()[0] == 4


def test_changed_article_only_checks_its_new_urls(world, sim, tmp_path):
    site, fw, docs, urls, _first, second = world
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))
    new = site.page("/d", PAGE)
    article(second, "Two", [("Another claim cites the b page", urls["b"]), ("And one cites c", urls["c"]),
                            ("A new claim cites d", new)])
    clock.advance(hours=2)
    before = len(site.stats.paths)
    result = run_audit([docs], options(tmp_path, fw, clock))
    assert fetched(site, before) == ["/d"]
    run = result.to_dict()["run"]
    assert run["articles_extracted"] == 1 and run["articles_unchanged"] == 1 and run["urls_checked"] == 1
    assert verdicts(result)[new] == "ok"
    two = next(a for a in result.to_dict()["articles"] if a["path"].endswith("two.md"))
    assert len(two["claims"]) == 3


def test_removed_article_is_marked_not_deleted(world, tmp_path):
    site, fw, docs, urls, first, _second = world
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))
    first.unlink()
    clock.advance(hours=1)
    result = run_audit([docs], options(tmp_path, fw, clock))
    assert [Path(a["path"]).name for a in result.to_dict()["articles"]] == ["two.md"]
    assert result.to_dict()["run"]["articles_removed"] == 1
    db = store.open_store(tmp_path / "db" / "p.db")
    row = next(db.query("select * from articles where path like '%one.md'"))
    assert row["removed_at"] == "2026-01-01T03:00:00Z"
    assert db.execute("select count(*) from claims where article_id = ?", [row["id"]]).fetchone()[0] == 3
    # Removed articles drop out of the views.
    assert {r["path"] for r in db.query("select path from claim_status")} == {str(docs / "two.md")}
    # Coming back with the same content: no re-extraction, no longer removed.
    article(first, "One", [(f"{CLAIM} here", urls["a"]), ("Second claim cites the b page", urls["b"]),
                           ("Third claim cites a page now gone", urls["gone"])])
    clock.advance(hours=1)
    again = run_audit([docs], options(tmp_path, fw, clock))
    assert again.to_dict()["run"]["articles_extracted"] == 0
    assert len(again.to_dict()["articles"]) == 2


def test_recheck_after_force_and_failing_links_sooner(world, tmp_path):
    site, fw, docs, urls, _first, _second = world
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))
    clock.advance(hours=7)  # past 6h: only the failing link is due
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock))
    assert fetched(site, before) == ["/gone"]
    clock.advance(hours=3)  # 10h: nothing due (the failing link was checked 3h ago)
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock))
    assert fetched(site, before) == []
    clock.advance(hours=15)  # 25h after the first run: working links are due again (and the failing one)
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock))
    assert fetched(site, before) == ["/a", "/b", "/c", "/gone"]
    clock.advance(hours=6, minutes=1)
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock, recheck_after="1d,1d"))
    assert fetched(site, before) == []
    clock.advance(minutes=1)
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock, force=True))
    assert fetched(site, before) == ["/a", "/b", "/c", "/gone"]
    clock.advance(minutes=1)
    before = len(site.stats.paths)
    run_audit([docs], options(tmp_path, fw, clock, recheck_after="30s"))
    assert fetched(site, before) == ["/a", "/b", "/c", "/gone"]


def test_drift_judged_stored_and_new_drift_counted(world, tmp_path):
    site, fw, docs, urls, _first, _second = world
    clock = Clock()
    one = run_audit([docs], options(tmp_path, fw, clock))
    claims = {c["url"]: c for a in one.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["a"]]["drift"] is False  # snapshot and live page both carry it
    assert claims[urls["b"]]["drift"] is None  # no snapshot
    site.page("/a", CHANGED)
    clock.advance(days=2)
    two = run_audit([docs], options(tmp_path, fw, clock))
    claims = {c["url"]: c for a in two.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["a"]]["drift"] is True
    assert two.to_dict()["run"]["new_drift"] == 1
    db = store.open_store(tmp_path / "db" / "p.db")
    row = next(db.query("select * from claims where url = ?", [urls["a"]]))
    assert row["drift"] == 1 and row["drift_since"] == "2026-01-03T02:00:00Z"
    assert row["live_score"] < 0.5 <= row["snapshot_score"]
    assert [r["claim_id"] for r in db.query("select claim_id from claims_needing_replacement where why like 'drift%'")] == [row["id"]]
    # The next run (nothing due) reports the stored drift without fetching anything.
    clock.advance(hours=1)
    requests = site.stats.requests
    three = run_audit([docs], options(tmp_path, fw, clock))
    assert site.stats.requests == requests
    claims = {c["url"]: c for a in three.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["a"]]["drift"] is True and three.to_dict()["run"]["new_drift"] == 0


def test_failed_wayback_lookup_is_retried_next_run(world, tmp_path):
    site, fw, docs, urls, _first, _second = world
    fw.fail("cdx", 503)
    fw.fail("available", 503)
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))
    db = store.open_store(tmp_path / "db" / "p.db")
    assert {r["outcome"] for r in db.query("select outcome from snapshots")} == {"error"}
    fw.behaviour.clear()
    clock.advance(hours=1)
    result = run_audit([docs], options(tmp_path, fw, clock))
    assert result.to_dict()["run"]["snapshot_lookups"] == 4  # one per (url, date)
    assert {r["outcome"] for r in db.query("select outcome from snapshots")} == {"found", "none"}


def test_reports_rendered_from_db(world, tmp_path):
    _site, fw, docs, _urls, _first, _second = world
    run_audit([docs], options(tmp_path, fw, Clock()))
    names = sorted(p.name for p in (tmp_path / "reports").glob("*.md"))
    assert "index.md" in names and "changes.md" in names and len(names) == 4


@pytest.mark.parametrize("text, expected", [("1d", timedelta(days=1)), ("12h", timedelta(hours=12)),
                                            ("30m", timedelta(minutes=30)), ("1d12h", timedelta(hours=36)),
                                            ("0", timedelta(0)), ("2w", timedelta(days=14))])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "1x", "12", "-1d", "1d junk"])
def test_parse_duration_rejects(text):
    with pytest.raises(InputError):
        parse_duration(text)


def test_parse_recheck_pairs():
    assert parse_recheck(None) == (timedelta(days=1), timedelta(hours=6))
    assert parse_recheck("2d") == (timedelta(days=2), timedelta(hours=6))
    assert parse_recheck("1h") == (timedelta(hours=1), timedelta(hours=1))
    assert parse_recheck("3d,12h") == (timedelta(days=3), timedelta(hours=12))


def test_json_shape_keeps_contract(world, tmp_path):
    _site, fw, docs, urls, _first, _second = world
    data = json.loads(json.dumps(run_audit([docs], options(tmp_path, fw, Clock())).to_dict()))
    assert {"id", "started_at", "offline", "articles", "claims", "urls", "verdicts"} <= set(data["run"])
    assert data["run"]["articles"] == 2 and data["run"]["claims"] == 5 and data["run"]["urls"] == 4
    claim = data["articles"][0]["claims"][0]
    assert {"kind", "url", "anchor", "sentence", "verdict", "status", "final_url", "snapshot", "drift"} <= set(claim)
    assert claim["snapshot"] == {"timestamp": "20240520120000",
                                 "snapshot_url": f"{fw.base_url}/web/20240520120000/{urls['a']}",
                                 "archive": fw.site.host}  # the archive holding it (issue 18)


def test_new_provenance_version_re_extracts_once(world, tmp_path):
    _site, fw, docs, _urls, _first, _second = world
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))
    db = store.open_store(tmp_path / "db" / "p.db")
    with db.atomic():  # as if the last run was an older release
        db.execute("update articles set extractor_version = '0.0.1'")
    db.close()
    clock.advance(hours=1)
    assert run_audit([docs], options(tmp_path, fw, clock)).to_dict()["run"]["articles_extracted"] == 2
    clock.advance(hours=1)
    assert run_audit([docs], options(tmp_path, fw, clock)).to_dict()["run"]["articles_extracted"] == 0


def test_save_archives_live_pages_without_snapshot_once(world, tmp_path):
    site, fw, docs, urls, _first, _second = world
    clock = Clock()
    result = run_audit([docs], options(tmp_path, fw, clock, save=True))
    # b and c are live with no capture (a has one; gone is dead): each is saved once.
    assert fw.calls.save == 2
    claims = {c["url"]: c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["b"]]["snapshot"]["timestamp"] and claims[urls["c"]]["snapshot"]["timestamp"]
    assert claims[urls["gone"]]["snapshot"] is None
    clock.advance(days=2)
    run_audit([docs], options(tmp_path, fw, clock, save=True))
    assert fw.calls.save == 2


def test_wayback_trouble_or_budget_defers_lookups_to_next_run(world, tmp_path):
    _site, fw, docs, _urls, _first, _second = world
    fw.fail("cdx", 503)
    fw.fail("available", 503)
    clock = Clock()
    said: list[str] = []
    first = run_audit([docs], options(tmp_path, fw, clock, snapshot_batch=2), log=said.append)
    assert first.to_dict()["run"]["snapshot_lookups"] == 2  # the first batch failed: the stage stopped
    assert any("left for the next run" in line for line in said)
    fw.behaviour.clear()
    clock.advance(hours=1)
    calls = fw.calls.cdx + fw.calls.available
    budget = run_audit([docs], options(tmp_path, fw, clock, snapshot_budget=0.0))
    assert budget.to_dict()["run"]["snapshot_lookups"] == 0 and fw.calls.cdx + fw.calls.available == calls
    clock.advance(hours=1)
    last = run_audit([docs], options(tmp_path, fw, clock, snapshot_batch=2))
    assert last.to_dict()["run"]["snapshot_lookups"] == 4
    db = store.open_store(tmp_path / "db" / "p.db")
    assert {r["outcome"] for r in db.query("select outcome from snapshots")} == {"found", "none"}
