"""Confirmed rot through real audits: a simulated clock, a link that dies and comes back, offline nights,
and --fail-on for cron and CI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from conftest import guarded_env
from fake_wayback import FakeWayback
from provenance import store
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.wayback import WaybackOptions

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 2, 1, 3, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(sim, tmp_path):
    site = sim.site()
    state = {"status": 404}

    async def flaky(_request: web.Request) -> web.StreamResponse:
        if state["status"] == 200:
            return web.Response(text="<html><body><p>The report is here.</p></body></html>", content_type="text/html")
        return web.Response(status=state["status"], text="<title>Not Found</title>", content_type="text/html")

    url = site.route("/report", flaky)
    fine = site.page("/fine")
    fw = FakeWayback(sim)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: A\ndate: 2024-01-02\n---\n\nThe council [said so]({url}). "
                               f"It was [confirmed]({fine}).\n", encoding="utf-8")
    yield site, state, url, fine, fw, docs
    fw.close()


def audit(tmp_path: Path, fw: FakeWayback, docs: Path, clock: Clock, allow_private: bool = True):
    result = run_audit([docs], AuditOptions(
        db_path=tmp_path / "p.db", reports_dir=tmp_path / "reports", clock=clock,
        check=CheckOptions(allow_private=allow_private, retries=0, host_interval=0.0, timeout=5, offline=False),
        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5)))
    return {c["url"]: c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}, result


def test_confirmed_dead_only_on_third_failing_run_days_apart(world, tmp_path):
    _site, _state, url, fine, fw, docs = world
    clock = Clock()
    seen = []
    for _night in range(3):
        claims, result = audit(tmp_path, fw, docs, clock)
        seen.append((claims[url]["verdict"], claims[url]["rot"]))
        clock.now += timedelta(days=3)
    assert seen == [("dead", "failing (1 of 3)"), ("dead", "failing (2 of 3)"), ("dead", "confirmed dead")]
    assert result.to_dict()["run"]["newly_confirmed_dead"] == 1
    assert claims[fine]["rot"] is None
    db = store.open_store(tmp_path / "p.db")
    row = db["urls"].get(url)
    assert row["confirmed_dead_at"] == "2026-02-07T03:00:00Z" and row["first_failed"] == "2026-02-01T03:00:00Z"
    view = next(db.query("select * from claim_status where url = ?", [url]))
    assert view["rot"] == "confirmed dead"
    assert [r["url"] for r in db.query("select url from claims_needing_replacement")] == [url]
    per_article = next(db.query("select * from broken_claims_per_article"))
    assert per_article["broken"] == 1 and per_article["confirmed_dead"] == 1 and per_article["links"] == 2


def test_nightly_failures_too_close_together_are_not_rot(world, tmp_path):
    _site, _state, url, _fine, fw, docs = world
    clock = Clock()
    for _night in range(4):  # four nights in a row: gaps of one day never add up
        claims, _result = audit(tmp_path, fw, docs, clock)
        clock.now += timedelta(days=1)
    assert claims[url]["rot"] == "failing (2 of 3)"  # day 0 and day 3 counted, days 1 and 2 did not
    claims, _result = audit(tmp_path, fw, docs, clock)  # day 4
    assert claims[url]["rot"] == "failing (2 of 3)"


def test_recovery_resets_the_count(world, tmp_path):
    _site, state, url, _fine, fw, docs = world
    clock = Clock()
    for _night in range(3):
        audit(tmp_path, fw, docs, clock)
        clock.now += timedelta(days=3)
    state["status"] = 200
    claims, result = audit(tmp_path, fw, docs, clock)
    assert claims[url]["verdict"] == "ok" and claims[url]["rot"] is None
    # It had been confirmed dead: a resurrection is reported as back, not as an ordinary recovery.
    assert result.to_dict()["run"]["back"] == 1 and result.to_dict()["run"]["recovered"] == 0
    changes = (tmp_path / "reports" / "changes.md").read_text()
    assert "1 back, 0 recovered" in changes
    back = changes.split("## Back")[1].split("## Recovered")[0]
    assert "127.0.0" in back and "`dead` → `ok`" in back
    db = store.open_store(tmp_path / "p.db")
    try:
        row = db["urls"].get(url)
        assert row["back_at"] == "2026-02-10T03:00:00Z" and row["confirmed_dead_at"] is None and row["failures"] == 0
    finally:
        db.close()
    state["status"] = 410
    clock.now += timedelta(days=1)
    claims, _result = audit(tmp_path, fw, docs, clock)
    assert claims[url]["rot"] == "failing (1 of 3)"


def test_unchecked_night_keeps_history_and_never_counts(world, tmp_path):
    site, _state, url, fine, fw, docs = world
    clock = Clock()
    audit(tmp_path, fw, docs, clock)
    clock.now += timedelta(days=3)
    requests = site.stats.requests
    # The address policy refuses loopback: every check is 'unchecked', like a night without network.
    claims, _result = audit(tmp_path, fw, docs, clock, allow_private=False)
    assert site.stats.requests == requests
    assert claims[url]["verdict"] == "unchecked" and claims[fine]["verdict"] == "unchecked"
    db = store.open_store(tmp_path / "p.db")
    row = db["urls"].get(url)
    assert row["verdict"] == "dead" and row["failures"] == 1 and row["last_checked"] == "2026-02-01T03:00:00Z"
    assert db["urls"].get(fine)["verdict"] == "ok"
    # Next real night is still due (unchecked did not make it fresh) and counts as failure 2, not 3.
    clock.now += timedelta(hours=1)
    claims, _result = audit(tmp_path, fw, docs, clock)
    assert claims[url]["rot"] == "failing (2 of 3)"


def test_fail_on_exit_codes_from_the_cli(world, tmp_path):
    _site, _state, url, _fine, fw, docs = world

    def cli(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(tmp_path / "c.db"),
                               "--reports", str(tmp_path / "r"), "--allow-private", "--retries", "0",
                               "--wayback-url", fw.base_url, "--json", "--quiet", *extra],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    failing = cli("--fail-on", "dead,soft404")
    assert failing.returncode == 1, failing.stderr
    data = json.loads(failing.stdout)
    assert data["run"]["verdicts"] == {"dead": 1, "ok": 1}
    # The second run re-checks nothing, reports the stored verdicts, and still fails on them.
    again = cli("--fail-on", "dead")
    assert again.returncode == 1 and json.loads(again.stdout)["run"]["urls_checked"] == 0
    passing = cli("--fail-on", "blocked")
    assert passing.returncode == 0, passing.stderr
    bad = cli("--recheck-after", "soon")
    assert bad.returncode == 2 and "bad duration" in bad.stderr and "Traceback" not in bad.stderr


def test_documented_cron_command_runs(tmp_path):
    """The crontab line of docs/scheduling.md, run as cron would (a shell, in the working directory)."""
    import re
    import shlex

    doc = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    line = next(l for l in doc.splitlines() if re.match(r"^\d+ \d+ \* \* \*", l))
    command = line.split(None, 5)[5].replace("cd /srv/newsroom && ", "")
    command = command.replace("/srv/newsroom/.venv/bin/provenance", f"{shlex.quote(sys.executable)} -m provenance")
    (tmp_path / "articles").mkdir()
    (tmp_path / "logs").mkdir()
    # A loopback link the address policy refuses (no --allow-private), the Wayback a loopback fake, no public
    # archives, the guard on (conftest.guarded_env): no traffic leaves the machine.
    (tmp_path / "articles" / "a.md").write_text("# A\n\nThe council [said so](http://127.0.0.1:9/report).\n")
    env = guarded_env({"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert env["PROVENANCE_WAYBACK_URL"].startswith("http://127.0.0.") and env["PROVENANCE_ARCHIVES"] == ""
    for _night in range(2):
        proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, timeout=120)
        assert proc.returncode == 0  # 'unchecked' is never 'dead', so --fail-on does not fire
    assert (tmp_path / "db" / "provenance.db").exists() and (tmp_path / "reports" / "index.md").exists()
    assert "Traceback" not in (tmp_path / "logs" / "provenance.log").read_text()
