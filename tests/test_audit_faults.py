"""Safety under faults: kill -9 at any point, two audits at once, corrupt or foreign database files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fake_wayback import FakeWayback
from provenance import store
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.store import StoreError
from provenance.wayback import WaybackOptions

ROOT = Path(__file__).resolve().parent.parent
#: Seconds a killed-run test waits for the progress line it kills at.
KILL_WAIT = 60.0

TEXT = ("Officials from several regional councils attended the session, which lasted most of the afternoon and "
        "covered maintenance schedules, staffing levels, procurement rules and the timetable for public hearings.")

DRIVER = r'''
import json, sys
from pathlib import Path
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.wayback import WaybackOptions

cfg = json.loads(sys.argv[1])

def progress(stage, done, total):
    print(stage, done, total, flush=True)

options = AuditOptions(db_path=Path(cfg["db"]), reports_dir=Path(cfg["reports"]),
                       check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, host_concurrency=1,
                                          timeout=10, offline=False),
                       wayback=WaybackOptions(base_url=cfg["wayback"], retries=0, timeout=10),
                       article_batch=2, check_batch=6, snapshot_batch=6, lock_wait=cfg.get("lock_wait", 5.0))
run_audit([Path(cfg["docs"])], options, progress=progress)
print("done", flush=True)
'''


@pytest.fixture
def world(sim, tmp_path):
    """12 articles x 4 links over 3 slow hosts (some dead), a fake Wayback with some captures."""
    sites = [sim.site() for _ in range(3)]
    fw = FakeWayback(sim)
    docs = tmp_path / "articles"
    docs.mkdir()
    n = 0
    for i in range(12):
        links = []
        for j in range(4):
            site = sites[(i + j) % 3]
            path = f"/p{i}-{j}"
            body = f"<html><body><article><p>Claim number {i} {j} about the harbour wall.</p><p>{TEXT}</p></article></body></html>"
            url = site.page(path, body, status=404 if (i * 4 + j) % 7 == 0 else 200, delay=0.05)
            if n % 3 == 0:
                fw.add(url, "20240101000000", body=body)
            n += 1
            links.append(f"Claim number {i} {j} about the harbour wall, [source]({url}).")
        (docs / f"a{i:02d}.md").write_text(f"---\ntitle: Article {i}\ndate: 2024-03-0{1 + i % 9}\n---\n\n"
                                           + "\n\n".join(links) + "\n", encoding="utf-8")
    yield docs, fw
    fw.close()


def driver_cfg(tmp_path: Path, name: str, docs: Path, fw: FakeWayback, **extra) -> dict:
    return {"db": str(tmp_path / name / "p.db"), "reports": str(tmp_path / name / "reports"), "docs": str(docs),
            "wayback": fw.base_url, **extra}


def start_driver(tmp_path: Path, cfg: dict) -> subprocess.Popen:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    return subprocess.Popen([sys.executable, str(script), json.dumps(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def in_process(cfg: dict) -> None:
    options = AuditOptions(db_path=Path(cfg["db"]), reports_dir=Path(cfg["reports"]),
                           check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=10, offline=False),
                           wayback=WaybackOptions(base_url=cfg["wayback"], retries=0, timeout=10))
    run_audit([Path(cfg["docs"])], options)


def content(db_path: str) -> dict:
    """What the database knows, without run ids and clock times."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        q = lambda sql: sorted(tuple(r) for r in conn.execute(sql))  # noqa: E731
        return {
            "articles": q("select path, content_hash, file_sha256, title, published, authors, claim_count, "
                          "removed_at is null from articles"),
            "claims": q("select a.path, c.position, c.kind, c.url, c.anchor, c.sentence, c.drift, c.live_score, "
                        "c.snapshot_score, c.drift_reason from claims c join articles a on a.id = c.article_id"),
            "urls": q("select url, host, verdict, status, final_url, reason, failures, confirmed_dead_at is null, "
                      "snapshot_timestamp, snapshot_url from urls"),
            "snapshots": q("select url, date, timestamp, snapshot_url, status, outcome from snapshots"),
            "latest_checks": q("select c.url, c.verdict, c.failures from checks c join (select url, max(id) id "
                               "from checks group by url) m on m.id = c.id"),
            "fts": q("select a.path, c.position, f.sentence from claims_fts f join claims c on c.id = f.rowid "
                     "join articles a on a.id = c.article_id"),
            "runs": conn.execute("select status from runs order by id desc limit 1").fetchone()[0],
        }
    finally:
        conn.close()


@pytest.mark.parametrize("stage, at", [("extract", 5), ("snapshot", 7), ("check", 4), ("check", 27)])
def test_killed_run_then_normal_run_equals_uninterrupted_run(world, tmp_path, stage, at):
    docs, fw = world
    reference = driver_cfg(tmp_path, "reference", docs, fw)
    in_process(reference)
    expected = content(reference["db"])
    assert expected["runs"] == "finished" and len(expected["claims"]) == 48

    killed = driver_cfg(tmp_path, "killed", docs, fw)
    proc = start_driver(tmp_path, killed)
    deadline = time.monotonic() + KILL_WAIT
    seen = []
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            parts = line.split()
            if parts[0] == stage and int(parts[1]) >= at:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, (seen, proc.stderr.read())
    assert "done" not in seen
    # The killed run left a consistent database (integrity and foreign keys checked in content()).
    partial = content(killed["db"])
    assert partial["runs"] == "running"
    assert partial != {**expected, "runs": "running"}  # it really stopped part-way
    in_process(killed)
    after = content(killed["db"])
    assert after == expected
    conn = sqlite3.connect(killed["db"])
    assert [r[0] for r in conn.execute("select status from runs order by id")] == ["interrupted", "finished"]
    conn.close()


