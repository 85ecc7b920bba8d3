"""A session-wide guard: no test may reach an address outside this machine.

Why our own and not pytest-socket: pytest-socket raises inside the process
under test, and the checker turns any connect error into an ``error``
verdict, so a test that reached out would still pass. This guard refuses the
connection (PermissionError, as a firewall would) *and* writes a line to a
log file that ``tests/conftest.py`` reads after every test, failing the test
that tried, even when the code under test swallowed the error. It also
reaches where pytest-socket does not: the CLI subprocesses the tests start
(``sitecustomize.py`` beside this file, on their PYTHONPATH) and uvloop's
event loop, whose sockets libuv opens outside Python's socket module.

What it watches:
- every Python socket's connect, sendto and sendmsg (a CPython audit hook,
  so sockets made by asyncio, httpx, aiohttp, ssl and urllib are all seen);
- uvloop's create_connection, create_datagram_endpoint and sock_connect.

"Pretend online" ($PROVENANCE_NETGUARD_ONLINE=1, the test session's default):
every public name resolves to 192.0.2.1 (TEST-NET-1, RFC 5737: no host has
it, nothing routes it), which the address policy takes for the public
address it plays. A test that would go online on a networked machine then
tries to connect here too, and is caught, on a machine without a network
(CI's) as on one with.

What it allows: loopback (127.0.0.0/8, ::1, IPv4-mapped loopback), the
unspecified address (local on Linux), Unix sockets and any non-IP family;
a name is allowed when every address it resolves to is allowed.

C libraries that open their own sockets (libcurl) are outside the audit
hook: the checker's fetch layer (provenance.fetch.Transport.get) is checked
at its door instead, on the addresses it hands libcurl or on its proxy.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Set (to "1") in the environment of every test process and its children: install the guard.
ENV_ON = "PROVENANCE_NETGUARD"
#: Set (to "1") to play a machine with a network: every public name resolves to 192.0.2.1 (RFC 5737, no real
#: host), so tests that would reach out on a networked machine are caught on one without (see docs/testing.md).
ENV_ONLINE = "PROVENANCE_NETGUARD_ONLINE"
#: What every public name resolves to under ENV_ONLINE.
PRETEND_ADDRESS = "192.0.2.1"
#: Names that resolve nowhere (RFC 6761 .invalid, .test; RFC 2606 .example) and private names a networked
#: machine does not resolve either (.local, .internal, home.arpa, ...) stay unresolvable under ENV_ONLINE.
_NOWHERE = (".invalid", ".test", ".example", ".local", ".internal", ".home.arpa", ".lan", ".localdomain", ".onion",
            ".alt", ".corp", ".home", ".intranet", ".private", ".i2p")
#: File each refused attempt is appended to (one line each); conftest.py fails the test that wrote one.
ENV_LOG = "PROVENANCE_NETGUARD_LOG"

_installed = False
#: While > 0 (inside expect_violations) refusals are recorded here instead of the log.
_expecting: list[list[str]] = []


class NetworkGuardRefused(PermissionError):
    """A test tried to reach an address outside this machine."""


def _allowed_ip(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def allowed_host(host: object) -> bool:
    """True when ``host`` (an address, a name, bytes) means this machine only."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return True  # not an IP address at all (a Unix path given as bytes is handled above the call)
    if host == "" or _allowed_ip(host):
        return True
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:  # a name: what it really resolves to (the connect itself would resolve it the same way)
        infos = socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return True  # it cannot be reached at all
    return all(_allowed_ip(info[4][0]) for info in infos)


def _refuse(what: str, address: object) -> None:
    line = f"pid {os.getpid()} ({' '.join(sys.argv)[:200]}): {what} {address!r}"
    if _expecting:
        _expecting[-1].append(line)
    else:
        path = os.environ.get(ENV_LOG)
        if path:
            try:
                with open(path, "a", encoding="utf-8") as log:
                    log.write(line.replace("\n", " ") + "\n")
            except OSError:
                pass
        print(f"netguard: refused {line}", file=sys.stderr)
    raise NetworkGuardRefused(f"netguard: a test tried to reach {address!r} outside this machine ({what})")


def check_address(what: str, family: int | None, address: object) -> None:
    """Refuse (raise NetworkGuardRefused, and log) an IP address outside this machine."""
    if family is not None and family not in (socket.AF_INET, socket.AF_INET6):
        return
    if isinstance(address, tuple) and address:
        if not allowed_host(address[0]):
            _refuse(what, address)
    elif isinstance(address, str) and family in (socket.AF_INET, socket.AF_INET6):
        if not allowed_host(address):
            _refuse(what, address)


def _audit(event: str, args: tuple) -> None:
    if not event.startswith("socket.") or not _installed:
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        if address is None:
            return
        check_address(event[7:], getattr(sock, "family", None), address)


