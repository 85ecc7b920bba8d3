"""Catch-all sites: the pure half of telling a gone page from what a site answers for any URL.

Why it exists: many sites answer 200 for any path (a search page, the
home page, a "not found" page served with 200, a single-page app's shell),
so a cited page that is long gone still looks alive by its status. The
engine asks each host, per directory and shape of name, for one random
sibling URL and compares the cited page with what the sibling got: a page
that looks like the answer to a random URL is ``soft404`` (catch-all).
Before saying so it checks that the site is not saying the sibling *is*
this page (id + decorative slug sites, a canonical link), whether the page
depends on an id earlier in the path, and whether the page is only a
script-rendered shell that cannot be judged. docs/checking.md
("Catch-all sites") has the rules and the numbers.

Here: the probe plans and keys (:func:`probe_key`, :func:`probe_plan`), the
random siblings of the cited name's shape, and the tests on pages
(:func:`canonical_link`, :func:`names_this_page`, :func:`same_page`,
:func:`script_shell`, :func:`script_routes_the_path`). Nothing here fetches
or holds engine state: the engine (:class:`provenance.check._Engine`) asks, waits
and decides.
"""

from __future__ import annotations

import asyncio
import functools
import html
import random
import re
import string
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from . import classify
from .resolve import url_host
from .urls import browser_join, browser_url, URL_MEMO_SIZE, fast_split

#: Letters in the random sibling path used to detect catch-all sites, when the cited name has no shape to keep.
PROBE_LETTERS = 16
#: Random characters at least in a sibling's name: a short id (/p/3) gets a longer random one, not a real neighbour.
PROBE_MIN_RANDOM = 8
#: Visible words at most (outside scripts, styles, <noscript> and the title) on a script-rendered shell page.
SHELL_MAX_WORDS = 12


@functools.lru_cache(maxsize=URL_MEMO_SIZE)
def is_deep(url: str) -> bool:
    return classify.is_deep(url)


@functools.lru_cache(maxsize=4096)
def directory_of(url: str) -> str:
    """The catch-all probe key of a URL (scheme://netloc/directory/): the probe is per host and directory."""
    split = fast_split(url)
    if split is not None:
        host = split[3]  # as in url_host
        if host is not None and host[0] != "[":
            return f"{split[1]}://{split[2]}{(split[6] or '').rsplit('/', 1)[0]}/"  # scheme, authority, path
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"


def drop_fragment(url: str) -> str:
    """The URL without its fragment (never sent): for redirect targets and canonical links alike."""
    return url.split("#", 1)[0]


# --- probes: what a site answers for a random sibling URL of the cited name's shape ---

@dataclass(frozen=True)
class Sibling:
    """What a catch-all probe got for a random sibling URL."""

    #: The sibling asked for, and where its redirects (if any) ended.
    url: str
    final_url: str
    status: int
    #: Fingerprint of a 2xx HTML page (classify.fingerprint); None: the site answered it as missing.
    fingerprint: frozenset[int] | None
    #: The page's <link rel=canonical>, resolved, or None.
    canonical: str | None


#: Extensions of programs whose query names the page (showthread.php?t=123): their probe randomises the id.
_SCRIPT_EXTENSIONS = frozenset({"php", "php3", "php4", "php5", "asp", "aspx", "cgi", "pl", "jsp", "jspa", "do",
                                "cfm", "dll", "exe"})
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
#: Runs of one kind in a path segment: an escape, digits, ASCII letters, anything else (kept as it is).
_RUNS = re.compile(r"%[0-9A-Fa-f]{2}|[0-9]+|[A-Za-z]+|[^0-9A-Za-z%]+|%")
#: A query value that is an id (digits only, two or more).
_ID_VALUE = re.compile(r"[0-9]{2,}")
_DIGIT_RUN = re.compile(r"[0-9]+")


def _random_like(run: str, extra: int = 0) -> str:
    """Random characters of ``run``'s kind (digits, letters with its upper-case places), ``extra`` more."""
    if run.isdigit():
        first = random.choice("123456789") if run[0] != "0" else random.choice(string.digits)
        return first + "".join(random.choices(string.digits, k=len(run) - 1 + extra))
    letters = "".join(c.upper() if o.isupper() else c
                      for c, o in zip(random.choices(string.ascii_lowercase, k=len(run)), run))
    return letters + "".join(random.choices(string.ascii_lowercase, k=extra))


