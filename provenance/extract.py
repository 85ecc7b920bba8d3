"""Claims from articles: every cited link with its anchor and whole sentence,
and every unlinked attribution.

Markdown is rendered to HTML first (markdown-it-py, raw HTML passing
through) so Markdown and HTML share one extractor; plain text has its own
reader for bare URLs and site chrome. The HTML extractor walks the
selectolax tree once, turning it into *blocks* (paragraphs, list items,
headings; sentences never cross them) that carry their links as character
spans, then splits each block into sentences and gives every link the
sentence its span falls in. Which links are not claims is decided by named
rules (:data:`SHARE_LINKS`, :data:`BLOCK_CHROME`, :data:`SELF_REFERENCE`,
and :mod:`provenance.content` for page chrome), so a trace can say which
rule dropped a link.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import attribution, content, maintext
from .ingest import Document, read_document
from .models import Article, Claim
from .sentences import sentence_spans, split_sentences  # noqa: F401  (re-exported)
from .urls import InvalidURL, normalize_url

# ---------------------------------------------------------------- limits

#: Element nesting beyond this is flattened before parsing (see maintext.guard_depth).
MAX_HTML_DEPTH = maintext.MAX_HTML_DEPTH
#: Nodes the block walk visits per document, at most; the rest is ignored
#: (a 20 MB page of dense markup still finishes in seconds).
MAX_WALK_NODES = 300_000
#: Characters of one block (paragraph) that are read; real paragraphs are far shorter.
MAX_BLOCK_CHARS = 50_000
#: Claims per article, at most: no article cites more; past it the input is junk.
MAX_CLAIMS = 5000
#: A sentence longer than this (a block with no punctuation) is cut to a window around its link.
MAX_SENTENCE_CHARS = 1500
#: Markdown beyond this size is read as plain text (no real post is this long).
MAX_MARKDOWN_CHARS = 4_000_000
#: JSON-LD blocks larger than this are not parsed for metadata.
MAX_JSONLD_CHARS = 200_000
#: Plain text: lines looked at, from the top, for the headline.
HEADLINE_SCAN_LINES = 6
#: Plain text: a headline has at most this many characters / at least this many words.
MAX_HEADLINE_CHARS = 200
MIN_HEADLINE_WORDS = 3

# ---------------------------------------------------------------- tag classes

#: Subtrees that never hold article text.
SKIP_TAGS: frozenset[str] = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas", "video", "audio",
    "head", "title", "meta", "link", "map", "source", "track", "param", "base",
    "pre", "xmp", "listing", "plaintext",  # code blocks: URLs there are examples, not citations
})
#: Inline code: its text stays in the sentence, but links and URLs inside are not claims.
CODE_TAGS: frozenset[str] = frozenset({"code", "kbd", "samp", "tt", "var"})
#: Tags that do not break a block; every other element starts and ends one.
INLINE_TAGS: frozenset[str] = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i", "img",
    "ins", "kbd", "mark", "nobr", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub",
    "sup", "time", "tt", "u", "var", "wbr", "output", "meter", "progress", "picture",
})
_LIST_TAGS = frozenset({"ul", "ol", "menu", "dl"})
#: Inline tags the block builder does nothing with (every inline tag but links and code).
_PLAIN_INLINE = INLINE_TAGS - CODE_TAGS - {"a"}
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# ---------------------------------------------------------------- rule tables

#: (name, regex on the resolved URL): share and follow buttons, even inside the article.
SHARE_LINKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("share:twitter", re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/(?:intent/|share\b|home\?status)", re.I)),
    ("share:facebook", re.compile(r"^https?://(?:www\.|m\.)?facebook\.com/(?:sharer|share\.php|dialog/(?:share|feed))", re.I)),
    ("share:linkedin", re.compile(r"^https?://(?:www\.)?linkedin\.com/(?:shareArticle|sharing/share-offsite|cws/share)", re.I)),
    ("share:reddit", re.compile(r"^https?://(?:www\.)?reddit\.com/submit", re.I)),
    ("share:pinterest", re.compile(r"^https?://(?:www\.)?pinterest\.[a-z.]+/pin/create", re.I)),
    ("share:whatsapp", re.compile(r"^https?://(?:api\.|web\.)?whatsapp\.com/send|^https?://wa\.me/", re.I)),
    ("share:telegram", re.compile(r"^https?://t\.me/share|^https?://telegram\.me/share", re.I)),
    ("share:email", re.compile(r"^https?://[^/]+/(?:[^?]*/)?(?:email|share)[-_]?(?:this|article|story)?/?\?", re.I)),
    ("share:hackernews", re.compile(r"^https?://news\.ycombinator\.com/submitlink", re.I)),
    ("share:tumblr", re.compile(r"^https?://(?:www\.)?tumblr\.com/(?:share|widgets/share)", re.I)),
    ("share:pocket", re.compile(r"^https?://(?:getpocket\.com/(?:save|edit)|widgets\.getpocket\.com)", re.I)),
    ("share:flipboard", re.compile(r"^https?://share\.flipboard\.com/", re.I)),
    ("share:bluesky", re.compile(r"^https?://bsky\.app/intent/", re.I)),
    ("share:addtoany", re.compile(r"^https?://(?:www\.)?(?:addtoany|sharethis|addthis)\.com/", re.I)),
)
#: Links to images are pictures, not sources ("enlarge photo").
IMAGE_LINK = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|bmp|tiff?|avif|heic)$", re.I)
#: rel values that mark navigation, not citation.
CHROME_RELS: frozenset[str] = frozenset({"tag", "author", "category", "prev", "next", "bookmark", "license", "search", "home"})

#: (name, regex on a block's text): blocks that are chrome even inside the article.
BLOCK_CHROME: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("read-more", re.compile(r"^(?:read more|read next|more reading|also read|read also|recommended|related|see also|"
                             r"more from|more on this|you (?:may|might) also like|don['’]t miss|trending|most read|"
                             r"more stories|more coverage|further reading on our site)\b\s*[:|»>\-–—]?", re.I)),
    ("subscribe", re.compile(r"^(?:sign up|subscribe|get (?:our|the) newsletter|join our|become a member|support our|"
                             r"donate|log ?in|sign ?in|create (?:a free )?account|register)\b", re.I)),
    ("share", re.compile(r"^(?:share (?:this|on|via)|share$|follow us|follow (?:@|on)|tweet this|email this|print this)", re.I)),
    ("advertisement", re.compile(r"^(?:advertisement|sponsored|paid content|ad)\s*$", re.I)),
    ("credit", re.compile(r"^(?:photo|image|illustration|video)(?: by| credit|:)", re.I)),
    ("tags", re.compile(r"^(?:filed under|tagged(?: with)?|tags|topics|categories|posted in|more about)\s*:", re.I)),
    ("print-edition", re.compile(r"^a version of this (?:article|story|report) (?:appears|appeared) in print\b", re.I)),
    ("author-bio", re.compile(r"^[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3} (?:covers|writes about|reports on|is an? "
                              r"(?:(?:senior|staff|contributing|freelance|investigative|political|national|city|science|"
                              r"technology|tech|health|business|data) )*(?:reporter|correspondent|writer|editor|journalist|"
                              r"columnist)\b)")),
)
#: A "read more"-style phrase used as a label: followed by a separator, or the whole block.
_READ_MORE_LABEL = re.compile(BLOCK_CHROME[0][1].pattern.replace(r"\b\s*[:|»>\-–—]?", r"(?:\s*[:|»>\-–—]|\s*$)"), re.I)
#: Block text that says the article lives elsewhere: its link is the canonical URL.
SELF_REFERENCE = re.compile(r"this is a linkpost for|originally (?:published|appeared|posted) (?:at|on|in|by)|"
                            r"cross-?posted (?:from|to)|this (?:post|article|piece|story) (?:first )?appeared (?:at|on|in)|"
                            r"canonical (?:url|link|version)", re.I)
#: A block whose link text is at least this share of its text is a link list item.
LINK_LIST_DENSITY = 0.8
#: A list is a link list (related stories, tag cloud) when this share of its items are.
LINK_LIST_SHARE = 0.75
#: ... and it has at least this many items.
LINK_LIST_MIN_ITEMS = 3

#: A URL written out in text ends at a space, at markup, or at punctuation no URL holds unescaped: an ellipsis,
#: a dash, CJK full stops and commas, full-width brackets, corner and curly quotes, guillemets, zero-width marks.
_URL_STOPS = "\u2026\u2013\u2014\u3001\u3002\uff0c\uff08\uff09\u300c\u300d\u300e\u300f\u3010\u3011\u201c\u201d\u2018\u2019\u00ab\u00bb\u200b\u200c\u200d\u2060\ufeff"
_BARE_URL = re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"'`{}|\\^" + _URL_STOPS + "]+", re.I)
_TRAILING = ".,;:!?'\"”’»)]}*_"


# ---------------------------------------------------------------- data


@dataclass
class LinkSpan:
    start: int
    end: int
    href: str
    rel: str = ""
    in_code: bool = False


@dataclass
class Block:
    """A run of text that sentences never cross, with its links as spans."""

    text: str
    tag: str
    links: list[LinkSpan] = field(default_factory=list)
    code: list[tuple[int, int]] = field(default_factory=list)
    #: Id of the innermost list (<ul>/<ol>) the block is an item of.
    list_id: int | None = None
    #: mem_ids of the block-level elements from <body> down to this block (for main-content scoring).
    path: tuple[int, ...] = ()
    #: The chrome rule of the innermost chrome element around the block (when chrome is marked, not skipped).
    chrome: str | None = None
    #: mem_id of that chrome element: a short block's context never reaches past it.
    chrome_id: int | None = None
    #: Links past the block's first MAX_BLOCK_CHARS characters, left out: noted and traced, never silent.
    cut_links: tuple[str, ...] = ()


@dataclass
class Rejected:
    """A link or block that is not a claim, and the rule that said so (for tests and --debug)."""

    rule: str
    url: str | None
    text: str


# ---------------------------------------------------------------- entry points


def extract_file(path: Path) -> Article:
    """Read and extract one article file (raises ingest.InputError on bad input)."""
    return extract_document(read_document(path))


def extract_document(doc: Document, trace: list[Rejected] | None = None) -> Article:
    """Claims and metadata of one document; ``trace`` collects what was rejected and why."""
    article = Article(path=doc.path, format=doc.format, content_hash=doc.content_hash)
    _apply_front_matter(article, doc.front_matter)
    if doc.format == "markdown" and len(doc.text) > MAX_MARKDOWN_CHARS:
        article.format = "text"
    main: maintext.MainText | None = None
    if article.format == "text":
        blocks = _text_blocks(doc.text, article, trace)
        base = doc.base_url or article.canonical_url
    else:
        if article.format == "markdown":
            html = _render_markdown(doc.text)
            page_mode = False
        else:
            html = doc.text
            page_mode = bool(re.search(r"<body[\s>]|<html[\s>]", html[:100_000], re.I))
        html = _guard_depth(html)
        tree = LexborHTMLParser(html)
        meta = _html_metadata(tree)
        _merge_metadata(article, meta)
        base = _base_url(tree, doc.base_url or article.canonical_url)
        main = maintext.reduce_page(html, doc.base_url or article.canonical_url, depth_guarded=True) if page_mode else None
        blocks = _html_blocks(tree, page_mode, trace, main, base)
        footnotes = _footnotes(tree)
        if not article.title and meta.get("h1"):
            article.title = meta["h1"]
    article.text = main.text if main is not None and main.text else "\n".join(block.text for block in blocks)
    article.claims = _claims(blocks, article, base, trace, footnotes if article.format != "text" else {})
    _note_blocks_cut(article, blocks, trace)
    return article


def _note_blocks_cut(article: Article, blocks: list[Block], trace: list[Rejected] | None) -> None:
    """Links past a block's MAX_BLOCK_CHARS are left out (no sentence of a 50,000-character block is read):
    say so in a note and in the trace, as the claim cap does, instead of losing them without a word."""
    cut = [href for block in blocks for href in block.cut_links]
    if not cut:
        return
    article.notes.append(f"{article.path}: {len(cut):,} links past the first {MAX_BLOCK_CHARS:,} characters of a "
                         f"paragraph or block left out (MAX_BLOCK_CHARS)")
    if trace is not None:
        trace.extend(Rejected("block-truncated", href, "") for href in cut)


# ---------------------------------------------------------------- metadata


def _iso_date(value: object) -> str | None:
    """YYYY-MM-DD from a date, datetime or common date string, else None."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = re.search(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    months = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
    match = re.search(r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", text)
    if match and match.group(1).lower() in months:
        return f"{int(match.group(3)):04d}-{months[match.group(1).lower()]:02d}-{int(match.group(2)):02d}"
    match = re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})", text)
    if match and match.group(2).lower() in months:
        return f"{int(match.group(3)):04d}-{months[match.group(2).lower()]:02d}-{int(match.group(1)):02d}"
    return None


