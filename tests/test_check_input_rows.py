"""`provenance check`: one output row per URL given, in the order given (a repeat checked once, shown twice);
and no option that is accepted only to be ignored (`--db` is not a `check` or `snapshot` option)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          input=stdin, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def test_a_repeated_url_is_checked_once_and_shown_per_input(sim):
    site = sim.site()
    live = site.page("/live")
    gone = site.url("/gone")
    proc = cli("check", live, gone, live, "--json", "--allow-private", "--retries", "0", "--host-interval", "0")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["url"] for r in rows] == [live, gone, live]
    assert [r["verdict"] for r in rows] == ["ok", "dead", "ok"]
    assert rows[0] == rows[2]                                  # the same check, twice
    assert site.stats.paths.count("/live") == 1                # ... made once
    text = cli("check", gone, live, gone, "--allow-private", "--retries", "0", "--host-interval", "0")
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0] == lines[2] and lines[0].startswith("dead") and gone in lines[0]


def test_repeats_from_a_list_keep_their_places(sim):
    site = sim.site()
    a, b = site.page("/a"), site.page("/b")
    listing = f"{a}\n{b}\n# a comment\n{a}\n{a}\n"
    proc = cli("check", "--from", "-", "--json", "--allow-private", "--retries", "0", "--host-interval", "0",
               "--quiet", stdin=listing)
    assert proc.returncode == 0, proc.stderr
    assert [r["url"] for r in json.loads(proc.stdout)] == [a, b, a, a]


def test_db_is_not_an_option_of_check_or_snapshot(tmp_path):
    for command in ("check", "snapshot"):
        proc = cli(command, "https://example.org/a", "--db", str(tmp_path / "x.db"))
        assert proc.returncode == 2
        assert "--db" in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "x.db").exists()
        help_text = cli(command, "--help").stdout
        assert "--db" not in help_text