def _shaped_random(stem: str) -> str:
    """A random name of ``stem``'s shape: digits for digits, letters for letters, punctuation kept.

    Routes that take an id (/artikel/734512) answer a random word with a
    plain 404 from the router and a random id with their own "not found"
    page, the one a gone article gets: only a sibling of the same shape
    shows it. At least PROBE_MIN_RANDOM random characters, so a short id
    is not answered by a real neighbour.
    """
    runs = _RUNS.findall(stem)
    out: list[str] = []
    made = 0
    last_kind = -1
    for run in runs:
        if run.isascii() and run.isalnum():
            out.append(_random_like(run))
            made += len(run)
            last_kind = len(out) - 1
        elif run.startswith("%") and len(run) == 3:
            out.append(random.choice(string.ascii_lowercase))
            made += 1
            last_kind = len(out) - 1
        else:
            out.append(run)
    if last_kind < 0:
        return "".join(random.choices(string.ascii_lowercase, k=PROBE_LETTERS))
    if made < PROBE_MIN_RANDOM:
        kind = out[last_kind]
        out[last_kind] = kind + _random_like(kind[-1] * (PROBE_MIN_RANDOM - made))
    return "".join(out)


@dataclass(frozen=True)
class ProbePlan:
    """Where a URL's catch-all probe goes: the directory, and the shape of the name to imitate."""

    #: Host-wide key of the probe: directory and shape (one probe per directory for URLs of one shape).
    key: str
    scheme: str
    netloc: str
    directory: str
    stem: str
    extension: str
    query: str
    #: Query parameters holding an id, for a program's page (showthread.php?t=123); else empty.
    id_params: tuple[str, ...]
    directory_has_digits: bool

    def sibling(self, id_probe: bool = False) -> str:
        """A random sibling URL of this shape; ``id_probe``: the directory's digits randomised too."""
        directory = self.directory
        if id_probe:
            directory = _DIGIT_RUN.sub(lambda m: _random_like(m.group(0)), directory)
        if self.id_params:
            pairs = []
            for pair in self.query.split("&"):
                name, sep, value = pair.partition("=")
                if name in self.id_params and _ID_VALUE.fullmatch(value):
                    value = next((v for v in (_random_like(value) for _ in range(5)) if v != value), value + "1")
                pairs.append(name + sep + value)
            return urlunsplit((self.scheme, self.netloc, directory + self.stem + self.extension, "&".join(pairs), ""))
        return urlunsplit((self.scheme, self.netloc, directory + _shaped_random(self.stem) + self.extension, "", ""))


def _split_extension(name: str) -> tuple[str, str]:
    """A path segment's stem and extension ("report.pdf" -> "report", ".pdf"; "" when it has none)."""
    match = _EXTENSION.search(name)
    extension = match.group(0) if match else ""
    return name[: len(name) - len(extension)], extension


@functools.lru_cache(maxsize=4096)
def _segment_shape(last: str) -> str | None:
    """The shape of a path's last segment ('L', 'D', 'LD' or '', then its extension); None for a program's name."""
    stem, extension = _split_extension(last)
    if extension[1:].lower() in _SCRIPT_EXTENSIONS:
        return None  # its query may hold the id: probe_plan decides
    return _shape(stem, extension)


def _shape(stem: str, extension: str) -> str:
    if "%" in stem:
        stem = re.sub("%[0-9A-Fa-f]{2}", "", stem)
    return ("L" if re.search("[A-Za-z]", stem) else "") + ("D" if re.search("[0-9]", stem) else "") + extension.lower()


@functools.lru_cache(maxsize=URL_MEMO_SIZE)
def probe_key(url: str) -> str:
    """The key of a URL's catch-all probe: directory and shape of the name (see probe_plan), cheaply."""
    split = fast_split(url)
    if split is not None and split[1] is not None:
        path = split[6] or "/"
    else:
        return probe_plan(url).key
    shape = _segment_shape(path[path.rfind("/") + 1:])
    if shape is None:
        return probe_plan(url).key
    return f"{directory_of(url)}\x00{shape}"


@functools.lru_cache(maxsize=4096)
def probe_plan(url: str) -> ProbePlan:
    """The whole plan of a URL's probe (built once per probe, not per URL)."""
    parts = urlsplit(url)
    directory, _, last = parts.path.rpartition("/")
    directory += "/"
    stem, extension = _split_extension(last)
    id_params: tuple[str, ...] = ()
    if parts.query and extension[1:].lower() in _SCRIPT_EXTENSIONS:
        id_params = tuple(sorted({name for name, _, value in (p.partition("=") for p in parts.query.split("&"))
                                  if _ID_VALUE.fullmatch(value)}))
    if id_params:
        shape = last + "?" + "&".join(id_params)
    else:
        shape = _shape(stem, extension)
    return ProbePlan(f"{directory_of(url)}\x00{shape}", parts.scheme, parts.netloc, directory, stem, extension,
                      parts.query, id_params, bool(re.search("[0-9]", directory)))


def probe_outcome(probe: asyncio.Future) -> Sibling | None:
    if probe.cancelled() or probe.exception() is not None:
        return None
    return probe.result()


