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

from selectolax.lexbor import LexborHTMLParser, LexborNode

#: Most characters of HTML handed to the extractor (bounds CPU and memory on huge pages).
MAX_HTML_CHARS = 4_000_000
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

    @property
    def joined(self) -> str:
        """Title and text as one whitespace-normalised string (what scoring reads)."""
        return " ".join(f"{self.title} {self.text}".split())


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


def reduce_page(html: str | None, url: str | None = None) -> MainText:
    """The article's title and main text; empty for an empty page, never an exception."""
    if not html or not html.strip():
        return MainText("", "")
    html = html[:MAX_HTML_CHARS]
    try:
        import trafilatura

        text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                                   deduplicate=False, favor_precision=True) or ""
    except Exception:  # a library failure on hostile markup costs the page's text, never the run
        text = ""
    if len(text) < MIN_MAIN_CHARS:
        fallback = _fallback(html)
        if len(fallback.text) > len(text) and len(text) < MIN_MAIN_CHARS:
            return MainText(fallback.title, fallback.text[:MAX_TEXT_CHARS])
    title_node = LexborHTMLParser(html[:200_000]).css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    return MainText(title, text[:MAX_TEXT_CHARS])


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
        self.empty = not seq
        self._contexts: dict[int, float | None] = {}

    def coverage(self, piece: str) -> float:
        """Share of the piece's shingles found in the main text (0..1); short pieces: 1.0 if found whole."""
        seq = words(piece)
        if not seq:
            return 0.0
        if len(seq) < SHINGLE_WORDS:
            return 1.0 if f" {' '.join(seq)} " in self.joined else 0.0
        grams = [tuple(seq[i:i + SHINGLE_WORDS]) for i in range(len(seq) - SHINGLE_WORDS + 1)]
        return sum(1 for g in grams if g in self.shingles) / len(grams)

    def context_coverage(self, key: int, node: LexborNode) -> float | None:
        """Coverage of an element's whole text, cached by ``key``; None when it has too few words to tell."""
        if key not in self._contexts:
            text = node.text(separator=" ")[:MAX_TEXT_CHARS]
            self._contexts[key] = self.coverage(text) if len(words(text)) >= MIN_CONTEXT_WORDS else None
        return self._contexts[key]
