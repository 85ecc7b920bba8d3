"""What the engine makes of one answer before and around classify's verdict.

Headers read as httpx and browsers read them (repeated ones joined, a
redirect's Location on its own), the body decoded to text by its declared
or <meta> charset, and the 2xx pages that say nothing (unreadable or
blank), which are never ``ok``. :mod:`provenance.classify` holds the
signature table that turns an answer into a verdict; this module holds the
plain reading it needs, so the engine (:mod:`provenance.check`) only
schedules, fetches and follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import classify
from .fetch import Answer

@dataclass
class Fetched:
    """One HTTP exchange, body already read (within caps)."""

    status: int
    headers: dict[str, str]
    content_type: str
    body: bytes | bytearray = b""
    #: Why reading stopped early ('' when the whole body was read or none was wanted).
    cut: str = ""
    #: The response's Set-Cookie headers, one per cookie.
    cookies: tuple[str, ...] = ()
    #: A redirect's target as browsers read it (see location_of), or None.
    location: str | None = None
    #: Why a redirect's Location cannot be followed ('' when it can).
    location_problem: str = ""


def header_dict(raw_headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased header names -> values, as ``httpx.Headers`` would give them, without building one.

    Repeated headers are joined with ", " and values are decoded the way
    httpx does (ASCII, else UTF-8, else Latin-1 for the whole set), so
    verdicts and reasons are the same as through an ``httpx.Response``.
    """
    try:
        pairs = [(k.decode("ascii").lower(), v.decode("ascii")) for k, v in raw_headers]
    except UnicodeDecodeError:
        try:
            for _k, v in raw_headers:
                v.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "iso-8859-1"
        pairs = [(k.decode("latin-1").lower(), v.decode(encoding)) for k, v in raw_headers]
    headers: dict[str, str] = {}
    for name, value in pairs:
        if name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    return headers


def location_of(raw_headers: Sequence[tuple[bytes, bytes]]) -> tuple[str | None, str]:
    """A redirect's Location as browsers read it: ``(value, problem)``.

    Read from the raw header lines, not from the joined header dict: two
    identical Location lines are one target (joined they would read
    "/new, /new", a false dead), two different ones are an error, as in
    Chrome (ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION). The value is decoded
    on its own, UTF-8 first: another header's Latin-1 byte (a cookie) must
    not turn a UTF-8 path into mojibake. Bytes that are not UTF-8 are
    percent-encoded as they are, which is what browsers send.
    """
    values = [v.strip() for k, v in raw_headers if k.lower() == b"location"]
    values = [v for v in values if v]
    if not values:
        return None, ""
    if len(set(values)) > 1:
        shown = ", ".join(repr(v.decode("latin-1")[:60]) for v in dict.fromkeys(values))
        return None, f"conflicting Location headers ({shown})"
    raw = values[0]
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw), ""


def content_type_of(raw_headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The media type of a response, lower-cased, without parameters ('' when none was sent)."""
    for name, value in raw_headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def fetched_from(answer: Answer) -> Fetched:
    """What the engine judges, from what the fetch layer got."""
    raw = answer.raw_headers
    headers = header_dict(raw)
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fetched = Fetched(answer.status, headers, content_type, answer.body, answer.cut)
    if answer.status in classify.REDIRECT_STATUSES:
        fetched.location, fetched.location_problem = location_of(raw)
    if "set-cookie" in headers:  # each on its own: joined, their dates' commas mislead
        fetched.cookies = tuple(v.decode("latin-1") for k, v in raw if k.lower() == b"set-cookie")
    return fetched


def is_html(content_type: str) -> bool:
    return not content_type or "html" in content_type or content_type.startswith("text/")


#: Bodies at most this long are looked at for being blank (longer ones never are: no copy of a big page).
_BLANK_CHECK_BYTES = 1024


def unjudgeable(fetched: Fetched) -> classify.Judgement | None:
    """``error`` for a 2xx HTML page that says nothing, instead of ``ok``: an unreadable or a blank body.

    A body the engine could not read (a Content-Encoding it never asked
    for, a broken gzip stream, a connection that died before the first
    byte) may be a "not found" page as well as the article; an empty
    200 page is what a reader sees as a blank screen (a crashed
    application). Neither shows the page is there, so neither is ``ok``.
    """
    status = fetched.status
    if not (200 <= status < 300) or status == 204 or not is_html(fetched.content_type):
        return None
    body = fetched.body
    if fetched.cut and not body:
        return classify.Judgement("error", f"HTTP {status}, but the page could not be read, so it says nothing",
                                  "body-unreadable")
    if not fetched.cut and len(body) <= _BLANK_CHECK_BYTES and not body.strip():
        return classify.Judgement("error", f"HTTP {status} with an empty page: a blank page says nothing about "
                                           "the content", "empty-page")
    return None


_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


def decode_text(body: bytes, content_type: str) -> str:
    """Bytes -> text using the declared charset, a <meta> charset, then UTF-8 (never raises)."""
    charset = None
    match = _CHARSET.search(content_type)
    if match:
        charset = match.group(1)
    else:
        meta = _META_CHARSET.search(body[:2048])
        if meta:
            charset = meta.group(1).decode("ascii", "ignore")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
