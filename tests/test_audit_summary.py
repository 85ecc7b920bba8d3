"""What `audit` says when it ends: verdicts counted per URL and per link claim, and no reports it did not write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_wayback import FakeWayback

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


@pytest.fixture
def cited_twice(sim, tmp_path):
    """One article citing a live page twice and a gone page once: 3 link claims over 2 URLs."""
    site = sim.site()
    live = site.page("/live", "<html><body><p>The council approved the budget on Tuesday.</p></body></html>")
    gone = site.url("/gone")  # nothing routed: 404
    fw = FakeWayback(sim)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: Budget\ndate: 2024-01-02\n---\n\nThe council [approved]({live}) "
                               f"the budget. A [2019 study]({gone}) found it cost twice the estimate. The mayor "
                               f"[agreed]({live}).\n", encoding="utf-8")
    yield fw, docs, tmp_path
    fw.close()


def _audit(fw: FakeWayback, docs: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli("audit", str(docs), "--db", str(tmp / "p.db"), "--allow-private", "--retries", "0",
               "--host-interval", "0", "--wayback-url", fw.base_url, "--archives", "", *extra)


def test_json_counts_verdicts_per_claim_and_per_url(cited_twice):
    fw, docs, tmp = cited_twice
    proc = _audit(fw, docs, tmp, "--reports", str(tmp / "r"), "--json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)["run"]
    assert run["urls"] == 2
    assert run["verdicts"] == {"ok": 2, "dead": 1}       # link claims, as the contract has it
    assert run["url_verdicts"] == {"ok": 1, "dead": 1}   # each URL once
    assert sum(run["url_verdicts"].values()) == run["urls"]


def test_summary_line_says_what_it_counts(cited_twice):
    fw, docs, tmp = cited_twice
    proc = _audit(fw, docs, tmp, "--reports", str(tmp / "r"))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stderr.splitlines() if x.startswith("run 1:"))
    assert "2 URLs" in line
    assert "per URL: 1 dead, 1 ok" in line
    assert "per link claim (3): 1 dead, 2 ok" in line
    assert f"reports in {tmp / 'r'}/" in line


def test_reports_that_could_not_be_written_are_not_claimed(cited_twice):
    fw, docs, tmp = cited_twice
    reports = tmp / "r"
    (reports / "index.md").mkdir(parents=True)  # the folder is writable, index.md cannot be written
    proc = _audit(fw, docs, tmp, "--reports", str(reports))
    assert proc.returncode == 2
    assert "cannot write reports to" in proc.stderr and "Traceback" not in proc.stderr
    assert "reports in" not in proc.stderr
    assert "no reports written" in proc.stderr


def test_quiet_keeps_the_reason_for_exit_2(cited_twice):
    """--quiet (the cron form) drops progress and the summary, never the error that makes the exit code 2."""
    fw, docs, tmp = cited_twice
    reports = tmp / "r"
    (reports / "index.md").mkdir(parents=True)
    proc = _audit(fw, docs, tmp, "--reports", str(reports), "--quiet")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), proc.stderr
    assert any("cannot write reports to" in line for line in lines)
    # Near miss: a quiet run without errors says nothing at all.
    fine = _audit(fw, docs, tmp, "--reports", str(tmp / "ok"), "--quiet")
    assert fine.returncode == 0 and fine.stderr == ""
