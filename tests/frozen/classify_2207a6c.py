# A FROZEN COPY: provenance/classify.py as of commit 2207a6c (2026-11-29), verbatim, with the one thing it
# imported (provenance/urls.py's fast_split, same commit) copied in. Nothing here comes from the code under
# test: tests/test_classify_speed_equivalence.py compares today's classify with this, and a change to a
# table, a pattern or a helper of classify.py cannot leak into the reference unseen. Never edit it to make a
# comparison pass; record an intended difference in that test's hand-checked table instead.
# ruff: noqa
"""Response -> verdict. Site knowledge lives in the ``SIGNATURES`` table.

A signature has a name so that a report can say which one fired; a new
site or phrase is one new row, not a new ``if``. Everything here is pure
(no network): :mod:`provenance.check` fetches, this module judges, so the
judgement can be tested on plain values and reused on stored responses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# --- provenance/urls.py at 2207a6c: the URL splitter this module imported ---
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

# (frozen: provenance/urls.py's fast_split as of the same commit, below, instead of importing it)

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
#: A page with more words of its own prose than this (outside links, navigation, footers and
#: scripts) is not judged "not found" by its title, headings or a phrase: real not-found pages
#: are short; reference pages about HTTP 404 and articles quoting error messages are not.
LONG_PAGE_WORDS = 250
#: Bare words ("Gone", "Missing") as a title, and captcha titles on a 200, count only on pages this short.
SHORT_PAGE_WORDS = 100
#: Bot-wall and parked-domain pages are small: bigger pages skip those rows (speed, not meaning).
SMALL_PAGE_CHARS = 32_768
#: Headings (h1, h2) read from the top of a page.
HEADINGS_READ = 5

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
    #: Test of (cited URL, final URL), only when a redirect led elsewhere: for what a regex on the
    #: target alone cannot say (an ancestor of the cited path, a search for it).
    redirect: Callable[[str, str], bool] | None = None
    #: Cheap substrings of which one must occur before ``body`` is searched (speed only, never meaning,
    #: except with ``near``).
    hints: tuple[str, ...] = ()
    #: With ``hints``: ``body`` is searched only within this many characters around each hint,
    #: tags stripped and entities decoded (a phrase that sits next to its hint; speed, and
    #: curly apostrophes read as straight ones).
    near: int = 0
    #: With ``near``: one of these must be in the window before it is cleaned and searched (speed only).
    near_words: tuple[str, ...] = ()
    #: Regex that must fill the page's title, or one part of it between separators ("|", "-", "»" ...),
    #: read with entities decoded, curly apostrophes straight and spaces collapsed.
    title: re.Pattern[str] | None = None
    #: With ``title``: the pattern may fill one part instead of the whole title.
    title_parts: bool = True
    #: Regex that must fill one of the first h1/h2 headings (or a part of it), read like the title.
    heading: re.Pattern[str] | None = None
    #: With ``body``: the match must also be in the visible text (not in a script, style, pre, code,
    #: blockquote or q element, nor right after an opening quotation mark).
    visible: bool = False
    #: The page has at most this many words of its own prose (links, navigation, footers excluded).
    max_words: int | None = None
    #: Only pages whose decoded text is at most this long (speed: walls and parked pages are small).
    max_chars: int | None = None
    #: A case-kept substring of the whole decoded text, for markers deep in big pages (after hints).
    full_text: str | None = None


def _rx(pattern: str) -> re.Pattern[str]:
    # Bodies are lower-cased once before matching: IGNORECASE would make every search ~10x slower.
    return re.compile(pattern, re.DOTALL)


# --- what "not found" looks like in a title or heading ---
# A title or heading is "not found" only when the phrase fills it, or one part of it between
# separators: "Page not found | Example News" is, "Not Found: The Search for MH370", "404 Media"
# and "Gone Girl | Reviews" are not. Titles and headings are read cleaned (entities decoded,
# curly apostrophes straight, lower case), so the patterns below are plain text.
_INTERJECTION = r"(?:(?:oops|whoops|sorry|error|uh[- ]?oh|ouch|hmm+|oh no|yikes)[!,.:\u2026]*\s*)*"
_DETERMINER = r"(?:(?:this|the|that|requested|your)\s+)?"
_NOUN = (r"(?:web\s*)?(?:page|article|story|post|blog\s+post|content|file|document|resource|url|link|video|product"
         r"|item|listing|entry|site|news\s+item)")
_WHO_ASKED = (r"(?:\s+you(?:'re|\s+are|\s+were|'ve\s+been)?\s+"
              r"(?:looking\s+for|requested|tried\s+to\s+(?:reach|access|open)))?")
_NOT_FOUND = (r"(?:(?:was|is|could\s+not\s+be)\s+)?not\s+found|(?:could\s*n't|can't|cannot|can\s+not)\s+be\s+found"
              r"|404(?:\s*(?:error|page|not\s+found|\(not\s+found\)))*|error\s*[:#]?\s*404(?:\s*\(?not\s+found\)?)?"
              r"|(?:does\s*n't|does\s+not|no\s+longer)\s+exists?|is\s+no\s+longer\s+here|is\s+not\s+here")
_UNAVAILABLE = (r"(?:is\s+|has\s+been\s+|was\s+|is\s+currently\s+)?(?:no\s+longer\s+|not\s+|currently\s+not\s+)?"
                r"(?:available|unavailable)|is(?:n't|\s+not)\s+available"
                r"|(?:has\s+been\s+|was\s+|is\s+|been\s+)?(?:removed|deleted|gone|missing|taken\s+down)|went\s+missing"
                r"|(?:has\s+)?expired")
_NOTHING_FOUND = r"nothing\s+(?:was\s+)?found(?:\s+for\s+.+)?"
_WE_CANT_FIND = (r"we\s+(?:can't|cannot|can\s+not|could\s*n't|could\s+not|were\s+unable\s+to)\s+find\s+"
                 r"(?:(?:that|the|this|your)\s+" + _NOUN + r"|what\s+you(?:'re|\s+are)\s+looking\s+for)")
# Titles and headings in other languages (the soft-404 pages of CMSs in those languages).
_NOT_FOUND_ELSEWHERE = (
    r"(?:fehler|erreur|error|errore|erro|fout|b[\u0142l][\u0105a]d|\u043e\u0448\u0438\u0431\u043a\u0430|hata)\s*404"
    r"|(?:die\s+)?seite\s+(?:wurde\s+)?nicht\s+gefunden|seite\s+existiert\s+nicht"                       # de
    r"|p[\u00e1a]gina\s+no\s+(?:encontrada|existe)|no\s+se\s+(?:ha\s+)?encontr[\u00f3o]\s+la\s+p[\u00e1a]gina"  # es
    r"|page\s+(?:introuvable|non\s+trouv[\u00e9e]e|inexistante)"                                         # fr
    r"|pagina\s+non\s+(?:trovata|esiste)"                                                               # it
    r"|p[\u00e1a]gina\s+n[\u00e3a]o\s+(?:encontrada|existe)"                                            # pt
    r"|pagina\s+(?:niet\s+gevonden|bestaat\s+niet)"                                                     # nl
    r"|nie\s+znaleziono\s+strony|strona\s+nie\s+(?:istnieje|zosta[\u0142l]a\s+znaleziona)"              # pl
    r"|\u0441\u0442\u0440\u0430\u043d\u0438\u0446\u0430\s+\u043d\u0435\s+(?:\u043d\u0430\u0439\u0434\u0435\u043d\u0430"
    r"|\u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443\u0435\u0442)"                                   # ru
    r"|(?:\u304a\u63a2\u3057\u306e)?\u30da\u30fc\u30b8(?:\u304c|\u306f)?(?:\u898b\u3064\u304b\u308a\u307e\u305b\u3093"
    r"(?:\u3067\u3057\u305f)?|\u5b58\u5728\u3057\u307e\u305b\u3093)"                                    # ja
    r"|(?:\u62b1\u6b49[,\uff0c]?\s*)?(?:\u60a8|\u4f60)?(?:\u8bbf\u95ee|\u8a2a\u554f|\u8bf7\u6c42|\u8acb\u6c42)?\u7684?"
    r"(?:\u9875\u9762|\u9801\u9762|\u7f51\u9875|\u7db2\u9801)"
    r"(?:\u4e0d\u5b58\u5728|\u672a\u627e\u5230|\u627e\u4e0d\u5230"
    r"|\u6ca1\u6709\u627e\u5230)|\u627e\u4e0d\u5230(?:\u8be5|\u6b64|\u60a8\u8981\u7684)?(?:\u9875\u9762|\u9801\u9762"
    r"|\u7f51\u9875|\u7db2\u9801)"                                                                       # zh
    r"|(?:\uc694\uccad\ud558\uc2e0\s+)?\ud398\uc774\uc9c0\ub97c\s+\ucc3e\uc744\s+\uc218\s+\uc5c6\uc2b5\ub2c8\ub2e4"
    r"|\ud398\uc774\uc9c0\uac00\s+\uc874\uc7ac\ud558\uc9c0\s+\uc54a\uc2b5\ub2c8\ub2e4"                   # ko
    r"|sayfa\s+bulunamad[\u0131i]"                                                                      # tr
)
_TRAILER = (r"(?:\s+(?:anymore|any\s+more|right\s+now|at\s+the\s+moment|at\s+this\s+time))?"
            r"(?:\s*[(\[]\s*(?:error\s*)?404\s*[)\]])?[\s.!?\u2026]*1*")


def _filling(*phrases: str) -> re.Pattern[str]:
    return re.compile(_INTERJECTION + r"(?:" + "|".join(phrases) + r")" + _TRAILER)


#: Fills a title part or heading on any page that is not long: with a noun ("Page not found",
#: "This product is no longer available"), the not-found family ("404", "Not Found"), other languages.
_NOT_FOUND_FILL = _filling(
    r"(?:(?:error\s*)?404\s*[-:,]?\s*)?(?:" + _DETERMINER + _NOUN + _WHO_ASKED + r"\s+)?(?:" + _NOT_FOUND + r")",
    r"(?:(?:error\s*)?404\s*[-:,]?\s*)?" + _DETERMINER + _NOUN + _WHO_ASKED + r"\s+(?:" + _UNAVAILABLE + r")",
    _WE_CANT_FIND, _NOT_FOUND_ELSEWHERE)
#: Bare words ("Gone", "Missing", "Unavailable", "Nothing found"): a song, a film or a blog post
#: can be titled so; they count only as a whole title, on a short page.
_BARE_FILL = _filling(_UNAVAILABLE, _NOTHING_FOUND)
#: A part next to a colon counts only when it is more than a bare "not found" or "404".
_BARE = _filling(r"not\s+found|404(?:\s*(?:error|page|not\s+found))*|error\s*[:#]?\s*404", _UNAVAILABLE, _NOTHING_FOUND)

#: Said in a page's text (cleaned; searched near its hints, then in the visible text only).
_NOT_FOUND_SAID = re.compile(
    r"(?:(?:sorry|oops|whoops|unfortunately)[,!.]?\s+)?(?:(?:the|this|that)\s+)?(?:"
    r"(?:page|article|story|content|post|product)\s+you(?:'re|\s+are|\s+were)?\s+looking\s+for,?\s+(?:"
    r"(?:could\s*n't|could\s+not|can't|cannot|can\s+not)\s+be\s+found|does\s*n't\s+exist|does\s+not\s+exist"
    r"|is\s+(?:no\s+longer\s+)?(?:available|here)|is(?:n't|\s+not)\s+(?:available|here)|was(?:\s+not|n't)\s+found"
    r"|has\s+been\s+(?:removed|moved|deleted)|no\s+longer\s+exists"
    r"|(?:might|may)\s+have\s+been\s+(?:removed|deleted|moved)"
    r"|is\s+gone|cannot\s+be\s+displayed)"
    r"|we\s+(?:could\s*n't|could\s+not|can't|cannot|can\s+not|were\s+unable\s+to)\s+find\s+(?:that|the|this|your)\s+"
    r"(?:page|article|story|content)"
    r"|(?:page|article|story|content|product)\s+(?:does\s*n't|does\s+not|no\s+longer)\s+exists?"
    r"|(?:page|article|story|content|product)\s+(?:is\s+no\s+longer\s+available|is(?:n't|\s+not)\s+available"
    r"|is\s+unavailable)(?!\s+(?:in|to|for|on|outside|from|via|with|through|until|at|during|here)\b)"
    r"|invalid\s+(?:thread|post|forum)\s+specified)")
_NOT_FOUND_HINTS = ("looking for", "find th", "exist", "available", "invalid thread")

# Login words end at a boundary: "/author/jane-doe/" and "/authority/reports" are not login pages.
_LOGIN_PATH = (r"/(?:login|log-in|signin|sign-in|sign_in|logon|auth|authenticate|sso|session/new|users/sign_in"
               r"|accounts?/(?:login|signin)|servicelogin|oauth2?/authorize|cas/login|wp-login\.php|idp)(?:[/?.#_-]|$)"
               r"|[?&](?:returnurl|return_to|redirect_uri|continue)=")
# An error page by its path: "/404", "/not-found", "/errors/404.html", "?error=404". Not "/errors"
# alone or "/gone" (docs.python.org's /tutorial/errors.html, a song at /songs/gone/).
_ERROR_PATH = (r"/(?:404|not[-_]?found|page[-_]?not[-_]?found|errors?[-_/]?404|404[-_]?(?:error|page))"
               r"(?:\.[a-z]{2,5})?/?(?:$|\?)|[?&](?:error|status|code)=404(?:&|$)")
#: ... or a Refresh header (a 200 that sends the reader on at once) naming such a path.
_REFRESH_TO_ERROR = (r"^\s*\d+\s*[;,]\s*url\s*=\s*['\"]?[^'\"]*?(?:"
                     + _ERROR_PATH.replace("(?:$|\\?)", "(?:$|\\?|['\"])") + r")")
# Domains for sale or parked: the cited page went with the old owner.
_DOMAIN_FOR_SALE = _rx(r"(?:the\s+)?(?:domain\s+(?:name\s+)?)?[a-z0-9][a-z0-9.-]*\.[a-z]{2,}"
                       r"\s+(?:is|may\s+be)\s+for\s+sale!?")
_PARKED_SAID = _rx(r"this\s+domain\s+(?:name\s+)?(?:is|may\s+be|might\s+be|could\s+be)\s+for\s+sale|buy\s+this\s+domain"
                   r"|this\s+domain\s+(?:name\s+)?(?:is|has\s+been)\s+parked|parked\s+free,?\s+courtesy\s+of")
_PARKING_SERVICE = _rx(r"sedoparking\.com|parkingcrew\.net|bodis\.com|window\.park\s*=")

# A captcha or refusal title on a 200 counts only when it fills the title (or a part of it):
# "Are you a robot?" and "Attention Required! | Cloudflare" are walls, "CAPTCHA - Wikipedia" is
# an article (and too long for a wall), "reCAPTCHA v3 | Google for Developers" does not fill.
_CAPTCHA_FILL = _rx(r"(?:(?:re|h)?captcha(?:\s+(?:check|challenge|verification|required))?"
                    r"|are you (?:a )?(?:robot|human)"
                    r"|robot check|attention required!?|access denied|verify (?:that )?you(?:'re| are) (?:a )?human"
                    r"|security check|human verification|bot (?:check|verification|protection)|one more step"
                    r"|please verify you are (?:a )?human)[\s.!?\u2026]*")

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
    # Walls that answer 200 or 202: without a row the page would be judged by its text (a
    # challenge is the same page at every path: a false catch-all soft 404).
    Signature("aws-waf", "blocked", "AWS WAF challenge (x-amzn-waf-action)", header="x-amzn-waf-action"),
    Signature("anubis", "blocked", "Anubis proof-of-work bot wall",
              statuses=frozenset({200, 401, 403}), max_chars=SMALL_PAGE_CHARS, hints=("anubis",),
              body=_rx(r"anubis_challenge|within\.website/x/cmd/anubis"
                       r"|making sure you(?:'|&#0*39;|&#x0*27;|\u2019)re not a bot")),
    # Sucuri and Incapsula put their headers (and Incapsula a script) on every page they serve:
    # only the challenge page's own markers, or the headers on a refusal, mean a wall.
    Signature("sucuri-challenge", "blocked", "Sucuri CloudProxy JavaScript challenge",
              max_chars=SMALL_PAGE_CHARS, hints=("sucuri",), body=_rx(r"sucuri_cloudproxy_js|sucuri_cloudproxy_uuid")),
    Signature("sucuri-block", "blocked", "Sucuri firewall refused the request",
              statuses=frozenset({403, 429, 503}), header="x-sucuri-id"),
    Signature("incapsula", "blocked", "Imperva Incapsula bot wall",
              max_chars=SMALL_PAGE_CHARS, hints=("incapsula",),
              body=_rx(r"incapsula incident id|_incapsula_resource\?(?:cwudnsai|swudnsai)")),
    Signature("incapsula-block", "blocked", "Imperva Incapsula refused the request",
              statuses=frozenset({403, 429, 503}), header="x-iinfo"),
    Signature("siteground-captcha", "blocked", "SiteGround captcha wall",
              statuses=frozenset({200, 202, 403, 429}), max_chars=SMALL_PAGE_CHARS, hints=("captcha",),
              body=_rx(r"/\.well-known/sgcaptcha/")),
    Signature("f5-asm", "blocked", "F5 BIG-IP ASM rejected the request",
              max_chars=SMALL_PAGE_CHARS, hints=("rejected",),
              body=_rx(r"the requested url was rejected\.\s+please consult\s+with\s+your\s+administrator")),
    Signature("amazon-robot-check", "blocked", "Amazon robot check (captcha)",
              statuses=frozenset({200, 503}), max_chars=SMALL_PAGE_CHARS, hints=("captcha",),
              body=_rx(r"/errors/validatecaptcha")),
    Signature("captcha-wall", "blocked", "captcha page instead of content",
              statuses=frozenset({200, 203}), title=_CAPTCHA_FILL, max_words=SHORT_PAGE_WORDS),
    Signature("captcha-title", "blocked", "captcha page instead of content",
              statuses=frozenset({403, 405, 429, 503}),
              body=_rx(r"<title[^>]*>[^<]*(?:captcha|are you a robot|are you human|robot check|"
                       r"attention required|access denied|verify you are human|security check)")),
    Signature("captcha-widget", "blocked", "captcha challenge answered instead of the page",
              statuses=frozenset({403, 405, 429, 503}),
              body=_rx(r"g-recaptcha|h-captcha|hcaptcha\.com|captcha-delivery|unusual traffic"),
              hints=("captcha", "unusual traffic")),
    Signature("login-redirect", "blocked", "redirected to a login page",
              redirected_to=_rx(_LOGIN_PATH)),
    Signature("consent-redirect", "blocked", "redirected to a cookie-consent page",
              redirected_to=_rx(r"/(?:v2/)?collectconsent(?:$|\?)|[?&]consentuuid=")),
    Signature("redirect-to-404", "soft404", "redirected to an error page",
              redirected_to=_rx(_ERROR_PATH)),
    Signature("refresh-to-404", "soft404", "the page sends the reader on to an error page (Refresh header)",
              statuses=frozenset({200, 203}), header="refresh", header_value=_rx(_REFRESH_TO_ERROR)),
    Signature("redirect-to-search", "soft404", "redirected to the site's search (the page is gone)",
              statuses=frozenset({200, 203}), redirect=lambda url, final: _redirected_to_search(url, final)),
    Signature("redirect-to-parent", "soft404", "redirected to a page above it (its section or category)",
              statuses=frozenset({200, 203}), redirect=lambda url, final: _redirected_to_ancestor(url, final)),
    Signature("domain-for-sale", "soft404", "the domain is for sale (the cited page went with it)",
              statuses=frozenset({200, 203}), title=_DOMAIN_FOR_SALE),
    Signature("parked-domain", "soft404", "a parked domain page (the cited page went with the domain)",
              statuses=frozenset({200, 203}), max_chars=SMALL_PAGE_CHARS, hints=("this domain", "park"),
              body=_PARKED_SAID, visible=True, max_words=LONG_PAGE_WORDS),
    Signature("parking-service", "soft404", "a domain-parking service's page (the cited page went with the domain)",
              statuses=frozenset({200, 203}), max_chars=SMALL_PAGE_CHARS,
              hints=("park", "bodis"), body=_PARKING_SERVICE,
              max_words=LONG_PAGE_WORDS),
    Signature("youtube-unavailable", "soft404", "the video is gone (YouTube player says ERROR)",
              statuses=frozenset({200}), title=_rx(r"youtube"), full_text='"playabilityStatus":{"status":"ERROR"'),
    Signature("soft404-title", "soft404", "the page's title says it was not found",
              statuses=frozenset({200, 203}), title=_NOT_FOUND_FILL, max_words=LONG_PAGE_WORDS),
    Signature("soft404-heading", "soft404", "the page's heading says it was not found",
              statuses=frozenset({200, 203}), heading=_NOT_FOUND_FILL, max_words=LONG_PAGE_WORDS),
    Signature("soft404-bare-title", "soft404", "the page's whole title says it is gone or unavailable",
              statuses=frozenset({200, 203}), title=_BARE_FILL, title_parts=False, max_words=SHORT_PAGE_WORDS),
    Signature("soft404-phrase", "soft404", "the page says it no longer exists",
              statuses=frozenset({200, 203}), body=_NOT_FOUND_SAID, hints=_NOT_FOUND_HINTS, near=120,
              near_words=("page", "article", "story", "content", "product", "post", "thread"),
              visible=True, max_words=LONG_PAGE_WORDS),
)

#: Paths that are a site's home page.
_HOME_PATH = re.compile(r"^/?(?:index\.(?:html?|php|aspx?)|home|default\.aspx?|[a-z]{2}(?:[-_][a-z]{2})?/?)?/?$",
                        re.IGNORECASE)


# --- reading a page: each view is computed once per judgement, and only when a row asks ---

#: Elements whose text a reader does not see as the page's own words.
_HIDDEN = re.compile(r"<(script|style|noscript|template|textarea|svg|head|title|pre|code|blockquote|q)\b[^>]*>.*?"
                     r"</\1\s*>|<!--.*?-->", re.DOTALL)
#: ... and, for counting a page's own prose, the site's chrome too (links, navigation, footers).
_NOT_PROSE = re.compile(r"<(script|style|noscript|template|textarea|svg|head|select|button|nav|header|footer|aside"
                        r"|a)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.DOTALL)
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
#: Curly apostrophes read as straight ones; no-break spaces as spaces.
_STRAIGHTEN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "\u00a0": " "})
#: A word of prose: a run of letters or digits, or two CJK characters (which have no spaces).
_PROSE_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]{1,2}"
                         r"|[^\W_\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+")
_TITLE = re.compile(r"<title\b[^>]*>([^<]{0,1000})</title")
_HEADING = re.compile(r"<h([12])\b[^>]*>(.{0,400}?)</h\1\s*>", re.DOTALL)
#: Separators between the parts of a title ("Page not found | Example News", "Fehler 404 – Beispiel").
_PARTS = re.compile(r"\s+-+\s*|\s*-+\s+|\s*(?:[|\u2013\u2014\u2022\u00b7\u00bb\u00ab\u203a\u2039]+|::)\s*")
#: A colon splits a title too ("Example: Page not found"), but more loosely ("Not Found: The Search
#: for MH370"): a part after or before a colon counts only with a noun (see ``_BARE``).
_COLON = re.compile(r"\s*:\s+")
#: Characters without which a text has no parts (a quick test before splitting).
_SEPARATOR_CHARS = frozenset("-|:\u2013\u2014\u2022\u00b7\u00bb\u00ab\u203a\u2039")
#: Opening quotation marks: a phrase right after one is quoted, not said.
_OPENING_QUOTES = frozenset("\"\u201c\u201e\u00ab\u2018'\u300c\u300e")


def _clean(fragment: str) -> str:
    """Tags out, entities decoded, curly apostrophes straight, spaces collapsed (case as given)."""
    if "<" in fragment:
        fragment = _ANY_TAG.sub(" ", fragment)
    if "&" in fragment:
        fragment = html.unescape(fragment)
    if not fragment.isascii():
        fragment = fragment.translate(_STRAIGHTEN)
    return " ".join(fragment.split())


class _Page:
    """Views of one observation's body, each computed on first use (most rows never need most)."""

    __slots__ = ("text", "_lowered", "_body_at", "_title", "_title_pieces", "_headings", "_visible", "_words", "_has")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lowered: str | None = None
        self._body_at = -1
        self._title: str | None = None
        self._title_pieces: tuple[tuple[str, bool], ...] | None = None
        self._headings: list[str] | None = None
        self._visible: str | None = None
        self._words: int | None = None
        self._has: dict[str, bool] = {}

    def has(self, hint: str) -> bool:
        """Does ``lowered`` contain the hint? (Remembered: rows share hints.)"""
        found = self._has.get(hint)
        if found is None:
            found = self._has[hint] = hint in self.lowered
        return found

    @property
    def lowered(self) -> str:
        """The lower-cased start of the body (HEAD_CHARS)."""
        if self._lowered is None:
            self._lowered = self.text[:HEAD_CHARS].lower() if self.text else ""
        return self._lowered

    @property
    def body_at(self) -> int:
        """Where <body> starts in ``lowered`` (0 without one): headings and phrases are after it."""
        if self._body_at < 0:
            self._body_at = max(0, self.lowered.find("<body"))
        return self._body_at

    @property
    def title(self) -> str:
        """The first <title>, cleaned and lower-cased ('' when there is none)."""
        if self._title is None:
            lowered = self.lowered
            at = lowered.find("<title")
            match = _TITLE.match(lowered, at) if at >= 0 else None
            self._title = _clean(match[1]) if match else ""
        return self._title

    @property
    def title_pieces(self) -> tuple[tuple[str, bool], ...]:
        """The title's parts (see ``_pieces``)."""
        if self._title_pieces is None:
            self._title_pieces = _pieces(self.title)
        return self._title_pieces

    @property
    def headings(self) -> list[str]:
        """The first HEADINGS_READ h1/h2 headings, cleaned."""
        if self._headings is None:
            lowered, found = self.lowered, []
            at = lowered.find("<h", self.body_at)
            while at >= 0:
                match = _HEADING.match(lowered, at)
                if match:
                    text = _clean(match[2])
                    if text:
                        found.append(text)
                        if len(found) >= HEADINGS_READ:
                            break
                at = lowered.find("<h", at + 2)
            self._headings = found
        return self._headings

    @property
    def visible(self) -> str:
        """The text a reader sees as the page's words (no scripts, code, quotations), cleaned."""
        if self._visible is None:
            self._visible = _clean(_HIDDEN.sub(" ", self.lowered)).lower()
        return self._visible

    @property
    def words(self) -> int:
        """Words of the page's own prose: outside links, navigation, headers, footers and scripts."""
        if self._words is None:
            prose = _ANY_TAG.sub(" ", _NOT_PROSE.sub(" ", self.lowered))
            self._words = len(_PROSE_WORD.findall(prose))
        return self._words


