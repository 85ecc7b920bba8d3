"""The foundation contract: commands run end to end, bad input exits 2 in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (what a user runs)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_help_lists_all_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("extract", "check", "snapshot", "audit", "report", "browse"):
        assert command in proc.stdout
    for command in ("extract", "check", "snapshot", "audit", "report", "browse"):
        sub = run_cli(command, "--help")
        assert sub.returncode == 0 and "Example" in sub.stdout, command


def test_extract_seeds_json():
    proc = run_cli("extract", str(SEEDS), "--json")
    assert proc.returncode == 0, proc.stderr
    articles = json.loads(proc.stdout)
    assert len(articles) == 5
    first = articles[0]
    assert first["title"].startswith("Navigating Trump's AI Strategy")
    assert first["published"] == "2024-11-20"
    assert first["authors"] == ["stephaniehaven"]
    assert first["canonical_url"].startswith("https://www.techpolicy.press/navigating-trumps-ai-strategy")


def test_audit_offline_never_dead(tmp_path):
    # No probe name resolves (hermetic, even on a machine with network): the run must notice and say
    # 'unchecked' without sending a request, never 'dead'.
    proc = run_cli("audit", str(SEEDS), "--json", "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
                   "--timeout", "3", "--retries", "0", env={"PROVENANCE_PROBE_HOSTS": "provenance-probe.invalid"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["run"]["offline"] is True
    verdicts = [c["verdict"] for a in data["articles"] for c in a["claims"] if c["kind"] == "link"]
    assert verdicts and "dead" not in verdicts
    assert set(verdicts) == {"unchecked"}
    assert (tmp_path / "p.db").exists()
    assert len([p for p in (tmp_path / "r").glob("*.md") if p.name not in ("index.md", "changes.md")]) == 5
    assert (tmp_path / "r" / "index.md").exists()


def test_check_ok_and_dead_against_simulator(sim):
    site = sim.site()
    ok = site.page("/fine")
    gone = site.page("/gone", status=404, body="<title>Not here</title>")
    proc = run_cli("check", "--allow-private", ok, gone, "--json", "--retries", "0")
    assert proc.returncode == 0, proc.stderr
    by_url = {r["url"]: r for r in json.loads(proc.stdout)}
    assert by_url[ok]["verdict"] == "ok" and by_url[ok]["status"] == 200
    assert by_url[gone]["verdict"] == "dead" and by_url[gone]["status"] == 404


def test_private_address_refused_by_default(sim):
    site = sim.site()
    ok = site.page("/fine")
    proc = run_cli("check", ok, "--json")
    assert proc.returncode == 0
    result = json.loads(proc.stdout)[0]
    assert result["verdict"] == "unchecked" and "address policy" in result["reason"]
    assert site.stats.requests == 0


@pytest.mark.parametrize("make_args, needle", [
    (lambda tmp: ["audit", str(tmp / "missing")], "no such file"),
    (lambda tmp: ["audit", str(tmp / "empty")], "no articles"),
    (lambda tmp: ["extract", str(tmp / "junk.txt")], "binary"),
    (lambda tmp: ["audit", str(SEEDS), "--db", str(tmp / "notadb.db")], "not an SQLite database"),
    (lambda tmp: ["audit", str(SEEDS), "--db", "/proc/nope/p.db"], "cannot create"),
    (lambda tmp: ["check", "not a url"], "not an http(s) URL"),
    (lambda tmp: ["audit", str(SEEDS), "--fail-on", "gone"], "unknown verdict"),
])
def test_bad_input_one_line_exit_2(tmp_path, make_args, needle):
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.txt").write_bytes(b"\x00\x01\x02garbage\xff" * 100)
    (tmp_path / "notadb.db").write_text("precious notes, not a database\n")
    proc = run_cli(*make_args(tmp_path))
    assert_one_line_error(proc, needle)
    assert (tmp_path / "notadb.db").read_text() == "precious notes, not a database\n"


def test_one_bad_article_does_not_stop_others(tmp_path):
    (tmp_path / "good.md").write_text("# Title\n\nSee [the report](https://example.org/report).\n")
    (tmp_path / "bad.txt").write_bytes(b"\x00" * 64)
    proc = run_cli("extract", str(tmp_path), "--json")
    assert proc.returncode == 2
    articles = json.loads(proc.stdout)
    assert [Path(a["path"]).name for a in articles] == ["good.md"]
    assert "bad.txt" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, needle", [
    (["audit", "--bogus"], "--bogus"),
    (["frobnicate"], "No such command"),
    (["check", "--concurrency", "0", "https://example.org/"], "--concurrency"),
    (["check"], "no URLs given"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    assert_one_line_error(run_cli(*args), needle)


def test_fail_on_exits_1_when_a_verdict_matches(sim, tmp_path):
    site = sim.site()
    gone = site.page("/gone", status=404, body="<title>Gone</title>")
    article = tmp_path / "a.md"
    article.write_text(f"# A\n\nThe [study]({gone}) found it.\n")
    common = ["audit", str(article), "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
              "--allow-private", "--retries", "0", "--wayback-url", site.base_url, "--quiet"]
    assert run_cli(*common, "--fail-on", "dead").returncode == 1
    assert run_cli(*common, "--fail-on", "soft404,blocked").returncode == 0


def test_check_from_list_skips_junk_lines_and_checks_the_rest(sim, tmp_path):
    site = sim.site()
    ok = site.page("/fine")
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# cited in the spring issue\n{ok}\nnot a url at all\nhttps://exa mple.org/\n")
    proc = run_cli("check", "--from", str(listing), "--allow-private", "--retries", "0", "--json")
    assert proc.returncode == 2
    # Junk lines keep their places as unchecked rows (the comment is no input); only the URL is requested.
    assert [r["verdict"] for r in json.loads(proc.stdout)] == ["ok", "unchecked", "unchecked"]
    assert proc.stderr.count("skipped:") == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, needle", [
    (["browse", "--port", "70000"], "--port"),
    (["check", "--host-interval", "inf", "https://example.org/"], "finite"),
    (["audit", "--timeout", "nan", str(SEEDS)], "--timeout"),
])
def test_out_of_range_values_are_one_line_errors(args, needle):
    assert_one_line_error(run_cli(*args), needle)


def test_json_into_a_closed_pipe_is_not_an_error():
    # `provenance extract seeds --json | head -1`: the reader leaves early.
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "extract", str(SEEDS), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