def _absolute(url: object) -> str | None:
    if not isinstance(url, str) or not re.match(r"https?://", url.strip(), re.I):
        return None
    try:
        return normalize_url(url.strip())[0]
    except InvalidURL:
        return None


def _names(value: object) -> list[str]:
    """Author names from a string, list, or dicts with a ``name`` (front matter, JSON-LD)."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name") or item.get("title")
        if isinstance(item, str):
            for part in re.split(r"\s*(?:,|;|\band\b|&)\s*", item) if not item.startswith("http") else []:
                part = re.sub(r"^by\s+", "", part.strip(), flags=re.I)
                if part and part not in names and len(part) <= 100:
                    names.append(part)
    return names


def _apply_front_matter(article: Article, meta: dict) -> None:
    if not meta:
        return
    title = meta.get("title")
    if isinstance(title, (str, int, float)) and str(title).strip():
        article.title = " ".join(str(title).split())
    for key in ("date", "published", "publishDate", "publish_date", "pubDate", "datePublished"):
        date = _iso_date(meta.get(key))
        if date:
            article.published = date
            break
    for key in ("authors", "author", "byline"):
        names = _names(meta.get(key))
        if names:
            article.authors = names
            break
    for key in ("canonical_url", "canonical", "canonicalURL", "canonicalUrl", "original_url", "linkpost", "url", "link", "permalink"):
        url = _absolute(meta.get(key))
        if url:
            article.canonical_url = url
            break


def _meta_table(tree: LexborHTMLParser) -> dict[str, str]:
    """``<meta>`` contents by lower-cased property / name / itemprop (first one wins); one pass over the page."""
    table: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        value = (attrs.get("content") or "").strip()
        if not value:
            continue
        for attr in ("property", "name", "itemprop"):
            key = (attrs.get(attr) or "").strip().lower()
            if key and key not in table:
                table[key] = value
    return table


def _meta(table: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = table.get(name.lower())
        if value:
            return value
    return None


def _jsonld_articles(tree: LexborHTMLParser) -> list[dict]:
    found: list[dict] = []
    for node in tree.css('script[type="application/ld+json"]'):
        raw = node.text() or ""
        if len(raw) > MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack and len(found) < 10:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item[:50])
            elif isinstance(item, dict):
                kind = item.get("@type")
                kinds = kind if isinstance(kind, list) else [kind]
                if any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report", "WebPage")) for k in kinds):
                    found.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"][:50])
    return found


def _html_metadata(tree: LexborHTMLParser) -> dict:
    """title, published, authors, canonical from <meta>, <link rel=canonical>, JSON-LD, <title>, <h1>."""
    meta: dict = {}
    metas = _meta_table(tree)
    ld = _jsonld_articles(tree)
    title = _meta(metas, "og:title", "twitter:title", "headline", "dc.title", "DC.title")
    if not title:
        title = next((str(a["headline"]) for a in ld if isinstance(a.get("headline"), str)), None)
    if not title:
        node = tree.css_first("title")
        if node is not None and (node.text() or "").strip():
            title = (node.text() or "").strip()
            site = _meta(metas, "og:site_name")
            for sep in (" | ", " - ", " – ", " — ", " :: "):
                if sep in title and (not site or site.lower() in title.lower().rsplit(sep, 1)[-1].lower() or len(title.rsplit(sep, 1)[-1]) < 30):
                    title = title.rsplit(sep, 1)[0]
                    break
    if title:
        meta["title"] = " ".join(title.split())[:500]
    h1 = tree.css_first("h1")
    if h1 is not None and (h1.text() or "").strip():
        meta["h1"] = " ".join((h1.text() or "").split())[:500]
    date = _meta(metas, "article:published_time", "datePublished", "date", "pubdate", "publishdate", "publish-date",
                 "DC.date.issued", "dc.date", "DC.date", "sailthru.date", "parsely-pub-date", "og:published_time")
    date = _iso_date(date) or next((_iso_date(a.get("datePublished")) for a in ld if _iso_date(a.get("datePublished"))), None)
    if not date:
        node = tree.css_first("time[datetime]")
        date = _iso_date(node.attributes.get("datetime")) if node is not None else None
    if date:
        meta["published"] = date
    authors = _names(_meta(metas, "author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "DC.creator"))
    if not authors:
        for item in ld:
            authors = _names(item.get("author"))
            if authors:
                break
    if not authors:
        for node in tree.css('[rel="author"], [itemprop="author"], .byline .author, .author .fn, .byline a')[:10]:
            for name in _names(" ".join((node.text() or "").split())):
                if name not in authors and len(name.split()) <= 6:
                    authors.append(name)
    if authors:
        meta["authors"] = authors
    canonical = None
    node = tree.css_first('link[rel="canonical"]')
    if node is not None:
        canonical = _absolute(node.attributes.get("href"))
    canonical = canonical or _absolute(_meta(metas, "og:url"))
    if canonical:
        meta["canonical_url"] = canonical
    return meta


def _merge_metadata(article: Article, meta: dict) -> None:
    """Front matter wins; the page's own metadata fills the gaps."""
    article.title = article.title or meta.get("title")
    article.published = article.published or meta.get("published")
    article.authors = article.authors or meta.get("authors", [])
    article.canonical_url = article.canonical_url or meta.get("canonical_url")