def _pieces(text: str) -> tuple[tuple[str, bool], ...]:
    """The parts of a title or heading between separators, then the pieces around colons in them.

    Each comes with whether it is a colon piece: those count only when more than a bare
    "not found" or "404" (``_BARE``).
    """
    pieces: list[tuple[str, bool]] = []
    for part in _PARTS.split(text) if text else ():
        if part:
            if part != text:  # the whole text is tried first anyway
                pieces.append((part, False))
            if ":" in part:
                pieces.extend((piece, True) for piece in _COLON.split(part) if piece)
    return tuple(pieces)


def _fills(text: str, pattern: re.Pattern[str], parts: bool = True,
           pieces: tuple[tuple[str, bool], ...] | None = None) -> bool:
    """Does the pattern fill the text, or (``parts``) one separator-delimited part of it?"""
    if not text:
        return False
    if pattern.fullmatch(text):
        return True
    if not parts or (pieces is None and _SEPARATOR_CHARS.isdisjoint(text)):
        return False
    for piece, colon in _pieces(text) if pieces is None else pieces:
        if pattern.fullmatch(piece) and not (colon and _BARE.fullmatch(piece)):
            return True
    return False


#: Hint occurrences looked at per hint (a page that repeats a hint word more is not a not-found page).
_MAX_HINT_HITS = 40


