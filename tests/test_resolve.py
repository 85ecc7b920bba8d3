"""The real resolver path: the system's getaddrinfo, no resolver= stand-in.

- ``localhost`` resolves for real (both event loops) and is checked like any name: vetted by the address
  policy on what it resolved to, then fetched from the loopback simulator.
- A ``.invalid`` name (RFC 6761: never resolves, anywhere) is looked up for real; the verdict is the one the
  table below gives for the error this platform raised.
- Each getaddrinfo error code's verdict (a hand-checked table): raised for real where it can be
  (EAI_NONAME from the .invalid name), the others at the getaddrinfo boundary (``socket.getaddrinfo``, which
  asyncio's own loop calls), so everything after it (system_lookup, Resolver, the checker) runs as in
  production.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

import needs

from provenance import check, resolve
from provenance.check import CheckOptions, check_urls

PAGE = "<html><head><title>Rivers</title></head><body>" + "<p>Forty stations measured the rise.</p>" * 20 + "</body></html>"
INVALID = "no-such-host.provenance-test.invalid"

#: getaddrinfo error -> verdict, by hand: only "no such name" answers say a public link is gone; every
#: other failure says nothing about the site (a timeout, a failing server, this machine's own trouble).
EXPECTED: dict[str, str] = {
    "EAI_NONAME": "dead",       # NXDOMAIN: the name does not exist
    "EAI_NODATA": "dead",       # the name exists with no addresses: nothing to fetch, ever
    "EAI_AGAIN": "error",       # temporary failure (SERVFAIL, timeout): try again later
    "EAI_FAIL": "error",        # non-recoverable failure of the resolver, not of the site
    "EAI_MEMORY": "error",      # this machine's trouble
    "EAI_SYSTEM": "error",      # this machine's trouble
    "EAI_FAMILY": "error",      # a bad request on our side
    "EAI_SOCKTYPE": "error",
    "EAI_SERVICE": "error",
    "EAI_BADFLAGS": "error",
    "EAI_ADDRFAMILY": "error",  # no address in the family asked for: not an answer about the name
    "EAI_OVERFLOW": "error",
    "EAI_BADHINTS": "error",    # (BSD and macOS) a bad request on our side
    "EAI_PROTOCOL": "error",
    "EAI_MAX": "error",         # (BSD and macOS) not an error, a bound; never raised
}
CODES = [name for name in EXPECTED if hasattr(socket, name)]


def one(url: str, **options) -> check.CheckResult:
    [result] = check_urls([url], CheckOptions(**{"retries": 0, "host_interval": 0.0, "timeout": 5.0,
                                                  "probe_catch_all": False, **options}))
    assert result.url == url and result.reason
    return result


def test_the_table_covers_every_code_this_platform_has():
    on_platform = {name for name in dir(socket) if name.startswith("EAI_")}
    assert on_platform <= set(EXPECTED), on_platform - set(EXPECTED)
    assert "EAI_NONAME" in CODES and "EAI_AGAIN" in CODES


# --- localhost, for real ---

@pytest.mark.parametrize("use_uvloop", [True, False], ids=["uvloop", "asyncio"])
def test_localhost_resolves_for_real_and_is_checked(sim, monkeypatch, use_uvloop):
    monkeypatch.setattr(check, "USE_UVLOOP", use_uvloop)
    site = sim.site(host="127.0.0.1")
    site.page("/p", PAGE)
    url = f"http://localhost:{site.port}/p"
    r = one(url, allow_private=True, offline=False)
    assert (r.verdict, r.status) == ("ok", 200), r.reason
    assert site.stats.requests == 1 and site.stats.paths == ["/p"]


def test_localhost_is_vetted_on_what_it_resolved_to(sim):
    site = sim.site(host="127.0.0.1")
    site.page("/p", PAGE)
    r = one(f"http://localhost:{site.port}/p", allow_private=False, offline=False)
    assert r.verdict == "unchecked" and "address policy" in r.reason and "localhost resolves to" in r.reason
    assert site.stats.requests == 0


def test_the_resolver_returns_localhost_s_real_addresses():
    async def main() -> list[str]:
        return await resolve.Resolver(CheckOptions(allow_private=True, offline=False)).addresses("localhost")

    addresses = asyncio.run(main())
    assert addresses and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses), addresses
    system = {info[4][0] for info in socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)}
    assert set(addresses) == system


# --- a .invalid name, for real ---

def _platform_error(name: str) -> str:
    """The EAI_ name this machine's getaddrinfo raises for ``name``."""
    try:
        socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        names = [n for n in CODES if getattr(socket, n) == exc.errno]
        assert len(names) == 1, (exc.errno, exc)
        return names[0]
    raise AssertionError(f"{name} resolved: RFC 6761 says .invalid never does")