def _base_url(tree: LexborHTMLParser, canonical: str | None) -> str | None:
    node = tree.css_first("base[href]")
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    if href:
        try:
            return normalize_url(href, canonical)[0] if not re.match(r"https?://", href, re.I) else normalize_url(href)[0]
        except InvalidURL:
            pass
    return canonical


# ---------------------------------------------------------------- HTML


_FOOTNOTE_DEF = re.compile(r"(?m)^\[\^([^\]\s]{1,50})\]:[ \t]*(.*(?:\n(?:[ ]{2,}|\t)\S.*)*)")
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]{1,50})\](?!:)")
#: Element ids of footnotes and endnotes ("fn1", "fn:2", "footnote-3", "cite_note-4", "en5", "note-6").
FOOTNOTE_ID = re.compile(r"^(?:(?:fn|footnote|endnote|note|cite_note|ftn|ref-note)(?:[-_:.]?[\w.-]{0,40})?|en\d{1,4})$", re.I)


def _render_markdown(text: str) -> str:
    """CommonMark + tables, raw HTML kept; ``[^1]`` footnotes become HTML footnotes (no plugin needed)."""
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    notes: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        notes.setdefault(match.group(1), " ".join(match.group(2).split()))
        return ""

    body = _FOOTNOTE_DEF.sub(take, text)
    if not notes:
        return md.render(text)
    body = _FOOTNOTE_REF.sub(lambda m: f'<sup><a href="#fn-{m.group(1)}">[{m.group(1)}]</a></sup>'
                             if m.group(1) in notes else m.group(0), body)
    items = "".join(f'<li id="fn-{key}">{md.renderInline(value)}</li>' for key, value in notes.items())
    return md.render(body) + f'<ol class="footnotes-list">{items}</ol>\n'


@dataclass
class Footnote:
    """An in-page note a citation marker points to, and the sources it names."""

    mem_id: int
    hrefs: list[str]


_NOTE_CLASS = re.compile(r"(?:^|[\s_-])(?:foot)?notes?(?:$|[\s_-])|footnote", re.I)


def _is_note_container(node: LexborNode | None) -> bool:
    """An element that is itself a note (<li> of a notes list, <div class="footnote">), not a paragraph citing one."""
    if node is None or node.tag in ("body", "html", "p"):
        return False
    attrs = node.attributes
    return node.tag == "li" or bool(_NOTE_CLASS.search(f"{attrs.get('class') or ''} {attrs.get('id') or ''}"))


def _footnotes(tree: LexborHTMLParser) -> dict[str, Footnote]:
    """Footnote elements by id, with their links (and written-out URLs), for markers like ``<a href="#fn1">``."""
    notes: dict[str, Footnote] = {}
    for node in tree.css("[id]")[:20_000]:
        note_id = node.attributes.get("id") or ""
        if not FOOTNOTE_ID.match(note_id) or note_id in notes:
            continue
        if node.tag in INLINE_TAGS and _is_note_container(node.parent):
            # Substack and others put the id on the note's number (<a id="footnote-1">), inside the note.
            node = node.parent
        hrefs = [a.attributes.get("href") or "" for a in node.css("a[href]")]
        hrefs = [h for h in hrefs if h and not h.startswith("#")]
        text = node.text() or ""
        hrefs += [url for _s, _e, url in _bare_urls(text[:MAX_BLOCK_CHARS], []) if url not in hrefs]
        if hrefs:
            notes[note_id] = Footnote(node.mem_id, hrefs[:10])
    _structural_footnotes(tree, notes)
    return notes


#: A heading that opens a list of notes ("References", "Notes", "Footnotes", "Sources", "Endnotes").
_NOTES_HEADING = re.compile(r"^\s*(?:\d+\.?\s*)?(?:references?|notes?|foot ?notes?|end ?notes?|sources?|citations?|"
                            r"bibliography|works cited|literature|quellen|anmerkungen|einzelnachweise|notas|références)\s*:?\s*$",
                            re.I)
_BLOCKISH = frozenset({"li", "p", "div", "dd", "td", "section", "aside", "footer"})
#: Marker links looked at per page (a page of thousands of in-page links is a wiki, and its ids are found above).
MAX_MARKERS = 2_000
#: A marker's text is a number or sign ("[12]", "iv", "†"); a note found by structure is at most this long.
MAX_MARKER_CHARS = 8
MAX_NOTE_CHARS = 3_000


def _note_block(node: LexborNode) -> LexborNode | None:
    """The element holding a note whose target is ``node`` (the <li> or <p> around an <a name=...>)."""
    for _ in range(6):
        if node is None or node.tag in ("body", "html"):
            return None
        if node.tag in _BLOCKISH:
            return node
        if node.tag not in INLINE_TAGS:  # a heading, a table: a section anchor, not a note
            return None
        node = node.parent
    return None


def _under_notes_heading(note: LexborNode) -> bool:
    """A list item whose list follows a "References"/"Notes" heading, or any element in a Word footnote list."""
    node: LexborNode | None = note
    for _ in range(6):
        if node is None or node.tag in ("body", "html"):
            return False
        style = (node.attributes.get("style") or "").replace(" ", "").lower()
        if "mso-element:footnote" in style or "mso-element:endnote" in style:
            return True
        if node.tag in ("ol", "ul", "dl") and note.tag in ("li", "dd"):
            prev = node.prev
            for _ in range(6):  # skip whitespace and comments to the previous element
                if prev is None or (prev.tag and prev.tag[0] not in "-!#"):
                    break
                prev = prev.prev
            return prev is not None and prev.tag in ("h2", "h3", "h4", "h5", "h6") and bool(_NOTES_HEADING.match(prev.text() or ""))
        node = node.parent
    return False


