"""What an audit takes as input and how it names, keeps and retires articles.

Each test here pins a defect a reviewer found: bad options are one-line
errors, articles are identified by their real file (not the path as typed),
only deleted files are marked removed, the run never reads its own reports,
and "offline" is only said when some URL needed DNS and none resolved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.audit import parse_duration
from provenance.ingest import InputError

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_huge_recheck_after_is_a_one_line_error(tmp_path):
    with pytest.raises(InputError, match="too long"):
        parse_duration("99999999999999d")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nNo links.\n")
    proc = cli("audit", str(docs), "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
               "--recheck-after", "99999999999999d")
    one_line_error(proc, "too long")