def _near_hints(page: _Page, sig: Signature) -> bool:
    """Is ``sig.body`` found within ``sig.near`` characters of a hint in the page's body (window cleaned)?"""
    lowered, near, pattern, needs = page.lowered, sig.near, sig.body, sig.near_words
    start = page.body_at
    for hint in sig.hints:
        at = lowered.find(hint, start)
        seen = 0
        while at >= 0 and seen < _MAX_HINT_HITS:
            window = lowered[max(0, at - near):at + len(hint) + near]
            if (not needs or any(word in window for word in needs)) and pattern.search(_clean(window)):
                return True
            at = lowered.find(hint, at + len(hint))
            seen += 1
    return False


def _said(pattern: re.Pattern[str], visible: str) -> bool:
    """Is the pattern in the visible text other than right after an opening quotation mark?"""
    for match in pattern.finditer(visible):
        before = visible[max(0, match.start() - 2):match.start()].rstrip()
        if not before or before[-1] not in _OPENING_QUOTES:
            return True
    return False


# --- matching: each row becomes the short list of checks it needs, cheapest first ---

Check = Callable[[Observation, _Page], bool]


def _header_check(name: str, value: re.Pattern[str] | None) -> Check:
    def check(obs: Observation, _page: _Page) -> bool:
        found = obs.headers.get(name)
        return found is not None and (value is None or value.search(found.lower()) is not None)
    return check