def _structural_footnotes(tree: LexborHTMLParser, notes: dict[str, Footnote]) -> None:
    """Notes found by the link structure, whatever their ids are spelled ("n1", Word's ``<a name="_ftn1">``).

    An in-page marker ``<a href="#X">`` cites a note when its target X (an element with id X, or an
    ``<a name="X">``) sits in a list under a "References"/"Notes" heading or in a Word footnote list,
    or links back to the marker (or to the <sup> around it), or is an item of a list holding such a note. Tables of contents and "back to top"
    links meet neither test, so they stay in-page fragments.
    """
    markers = tree.css('a[href^="#"]')[:MAX_MARKERS]
    if not markers:
        return
    targets: dict[str, LexborNode] = {}
    for node in tree.css("[id]")[:20_000]:
        targets.setdefault(node.attributes.get("id") or "", node)
    for node in tree.css("a[name]")[:20_000]:
        targets.setdefault(node.attributes.get("name") or "", node)
    found = {note.mem_id for note in notes.values()}
    lists: set[int] = set()
    for marker in markers:  # document order: a note's own backlink comes after its marker, and is skipped
        key = (marker.attributes.get("href") or "").strip()[1:]
        if not key or key in notes or key not in targets or _inside_any(marker, found):
            continue
        if len((marker.text() or "").strip()) > MAX_MARKER_CHARS:  # "Skip to content" is a link, not a marker
            continue
        note = _note_block(targets[key])
        if note is None or _contains(note, marker):
            continue
        backs = {f"#{(marker.attributes.get(a) or '')}" for a in ("id", "name")}
        parent = marker.parent
        if parent is not None and parent.tag in INLINE_TAGS:
            backs.add(f"#{parent.attributes.get('id') or ''}")
        backs.discard("#")
        links_back = any((a.attributes.get("href") or "").strip() in backs for a in note.css('a[href^="#"]'))
        in_note_list = note.tag == "li" and note.parent is not None and note.parent.mem_id in lists
        if not (links_back or in_note_list or _under_notes_heading(note)):
            continue
        text = note.text() or ""
        if len(text) > MAX_NOTE_CHARS:  # a whole region (the article a skip link points at), not a note
            continue
        hrefs = [a.attributes.get("href") or "" for a in note.css("a[href]")]
        hrefs = [h for h in hrefs if h and not h.startswith("#")]
        hrefs += [url for _s, _e, url in _bare_urls(text, []) if url not in hrefs]
        if hrefs:
            notes[key] = Footnote(note.mem_id, hrefs[:10])
            found.add(note.mem_id)
            if note.tag == "li" and note.parent is not None:
                lists.add(note.parent.mem_id)  # its sibling items are notes too (one without a backlink)


def _inside_any(node: LexborNode | None, ids: set[int]) -> bool:
    """Whether ``node`` is inside one of the elements whose mem_ids are ``ids``."""
    for _ in range(200):
        if node is None:
            return False
        if node.mem_id in ids:
            return True
        node = node.parent
    return False


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    """Whether ``inner`` is ``outer`` or inside it (a note never cites itself)."""
    node: LexborNode | None = inner
    for _ in range(200):
        if node is None:
            return False
        if node.mem_id == outer.mem_id:
            return True
        node = node.parent
    return False


_guard_depth = maintext.guard_depth


