"""The faster signature matching judges exactly as the matching it replaced.

``classify.match_signature`` gates rows by their hints (one pass of substring
tests per page), passes over title rows with one joined pattern, walks only the
rows a page's hints and title leave, remembers which titles and headings fill,
tests the substrings a body regex needs before searching it, finds headings
with one search each, lowers mostly-ASCII pages through their UTF-8 bytes and
shares judgements. None of that may change a verdict: this file compares
today's matching with the module as it was before, frozen whole in
tests/frozen/classify_2207a6c.py (its own signature table, patterns and
helpers: nothing imported from the code under test), on every page and title
of the classify tests and red-team tests and a few thousand seeded random
pages, over statuses, headers and redirects. Where the two differ on purpose,
a hand-checked table says so, and a few verdicts are checked by hand against
both; then each piece against what it stands for.
"""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import pytest

from frozen import classify_2207a6c as reference
from provenance import classify
from provenance.classify import HEAD_CHARS, SIGNATURES, Judgement, Observation

# ----------------------------------------------------------------------------------------------------------------
# The reference: provenance/classify.py as of commit 2207a6c, before the speed work, frozen whole in
# tests/frozen/classify_2207a6c.py (its signature table, patterns and helpers, and the URL splitter it imported):
# nothing of it comes from the code under test, so a pattern changed in classify.py shows up here as a difference.
# ----------------------------------------------------------------------------------------------------------------

# The element-stripping regexes as they were (classify now strips in linear time with _Elements).
_HIDDEN = reference._HIDDEN
_NOT_PROSE = reference._NOT_PROSE


def judge(obs: Observation) -> Judgement:
    """The reference's judgement of ``obs`` (converted to and from the frozen module's own classes)."""
    old = reference.judge(reference.Observation(url=obs.url, final_url=obs.final_url, status=obs.status,
                                                headers=obs.headers, text=obs.text, hops=obs.hops))
    return Judgement(old.verdict, old.reason, old.signature)


URL_ = "https://news.example/2021/03/story"
#: Hand-checked: where today's matching differs from the reference on purpose. An opening tag now ends at the
#: first '<' (so '<title <<<<…' costs linear time, not quadratic): a '<' inside a quoted attribute of the
#: title or heading hides it. (page, status) -> (reference's verdict and signature, today's).
INTENDED_DIFFERENCES = {
    ('<html><head><title data-x="a<b">Page not found</title></head><body><p>x</p></body></html>', 200):
        (("soft404", "soft404-title"), ("ok", None)),
    ('<html><head><title>Example</title></head><body><h1 class="<x">Page not found</h1><p>x</p></body></html>',
     200): (("soft404", "soft404-heading"), ("ok", None)),
}
#: Hand-checked verdicts both must give (read by a person, not computed by either).
HAND_CHECKED = {
    ("<html><head><title>Page not found</title></head><body><p>Sorry.</p></body></html>", 200):
        ("soft404", "soft404-title"),
    ("<html><head><title>Page not found</title></head><body><p>Sorry.</p></body></html>", 404): ("dead", None),
    ("<html><head><title>Rivers rise</title></head><body><p>" + "word " * 300 + "</p></body></html>", 200):
        ("ok", None),
    ("<html><head><title>Just a moment...</title></head><body><script>window._cf_chl_opt={}</script></body></html>",
     403): ("blocked", None),  # a 403 says 'blocked' by itself; without Cloudflare's cf-ray it names no signature
}
#: The same, with headers: (page, status, headers) -> (verdict, signature).
HAND_CHECKED_HEADERS = {
    ("<html><head><title>Just a moment...</title></head><body><script>window._cf_chl_opt={}</script></body></html>",
     403, (("cf-ray", "8a1b"),)): ("blocked", "cloudflare-challenge"),
    ("<html><body>Forbidden</body></html>", 403, (("server", "cloudflare"),)): ("blocked", "cloudflare-block"),
}


def test_the_reference_is_frozen_not_imported():
    """The reference module imports nothing from provenance (it is a copy, not a view of today's code)."""
    import ast
    from pathlib import Path as _Path

    tree = ast.parse(_Path(reference.__file__).read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in imported if "provenance" in m or m.startswith(".")], imported
    assert reference.SIGNATURES is not SIGNATURES and reference._TITLE is not classify._TITLE