def _target_check(pattern: re.Pattern[str]) -> Check:
    def check(obs: Observation, _page: _Page) -> bool:
        parts = urlsplit(obs.final_url)
        return pattern.search((parts.path + ("?" + parts.query if parts.query else "")).lower()) is not None
    return check


def _hints_check(hints: tuple[str, ...]) -> Check:
    def check(_obs: Observation, page: _Page) -> bool:
        for hint in hints:
            if page.has(hint):
                return True
        return False
    return check


def _body_check(sig: Signature) -> Check:
    if sig.near:
        return lambda _obs, page: _near_hints(page, sig)
    pattern = sig.body
    return lambda _obs, page: pattern.search(page.lowered) is not None


def _checks(sig: Signature) -> tuple[Check, ...]:
    """The conditions of a row as functions, in the order that rejects a typical page soonest."""
    checks: list[Check] = []
    if sig.max_chars is not None and sig.max_chars != SMALL_PAGE_CHARS:  # SMALL_PAGE_CHARS: see _rows_for
        limit = sig.max_chars
        checks.append(lambda obs, _page: len(obs.text) <= limit)
    if sig.header is not None:
        checks.append(_header_check(sig.header, sig.header_value))
    if sig.redirected_to is not None:
        checks.append(_target_check(sig.redirected_to))
    if sig.redirect is not None:
        test = sig.redirect
        checks.append(lambda obs, _page: test(obs.url, obs.final_url))
    if sig.title is not None:
        pattern, parts = sig.title, sig.title_parts
        checks.append(lambda _obs, page: _fills(page.title, pattern, parts, page.title_pieces if parts else None))
    if sig.hints and not sig.near:
        checks.append(_hints_check(sig.hints))
    if sig.body is not None:
        checks.append(_body_check(sig))
    if sig.heading is not None:
        pattern = sig.heading
        checks.append(lambda _obs, page: any(_fills(h, pattern) for h in page.headings))
    if sig.full_text is not None:
        marker = sig.full_text
        checks.append(lambda obs, _page: marker in obs.text)
    if sig.max_words is not None:
        most = sig.max_words
        checks.append(lambda _obs, page: page.words <= most)
    if sig.visible and sig.body is not None:
        pattern = sig.body
        checks.append(lambda _obs, page: _said(pattern, page.visible))
    return tuple(checks)


