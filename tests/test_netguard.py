"""tests/netguard: no test reaches outside this machine, in this process or in any process it starts.

Addresses used for "outside": 192.0.2.1 and 2001:db8::1, documentation ranges (RFC 5737, RFC 3849) that
no real host has, so even a broken guard sends nothing anywhere that answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import netguard

TESTS = Path(__file__).resolve().parent
OUTSIDE = ("192.0.2.1", 9)


def test_a_python_socket_to_outside_is_refused_and_recorded():
    with netguard.expect_violations() as caught:
        with pytest.raises(netguard.NetworkGuardRefused):
            socket.create_connection(OUTSIDE, timeout=1)
    assert len(caught) == 1 and "192.0.2.1" in caught[0]


def test_udp_and_ipv6_to_outside_are_refused():
    with netguard.expect_violations() as caught:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(netguard.NetworkGuardRefused):
            udp.sendto(b"x", OUTSIDE)
        if socket.has_ipv6:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as six, pytest.raises(netguard.NetworkGuardRefused):
                six.connect(("2001:db8::1", 9))
    assert len(caught) == (2 if socket.has_ipv6 else 1)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.77", "localhost"])
def test_loopback_is_allowed(host):
    with socket.socket() as server:
        server.bind(("127.0.0.1" if host == "localhost" else host, 0))
        server.listen(1)
        port = server.getsockname()[1]
        with netguard.expect_violations() as caught:
            with socket.create_connection((host, port), timeout=5):
                pass
    assert caught == []


def test_unix_sockets_are_allowed(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(path)
        server.listen(1)
        with netguard.expect_violations() as caught:
            client.connect(path)
    assert caught == []


@pytest.mark.parametrize("loop_factory", ["asyncio", "uvloop"])
def test_event_loops_refuse_outside_and_allow_loopback(loop_factory):
    if loop_factory == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
        assert getattr(type(loop), "_netguarded", False)  # libuv's own sockets are checked before the call
    else:
        loop = asyncio.new_event_loop()

    async def attempt(host: str, port: int) -> BaseException | None:
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
            writer.close()
        except BaseException as exc:  # noqa: BLE001 - the error is the answer
            return exc
        return None

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        try:
            with netguard.expect_violations() as caught:
                outside = loop.run_until_complete(attempt(*OUTSIDE))
                inside = loop.run_until_complete(attempt("127.0.0.1", server.getsockname()[1]))
        finally:
            loop.close()
    assert isinstance(outside, netguard.NetworkGuardRefused), outside
    assert inside is None and len(caught) == 1


def test_a_child_process_is_guarded_too(tmp_path):
    """The CLI runs in subprocesses: sitecustomize.py installs the guard there and logs to the same file."""
    log = tmp_path / "guard.log"
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 9), timeout=1)\nexcept OSError as e:\n" \
           "    print(type(e).__name__)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, netguard.ENV_LOG: str(log)})
    assert proc.stdout.strip() == "NetworkGuardRefused", proc.stderr
    lines, _ = netguard.read_log(str(log), 0)
    assert len(lines) == 1 and "192.0.2.1" in lines[0]


def test_a_test_that_swallows_the_refusal_still_fails():
    """The checker turns connect errors into verdicts; the log makes the test that reached out fail anyway."""
    proc = subprocess.run([sys.executable, "-m", "pytest", str(TESTS / "netguard" / "swallowed_case.py"), "-q",
                           "-p", "no:cacheprovider", "-p", "no:randomly"], capture_output=True, text=True,
                          timeout=120, cwd=TESTS.parent)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "traffic tried to leave the machine" in proc.stdout and "192.0.2.1" in proc.stdout
    assert "1 error" in proc.stdout or "1 failed" in proc.stdout


def test_the_session_wayback_is_a_loopback_fake():
    from provenance.wayback import WaybackOptions

    base = WaybackOptions().base_url
    assert base.startswith("http://127.0.0.") and "archive.org" not in base



def test_public_names_pretend_to_resolve_so_a_leak_is_caught_without_a_network():
    """The session plays a networked machine: a public name resolves (to 192.0.2.1), private ones do not."""
    if os.environ.get(netguard.ENV_ONLINE) != "1":
        pytest.skip("run with PROVENANCE_NETGUARD_ONLINE=0: the machine's own DNS")
    assert {i[4][0] for i in socket.getaddrinfo("example.org", 443)} == {netguard.PRETEND_ADDRESS}
    for name in ("no-such-host.invalid", "printer.local", "intranet"):
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo(name, 443)
    assert all(ipaddress.ip_address(i[4][0]).is_loopback for i in socket.getaddrinfo("localhost", 443))


def test_the_checker_reaching_out_is_refused_and_recorded():
    """End to end: the real checker (uvloop, the system resolver) asked for a public URL is stopped at connect."""
    if os.environ.get(netguard.ENV_ONLINE) != "1":
        pytest.skip("run with PROVENANCE_NETGUARD_ONLINE=0: the machine's own DNS")
    from provenance.check import CheckOptions, check_urls

    with netguard.expect_violations() as caught:
        [result] = check_urls(["https://example.org/report"], CheckOptions(offline=False, retries=0, timeout=5,
                                                                          probe_catch_all=False))
    assert result.verdict == "error", result.reason  # the checker swallowed it: only the record tells
    assert caught and all("192.0.2.1" in line for line in caught), caught


def test_a_child_given_an_environment_of_its_own_is_guarded_too(tmp_path):
    """A test that builds a child's environment from scratch (or replaces PYTHONPATH) does not switch it off."""
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 9), timeout=1)\nexcept OSError as e:\n" \
           "    print(type(e).__name__)\n"
    log = tmp_path / "guard.log"
    for env in ({"PATH": "/usr/bin:/bin"}, {**os.environ, "PYTHONPATH": str(TESTS.parent)}):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={**env, netguard.ENV_LOG: str(log)})
        assert proc.stdout.strip() == "NetworkGuardRefused", proc.stderr
    lines, _ = netguard.read_log(str(log), 0)
    assert len(lines) == 2
