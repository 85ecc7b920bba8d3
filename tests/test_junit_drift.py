"""JUnit for a drifted claim whose page still answers: skipped as "drift", never as "ok" (drift is no --fail-on
word in `audit`, so it never fails the build there, and JUnit mirrors that)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from fake_wayback import FakeWayback
from pages import CHANGED, CLAIM, PAGE

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def test_a_drifted_claim_is_not_written_as_ok(sim, tmp_path):
    site = sim.site()
    drift_url = site.page("/budget", CHANGED)
    ok_url = site.page("/ok", PAGE)
    fw = FakeWayback(sim)
    fw.add(drift_url, "20240520120000", body=PAGE)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "budget.md").write_text(f"---\ntitle: Budget\ndate: 2024-06-01\n---\n\n{CLAIM} according to "
                                    f"[the committee]({drift_url}).\n\nThe figures were [checked by auditors]"
                                    f"({ok_url}) last year.\n", encoding="utf-8")
    out = tmp_path / "audit.xml"
    try:
        proc = cli("audit", str(docs), "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
                   "--allow-private", "--retries", "0", "--host-interval", "0", "--wayback-url", fw.base_url,
                   "--archives", "", "--quiet", "--junit", str(out), "--fail-on", "dead")
        refused = cli("audit", str(docs), "--db", str(tmp_path / "p.db"), "--fail-on", "drift")
    finally:
        fw.close()
    assert proc.returncode == 0, proc.stderr        # drift never trips --fail-on ...
    assert refused.returncode == 2 and "drift" in refused.stderr  # ... and is not a --fail-on word
    cases = {c.get("name"): c for c in ET.parse(out).getroot().iter("testcase")}
    skipped = cases[drift_url].find("skipped")
    assert skipped is not None, ET.tostring(cases[drift_url])
    assert skipped.get("type") == "drift"
    assert skipped.get("message").startswith("drifted")
    assert cases[drift_url].find("failure") is None
    assert cases[ok_url].find("skipped") is None and cases[ok_url].find("failure") is None