class _BlockBuilder:
    """Collects text into blocks while the walk enters and leaves elements."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.length = 0
        self.space = True  # the buffer ends in whitespace (or is empty)
        self.links: list[LinkSpan] = []
        self.open_links: list[LinkSpan] = []
        self.code: list[tuple[int, int]] = []
        self.code_starts: list[int] = []
        self.tag = "p"
        self.lists: list[int] = []
        self.list_counter = 0
        self.path: list[int] = []
        #: Block-level elements seen, by mem_id (main-content scoring reads their tags and classes).
        self.nodes: dict[int, LexborNode] = {}
        #: (mem_id, rule) of the chrome elements the walk is inside, innermost last (marking mode).
        self.chrome: list[tuple[int, str]] = []
        #: ids of open links already reported as wrapping blocks (so each is reported once).
        self.spent: set[int] = set()
        #: ids of open links a block boundary fell inside.
        self.crossed: set[int] = set()
        #: (href, first text) of links that wrap block elements (a "card" <a><div><h3>…, a breadcrumb
        #: <a><h4>, a teaser paragraph): on the 121 real pages these are navigation and teasers, not
        #: citations, so they are not claims, but the walk's trace says so ("block-link") instead of
        #: the link vanishing.
        self.wrapped: list[tuple[str, str]] = []

    def text(self, raw: str) -> None:
        if not raw:
            return
        collapsed = " ".join(raw.split())
        if not collapsed:
            if not self.space:
                self._append(" ")
            return
        if raw[0].isspace() and not self.space:
            self._append(" ")
        self._append(collapsed)
        if raw[-1].isspace():
            self._append(" ")

    def _append(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)
        self.space = piece.endswith(" ")

    def enter(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "a":
            href = node.attributes.get("href")
            if href is not None:
                self.open_links.append(LinkSpan(self.length, self.length, href, (node.attributes.get("rel") or "").lower(),
                                                bool(self.code_starts)))
            return
        if tag in CODE_TAGS:
            self.code_starts.append(self.length)
            return
        if tag in INLINE_TAGS:
            return
        self.flush()
        if tag in _LIST_TAGS:
            self.list_counter += 1
            self.lists.append(self.list_counter)
        self.tag = tag
        self.path.append(node.mem_id)
        self.nodes[node.mem_id] = node

    def exit(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "a":
            if self.open_links and node.attributes.get("href") is not None:
                span = self.open_links.pop()
                span.end = self.length
                if id(span) in self.crossed:  # it wrapped a block boundary: traced, not a claim
                    self.crossed.discard(id(span))
                    if id(span) not in self.spent and "".join(self.parts)[span.start:].strip():
                        self.wrapped.append((span.href, " ".join("".join(self.parts)[span.start:].split())[:200]))
                    self.spent.discard(id(span))
                else:
                    self.links.append(span)
            return
        if tag in CODE_TAGS:
            if self.code_starts:
                self.code.append((self.code_starts.pop(), self.length))
            return
        if tag in INLINE_TAGS:
            return
        self.flush()
        if tag in _LIST_TAGS and self.lists:
            self.lists.pop()
        if self.path:
            self.path.pop()
        self.tag = self.nodes[self.path[-1]].tag if self.path else "p"

    def flush(self) -> None:
        if not self.parts:  # most element boundaries close an empty buffer: nothing to build
            if self.links or self.code or self.code_starts:
                self.links, self.code, self.code_starts = [], [], []
            for span in self.open_links:  # a link opened before a block inside it: it continues there
                span.start = 0
                self.crossed.add(id(span))
            self.length, self.space = 0, True
            return
        text = "".join(self.parts)[:MAX_BLOCK_CHARS]
        for span in self.open_links:
            # A block ends inside a link (<a><h3>Title</h3><p>…</a>): traced with its first text (the heading).
            if id(span) not in self.spent and text[span.start:].strip():
                self.wrapped.append((span.href, " ".join(text[span.start:].split())[:200]))
                self.spent.add(id(span))
            span.start = 0
            self.crossed.add(id(span))
        stripped = text.rstrip()
        lead = len(text) - len(text.lstrip())
        if stripped.strip():
            final = stripped[lead:]
            links = []
            cut: list[str] = []
            for span in self.links:
                start, end = max(span.start - lead, 0), min(span.end - lead, len(final))
                if start >= len(final) and span.end > span.start and not span.in_code:
                    cut.append(span.href)  # past the block's cap: not "no anchor text", left out and said so
                    continue
                links.append(LinkSpan(start, max(start, end), span.href, span.rel, span.in_code))
            code = [(max(s - lead, 0), min(e - lead, len(final))) for s, e in self.code]
            self.blocks.append(Block(final, self.tag, links, code, self.lists[-1] if self.lists else None, tuple(self.path),
                                     self.chrome[-1][1] if self.chrome else None,
                                     self.chrome[-1][0] if self.chrome else None, tuple(cut)))
        self.parts, self.length, self.space = [], 0, True
        self.links, self.code, self.code_starts = [], [], []


def _walk(roots: list[LexborNode], chrome_filter: bool, trace: list[Rejected] | None,
          mark_chrome: bool = False) -> _BlockBuilder:
    """Blocks of the subtrees under ``roots``, skipping code, scripts and (optionally) chrome.

    With ``mark_chrome`` chrome is walked too, and its blocks carry the rule's name.
    """
    builder = _BlockBuilder()
    budget = MAX_WALK_NODES
    chrome_stack = builder.chrome
    for root in roots:
        # Nodes to enter, and 1-tuples (node,) to leave: no tuple per child on the way in.
        stack: list = [root]
        while stack:
            node = stack.pop()
            if type(node) is tuple:
                node = node[0]
                builder.exit(node)
                if chrome_stack and chrome_stack[-1][0] == node.mem_id:
                    builder.flush()
                    chrome_stack.pop()
                continue
            budget -= 1
            if budget < 0:
                break
            tag = node.tag
            if tag == "-text":
                builder.text(node.text_content or "")
                continue
            if not tag or tag[0] in "-!#" or tag in SKIP_TAGS:
                continue
            if chrome_filter and tag not in ("html", "body"):
                rule = content.chrome_rule(node)
                if rule is not None and mark_chrome:
                    builder.flush()
                    chrome_stack.append((node.mem_id, rule))
                elif rule is not None:
                    if trace is not None:
                        for a in node.css("a[href]"):
                            trace.append(Rejected(f"chrome:{rule}", a.attributes.get("href"), " ".join((a.text() or "").split())))
                    builder.text(" ")
                    continue
            if tag == "br":
                if builder.open_links:  # "its annual<br>report": a line break inside a link's text is a space
                    builder.text(" ")
                else:
                    builder.flush()
                continue
            children = list(node.iter(include_text=True))
            children.reverse()
            if tag in _PLAIN_INLINE and not (chrome_stack and chrome_stack[-1][0] == node.mem_id):
                # <span>, <b>, <em>: nothing to do on the way in or out, only their children
                stack.extend(children)
                continue
            builder.enter(node)
            stack.append((node,))
            stack.extend(children)
        if budget < 0:
            break
    builder.flush()
    if trace is not None:
        trace.extend(Rejected("block-link", href, text) for href, text in builder.wrapped)
    return builder


def _html_blocks(tree: LexborHTMLParser, page_mode: bool, trace: list[Rejected] | None,
                 main: maintext.MainText | None = None, base: str | None = None) -> list[Block]:
    """Content blocks: chrome skipped, and on a full page only the main-text region kept."""
    body = tree.body
    if body is None:
        return []
    # A page cut short for the reduction keeps the structural region finder, which reads it all.
    use_main = page_mode and main is not None and main.found and bool(main.text) and not main.truncated
    builder = _walk([body], chrome_filter=True, trace=trace, mark_chrome=use_main)
    blocks = builder.blocks
    if not page_mode:
        return blocks
    if use_main:
        return _drop_link_lists(_in_main_text(blocks, builder.nodes, maintext.MainTextIndex(main.text), trace, base), trace)
    blocks = _drop_headed_chrome(blocks, builder.nodes, trace)
    scored = [content.TextBlock(len(b.text), sum(s.end - s.start for s in b.links), b.text.count(","), b.path)
              for b in blocks]
    region = content.main_region(scored, builder.nodes, body.mem_id)
    if region is not None:
        kept = []
        for block in blocks:
            if region.intersection(block.path):
                kept.append(block)
            elif trace is not None:
                trace.extend(Rejected("outside-main-content", s.href, block.text[s.start:s.end]) for s in block.links)
        blocks = kept
    return _drop_link_lists(blocks, trace)


#: A block is in the article when at least this share of its word shingles are in the main text.
MAIN_COVERAGE = 0.6
#: Chrome kinds (content.CHROME_TOKENS names) that drop a block even when the main text has its words:
#: the reduction keeps inline "related" boxes, comment threads and tag lists more often than menus.
STRONG_CHROME: frozenset[str] = frozenset({"related", "comments", "tags"})
#: Runs of at most this many blocks between two blocks of the story are the story too (product lists,
#: link-dense paragraphs the reduction left out); chrome never joins this way.
SANDWICH_GAP = 4
#: Stories split into containers of one tag and class: once the main text holds this many characters
#: of one such container kind, its siblings' blocks (not chrome) are the story too.
SIBLING_MIN_CHARS = 400
MIN_CONTEXT_WORDS = maintext.MIN_CONTEXT_WORDS


def _site(url: str | None) -> str:
    """The host of a URL without "www." and port, lower-cased ("" when it has none)."""
    host = urlsplit(url or "").hostname or ""
    return host[4:] if host.startswith("www.") else host


def _same_site(href: str, base: str | None) -> bool:
    """Does the link stay on the page's own site (relative links do)?"""
    target = _site(href)
    return not target or (base is not None and target == _site(base))


def _in_main_text(blocks: list[Block], nodes: dict[int, LexborNode], index: maintext.MainTextIndex,
                  trace: list[Rejected] | None, base: str | None = None) -> list[Block]:
    """The blocks of the article region, read off the page's main text (:mod:`provenance.maintext`).

    A block belongs when most of its word shingles are in the main text (a
    short block is judged by its context: one word, "Health", is in any
    article, but the menu around it is not); then containers of the kind
    the story is split into, and short runs between story blocks, join it;
    same-site teaser paragraphs ("Plane passengers quarantined [NEWS]") leave.
    """
    seqs = [maintext.words(block.text) for block in blocks]
    needs_context = any(block.links and len(seq) < MIN_CONTEXT_WORDS for block, seq in zip(blocks, seqs))
    counts = [index.shingle_hits(seq) for seq in seqs]
    contexts = _Contexts(blocks, seqs, counts, index) if needs_context else None
    inside = [_covered(block, seq, count, index, contexts) for block, seq, count in zip(blocks, seqs, counts)]
    _join_split_story(blocks, nodes, inside)
    next_inside = [len(blocks) + SANDWICH_GAP + 1] * len(blocks)
    upcoming = next_inside[0] if blocks else 0
    for i in range(len(blocks) - 1, -1, -1):
        next_inside[i] = upcoming
        if inside[i]:
            upcoming = i
    kept: list[Block] = []
    last_inside = -SANDWICH_GAP - 2
    for i, block in enumerate(blocks):
        if inside[i] and _is_teaser(block, base):
            rule = "teaser"
        elif inside[i]:
            kept.append(block)
            last_inside = i
            continue
        elif next_inside[i] - last_inside - 1 <= SANDWICH_GAP and block.chrome is None:
            kept.append(block)
            continue
        else:
            rule = f"chrome:{block.chrome}" if block.chrome else "outside-main-text"
        if trace is not None:
            trace.extend(Rejected(rule, s.href, block.text[s.start:s.end]) for s in block.links)
    return kept