@pytest.mark.parametrize("case", list(INTENDED_DIFFERENCES), ids=["title-attribute-lt", "heading-attribute-lt"])
def test_intended_differences_from_the_reference(case):
    text, status = case
    obs = Observation(url=URL_, final_url=URL_, status=status, text=text)
    was, now = INTENDED_DIFFERENCES[case]
    assert (judge(obs).verdict, judge(obs).signature) == was
    assert (classify.judge(obs).verdict, classify.judge(obs).signature) == now


@pytest.mark.parametrize("case", [(*k, ()) for k in HAND_CHECKED] + list(HAND_CHECKED_HEADERS),
                         ids=["title-200", "title-404", "article", "403", "cloudflare-challenge", "cloudflare-block"])
def test_hand_checked_verdicts(case):
    text, status, headers = case
    expected = HAND_CHECKED[(text, status)] if not headers else HAND_CHECKED_HEADERS[case]
    obs = Observation(url=URL_, final_url=URL_, status=status, text=text, headers=dict(headers))
    assert (judge(obs).verdict, judge(obs).signature) == expected
    assert (classify.judge(obs).verdict, classify.judge(obs).signature) == expected


# ----------------------------------------------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------------------------------------------

URL = "https://news.example/2021/03/story"
TESTS = Path(__file__).parent
STATUSES = (200, 203, 403, 404, 429, 503)
#: Statuses only some rows name (a few pages each).
RARE_STATUSES = (202, 401, 405, 410, 999)
HEADERS = ({}, {"cf-ray": "8a1b"}, {"server": "cloudflare"}, {"cf-mitigated": "challenge"}, {"x-datadome": "1"},
           {"x-amzn-waf-action": "challenge"}, {"x-sucuri-id": "16015", "server": "Sucuri/Cloudproxy"},
           {"x-iinfo": "10-1-0 0NNN RT"}, {"refresh": "0; url=/404"}, {"refresh": "5;URL='/not-found.html'"},
           {"refresh": "0; url=/next-page"}, {"server": "nginx"})
#: Where a redirect may land (the cited URL is URL).
FINALS = (URL, "https://news.example/", "https://www.news.example/index.html", "https://new-owner.example/",
          "https://news.example/users/sign_in?return_to=x", "https://news.example/404",
          "https://news.example/errors/404.html", "https://news.example/search?q=story", "https://news.example/?s=story",
          "https://news.example/2021/", "https://news.example/2021/03/story-renamed",
          "https://consent.example/v2/collectconsent?x=1", "https://news.example/author/jane-doe/",
          "https://news.example/en/2021/03/story", "https://news.example/2021/03/story/amp")

# --- page material (English and twelve other languages, walls, parked pages, quotations) ---

NOT_FOUND_TITLES = (
    "Page not found", "404 Not Found", "Error 404", "404", "Oops! That page can’t be found.", "Nothing found for Old Story",
    "This product is no longer available", "Content unavailable", "Gone", "Missing", "Expired", "Nothing Found",
    "We can't find that page", "Sorry, this page doesn't exist", "The page you requested was not found.",
    "Error 404 (Not Found)!!1", "Page Not Found (404)", "File Not Found", "This video is unavailable",
    "Seite nicht gefunden", "Fehler 404", "Die Seite wurde nicht gefunden", "Página no encontrada", "Erreur 404",
    "Page introuvable", "Page non trouvée", "Pagina non trovata", "Errore 404", "Página não encontrada",
    "Pagina niet gevonden", "Nie znaleziono strony", "Błąd 404", "Страница не найдена", "Ошибка 404",
    "ページが見つかりません", "お探しのページは見つかりませんでした", "页面不存在", "抱歉，您访问的页面不存在", "找不到页面",
    "페이지를 찾을 수 없습니다", "Sayfa bulunamadı", "Hata 404", "Uh-oh! Page not found...", "Whoops, 404 error page")
ORDINARY_TITLES = (
    "A research page", "Rivers rise across the valley", "404 Media: a story about surveillance", "Report 2404",
    "Not Found: The Search for MH370", "Gone Girl", "The missing link", "Deleted scenes from the hearing",
    "CAPTCHA", "reCAPTCHA v3", "Are you a robot?", "Attention Required!", "Just a moment...", "Access denied",
    "Security check", "One more step", "example-rivers.org is for sale", "old-news-site.com may be for sale!",
    "YouTube", "Rivers - YouTube", "How to write a good 404 page", "Why pages go missing", "Lost and Not Found",
    "Die Flut kommt", "La crue arrive", "洪水", "Making sure you&#39;re not a bot!", "Request Rejected",
    "You are being redirected...", "Nothing", "Available now", "Sorry!", "Login", "Contact us")
