"""The URL readers as they were before urls.fast_split (commit 5969091), copied verbatim.

Each of check, wire and classify had its own fast regex. They are kept here
as references: tests/test_urls_split.py checks that the shared splitter
changed no answer, and bench/bench_urls.py checks that it is no slower.
Their slow roads (host_of, ascii_host, browser_url, Target, _HOME_PATH) are
frozen copies too (as of commit db80add), below: nothing is imported from
provenance.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

# ------------------------------------------------------------------------------------------------------------
# The slow roads the readers call, frozen too (copied verbatim as of commit db80add): nothing here is imported
# from the code under test, so a change to urls.browser_url, ascii_host, host_of, classify._HOME_PATH or
# wire.Target shows up in tests/test_urls_split.py as a difference instead of moving the reference with it.
# ------------------------------------------------------------------------------------------------------------

# --- provenance/urls.py at db80add ---

_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


_DOT_SEGMENTS = {".": 1, "%2e": 1, "..": 2, ".%2e": 2, "%2e.": 2, "%2e%2e": 2}


def _query_at(url: str) -> int:
    """Where a URL's query or fragment starts (its length when it has neither)."""
    return min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))


def ascii_host(host: str) -> str:
    """A host name as DNS and browsers see it: non-ASCII labels in Punycode (raises UnicodeError).

    Browsers map names with UTS 46 without the "transitional" step, so
    ``faß.de`` stays its own domain (``xn--fa-hia.de``); Python's built-in
    IDNA 2003 codec would check ``fass.de``, someone else's site. Names the
    strict IDNA 2008 rules refuse but browsers open (emoji labels) keep the
    built-in encoding; ASCII names are left as they are (underscores
    included, which real host names use).
    """
    if host.isascii():
        return host
    try:
        import idna  # comes with httpx

        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except ImportError:  # pragma: no cover - httpx always brings it
        pass
    except (idna.IDNAError, UnicodeError):
        pass
    return host.encode("idna").decode("ascii")