class _Contexts:
    """Word and shingle counts of every block-level element, from the blocks under it.

    A short block is judged by its nearest element with MIN_CONTEXT_WORDS
    words. The page's words are read once as one stream: each shingle is
    counted at the deepest element holding all of its words (so a menu of
    one-word items still has shingles), then counts are summed up the tree.
    Reading each element's text instead would re-read the page once per
    level of nesting.
    """

    def __init__(self, blocks: list[Block], seqs: list[list[str]], counts: list[tuple[int, int]],
                 index: maintext.MainTextIndex) -> None:
        self.words: dict[int, int] = {}
        self.hits: dict[int, int] = {}
        self.grams: dict[int, int] = {}
        parent: dict[int, int | None] = {}
        depth: dict[int, int] = {}
        flat: list[str] = []
        owner: list[int] = []
        ends: list[int] = []
        for number, (block, seq, (hits, grams)) in enumerate(zip(blocks, seqs, counts)):
            for level, mem_id in enumerate(block.path):
                if mem_id not in depth:
                    depth[mem_id] = level
                    parent[mem_id] = block.path[level - 1] if level else None
            if block.path and seq:
                leaf = block.path[-1]
                self.words[leaf] = self.words.get(leaf, 0) + len(seq)
                self.grams[leaf] = self.grams.get(leaf, 0) + grams
                self.hits[leaf] = self.hits.get(leaf, 0) + hits
            flat.extend(seq)
            owner.extend([number] * len(seq))
            ends.append(len(flat))
        # Shingles inside one block are counted above; here only those that run into the next blocks.
        width = maintext.SHINGLE_WORDS
        shingles = index.shingles
        begin = 0
        for number, end in enumerate(ends):
            for start in range(max(begin, end - width + 1), min(end, len(flat) - width + 1)):
                holder = _deepest_common(blocks[number].path, blocks[owner[start + width - 1]].path)
                if holder is not None:
                    self.grams[holder] = self.grams.get(holder, 0) + 1
                    if tuple(flat[start:start + width]) in shingles:
                        self.hits[holder] = self.hits.get(holder, 0) + 1
            begin = end
        for mem_id in sorted(depth, key=depth.__getitem__, reverse=True):
            up = parent[mem_id]
            if up is not None:
                for table in (self.words, self.hits, self.grams):
                    if mem_id in table:
                        table[up] = table.get(up, 0) + table[mem_id]

    def coverage(self, mem_id: int) -> float | None:
        """The element's share of shingles in the main text; None when it has too few words to tell."""
        if self.words.get(mem_id, 0) < MIN_CONTEXT_WORDS or not self.grams.get(mem_id):
            return None
        return self.hits.get(mem_id, 0) / self.grams[mem_id]


def _deepest_common(a: tuple[int, ...], b: tuple[int, ...]) -> int | None:
    """The deepest element on both paths (None when they share none)."""
    found = None
    for x, y in zip(a, b):
        if x != y:
            break
        found = x
    return found


def _covered(block: Block, seq: list[str], count: tuple[int, int], index: maintext.MainTextIndex,
             contexts: "_Contexts | None") -> bool:
    """Is the block (or, when short, its nearest context of MIN_CONTEXT_WORDS words) in the main text?"""
    if block.chrome is not None and block.chrome in STRONG_CHROME:
        return False
    if len(seq) >= MIN_CONTEXT_WORDS:
        hits, grams = count
        return hits >= MAIN_COVERAGE * grams
    if not block.links or contexts is None:
        return False  # a short block without links changes no claim: skip the context walk
    for mem_id in reversed(block.path):
        cover = contexts.coverage(mem_id)
        if cover is not None:
            return cover >= MAIN_COVERAGE
        if mem_id == block.chrome_id:
            return False  # a menu's context is the menu, not the page around it
    # The whole page has too few words to tell: the block is judged by itself.
    return block.chrome is None and index.coverage(block.text) >= MAIN_COVERAGE


def _container_kind(block: Block, nodes: dict[int, LexborNode]) -> tuple[str, str] | None:
    """(tag, class) of the element holding the block's paragraph, when it has a class."""
    if len(block.path) < 2:
        return None
    holder = block.path[-2] if block.tag in ("p", "li", "h2", "h3", "h4", "blockquote") else block.path[-1]
    node = nodes.get(holder)
    if node is None or node.tag in ("body", "html"):
        return None
    cls = (node.attributes.get("class") or "").strip()
    return (node.tag, cls) if cls else None


def _join_split_story(blocks: list[Block], nodes: dict[int, LexborNode], inside: list[bool]) -> None:
    """Mark as inside the blocks of containers of the kind the story is split into.

    Sites cut a story into several containers of one kind (``<div
    class="article-body-component">`` five times) and the reduction may keep
    only some; a kind holding SIBLING_MIN_CHARS of main text is the story's.
    """
    story_chars: dict[tuple[str, str], int] = {}
    for block, is_in in zip(blocks, inside):
        kind = _container_kind(block, nodes) if is_in else None
        if kind is not None:
            story_chars[kind] = story_chars.get(kind, 0) + len(block.text)
    for i, block in enumerate(blocks):
        if not inside[i] and block.chrome is None and block.links:
            kind = _container_kind(block, nodes)
            if kind is not None and story_chars.get(kind, 0) >= SIBLING_MIN_CHARS:
                inside[i] = True


def _is_teaser(block: Block, base: str | None) -> bool:
    """A paragraph that is one link to another story of the same site: recirculation, not a citation."""
    return (block.list_id is None and block.tag != "li" and len(block.links) == 1 and _link_share(block) >= 0.85
            and len(block.text.split()) >= 4 and _same_site(block.links[0].href, base))


#: Headings that open a section of page chrome: comments, recirculation, "more from" lists.
CHROME_HEADING = re.compile(
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reader (?:picks|comments|responses)|discussion|conversation|"
    r"join the (?:conversation|discussion)|leave a (?:reply|comment)|what readers (?:are saying|think)|"
    r"\d*\s*thoughts on\b.*|more (?:from|in|on|stories|news|coverage|to read|like this)\b.*|"
    r"related(?: stories| articles| posts| content| coverage| reading| links)?|recommended(?: for you| stories| reading)?|"
    r"(?:most|more) (?:popular|read|viewed|shared|emailed)|trending(?: now| stories)?|read (?:next|more)|up next|"
    r"you (?:may|might) (?:also )?like|editor['’]?s['’]? picks|latest (?:news|stories|headlines)|top stories|"
    r"around the web|sponsored(?: content| stories| links)?|popular (?:now|posts|stories)|in case you missed it|"
    r"further reading on (?:this|our) site)\s*[:.]?$", re.I)


def _drop_headed_chrome(blocks: list[Block], nodes: dict[int, LexborNode], trace: list[Rejected] | None) -> list[Block]:
    """Sections whose first block is a chrome heading ("Reader Picks", "More in City") are chrome.

    Class names miss these when a site uses generated ones ("css-threads");
    the heading says what the section is. The section is the heading's
    parent element, only when the heading is its first block (a subhead
    "Related reading" late in an article does not drop the article), and
    never <body>, <main>, <article> or anything holding the <h1>.
    """
    protected: set[int] = set()
    for block in blocks:
        if block.tag == "h1":
            protected.update(block.path)
    protected.update(k for k, n in nodes.items() if n.tag in ("body", "main", "article", "html"))
    first_block: dict[int, int] = {}
    for index, block in enumerate(blocks):
        for anc in block.path:
            first_block.setdefault(anc, index)
    dropped: set[int] = set()
    for index, block in enumerate(blocks):
        if len(block.text) > 80 or not CHROME_HEADING.match(block.text) or len(block.path) < 2:
            continue
        own = nodes.get(block.path[-1])
        container = block.path[-2] if own is not None and own.tag in _HEADING_TAGS | {"p", "span", "div", "strong"} else block.path[-1]
        if first_block.get(container) == index and container not in protected:
            dropped.add(container)
    if not dropped:
        return blocks
    kept = []
    for block in blocks:
        if dropped.intersection(block.path):
            if trace is not None:
                trace.extend(Rejected("chrome-heading", s.href, block.text[s.start:s.end]) for s in block.links)
            continue
        kept.append(block)
    return kept


def _link_share(block: Block) -> float:
    if not block.text:
        return 0.0
    return min(1.0, sum(span.end - span.start for span in block.links) / len(block.text))