SITES = ("Example News", "Beispiel Zeitung", "Le Exemple", "例", "Dan.com", "Cloudflare", "Wikipedia", "YouTube",
         "Google for Developers", "Example Blog")
SEPARATORS = (" | ", " - ", " – ", " — ", " » ", " :: ", ": ", " &#8211; ", " &raquo; ", " &ndash; ", "|", " · ",
              " -- ", " ‹ ", " • ", "-")
PHRASES = (
    "The page you are looking for does not exist.", "Sorry, we couldn’t find the page you’re looking for.",
    "We couldn't find the page you're looking for.", "This content is not available in your country.",
    "This page is unavailable", "Invalid thread specified.", "We can&#39;t find that page",
    "The article you were looking for has been removed", "the product is no longer available", "The page is gone.",
    "This domain is for sale!", "Buy this domain", "This domain has been parked", "Parked free, courtesy of GoDaddy.com",
    "this domain may be for sale", "Find the best deals", "Available now in stores", "Does it exist?",
    "Looking for something?", "The study found that sources matter.", "The story you are looking for might have "
    "been moved", "Content is unavailable outside the UK", "The page is not available here", "Page does not exist",
    "Die von Ihnen gesuchte Seite existiert leider nicht mehr.", "La page que vous recherchez n'existe pas.",
    "Lo sentimos, la página que buscas no existe.", "要求されたページは存在しません。", "Oops! That page can’t be found.")
MARKERS = (
    "<script id='anubis_challenge' type='application/json'>{}</script>", "sucuri_cloudproxy_js=''",
    "document.cookie='sucuri_cloudproxy_uuid_0e1f=1'", "<iframe src='/_Incapsula_Resource?CWUDNSAI=9&xinfo=1'>",
    "Incapsula incident ID: 1-2", "<meta http-equiv='refresh' content='0;/.well-known/sgcaptcha/?r=1'>",
    "The requested URL was rejected. Please consult with your\nadministrator.", "<form action='/errors/validateCaptcha'>",
    "<div class='g-recaptcha'></div>", "<script src='https://hcaptcha.com/1/api.js'></script>", "<div id='px-captcha'>",
    "_pxhd", "PerimeterX", "Access Denied. Reference #18.1a2b", "Just a moment...", "/cdn-cgi/challenge-platform/h/b",
    "window._cf_chl_opt={}", "Checking your browser before accessing", "window.park = 'x';",
    "<script src='https://img.sedoparking.com/js/park.js'></script>", "parkingcrew.net", "bodis.com",
    '"playabilityStatus":{"status":"ERROR","reason":"Video unavailable"}', "Our systems have detected unusual traffic",
    "/.within.website/x/cmd/anubis/static/img/happy.webp", "Making sure you&#39;re not a bot!",
    "Making sure you’re not a bot!", "captcha-delivery.com", "captcha", "anubis", "park", "rejected")
WRAPS = ("{}", "<p>{}</p>", "<script>var x = '{}';</script>", "<pre>{}</pre>", "<blockquote>{}</blockquote>",
         "<q>{}</q>", "<code>{}</code>", "<!-- {} -->", "“{}”", "\"{}\"", "<a href='/x'>{}</a>", "<nav>{}</nav>",
         "<footer>{}</footer>", "<span>{}</span>", "<h1>{}</h1>", "<h2 class='t'>{}</h2>", "<h3>{}</h3>",
         "<header>{}</header>", "<hr>{}", "<style>/* {} */</style>", "<H1>{}</H1>", "<h1><span>{}</span></h1>",
         "<h2>{}", "<noscript>{}</noscript>", "<li>{}</li>", "<main><h1>{}</h1></main>")
WORDS = ("river", "flood", "station", "measurement", "rainfall", "council", "report", "study", "season", "water",
         "levels", "city", "engineers", "residents", "survey", "data", "model", "climate", "storm", "basin", "the",
         "of", "and", "a", "to", "in", "is", "was", "for", "on", "that", "with", "page", "article", "story", "content",
         "found", "not", "exist", "available", "looking", "find", "this", "domain", "gone", "missing", "removed",
         "Fluss", "Hochwasser", "und", "die", "rivière", "crue", "et", "le", "río", "inundación", "川", "洪水", "강",
         "2021", "404", "&amp;", "&nbsp;", "—", "’s", "don’t")


