"""Shared fixtures: the loopback web simulator, and the guard that keeps every test on this machine.

At import (before any test module): tests/netguard/netguard.py is installed in
this process and, through $PYTHONPATH and $PROVENANCE_NETGUARD, in every
Python process a test starts; each refused attempt to reach a non-loopback
address is logged, and the test that made it fails (``_no_traffic_leaves``);
a child given an environment of its own keeps the guard (``_with_guard``).
Public names resolve to 192.0.2.1 (netguard's "pretend online" mode), so a
test that would go online on a networked machine is caught on any machine.
For the whole session the Wayback Machine is an empty loopback fake
($PROVENANCE_WAYBACK_URL), so a test that names no Wayback asks that fake,
never web.archive.org; and no test asks the public Memento archives
($PROVENANCE_ARCHIVES is empty unless a test sets it, ``no_public_archives``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

_GUARD_DIR = str(Path(__file__).resolve().parent / "netguard")
sys.path.insert(0, _GUARD_DIR)

import netguard  # noqa: E402

from raw_server import RawLoop  # noqa: E402
from simulator import SimWeb  # noqa: E402

_LOG_FD, _LOG_PATH = tempfile.mkstemp(prefix="provenance-netguard-", suffix=".log")
os.close(_LOG_FD)
os.environ[netguard.ENV_ON] = "1"
os.environ[netguard.ENV_LOG] = _LOG_PATH
# Play a machine with a network (public names resolve to a documentation address no host has), unless told
# PROVENANCE_NETGUARD_ONLINE=0: on a machine without one (CI's) a test that would reach out is caught too,
# instead of being stopped by DNS first, and the suite behaves the same with or without a network.
os.environ.setdefault(netguard.ENV_ONLINE, "1")
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_GUARD_DIR, os.environ.get("PYTHONPATH")) if p)
netguard.install()


def _with_guard(env: dict) -> dict:
    """``env`` plus what keeps a child guarded (a test's own values for anything else win)."""
    out = dict(env)
    for key in (netguard.ENV_ON, netguard.ENV_LOG, netguard.ENV_ONLINE):
        if key in os.environ:
            out.setdefault(key, os.environ[key])
    paths = [p for p in out.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _GUARD_DIR not in paths:
        out["PYTHONPATH"] = os.pathsep.join([_GUARD_DIR, *paths])
    return out


_popen_init = subprocess.Popen.__init__


def _guarded_popen_init(self, *args, **kwargs):
    """Every process a test starts is guarded, also when the test gave it an environment of its own
    (``{**os.environ, "PYTHONPATH": ROOT}`` would otherwise drop tests/netguard from its path)."""
    if kwargs.get("env") is not None:
        kwargs["env"] = _with_guard(kwargs["env"])
    _popen_init(self, *args, **kwargs)


subprocess.Popen.__init__ = _guarded_popen_init  # type: ignore[method-assign]


def guarded_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """What a child needs to stay guarded and on the loopback fakes (the session's Wayback, the test's archives:
    none unless it set some), for tests that build an environment from scratch."""
    keep = {k: os.environ[k] for k in (netguard.ENV_ON, netguard.ENV_LOG, netguard.ENV_ONLINE, "PROVENANCE_WAYBACK_URL",
                                       "PROVENANCE_ARCHIVES") if k in os.environ}
    out = {**keep, **(env or {})}
    out["PYTHONPATH"] = os.pathsep.join(p for p in (_GUARD_DIR, (env or {}).get("PYTHONPATH")) if p)
    return out


@pytest.fixture(scope="session", autouse=True)
def _loopback_wayback():
    """An empty fake Wayback for the whole session: the default of every lookup a test does not point elsewhere."""
    from fake_wayback import FakeWayback

    with SimWeb() as web_:
        fake = FakeWayback(web_)
        previous = os.environ.get("PROVENANCE_WAYBACK_URL")
        os.environ["PROVENANCE_WAYBACK_URL"] = fake.base_url
        try:
            yield fake
        finally:
            fake.close()
            if previous is None:
                os.environ.pop("PROVENANCE_WAYBACK_URL", None)
            else:
                os.environ["PROVENANCE_WAYBACK_URL"] = previous
    try:
        os.unlink(_LOG_PATH)
    except OSError:
        pass


@pytest.fixture(autouse=True)
def _no_traffic_leaves():
    """Fail the test if it, or any process it started, tried to reach a non-loopback address."""
    start = os.path.getsize(_LOG_PATH) if os.path.exists(_LOG_PATH) else 0
    yield
    lines, _end = netguard.read_log(_LOG_PATH, start)
    if lines:
        pytest.fail("traffic tried to leave the machine (tests/netguard):\n" + "\n".join(lines[:10]), pytrace=False)


@pytest.fixture
def raw():
    """Raw servers (scripted bytes) on a background loop, stopped after the test."""
    loop = RawLoop()
    loop.thread.start()
    try:
        yield loop
    finally:
        loop.stop()


@pytest.fixture
def sim():
    """A running :class:`SimWeb`; every server it started is stopped after the test."""
    with SimWeb() as web_:
        yield web_


@pytest.fixture(autouse=True)
def no_public_archives(monkeypatch):
    """No test may reach a public web archive: the default Memento archive list is off unless a test sets one.

    Set in the environment, so the CLI subprocesses tests start inherit it too.
    """
    monkeypatch.setenv("PROVENANCE_ARCHIVES", "")


#: Proxy variables of the machine running the tests (either case is read by the tools under test).
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def no_machine_proxy(monkeypatch):
    """The machine's own proxy and CA settings must not decide a test that sets its own."""
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    """A CA of our own (trustme) and a server certificate it signs for the test names and loopback:
    ``ca_file`` to trust it, ``context`` for a server, ``server_chain`` for one that wants files."""
    import ssl

    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    cert = authority.issue_cert("origin.test", "probe.test", "archive.test", "127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("ca")
    ca_file = folder / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    chain = folder / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return {"ca_file": str(ca_file), "server_chain": str(chain), "context": context}


@pytest.fixture
def fake(sim):
    """A fake Wayback Machine (CDX, availability, replays, Save Page Now) on the simulated web; closed after."""
    from fake_wayback import FakeWayback

    fw = FakeWayback(sim)
    yield fw
    fw.close()
