"""The URL readers as they were before urls.fast_split (commit 5969091), copied verbatim.

Each of check, wire and classify had its own fast regex. They are kept here
as references: tests/test_urls_split.py checks that the shared splitter
changed no answer, and bench/bench_urls.py checks that it is no slower.
Their slow roads (host_of, ascii_host, Target, _HOME_PATH) are the live ones.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from provenance.classify import _HOME_PATH
from provenance.urls import ascii_host, browser_url, host_of
from provenance.fetch import FetchUnsupported as WireUnsupported, Target

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
