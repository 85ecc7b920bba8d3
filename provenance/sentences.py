"""Sentence splitting that knows abbreviations and quotations.

A claim is audited sentence by sentence, so a split at "Feb. 2019",
"Sen. Cramer", "U.S. President" or inside a quotation would hand the
auditor half a claim. Splitting is done within one block of text (a
paragraph, a list item, a heading); callers never join blocks.
"""

from __future__ import annotations

import re
from bisect import bisect_right

#: Words that end with a period without ending the sentence (lower-case, no dot).
ABBREVIATIONS: frozenset[str] = frozenset(
    """
    mr mrs ms mx dr prof sen sens rep reps gov govs gen lt col sgt capt cmdr adm maj cpl pvt brig
    st ste jr sr rev hon pres supt atty amb sec insp det
    inc corp ltd co llc plc bros assn dept univ inst intl natl govt
    vs v etc al cf ca approx est fig figs no nos vol vols pp ed eds ch chap art para sect op
    ave blvd rd mt ft hwy
    jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    """.split()
)

#: An opening quotation left unclosed for longer than this is a typo or a
#: quote that spans paragraphs; it stops protecting the text after it.
MAX_QUOTE_CHARS = 1200

#: End punctuation, closing quotes/brackets and an optional footnote marker ("year.[1] Next", "year.12 Next").
_BOUNDARY = re.compile(r"(?:[.!?]+|…|\.\.\.)(?P<closers>[\"”’'\)\]]*)(?P<marker>\[[\w-]{1,8}\]|\d{1,3})?"
                       r"(?P<space>\s+)(?=[\"“‘'(\[]?(?P<next>[A-Z0-9À-ÖØ-Þ]))")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # U.S, e.g, i.e, a.m, D.C
_QUOTES = re.compile(r"[\"“”]")


def quote_spans(text: str) -> list[tuple[int, int]]:
    """``(open, close)`` index pairs of double quotations in ``text``."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for match in _QUOTES.finditer(text):
        index, char = match.start(), match.group()
        if opened is not None and index - opened > MAX_QUOTE_CHARS:
            opened = None
        if char == "“" or (char == '"' and opened is None):
            opened = index
        elif opened is not None:  # ” or a closing straight quote
            spans.append((opened, index))
            opened = None
    return spans


def _is_abbreviation(text: str, punct_at: int) -> bool:
    # rfind, not a regex search: "(\S+)$" rescans from the start at every period.
    token = text[text.rfind(" ", 0, punct_at) + 1: punct_at].lstrip("\"“‘'([")
    if not token:
        return False
    if len(token) == 1 and token.isalpha():
        return True  # an initial: "J. Smith"
    if _DOTTED.match(token):
        return True
    return token.lower() in ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text`` (already whitespace-collapsed)."""
    if not text:
        return []
    quotes = quote_spans(text)
    quote_opens = [open_ for open_, _close in quotes]
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        punct = text[match.start(): match.start("closers")]
        cut = match.start("space")
        if punct == "." and _is_abbreviation(text, match.start()):
            continue
        marker = match.group("marker")
        if marker and marker[0].isdigit() and (match.start() == 0 or not text[match.start() - 1].isalpha()):
            continue  # "3.14 Next" is a number, not a sentence end with note 14
        if punct in ("…", "...") and not match.group("next").isalpha():
            continue  # an ellipsis before a number elides, it does not end
        inside = bisect_right(quote_opens, cut - 1) - 1  # the last quotation opened before the cut
        if inside >= 0 and quotes[inside][1] > cut:
            continue  # a period inside a quotation ends the quoted sentence, not ours
        if cut > start:
            spans.append((start, cut))
        start = match.end("space")
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def split_sentences(text: str) -> list[str]:
    """The sentences of one block of text, whitespace collapsed."""
    text = " ".join(text.split())
    return [text[s:e] for s, e in sentence_spans(text)]
