"""`provenance report --json` lists every file it wrote: the Markdown reports, then the SVG charts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from provenance import charts
from test_report_golden import build_audit_db

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def test_report_json_lists_the_charts_it_wrote(tmp_path):
    db = build_audit_db(tmp_path / "provenance.db")
    out = tmp_path / "reports"
    proc = cli("report", "--db", str(db), "--reports", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    listed = [Path(p) for p in json.loads(proc.stdout)]
    svgs = [p for p in listed if p.suffix == ".svg"]
    assert sorted(p.name for p in svgs) == sorted([charts.ROT_CHART, charts.DOMAIN_CHART])
    assert all(p.is_file() for p in listed)
    written = {p.name for p in out.iterdir() if p.suffix in (".md", ".svg")}
    assert {p.name for p in listed} == written            # everything written is listed, nothing else
    assert [p.suffix for p in listed][-2:] == [".svg", ".svg"]  # the Markdown files first, as before
    text = cli("report", "--db", str(db), "--reports", str(out))
    assert text.returncode == 0 and "and 2 charts" in text.stderr