def _drop_link_lists(blocks: list[Block], trace: list[Rejected] | None) -> list[Block]:
    """Lists whose items are nearly all link text are related-story lists or tag clouds."""
    items: dict[int, list[Block]] = {}
    for block in blocks:
        if block.list_id is not None:
            items.setdefault(block.list_id, []).append(block)
    dropped: set[int] = set()
    for list_id, members in items.items():
        linky = sum(1 for b in members if _link_share(b) >= LINK_LIST_DENSITY)
        if len(members) >= LINK_LIST_MIN_ITEMS and linky >= LINK_LIST_SHARE * len(members):
            dropped.add(list_id)
    kept = []
    for block in blocks:
        if block.list_id in dropped:
            if trace is not None:
                trace.extend(Rejected("link-list", s.href, block.text[s.start:s.end]) for s in block.links)
            continue
        kept.append(block)
    return kept


# ---------------------------------------------------------------- plain text

_TEXT_BULLET = re.compile(r"^\s*(?:[•·▪◦‣∙*+\-–—]|\d{1,3}[.)])\s+")
#: (name, regex on a stripped line): from this line to the end is site chrome.
TEXT_END_CHROME: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("explore-more", re.compile(r"^explore more\b", re.I)),
    ("more-insights", re.compile(r"^more (?:insights|stories|articles|news|from|on|like this|to read|reading)\b", re.I)),
    ("sign-in", re.compile(r"^(?:sign ?in|log ?in|sign up|create (?:a |your )?(?:free )?account|register)\b", re.I)),
    ("related", re.compile(r"^(?:related(?: articles| stories| posts| content| reading| coverage)?|recommended(?: for you| reading| stories)?|"
                           r"you (?:may|might) also like|read next|up next|what to read next|popular (?:now|posts|stories))\s*:?$", re.I)),
    ("comments", re.compile(r"^(?:\d+\s+)?(?:comments?|leave a (?:reply|comment)|join the (?:discussion|conversation))\s*:?$", re.I)),
    ("author-box", re.compile(r"^about the authors?\s*:?$", re.I)),
    ("share", re.compile(r"^share (?:this|on)\b.{0,40}$", re.I)),
    ("newsletter", re.compile(r"^(?:subscribe to|get (?:our|the) newsletter|sign up for)\b.{0,80}$", re.I)),
    ("copyright", re.compile(r"^(?:©|copyright\b|all rights reserved)", re.I)),
)
#: (name, regex on a stripped line): single lines of chrome in plain text.
TEXT_LINE_CHROME: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("label", re.compile(r"^(?:trending|advertisement|sponsored|table of contents|contents|skip to (?:main )?content|"
                         r"menu|search|share|listen|listen to this article|print|open app)\s*:?$", re.I)),
    ("reading-time", re.compile(r"\b\d+\s*(?:min(?:ute)?s?)\s+read\b|\b\d+\s+views\b", re.I)),
    ("summary-label", re.compile(r"^summarized by\b", re.I)),
)
_SYMBOLS = re.compile(r"^[\W_]+", re.UNICODE)


