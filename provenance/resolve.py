"""Names: a URL's host name, whether this machine has a network at all, and one vetted lookup per name.

Why a stage of its own: a checker that resolves a name twice can be told
a public address when it vets and a private one when it connects (DNS
rebinding), and one that calls a domain dead while the machine has no
network reports the whole web as rot. So every hop's name is looked up
once per run through :class:`Resolver`, which applies the address policy
(:func:`provenance.urls.address_policy_refuses`) to what came back and
hands those same addresses to the connection pool; :func:`network_available`
tells "no network" from "this domain is gone"; and a private name (.local,
.internal, a single label) that does not resolve from here is
inconclusive, never dead.

:mod:`provenance.check` re-exports the public names. Its ``check_urls``
decides once per run whether the machine is offline (through
``check.network_available``); a Resolver asks :func:`network_available`
here only when its run did not decide (``CheckOptions.offline`` is None
and a lookup failed).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import Sequence

from .network import Proxies
from .options import CheckOptions, ResolverFunc as ResolverFunc
from .urls import URL_MEMO_SIZE, address_policy_refuses, ascii_host, fast_split, host_of, is_ip_literal

#: Seconds allowed for one DNS lookup.
DNS_TIMEOUT = 10.0
#: Names resolved to tell "no network" from "this domain is gone".
PROBE_HOSTS: tuple[str, ...] = ("web.archive.org", "www.google.com", "www.wikipedia.org", "cloudflare.com")
#: Seconds a network_available() answer stays valid in this process.
NETWORK_CACHE_SECONDS = 60.0



async def system_lookup(name: str) -> list[str]:
    """Addresses of ``name`` from the system resolver (what a Resolver uses when given no lookup)."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


# --- the network: is there any? ---

_network_cache: dict[tuple, tuple[float, bool]] = {}


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
        return True
    except OSError:
        return False


def _reachable_through(proxy: str, name: str) -> bool:
    """Can ``proxy`` reach ``name`` (its HTTPS port)? Asked with a tunnel only: no request, no trust needed.

    Behind a proxy the machine may have no DNS of its own; the proxy's
    answer is what says whether there is a network.
    """
    from curl_cffi import Curl, CurlError, CurlOpt

    curl = Curl()
    try:
        curl.setopt(CurlOpt.URL, f"https://{name}/".encode())
        curl.setopt(CurlOpt.PROXY, proxy)
        curl.setopt(CurlOpt.NOPROXY, "")
        curl.setopt(CurlOpt.HTTPPROXYTUNNEL, 1)
        curl.setopt(CurlOpt.CONNECT_ONLY, 1)
        curl.setopt(CurlOpt.SSL_VERIFYPEER, 0)  # reachability only: the answer is never read
        curl.setopt(CurlOpt.SSL_VERIFYHOST, 0)
        curl.setopt(CurlOpt.NOSIGNAL, 1)
        curl.setopt(CurlOpt.TIMEOUT_MS, int(DNS_TIMEOUT * 1000))
        curl.perform()
        return True
    except CurlError:
        return False
    finally:
        curl.close()


def network_available(probe_hosts: Sequence[str] = PROBE_HOSTS, proxies: Proxies | None = None) -> bool:
    """True when at least one well-known name resolves (through the proxy of https URLs, when there is one).

    The names are looked up in parallel and the answer is cached for
    NETWORK_CACHE_SECONDS, so an audit and its check stage ask once.
    """
    proxies = proxies if proxies is not None else Proxies.from_env()
    key = (tuple(probe_hosts), proxies)
    now = time.monotonic()
    cached = _network_cache.get(key)
    if cached and now - cached[0] < NETWORK_CACHE_SECONDS:
        return cached[1]
    from concurrent.futures import ThreadPoolExecutor  # only here: a run over IP addresses never needs it

    def ask(name: str) -> bool:
        proxy = proxies.for_url("https", name)
        return _reachable_through(proxy, name) if proxy else _resolves(name)

    with ThreadPoolExecutor(max_workers=max(1, len(probe_hosts))) as pool:
        answer = any(pool.map(ask, probe_hosts))
    _network_cache[key] = (now, answer)
    return answer


# --- a URL's host name ---

@functools.lru_cache(maxsize=URL_MEMO_SIZE)
def url_host(url: str) -> str:
    """host_of, memoised: a URL's host is asked for at several steps of its check.

    A non-ASCII name is given as browsers and the pool send it (UTS 46
    Punycode, urls.ascii_host): the name resolved, vetted by the address
    policy and kept apart for politeness is the one connected to.
    """
    split = fast_split(url)
    if split is not None:
        host = split[3]  # a plain URL's host: lower-case already; IPv6 literals take host_of's road
        if host is not None and host[0] != "[":
            return host
    host = host_of(url)
    if not host.isascii():
        try:
            return ascii_host(host)
        except UnicodeError:
            pass
    return host


def needs_dns(url: str) -> bool:
    return _name_needs_dns(url_host(url))


@functools.lru_cache(maxsize=URL_MEMO_SIZE)
def _name_needs_dns(name: str) -> bool:
    return bool(name) and not is_ip_literal(name)