def test_second_audit_is_refused_while_first_holds_the_lock(tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nSee [x](https://example.org/x).\n")
    db_path = tmp_path / "p.db"
    with store.audit_lock(db_path):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(db_path),
                               "--reports", str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT, timeout=60)
        waited = time.monotonic() - started
        with pytest.raises(StoreError, match="another audit"):
            run_audit([docs], AuditOptions(db_path=db_path, reports_dir=tmp_path / "r", lock_wait=0.2))
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "another audit" in lines[0] and "Traceback" not in proc.stderr
    assert waited >= store.LOCK_WAIT * 0.9  # it waited before giving up
    assert not db_path.exists()  # the refused run wrote nothing


def test_second_audit_waits_for_a_short_first(tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links here at all.\n")
    db_path = tmp_path / "p.db"
    held = threading.Event()

    def holder() -> None:
        with store.audit_lock(db_path):
            held.set()
            time.sleep(0.5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    result = run_audit([docs], AuditOptions(db_path=db_path, reports_dir=tmp_path / "r", lock_wait=10,
                                            check=CheckOptions(offline=True)))
    thread.join(10)
    assert result.run_id == 1 and len(result.articles) == 1


def test_concurrent_audits_never_interleave(world, tmp_path):
    docs, fw = world
    cfg = driver_cfg(tmp_path, "both", docs, fw, lock_wait=0.5)
    first = start_driver(tmp_path, cfg)
    try:
        assert first.stdout.readline()  # the first one is running (it prints once it holds the lock)
        second = subprocess.run([sys.executable, str(tmp_path / "driver.py"), json.dumps(cfg)], capture_output=True,
                                text=True, cwd=ROOT, timeout=60)
        assert second.returncode != 0 and "another audit" in second.stderr
        out, _err = first.communicate(timeout=90)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert first.returncode == 0 and out.strip().endswith("done")
    conn = sqlite3.connect(cfg["db"])
    assert [r[0] for r in conn.execute("select status from runs")] == ["finished"]
    conn.close()


def _corrupt_store(path: Path) -> None:
    db = store.open_store(path)
    from provenance.models import Article, Claim

    store.save_articles(db, [(Article(path=f"a{i}.md", claims=[Claim(kind="link", sentence=f"Claim {i} {j}", position=j,
                                                                          url=f"https://example.org/{i}/{j}")
                                                                    for j in range(20)]), str(i)) for i in range(100)])
    db.execute("pragma wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    # Every seventh page from the fifth: wherever the schema puts its tables and indexes, full pages get hit.
    for offset in range(4096 * 5, len(data) - 4096, 4096 * 7):
        data[offset + 100:offset + 600] = b"\xde\xad" * 250
    path.write_bytes(bytes(data))


def _foreign(path: Path, app_id: int = 0, tables: tuple[str, ...] = ("notes",)) -> None:
    conn = sqlite3.connect(path)
    for table in tables:
        conn.execute(f"create table {table} (id integer primary key, body text)")
        conn.execute(f"insert into {table} (body) values ('precious')")
    if app_id:
        conn.execute(f"pragma application_id = {app_id}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make, needle", [
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16), "corrupt"),
    (_corrupt_store, "corrupt"),
    (lambda p: _foreign(p), "another program"),
    (lambda p: _foreign(p, app_id=0x12345678, tables=("runs", "urls")), "another program"),
    (lambda p: p.write_text("my notes\n" * 100), "not an SQLite database"),
])
def test_corrupt_or_foreign_db_is_reported_and_left_untouched(tmp_path, make, needle):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nSee [x](https://example.org/x).\n")
    db_path = tmp_path / "p.db"
    make(db_path)
    before = db_path.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(db_path),
                           "--reports", str(tmp_path / "r"), "--json"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert db_path.read_bytes() == before
    assert not Path(str(db_path) + "-wal").exists() or Path(str(db_path) + "-wal").stat().st_size == 0
    assert not (tmp_path / "r").exists()


def test_reports_path_that_is_a_file_is_refused_before_the_run(tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links, one article.\n")
    (tmp_path / "reports").write_text("a file where the reports folder should be\n")
    proc = subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(tmp_path / "p.db"),
                           "--reports", str(tmp_path / "reports")], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is not a folder" in lines[0], proc.stderr
    assert not (tmp_path / "p.db").exists()  # refused before any work
    assert (tmp_path / "reports").read_text() == "a file where the reports folder should be\n"


def test_reports_that_fail_late_still_print_the_json_and_exit_2(tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links, one article.\n")
    (tmp_path / "reports" / "index.md").mkdir(parents=True)  # the folder is writable; index.md cannot be written
    proc = subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--json", "--db",
                           str(tmp_path / "p.db"), "--reports", str(tmp_path / "reports")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert [Path(a["path"]).name for a in data["articles"]] == ["a.md"]
    assert any("cannot write reports" in e for e in data["run"]["errors"])
    assert "cannot write reports" in proc.stderr
    conn = sqlite3.connect(tmp_path / "p.db")
    assert conn.execute("select status from runs").fetchall() == [("finished",)]
    conn.close()


def test_reports_under_a_file_is_refused_before_the_run(tmp_path):
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links, one article.\n")
    (tmp_path / "blocker").write_text("a file\n")
    proc = subprocess.run([sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(tmp_path / "p.db"),
                           "--reports", str(tmp_path / "blocker" / "reports")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot create reports folder" in lines[0], proc.stderr
    assert not (tmp_path / "p.db").exists()