#: (status, redirected, small) -> the rows that can fit, with their checks (table order kept); filled on first use.
_ROWS: dict[tuple[int, bool, bool], tuple[tuple[Signature, tuple[Check, ...]], ...]] = {}


def _rows_for(status: int, redirected: bool, small: bool) -> tuple[tuple[Signature, tuple[Check, ...]], ...]:
    """The rows for a status, with or without a redirect, for a page of at most SMALL_PAGE_CHARS or more."""
    key = (status, redirected, small)
    rows = _ROWS.get(key)
    if rows is None:
        rows = _ROWS[key] = tuple(
            (sig, _checks(sig)) for sig in SIGNATURES
            if (not sig.statuses or status in sig.statuses)
            and (redirected or (sig.redirected_to is None and sig.redirect is None))
            and (small or sig.max_chars != SMALL_PAGE_CHARS))
    return rows


def match_signature(obs: Observation) -> Signature | None:
    """The first signature that fits this observation, or None."""
    rows = _rows_for(obs.status, bool(obs.hops) and obs.final_url != obs.url, len(obs.text) <= SMALL_PAGE_CHARS)
    if not rows:
        return None
    page = _Page(obs.text)
    for sig, checks in rows:
        for check in checks:
            if not check(obs, page):
                break
        else:
            return sig
    return None


