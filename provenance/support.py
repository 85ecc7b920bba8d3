"""Does a page still carry the claim? Claim support, drift between live page and snapshot.

The measure (see docs/wayback.md for why): the *weighted recall* of the
claim's content terms in the page's main text, blended with the recall of
its adjacent term pairs. Recall, not cosine: a claim is one sentence and a
page is thousands of words, so the question is "does the page contain what
the sentence says", not "are they about the same mix of words". Pairs add
specificity a page on another topic rarely has ("safety institute",
"executive order"). A second, independent signal guards against noise:
the live page and the snapshot are compared with each other (cosine of
log term frequencies); a page that has barely changed has not drifted,
whatever the claim scores do near the threshold.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from html import escape

from selectolax.lexbor import LexborHTMLParser

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
#: Main-content containers shorter than this (characters) are ignored in favour of the body.
MIN_MAIN_CHARS = 200
#: Words kept each side of the anchor in a long sentence: a link vouches for its clause,
#: not for the whole sentence (one sentence often cites several sources).
CLAIM_WINDOW = 12
#: Most characters of main text scored (bounds CPU on huge pages).
MAX_TEXT_CHARS = 400_000

#: Elements that are never the page's content.
BOILERPLATE_TAGS = ("script, style, noscript, template, svg, nav, header, footer, aside, form, iframe, "
                    "button, select, dialog, [role=navigation], [role=banner], [role=contentinfo], "
                    "[role=complementary], [aria-hidden=true], #wm-ipp-base, #wm-ipp, #donato, #wm-ipp-print")
#: class/id words that mark chrome (menus, cookie banners, share bars, related links, comments).
BOILERPLATE_WORDS = frozenset({"nav", "navbar", "menu", "sidebar", "footer", "header", "masthead", "breadcrumb",
                               "breadcrumbs", "cookie", "cookies", "consent", "gdpr", "newsletter", "subscribe",
                               "share", "sharing", "social", "related", "recommended", "comments", "comment",
                               "advert", "advertisement", "ads", "promo", "banner", "popup", "modal", "skip"})
MAIN_SELECTORS = "main, article, [role=main], [itemprop=articleBody]"

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


def _is_chrome(node) -> bool:
    attrs = node.attributes or {}
    words = set(re.split(r"[\s_\-]+", f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()))
    return bool(words & BOILERPLATE_WORDS)


def _inside(node, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _remove_all(nodes: list) -> None:
    """Decompose nodes, skipping those inside another one (decomposing frees the subtree)."""
    ids = {n.mem_id for n in nodes}
    top = [node for node in nodes if not _inside(node, ids)]
    for node in top:
        node.decompose()


def main_text(html: str) -> str:
    """The readable main text of a page: title plus content, without navigation, chrome and scripts."""
    if not html:
        return ""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    _remove_all(tree.css(BOILERPLATE_TAGS))
    root = tree.body or tree.root
    page_len = len((root.text(separator=" ") if root is not None else "").split())
    chrome, chosen = [], set()
    for node in tree.css("div, section, ul, ol, p, span, li, table"):
        if not _is_chrome(node) or _inside(node, chosen):
            continue
        # Chrome is never most of the page, and never wraps the content itself.
        if node.css_first(MAIN_SELECTORS) is None and len(node.text(separator=" ").split()) <= page_len / 2:
            chrome.append(node)
            chosen.add(node.mem_id)
    _remove_all(chrome)
    best = ""
    for node in tree.css(MAIN_SELECTORS):
        text = node.text(separator=" ")
        if len(text.strip()) > len(best):
            best = text
    if len(" ".join(best.split())) < MIN_MAIN_CHARS:
        root = tree.body or tree.root
        best = root.text(separator=" ") if root is not None else ""
    text = " ".join(f"{title} {best}".split())
    return text[:MAX_TEXT_CHARS]


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


def judge_drift(claim: Claim, live_html: str | None, snapshot_html: str | None) -> Drift:
    """Drift for one claim: True when the snapshot carries it and the live page no longer does.

    False when the live page still carries it (or is essentially the
    snapshot); None when it cannot be judged: no live page (dead, blocked,
    unfetched), no snapshot, a page with too little text to read (a script
    shell), or neither page clearly carrying the claim.
    """
    if live_html is None:
        return Drift(None, reason="no live page to judge (dead, blocked or not fetched)")
    if snapshot_html is None:
        return Drift(None, reason="no snapshot to compare with")
    live_terms, snap_terms = terms(main_text(live_html)), terms(main_text(snapshot_html))
    if len(snap_terms) < MIN_PAGE_WORDS:
        return Drift(None, reason="the snapshot has too little text to judge")
    live = round(_support(claim.sentence or "", claim.anchor, live_terms), 3)
    then = round(_support(claim.sentence or "", claim.anchor, snap_terms), 3)
    if len(live_terms) < MIN_LIVE_WORDS:
        return Drift(None, live, then, "the live page has too little text to judge (script-rendered?)")
    similarity = round(_similarity(live_terms, snap_terms), 3)
    if similarity >= SAME_PAGE_SIMILARITY:
        return Drift(False, live, then, f"the live page is essentially the snapshot (similarity {similarity:.2f})",
                     similarity)
    if live >= SUPPORT_THRESHOLD:
        return Drift(False, live, then, "the live page still carries the claim", similarity)
    if then >= SUPPORT_THRESHOLD and then - live >= MIN_DROP:
        return Drift(True, live, then, f"the snapshot carries the claim ({then:.2f}), the live page no longer does "
                     f"({live:.2f})", similarity)
    if then >= SUPPORT_THRESHOLD:
        return Drift(None, live, then, "support fell only slightly: too close to call", similarity)
    return Drift(None, live, then, "neither the snapshot nor the live page clearly carries the claim", similarity)


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
