"""What an audit takes as input and how it names, keeps and retires articles.

Each test here pins a defect a reviewer found: bad options are one-line
errors, articles are identified by their real file (not the path as typed),
only deleted files are marked removed, the run never reads its own reports,
and "offline" is only said when some URL needed DNS and none resolved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_wayback import FakeWayback
from provenance import check, store
from provenance.audit import AuditOptions, parse_duration, run_audit
from provenance.check import CheckOptions
from provenance.ingest import InputError
from provenance.wayback import WaybackOptions

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join((os.environ["PYTHONPATH"], str(ROOT))),
                               **(env or {})}, timeout=timeout)


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


# --------------------------------------------------------------------------- which articles, by which name


def docs_with(root: Path, names: list[str]) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {Path(name).stem}\n\nNo links in {name}.\n")
    return root


def offline_options(tmp_path: Path, **kw) -> AuditOptions:
    """No URLs in these articles; nothing may touch the network anyway."""
    kw.setdefault("db_path", tmp_path / "db" / "p.db")
    kw.setdefault("reports_dir", tmp_path / "reports")
    return AuditOptions(check=CheckOptions(offline=True), **kw)


def rows(db_path: Path) -> list[dict]:
    db = store.open_store(db_path, create=False)
    try:
        return list(db.query("select id, path, resolved_path, removed_at from articles order by id"))
    finally:
        store.close_store(db)


NAMES = ["001_a.txt", "002_b.txt", "003_c.txt", "004_d.txt", "005_e.txt"]


def test_the_same_files_typed_differently_are_the_same_articles(tmp_path, monkeypatch):
    work = tmp_path / "work"
    docs_with(work / "seeds", NAMES)
    opts = offline_options(tmp_path)
    monkeypatch.chdir(work)
    first = run_audit([Path("seeds")], opts).to_dict()
    assert [a["path"] for a in first["articles"]] == [f"seeds/{n}" for n in NAMES]  # shown as typed, relative
    again = run_audit([work / "seeds"], opts).to_dict()["run"]  # "$PWD/seeds"
    assert again["articles_removed"] == 0 and again["articles_extracted"] == 0 and again["articles_unchanged"] == 5
    monkeypatch.chdir(tmp_path)  # from another folder
    other = run_audit([Path("work/seeds/")], opts).to_dict()
    assert other["run"]["articles_removed"] == 0 and other["run"]["articles_unchanged"] == 5
    assert [a["path"] for a in other["articles"]] == [f"work/seeds/{n}" for n in NAMES]
    stored = rows(opts.db_path)
    assert len(stored) == 5 and all(r["removed_at"] is None for r in stored)
    assert {r["resolved_path"] for r in stored} == {os.path.realpath(work / "seeds" / n) for n in NAMES}


def test_auditing_one_file_retires_nothing_else(tmp_path, monkeypatch):
    docs_with(tmp_path / "seeds", NAMES)
    opts = offline_options(tmp_path)
    monkeypatch.chdir(tmp_path)
    run_audit([Path("seeds")], opts)
    one = run_audit([Path("seeds/001_a.txt")], opts).to_dict()
    assert [a["path"] for a in one["articles"]] == ["seeds/001_a.txt"]
    assert one["run"]["articles_removed"] == 0
    assert all(r["removed_at"] is None for r in rows(opts.db_path))


def test_only_files_deleted_under_the_audited_roots_are_retired(tmp_path, monkeypatch):
    docs_with(tmp_path / "seeds", NAMES)
    docs_with(tmp_path / "other", ["x.md"])
    opts = offline_options(tmp_path)
    monkeypatch.chdir(tmp_path)
    run_audit([Path("seeds"), Path("other")], opts)
    (tmp_path / "seeds" / "002_b.txt").unlink()
    (tmp_path / "other" / "x.md").unlink()
    (tmp_path / "other" / "y.md").write_text("# y\n")
    run = run_audit([Path("seeds")], opts).to_dict()["run"]
    assert run["articles_removed"] == 1  # other/x.md is gone too, but "other" was not audited this time
    removed = {r["path"] for r in rows(opts.db_path) if r["removed_at"]}
    assert removed == {"seeds/002_b.txt"}
    assert run_audit([Path("other")], opts).to_dict()["run"]["articles_removed"] == 1


def test_articles_under_an_unreadable_folder_are_kept_and_the_run_reports_it(tmp_path, monkeypatch):
    root = docs_with(tmp_path / "docs", ["a.md", "sub/b.md", "sub/c.md"])
    opts = offline_options(tmp_path)
    assert len(run_audit([root], opts).articles) == 3
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.realpath(path) == os.path.realpath(root / "sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run_audit([root], opts)
    assert result.to_dict()["run"]["articles_removed"] == 0
    assert any("cannot read folder" in e for e in result.errors)  # the CLI exits 2
    assert all(r["removed_at"] is None for r in rows(opts.db_path))


def test_files_in_a_symlinked_folder_are_articles_and_stay(tmp_path):
    elsewhere = docs_with(tmp_path / "elsewhere", ["b.md"])
    root = docs_with(tmp_path / "docs", ["a.md"])
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    opts = offline_options(tmp_path)
    assert [Path(a["path"]).name for a in run_audit([root], opts).to_dict()["articles"]] == ["a.md", "b.md"]
    second = run_audit([root], opts).to_dict()["run"]
    assert second["articles_removed"] == 0 and second["articles_unchanged"] == 2
    (elsewhere / "b.md").unlink()  # deleted through the link's target: gone from this input
    assert run_audit([root], opts).to_dict()["run"]["articles_removed"] == 1


def test_rows_from_before_resolved_paths_are_migrated_once(tmp_path, monkeypatch):
    docs_with(tmp_path / "seeds", NAMES[:2])
    opts = offline_options(tmp_path)
    monkeypatch.chdir(tmp_path)
    run_audit([Path("seeds")], opts)
    db = store.open_store(opts.db_path)
    # As an older provenance left it: no resolved path, and the same file stored twice under two spellings.
    db.execute("update articles set resolved_path = null")
    db.execute("insert into articles (path, file_sha256, last_seen) select ? || path, file_sha256, '2020-01-01T00:00:00Z' "
               "from articles where path = 'seeds/001_a.txt'", [f"{tmp_path}/"])
    db.conn.commit()
    store.close_store(db)
    run = run_audit([Path("seeds")], opts).to_dict()["run"]
    assert run["articles_extracted"] == 0 and run["articles_unchanged"] == 2
    stored = rows(opts.db_path)
    assert len(stored) == 3
    live = [r for r in stored if r["removed_at"] is None]
    assert sorted(r["path"] for r in live) == ["seeds/001_a.txt", "seeds/002_b.txt"]
    assert all(r["resolved_path"] == os.path.realpath(tmp_path / r["path"]) for r in live)
    db = store.open_store(opts.db_path)
    assert store.migrate_resolved_paths(db) == 0  # idempotent
    store.close_store(db)


# --------------------------------------------------------------------------- never our own output


@pytest.mark.parametrize("reports", ["reports", "out/reports"])
def test_the_audit_never_reads_its_own_reports(tmp_path, monkeypatch, reports):
    root = docs_with(tmp_path / "site", ["a.md", "b.md"])
    monkeypatch.chdir(root)
    opts = offline_options(tmp_path, db_path=root / "db" / "p.db", reports_dir=root / reports)
    first = run_audit([Path(".")], opts)
    assert len(first.articles) == 2
    assert len(list((root / reports).glob("*.md"))) == 4  # two reports, index.md, changes.md
    second = run_audit([Path(".")], opts).to_dict()
    assert [a["path"] for a in second["articles"]] == ["a.md", "b.md"]
    assert second["run"]["articles_extracted"] == 0 and not second["run"]["errors"]


def test_reports_into_an_input_folder_are_refused_before_the_run(tmp_path, monkeypatch):
    root = docs_with(tmp_path / "site", ["a.md"])
    monkeypatch.chdir(root)
    # A report is named after its article (a.md -> a.md): written into the input folder it would overwrite it.
    with pytest.raises(InputError, match="input folder"):
        run_audit([Path(".")], offline_options(tmp_path, reports_dir=root))
    assert (root / "a.md").read_text() == "# a\n\nNo links in a.md.\n"
    assert not (tmp_path / "db").exists()


# --------------------------------------------------------------------------- offline means "names did not resolve"


def spy_network(monkeypatch) -> list[tuple[str, ...]]:
    """Record the probe names the audit asks about (the real lookup still runs)."""
    calls: list[tuple[str, ...]] = []
    real = check.network_available

    def network_available(probe_hosts=check.PROBE_HOSTS, proxies=None):
        calls.append(tuple(probe_hosts))
        return real(probe_hosts, proxies)

    monkeypatch.setattr(check, "network_available", network_available)
    return calls


def linked_article(path: Path, urls: list[str]) -> Path:
    body = "\n\n".join(f"Claim number {i} is documented in [the source]({u})." for i, u in enumerate(urls))
    path.write_text(f"---\ntitle: Linked\ndate: 2024-06-01\n---\n\n# Linked\n\n{body}\n", encoding="utf-8")
    return path


def network_options(tmp_path: Path, fw: FakeWayback) -> AuditOptions:
    return AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports",
                        check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5),
                        wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=5))


def test_a_run_of_ip_literals_is_never_called_offline(sim, tmp_path, monkeypatch):
    site = sim.site()
    url = site.page("/fine", "<html><head><title>Fine</title></head><body><p>Claim number 0 holds.</p></body></html>")
    fw = FakeWayback(sim)
    try:
        monkeypatch.setenv("PROVENANCE_PROBE_HOSTS", "provenance-probe.invalid")
        calls = spy_network(monkeypatch)
        result = run_audit([linked_article(tmp_path / "a.md", [url])], network_options(tmp_path, fw)).to_dict()
    finally:
        fw.close()
    assert result["run"]["offline"] is False and calls == []  # no name needed resolving: nothing to probe
    assert [c["verdict"] for c in result["articles"][0]["claims"] if c["kind"] == "link"] == ["ok"]


def test_probe_hosts_from_the_environment_decide_offline(sim, tmp_path, monkeypatch):
    site = sim.site()
    url = site.page("/fine", "<html><head><title>Fine</title></head><body><p>Claim number 0 holds.</p></body></html>")
    named = "https://no-such-host.provenance-test.invalid/page"
    fw = FakeWayback(sim)
    try:
        monkeypatch.setenv("PROVENANCE_PROBE_HOSTS", " provenance-probe.invalid , other-probe.invalid ")
        calls = spy_network(monkeypatch)
        result = run_audit([linked_article(tmp_path / "a.md", [url, named])], network_options(tmp_path, fw)).to_dict()
    finally:
        fw.close()
    assert calls and set(calls) == {("provenance-probe.invalid", "other-probe.invalid")}
    assert result["run"]["offline"] is True
    claims = {c["url"]: c for c in result["articles"][0]["claims"] if c["kind"] == "link"}
    assert claims[named]["verdict"] == "unchecked" and "offline" in claims[named]["reason"]
    assert claims[url]["verdict"] == "ok"  # an IP literal needs no DNS: still checked for real
    assert site.stats.paths.count("/fine") == 1
