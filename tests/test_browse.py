"""`provenance browse`: one-line errors, and a real headless Chromium showing a canned query's rows.

The browser is Debian's Chromium driven by Playwright (Playwright's own
browser download is unreachable here). When /usr/bin/chromium is missing and
the tests run as root (or with passwordless sudo, as on CI runners), the
fixture installs it with apt-get; otherwise it skips and says why, except
under CI=true, where it fails: a browser test that skips in CI checks nothing.

The screenshot goes to docs/browse.png when that file is missing or when
PROVENANCE_UPDATE_GOLDEN=1 (otherwise to the test's temporary directory, so
a test run does not dirty the tree).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from test_report_golden import build_audit_db

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Seconds allowed for apt-get to install Chromium on a fresh CI machine.
APT_TIMEOUT = 900
#: Seconds allowed for datasette to start answering.
START_TIMEOUT = 60.0
SCREENSHOT = ROOT / "docs" / "browse.png"
UPDATE = os.environ.get("PROVENANCE_UPDATE_GOLDEN") == "1"


def _run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_browse_missing_db_one_line(tmp_path):
    proc = _run_cli("browse", "--db", str(tmp_path / "none.db"), "--port", str(_free_port()))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no database at" in lines[0] and "provenance audit" in lines[0], proc.stderr
    assert not (tmp_path / "none.db").exists()


def test_browse_foreign_file_one_line(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("just text, not sqlite\n")
    proc = _run_cli("browse", "--db", str(bogus), "--port", str(_free_port()))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not an SQLite database" in proc.stderr
    assert bogus.read_text() == "just text, not sqlite\n"


def test_browse_port_in_use_one_line(tmp_path):
    db = build_audit_db(tmp_path / "provenance.db")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = _run_cli("browse", "--db", str(db), "--port", str(port))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in proc.stderr


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; installed with apt-get when missing and we are root (as in CI)."""
    if CHROMIUM.exists():
        return CHROMIUM
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, timeout=30).returncode == 0:
            prefix = [sudo, "-n", "DEBIAN_FRONTEND=noninteractive"]  # CI runners with passwordless sudo
        else:
            reason = ("Chromium missing (/usr/bin/chromium) and not root to apt-get install it: "
                      "run `sudo apt-get install chromium` to enable the browser test")
            if os.environ.get("CI"):
                pytest.fail(reason + " (in CI this test must run, not skip)")
            pytest.skip(reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=APT_TIMEOUT, env=env)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}"
    assert CHROMIUM.exists(), "apt-get installed chromium but /usr/bin/chromium is missing"
    return CHROMIUM


@contextlib.contextmanager
def _serving(db: Path):
    """`provenance browse` on ``db`` on a free loopback port, until datasette answers at the printed URL; stopped
    (and checked stopped) after."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "browse", "--db", str(db), "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        first = proc.stdout.readline()  # printed before datasette starts; bounded by the test timeout
        assert first.startswith("datasette: "), (first, proc.poll())
        url = first.split()[1]
        assert url.startswith(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + START_TIMEOUT
        for _attempt in range(int(START_TIMEOUT * 10)):
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(url + ".json", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "datasette did not answer in time"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()  # browse stops its datasette child on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    with pytest.raises(httpx.TransportError):  # the datasette child went with it
        httpx.get(url + ".json", timeout=2.0)


@pytest.fixture
def served(tmp_path):
    with _serving(build_audit_db(tmp_path / "provenance.db")) as url:
        assert url.endswith("/provenance")
        yield url


def test_the_printed_url_answers_for_a_database_named_with_dots(tmp_path):
    """datasette names a database "news.2024" in its routes as "news~2E2024": the URL browse prints must be
    the one that answers (it was /news.2024, a 404)."""
    db = build_audit_db(tmp_path / "news.2024.db")
    with _serving(db) as url:
        assert url.endswith("/news~2E2024")
        assert httpx.get(url + "/claim_status.json", timeout=5.0).status_code == 200


@pytest.mark.timeout(APT_TIMEOUT + 120)
def test_canned_query_page_shows_rows_in_chromium(chromium, served, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            response = page.goto(served + "/problem_claims", wait_until="load", timeout=30_000)
            assert response is not None and response.status == 200
            page.wait_for_selector("table.rows-and-columns tbody tr", timeout=15_000)
            rows = page.locator("table.rows-and-columns tbody tr")
            assert rows.count() == 7
            text = page.locator("table.rows-and-columns").inner_text()
            assert "https://gone.example.net/study" in text and "confirmed dead 2026-01-08" in text
            assert "Problem claims by article" in page.locator("h1").inner_text()
            shot = SCREENSHOT if (UPDATE or not SCREENSHOT.exists()) else tmp_path / "browse.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    if shot != SCREENSHOT:
        shutil.copy(shot, tmp_path / "kept.png")


@pytest.mark.timeout(APT_TIMEOUT + 120)
def test_chart_query_is_drawn_by_datasette_vega_in_chromium(chromium, served):
    """The link-rot canned query's "Show it as a chart" link: datasette-vega draws a stacked bar chart."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            # link_rot_by_year: dead, soft404, drifted, could not tell, fine for 2025; problem_domains: 5 domains
            for query, colour in (("link_rot_by_year", "category"), ("problem_domains", "problem")):
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                response = page.goto(f"{served}/{query}", wait_until="load", timeout=30_000)
                assert response is not None and response.status == 200
                assert page.locator(".vega-embed canvas.marks").count() == 0  # no chart until asked
                page.get_by_text("Show it as a chart").click()
                page.wait_for_selector(".vega-embed canvas.marks", timeout=20_000)
                size = page.evaluate("() => { const c = document.querySelector('.vega-embed canvas.marks');"
                                     " return [c.clientWidth, c.clientHeight]; }")
                assert size[0] > 50 and size[1] > 100, size
                assert f"g.color_column={colour}" in page.url
                assert page.locator("table.rows-and-columns tbody tr").count() == 5
                page.close()
        finally:
            browser.close()