def _guard_uvloop(module) -> None:
    """Replace uvloop.Loop by a subclass whose outgoing connections are checked first."""
    base = module.Loop
    if getattr(base, "_netguarded", False):
        return

    class GuardedLoop(base):  # type: ignore[misc, valid-type]
        _netguarded = True

        async def create_connection(self, protocol_factory, host=None, port=None, *args, **kwargs):
            if host is not None and kwargs.get("sock") is None:
                check_address("uvloop.create_connection", None, (host, port))
            return await super().create_connection(protocol_factory, host, port, *args, **kwargs)

        async def create_datagram_endpoint(self, protocol_factory, local_addr=None, remote_addr=None, **kwargs):
            if remote_addr is not None:
                check_address("uvloop.create_datagram_endpoint", None, remote_addr)
            return await super().create_datagram_endpoint(protocol_factory, local_addr, remote_addr, **kwargs)

        async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):  # noqa: A002
            if os.environ.get(ENV_ONLINE) == "1" and _pretend_public(host):
                host = PRETEND_ADDRESS
            return await super().getaddrinfo(host, port, family=family, type=type, proto=proto, flags=flags)

        async def sock_connect(self, sock, address):
            check_address("uvloop.sock_connect", getattr(sock, "family", None), address)
            return await super().sock_connect(sock, address)

    GuardedLoop.__name__ = GuardedLoop.__qualname__ = "Loop"
    module.Loop = GuardedLoop


def _pretend_address_is_public(module) -> None:
    """Under ENV_ONLINE the address policy judges PRETEND_ADDRESS as the public address it plays.

    Without this the checker's policy (provenance.urls.is_public_address) would refuse the documentation
    address and never try to connect: a test that reaches out on a networked machine would pass here
    instead of being caught. Nothing else about the policy changes.
    """
    original = getattr(module, "is_public_address", None)
    if original is None or getattr(original, "_netguarded", False) or os.environ.get(ENV_ONLINE) != "1":
        return

    def is_public_address(address: str) -> bool:
        if address.strip("[]").split("%")[0] == PRETEND_ADDRESS:
            return True
        return original(address)

    is_public_address._netguarded = True  # type: ignore[attr-defined]
    is_public_address.__doc__ = original.__doc__
    module.is_public_address = is_public_address


def _guard_fetch(module) -> None:
    """libcurl opens its sockets in C, out of the audit hook's sight: check what the engine hands it instead,
    the approved addresses of the target (or the proxy, when the request goes through one)."""
    transport = module.Transport
    if getattr(transport, "_netguarded", False):
        return
    real = transport.get

    async def get(self, url, want, *, addresses, **kwargs):
        target = url if isinstance(url, module.Target) else module.split_url(url)
        proxy = self.proxy_for(target)
        if proxy is not None:
            where = proxy.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
            host, _, port = where.rpartition(":") if not where.endswith("]") else (where, "", "")
            check_address("libcurl.proxy", None, ((host or where).strip("[]"), port))
        else:
            for address in addresses or [target.host]:
                check_address("libcurl.connect", None, (address, target.port))
        return await real(self, url, want, addresses=addresses, **kwargs)

    get.__doc__ = real.__doc__
    transport.get = get
    transport._netguarded = True


#: Modules patched when (if ever) they are imported.
_ON_IMPORT = {"uvloop": _guard_uvloop, "provenance.urls": _pretend_address_is_public,
              "provenance.fetch": _guard_fetch}


class _PatchOnImport:
    """Patches the modules of _ON_IMPORT when (if ever) they are imported: processes that never use them
    never load them."""

    def find_spec(self, name, path=None, target=None):
        if name not in _ON_IMPORT:
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            _ON_IMPORT[name](module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_real_getaddrinfo = socket.getaddrinfo


def _pretend_public(host: object) -> bool:
    """Should this name get PRETEND_ADDRESS (a public name, under ENV_ONLINE)?"""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or not host:
        return False
    name = host.rstrip(".").lower()
    if _allowed_ip(name) or name == "localhost" or name.endswith(".localhost") or "." not in name:
        return False
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        return False
    except ValueError:
        pass
    return not name.endswith(_NOWHERE)


def _online_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's own names
    if _pretend_public(host):
        host = PRETEND_ADDRESS
    return _real_getaddrinfo(host, port, family, type, proto, flags)


def install() -> None:
    """Install the guard in this process (idempotent; an audit hook cannot be removed)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.addaudithook(_audit)
    if os.environ.get(ENV_ONLINE) == "1":
        socket.getaddrinfo = _online_getaddrinfo
    for name, patch in _ON_IMPORT.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchOnImport())


def install_from_env() -> None:
    """Install when $PROVENANCE_NETGUARD is set (what sitecustomize.py calls in child processes)."""
    if os.environ.get(ENV_ON) == "1":
        install()


@contextmanager
def expect_violations() -> Iterator[list[str]]:
    """Collect refusals in this process instead of failing the test (for the guard's own tests)."""
    caught: list[str] = []
    _expecting.append(caught)
    try:
        yield caught
    finally:
        _expecting.pop()


def read_log(path: str, start: int) -> tuple[list[str], int]:
    """Lines appended to the log since byte ``start``, and the new end."""
    try:
        with open(path, "rb") as log:
            log.seek(start)
            data = log.read()
    except FileNotFoundError:
        return [], start
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()], start + len(data)

