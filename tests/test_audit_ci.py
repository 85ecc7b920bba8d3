"""What CI and newsroom jobs need from an audit: --exclude/--include, --junit, the rot and lock flags,
an honest "offline", no lock file left behind, and a date for undated articles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from fake_wayback import FakeWayback
from provenance import report, store
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.filters import LinkFilter
from provenance.junit import audit_suites, check_suite, to_xml
from provenance.models import CheckResult
from provenance.wayback import WaybackOptions

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(sim, tmp_path):
    """Two articles citing a live page, a dead one, a social link and a paywalled page; a fake Wayback."""
    site = sim.site()
    live = site.page("/live", "<html><body><p>The council approved the budget on Tuesday.</p></body></html>")
    social = site.page("/social/post")
    gone = site.url("/gone")  # nothing routed: 404

    async def paywall(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=403, text="<html><title>Subscribe to continue</title><body>Subscribe to read "
                                             "this article. Log in.</body></html>", content_type="text/html")

    walled = site.route("/walled", paywall)
    fw = FakeWayback(sim)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: Budget\ndate: 2024-01-02\n---\n\nThe council [approved the budget]({live}). "
                               f"A [2019 study]({gone}) found it cost twice the estimate. "
                               f"The mayor [posted]({social}) about it.\n", encoding="utf-8")
    (docs / "b.md").write_text(f"# Undated note\n\nThe [paper]({walled}) said so. The council [agreed]({live}).\n",
                               encoding="utf-8")
    yield site, fw, docs, {"live": live, "gone": gone, "social": social, "walled": walled}
    fw.close()


def options(tmp_path: Path, fw: FakeWayback, clock: Clock | None = None, **kw) -> AuditOptions:
    return AuditOptions(db_path=tmp_path / "p.db", reports_dir=tmp_path / "reports", clock=clock or Clock(),
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5, offline=False),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5), **kw)


def cli(*args: str, cwd: Path = ROOT, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def links(result) -> dict[str, dict]:
    return {c["url"]: c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}


# --------------------------------------------------------------------------- --exclude / --include


def test_link_filter_rules():
    f = LinkFilter.from_patterns(include=["example\\.org"], exclude=["/private/"])
    assert f.reason("https://example.org/a") is None
    assert f.reason("https://example.org/private/a") == "excluded by --exclude '/private/'"  # exclude wins
    assert f.reason("https://other.net/a") == "not matched by --include 'example\\.org'"
    assert LinkFilter.from_patterns(exclude=["x"]).reason("https://a.net/") is None  # searched, not matched whole
    assert LinkFilter.from_patterns(exclude=["x"]).reason("https://a.net/box") is not None
    assert not LinkFilter() and LinkFilter.from_patterns(exclude=["x"])
    with pytest.raises(ValueError, match=r"--exclude '\(': not a regular expression"):
        LinkFilter.from_patterns(exclude=["("])


def test_excluded_links_are_never_requested_and_are_stored_and_reported(world, tmp_path):
    site, fw, docs, u = world
    result = run_audit([docs], options(tmp_path, fw, links=LinkFilter.from_patterns(exclude=["/social/"])))
    got = links(result)
    assert got[u["social"]]["verdict"] == "unchecked"
    assert got[u["social"]]["reason"] == "excluded by --exclude '/social/'"
    assert got[u["live"]]["verdict"] == "ok" and got[u["gone"]]["verdict"] == "dead"
    assert "/social/post" not in site.stats.paths
    assert all("social" not in p for p in fw.site.stats.paths)  # not even asked of the Wayback
    assert result.to_dict()["run"]["urls_excluded"] == 1
    db = store.open_store(tmp_path / "p.db")
    check = next(db.query("select * from checks where url = ?", [u["social"]]))
    assert check["verdict"] == "unchecked" and check["reason"] == "excluded by --exclude '/social/'"
    assert db["runs"].get(result.run_id)["urls_excluded"] == 1
    store.close_store(db)
    text = (tmp_path / "reports" / "budget.md").read_text()
    assert "`unchecked` (excluded by --exclude '/social/')" in text
    assert "1 cited link left out by --exclude/--include" in text
    assert "1 URL left out by --exclude/--include" in (tmp_path / "reports" / "index.md").read_text()


def test_include_checks_only_matching_links_and_a_once_dead_link_shows_why_it_is_unchecked(world, tmp_path):
    site, fw, docs, u = world
    clock = Clock()
    run_audit([docs], options(tmp_path, fw, clock))  # the dead link is seen dead once
    clock.now += timedelta(days=2)
    before = len(site.stats.paths)
    result = run_audit([docs], options(tmp_path, fw, clock, force=True,
                                       links=LinkFilter.from_patterns(include=["/live$"])))
    got = links(result)
    assert got[u["live"]]["verdict"] == "ok"
    assert got[u["gone"]]["verdict"] == "unchecked"
    assert got[u["gone"]]["reason"] == "not matched by --include '/live$'"
    new = site.stats.paths[before:]
    assert "/live" in new and not {"/gone", "/social/post", "/walled"} & set(new)
    text = (tmp_path / "reports" / "budget.md").read_text()
    assert "`unchecked` (not matched by --include '/live$')" in text
    assert "### dead" not in text  # the old verdict is not shown as this run's


# --------------------------------------------------------------------------- --junit


def test_junit_from_an_audit(world, tmp_path):
    _site, fw, docs, u = world
    result = run_audit([docs], options(tmp_path, fw, links=LinkFilter.from_patterns(exclude=["/social/"])))
    root = ET.fromstring(to_xml(audit_suites(result)))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"Budget", "Undated note"}
    budget = suites["Budget"]
    cases = {c.get("name"): c for c in budget.iter("testcase")}
    assert set(cases) == {u["live"], u["gone"], u["social"]}
    assert budget.get("tests") == "3" and budget.get("failures") == "1" and budget.get("skipped") == "1"
    failure = cases[u["gone"]].find("failure")
    assert failure is not None and failure.get("type") == "dead"
    assert "2019 study" in cases[u["gone"]].find("system-out").text  # the claim's sentence
    assert cases[u["social"]].find("skipped").get("message") == "unchecked: excluded by --exclude '/social/'"
    assert cases[u["live"]].find("failure") is None and cases[u["live"]].find("skipped") is None
    walled = next(suites["Undated note"].iter("testcase"))
    assert walled.get("name") == u["walled"] and walled.find("skipped").get("type") == "blocked"
    # --fail-on moves verdicts between failures and skips
    root = ET.fromstring(to_xml(audit_suites(result, {"blocked"})))
    assert root.get("failures") == "1" and next(root.iter("failure")).get("type") == "blocked"
    assert root.get("tests") == "5"


def test_junit_for_check_and_control_characters():
    results = [CheckResult(url="https://a.example/x", verdict="soft404", reason="gone \x00page", elapsed_ms=1500),
               CheckResult(url="https://a.example/y", verdict="ok", elapsed_ms=20),
               CheckResult(url="https://a.example/z", verdict="error", reason="timeout")]
    root = ET.fromstring(to_xml([check_suite(results)]))
    suite = root.find("testsuite")
    assert suite.get("name") == "provenance check" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    assert root.find(".//failure").get("message") == "soft404: gone page"
    assert float(suite.get("time")) == pytest.approx(1.52)


def test_check_and_audit_cli_write_junit_and_fail_on(world, tmp_path):
    _site, fw, docs, u = world
    out = tmp_path / "check.xml"
    proc = cli("check", u["live"], u["gone"], "--allow-private", "--retries", "0", "--junit", str(out), "--quiet",
               "--fail-on", "dead")
    assert proc.returncode == 1, proc.stderr
    root = ET.parse(out).getroot()
    assert root.get("tests") == "2" and root.get("failures") == "1"
    proc = cli("check", u["live"], "--allow-private", "--retries", "0", "--quiet", "--fail-on", "dead")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "audit.xml"
    proc = cli("audit", str(docs), "--db", str(tmp_path / "c.db"), "--reports", str(tmp_path / "r"),
               "--allow-private", "--retries", "0", "--wayback-url", fw.base_url, "--quiet", "--junit", str(out))
    assert proc.returncode == 0, proc.stderr  # --junit alone never changes the exit code
    assert ET.parse(out).getroot().get("failures") == "1"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".audit.xml.")]  # the temp file is gone
    for bad, needle in ((tmp_path / "no" / "such" / "j.xml", "does not exist"), (tmp_path, "is a folder")):
        proc = cli("check", u["live"], "--allow-private", "--junit", str(bad))
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- rot and lock flags, the lock file


def test_confirm_after_and_confirm_days_from_the_command_line(world, tmp_path):
    _site, fw, docs, u = world
    base = ("audit", str(docs), "--db", str(tmp_path / "f.db"), "--reports", str(tmp_path / "r"), "--allow-private",
            "--retries", "0", "--wayback-url", fw.base_url, "--quiet", "--json", "--force")
    first = cli(*base, "--confirm-after", "2", "--confirm-days", "0")
    assert first.returncode == 0, first.stderr
    gone = links_json(first)[u["gone"]]
    assert gone["rot"] == "failing (1 of 2)"
    second = cli(*base, "--confirm-after", "2", "--confirm-days", "0")
    assert links_json(second)[u["gone"]]["rot"] == "confirmed dead"
    db = store.open_store(tmp_path / "f.db")
    assert store.get_meta(db, "rot_checks") == "2"
    store.close_store(db)
    assert "confirmed dead" in (tmp_path / "r" / "budget.md").read_text()
    # the default policy needs days between failures: a third run the same day would not have confirmed it
    third = cli(*base[:3], str(tmp_path / "g.db"), *base[4:])
    fourth = cli(*base[:3], str(tmp_path / "g.db"), *base[4:])
    assert links_json(third)[u["gone"]]["rot"] == "failing (1 of 3)"
    assert links_json(fourth)[u["gone"]]["rot"] == "failing (1 of 3)"
    for flag, value in (("--confirm-after", "0"), ("--confirm-days", "-1"), ("--wait", "nan")):
        proc = cli(*base, flag, value)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def links_json(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    data = json.loads(proc.stdout)
    return {c["url"]: c for a in data["articles"] for c in a["claims"] if c["kind"] == "link"}


def test_wait_flag_and_no_lock_file_left_behind(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links.\n")
    db_path = tmp_path / "db" / "p.db"
    base = ("audit", str(docs), "--db", str(db_path), "--reports", str(tmp_path / "r"), "--quiet")
    proc = cli(*base)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["p.db"]  # no -lock, no -wal, no -shm
    with store.audit_lock(db_path):
        assert Path(str(db_path) + "-lock").exists()
        proc = cli(*base, "--wait", "0")
        assert proc.returncode == 2 and "another audit" in proc.stderr and "waited 0s" in proc.stderr
    assert not Path(str(db_path) + "-lock").exists()
    # a lock file a killed run left behind is harmless: the next run takes it and removes it
    Path(str(db_path) + "-lock").write_text("12345")
    assert cli(*base, "--wait", "0").returncode == 0
    assert not Path(str(db_path) + "-lock").exists()


def test_a_waiter_never_shares_the_lock_after_the_file_is_removed(tmp_path):
    """Removing the lock file at the end must not let two audits in: the waiter re-checks the file it locked."""
    import threading

    db_path = tmp_path / "p.db"
    inside = []
    release = threading.Event()
    entered = threading.Event()

    def first() -> None:
        with store.audit_lock(db_path):
            inside.append("first")
            entered.set()
            release.wait(10)
            inside.remove("first")

    def second() -> None:
        with store.audit_lock(db_path, wait=10):
            inside.append("second")
            assert inside == ["second"]
            inside.remove("second")

    t1 = threading.Thread(target=first)
    t1.start()
    assert entered.wait(10)
    t2 = threading.Thread(target=second)
    t2.start()
    release.set()
    t1.join(10)
    t2.join(15)
    assert not t1.is_alive() and not t2.is_alive() and inside == []
    assert not Path(str(db_path) + "-lock").exists()


# --------------------------------------------------------------------------- offline, honestly


def test_partial_network_failure_is_not_called_offline(sim, tmp_path):
    """Links at addresses are checked, the one needing DNS is not: reports say how many and why."""
    site = sim.site()
    live = site.page("/live")
    fw = FakeWayback(sim)
    try:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "a.md").write_text(f"# A\n\nOne [page]({live}), another [page]({site.url('/other')}) and a "
                                   f"[named one](https://news.example.com/story).\n")
        result = run_audit([docs], AuditOptions(
            db_path=tmp_path / "p.db", reports_dir=tmp_path / "reports", clock=Clock(), probe_hosts=("probe.invalid",),
            check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5),
            wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5)))
    finally:
        fw.close()
    assert result.offline  # no name resolved
    got = links(result)
    assert got[live]["verdict"] == "ok" and got["https://news.example.com/story"]["verdict"] == "unchecked"
    article = (tmp_path / "reports" / "a.md").read_text()
    index = (tmp_path / "reports" / "index.md").read_text()
    changes = (tmp_path / "reports" / "changes.md").read_text()
    for text in (article, index, changes):
        assert "This run was offline" not in text
    assert "1 of 3 cited links this run set out to check could not be checked: offline: no network to resolve " \
           "names (1)" in article
    assert "1 of 3 URLs this run set out to check could not be checked" in index
    assert "— offline" not in article


def test_fully_offline_run_still_says_offline(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nA [named one](https://news.example.com/story).\n")
    result = run_audit([docs], AuditOptions(db_path=tmp_path / "p.db", reports_dir=tmp_path / "reports",
                                            probe_hosts=("probe.invalid",), check=CheckOptions(retries=0)))
    assert result.offline
    assert "This run was offline" in (tmp_path / "reports" / "a.md").read_text()
    assert "This run was offline" in (tmp_path / "reports" / "index.md").read_text()


# --------------------------------------------------------------------------- undated articles


def test_undated_article_snapshots_are_for_the_day_first_seen(world, tmp_path):
    _site, fw, docs, u = world
    fw.add(u["walled"], "20260115090000")  # before first seen: closest before the date
    fw.add(u["walled"], "20260420090000")  # after: the latest, not chosen
    clock = Clock()
    result = run_audit([docs], options(tmp_path, fw, clock))
    got = links(result)
    assert got[u["walled"]]["snapshot"]["timestamp"] == "20260115090000"
    db = store.open_store(tmp_path / "p.db")
    assert db.execute("select date from snapshots where url = ?", [u["walled"]]).fetchone()[0] == "2026-03-01"
    view = next(db.query("select snapshot_timestamp from claim_status where url = ? and path like '%b.md'",
                         [u["walled"]]))
    assert view["snapshot_timestamp"] == "20260115090000"
    store.close_store(db)
    text = (tmp_path / "reports" / "undated-note.md").read_text()
    assert "Published: unknown; snapshots are chosen for 2026-03-01, the day the audit first saw this article" in text
    assert 'data-versiondate="2026-03-01"' in text
    # a later run keeps the first day
    clock.now += timedelta(days=30)
    again = run_audit([docs], options(tmp_path, fw, clock, force=True))
    assert links(again)[u["walled"]]["snapshot"]["timestamp"] == "20260115090000"
    view = report.load_view(tmp_path / "p.db")
    undated = next(a for a in view.articles if a.title == "Undated note")
    assert undated.cited_date == "2026-03-01"


def test_cli_summary_says_offline_only_when_nothing_was_checked(sim, tmp_path):
    site = sim.site()
    live = site.page("/live")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(f"# A\n\nOne [page]({live}) and a [named one](https://news.example.com/story).\n")
    (docs / "b.md").write_text("# B\n\nOnly a [named one](https://news.example.org/other).\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROVENANCE_PROBE_HOSTS": "probe.invalid"}

    def audit(*paths: Path, db: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "provenance", "audit", *map(str, paths), "--db",
                               str(tmp_path / db), "--reports", str(tmp_path / f"r-{db}"), "--allow-private",
                               "--retries", "0", "--wayback-url", site.base_url], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=90)
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    partial = audit(docs / "a.md", db="a.db")
    assert "(offline)" not in partial
    assert "not checked: 1 of 2 URLs due this run: offline: no network to resolve names (1)" in partial
    full = audit(docs / "b.md", db="b.db")
    assert "(offline)" in full and "not checked:" not in full


def test_links_left_out_never_trip_fail_on_unchecked(tmp_path):
    import subprocess
    import sys

    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "a.md").write_text("---\ntitle: T\ndate: 2024-01-02\n---\n\nThe agency [said](http://127.0.0.3:9/excluded/page) so.\n")
    args = [sys.executable, "-m", "provenance", "audit", str(arts), "--db", str(tmp_path / "p.db"),
            "--reports", str(tmp_path / "r"), "--allow-private", "--archives", "", "--quiet"]
    left = subprocess.run(args + ["--exclude", "excluded", "--fail-on", "unchecked"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert left.returncode == 0, left.stderr
    kept = subprocess.run(args + ["--include", "nothing-matches-this", "--fail-on", "unchecked"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
