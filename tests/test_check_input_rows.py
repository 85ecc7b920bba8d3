"""`provenance check`: one output row per URL given, in the order given (a repeat checked once, shown twice);
and `--db` (the shared option) does something on `check` and `snapshot` instead of being ignored: `check`
shows each URL's last recorded verdict from an audit's database without writing to it, `snapshot` answers
from and adds to the database's snapshot cache."""

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


def _audit_db(path: Path, verdicts: dict[str, str]) -> None:
    """A database as an audit leaves it: one run that recorded these URLs' verdicts."""
    from provenance import store
    from provenance.models import CheckResult

    from datetime import datetime, timezone

    night = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
    db = store.open_store(path)
    run = store.start_run(db, {}, offline=False, now=night)
    store.save_checks(db, run, [CheckResult(url=u, verdict=v, status=200 if v == "ok" else 404,
                                            checked_at="2026-11-30T03:00:00Z") for u, v in verdicts.items()], now=night)
    store.finish_run(db, run, 0, 0, len(verdicts), {}, now=night)
    store.close_store(db)


def test_check_db_shows_the_last_recorded_verdict_and_writes_nothing(sim, tmp_path):
    import hashlib

    site = sim.site()
    live, gone, new = site.page("/live"), site.url("/gone"), site.page("/new")
    path = tmp_path / "audit.db"
    _audit_db(path, {live: "ok", gone: "ok"})
    listed = site.page("/listed")
    from provenance import store

    db = store.open_store(path)
    db.execute("insert into urls (url, host) values (?, ?)", [listed, "x"])
    db.conn.commit()
    store.close_store(db)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    args = ("--allow-private", "--retries", "0", "--host-interval", "0", "--quiet", "--db", str(path))
    proc = cli("check", live, gone, new, listed, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    rows = {r["url"]: r for r in json.loads(proc.stdout)}
    assert rows[gone]["verdict"] == "dead"
    assert rows[gone]["previous"]["verdict"] == "ok"
    assert rows[gone]["previous"]["last_checked"].startswith("2026-11-30")
    assert rows[live]["previous"]["verdict"] == "ok"
    assert rows[new]["previous"] is None  # never audited
    assert rows[listed]["previous"] is None  # in the database, never checked (a run cut short): no history
    text = cli("check", gone, live, *args).stdout.splitlines()
    assert text[0].startswith("dead") and text[0].endswith("(was ok, 2026-11-30)")
    assert "(was" not in text[1]  # same verdict as recorded: nothing to say
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "check --db only reads"
    wal = tmp_path / "audit.db-wal"  # a reader of a WAL database may leave an empty log behind, never a write
    assert not wal.exists() or wal.stat().st_size == 0
    # Without --db the rows are the contract's, whatever database lies about.
    plain = json.loads(cli("check", gone, "--json", *args[:-2]).stdout)
    assert set(plain[0]) == {"url", "verdict", "status", "final_url", "reason", "attempts", "elapsed_ms", "checked_at"}


def test_check_db_that_is_missing_or_foreign_is_a_one_line_error(tmp_path):
    foreign = tmp_path / "other.db"
    import sqlite3

    conn = sqlite3.connect(foreign)
    conn.execute("create table urls (url text)")
    conn.commit()
    conn.close()
    for db, needle in ((tmp_path / "none.db", "no database at"), (foreign, "another program")):
        proc = cli("check", "https://example.org/a", "--db", str(db), "--quiet")
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none.db").exists()


def test_snapshot_db_answers_from_the_cache_and_fills_it(fake, tmp_path):
    kept, none = "https://example.org/kept", "https://example.org/never-captured"
    fake.add(kept, "20241101090000")
    path = tmp_path / "cache.db"
    args = ("--date", "2024-11-20", "--json", "--wayback-url", fake.base_url, "--timeout", "2", "--retries", "0")

    def lookup(*extra: str) -> dict:
        proc = cli("snapshot", kept, none, *args, *extra)
        assert proc.returncode == 0, proc.stderr
        return {r["url"]: r for r in json.loads(proc.stdout)}

    first = lookup("--db", str(path))
    assert first[kept]["timestamp"] == "20241101090000" and first[none]["timestamp"] is None
    asked = fake.calls.cdx + fake.calls.available
    assert asked >= 2 and path.exists()
    again = lookup("--db", str(path))
    assert again == first
    assert fake.calls.cdx + fake.calls.available == asked, "both answers came from the cache"
    lookup()  # no --db: the archive is asked
    assert fake.calls.cdx + fake.calls.available > asked


def test_a_line_that_is_no_url_keeps_its_place_as_an_unchecked_row(sim):
    site = sim.site()
    gone = site.url("/gone")
    listing = f"{gone}\nnot a url\nhttp://[::1\n{gone}\n"
    proc = cli("check", "--from", "-", "--json", "--allow-private", "--retries", "0", "--host-interval", "0",
               "--quiet", stdin=listing)
    assert proc.returncode == 2, proc.stderr  # bad input is still bad input
    rows = json.loads(proc.stdout)
    assert [r["url"] for r in rows] == [gone, "not a url", "http://[::1", gone]
    assert [r["verdict"] for r in rows] == ["dead", "unchecked", "unchecked", "dead"]
    assert rows[1]["reason"].startswith("not checked: ") and rows[1]["attempts"] == 0
    assert proc.stderr.count("skipped: ") == 2
    text = cli("check", "--from", "-", "--allow-private", "--retries", "0", "--host-interval", "0", "--quiet",
               stdin=listing).stdout.splitlines()
    assert len(text) == 4 and text[1].startswith("unchecked") and "not a url" in text[1]
