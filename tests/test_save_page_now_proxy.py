"""Save Page Now goes out the way the Wayback lookups do: through --proxy, trusting --ca-bundle.

The fake Wayback is reachable only by a name the proxy alone resolves
(``archive.test``), so a save that arrives at all went through the proxy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fake_wayback import FakeWayback
from pages import PAGE
from provenance import wayback
from proxy_server import ProxyServer

ROOT = Path(__file__).resolve().parent.parent
NETWORK_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


@pytest.fixture(autouse=True)
def _clean_environment(no_machine_proxy):
    """The machine's own proxy settings must not decide these tests."""


@pytest.fixture(scope="module")
def ca(private_ca):
    return private_ca


@pytest.fixture
def archive_behind_proxy(sim, ca):
    fw = FakeWayback(sim)
    parts = urlsplit(fw.base_url)
    probe = sim.site(ssl_context=ca["context"])  # the offline probe's TLS tunnel ends here (audit)
    names = {"archive.test": (parts.hostname, parts.port), "probe.test": (probe.host, probe.port)}
    with ProxyServer(names) as proxy:
        yield fw, proxy, f"http://archive.test:{parts.port}"
    fw.close()


def test_save_page_now_takes_the_proxy(archive_behind_proxy):
    fw, proxy, base = archive_behind_proxy
    url = "https://example.org/fresh"
    options = wayback.WaybackOptions(base_url=base, proxy=proxy.url, retries=0, timeout=5)
    snap = wayback.save_page_now([url], options, save_timeout=10)[url]
    assert snap.timestamp and len(snap.timestamp) == 14, snap.reason
    assert snap.snapshot_url == f"{base}/web/{snap.timestamp}/{url}"
    assert fw.calls.save == 1
    assert ("GET", f"{base}/save/{url}") in proxy.seen
    direct = wayback.save_page_now([url], wayback.WaybackOptions(base_url=base, retries=0, timeout=5),
                                   save_timeout=10)[url]
    assert direct.timestamp is None and direct.failed      # without the proxy archive.test is nowhere
    assert fw.calls.save == 1


def test_save_page_now_takes_the_ca_bundle(sim, ca):
    """An https Wayback signed by a private CA: trusted with --ca-bundle, refused without it."""
    from aiohttp import web

    stamp = "20260101000000"

    async def save(request: web.Request) -> web.StreamResponse:
        if not request.path.startswith("/save/"):
            return web.Response(status=404)
        return web.Response(text="Saved", headers={"Content-Location": f"/web/{stamp}/https://example.org/x"})

    site = sim.site(default=save, ssl_context=ca["context"])
    with ProxyServer({"archive.test": (site.host, site.port)}) as proxy:
        base = f"https://archive.test:{site.port}"
        trusted = wayback.WaybackOptions(base_url=base, proxy=proxy.url, ca_bundle=ca["ca_file"], retries=0, timeout=5)
        snap = wayback.save_page_now(["https://example.org/x"], trusted, save_timeout=10)["https://example.org/x"]
        assert snap.timestamp == stamp, snap.reason
        assert ("CONNECT", f"archive.test:{site.port}") in proxy.seen
        untrusted = wayback.WaybackOptions(base_url=base, proxy=proxy.url, retries=0, timeout=5)
        snap = wayback.save_page_now(["https://example.org/x"], untrusted, save_timeout=10)["https://example.org/x"]
        assert snap.timestamp is None and "Save Page Now" in snap.reason


def test_audit_save_goes_through_the_proxy(sim, archive_behind_proxy, tmp_path):
    fw, proxy, base = archive_behind_proxy
    site = sim.site()
    live = site.page("/report", PAGE)
    docs = tmp_path / "articles"
    docs.mkdir()
    (docs / "a.md").write_text(f"---\ntitle: Saved\ndate: 2024-06-01\n---\n\nThe council [approved]({live}) the "
                               f"budget on Tuesday.\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in NETWORK_VARS and k != "PROVENANCE_WAYBACK_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "provenance", "audit", str(docs), "--db", str(tmp_path / "p.db"), "--reports",
         str(tmp_path / "r"), "--allow-private", "--retries", "0", "--host-interval", "0", "--archives", "",
         "--wayback-url", base, "--proxy", proxy.url, "--save", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**env, "PYTHONPATH": str(ROOT), "PROVENANCE_PROBE_HOSTS": "probe.test"})
    assert proc.returncode == 0, proc.stderr
    claim = json.loads(proc.stdout)["articles"][0]["claims"][0]
    assert claim["verdict"] == "ok"
    assert claim["snapshot"] and claim["snapshot"]["snapshot_url"].startswith(f"{base}/web/"), proc.stderr
    assert fw.calls.save == 1
    assert ("GET", f"{base}/save/{live}") in proxy.seen