# --- names and the address policy ---

class PolicyRefused(Exception):
    """The address policy refused a host's resolved address."""


class NameNotFound(Exception):
    """A name does not resolve (the network may or may not be up)."""


class Offline(Exception):
    """No name resolves: the machine has no network."""


class LookupFailed(Exception):
    """A lookup failed without an answer (timeout, server failure): inconclusive."""


#: Names that resolve only inside some network or outside DNS (RFC 6761/6762/8375/9476, ICANN's .internal), and
#: suffixes in wide private use: NXDOMAIN for them from here says nothing about the link. (.test, .example and
#: .invalid are not here: they resolve nowhere, so a link to one can never work.)
PRIVATE_SUFFIXES: tuple[str, ...] = (
    "internal", "local", "localhost", "localdomain", "home.arpa", "lan", "home", "intranet", "corp", "private",
    "onion", "alt", "i2p")


def private_name(name: str) -> str | None:
    """How ``name`` is private ('a private name (….local)', 'a single-label name (intranet)'), or None."""
    name = name.rstrip(".").lower()
    if not name or is_ip_literal(name):
        return None
    if "." not in name:
        return f"a single-label name ({name})"
    for suffix in PRIVATE_SUFFIXES:
        if name.endswith("." + suffix):
            return f"a private name (….{suffix})"
    return None


#: getaddrinfo errors that mean "this name does not exist" (the others are temporary or local).
_NO_SUCH_NAME: frozenset[int] = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None)


class Resolver:
    """One lookup per name per run, the policy applied to what it returned."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.lookup: ResolverFunc = options.resolver or system_lookup
        self.offline: bool | None = options.offline
        self._cache: dict[str, asyncio.Future[list[str]]] = {}
        #: Names whose addresses passed the policy (the fast path for every later request).
        self.vetted: dict[str, list[str]] = {}
        self._offline_check: asyncio.Future[bool] | None = None
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in options.allowed_networks]

    async def addresses(self, name: str) -> list[str]:
        """Vetted addresses for ``name``; raises PolicyRefused, NameNotFound or Offline.

        A non-ASCII name is looked up (and cached) as its UTS 46 Punycode, the
        name the pool connects to: the system's codec (IDNA 2003) would ask
        for ``fass.de`` when the link says ``faß.de``, someone else's domain.
        """
        known = self.vetted.get(name)
        if known is not None:
            return known
        if not name.isascii():
            try:
                ascii_name = ascii_host(name)
            except UnicodeError as exc:
                raise NameNotFound(f"{name}: not a valid international name ({exc})") from exc
            addresses = await self.addresses(ascii_name)
            self.vetted[name] = addresses
            return addresses
        addresses = await self._vet(name)
        self.vetted[name] = addresses
        return addresses

    async def _vet(self, name: str) -> list[str]:
        if is_ip_literal(name):
            addresses = [name.strip("[]")]
        else:
            if self.offline and self.options.resolver is None:
                raise Offline(name)
            future = self._cache.get(name)
            if future is None:
                future = asyncio.ensure_future(self._lookup(name))
                self._cache[name] = future
            addresses = await asyncio.shield(future)
        if not self.options.allow_private:
            refused = address_policy_refuses([a for a in addresses if not self._exempt(a)])
            if refused:
                raise PolicyRefused(f"{name} resolves to {refused}")
        return addresses

    def refusal_without_lookup(self, name: str) -> str | None:
        """Why the address policy refuses ``name`` on its face (a private literal address, an intranet name),
        for a request whose proxy resolves the name; None when it may go."""
        if self.options.allow_private:
            return None
        if is_ip_literal(name):
            address = name.strip("[]")
            if not self._exempt(address) and address_policy_refuses([address]):
                return f"{name} is not a public address"
            return None
        private = private_name(name)
        return f"{private} is an intranet name" if private else None

    def _exempt(self, address: str) -> bool:
        if not self._allowed:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in self._allowed)

    async def _lookup(self, name: str) -> list[str]:
        try:
            async with asyncio.timeout(DNS_TIMEOUT):
                addresses = await self.lookup(name)
        except (OSError, TimeoutError, UnicodeError) as exc:
            if self.options.resolver is None and await self._is_offline():
                raise Offline(name) from exc
            # Only "no such name" is an answer; a timeout or a failing server says nothing about the site.
            if isinstance(exc, UnicodeError) or getattr(exc, "errno", None) in _NO_SUCH_NAME:
                raise NameNotFound(f"{name}: {exc}") from exc
            raise LookupFailed(f"DNS lookup for {name} failed: {exc or 'timeout'}") from exc
        if not addresses:
            raise NameNotFound(f"{name}: no addresses")
        return addresses

    async def _is_offline(self) -> bool:
        if self.offline is not None:
            return self.offline
        if self._offline_check is None:
            loop = asyncio.get_running_loop()
            self._offline_check = loop.run_in_executor(None, network_available, PROBE_HOSTS,
                                                       Proxies.from_env(self.options.proxy))
        self.offline = not await self._offline_check
        return self.offline


# The old private names, still read by tests and benchmarks.
_host = url_host
_needs_dns = needs_dns
_private_name = private_name