_TRACKING_ONLY = re.compile(r"(?:(?:utm_[a-z0-9_]*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid"
                            r"|ref|ref_src|_ga|_gl|_hsenc|_hsmi|mkt_tok)(?:=[^&]*)?(?:&+|$))+", re.IGNORECASE)


#: First characters of those trackers: most queries are told apart without the regex.
_TRACKER_STARTS = frozenset("ufgdwmyir_UFGDWMYIR")


def is_deep(url: str) -> bool:
    """True when a URL names something below a site's home page (trackers in the query do not count)."""
    split = fast_split(url)
    if split is not None:
        path, query = split[6], split[7]  # a plain http(s) URL's
        if path is None:
            path, query = split[8], split[9]  # any other scheme://'s (or a plain URL without a path: None, None)
    else:
        parts = urlsplit(url)
        path, query = parts.path, parts.query
    if query and (query[0] not in _TRACKER_STARTS or not _TRACKING_ONLY.fullmatch(query)):
        return True
    return not _HOME_PATH.match(path or "/")


def _site(parts) -> tuple[str, int | None]:
    """Host without "www." and the port as written: the same site over http and https."""
    host = (parts.hostname or "").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, (None if port in (80, 443) else port)


_SEARCH_PATH = re.compile(r"(?:^|/)(?:search|search-?results|site-?search)(?:\.[a-z]{2,5})?/?$")
_SEARCH_QUERY = re.compile(r"(?:^|&)(?:q|s|query|search|keywords?|search_query)=[^&]")


