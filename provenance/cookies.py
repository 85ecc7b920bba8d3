"""The cookies of one URL's redirect chain (why a link checker keeps any: :class:`RedirectJar`).

Only what browsers would keep (RFC 6265's domain rules, no control
characters), capped in count and size. The engine (:mod:`provenance.check`)
makes one jar per URL, on the first hop that sets a cookie.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from .resolve import url_host
from .retry import http_date
from .urls import is_ip_literal

#: Cookies kept along one URL's redirect chain, and the longest value kept.
MAX_CHAIN_COOKIES = 50
MAX_COOKIE_CHARS = 4096


class RedirectJar:
    """Cookies set along one URL's redirect chain, sent back along that chain only.

    Some sites answer a first visit by setting a cookie and redirecting to
    the same page to see it come back; a checker without cookies sees a
    redirect loop (an ``error``) where a reader sees the page. Nothing is
    kept across URLs: a check stays one anonymous visit.
    """

    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        #: (domain, name) -> (value, host_only, secure)
        self._cookies: dict[tuple[str, str], tuple[str, bool, bool]] = {}

    def store(self, host: str, set_cookies: Sequence[str]) -> None:
        for line in set_cookies[:MAX_CHAIN_COOKIES]:
            pair, *attributes = line.split(";")
            name, sep, value = pair.partition("=")
            name, value = name.strip(), value.strip()[:MAX_COOKIE_CHARS]
            if not sep or not name or _COOKIE_CONTROL.search(name + value):
                continue  # browsers drop a cookie with control characters (it could not be sent back)
            domain, host_only, expired, refused, secure = host, True, False, False, False
            for attribute in attributes:
                key, _, val = attribute.partition("=")
                key, val = key.strip().lower(), val.strip()
                if key == "domain" and val:
                    wanted = val.lstrip(".").lower()
                    # As browsers do (RFC 6265 5.3): the host itself or a parent of it, never a bare "com",
                    # and for an IP address only the address itself.
                    parent_ok = not is_ip_literal(host) and host.endswith("." + wanted)
                    if "." in wanted and (host == wanted or parent_ok):
                        domain, host_only = wanted, False
                    else:
                        refused = True
                elif key == "max-age" and val.lstrip("-").isdigit():
                    expired = int(val) <= 0
                elif key == "expires" and _expired(val):
                    expired = True
                elif key == "secure":
                    secure = True
            if refused:
                continue
            if expired:
                self._cookies.pop((domain, name), None)
            elif len(self._cookies) < MAX_CHAIN_COOKIES or (domain, name) in self._cookies:
                self._cookies[(domain, name)] = (value, host_only, secure)

    def header_for(self, url: str) -> str | None:
        """The Cookie header for a request to ``url``, or None."""
        host = url_host(url)
        plain = not url[:6].lower().startswith("https:")
        pairs = [f"{name}={value}" for (domain, name), (value, host_only, secure) in self._cookies.items()
                 if (host == domain or (not host_only and host.endswith("." + domain))) and not (secure and plain)]
        return "; ".join(pairs) or None


#: Control characters a cookie must not hold (RFC 6265bis 5.6: the cookie is ignored).
_COOKIE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _expired(date: str) -> bool:
    """A Set-Cookie ``Expires`` date in the past (an unreadable one is not); cookie dates may use dashes."""
    when = http_date(date.replace("-", " "))
    return when is not None and when <= datetime.now(timezone.utc)


# The old private names, still read by tests and benchmarks.
_RedirectJar = RedirectJar