def _words(rnd: random.Random, count: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(count))


def _restyle(rnd: random.Random, text: str) -> str:
    """The same words as sites write them: case, curly apostrophes, entities, no-break spaces."""
    roll = rnd.random()
    if roll < 0.15:
        text = text.upper()
    elif roll < 0.3:
        text = text.title()
    if rnd.random() < 0.2:
        text = text.replace("'", "’")
    if rnd.random() < 0.1:
        text = text.replace("'", "&#39;").replace("’", "&rsquo;")
    if rnd.random() < 0.1:
        text = text.replace(" ", "&nbsp;", 1)
    if rnd.random() < 0.05:
        text = text.replace(" ", "\n  ", 1)
    return text


def _title(rnd: random.Random) -> str:
    base = rnd.choice(NOT_FOUND_TITLES if rnd.random() < 0.5 else ORDINARY_TITLES)
    roll = rnd.random()
    if roll < 0.4:
        base = base + rnd.choice(SEPARATORS) + rnd.choice(SITES)
    elif roll < 0.55:
        base = rnd.choice(SITES) + rnd.choice(SEPARATORS) + base
    return _restyle(rnd, base)


def random_page(rnd: random.Random) -> str:
    """A page mixing titles, headings, phrases, markers and prose of random sizes."""
    parts = []
    if rnd.random() < 0.8:
        parts.append("<!doctype html><html lang='en'><head><meta charset='utf-8'>")
    if rnd.random() < 0.85:
        parts.append(f"<title{rnd.choice(('', ' data-rh=true'))}>{_title(rnd)}</title>")
    if rnd.random() < 0.15:
        parts.append(rnd.choice(WRAPS).format(rnd.choice(MARKERS)))  # in the head
    if rnd.random() < 0.8:
        parts.append("</head><body>")
    if rnd.random() < 0.4:
        parts.append("<header><nav>" + " ".join(f"<a href='/s{i}'>{_words(rnd, 2)}</a>"
                                                for i in range(rnd.randint(1, 15))) + "</nav></header>")
    for _ in range(rnd.randint(0, 4)):
        kind = rnd.random()
        if kind < 0.35:
            text = rnd.choice(WRAPS[14:18] + WRAPS[20:23] + WRAPS[25:]).format(_title(rnd))
        elif kind < 0.7:
            text = rnd.choice(WRAPS).format(_restyle(rnd, rnd.choice(PHRASES)))
        else:
            text = rnd.choice(WRAPS).format(rnd.choice(MARKERS))
        parts.append(text)
        parts.append(f"<p>{_words(rnd, rnd.choice((3, 20, 60, 120)))}</p>")
    if rnd.random() < 0.3:
        parts.append(f"<p>{_words(rnd, rnd.choice((90, 110, 240, 260, 400)))}</p>")
    if rnd.random() < 0.2:  # big pages: past the small-page limit, or markers past the characters read
        parts.append("<p>" + _words(rnd, rnd.choice((5_000, 9_000, 14_000))) + "</p>")
        parts.append(rnd.choice(WRAPS).format(rnd.choice(MARKERS + PHRASES)))
    if rnd.random() < 0.3:
        parts.append("<footer><p>" + _words(rnd, 30) + "</p></footer>")
    if rnd.random() < 0.7:
        parts.append("</body></html>")
    return "".join(parts)


def _strings_of(value, texts: list[str], headers: list[dict]) -> None:
    """Collect strings and header dicts from a test module's values (constants, parametrize arguments)."""
    if isinstance(value, str):
        texts.append(value)
    elif isinstance(value, dict):
        if value and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()) and all(
                k == k.lower() and "-" in k or k in ("server", "refresh", "location") for k in value):
            headers.append(value)
        for item in value.values():
            _strings_of(item, texts, headers)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _strings_of(item, texts, headers)
    elif hasattr(value, "values") and hasattr(value, "marks"):  # pytest.param(...)
        _strings_of(value.values, texts, headers)