def _is_search(parts) -> bool:
    path = parts.path.lower()
    if _SEARCH_PATH.search(path):
        return True
    return bool(parts.query) and bool(_HOME_PATH.match(path or "/")) and bool(_SEARCH_QUERY.search(parts.query.lower()))


def _redirected_to_search(url: str, final: str) -> bool:
    """A deep page of a site sent to that site's search ("/search?q=old+slug", "/?s=old-slug"): it is gone."""
    cited, landed = urlsplit(url), urlsplit(final)
    return (_is_search(landed) and not _is_search(cited) and _site(cited) == _site(landed)
            and not _HOME_PATH.match(cited.path or "/"))


#: Path segments whose removal keeps the same page: an index file, an AMP or print view, a language.
_SAME_PAGE_SEGMENT = re.compile(
    r"(?:index|default|home)(?:\.[a-z]{2,5})?|amp|print"
    r"|(?:en|de|fr|es|it|pt|nl|pl|ru|ja|zh|ko|tr|sv|da|no|nb|fi|cs|el|he"
    r"|ar|hu|ro|uk|vi|th|id|ms|hi|bg|hr|sk|sl|sr|lt|lv|et|ca|fa)(?:[-_][a-z]{2,4})?", re.IGNORECASE)
#: A path segment that names one thing by id ("12345", "B07XJ8C8F5", "734512-rivers-rise"): a
#: redirect up to it from "<id>/<slug>" only dropped a decorative slug or a sub-view.
_ID_SEGMENT = re.compile(r".*\d{5}.*|(?=(?:[a-z]*\d){3})[a-z\d]+", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")


def _redirected_to_ancestor(url: str, final: str) -> bool:
    """A deep page sent up its own path on its own site ("/news/2020/05/story" -> "/news/"): it is gone.

    Not the home page (that is redirect-to-home's), not the same path with or without a trailing
    slash, an index file, an AMP view or a language segment, and not an id whose slug was dropped.
    """
    cited, landed = urlsplit(url), urlsplit(final)
    if _site(cited) != _site(landed) or _HOME_PATH.match(landed.path or "/"):
        return False
    old = [segment for segment in cited.path.split("/") if segment]
    new = [segment for segment in landed.path.split("/") if segment]
    if not new or len(new) >= len(old) or old[:len(new)] != new:
        return False
    if all(_SAME_PAGE_SEGMENT.fullmatch(segment) for segment in old[len(new):]):
        return False
    last = new[-1]
    return not _ID_SEGMENT.fullmatch(last) or bool(_YEAR.fullmatch(last))


def redirected_home(obs: Observation) -> bool:
    """A deep URL that redirects to a home page: the page is gone.

    Any site's home page counts, not only the same site's: an article whose
    old domain now sends everything to the new domain's front page is as
    lost as one sent to its own, and "redirect" would tell the user to cite
    a front page instead.
    """
    if not obs.hops or not is_deep(obs.url) or is_deep(obs.final_url):
        return False
    return not _LANGUAGE_HOME.fullmatch(urlsplit(obs.url).path)


#: A language's home page under another name ("/en/home" -> "/en/" is the same page).
_LANGUAGE_HOME = re.compile(r"/[a-z]{2}(?:[-_][a-z]{2})?/(?:index\.(?:html?|php|aspx?)|home|default\.aspx?)/?",
                            re.IGNORECASE)


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
