"""One main-text reduction for the whole package: a web page -> the article's readable text.

Extraction's article region, drift's page text and the reports' snippets all come
from here, so "the article" means the same thing at every stage. It is built on
trafilatura, the field's best-measured open-source extractor (see
docs/extraction.md for the table measured on real pages), with a bounded input
and a plain fallback for pages it gives up on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html import unescape

from selectolax.lexbor import LexborHTMLParser

#: Element nesting beyond this is flattened before parsing: lexbor's and libxml2's tree
#: builders are quadratic in the depth of open block elements (100,000 nested <div>s take
#: minutes), and no real page nests deeper than a few hundred.
MAX_HTML_DEPTH = 1500
#: Most characters of HTML handed to the extractor (bounds CPU and memory on huge pages).
MAX_HTML_CHARS = 3_000_000
#: Most characters of main text kept.
MAX_TEXT_CHARS = 400_000
#: Fewest characters the extractor's answer needs before we trust it over the fallback.
MIN_MAIN_CHARS = 200

#: Elements whose text is never the page's content in the fallback.
_FALLBACK_DROP = "script, style, noscript, template, svg, nav, header, footer, aside, form, iframe, button, select"

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class MainText:
    """A page's title and article text (paragraphs separated by newlines)."""

    title: str
    text: str
    #: The page was longer than MAX_HTML_CHARS and only its start was read.
    truncated: bool = False
    #: The extractor found the article; False when this is the fallback's whole-body text.
    found: bool = True

    @property
    def joined(self) -> str:
        """Title and text as one whitespace-normalised string (what scoring reads)."""
        return " ".join(f"{self.title} {self.text}".split())


_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")
#: Block containers whose nesting makes lexbor's tree builder quadratic (it scans the
#: open-element stack for each); inline tags (span, b, font) nest cheaply and are not counted.
_DEEP_TAGS = frozenset({"address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl",
                        "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "main", "menu", "nav",
                        "ol", "section", "summary", "ul"})
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_KEEP_WHEN_FLATTENED = re.compile(r"<(?!/?(?:a|p|br|h[1-6]|title|meta|link|base|html|head|body)\b)/?[a-zA-Z][^>]*>")
_DEEP_TAG = re.compile(r"<(/?)(?:%s)(?=[\s/>])" % "|".join(sorted(_DEEP_TAGS)), re.I)


def _deeper_than_limit(markup: str) -> bool:
    """Do block containers in ``markup`` nest deeper than MAX_HTML_DEPTH (a quick upper-bound scan)?"""
    tags = _DEEP_TAG.findall(markup)
    if len(tags) <= MAX_HTML_DEPTH:
        return False  # fewer tags than the limit cannot nest past it
    depth = 0
    for closing in tags:
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > MAX_HTML_DEPTH:
            return True
    return False


def guard_depth(html: str) -> str:
    """Flatten pathologically deep markup (see :data:`MAX_HTML_DEPTH`) to its text, links and paragraphs."""
    if html.count("<") < MAX_HTML_DEPTH or not _deeper_than_limit(html):
        return html
    markup = _SCRIPT_OR_STYLE.sub(" ", html)  # "<div>" inside JavaScript strings is not nesting
    depth = deepest = 0
    for match in _TAG.finditer(markup):
        if match.group(3) or match.group(2).lower() not in _DEEP_TAGS:
            continue
        depth = max(0, depth - 1) if match.group(1) else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_HTML_DEPTH:
                return _KEEP_WHEN_FLATTENED.sub(" ", html)
    return html


def _fallback(html: str) -> MainText:
    """The body's text without scripts, menus and footers: for pages the extractor gives up on."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css(_FALLBACK_DROP):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(separator="\n") if root is not None else ""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return MainText(title, "\n".join(line for line in lines if line))


def page_title(html: str) -> str:
    """The text of the page's first <title> (a linear scan of its head; no parse)."""
    head = html[:200_000]
    lowered = head.lower()
    start = lowered.find("<title")
    if start < 0:
        return ""
    open_end = lowered.find(">", start)
    close = lowered.find("</title", open_end)
    if open_end < 0 or close < 0:
        return ""
    return " ".join(unescape(head[open_end + 1:close]).split())[:500]