@pytest.mark.parametrize("use_uvloop", [True, False], ids=["uvloop", "asyncio"])
def test_an_invalid_name_is_looked_up_for_real(monkeypatch, use_uvloop):
    monkeypatch.setattr(check, "USE_UVLOOP", use_uvloop)
    code = _platform_error(INVALID)
    r = one(f"http://{INVALID}/page", offline=False)
    assert r.verdict == EXPECTED[code], (code, r.reason)
    if code == "EAI_NONAME":  # what a machine with a working resolver (this one included) answers
        assert r.reason == f"domain does not exist: {INVALID} does not resolve"


@pytest.mark.parametrize("network, raised", [(False, resolve.Offline), (True, resolve.NameNotFound)])
def test_a_failed_real_lookup_without_a_run_answer_asks_whether_the_machine_is_online(monkeypatch, network, raised):
    """offline=None: a failing lookup asks once whether the machine has a network (offline: never dead)."""
    if _platform_error(INVALID) != "EAI_NONAME":
        needs.skip_or_fail("this machine's resolver does not answer 'no such name' for .invalid")
    asked = []
    monkeypatch.setattr(resolve, "network_available", lambda *a, **k: asked.append(1) or network)

    async def main() -> None:
        resolver = resolve.Resolver(CheckOptions(offline=None))
        with pytest.raises(raised):
            await resolver.addresses(INVALID)
        with pytest.raises(raised):
            await resolver.addresses("other." + INVALID)

    asyncio.run(main())
    assert asked == [1]


# --- every error code, at the getaddrinfo boundary ---

@pytest.fixture
def failing_getaddrinfo(monkeypatch):
    """socket.getaddrinfo raising the code named in the host's first label (code-eai-again.example.org ...)."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host, *args, **kwargs):
        label = str(host).split(".", 1)[0]
        if label.startswith("code-"):
            asked.append(host)
            name = label[5:].upper().replace("-", "_")
            raise socket.gaierror(getattr(socket, name), f"{name} (raised at the boundary)")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(check, "USE_UVLOOP", False)  # asyncio's loop resolves through socket.getaddrinfo
    return asked


@pytest.mark.parametrize("code", CODES)
def test_each_getaddrinfo_error_becomes_its_verdict(failing_getaddrinfo, code):
    host = f"code-{code.lower().replace('_', '-')}.example.org"
    r = one(f"https://{host}/report", offline=False)
    assert r.verdict == EXPECTED[code], (code, r.reason)
    assert failing_getaddrinfo == [host]  # resolved once, through the system path
    if r.verdict == "dead":
        assert "does not resolve" in r.reason
    else:
        assert r.reason.startswith(f"DNS lookup for {host} failed"), r.reason


@pytest.mark.parametrize("code", ["EAI_NONAME", "EAI_AGAIN"])
def test_a_private_name_that_does_not_resolve_is_never_dead(failing_getaddrinfo, code):
    host = f"code-{code.lower().replace('_', '-')}.printers.internal"
    r = one(f"http://{host}/queue", offline=False)
    assert r.verdict == ("unchecked" if code == "EAI_NONAME" else "error"), r.reason
