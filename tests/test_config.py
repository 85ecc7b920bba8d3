"""The config file: where it is found, what it may say, what wins, and one-line errors for mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from provenance import cli
from provenance.config import ConfigError, effective_settings, load_config, settings_of

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PROVENANCE_CONFIG", "PROVENANCE_WAYBACK_URL")}
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=cwd,
                          env={**environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def commands() -> dict:
    return cli._setting_commands(typer.main.get_command(cli.app))


def settings(cwd: Path, *args: str, env: dict | None = None) -> dict[tuple[str, str], dict]:
    proc = run("config", "--json", *args, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return {(s["command"], s["key"]): s for s in data["settings"]} | {("", "file"): data["config_file"]}


# --------------------------------------------------------------------------- every option is a key


def test_every_long_option_of_every_command_is_a_key():
    cmds = commands()
    assert {"extract", "check", "snapshot", "audit", "report", "browse"} <= set(cmds)
    assert "config" not in cmds
    for name, cmd in cmds.items():
        keys = settings_of(cmd)
        longs = {o[2:] for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("--")} - {"help"}
        assert longs <= set(keys), (name, longs - set(keys))
    audit = settings_of(cmds["audit"])
    for key in ("host-interval", "exclude", "include", "junit", "confirm-after", "confirm-days", "wait", "fail-on"):
        assert key in audit, key
    assert {"exclude", "junit", "fail-on"} <= set(settings_of(cmds["check"]))


def test_an_option_added_later_is_a_key_with_no_work(tmp_path):
    """Other issues add options (--proxy, --archives ...): the keys come from the commands themselves."""
    import click

    fake = click.Command("audit", params=[click.Option(["--proxy"], type=str), click.Option(["--limit"], type=int)])
    (tmp_path / "provenance.toml").write_text('proxy = "http://127.0.0.1:3128"\nlimit = 5\n')
    config = load_config({"audit": fake}, cwd=tmp_path, environ={})
    assert config.default_map == {"audit": {"proxy": "http://127.0.0.1:3128", "limit": 5}}


# --------------------------------------------------------------------------- where the file is found


def test_no_file_means_defaults(tmp_path):
    got = settings(tmp_path)
    assert got[("", "file")] is None
    assert got[("audit", "host-interval")] == {"command": "audit", "key": "host-interval", "value": 0.2,
                                               "source": "default"}


def test_provenance_toml_top_level_and_command_tables(tmp_path):
    (tmp_path / "provenance.toml").write_text(
        'host-interval = 1\nreports = "out"\n\n[audit]\nretries = 5\n\n[check]\ntimeout = 3.5\n')
    got = settings(tmp_path)
    assert got[("", "file")] == "provenance.toml"
    # an integer where a number is expected is fine; a top-level key goes to every command that takes it
    for command in ("check", "audit"):
        assert got[(command, "host-interval")]["value"] == 1
        assert got[(command, "host-interval")]["source"] == "config file (provenance.toml)"
    assert got[("audit", "reports")]["value"] == "out" and got[("report", "reports")]["value"] == "out"
    assert ("check", "reports") not in got  # check does not take it: ignored there, not an error
    assert got[("audit", "retries")] == {"command": "audit", "key": "retries", "value": 5,
                                         "source": "config file (provenance.toml [audit])"}
    assert got[("check", "retries")]["source"] == "default"
    assert got[("check", "timeout")]["value"] == 3.5 and got[("audit", "timeout")]["value"] == 20.0


def test_a_command_table_beats_the_top_level(tmp_path):
    (tmp_path / "provenance.toml").write_text('[audit]\nretries = 5\n\n[tool]\n')  # [tool]: not a command
    one_line_error(run("config", cwd=tmp_path), "provenance.toml:4", "unknown key 'tool'")
    (tmp_path / "provenance.toml").write_text('retries = 1\n[audit]\nretries = 5\n')
    got = settings(tmp_path)
    assert got[("audit", "retries")]["value"] == 5 and got[("check", "retries")]["value"] == 1


def test_pyproject_tool_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.provenance]\nexclude = ["^https://x\\\\.com/"]\n'
                                             '\n[tool.provenance.audit]\nconfirm-after = 4\n')
    got = settings(tmp_path)
    assert got[("", "file")] == "pyproject.toml"
    assert got[("check", "exclude")]["value"] == ["^https://x\\.com/"]
    assert got[("check", "exclude")]["source"] == "config file (pyproject.toml [tool.provenance])"
    assert got[("audit", "confirm-after")]["value"] == 4
    # provenance.toml wins over pyproject.toml
    (tmp_path / "provenance.toml").write_text("confirm-after = 2\n")
    assert settings(tmp_path)[("audit", "confirm-after")]["value"] == 2


def test_a_pyproject_without_our_table_is_not_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\nbroken")  # not ours to judge
    assert settings(tmp_path)[("", "file")] is None


def test_config_option_and_environment_variable(tmp_path):
    (tmp_path / "provenance.toml").write_text("retries = 1\n")
    other = tmp_path / "ci.toml"
    other.write_text("retries = 7\n")
    for args in (("--config", str(other)), (f"--config={other}",)):
        assert settings(tmp_path, *args)[("check", "retries")]["value"] == 7
    proc = run("--config", str(other), "config", "check", "--json", cwd=tmp_path)  # before the command too
    assert json.loads(proc.stdout)["config_file"] == str(other)
    got = settings(tmp_path, env={"PROVENANCE_CONFIG": str(other)})
    assert got[("check", "retries")]["value"] == 7
    one_line_error(run("config", "--config", str(tmp_path / "missing.toml"), cwd=tmp_path), "missing.toml", "not found")


def test_command_line_beats_environment_beats_file(tmp_path):
    (tmp_path / "provenance.toml").write_text('wayback-url = "http://127.0.0.1:9/file"\n')
    assert settings(tmp_path)[("snapshot", "wayback-url")]["value"] == "http://127.0.0.1:9/file"
    env = {"PROVENANCE_WAYBACK_URL": "http://127.0.0.1:9/env"}
    got = settings(tmp_path, env=env)[("snapshot", "wayback-url")]
    assert got == {"command": "snapshot", "key": "wayback-url", "value": "http://127.0.0.1:9/env",
                   "source": "environment (PROVENANCE_WAYBACK_URL)"}


def test_file_values_reach_the_command_and_the_command_line_wins(tmp_path, sim):
    site = sim.site()
    a, b = site.page("/a"), site.page("/b")
    (tmp_path / "provenance.toml").write_text('allow-private = true\nretries = 0\nhost-interval = 0\n'
                                              'exclude = ["/a$"]\n')
    proc = run("check", a, b, "--json", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = {r["url"]: r for r in json.loads(proc.stdout)}
    assert got[a]["verdict"] == "unchecked" and got[a]["reason"] == "excluded by --exclude '/a$'"
    assert got[b]["verdict"] == "ok"
    assert "/a" not in site.stats.paths and "/b" in site.stats.paths  # the excluded link was never requested
    # the command line replaces the file's list
    proc = run("check", a, b, "--json", "--quiet", "--exclude", "/b$", cwd=tmp_path)
    got = {r["url"]: r for r in json.loads(proc.stdout)}
    assert got[a]["verdict"] == "ok" and got[b]["verdict"] == "unchecked"
    assert "/a" in site.stats.paths


# --------------------------------------------------------------------------- mistakes are one line, exit 2


@pytest.mark.parametrize("text, needles", [
    ("hostinterval = 0.5\n", ["provenance.toml:1", "unknown key 'hostinterval'", "did you mean 'host-interval'"]),
    ("host-interval = 'fast'\n", ["provenance.toml:1", "'host-interval' must be a number", "'fast'"]),
    ("retries = 1.5\n", ["'retries' must be an integer"]),
    ("allow-private = 'yes'\n", ["'allow-private' must be true or false"]),
    ("concurrency = true\n", ["'concurrency' must be an integer"]),
    ("concurrency = 0\n", ["'concurrency' = 0", "range"]),
    ("exclude = [1]\n", ["'exclude' must be a list of strings"]),
    ("exclude = ['(x']\n", ["provenance.toml:1", "exclude '(x'", "not a regular expression"]),
    ("\n\nhost-interval = \n", ["provenance.toml:3:", "not valid TOML"]),
    ("[audit]\nwayback = 'x'\n", ["provenance.toml:2", "unknown key 'wayback' in [audit]"]),
    ("[check]\nreports = 'x'\n", ["unknown key 'reports' in [check]", "'check' does not take it"]),
    ("[nosuch]\nx = 1\n", ["provenance.toml:1", "unknown key 'nosuch'"]),
    ("timeout = {a = 1}\n", ["provenance.toml:1", "'timeout' must be a number, not a table"]),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, needles):
    (tmp_path / "provenance.toml").write_text(text)
    for args in (("config",), ("check", "http://127.0.0.1:9/x")):
        one_line_error(run(*args, cwd=tmp_path), *needles)


def test_not_utf8_is_one_line(tmp_path):
    (tmp_path / "provenance.toml").write_bytes(b"retries = 1\n\xff\xfe\n")
    one_line_error(run("config", cwd=tmp_path), "provenance.toml", "not valid TOML")


def test_a_bad_regex_on_the_command_line_is_one_line(tmp_path):
    one_line_error(run("check", "http://127.0.0.1:9/", "--include", "[", cwd=tmp_path), "--include '['",
                   "not a regular expression")


# --------------------------------------------------------------------------- the repository itself


def test_the_repository_has_no_live_config_and_its_example_is_valid(tmp_path):
    assert not (ROOT / "provenance.toml").exists()
    assert "provenance" not in tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {})
    example = ROOT / "provenance.example.toml"
    config = load_config(commands(), example, cwd=tmp_path, environ={})
    assert config.default_map["audit"]["confirm_after"] == 3
    assert config.default_map["check"]["exclude"] == config.default_map["audit"]["exclude"]
    assert config.default_map["check"]["fail_on"] == "dead" and config.default_map["audit"]["fail_on"] == "dead,soft404"
    shown = effective_settings(commands(), config, environ={})
    assert {s.source for s in shown} >= {"default", f"config file ({example})", f"config file ({example} [audit])"}


def test_load_config_errors_are_config_errors(tmp_path):
    (tmp_path / "provenance.toml").write_text("nosuch = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'nosuch'"):
        load_config(commands(), cwd=tmp_path, environ={})


def test_arguments_are_keys_too(tmp_path):
    """`paths = [...]` gives audit (and extract) their inputs, so a newsroom's job is just `provenance audit`."""
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "a.md").write_text("# A\n\nNo links.\n")
    (tmp_path / "provenance.toml").write_text('paths = ["arts"]\n\n[audit]\nquiet = true\njson = true\n')
    proc = run("audit", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [a["path"] for a in data["articles"]] == ["arts/a.md"]
    assert proc.stderr == ""  # quiet from the file


def test_config_text_output_names_the_file_and_sources(tmp_path):
    (tmp_path / "provenance.toml").write_text("[audit]\nconfirm-days = 2\n")
    proc = run("config", "audit", "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "# config file: provenance.toml"
    assert "[audit]" in lines and "[check]" in lines and "[report]" not in lines
    assert "confirm-days = 2  # config file (provenance.toml [audit])" in lines
    assert "host-interval = 0.2  # default" in lines
    one_line_error(run("config", "nosuch", cwd=tmp_path), "unknown command(s): nosuch")


def test_an_empty_environment_variable_still_beats_the_file(tmp_path):
    # PROVENANCE_ARCHIVES="" means "no other archives"; click ignores empty variables, the file must too.
    (tmp_path / "provenance.toml").write_text('archives = "http://127.0.0.5:8080/timemap/link/"\n')
    environ = {"PROVENANCE_ARCHIVES": ""}
    config = load_config(commands(), cwd=tmp_path, environ=environ)
    assert "archives" not in config.default_map.get("audit", {})
    shown = {(s.command, s.key): s for s in effective_settings(commands(), config, environ=environ)}
    assert shown[("audit", "archives")].source == "environment (PROVENANCE_ARCHIVES)"
    # without the variable the file's value stands
    config = load_config(commands(), cwd=tmp_path, environ={})
    assert config.default_map["audit"]["archives"] == "http://127.0.0.5:8080/timemap/link/"


def test_a_broken_pyproject_is_an_error_only_when_it_holds_our_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.provenance]\nhost-interval = [\n")
    with pytest.raises(ConfigError, match="pyproject.toml"):
        load_config(commands(), cwd=tmp_path, environ={})
    (tmp_path / "pyproject.toml").write_text("[project]\nname = [\n")
    assert load_config(commands(), cwd=tmp_path, environ={}).path is None
