"""URL normalisation, filtering and the address policy.

One check per URL per run depends on every stage spelling a URL the same
way, so normalisation lives here and nowhere else.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

#: Entries in each per-URL memo (url_host, is_deep, probe_key): the steps of one URL's check ask for
#: these while it is in flight, which a window this size serves, and a 50,000-URL run does not keep
#: 65,536 entries per memo (~10 MB a worker process, measured on bench_check's big shape).
URL_MEMO_SIZE = 8192

#: Query parameters that track a click and never change what a page says.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "cmpid",
        "ocid",
        "smid",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "hsa_")

#: Schemes that are never claims to check.
NON_WEB_SCHEMES: frozenset[str] = frozenset({"mailto", "tel", "javascript", "data", "sms", "ftp", "file", "about"})

DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """A URL that cannot be checked (malformed, not http(s), no host)."""


def split_fragment(url: str) -> tuple[str, str | None]:
    base, sep, fragment = url.partition("#")
    return base, (fragment or None) if sep else None


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


#: A URL that normalisation returns unchanged: lower-case http(s) scheme and host (a plain
#: name or IPv4, no trailing dot), a port with no leading zero, a path of characters that
#: need no escaping, and no query, fragment, credentials or percent-escapes. An absolute
#: URL with a host is returned by urljoin as it is, so a base changes nothing either.
_ALREADY_NORMAL = re.compile(r"(http|https)://([a-z0-9_][a-z0-9_-]{0,62}(?:\.[a-z0-9_][a-z0-9_-]{0,62})*)"
                             r"(?::([1-9][0-9]{0,4}))?/[A-Za-z0-9_.~/:@!$&'()*+,;=-]*")


#: What a URL parser trims from both ends of a URL string (WHATWG: C0 controls and space).
C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _query_at(url: str) -> int:
    """Where a URL's query or fragment starts (its length when it has neither)."""
    return min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))


def normalize_url(url: str, base: str | None = None) -> tuple[str, str | None]:
    """Resolve ``url`` against ``base`` and return ``(normalised_url, fragment)``.

    Lower-cases scheme and host, drops default ports and tracking
    parameters, keeps the path's case (servers are case-sensitive) and puts
    the fragment apart. Raises :class:`InvalidURL` for anything that is not
    a checkable http(s) URL. Most cited URLs are already normal; they skip
    the full work (~25 us each, which URL lists of thousands notice).
    """
    match = _ALREADY_NORMAL.fullmatch(url) if url else None
    if match is not None and "/." not in url:
        port = match.group(3)
        if port is None or (int(port) != DEFAULT_PORTS[match.group(1)] and int(port) <= 65535):
            return url, None
    return _normalize_fully(url, base)