def _literals(path: Path) -> list[str]:
    """Every string literal of a Python file (the constant parts of f-strings too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def material() -> tuple[list[str], list[dict]]:
    """Strings (pages, titles, headings, phrases) and header dicts from the classify tests and the red team."""
    import test_classify_redteam
    import test_classify_signatures

    texts: list[str] = []
    headers: list[dict] = []
    for module in (test_classify_signatures, test_classify_redteam):
        for value in vars(module).values():
            if callable(value):
                for mark in getattr(value, "pytestmark", ()):
                    if mark.name == "parametrize":
                        _strings_of(mark.args[1], texts, headers)
            elif not isinstance(value, type):
                _strings_of(value, texts, headers)
        texts.extend(_literals(Path(module.__file__)))
    texts.extend(NOT_FOUND_TITLES + ORDINARY_TITLES + PHRASES + MARKERS)
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    return unique, headers


def wrapped(text: str) -> tuple[str, ...]:
    """A string as a whole page, as a title, as a heading and as said in a page with site chrome."""
    nav = "<nav>" + " ".join(f"<a href='/s{i}'>Section {i} news</a>" for i in range(8)) + "</nav>"
    return (text,
            f"<!doctype html><html><head><title>{text}</title></head><body><p>Some text.</p></body></html>",
            f"<html><head><title>Example News</title></head><body>{nav}<h1 class='x'>{text}</h1></body></html>",
            f"<html><head><title>{text} | Example</title></head><body>{nav}<main><h2>{text}</h2><p>{text}</p></main>"
            "<footer><p>Copyright Example</p></footer></body></html>")


def observations(count: int = 3_000, seed: int = 20261129) -> list[Observation]:
    """The comparison's inputs: test and red-team material over every status, then random pages."""
    rnd = random.Random(seed)
    texts, test_headers = material()
    headers = list(HEADERS) + test_headers
    out: list[Observation] = []

    def add(text: str, status: int, header: dict, final: str = URL, hop: int = 0) -> None:
        hops = ((hop, final),) if hop else ()
        out.append(Observation(url=URL, final_url=final, status=status, headers=header, text=text, hops=hops))

    for text in texts:
        for page in wrapped(text):
            for status in STATUSES:
                add(page, status, {})
            add(page, rnd.choice(STATUSES + RARE_STATUSES), rnd.choice(headers))
            add(page, rnd.choice((200, 200, 203, 403)), rnd.choice(headers[:1] * 4 + headers),
                rnd.choice(FINALS), rnd.choice((301, 302, 307, 308)))
    for _ in range(count):
        page = random_page(rnd)
        for _ in range(2):
            status = rnd.choice(STATUSES * 3 + RARE_STATUSES + (200,) * 6)
            header = rnd.choice(headers) if rnd.random() < 0.25 else {}
            if rnd.random() < 0.25:
                add(page, status, header, rnd.choice(FINALS), rnd.choice((301, 302, 303, 307, 308)))
            else:
                add(page, status, header)
    return out


# ----------------------------------------------------------------------------------------------------------------
# The comparison
# ----------------------------------------------------------------------------------------------------------------

def _differences(cases: list[Observation]) -> tuple[list[str], set[str | None]]:
    wrong, fired = [], set()
    for obs in cases:
        old, new = judge(obs), classify.judge(obs)
        fired.add(old.signature)
        if (old.verdict, old.reason, old.signature) != (new.verdict, new.reason, new.signature):
            wrong.append(f"{obs.status} {obs.headers} hops={obs.hops}: was {old}, now {new}; text={obs.text[:300]!r}")
    return wrong, fired


@pytest.fixture(scope="module")
def cases() -> list[Observation]:
    return observations()


def test_new_matching_judges_exactly_as_the_old_one(cases):
    wrong, fired = _differences(cases)
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, first: " + "\n".join(wrong[:5])
    # The corpus must reach every row, or agreeing would say little.
    assert {s.name for s in SIGNATURES} <= fired, {s.name for s in SIGNATURES} - fired
    assert {"redirect-to-home", None} <= fired
    assert len(cases) > 15_000


def test_remembered_titles_and_headings_stay_right_when_forgotten_often(cases, monkeypatch):
    """With room for 3 entries the remembered fills are dropped all the time: still the same verdicts."""
    monkeypatch.setattr(classify, "_FILLS_REMEMBERED", 3)
    wrong, _ = _differences(cases[::7])
    assert not wrong, "\n".join(wrong[:5])


