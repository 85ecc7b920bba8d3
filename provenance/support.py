"""Does a page still carry the claim? Claim support, and drift between the live page and its snapshot.

Drift is decided on the cited passage (:mod:`provenance.passage`, see
docs/wayback.md for why): the sentence or two of the snapshot's main text
that carry the claim, their counterpart on the live page, and the words
that changed between them. Both pages go through the package's one
main-text reduction (:mod:`provenance.maintext`) under the same caps.

Page-level scores stay for ``support_score`` (does a page carry a claim
at all): the *weighted recall* of the claim's content terms in the page's
main text, blended with the recall of its adjacent term pairs; and page
similarity (cosine of log term frequencies), which is reported with a
drift judgement but never decides it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from html import escape

from . import maintext, passage
from .models import PROBLEM_VERDICTS, Claim, Drift, Snapshot

#: Support score at or above which a page is taken to carry the claim.
SUPPORT_THRESHOLD = 0.35
#: Snapshot-minus-live score drop needed to call drift (below it: too close to call).
MIN_DROP = 0.15
#: Page-to-page similarity at or above which the live page is "the same page" (no drift).
SAME_PAGE_SIMILARITY = 0.8
#: Share of the score from single terms; the rest from adjacent term pairs.
UNIGRAM_SHARE = 0.7
#: Weight of terms from the link's anchor text (what the link vouches for) and of numbers.
ANCHOR_WEIGHT = 2.0
NUMBER_WEIGHT = 1.5
#: Fewest content words the snapshot's main text needs to be the reference we compare with.
MIN_PAGE_WORDS = 25
#: Fewest content words the live page needs before we judge it. Low on purpose: a short page
#: that replaced a long article (a recipe, a stub) is drift; only an empty or script-rendered
#: shell, whose text we cannot see, is left unjudged.
MIN_LIVE_WORDS = 8
#: Words kept each side of the anchor in a long sentence: a link vouches for its clause,
#: not for the whole sentence (one sentence often cites several sources).
CLAIM_WINDOW = 12
#: Most characters of a page's HTML judged, live page and snapshot alike (the checker keeps as much
#: of a live body, and the Wayback replay reads as many bytes): a page longer than this is "cut".
MAX_PAGE_CHARS = 2 * 1024 * 1024

_STOPWORDS = frozenset("""
a about above across after again against all almost also although always am among an and another any are
around as at be became because been before being below between both but by can cannot could did do does doing
done down during each either else enough even ever every few for from further get gets got had has have having
he her here hers him his how however i if in into is it its itself just last least less like made make many may
me might more most much must my near need never new next no nor not now of off often on once one only or other
our out over own per perhaps please put rather really same say said says see seen several shall she should
since so some still such than that the their them then there these they this those though through thus to too
toward under until up upon us very via was we well were what when where whether which while who whom whose why
will with within without would yet you your according told reported report reports announced wrote writes
week weeks year years month months day days today yesterday time times way ways part including include includes
mr ms dr www http https com org html
""".split())

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


# --------------------------------------------------------------------------- main text


def main_text(html: str | None, url: str | None = None) -> str:
    """The page's title and main text: the package's one reduction (:mod:`provenance.maintext`)."""
    return maintext.main_text(html, url)


# --------------------------------------------------------------------------- terms


def _stem(word: str) -> str:
    """A light, symmetric suffix stripper: enough to match 'institutes'/'institute', 'founded'/'founding'."""
    w = word.replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed"):
        return w[:-2]
    if len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def terms(text: str) -> list[str]:
    """Content terms in order: lower-cased, stemmed, without stopwords and one-letter tokens."""
    out = []
    for raw in _WORD.findall(text.lower()):
        if raw in _STOPWORDS or (len(raw) < 2) or (len(raw) < 3 and not raw.isalnum()):
            continue
        stem = _stem(raw)
        if stem and stem not in _STOPWORDS:
            out.append(stem)
    return out


def content_words(text: str) -> set[str]:
    return set(terms(text))


def _pairs(seq: list[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(seq, seq[1:]) if a != b}


def _weight(term: str, anchor_terms: set[str]) -> float:
    weight = ANCHOR_WEIGHT if term in anchor_terms else 1.0
    if any(ch.isdigit() for ch in term):
        weight *= NUMBER_WEIGHT
    return weight


# --------------------------------------------------------------------------- scores


def claim_text(sentence: str, anchor: str | None, window: int = CLAIM_WINDOW) -> str:
    """The part of the sentence the link vouches for: ``window`` words each side of the anchor."""
    words = sentence.split()
    if not anchor or len(words) <= 2 * window + len(anchor.split()):
        return sentence
    start = sentence.lower().find(anchor.lower())
    if start < 0:
        return sentence
    first = len(sentence[:start].split())
    last = first + len(anchor.split())
    return " ".join(words[max(0, first - window):last + window])


def support_score_text(sentence: str, anchor: str | None, page: str) -> float:
    """How strongly ``page`` (main text) carries a claim sentence and its anchor: 0..1."""
    return _support(sentence, anchor, terms(page))


def _support(sentence: str, anchor: str | None, page_seq: list[str]) -> float:
    claim_seq = terms(claim_text(sentence, anchor))
    anchor_terms = set(terms(anchor or ""))
    claim_terms = set(claim_seq) | anchor_terms
    if not claim_terms:
        return 0.0
    page_terms = set(page_seq)
    total = sum(_weight(t, anchor_terms) for t in claim_terms)
    found = sum(_weight(t, anchor_terms) for t in claim_terms if t in page_terms)
    unigram = found / total
    claim_pairs = _pairs(claim_seq)
    if not claim_pairs:
        return unigram
    pair = len(claim_pairs & _pairs(page_seq)) / len(claim_pairs)
    return UNIGRAM_SHARE * unigram + (1 - UNIGRAM_SHARE) * pair


def support_score(claim: Claim, html: str) -> float:
    """Support of ``claim`` by an HTML page (its main text)."""
    return support_score_text(claim.sentence or "", claim.anchor, main_text(html))


def page_similarity(a: str, b: str) -> float:
    """Cosine of log term frequencies of two texts: 1 for the same page, near 0 for another topic."""
    return _similarity(terms(a), terms(b))


def _similarity(a: list[str], b: list[str]) -> float:
    va, vb = Counter(a), Counter(b)
    if not va or not vb:
        return 0.0
    wa = {t: 1 + math.log(n) for t, n in va.items()}
    wb = {t: 1 + math.log(n) for t, n in vb.items()}
    dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
    norm = math.sqrt(sum(w * w for w in wa.values())) * math.sqrt(sum(w * w for w in wb.values()))
    return dot / norm if norm else 0.0


@dataclass
class PageText:
    """A page reduced once for every claim that cites it: main text, sentences, terms, and whether it was cut."""

    text: str
    sentences: list[str]
    index: passage.Index
    terms: list[str]
    #: Why the page was read only in part (None: read to its end); a passage past the cut cannot be judged.
    cut: str | None = None
    #: True when the HTML ends as a whole page does (a closing </body> or </html> near its end).
    complete: bool = True


def read_page(html: str | None, url: str | None = None, cut: str | None = None) -> PageText:
    """Reduce a page for judging, under the same caps whichever side (live or snapshot) it comes from.

    ``cut`` says the body was already cut when it was read (a byte cap on
    the wire); pages longer than MAX_PAGE_CHARS are cut here, so the live
    page and the snapshot are always read to the same length.
    """
    html = html or ""
    if len(html) > MAX_PAGE_CHARS:
        html = html[:MAX_PAGE_CHARS]
        cut = cut or f"read to its first {MAX_PAGE_CHARS:,} characters"
    reduced = maintext.reduce_page(html, url)
    if len(reduced.text) >= maintext.MAX_TEXT_CHARS:
        cut = cut or f"main text cut at {maintext.MAX_TEXT_CHARS:,} characters"
    body, paragraphs = passage.paragraphed(reduced.text)
    # The title counts too, last (the body's own headline wins a tie) and without its site name
    # ("... | The Times"): a renamed site or a new title separator is not an edit of what was cited.
    title = max(re.split(r"\s+[|\u2013\u2014\u00b7\u2022-]\s+", reduced.title), key=len).strip() if reduced.title else ""
    sentences = body + ([title] if title else [])
    paragraphs = paragraphs + ([-1] if title else [])
    complete = bool(_CLOSING.search(html[-_CLOSING_WINDOW:]))
    return PageText(reduced.joined, sentences, passage.Index(sentences, paragraphs), terms(reduced.joined), cut,
                    complete)


#: A page's end: a body read in part (a cap nobody reported, a connection that died) has none.
_CLOSING = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
_CLOSING_WINDOW = 64 * 1024


def _page(value: "str | PageText | None", url: str | None, cut: str | None) -> PageText | None:
    if value is None or isinstance(value, PageText):
        return value
    return read_page(value, url, cut)


def judge_drift(claim: Claim, live_html: "str | PageText | None", snapshot_html: "str | PageText | None",
                url: str | None = None, live_cut: str | None = None, snapshot_cut: str | None = None) -> Drift:
    """Drift for one claim, decided on the cited passage: the snapshot's sentence(s) carrying it, then and now.

    True when that passage is gone from the live page, reworded so it no
    longer carries the claim, or changed in a number, date, amount, name or
    negation; False when it is unchanged or reworded but still carries the
    claim. Changes elsewhere on the page never decide, and page similarity
    is only reported. None when it cannot be judged: no live page, no
    snapshot, too little text, no passage in the snapshot clearly carrying
    the claim, or a page cut (``live_cut``/``snapshot_cut``, or past
    MAX_PAGE_CHARS) before the passage or its counterpart was found.
    Pages may be given as HTML or as :class:`PageText` (reduced once per URL).
    """
    if live_html is None:
        return Drift(None, reason="no live page to judge (dead, blocked or not fetched)")
    if snapshot_html is None:
        return Drift(None, reason="no snapshot to compare with")
    snap, live = _page(snapshot_html, url, snapshot_cut), _page(live_html, url, live_cut)
    assert snap is not None and live is not None
    if not live.cut and snap.complete and not live.complete and len(live.terms) >= MIN_LIVE_WORDS:
        # The snapshot ends as a whole page does and the live body stops short: read in part, though nobody said.
        live = replace(live, cut="the live page stops before its end (no closing </body> or </html>)")
    if len(snap.terms) < MIN_PAGE_WORDS:
        return Drift(None, reason=f"the snapshot was cut ({snap.cut}) before its text" if snap.cut
                     else "the snapshot has too little text to judge")
    sentence, anchor = claim.sentence or "", claim.anchor
    claim_window = claim_text(sentence, anchor)
    if len(live.terms) < MIN_LIVE_WORDS:
        return Drift(None, None, None, f"the live page was cut ({live.cut}) before its text" if live.cut
                     else "the live page has too little text to judge (script-rendered?)")
    similarity = round(_similarity(live.terms, snap.terms), 3)
    then = passage.find_passage(claim_window, snap.sentences, snap.index, anchor)
    if then is None:
        if snap.cut:
            return Drift(None, reason=f"the snapshot was cut ({snap.cut}) before a passage carrying the claim "
                         "was found", page_similarity=similarity)
        return Drift(None, reason="no passage in the snapshot clearly carries the claim", page_similarity=similarity)
    then_text = passage.clip(then.text)
    now = passage.counterpart(then.text, live.sentences, live.index, near=then.start / len(snap.sentences))
    if now is None:
        # Rewritten past recognition, yet still saying it? Look for the claim itself, held as well as it was.
        now = passage.find_passage(claim_window, live.sentences, live.index, anchor)
        if now is not None and now.score < then.score - MIN_DROP:
            now = None
    if now is None:
        if live.cut:
            return Drift(None, None, then.score, f"the live page was cut ({live.cut}) before the cited passage "
                         "could be found", similarity, then=then_text)
        return Drift(True, 0.0, then.score, "the cited passage is gone from the live page", similarity,
                     then=then_text, now=None, diff=passage.marked_diff(then_text, None))
    then_text, now_text = passage.clip_pair(then.text, now.text)
    evidence = {"then": then_text, "now": now_text, "diff": passage.marked_diff(then_text, now_text)}
    live_score = passage.carries(claim_window, now.text, live.index, anchor)
    if passage.same_text(then.text, now.text):
        return Drift(False, live_score, then.score, "the cited passage is unchanged", similarity, **evidence)
    if live.cut:
        # What looks like the passage before the cut may be a summary of it; the passage itself may lie past it.
        return Drift(None, live_score, then.score, f"the live page was cut ({live.cut}); the text like the cited "
                     "passage before the cut differs, and the passage itself may lie past the cut", similarity,
                     **evidence)
    changed = passage.critical_changes(then.text, now.text, claim_window)
    if changed:
        what = "; ".join(f"{c.kind} {c.describe()}" for c in changed[:3])
        return Drift(True, live_score, then.score, f"the cited passage changed: {what}", similarity, **evidence)
    if live_score < passage.PASSAGE_MIN_SCORE and then.score - live_score >= MIN_DROP:
        return Drift(True, live_score, then.score, f"the cited passage was reworded and no longer carries the claim "
                     f"({then.score:.2f} -> {live_score:.2f})", similarity, **evidence)
    return Drift(False, live_score, then.score, "the cited passage was reworded but still carries the claim",
                 similarity, **evidence)


# --------------------------------------------------------------------------- fixes


_DATE_START = re.compile(r"^\s*(\d{4})-?(\d{2})-?(\d{2})(?!\d)|^\s*(\d{4})(\d{2})(\d{2})\d{0,6}\s*$")


def _version_date(value: str | None) -> str | None:
    """YYYY-MM-DD from a date, an ISO datetime or an 8-14 digit Wayback timestamp; None when it has no day."""
    match = _DATE_START.match(value or "")
    if not match:
        return None
    year, month, day = [g for g in match.groups() if g is not None]
    if not ("01" <= month <= "12" and "01" <= day <= "31"):
        return None
    return f"{year}-{month}-{day}"


def robust_link(url: str, anchor: str, snapshot_url: str | None, snapshot_date: str | None,
                linked_on: str | None = None) -> str:
    """Robust Links markup (robustlinks.mementoweb.org): the link with its archived version.

    ``data-versiondate`` is "the datetime of linking" in the Robust Links
    spec: the article's publication date ``linked_on``, which is also the
    date the snapshot was chosen for. Without a usable one (an undated
    article) the snapshot's own date ``snapshot_date`` stands in. Either may
    be a date, an ISO datetime or a Wayback timestamp; written as YYYY-MM-DD.
    """
    attrs = f'href="{escape(url, quote=True)}"'
    if snapshot_url:
        attrs += f' data-versionurl="{escape(snapshot_url, quote=True)}"'
    version_date = _version_date(linked_on) or _version_date(snapshot_date)
    if version_date:
        attrs += f' data-versiondate="{escape(version_date, quote=True)}"'
    return f"<a {attrs}>{escape(anchor or url)}</a>"


@dataclass
class Fix:
    """What to do about a problem claim: the archived copy and the markup to paste."""

    problem: str  # dead | soft404 | blocked | drift
    snapshot_url: str | None
    markup: str | None
    advice: str


def suggested_fix(url: str, anchor: str | None, verdict: str | None, drift: bool | None,
                  snapshot: Snapshot | None, linked_on: str | None = None) -> Fix | None:
    """A fix for a claim whose link is dead, soft404, blocked or drifted; None when it needs none.

    ``linked_on`` is the article's publication date (the Robust Links date of linking).
    """
    problem = verdict if verdict in PROBLEM_VERDICTS else ("drift" if drift else None)
    if problem is None:
        return None
    if snapshot is not None and snapshot.timestamp and snapshot.snapshot_url:
        markup = robust_link(url, anchor or url, snapshot.snapshot_url, snapshot.timestamp, linked_on)
        when = _version_date(snapshot.timestamp)
        advice = (f"the archived copy of {when} shows what was cited; link it alongside the original"
                  if problem == "drift" else f"link the archived copy of {when} alongside the original")
        return Fix(problem, snapshot.snapshot_url, markup, advice)
    advice = "no archived copy near the article's date: find a replacement source"
    if problem in ("blocked", "drift"):
        advice += " (or archive the page now with 'provenance audit --save')"
    return Fix(problem, None, None, advice)
