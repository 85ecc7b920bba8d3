"""`provenance snapshot URL --date 2024-11-20 --json` against a fake Wayback, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_wayback import FakeWayback

ROOT = Path(__file__).resolve().parent.parent
DATE = "2024-11-20"
#: Seconds a CLI run may take before the test calls it a hang.
CLI_LIMIT = 60


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}  # $PROVENANCE_WAYBACK_URL: the session's loopback fake (conftest.py)
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=CLI_LIMIT)


def snapshot_json(fake: FakeWayback, *urls: str, extra: tuple[str, ...] = ()) -> dict[str, dict]:
    proc = run_cli("snapshot", *urls, "--date", DATE, "--json", "--wayback-url", fake.base_url,
                   "--timeout", "2", "--retries", "0", *extra)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["url"] for r in rows] == list(urls)
    for row in rows:
        assert set(row) == {"url", "timestamp", "snapshot_url", "status", "archive"}
    return {r["url"]: r for r in rows}


def test_picks_latest_good_capture_on_or_before_the_date(fake):
    both = "https://example.org/report"
    fake.add(both, "20241101090000")
    fake.add(both, "20241119120000", status=404)   # closer, but a capture of a 404 is not a snapshot
    fake.add(both, "20241121000000")                # closer in absolute terms, but after the date
    fake.add(both, "20240101000000")
    same_day = "https://example.org/same-day"
    fake.add(same_day, "20241120183000")            # later the same day still counts as "on" the date
    fake.add(same_day, "20241118000000")
    rows = snapshot_json(fake, both, same_day)
    assert rows[both]["timestamp"] == "20241101090000"
    assert rows[both]["status"] == 200
    assert rows[both]["snapshot_url"] == f"{fake.base_url}/web/20241101090000/{both}"
    assert rows[same_day]["timestamp"] == "20241120183000"
    assert fake.calls.available == 0, "CDX answered: no need for the availability API"


def test_only_captures_after_the_date_takes_the_earliest_after(fake):
    url = "https://example.org/later"
    fake.add(url, "20250301000000")
    fake.add(url, "20241205101010")
    fake.add(url, "20241201000000", status=404)
    rows = snapshot_json(fake, url)
    assert rows[url]["timestamp"] == "20241205101010"


def test_only_404_captures_and_none_at_all_give_null(fake):
    gone = "https://example.org/gone"
    fake.add(gone, "20241101000000", status=404)
    fake.add(gone, "20241130000000", status=404)
    never = "https://example.org/never-archived"
    rows = snapshot_json(fake, gone, never)
    for url in (gone, never):
        assert rows[url]["timestamp"] is None and rows[url]["snapshot_url"] is None
    assert fake.calls.available == 0, "an empty CDX answer is an answer, not a failure"


def test_cdx_failing_falls_back_to_availability(fake):
    url = "https://example.org/fallback"
    fake.add(url, "20241101000000")
    fake.add(url, "20250601000000")
    fake.fail("cdx", 503)
    rows = snapshot_json(fake, url)
    assert rows[url]["timestamp"] == "20241101000000"
    assert rows[url]["snapshot_url"] == f"{fake.base_url}/web/20241101000000/{url}"
    assert fake.calls.cdx >= 1 and fake.calls.available == 1


def test_cdx_answering_garbage_falls_back_to_availability(fake):
    url = "https://example.org/garbage"
    fake.add(url, "20241010000000")
    fake.fail("cdx", 200, body="<html>Wayback Machine is down for maintenance</html>")
    rows = snapshot_json(fake, url)
    assert rows[url]["timestamp"] == "20241010000000"


def test_both_failing_gives_null_with_a_reason(fake):
    url = "https://example.org/unlucky"
    fake.add(url, "20241101000000")
    fake.fail("cdx", 503)
    fake.fail("available", 502)
    proc = run_cli("snapshot", url, "--date", DATE, "--json", "--wayback-url", fake.base_url,
                   "--timeout", "2", "--retries", "0")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["timestamp"] is None
    assert "HTTP 503" in proc.stderr and "HTTP 502" in proc.stderr


def test_both_hanging_gives_null_without_hanging(fake):
    url = "https://example.org/slow"
    fake.add(url, "20241101000000")
    fake.hang("cdx")
    fake.hang("available")
    proc = run_cli("snapshot", url, "--date", DATE, "--json", "--wayback-url", fake.base_url,
                   "--timeout", "1", "--retries", "0")   # subprocess timeout (CLI_LIMIT) fails the test on a hang
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["timestamp"] is None
    assert "timeout" in proc.stderr


def test_429_then_success_honours_retry_after(fake):
    url = "https://example.org/busy"
    fake.add(url, "20241101000000")
    fake.rate_limit("cdx", times=1, retry_after="1")
    rows = snapshot_json(fake, url, extra=("--retries", "2"))
    assert rows[url]["timestamp"] == "20241101000000"
    assert fake.calls.cdx == 2                       # the 429, then the answer
    assert fake.calls.available == 0


def test_wayback_url_from_environment(fake):
    url = "https://example.org/env"
    fake.add(url, "20241111000000")
    proc = run_cli("snapshot", url, "--date", DATE, "--json", env={"PROVENANCE_WAYBACK_URL": fake.base_url})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["timestamp"] == "20241111000000"


def test_without_date_takes_latest_good_capture(fake):
    url = "https://example.org/nodate"
    fake.add(url, "20200101000000")
    fake.add(url, "20230101000000")
    fake.add(url, "20240101000000", status=404)
    proc = run_cli("snapshot", url, "--json", "--wayback-url", fake.base_url)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["timestamp"] == "20230101000000"


@pytest.mark.parametrize("args, needle", [
    (("--date", "20-11-2024"), "invalid date"),
    (("--date", DATE, "--wayback-url", "not a url"), "invalid Wayback URL"),
])
def test_bad_input_is_a_one_line_error(args, needle):
    proc = run_cli("snapshot", "https://example.org/a", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr
