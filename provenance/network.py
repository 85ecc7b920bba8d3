"""The user's own network settings: which proxy a URL goes through and which CAs are trusted.

Why a module of its own: the checker (libcurl through curl_cffi) and the
Wayback client (httpx) must go out the same way. Behind a corporate proxy
and a TLS-inspecting firewall both need the proxy and the firewall's CA;
one reading them differently from the other audits half the links.

Proxies are read as curl reads them, in either case: ``http_proxy`` for
http URLs, ``https_proxy`` for https URLs (CONNECT), ``all_proxy`` for
either when the scheme's own is unset, and ``no_proxy`` (a comma list of
names, matching the name and its subdomains, IP addresses, CIDR networks,
``*`` for everything) for the targets that go direct. ``--proxy URL``
replaces the scheme proxies; ``no_proxy`` still applies to it, as in curl.
A proxy URL without a scheme is an HTTP proxy. The proxy is the user's own
setting, so it may sit on a loopback or private address.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Proxy schemes whose proxy resolves the target's name (no local DNS); socks4:// and socks5:// resolve here.
REMOTE_RESOLVING: frozenset[str] = frozenset({"http", "https", "socks5h", "socks4a"})
#: Proxy schemes libcurl speaks.
PROXY_SCHEMES: frozenset[str] = REMOTE_RESOLVING | {"socks4", "socks5"}


class ProxyError(ValueError):
    """A proxy setting that cannot be used (a one-line message for the user)."""


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """``name`` in lower case first (curl's order), then upper case; empty means unset."""
    for key in (name.lower(), name.upper()):
        value = environ.get(key, "").strip()
        if value:
            return value
    return None


def normalise_proxy(url: str) -> str:
    """A proxy URL with its scheme (``host:3128`` -> ``http://host:3128``); ProxyError when unusable."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if scheme not in PROXY_SCHEMES:
        raise ProxyError(f"unsupported proxy scheme {scheme!r} in {url!r} (use one of: "
                         f"{', '.join(sorted(PROXY_SCHEMES))})")
    rest = url.split("://", 1)[1]
    if not rest.split("/", 1)[0].rsplit("@", 1)[-1]:
        raise ProxyError(f"proxy URL has no host: {url!r}")
    try:
        parts = urlsplit(scheme + "://" + rest)
        parts.port  # noqa: B018 - raises on a port that is not a number
        if not parts.hostname:
            raise ValueError("no host")
    except ValueError as exc:
        raise ProxyError(f"unusable proxy URL {shown(url)!r}: {exc}") from None
    return scheme + "://" + rest


@dataclass(frozen=True)
class Proxies:
    """Which proxy each URL goes through (``for_url``); built once per run by :meth:`from_env`."""

    #: Proxy for http URLs, https URLs; None: direct.
    http: str | None = None
    https: str | None = None
    #: no_proxy entries, lower-cased, leading dots dropped.
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, override: str | None = None, environ: Mapping[str, str] | None = None) -> "Proxies":
        env = os.environ if environ is None else environ
        if override:
            http = https = normalise_proxy(override)
        else:
            fallback = _env(env, "all_proxy")
            # curl ignores upper-case HTTP_PROXY (a CGI header can set it); a newsroom's shell sets either, and
            # provenance runs no CGI, so both count here.
            http = _env(env, "http_proxy") or fallback
            https = _env(env, "https_proxy") or fallback
            http = normalise_proxy(http) if http else None
            https = normalise_proxy(https) if https else None
        raw = _env(env, "no_proxy") or ""
        entries = tuple(e.strip().lower().lstrip(".") for e in raw.split(",") if e.strip().strip("."))
        return cls(http, https, entries)

    @property
    def any(self) -> bool:
        return bool(self.http or self.https)

    def for_url(self, scheme: str, host: str) -> str | None:
        """The proxy for a request to ``host`` over ``scheme`` (http/https), or None to go direct."""
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is None or self.bypassed(host):
            return None
        return proxy

    def bypassed(self, host: str) -> bool:
        """Does no_proxy send ``host`` direct?"""
        if not self.no_proxy:
            return False
        host = host.strip("[]").rstrip(".").lower()
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        for entry in self.no_proxy:
            if entry == "*":
                return True
            if ip is not None:
                try:
                    if ip in ipaddress.ip_network(entry.strip("[]"), strict=False):
                        return True
                except ValueError:
                    continue
            elif host == entry or host.endswith("." + entry):
                return True
        return False


def run_proxies(proxy: str | None, proxy_env: tuple[str | None, str | None, tuple[str, ...]] | None) -> Proxies:
    """The proxies of a run: ``--proxy``, else the planning process's environment when it travelled with
    the run (CheckOptions.proxy_env), else this process's environment."""
    if not proxy and proxy_env is not None:
        return Proxies(*proxy_env)
    return Proxies.from_env(proxy)


def shown(proxy: str) -> str:
    """A proxy URL fit for a report or a log: its user name and password left out."""
    scheme, _, rest = proxy.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{path}"


def resolves_remotely(proxy: str) -> bool:
    """Does this proxy look the target's name up itself (so no local DNS is asked)?"""
    return proxy.split("://", 1)[0].lower() in REMOTE_RESOLVING


def ca_bundle(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The CA bundle to trust: ``--ca-bundle``, else $SSL_CERT_FILE, else the system's, else certifi's.

    A path that does not exist is a ProxyError-style ValueError (exit 2), never a silent fallback
    to another store: a TLS-inspecting firewall's CA that is not read makes every link an error.
    """
    env = os.environ if environ is None else environ
    for source, path in (("--ca-bundle", option), ("SSL_CERT_FILE", env.get("SSL_CERT_FILE"))):
        if path:
            if not os.path.isfile(path):
                raise ValueError(f"{source}: no such CA bundle file: {path}")
            stat = os.stat(path)
            problem = _unloadable(path, stat.st_mtime_ns, stat.st_size)
            if problem:
                raise ValueError(f"{source}: {path} is not a usable CA bundle ({problem}); it must hold PEM "
                                 "certificates")
            return path
    default = ssl.get_default_verify_paths().cafile
    if default and os.path.isfile(default):
        return default
    import certifi  # a dependency of httpx and curl_cffi alike

    return certifi.where()


@functools.lru_cache(maxsize=16)
def _unloadable(path: str, mtime_ns: int, size: int) -> str | None:
    """Why OpenSSL cannot load ``path`` as trusted certificates, or None (read once per version of the file).

    A file that exists but holds no certificate would otherwise fail later and apart: the checker's every
    https link an ``error``, the Wayback client a traceback.
    """
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        return exc.reason or str(exc)
    except (OSError, UnicodeError, ValueError) as exc:
        return str(exc)
    return None


def httpx_settings(proxy: str | None, ca_bundle_option: str | None, limits=None) -> dict:
    """Keyword arguments for an ``httpx.AsyncClient`` that reaches several hosts as the checker would: the
    scheme proxies as mounted transports, ``no_proxy`` names (and their subdomains) going direct, the CA bundle.

    httpx's URL patterns know names, not networks: a ``no_proxy`` IP address or CIDR entry is not applied here
    (those targets go through the proxy). A client for one host (the Wayback) is better served by
    ``Proxies.for_url`` on that host.
    """
    import httpx

    verify = ssl.create_default_context(cafile=ca_bundle(ca_bundle_option))
    proxies = Proxies.from_env(proxy)
    if not proxies.any or "*" in proxies.no_proxy:
        return {"verify": verify}
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for entry in proxies.no_proxy:
        try:
            ipaddress.ip_network(entry.strip("[]"), strict=False)
            continue
        except ValueError:
            pass
        mounts[f"all://{entry}"] = None
        mounts[f"all://*.{entry}"] = None
    extra = {"limits": limits} if limits is not None else {}
    for scheme, url in (("http", proxies.http), ("https", proxies.https)):
        if url:
            mounts[f"{scheme}://"] = httpx.AsyncHTTPTransport(proxy=url, verify=verify, **extra)
    return {"verify": verify, "mounts": mounts}