_BODY_TAG = re.compile(r"<body[\s>]", re.I)


def _from_body(html: str) -> str:
    """The page from its <body> on: the head (scripts, styles, JSON-LD; a third of a news page) holds
    no article text, and not parsing it saves the extractor ~5% (same text on the 121 real pages)."""
    found = _BODY_TAG.search(html, 0, 2_000_000)
    return "<html>" + html[found.start():] if found else html


def reduce_page(html: str | None, url: str | None = None, *, depth_guarded: bool = False) -> MainText:
    """The article's title and main text; empty for an empty page, never an exception.

    ``depth_guarded``: the caller already ran :func:`guard_depth` on ``html``.
    """
    if not html or not html.strip():
        return MainText("", "")
    truncated = len(html) > MAX_HTML_CHARS
    html = html[:MAX_HTML_CHARS]
    if not depth_guarded:
        html = guard_depth(html)
    try:
        import trafilatura

        text = trafilatura.extract(_from_body(html), url=url, include_comments=False, include_tables=True,
                                   deduplicate=False, favor_precision=True) or ""
    except Exception:  # a library failure on hostile markup costs the page's text, never the run
        text = ""
    if len(text) < MIN_MAIN_CHARS:
        fallback = _fallback(html)
        if len(fallback.text) > len(text):
            return MainText(fallback.title, fallback.text[:MAX_TEXT_CHARS], truncated, found=False)
    return MainText(page_title(html), text[:MAX_TEXT_CHARS], truncated)


def main_text(html: str | None, url: str | None = None) -> str:
    """Title plus main text as one string: the text drift and support scoring read."""
    return reduce_page(html, url).joined


#: Scripts written without spaces between words (Han, kana, Hangul): each character is a token,
#: or a whole Japanese paragraph would be one "word" and never match anything.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])\\w)+")
#: Fewest words of context needed to tell whether a piece of the page is the article: a shorter
#: one (a menu entry, a teaser headline) is judged by its nearest enclosing element with at least
#: this many words, as the benchmark's people-made truth is.
MIN_CONTEXT_WORDS = 8
#: Words per shingle when deciding whether a block of the page lies in the main text.
SHINGLE_WORDS = 4


def words(text: str) -> list[str]:
    """Lower-cased word tokens, as the main-text comparison reads them."""
    return _WORD.findall(text.lower())


class MainTextIndex:
    """Answers "is this piece of the page part of the article's main text?".

    Built once per page from :func:`reduce_page`'s text: a set of word
    shingles, and the text's words joined for short pieces (fewer words than
    a shingle) that can only be found as a substring.
    """

    def __init__(self, text: str) -> None:
        seq = words(text)
        self.shingles = {tuple(seq[i:i + SHINGLE_WORDS]) for i in range(max(0, len(seq) - SHINGLE_WORDS + 1))}
        self.joined = f" {' '.join(seq)} "

    def coverage(self, piece: str) -> float:
        """Share of the piece's shingles found in the main text (0..1); short pieces: 1.0 if found whole."""
        seq = words(piece)
        if not seq:
            return 0.0
        if len(seq) < SHINGLE_WORDS:
            return 1.0 if f" {' '.join(seq)} " in self.joined else 0.0
        hits, grams = self.shingle_hits(seq)
        return hits / grams

    def shingle_hits(self, seq: list[str]) -> tuple[int, int]:
        """(shingles of ``seq`` found in the main text, shingles of ``seq``)."""
        grams = len(seq) - SHINGLE_WORDS + 1
        if grams <= 0:
            return 0, 0
        shingles = self.shingles
        return sum(1 for i in range(grams) if tuple(seq[i:i + SHINGLE_WORDS]) in shingles), grams