def site_of(url: str) -> str:
    """The host without a leading 'www.': example.org and www.example.org are one site."""
    host = url_host(url)
    return host[4:] if host.startswith("www.") else host


def _page_key(url: str) -> tuple[str, str, str]:
    """What makes two URLs the same page for a reader: site, path (trailing slash aside) and query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ("", url, "")
    return site_of(url), parts.path.rstrip("/") or "/", parts.query


def same_page(a: str | None, b: str | None) -> bool:
    return bool(a and b) and (a == b or _page_key(a) == _page_key(b))  # type: ignore[arg-type]


_CANONICAL = re.compile(r"<link\b[^<>]*\brel\s*=\s*[\"']?canonical\b[^<>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)


def canonical_link(text: str, base: str) -> str | None:
    """The page's ``<link rel=canonical href>``, resolved against ``base``, or None."""
    match = _CANONICAL.search(text, 0, classify.HEAD_CHARS)
    if match is None:
        return None
    href = _HREF.search(match.group(0))
    if href is None:
        return None
    value = html.unescape(next(g for g in href.groups() if g is not None)).strip()
    try:
        return browser_url(drop_fragment(browser_join(base, value))) if value else None
    except ValueError:
        return None


def names_this_page(sibling: Sibling, start: str, final: str, text: str) -> bool:
    """The site says the random sibling *is* this page (so the likeness says nothing about rot).

    Id + decorative slug sites (/questions/123/<anything>) send any slug
    to the page itself, or serve it with the page's canonical URL.
    """
    if same_page(sibling.final_url, start):
        return True
    if sibling.canonical is None:
        return False
    if same_page(sibling.canonical, start) or same_page(sibling.canonical, final):
        return True
    own = canonical_link(text, final)
    return own is not None and same_page(own, sibling.canonical) and _page_key(own)[:2] == _page_key(final)[:2]


_INVISIBLE = re.compile(r"<(script|style|noscript|template|title|svg)\b.*?</\1\s*>|<!--.*?-->|<[^>]+>",
                        re.IGNORECASE | re.DOTALL)
#: The empty element a single-page application renders into (React, Vue, Next, Nuxt, Gatsby, Angular, Svelte ...).
_APP_MOUNT = re.compile(r"<(?:div|main|section|body)\b[^<>]*\bid\s*=\s*[\"']?(?:root|app|__next|__nuxt|___gatsby"
                        r"|svelte|sapper|q-app|react-root|app-root|main-app|application)[\"'\s>]|<app-root\b"
                        r"|\bng-version\s*=|\bdata-reactroot\b", re.IGNORECASE)
_WORDS = re.compile(r"[^\W_]+")


def script_shell(text: str) -> bool:
    """A single-page application's shell: an empty mount element, a script, and next to no visible text."""
    head = text[: 4 * classify.HEAD_CHARS]
    if "<script" not in head.lower() or not _APP_MOUNT.search(head):
        return False
    return len(_WORDS.findall(_INVISIBLE.sub(" ", head))) <= SHELL_MAX_WORDS


#: A script that sends the reader on to another URL built from the path (``l.pathname``): the "404.html
#: redirect" of single-page apps on static hosts (GitHub Pages), which hands every deep link to the app.
_PATH_HANDOFF = re.compile(r"location\s*\.\s*(?:replace|assign)\s*\(|location(?:\s*\.\s*href)?\s*=(?!=)")
#: ``var l = window.location;`` : the name a script gives the location, whose ``l.replace(...)`` navigates.
_LOCATION_ALIAS = re.compile(r"\b([A-Za-z_$][\w$]*)\s*=\s*(?:window\s*\.\s*|document\s*\.\s*)?location\s*[;,\n]")


def script_routes_the_path(text: str) -> bool:
    """A 404 page that is only a script handing the requested path on (next to no visible text)."""
    head = text[: classify.HEAD_CHARS]
    if "pathname" not in head or "<script" not in head.lower():
        return False
    if not _PATH_HANDOFF.search(head):
        aliases = {m.group(1) for m in _LOCATION_ALIAS.finditer(head)}
        if not any(re.search(re.escape(a) + r"\s*\.\s*(?:replace|assign)\s*\(|" + re.escape(a) + r"\s*\.\s*href\s*=(?!=)",
                             head) for a in aliases):
            return False
    return len(_WORDS.findall(_INVISIBLE.sub(" ", head))) <= SHELL_MAX_WORDS


# The old private names, still read by tests and benchmarks.
_ProbePlan = ProbePlan
_Sibling = Sibling
_canonical = canonical_link
_directory = directory_of
_drop_fragment = drop_fragment
_is_deep = is_deep
_names_this_page = names_this_page
_outcome = probe_outcome
_probe_key = probe_key
_probe_plan = probe_plan
_same_page = same_page
_script_routes_the_path = script_routes_the_path
_script_shell = script_shell
_site = site_of
