"""Response -> verdict. Site knowledge lives in the ``SIGNATURES`` table.

A signature has a name so that a report can say which one fired; a new
site or phrase is one new row, not a new ``if``. Everything here is pure
(no network): :mod:`provenance.check` fetches, this module judges, so the
judgement can be tested on plain values and reused on stored responses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .urls import fast_split

#: Characters of the decoded body that signatures look at (titles, headings, challenge markers).
HEAD_CHARS = 65_536
#: Shingle similarity at or above which a page "is the same" as a random sibling's page.
CATCH_ALL_SIMILARITY = 0.85
#: Shingles a page may have that its random sibling lacks and still count as the same page.
CATCH_ALL_MAX_OWN_SHINGLES = 12
#: Words per shingle when comparing page texts.
SHINGLE_WORDS = 4
#: Characters of visible text compared when judging catch-all sites.
FINGERPRINT_CHARS = 20_000

PERMANENT_REDIRECTS: frozenset[int] = frozenset({301, 308})
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Observation:
    """What a check saw for one URL, after following redirects."""

    url: str
    final_url: str
    status: int
    #: Lower-cased header names.
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Decoded start of the body ('' when not read: non-HTML, redirects, 404s).
    text: str = ""
    #: ``(status, url)`` of each redirect followed, in order.
    hops: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Signature:
    """One named pattern of a response. Every condition given must hold."""

    name: str
    verdict: str
    reason: str
    #: Statuses this applies to (empty: any).
    statuses: frozenset[int] = frozenset()
    #: Header (lower-case) that must be present.
    header: str | None = None
    #: Regex the header's value must match (with ``header``).
    header_value: re.Pattern[str] | None = None
    #: Regex searched in the lower-cased start of the body.
    body: re.Pattern[str] | None = None
    #: Regex searched in the final URL's path and query (lower-cased), only when a redirect led there.
    redirected_to: re.Pattern[str] | None = None
    #: Cheap substrings of which one must occur before ``body`` is searched (speed only, never meaning).
    hints: tuple[str, ...] = ()


def _rx(pattern: str) -> re.Pattern[str]:
    # Bodies are lower-cased once before matching: IGNORECASE would make every search ~10x slower.
    return re.compile(pattern, re.DOTALL)


# A title or heading is "not found" only when the phrase fills it (or one " | "-separated part of
# it): "Page not found | Example News" is, "Not Found: The Search for MH370" and "404 Media" are not.
_SEP = r"[-|\u2013\u2014\u2022\u00b7]"
_NF_PREFIX = (r"(?:(?:oops|sorry|error|whoops|uh oh)[!,.:]?\s*)*(?:(?:this|the|that|requested)\s+)?"
              r"(?:(?:page|article|story|post|content|file|document|resource|url|link)\s+)?")
_NF_PHRASE = (r"(?:(?:was\s+|is\s+|could\s+not\s+be\s+)?not\s+found|404(?:\s*(?:error|not\s+found))?|error\s*:?\s*404"
              r"|(?:is\s+)?no\s+longer\s+(?:available|exists?)|does\s*n[o'\u2019]t\s+exist|does\s+not\s+exist"
              r"|(?:is\s+)?(?:unavailable|missing|gone)|(?:has\s+been\s+)?(?:removed|deleted))")
_NOT_FOUND_TITLE = (r"<title[^>]*>\s*(?:[^<]*?\s" + _SEP + r"\s*)?" + _NF_PREFIX + _NF_PHRASE
                    + r"\s*[.!]?\s*(?:(?:\s" + _SEP + r"|" + _SEP + r"\s)[^<]*)?</title>")
_NOT_FOUND_HEADING = r"<h1[^>]*>(?:\s|<[^>]*>)*" + _NF_PREFIX + _NF_PHRASE + r"\s*[.!]?\s*<"
_LOGIN_PATH = (r"/(?:login|log-in|signin|sign-in|sign_in|logon|auth|authenticate|sso|session/new|users/sign_in"
               r"|accounts?/(?:login|signin)|servicelogin|oauth2?/authorize|cas/login|wp-login\.php|idp/)"
               r"|[?&](?:returnurl|return_to|redirect_uri|continue)=")

#: The table. Order matters: the first signature that fits decides.
SIGNATURES: tuple[Signature, ...] = (
    Signature("cloudflare-mitigated", "blocked", "Cloudflare bot challenge (cf-mitigated)",
              statuses=frozenset({403, 429, 503}), header="cf-mitigated"),
    Signature("cloudflare-challenge", "blocked", "Cloudflare 'Just a moment' challenge",
              statuses=frozenset({403, 429, 503}), header="cf-ray",
              body=_rx(r"just a moment|challenge-platform|cf-chl|checking your browser|cf_chl_opt")),
    Signature("cloudflare-block", "blocked", "Cloudflare refused the request",
              statuses=frozenset({403, 503}), header="server", header_value=_rx(r"cloudflare")),
    Signature("linkedin-999", "blocked", "LinkedIn refuses automated requests (HTTP 999)",
              statuses=frozenset({999})),
    Signature("datadome", "blocked", "DataDome bot wall",
              statuses=frozenset({401, 403, 405, 429}), header="x-datadome"),
    Signature("perimeterx", "blocked", "PerimeterX / HUMAN bot wall",
              statuses=frozenset({403, 429}), body=_rx(r"px-captcha|_pxhd|perimeterx")),
    Signature("akamai-denied", "blocked", "Akamai 'Access Denied' page",
              statuses=frozenset({403}), body=_rx(r"access denied.*reference\s*#")),
    Signature("captcha-wall", "blocked", "captcha page instead of content",
              statuses=frozenset({200, 403, 405, 429, 503}),
              body=_rx(r"<title[^>]*>[^<]*(?:captcha|are you a robot|are you human|robot check|"
                       r"attention required|access denied|verify you are human|security check)")),
    Signature("captcha-widget", "blocked", "captcha challenge answered instead of the page",
              statuses=frozenset({403, 405, 429, 503}),
              body=_rx(r"g-recaptcha|h-captcha|hcaptcha\.com|captcha-delivery|unusual traffic"),
              hints=("captcha", "unusual traffic")),
    Signature("login-redirect", "blocked", "redirected to a login page",
              redirected_to=_rx(_LOGIN_PATH)),
    Signature("redirect-to-404", "soft404", "redirected to an error page",
              redirected_to=_rx(r"/(?:404|not[-_]?found|page[-_]?not[-_]?found|error(?:s)?(?:/404)?|gone)"
                                r"(?:\.[a-z]{2,5})?/?(?:$|\?)|[?&](?:error|status)=404")),
    Signature("soft404-title", "soft404", "the page's title says it was not found",
              statuses=frozenset({200, 203}), body=_rx(_NOT_FOUND_TITLE)),
    Signature("soft404-heading", "soft404", "the page's heading says it was not found",
              statuses=frozenset({200, 203}), body=_rx(_NOT_FOUND_HEADING)),
    Signature("soft404-phrase", "soft404", "the page says it no longer exists",
              statuses=frozenset({200, 203}),
              body=_rx(r"(?:page|article|story|content) you (?:are|were|'re) looking for (?:could not be found|"
                       r"can(?:no|')t be found|does ?n[o']t exist|is (?:no longer )?(?:available|here)|was not found|"
                       r"has been (?:removed|moved|deleted)|no longer exists|might have been removed)"
                       r"|we (?:could ?n[o']t|can(?:no|')t) find (?:that|the|this) page"
                       r"|(?:this|that) page (?:does ?n[o']t|does not|no longer) exists?"
                       r"|this (?:page|article|story) is no longer available"),
              hints=("looking for", "find th", "page do", "page no", "no longer")),
)

#: Paths that are a site's home page.
_HOME_PATH = re.compile(r"^/?(?:index\.(?:html?|php|aspx?)|home|default\.aspx?|[a-z]{2}(?:[-_][a-z]{2})?/?)?/?$",
                        re.IGNORECASE)


def _signature_fits(sig: Signature, obs: Observation, lowered: str) -> bool:
    if sig.statuses and obs.status not in sig.statuses:
        return False
    if sig.header is not None:
        value = obs.headers.get(sig.header)
        if value is None:
            return False
        if sig.header_value is not None and not sig.header_value.search(value.lower()):
            return False
    if sig.redirected_to is not None:
        if not obs.hops or obs.final_url == obs.url:
            return False
        parts = urlsplit(obs.final_url)
        target = (parts.path + ("?" + parts.query if parts.query else "")).lower()
        if not sig.redirected_to.search(target):
            return False
    if sig.body is not None:
        if sig.hints and not any(hint in lowered for hint in sig.hints):
            return False
        if not sig.body.search(lowered):
            return False
    return True


#: Status -> the signatures that can fit it (table order kept); filled on first use of each status.
_BY_STATUS: dict[int, tuple[Signature, ...]] = {}


def _signatures_for(status: int) -> tuple[Signature, ...]:
    sigs = _BY_STATUS.get(status)
    if sigs is None:
        sigs = _BY_STATUS[status] = tuple(sig for sig in SIGNATURES if not sig.statuses or status in sig.statuses)
    return sigs


def match_signature(obs: Observation) -> Signature | None:
    """The first signature that fits this observation, or None."""
    sigs = _signatures_for(obs.status)
    if not sigs:
        return None
    lowered = obs.text[:HEAD_CHARS].lower() if obs.text else ""
    for sig in sigs:
        if _signature_fits(sig, obs, lowered):
            return sig
    return None


def is_deep(url: str) -> bool:
    """True when a URL names something below a site's home page."""
    split = fast_split(url)
    if split is not None:
        path, query = split[6], split[7]  # a plain http(s) URL's
        if path is None:
            path, query = split[8], split[9]  # any other scheme://'s (or a plain URL without a path: None, None)
        if query:
            return True
        return not _HOME_PATH.match(path or "/")
    parts = urlsplit(url)
    return not _HOME_PATH.match(parts.path or "/") or bool(parts.query)


