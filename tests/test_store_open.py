"""Only `audit` creates a database: readers refuse an empty or non-provenance file and leave it as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from provenance import store
from provenance.report import render_reports
from provenance.store import StoreError

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_report_refuses_an_empty_file_and_leaves_it_empty(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    proc = cli("report", "--db", str(empty), "--reports", str(tmp_path / "r"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a provenance database" in lines[0], proc.stderr
    assert empty.stat().st_size == 0
    assert not Path(str(empty) + "-wal").exists()
    assert not (tmp_path / "r").exists()


def test_report_refuses_an_sqlite_file_without_our_tables(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()  # a valid, empty SQLite database (0 bytes until something is written)
    conn = sqlite3.connect(other)
    conn.execute("pragma user_version = 7")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a provenance database"):
        render_reports(other, tmp_path / "r")
    assert other.read_bytes() == before


def test_open_store_without_create_reads_a_real_database(tmp_path):
    path = tmp_path / "p.db"
    with pytest.raises(StoreError, match="no database"):
        store.open_store(path, create=False)
    assert not path.exists()
    store.close_store(store.open_store(path))  # what audit does: creates it
    db = store.open_store(path, create=False)
    assert db["articles"].exists()
    store.close_store(db)


def test_a_foreign_database_sharing_a_table_name_is_refused_and_left_as_it_was(tmp_path):
    import sqlite3

    from provenance.store import StoreError, open_store

    for table in ("urls(link text)", "articles(x)"):
        path = tmp_path / f"{table.split('(')[0]}.db"
        conn = sqlite3.connect(path)
        conn.execute(f"create table {table}")
        conn.execute(f"insert into {table.split('(')[0]} values ('theirs')")
        conn.commit()
        conn.close()
        before = path.read_bytes()
        with pytest.raises(StoreError, match="another program"):
            open_store(path)
        assert path.read_bytes() == before


def test_a_database_from_a_newer_provenance_is_refused_not_downgraded(tmp_path):
    """An older tool must not rewrite the schema stamp (and add or drop what it knows) of a newer database."""
    path = tmp_path / "p.db"
    store.close_store(store.open_store(path))
    conn = sqlite3.connect(path)
    conn.execute("update meta set value = ? where key = 'schema_version'", [str(store.SCHEMA_VERSION + 7)])
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer provenance"):
        store.open_store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("select value from meta where key = 'schema_version'").fetchone()[0] == \
        str(store.SCHEMA_VERSION + 7)
    conn.close()
    for args in (["report", "--db", str(path), "--reports", str(tmp_path / "r")],
                 ["audit", str(ROOT / "seeds"), "--db", str(path), "--reports", str(tmp_path / "r"), "--quiet"]):
        run = cli(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert "newer provenance" in run.stderr and "Traceback" not in run.stderr
    # Near miss: the same version opens as ever.
    conn = sqlite3.connect(path)
    conn.execute("update meta set value = ? where key = 'schema_version'", [str(store.SCHEMA_VERSION)])
    conn.commit()
    conn.close()
    store.close_store(store.open_store(path))