def host_of(url: str) -> str:
    """The host (without port) a URL is polite to: the per-host key."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def browser_url(url: str) -> str:
    """An absolute http(s) URL as a browser requests it (WHATWG URL), else ``url`` unchanged.

    Browsers read a backslash before the query as a slash in http(s) URLs
    (``/docs\\guide.html`` is ``/docs/guide.html``, also between scheme,
    host and path), remove dot segments before sending (``/a/../docs/x`` is
    ``/docs/x``; ``%2e`` counts as a dot), and send a non-ASCII host as
    Punycode (UTS 46) and a non-ASCII path or query as UTF-8 escapes.
    Requesting the raw spelling asks the server for another resource
    than the reader's browser did: a false "dead". Plain URLs return at
    once (a few substring searches).
    """
    if "\\" not in url and "/." not in url and "/%2" not in url and url.isascii():
        return url
    scheme = url[:6].lower()
    if not (scheme.startswith("http:") or scheme == "https:"):
        return url
    cut = _query_at(url)
    head, rest = url[:cut].replace("\\", "/"), url[cut:]
    try:
        parts = urlsplit(head + rest)
    except ValueError:
        return url
    path = _remove_dot_segments(parts.path) if "/." in parts.path or "/%2" in parts.path else parts.path
    netloc = parts.netloc
    if not netloc.isascii():
        host = parts.hostname or ""
        try:
            ascii_name = ascii_host(host) if host and not _is_ip(host) else host
        except UnicodeError:
            ascii_name = host
        if ascii_name != host:
            at = netloc.rfind("@") + 1
            netloc = netloc[:at] + netloc[at:].lower().replace(host, ascii_name, 1)
    query = parts.query
    if not (path + query).isascii():
        path, query = quote(path, safe=_PRINTABLE_ASCII), quote(query, safe=_PRINTABLE_ASCII)
    out = urlunsplit((parts.scheme, netloc, path, query, parts.fragment))
    if not query and "?" in rest.split("#", 1)[0]:
        out = out.replace("#", "?#", 1) if parts.fragment or rest.endswith("#") else out + "?"  # keep a lone '?'
    return out


def _remove_dot_segments(path: str) -> str:
    """WHATWG path parsing of dot segments: '.' and '..' (and their %2e spellings) removed."""
    segments = path.split("/")
    if len(segments) < 2 or not any(s.lower() in _DOT_SEGMENTS for s in segments):
        return path
    out: list[str] = []
    last = len(segments) - 1
    for i, segment in enumerate(segments[1:], 1):
        kind = _DOT_SEGMENTS.get(segment.lower())
        if kind is None:
            out.append(segment)
            continue
        if kind == 2 and out:
            out.pop()
        if i == last:
            out.append("")  # "/a/." and "/a/b/.." end in a slash
    return "/" + "/".join(out)


def _is_ip(host: str) -> bool:
    host = host.strip("[]")
    if not host or not (host[-1].isdigit() or ":" in host):
        return False  # a name ends in a letter; skipping ipaddress's exception path is 10x faster
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False



# --- provenance/classify.py at db80add ---

_HOME_PATH = re.compile(r"^/?(?:index\.(?:html?|php|aspx?)|home|default\.aspx?|[a-z]{2}(?:[-_][a-z]{2})?/?)?/?$",
                        re.IGNORECASE)



# --- provenance/wire.py at db80add ---

_DEFAULT_PORTS = {"http": 80, "https": 443}


class WireError(Exception):
    """A request that got no (complete) answer; ``__cause__`` is the underlying error, if any."""


class WireUnsupported(WireError):
    """The request cannot be sent (bad URL, unsupported scheme, bad header): no retry helps."""


class Target:
    """Where a URL's request goes: the connection key, the Host header and the request target."""

    __slots__ = ("scheme", "host", "port", "authority", "path")

    def __init__(self, scheme: str, host: str, port: int, path: str) -> None:
        self.scheme = scheme
        #: Host name (IDNA-encoded) or IP address, without brackets: what is looked up and connected to.
        self.host = host
        self.port = port
        name = f"[{host}]" if ":" in host else host
        #: The Host header.
        self.authority = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
        #: The request target (path and query, percent-encoded).
        self.path = path

    @property
    def key(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port



# --- check.py ---

_SIMPLE_URL = re.compile(r"(?i)(https?)://([A-Za-z0-9._~%!$&'()*+,;=-]*)(:[0-9]*)?"
                         r"(/[\x21\x22\x24-\x3e\x40-\x7e]*)?(?:[?#][\x21-\x7e]*)?\Z")


def check_host(url: str) -> str:
    """resolve._host (check._host when copied) without its lru_cache.

    One deliberate change since the copy (red-team review, IDN): a non-ASCII
    host is given as urls.ascii_host encodes it (the name the pool connects
    to), when it can be encoded. ASCII answers are the old copy's verbatim.
    """
    simple = _SIMPLE_URL.match(url)
    if simple:
        host = simple.group(2).lower()
    else:
        host = host_of(url)
    if not host.isascii():
        try:
            return ascii_host(host)
        except UnicodeError:
            pass
    return host


def check_directory(url: str) -> str:
    """catchall._directory (check._directory when copied) without its lru_cache."""
    simple = _SIMPLE_URL.match(url)
    if simple:
        scheme, host, port, path = simple.groups()
        return f"{scheme.lower()}://{host}{port or ''}{(path or '').rsplit('/', 1)[0]}/"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"


# --- wire.py ---

_PLAIN = re.compile(r"(https?)://([a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?(/[!$%&'()*+,\-./0-9:;=?@A-Z_a-z~]*)?(?:#.*)?",
                    re.DOTALL)
_HOST_NAME = re.compile(r"[a-z0-9._\-]+")
_TARGET_SAFE = "/:@!$&'()*+,;=-._~%?[]"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_url(url: str) -> Target:
    """wire.split_url.

    One deliberate change since the copy (red-team review, false deads): the URL
    is first read as a browser reads it (urls.browser_url: backslashes before the
    query are slashes, dot segments removed, non-ASCII encoded). For every URL that
    browser_url leaves as it is, this is the old copy verbatim.
    """
    url = browser_url(url)
    plain = _PLAIN.fullmatch(url)
    if plain:
        scheme, host, port, path = plain.groups()
        host = host.strip("[]")
        number = int(port) if port else _DEFAULT_PORTS[scheme]
        if not 0 < number < 65536:
            raise WireUnsupported(f"bad port in {url[:200]}")
        return Target(scheme, host, number, path or "/")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        number = parts.port
    except ValueError as exc:
        raise WireUnsupported(f"bad URL {url[:200]!r}: {exc}") from exc
    if scheme not in _DEFAULT_PORTS:
        raise WireUnsupported(f"not an http(s) URL: {url[:200]!r}")
    if not host:
        raise WireUnsupported(f"URL has no host: {url[:200]!r}")
    if ":" not in host:
        try:
            host = ascii_host(host)
        except UnicodeError as exc:
            raise WireUnsupported(f"bad host name {host[:100]!r}: {exc}") from exc
        if not _HOST_NAME.fullmatch(host):
            raise WireUnsupported(f"bad host name {host[:100]!r}")
    if number is None:
        number = _DEFAULT_PORTS[scheme]
    elif not 0 < number < 65536:
        raise WireUnsupported(f"bad port in {url[:200]!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, number, quote(path, safe=_TARGET_SAFE))


# --- classify.py ---

_PATH_AND_QUERY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*([^?#]*)(\?)?")


def is_deep(url: str) -> bool:
    """classify.is_deep."""
    simple = _PATH_AND_QUERY.match(url)
    if simple:
        path, query = simple.groups()
        if query and url[simple.end():].split("#", 1)[0]:
            return True
        return not _HOME_PATH.match(path or "/")
    parts = urlsplit(url)
    return not _HOME_PATH.match(parts.path or "/") or bool(parts.query)
