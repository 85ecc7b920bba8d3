"""action.yml: a composite GitHub Action whose shell steps are run here, as written, two nights in a row.

Actions' own steps (setup-python, cache restore/save, upload-artifact) are
GitHub's; here the workspace persists between the two runs as the cache
would carry the database. The install step is checked for what it installs
(this checkout) but not run: the test's environment already has it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fake_wayback import FakeWayback

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"


def load() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_action_shape():
    action = load()
    assert action["runs"]["using"] == "composite"
    assert {"paths", "fail-on", "args", "python-version"} <= set(action["inputs"])
    steps = action["runs"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/setup-python", "actions/cache/restore", "actions/cache/save", "actions/upload-artifact"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save"))
    assert restore["with"]["path"] == save["with"]["path"] == "${{ inputs.db }}"
    assert restore["with"]["key"] == save["with"]["key"] and restore["with"]["restore-keys"]
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts through env only (no expression injection)"
    install = next(s for s in steps if s.get("name") == "Install provenance")
    assert 'pip install' in install["run"] and "$ACTION_PATH" in install["run"]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert (ROOT / "pyproject.toml").exists()  # what "pip install $ACTION_PATH" installs


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        expr = match.group(1).strip()
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        if expr == "github.action_path":
            return str(ROOT)
        if expr.startswith("steps.audit.outputs."):
            return outputs.get(expr.removeprefix("steps.audit.outputs."), "")
        raise AssertionError(f"unexpected expression {expr}")

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


def run_steps(workspace: Path, inputs: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """Run the action's shell steps as the runner would; (exit code of the last step, outputs, summary)."""
    action = load()
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | inputs
    shim = workspace / ".bin"
    shim.mkdir(exist_ok=True)
    (shim / "provenance").write_text(f"#!/bin/sh\nexec {sys.executable} -m provenance \"$@\"\n")
    (shim / "provenance").chmod(0o755)
    output, summary = workspace / ".output", workspace / ".summary"
    output.write_text("")
    summary.write_text("")
    outputs: dict[str, str] = {}
    code = 0
    for step in action["runs"]["steps"]:
        if "run" not in step or step.get("name") == "Install provenance":
            continue
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{shim}:{os.environ.get('PATH', '/usr/bin:/bin')}",
               "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
        env.update({k: _expand(str(v), values, outputs) for k, v in (step.get("env") or {}).items()})
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=workspace,
                              env=env, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in proc.stderr, proc.stderr
        for line in output.read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[key] = value
        code = proc.returncode
        if code and step is not action["runs"]["steps"][-1]:
            raise AssertionError(f"step {step.get('name')} failed: {proc.stdout}{proc.stderr}")
    return code, outputs, summary.read_text()


@pytest.fixture
def newsroom(sim, tmp_path):
    site = sim.site()
    live = site.page("/live")
    gone = site.url("/gone")
    fw = FakeWayback(sim)
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "story.md").write_text(f"---\ntitle: Story\ndate: 2023-04-05\n---\n\nThe [report]({live}) is live; "
                                       f"the [study]({gone}) is gone. The [post](https://x.com/a/status/1) is walled.\n")
    yield tmp_path, fw, live, gone
    fw.close()


def test_two_nights_of_the_action(newsroom):
    workspace, fw, live, gone = newsroom
    args = f"--allow-private --retries 0 --host-interval 0 --wayback-url {fw.base_url} --exclude ^https://x\\.com/"
    code, outputs, summary = run_steps(workspace, {"args": args})
    assert outputs["exit-code"] == "1" and code == 1  # a dead link: the last step fails the job
    assert "# provenance audit" in summary and "![" not in summary
    reports = workspace / "reports"
    assert (reports / "index.md").exists() and (reports / "link-rot-by-year.svg").exists()
    junit = ET.parse(reports / "junit.xml").getroot()
    assert junit.get("failures") == "1" and junit.get("skipped") == "1"  # the dead study; the excluded post
    db = workspace / "db" / "provenance.db"
    assert sorted(p.name for p in db.parent.iterdir()) == ["provenance.db"]  # what the cache saves, nothing else
    # the next night (the cache brought the database back): incremental, and --fail-on "" never fails
    code, outputs, _summary = run_steps(workspace, {"args": args, "fail-on": ""})
    assert outputs["exit-code"] == "0" and code == 0
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("select urls_checked, urls_fresh from runs order by id").fetchall()
    finally:
        conn.close()
    assert runs[0][0] == 2 and (runs[1][0] or 0, runs[1][1]) == (0, 2)  # nothing due the next night


def test_bad_arguments_fail_the_job_with_exit_2(newsroom):
    workspace, *_ = newsroom
    code, outputs, summary = run_steps(workspace, {"args": "--exclude ("})
    assert outputs["exit-code"] == "2" and code == 2
    assert "wrote no reports" in summary


def test_scheduling_doc_uses_this_action():
    doc = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    block = doc.split("## GitHub Actions", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    workflow = yaml.safe_load(block)
    steps = workflow["jobs"]["audit"]["steps"]
    ours = [s for s in steps if "provenance" in s.get("uses", "") and not s["uses"].startswith("actions/")]
    assert ours and set(ours[0]["with"]) <= set(load()["inputs"])
    assert workflow[True if True in workflow else "on"]["schedule"]  # YAML reads "on" as true
    assert json.dumps(workflow)  # plain data
