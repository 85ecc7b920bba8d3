"""Devices, FIFOs and endless files are refused at once, never read until the end of time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import needs

from provenance import ingest
from provenance.ingest import InputError, read_bytes, read_document

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


def test_fifo_is_refused_without_blocking(fifo):
    with pytest.raises(InputError, match="not a regular file"):
        read_document(fifo)
    one_line_error(cli("extract", str(fifo)), "not a regular file")


def test_dev_zero_is_refused():
    if not Path("/dev/zero").exists():
        needs.skip_or_fail("no /dev/zero on this machine")
    with pytest.raises(InputError, match="not a regular file"):
        read_bytes(Path("/dev/zero"))
    one_line_error(cli("extract", "/dev/zero"), "not a regular file")


def test_read_stops_one_byte_past_the_limit(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 101)
    with pytest.raises(InputError, match="too large"):
        read_bytes(big, limit=100)
    assert read_bytes(big, limit=101) == b"a" * 101
    monkeypatch.setattr(ingest, "MAX_ARTICLE_BYTES", 100)
    with pytest.raises(InputError, match="too large"):
        read_bytes(big, limit=ingest.MAX_ARTICLE_BYTES)


def test_audit_skips_a_fifo_and_audits_the_rest(tmp_path, fifo):
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nNo links here.\n")
    proc = cli("audit", str(good), str(fifo), "--json", "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "not a regular file" in proc.stderr
    import json

    data = json.loads(proc.stdout)
    assert [Path(a["path"]).name for a in data["articles"]] == ["good.md"]
    assert any("not a regular file" in e for e in data["run"]["errors"])