def _line_rule(line: str, table: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    cleaned = _SYMBOLS.sub("", line).strip()
    for name, regex in table:
        if regex.search(cleaned):
            return name
    return None


def _is_headline(line: str) -> bool:
    words = line.split()
    if not (MIN_HEADLINE_WORDS <= len(words) <= 30) or len(line) > MAX_HEADLINE_CHARS:
        return False
    if line.rstrip().endswith((".", ",", ";")) or _TEXT_BULLET.match(line):
        return False
    if _line_rule(line, TEXT_LINE_CHROME) or _line_rule(line, TEXT_END_CHROME):
        return False
    return sum(1 for w in words if w[:1].isupper()) >= 2


_BYLINE = re.compile(r"^(?:by|written by|words by)\s+(?P<names>[A-Z][^\d|]{1,120}?)\s*(?:[|,·•–—-]\s*(?P<rest>.*))?$", re.I)
#: Plain text: non-blank lines after the headline that may hold the byline and the date.
BYLINE_SCAN_LINES = 3


def _text_byline(lines: list[str], start: int, article: Article) -> int:
    """Read "By A and B" and date lines right after a plain-text headline; return where the body starts."""
    seen = 0
    index = start
    while index < len(lines) and seen < BYLINE_SCAN_LINES:
        line = lines[index].strip()
        index += 1
        if not line:
            continue
        seen += 1
        match = _BYLINE.match(line)
        if match and len(line) <= 160:
            if not article.authors:
                article.authors = _names(match.group("names"))
            if match.group("rest") and not article.published:
                article.published = _iso_date(match.group("rest"))
            start = index
            continue
        date = _iso_date(line) if len(line) <= 60 and len(line.split()) <= 8 else None
        if date:
            article.published = article.published or date
            start = index
            continue
        break
    return start


def _text_blocks(text: str, article: Article, trace: list[Rejected] | None) -> list[Block]:
    """Blocks of a plain-text article: headline found, chrome lines and trailing chrome dropped."""
    lines = text.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    start = 0
    for index in nonblank[:HEADLINE_SCAN_LINES]:
        line = lines[index].strip()
        if _is_headline(line):
            if not article.title:
                article.title = " ".join(line.split())
            start = _text_byline(lines, index + 1, article)
            break
        if _line_rule(line, TEXT_LINE_CHROME) is None and len(line.split()) > 3:
            break  # prose before any headline: the text has none
    blocks: list[Block] = []
    paragraph: list[str] = []
    seen_prose = False

    def flush() -> None:
        if paragraph:
            whole = " ".join(" ".join(paragraph).split())
            cut = tuple(m.group(0) for m in _BARE_URL.finditer(whole, MAX_BLOCK_CHARS)) if len(whole) > MAX_BLOCK_CHARS else ()
            blocks.append(Block(whole[:MAX_BLOCK_CHARS], "p", cut_links=cut))
            paragraph.clear()

    for index in range(start, len(lines)):
        raw = lines[index]
        line = raw.strip()
        if not line:
            flush()
            continue
        end_rule = _line_rule(line, TEXT_END_CHROME) if len(line) <= 120 else None
        if end_rule and seen_prose:
            if trace is not None:
                trace.append(Rejected(f"text-end:{end_rule}", None, line))
            break
        line_rule = _line_rule(line, TEXT_LINE_CHROME)
        if line_rule and len(line) <= 120:
            flush()
            if trace is not None:
                trace.append(Rejected(f"text-line:{line_rule}", None, line))
            continue
        if _TEXT_BULLET.match(raw):
            flush()
            blocks.append(Block(" ".join(_TEXT_BULLET.sub("", raw).split()), "li"))
            continue
        # Hard-wrapped prose continues a paragraph; otherwise each line is one.
        if paragraph and not paragraph[-1].rstrip().endswith((".", "!", "?", ":", "”", '"')) and line[:1].islower():
            paragraph.append(line)
            continue
        flush()
        paragraph.append(line)
        if len(line.split()) >= 8:
            seen_prose = True
    flush()
    for block in blocks:
        block.links = [LinkSpan(s, e, url) for s, e, url in _bare_urls(block.text, [])]
    return blocks


def _bare_urls(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """``(start, end, url)`` of URLs written out in ``text`` outside the ``taken`` spans."""
    found = []
    taken = sorted(taken)
    taken_starts = [s for s, _e in taken]
    for match in _BARE_URL.finditer(text):
        start, end = match.span()
        i = bisect_right(taken_starts, start) - 1
        if i >= 0 and taken[i][0] <= start < taken[i][1]:
            continue
        raw = match.group(0)
        while raw and raw[-1] in _TRAILING:
            if raw[-1] == ")" and raw.count("(") >= raw.count(")"):
                break  # https://en.wikipedia.org/wiki/Foo_(bar) keeps its bracket
            raw = raw[:-1]
        if len(raw) < 8:
            continue
        found.append((start, start + len(raw), raw if raw.lower().startswith("http") else "https://" + raw))
    return found


# ---------------------------------------------------------------- claims


def _sentence_for(text: str, spans: list[tuple[int, int]], start: int, end: int,
                  starts: list[int] | None = None) -> str:
    """The whole sentence (or sentences) that hold ``text[start:end]``; ``starts`` are the span starts."""
    starts = starts if starts is not None else [s for s, _e in spans]
    if spans:
        i = max(0, bisect_right(starts, start) - 1)
        j = max(i, bisect_right(starts, max(start, end - 1)) - 1)
        first, last = spans[i][0], spans[j][1]
        first, last = min(first, start), max(last, end)
    else:
        first, last = 0, len(text)
    sentence = text[first:last]
    if len(sentence) > MAX_SENTENCE_CHARS:
        half = MAX_SENTENCE_CHARS // 2
        lo = max(first, start - half)
        hi = min(last, max(end, start) + half)
        lo = text.rfind(" ", first, lo) + 1 if lo > first else first
        cut_hi = text.find(" ", hi, last)
        hi = cut_hi if cut_hi != -1 else last
        sentence = ("… " if lo > first else "") + text[lo:hi] + (" …" if hi < last else "")
    return sentence.strip()


#: Links starting before a phrase that are looked at when testing overlap.
_OVERLAP_LOOKBACK = 8


def _overlaps_link(links: list[LinkSpan], link_starts: list[int], lo: int, hi: int) -> bool:
    """Whether a link overlaps ``[lo, hi)``; ``links`` sorted by start, ``link_starts`` their starts."""
    i = bisect_right(link_starts, hi - 1)
    return any(links[k].end > lo for k in range(max(0, i - _OVERLAP_LOOKBACK), i))


def _reject_reason(span: LinkSpan, anchor: str, url: str | None, article: Article, base: str | None) -> str | None:
    href = span.href.strip()
    if span.in_code:
        return "in-code"
    if not href or href.startswith("#"):
        return "fragment"
    rels = sorted(set(span.rel.split()) & CHROME_RELS)
    if rels:
        return "rel:" + rels[0]
    if url is None:
        scheme = href.split(":", 1)[0].lower() if ":" in href[:12] else ""
        if scheme and scheme not in ("http", "https"):
            return f"scheme:{scheme}"
        return "unresolvable" if base is None else "invalid"
    if not anchor:
        return "no-anchor-text"
    if article.canonical_url and url == article.canonical_url:
        return "self"
    for name, pattern in SHARE_LINKS:
        if pattern.search(url):
            return name
    if IMAGE_LINK.search(url.split("?", 1)[0]):
        return "image"
    return None


def _resolve(href: str, base: str | None) -> tuple[str, str | None] | None:
    try:
        return normalize_url(href, base)
    except InvalidURL:
        return None


def _note_sources(note: Footnote, base: str | None) -> list[str]:
    """The links of a note that name its sources: the ones leaving the site when there are any.

    A Wikipedia reference links the publication's own article, its archive
    copy and its DOI, but also wiki pages about the publisher or "doi"
    itself; those are the encyclopedia's navigation, not the source.
    """
    external = [href for href in note.hrefs if not _same_site(href, base)]
    return external or note.hrefs


def _claims(blocks: list[Block], article: Article, base: str | None, trace: list[Rejected] | None,
            footnotes: dict[str, Footnote]) -> list[Claim]:
    """Link and attribution claims of the content blocks, in reading order.

    A footnote marker (``<a href="#fn1">1</a>``) cites what its note links to:
    the claim gets the marker's sentence and the note's URL, and the note's
    own links are then not claims a second time.
    """
    claims: list[Claim] = []
    used_notes: set[int] = set()
    seen: set[tuple] = set()
    resolved_cache: dict[str, tuple[str, str | None] | None] = {}
    for index, block in enumerate(blocks):
        if len(claims) >= MAX_CLAIMS:
            _note_claims_cut(article, len(claims) - MAX_CLAIMS + sum(len(b.links) for b in blocks[index:]))
            del claims[MAX_CLAIMS:]
            break
        text = block.text
        chrome = next((name for name, regex in BLOCK_CHROME if regex.search(text)), None)
        if chrome == "read-more" and not (_READ_MORE_LABEL.match(text) or _link_share(block) >= 0.5):
            chrome = None  # "Related studies by <a>...</a> found", "Recommended doses were cut": a sentence, not a label
        if chrome and (len(text) < 160 or _link_share(block) >= 0.3):
            if trace is not None:
                trace.extend(Rejected(f"block:{chrome}", s.href, text[s.start:s.end]) for s in block.links)
            continue
        if SELF_REFERENCE.search(text):
            for span in block.links:
                resolved = _resolve(span.href, base)
                if resolved and not article.canonical_url:
                    article.canonical_url = resolved[0]
                    base = base or resolved[0]
                if trace is not None:
                    trace.append(Rejected("linkpost", span.href, text[span.start:span.end]))
            continue
        taken = [(s.start, s.end) for s in block.links] + list(block.code)
        if article.format != "text":
            bare = _bare_urls(text, taken)
            links = block.links + [LinkSpan(s, e, url) for s, e, url in bare]
        else:
            links = block.links
        spans = sentence_spans(text)
        starts = [s for s, _e in spans]
        sorted_links = sorted(links, key=lambda span: span.start)
        link_starts = [span.start for span in sorted_links]
        events: list[tuple[int, Claim]] = []
        in_note = bool(used_notes) and not used_notes.isdisjoint(block.path)
        expanded: list[LinkSpan] = []
        for span in links:
            note = footnotes.get(span.href.strip()[1:]) if span.href.strip().startswith("#") else None
            if note is not None and note.mem_id not in block.path:
                used_notes.add(note.mem_id)
                expanded.extend(LinkSpan(span.start, span.end, href, "", span.in_code) for href in _note_sources(note, base))
            else:
                expanded.append(span)
        for span in expanded:
            anchor = " ".join(text[span.start:span.end].split())
            if in_note and not span.href.startswith("#"):
                if trace is not None:
                    trace.append(Rejected("footnote-cited", span.href, anchor))
                continue
            if span.href not in resolved_cache:
                resolved_cache[span.href] = _resolve(span.href, base)
            resolved = resolved_cache[span.href]
            url, fragment = resolved if resolved else (None, None)
            if url and not span.href.strip().startswith("#") and article.canonical_url and url == article.canonical_url and fragment:
                reason = "fragment"
            else:
                reason = _reject_reason(span, anchor, url, article, base)
            if reason:
                if trace is not None:
                    trace.append(Rejected(reason, span.href, anchor))
                continue
            sentence = _sentence_for(text, spans, span.start, span.end, starts)
            key = ("link", url, anchor, sentence)
            if key in seen:
                continue
            seen.add(key)
            events.append((span.start, Claim(kind="link", url=url, anchor=anchor, sentence=sentence, position=0,
                                             fragment=fragment)))
        for s, e in spans:
            sentence = text[s:e]
            for found in attribution.find_attributions(sentence):
                at = s + found.start
                lo, hi = s + found.phrase_start, s + found.phrase_end
                if _overlaps_link(sorted_links, link_starts, lo, hi):
                    continue  # the source is linked: the link claim covers it
                key = ("attribution", found.source.lower(), sentence)
                if key in seen:
                    continue
                seen.add(key)
                events.append((at, Claim(kind="attribution", source=found.source, sentence=_sentence_for(text, spans, s, e, starts),
                                         position=0)))
        events.sort(key=lambda item: item[0])
        for _at, claim in events:
            claim.position = len(claims) + 1
            claims.append(claim)
    if len(claims) > MAX_CLAIMS:  # the last block read went past the cap
        _note_claims_cut(article, len(claims) - MAX_CLAIMS)
        del claims[MAX_CLAIMS:]
    return claims


def _note_claims_cut(article: Article, dropped: int) -> None:
    """Say that the claims stop at MAX_CLAIMS: a silent cut would look like an audit of the whole article."""
    article.notes.append(f"{article.path}: more than {MAX_CLAIMS} claims ({dropped:,} more links past them "
                         f"left out), only the first {MAX_CLAIMS} kept (MAX_CLAIMS)")


__all__ = ["extract_file", "extract_document", "split_sentences", "Block", "Rejected"]
