"""Pages that send the reader on at once: a meta refresh or a Refresh header, read as browsers read them.

A redirect stub ("Redirecting... click here if you are not redirected")
answers 200; a checker that stops there calls a page `ok` whose reader is
sent to a 404 or to the home page. The engine (check.py) follows such a
refresh as one more temporary hop; this module only reads the page.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from .catchall import drop_fragment
from .classify import prose_words
from .urls import C0_AND_SPACE, browser_join, browser_url

#: A meta refresh or Refresh header sends a reader on like a redirect only within this many seconds: a page
#: that reloads itself every few minutes (a news front page's "300") is read where it is.
MAX_REFRESH_DELAY = 10
#: Characters of a page's start searched for a meta refresh (redirect stubs put it at the top; ~0.7 us per KB).
REFRESH_SCAN_CHARS = 8192
#: A page with more words of its own prose than this is read as it is, refresh or not (see refresh_target).
REFRESH_MAX_WORDS = 150


#: ASCII whitespace as the HTML spec reads it in a refresh value.
_SPACE = " \t\n\f\r"
#: A refresh value's delay and separator (the HTML spec's "shared declarative refresh steps"):
#: digits (or a bare ".5"), more digits and dots ignored, then ";", "," or whitespace before the URL part.
#: Possessive (``*+``, ``++``): a long run of digits not followed by a separator fails at once instead of
#: trying every split of it (quadratic: 13 s for a 32,000-digit header before).
_REFRESH_DELAY = re.compile(r"[ \t\n\f\r]*+(\d++|(?=\.))[\d.]*+(?:$|(?=[;, \t\n\f\r]))[ \t\n\f\r]*+[;,]?[ \t\n\f\r]*+")
#: What a browser does not read as the page's markup: comments, scripts, styles, and <noscript> (a
#: browser with scripts on ignores it: a meta refresh there is for browsers without them). Unclosed
#: ones run to the end of the window.
_NOT_MARKUP = re.compile(r"<!--.*?(?:-->|$)|<(script|style|noscript|template|textarea|title|xmp)\b.*?(?:</\1\s*>|$)",
                         re.DOTALL | re.IGNORECASE)
#: A quick test on the lowered window before the page is read as markup ("refresh" in a script is common).
_EQUIV_REFRESH = re.compile(r"http-equiv\s*=\s*[\"']?\s*refresh")
_META_TAG = re.compile(r"<meta[\s/]((?:[^>\"']|\"[^\"]*\"|'[^']*')*)", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
#: Characters of a page read when counting its words (enough to pass REFRESH_MAX_WORDS on any real page).
_WORDS_READ = 65_536


class RefreshTarget(NamedTuple):
    """A refresh that sends the reader on: where to (None: not followed, ``note`` says why), and how."""

    kind: str
    target: str | None
    note: str = ""


def parse_refresh(value: str) -> tuple[int, str] | None:
    """``(delay, URL string)`` of a Refresh header or meta refresh, as browsers read it; None when ignored.

    "5", "0; url=/new", "0;URL='/new'", "0, /new" and "3 url = /new" are all
    read; the URL string is '' for a plain reload. Quotes end where the
    closing quote is (the rest is ignored, as in browsers).
    """
    match = _REFRESH_DELAY.match(value)
    if match is None:
        return None
    # More than 9 digits is "never" (int() refuses over 4,300 digits: an internal error before).
    delay = (int(match[1]) if len(match[1]) <= 9 else 999_999_999) if match[1] else 0
    rest = value[match.end():]
    quote = ""
    if rest[:3].lower() == "url":
        after = rest[3:].lstrip(_SPACE)
        if after.startswith("="):
            rest = after[1:].lstrip(_SPACE)
            quote = rest[:1]
    else:
        quote = rest[:1]
    if quote in ("'", '"'):
        rest = rest[1:].split(quote, 1)[0]
    # As a URL parser reads it: no tabs or newlines, no surrounding spaces or controls.
    return delay, rest.replace("\t", "").replace("\n", "").replace("\r", "").strip(C0_AND_SPACE)


def _meta_refresh(text: str) -> tuple[int, str] | None:
    """The page's first readable meta refresh in its first REFRESH_SCAN_CHARS, parsed (see parse_refresh), or None.

    A single substring test decides for almost every page; only a page
    that says "refresh" near its top is read further, outside comments,
    scripts and <noscript> (as a browser with scripts on reads it).
    """
    window = text[:REFRESH_SCAN_CHARS]
    lowered = window.lower()
    if "refresh" not in lowered or _EQUIV_REFRESH.search(lowered) is None:
        return None
    markup = _NOT_MARKUP.sub(" ", window)
    for tag in _META_TAG.finditer(markup):
        attributes = tag[1]
        if "efresh" not in attributes.lower():
            continue
        equiv = content = None
        for name, double, single, bare in _ATTRIBUTE.findall(attributes):
            name = name.lower()
            if name == "http-equiv" and equiv is None:
                equiv = (double or single or bare).strip(_SPACE).lower()
            elif name == "content" and content is None:
                content = double or single or bare
        if equiv == "refresh" and content is not None:
            # The first meta refresh a browser can read is the one it acts on.
            parsed = parse_refresh(html.unescape(content))
            if parsed is not None:
                return parsed
    return None


def refresh_target(url: str, headers: dict[str, str], text: str) -> RefreshTarget | None:
    """Where a 2xx HTML page sends its reader at once by a Refresh header or meta refresh; None: nowhere.

    Followed like a temporary redirect when the delay is at most
    MAX_REFRESH_DELAY seconds, a URL is given and the page has at most
    REFRESH_MAX_WORDS words of its own prose: a redirect stub ("Redirecting…
    click here if you are not redirected") has a dozen; a real article that
    refreshes itself or sends readers on after a while is read where it is
    (150 words is past every stub and short of a short news item). A reload
    (no URL) or a refresh to this very URL after a delay (a page that reloads
    itself) is not a hop; to this URL at once it is (a loop, unless a cookie
    changes). The header is read before the page, as browsers do.
    """
    kind, value = "Refresh header", headers.get("refresh")
    parsed = parse_refresh(value) if value is not None else None
    if parsed is None:
        kind, parsed = "meta refresh", _meta_refresh(text) if text else None
    if parsed is None:
        return None
    delay, location = parsed
    if not location or delay > MAX_REFRESH_DELAY or (text and prose_words(text[:_WORDS_READ].lower(), REFRESH_MAX_WORDS) > REFRESH_MAX_WORDS):
        return None
    try:
        target = browser_join(url, location)
        scheme = urlsplit(target).scheme
    except ValueError:
        return RefreshTarget(kind, None, f"its {kind} to {location[:100]!r} could not be read, so it was not followed")
    if scheme not in ("http", "https"):
        return RefreshTarget(kind, None, f"its {kind} to a non-web URL ({target[:100]}) was not followed")
    whole = browser_url(drop_fragment(target))
    if whole == url and (delay > 0 or "#" in target):
        return None  # the page reloads itself after a while, or moves to a place on itself
    return RefreshTarget(kind, whole)


# The old private names, still read by tests and benchmarks.
_parse_refresh = parse_refresh
_refresh_target = refresh_target
_Refresh = RefreshTarget
