"""`provenance config` shows the proxy and CA settings the environment supplies, with "environment" as source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORK_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file"}


def config_json(cwd: Path, env: dict[str, str]) -> dict[tuple[str, str], dict]:
    base = {k: v for k, v in os.environ.items()
            if k.lower() not in NETWORK_VARS and k not in ("PROVENANCE_CONFIG", "PROVENANCE_WAYBACK_URL")}
    proc = subprocess.run([sys.executable, "-m", "provenance", "config", "--json"], capture_output=True, text=True,
                          cwd=cwd, env={**base, "PYTHONPATH": str(ROOT), **env}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {(s["command"], s["key"]): s for s in json.loads(proc.stdout)["settings"]}


def test_proxy_and_ca_bundle_from_the_environment_are_shown(tmp_path):
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("not read by `config`\n", encoding="utf-8")
    got = config_json(tmp_path, {"HTTPS_PROXY": "http://user:secret@proxy.corp:3128", "no_proxy": "localhost,.corp",
                                 "SSL_CERT_FILE": str(ca)})
    for command in ("check", "audit", "snapshot", "extract"):
        proxy = got[(command, "proxy")]
        assert proxy["source"] == "environment (HTTPS_PROXY, no_proxy)"
        assert "HTTPS_PROXY=http://proxy.corp:3128" in proxy["value"] and "no_proxy=localhost,.corp" in proxy["value"]
        assert "secret" not in proxy["value"]                  # a proxy's password is never printed
        assert got[(command, "ca-bundle")] == {**got[(command, "ca-bundle")], "value": str(ca),
                                               "source": "environment (SSL_CERT_FILE)"}


def test_either_case_and_all_proxy(tmp_path):
    got = config_json(tmp_path, {"all_proxy": "socks5h://127.0.0.1:1080", "HTTP_PROXY": "http://p:8080"})
    assert got[("check", "proxy")]["source"] == "environment (HTTP_PROXY, all_proxy)"
    assert got[("check", "proxy")]["value"] == "HTTP_PROXY=http://p:8080, all_proxy=socks5h://127.0.0.1:1080"


def test_the_file_beats_the_environment_and_nothing_set_is_a_default(tmp_path):
    (tmp_path / "provenance.toml").write_text('proxy = "http://file-proxy:3128"\n', encoding="utf-8")
    got = config_json(tmp_path, {"HTTPS_PROXY": "http://env-proxy:3128"})
    assert got[("check", "proxy")]["value"] == "http://file-proxy:3128"
    assert got[("check", "proxy")]["source"].startswith("config file")
    (tmp_path / "provenance.toml").unlink()
    got = config_json(tmp_path, {})
    assert got[("check", "proxy")]["value"] is None and got[("check", "proxy")]["source"] == "default"
    assert got[("check", "ca-bundle")]["source"] == "default"