def test_the_same_titles_and_headings_on_other_statuses_and_pages_do_not_borrow_verdicts():
    """Remembering is per row set and pattern: a title that fills on a 200 says nothing on a 403 or in a long page."""
    long_body = "<p>" + "word " * 400 + "</p>"
    for title in ("Page not found", "Access denied", "Gone", "Just a moment..."):
        for body in ("<p>x</p>", long_body, f"<h1>{title}</h1>", f"<h1>{title}</h1>{long_body}"):
            text = f"<html><head><title>{title}</title></head><body>{body}</body></html>"
            for status in STATUSES:
                obs = Observation(url=URL, final_url=URL, status=status, text=text)
                assert classify.judge(obs) == judge(obs), (title, body[:40], status)  # Judgement == Judgement


# ----------------------------------------------------------------------------------------------------------------
# The pieces the speed rests on, each against what it stands for
# ----------------------------------------------------------------------------------------------------------------

class _NoLower(str):
    """A text whose own ``lower`` must not be called (the fast path was expected)."""

    def lower(self):  # noqa: D102
        raise AssertionError("str.lower was called")


#: English HTML as sites write it: now and then a curly quote, a dash, a ©, an é (~1% of characters).
ENGLISH = ("<p class='Lede'>The Council said “the Budget” was not final, and members of the transit committee "
           "asked for more time to read the report before the vote — Metro Herald, café edition</p>\n"
           "<p>Riders who use the downtown routes every day will see new schedules in the spring, officials said "
           "at the meeting on Tuesday evening, and fares will stay the same for another year.</p>\n")


def test_lower_fast_path_is_taken_for_english_html_with_a_few_other_characters():
    text = ENGLISH * 200 + "<p>Über die Änderung</p>" + ENGLISH * 200
    assert classify._lower(_NoLower(text)) == text.lower()


@pytest.mark.parametrize("text", [
    "ΟΔΟΣ and ΟΔΟΣ. " + ENGLISH * 50,  # Σ lowers by its place: left to str.lower
    ENGLISH * 50 + "İstanbul",  # İ lowers to two characters
    "Москва — столица России. " * 400,  # another script
    ENGLISH * 20 + "".join(chr(c) for c in range(0xC0, 0xDF)),  # more capitals than are replaced one by one
    ENGLISH * 30 + "\udc80 lone surrogate \ud800",
    ENGLISH * 30 + "Ǆ ǅ ǆ Ⅰ Ⓐ Ａ ẞ 𐐀 🎉",
    "",
    "ASCII ONLY",
])
def test_lower_is_str_lower(text):
    assert classify._lower(text) == text.lower()


def test_lower_is_str_lower_for_every_character_that_changes_and_a_sample_of_the_rest():
    changing = [c for c in map(chr, range(0x110000)) if c.lower() != c]
    assert len(changing) > 1_000
    sample = changing + [chr(c) for c in range(0x80, 0x110000, 331)]
    pad = ENGLISH * 12
    for char in sample:
        for text in (pad + char + pad, pad + char + " " + char + "x" + pad, char + pad, pad + char):
            assert classify._lower(text) == text.lower(), hex(ord(char))


def test_lower_is_str_lower_on_random_mixtures():
    rnd = random.Random(5)
    pool = "aZ <>/é É ü Ü “”’—©·ß ẞ Σ σ ς İ ı Д д 日本 🎉 \u00a0\u0307"
    for _ in range(2_000):
        ascii_part = "".join(rnd.choice("abcXYZ <p>.,'\n") for _ in range(rnd.randint(0, 3_000)))
        chars = list(ascii_part)
        for _ in range(rnd.choice((0, 1, 3, 10, 100, 1_000))):
            chars.insert(rnd.randint(0, len(chars)), rnd.choice(pool))
        text = "".join(chars)
        assert classify._lower(text) == text.lower(), text[:80]


@pytest.mark.parametrize("pattern, needed", [
    (r"sucuri_cloudproxy_js|sucuri_cloudproxy_uuid", ("sucuri_cloudproxy_",)),
    (r"this\s+domain\s+is\s+for\s+sale|parked\s+free,?\s+courtesy\s+of", ("courtesy", "domain")),
    (r"(?i:abc)de", ("de",)),  # letters read case-blind are not needed as written
    (r"(?i)hello", ()),
    (r"(?:foo)?bar", ("bar",)),
    (r"(?:abc|)d", ("d",)),  # an empty alternative needs nothing
    (r"x*", ()),
    (r"\d+", ()),
    (r"a\bbc", ("bc",)),
    (r"(?:ab){2,}z", ("ab",)),
    (r"a|b|c|d|e|f|g", ()),  # too many to test one by one
])
def test_required_substrings(pattern, needed):
    assert classify.required_substrings(re.compile(pattern)) == needed