def redirected_home(obs: Observation) -> bool:
    """A deep URL that redirects to a home page: the page is gone.

    Any site's home page counts, not only the same site's: an article whose
    old domain now sends everything to the new domain's front page is as
    lost as one sent to its own, and "redirect" would tell the user to cite
    a front page instead.
    """
    if not obs.hops:
        return False
    return is_deep(obs.url) and not is_deep(obs.final_url)


def verdict_for_status(status: int) -> tuple[str, str]:
    """Verdict and reason from the status alone (after signatures had their say)."""
    if 200 <= status < 300:
        return "ok", f"HTTP {status}"
    if status in (404, 410):
        return "dead", f"HTTP {status}: {'gone' if status == 410 else 'not found'}"
    if status in (401, 407):
        return "blocked", f"HTTP {status}: login required, says nothing about the page"
    if status == 402:
        return "blocked", "HTTP 402: paywall, says nothing about the page"
    if status == 451:
        return "blocked", "HTTP 451: unavailable for legal reasons here, says nothing about the page"
    if status in (403, 999):
        return "blocked", f"HTTP {status}: access refused, says nothing about the page"
    if status == 429:
        return "error", "HTTP 429: rate limited after retries"
    if status >= 500:
        return "error", f"HTTP {status}: server error after retries"
    if status in REDIRECT_STATUSES:
        return "error", f"HTTP {status} without a usable Location"
    return "error", f"HTTP {status}: inconclusive"


