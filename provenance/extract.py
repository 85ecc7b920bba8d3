"""Claims from articles: every cited link with its anchor and whole sentence.

Markdown is rendered to HTML first so both formats share one HTML
extractor; plain text yields bare URLs. Attributions come from
:mod:`provenance.attribution`.
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from . import attribution
from .ingest import Document, read_document
from .models import Article, Claim
from .urls import InvalidURL, normalize_url

_BLOCKS = "p, li, h1, h2, h3, h4, h5, h6, blockquote, td, th, dd, dt, figcaption"
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z0-9“\"'‘(])")
_BARE_URL = re.compile(r"https?://[^\s<>\"']+", re.I)


def extract_file(path: Path) -> Article:
    """Read and extract one article file (raises ingest.InputError on bad input)."""
    return extract_document(read_document(path))


def extract_document(doc: Document) -> Article:
    article = Article(path=doc.path, format=doc.format, content_hash=doc.content_hash)
    _apply_front_matter(article, doc.front_matter)
    if doc.format == "text":
        blocks = _text_blocks(doc.text)
        if not article.title and blocks:
            article.title = blocks[0][:200]
        article.claims = _text_claims(blocks, article)
    else:
        html = doc.text if doc.format == "html" else MarkdownIt("commonmark", {"html": True}).enable("table").render(doc.text)
        article.claims = _html_claims(html, article)
    return article


def _apply_front_matter(article: Article, meta: dict) -> None:
    if not meta:
        return
    if meta.get("title"):
        article.title = str(meta["title"]).strip()
    date = meta.get("date") or meta.get("published") or meta.get("publishDate")
    if date:
        article.published = str(date)[:10]
    authors = meta.get("authors") or meta.get("author")
    if isinstance(authors, str):
        authors = [authors]
    if authors:
        article.authors = [str(a) for a in authors]
    for key in ("canonical_url", "canonical", "canonicalURL"):
        if meta.get(key):
            article.canonical_url = str(meta[key])


def split_sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()] if text else []


def _html_claims(html: str, article: Article) -> list[Claim]:
    tree = LexborHTMLParser(html)
    for node in tree.css("nav, header, footer, aside, script, style, pre, code, noscript"):
        node.decompose()
    claims: list[Claim] = []
    for anchor in tree.css("a[href]"):
        text = " ".join((anchor.text() or "").split())
        if text.lower().startswith("http") and "linkpost" in ((anchor.parent.text() if anchor.parent else "") or "").lower():
            try:
                article.canonical_url = article.canonical_url or normalize_url(anchor.attributes.get("href") or "")[0]
            except InvalidURL:
                pass
            continue
        href = anchor.attributes.get("href") or ""
        if href.startswith("#"):
            continue
        try:
            url, fragment = normalize_url(href, article.canonical_url)
        except InvalidURL:
            continue
        block = anchor.parent
        while block is not None and block.tag not in {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "dd", "figcaption", "div", "body"}:
            block = block.parent
        block_text = " ".join(((block.text() if block is not None else text) or "").split())
        sentence = next((s for s in split_sentences(block_text) if text and text in s), block_text)
        claims.append(Claim(kind="link", url=url, anchor=text, sentence=sentence, position=len(claims) + 1, fragment=fragment))
    for sentence, source in attribution.find_attributions(" ".join(split_sentences(tree.body.text(separator=" ") if tree.body else ""))):
        claims.append(Claim(kind="attribution", source=source, sentence=sentence, position=len(claims) + 1))
    return claims


def _text_blocks(text: str) -> list[str]:
    return [" ".join(b.split()) for b in re.split(r"\n\s*\n|\n", text) if b.strip()]


def _text_claims(blocks: list[str], article: Article) -> list[Claim]:
    claims: list[Claim] = []
    for block in blocks:
        for sentence in split_sentences(block):
            for match in _BARE_URL.finditer(sentence):
                raw = match.group(0).rstrip(".,;:!?)]}'\"")
                try:
                    url, fragment = normalize_url(raw)
                except InvalidURL:
                    continue
                claims.append(Claim(kind="link", url=url, anchor=raw, sentence=sentence, position=len(claims) + 1, fragment=fragment))
            for attr_sentence, source in attribution.find_attributions(sentence):
                claims.append(Claim(kind="attribution", source=source, sentence=attr_sentence, position=len(claims) + 1))
    return claims