def test_every_body_pattern_match_holds_one_of_its_required_substrings(cases):
    """What ``required_substrings`` says a match needs is in every corpus page a row's regex matches."""
    patterns = [(sig.name, sig.body, classify.required_substrings(sig.body))
                for sig in SIGNATURES if sig.body is not None and not sig.near]
    assert all(needed for _name, _body, needed in patterns)
    matched = 0
    for text in {obs.text for obs in cases}:
        lowered = text[:HEAD_CHARS].lower()
        for name, body, needed in patterns:
            if body.search(lowered):
                matched += 1
                assert any(part in lowered for part in needed), (name, needed, text[:200])
    assert matched > 500


def test_without_re_private_parser_the_pre_tests_are_skipped_and_verdicts_hold(monkeypatch):
    """re._parser is private: a Python that moved it costs the pre-tests, never a verdict or an import."""
    monkeypatch.setattr(classify, "_re_parser", None)
    assert classify.required_substrings(re.compile(r"sucuri_cloudproxy_js|sucuri_cloudproxy_uuid")) == ()
    monkeypatch.setattr(classify, "_PLANS", {})  # row plans are rebuilt without pre-tests
    wall = classify.Observation(url="https://a.example/p", final_url="https://a.example/p", status=200,
                                headers={}, text="<html><body><script>sucuri_cloudproxy_js='x'</script></body></html>")
    assert classify.judge(wall).verdict == "blocked"
    page = classify.Observation(url="https://a.example/p", final_url="https://a.example/p", status=200, headers={},
                                text="<html><head><title>A report</title></head><body><p>Findings.</p></body></html>")
    assert classify.judge(page).verdict == "ok"


def _element_soup(rng: random.Random) -> str:
    """Lower-cased markup soup: elements closed, unclosed, nested, comments open and shut.

    No '<' inside a tag: there the two differ on purpose (an opening tag ends at the first '<').
    """
    pieces = ["<a href='x'>", "</a>", "<q>", "</q >", "<script>", "</script>", "<!--", "-->", "<nav>", "</nav>",
              "<pre>", "</pre>", "<head>", "</head>", "<abbr>", "</abbr>", "<p>", "</p>", "text ", "more words ",
              ">", "<a >", "</a >", "<code class=c>", "</code>", "<blockquote>", "</blockquote>", "<!-->", "\n"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))


@pytest.mark.parametrize("old, new", [(_HIDDEN, classify._HIDDEN), (_NOT_PROSE, classify._NOT_PROSE)],
                         ids=["hidden", "not-prose"])
def test_linear_element_stripping_matches_the_old_regex(old, new):
    rng = random.Random(20261130)
    for _ in range(4000):
        text = _element_soup(rng)
        assert new.strip(text) == old.sub(" ", text), text


@pytest.mark.timeout(10)
def test_unclosed_elements_and_comments_cost_linear_time():
    """Old: each unclosed <a>, <q>, <script> or <!-- scanned to the end of the page (seconds per 64 KB page)."""
    # The paragraph has 10 words; the openings add none of their own, but for "<a>w " (an unclosed link is not
    # a link: its 13,107 "w"s are prose, as they were under the old regex). A not-found title over little prose
    # is a soft 404; over 13,117 words of prose it is an article that happens to have that title.
    for opening, words, verdict in (("<!--", 10, "soft404"), ("<q>", 10, "soft404"),
                                    ("<a>w ", 10 + 65_536 // 5, "ok"), ("<script>", 10, "soft404")):
        page = "<html><head><title>Page not found</title></head><body><p>the page you are looking for could not be found. "
        page += opening * (65_536 // len(opening))
        obs = classify.Observation(url="https://a.example/x/y", final_url="https://a.example/x/y", status=200,
                                   headers={}, text=page)
        assert classify.judge(obs).verdict == verdict, opening
        assert classify.prose_words(page.lower()) == words, opening