def _normalize_fully(url: str, base: str | None) -> tuple[str, str | None]:
    """:func:`normalize_url` without the fast path (kept apart so tests can compare the two)."""
    # Like browsers (WHATWG URL): trim C0 controls and spaces, drop tabs and
    # newlines; also the indentation around a newline, since an href wrapped
    # across source lines never meant those spaces. Other inner spaces stay.
    raw = (url or "").strip(C0_AND_SPACE)
    raw = re.sub(r"[ \t]*[\r\n][\s]*|\t", "", raw)
    if not raw:
        raise InvalidURL("empty URL")
    if not raw.isascii():
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # bytes that were not UTF-8 (a shell argument, surrogateescape)
            raise InvalidURL(f"not UTF-8 text: {url.encode('utf-8', 'backslashreplace').decode('ascii')!r}") from None
    if raw.startswith("//"):
        raw = "https:" + raw
    if base:
        try:
            raw = browser_join(base, raw)
        except ValueError as exc:
            raise InvalidURL(f"cannot resolve {url!r}: {exc}") from exc
    raw = browser_url(raw)  # backslashes and dot segments as a browser reads them
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidURL(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURL(f"URL has no host: {url!r}")
    try:
        host = ascii_host(host) if not _is_ip(host) else host
    except UnicodeError as exc:
        raise InvalidURL(f"bad host name in {url!r}") from exc
    host = host.lower()
    if not _is_ip(host) and not _HOST_NAME.fullmatch(host):
        raise InvalidURL(f"bad host name in {url!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username:
        # Credentials in a cited URL are a leak, not part of its identity.
        pass
    path = _normalize_escapes(parts.path) or "/"
    query = "&".join(
        pair for pair in (_normalize_escapes(p) for p in parts.query.split("&"))
        if pair and not _is_tracking(unquote(pair.partition("=")[0]))
    )
    fragment = parts.fragment or None
    return urlunsplit((scheme, netloc, path, query, "")), fragment


#: What a DNS name may hold once IDNA-encoded (underscores occur in real names).
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")


def _normalize_escapes(component: str) -> str:
    """RFC 3986 6.2.2 normalisation of one path or query component.

    Only escapes of unreserved characters are decoded and the rest are
    upper-cased: decoding ``%2F`` or ``%26`` would change which resource
    the server returns and could turn a live citation into a false "dead".
    Characters that may not appear raw (spaces, non-ASCII) are escaped.
    """

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        if char in _HEX_DIGITS:
            # A decoded hex digit after a stray "%" (or "%" and one digit) would make a new escape
            # ("%%41b" -> "%Ab", then "%AB" on the next pass): kept escaped, so normalising is idempotent.
            at = match.start()
            if component[at - 1:at] == "%" or (component[at - 2:at - 1] == "%" and component[at - 1:at] in _HEX_DIGITS):
                return "%" + match.group(1).upper()
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_ESCAPE.sub(fix, component), safe="/%:@!$&'()*+,;=?~-._")


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


#: One read of an absolute URL for the hot paths: the checker's host and directory keys
#: (resolve.url_host, catchall.directory_of), the request target (fetch.split_url) and classify.is_deep.
#: Each is called for every request, and urlsplit costs 2-8 us a call. This regex costs
#: about 0.25 us and finds everything with one pass over the URL.
#:
#: ``fast_split(url)`` is the pattern's bound ``fullmatch``. It returns a re.Match, not a
#: tuple: a Python wrapper that built one would cost more than the regex itself (~0.3 us).
#: None means the URL has no ``scheme://`` start, and callers use urlsplit. Otherwise
#: exactly one of two branches matched:
#:
#: * the plain branch (groups 1-7 set): a lower-case ``http``/``https`` scheme; a host
#:   name of ``[a-z0-9.-]`` or a bracketed IPv6 literal of ``[0-9a-f:.]``; a port of 1-5
#:   digits; a path and query of characters a request target sends as they are; and any
#:   fragment. 1 scheme, 2 authority (host[:port] as written), 3 host (brackets kept),
#:   4 port digits or None, 5 target (path and ``?query``, "" when there is neither),
#:   6 path (None when the URL has no path), 7 query (None without '?', "" after a lone '?').
#: * the other branch (groups 1-7 None): any other ``scheme://``, split the way urlsplit
#:   would split it, without urlsplit's checks, stripping and case folding. 8 path (up to
#:   the first '?' or '#'), 9 query (up to the first '#'; None without '?').
#:
#: Callers read groups by number, one ``m[i]`` each: a name costs ~10 ns more a read, and
#: ``m.group(1, 3, 4, 5)`` ~20 ns more than four reads. The names are there for people;
#: tests/test_urls_split.py checks that names and numbers still agree. An empty
#: alternative (``(?:x|)``) stands in for ``?`` after a group: sre runs ``(?:x)?``
#: through its general repeat, which made this pattern ~25 % slower.
_FAST_SPLIT = re.compile(
    r"""(?:
        (?P<scheme>https?)://
        (?P<authority>(?P<host>[a-z0-9.\-]++|\[[0-9a-f:.]++\])(?::(?P<port>[0-9]{1,5}+)|))
        (?P<target>(?P<path>/[!$%&'()*+,\-./0-9:;=@A-Z_a-z~]*+)(?:\?(?P<query>[!$%&'()*+,\-./0-9:;=?@A-Z_a-z~]*+)|)|)
        (?:\#.*|)
      | [A-Za-z][A-Za-z0-9+.\-]*+://[^/?#]*+(?P<any_path>[^?#]*+)(?:\?(?P<any_query>[^#]*+))?(?:\#.*)?
    )""",
    re.DOTALL | re.VERBOSE,
)
fast_split = _FAST_SPLIT.fullmatch


#: Characters a request line may carry as they are: printable ASCII (the rest is percent-encoded, UTF-8).
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
_DOT_SEGMENTS = {".": 1, "%2e": 1, "..": 2, ".%2e": 2, "%2e.": 2, "%2e%2e": 2}


#: A reference's own scheme, when it has one ("mailto:", "HTTP:").
_REFERENCE_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def browser_join(base: str, reference: str) -> str:
    """``urljoin(base, reference)`` as a browser resolves a link or a redirect's Location (WHATWG URL).

    Against an http(s) base a browser reads a backslash before the query as
    a slash, so ``\\plain`` is ``/plain`` on the same host (urljoin made
    it ``/dir/\\plain``) and two backslashes name another host; tabs and
    newlines inside are dropped and spaces or controls around are trimmed.
    A reference with another scheme of its own (``mailto:``) is left alone.
    """
    reference = reference.strip(C0_AND_SPACE)
    if "\t" in reference or "\n" in reference or "\r" in reference:
        reference = reference.replace("\t", "").replace("\n", "").replace("\r", "")
    if "\\" in reference and base[:6].lower() in ("http:/", "https:"):
        own = _REFERENCE_SCHEME.match(reference)
        if own is None or own[1].lower() in ("http", "https"):
            cut = _query_at(reference)
            reference = reference[:cut].replace("\\", "/") + reference[cut:]
    return urljoin(base, reference)


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


def is_ip_literal(host: str) -> bool:
    return _is_ip(host)


def is_public_address(address: str) -> bool:
    """True when ``address`` may be fetched without ``--allow-private``.

    The server-side request forgery guard: loopback, private, link-local,
    multicast, reserved and unspecified addresses are refused, including
    IPv4 addresses mapped into IPv6.
    """
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: judge it.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def address_policy_refuses(addresses: list[str]) -> str | None:
    """The first address the server-side request forgery guard refuses, or None.

    Judged on every resolved address of a name: one private answer among
    public ones is enough to refuse (DNS answers rotate; a later
    connection could use it).
    """
    for address in addresses:
        if not is_public_address(address):
            return address
    return None