@dataclass(frozen=True)
class Judgement:
    verdict: str
    reason: str
    signature: str | None = None


def judge(obs: Observation) -> Judgement:
    """The verdict for a finished observation (catch-all comparison is separate)."""
    sig = match_signature(obs)
    if sig is not None:
        return Judgement(sig.verdict, sig.reason, sig.name)
    if 200 <= obs.status < 300 and redirected_home(obs):
        return Judgement("soft404", f"a deep URL redirected to a home page ({obs.final_url})", "redirect-to-home")
    verdict, reason = verdict_for_status(obs.status)
    if verdict == "ok" and obs.hops and obs.final_url != obs.url:
        if all(status in PERMANENT_REDIRECTS for status, _ in obs.hops):
            return Judgement("redirect", f"moved permanently to {obs.final_url}")
        return Judgement("ok", f"HTTP {obs.status} after a temporary redirect to {obs.final_url}")
    return Judgement(verdict, reason)


# --- catch-all sites: a page that looks like a random sibling's page is not there ---

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fingerprint(text: str, drop: tuple[str, ...] = ()) -> frozenset[int]:
    """Hashed word shingles of a page's visible text, without the words in ``drop``.

    ``drop`` holds the URL's own path words: catch-all pages often echo the
    requested path ("/a/xyz was not found"), which must not make two
    otherwise identical pages look different.
    """
    visible = _TAG.sub(" ", text[: FINGERPRINT_CHARS * 4]).lower()[:FINGERPRINT_CHARS]
    dropped = {d.lower() for d in drop}
    words = [w for w in _WORD.findall(visible) if w not in dropped]
    if len(words) < SHINGLE_WORDS:
        return frozenset({hash(tuple(words))})
    return frozenset(hash(tuple(words[i:i + SHINGLE_WORDS])) for i in range(len(words) - SHINGLE_WORDS + 1))


def path_words(url: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(urlsplit(url).path.lower()))


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """Jaccard similarity of two fingerprints (1.0: the same page)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def same_as_sibling(page: frozenset[int], sibling: frozenset[int]) -> bool:
    """Is this page what the site answers for any path (so the cited page is gone)?

    Similar overall *and* with almost nothing of its own: a short article
    inside a heavy site template can be 90% similar to the site's "not
    found" page and still be a real article, and it shows in the text only
    it has.
    """
    return similarity(page, sibling) >= CATCH_ALL_SIMILARITY and len(page - sibling) <= CATCH_ALL_MAX_OWN_SHINGLES
