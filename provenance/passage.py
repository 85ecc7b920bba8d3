"""The cited passage, then and now: where a claim sits in a page's main text, and what became of it.

Drift is decided on one passage, not on the whole page: an edit to the
one paragraph that was cited ("4.1 billion" -> "2.4 billion", "will" ->
"will not", the sentence deleted) barely moves a page-wide score, while a
new cookie banner or "Updated" line moves it without touching what was
cited. So: find the sentence or two of the snapshot that carry the claim
(:func:`find_passage`), find their counterpart on the live page
(:func:`counterpart`), and compare the two word by word
(:func:`word_changes`), with numbers, dates, amounts, names and negations
weighed as what a claim stands on (:func:`critical_changes`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from .sentences import ABBREVIATIONS, split_sentences

#: Weighted share of the claim's content terms a passage must hold to "clearly carry" it.
PASSAGE_MIN_SCORE = 0.5
#: A paraphrase (lower score) still counts when its passage holds this share of the claim's terms that the
#: page has at all, at least PARAPHRASE_MIN_TERMS of them and PARAPHRASE_MIN_SCORE overall: an article's
#: sentence adds its own context ("two weeks after the election") that no source page carries.
PARAPHRASE_MIN_SCORE = 0.25
PARAPHRASE_MIN_SHARE = 0.6
PARAPHRASE_MIN_TERMS = 3
#: A second sentence joins the passage only when it adds at least this much to the score.
SECOND_SENTENCE_GAIN = 0.15
#: Word-sequence similarity (0..1) at or above which a live window is the passage's counterpart.
COUNTERPART_MIN = 0.5
#: Counterparts at least this similar are edits of the passage: every changed number, date, amount, name or
#: negation in them counts. Below it the passage was rewritten, and only what the claim itself stands on
#: counts (its numbers gone, a negation added or dropped).
CLOSE_EDIT = 0.75
#: Most similarity a look-alike elsewhere on the page gives up to one at the passage's place.
POSITION_WEIGHT = 0.1
#: Live sentences scored in full per passage (the ones sharing most words with it).
COUNTERPART_CANDIDATES = 12
#: Most characters of a passage kept as evidence (then and now each).
EVIDENCE_CHARS = 600
#: Longest sentence (characters) considered as a passage; longer "sentences" are unsplit blobs.
MAX_SENTENCE_CHARS = 2_000
#: Weight of numbers and of capitalised words (names) among a claim's terms: what a claim stands on.
NUMBER_WEIGHT = 2.0
NAME_WEIGHT = 1.5
#: Weight of the link's anchor words: what the link vouches for.
ANCHOR_WEIGHT = 2.0

#: Words: numbers keep their decimal and thousands marks ("4.1", "2,400", "9:12"), initials their dots
#: ("U.S."), other words their apostrophes; a word glued to the next by a full stop ("2019.Advertisement")
#: is two.
_WORD = re.compile(r"\d+(?:[.,:]\d+)*[^\W_]*|(?:[^\W\d_]\.){2,}|[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_STRAIGHT = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})

#: Words that turn a statement around.
NEGATIONS = frozenset("""not no never none nobody nothing neither nor without cannot can't won't don't doesn't
didn't isn't aren't wasn't weren't hasn't haven't hadn't shouldn't wouldn't couldn't mustn't unlikely""".split())
#: Words that set an amount's size or a date: a change to one changes the claim.
MAGNITUDES = frozenset("""hundred hundreds thousand thousands million millions billion billions trillion trillions
percent per cent half third quarter double twice triple dozen dozens bn mn k m""".split())
MONTHS = frozenset("""january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday
sunday""".split())
_NUMBER_WORDS = frozenset("""one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety first second
third fourth fifth sixth seventh eighth ninth tenth""".split())
#: An "Updated ..." / "Published ..." line that markup glued to the passage: page furniture, never an edit.
_DATELINE = re.compile(r"(?i)(?:last\s+)?(?:updated|modified|published|posted)\b(?:\s+(?:on|at))?\s+[\w .,:]{0,60}$")
_STOP = frozenset("""a about after all also an and any are as at be been but by can could did do does for from had
has have he her his how i if in into is it its just may might more most much my of on one or our out over said
says she should so some such than that the their them then there these they this those to under up us was we were
what when where which while who will with would you your""".split())


@dataclass(frozen=True)
class Passage:
    """A run of sentences in a page's main text, and how well it carries what it was matched to."""

    text: str
    #: Index of its first sentence and one past its last, in the page's sentence list.
    start: int
    end: int
    #: How well it carries the claim (find_passage) or matches the passage (counterpart): 0..1.
    score: float


@dataclass(frozen=True)
class Change:
    """One word-level edit between the passage then and now."""

    then: str
    now: str
    #: What makes it matter: "number", "date", "amount", "name", "negation", or "" (other words).
    kind: str

    def describe(self) -> str:
        return f"'{self.then}' → '{self.now}'" if self.then and self.now else (
            f"'{self.then}' removed" if self.then else f"'{self.now}' added")


def sentences_of(text: str) -> list[str]:
    """The main text's sentences, paragraph by paragraph (a sentence never spans two paragraphs)."""
    return paragraphed(text)[0]


def paragraphed(text: str) -> tuple[list[str], list[int]]:
    """The main text's sentences, and the number of the paragraph (line) each one is in."""
    out: list[str] = []
    paras: list[int] = []
    for n, block in enumerate((text or "").split("\n")):
        block = " ".join(block.split())
        if block:
            found = [s for s in split_sentences(block) if s.strip()] or [block]
            out += found
            paras += [n] * len(found)
    return out, paras


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.translate(_STRAIGHT))


def _key(token: str) -> str:
    return token.lower().rstrip(".,").replace(",", "")


def _stem(word: str) -> str:
    """A light suffix stripper so 'institutes'/'institute' and 'raised'/'raises' meet."""
    w = word[:-2] if word.endswith("'s") else word
    for suffix, keep in (("ies", 4), ("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if len(w) > keep and w.endswith(suffix) and not w.endswith(("ss", "us", "is")):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def content_terms(text: str) -> Counter:
    """Weighted content terms: stems without stopwords; numbers and names weigh more."""
    out: Counter = Counter()
    for i, token in enumerate(_tokens(text)):
        key = _key(token)
        bare = token.replace(".", "")
        if len(bare) >= 2 and bare.isupper() and bare.isalpha():
            key = bare.lower() + "."  # an acronym ("US", "U.S.", "IT") is a name, never a stopword
        elif key in _STOP or len(key) < 2 and not key.isdigit():
            continue
        weight = 1.0
        if any(ch.isdigit() for ch in key):
            weight = NUMBER_WEIGHT
        elif i and token[:1].isupper():
            weight = NAME_WEIGHT
        stem = key if key.endswith(".") else _stem(key)
        out[stem] = max(out[stem], weight)
    return out


class Index:
    """A page's sentences with their term sets and document frequencies (rarer terms tell more).

    ``paragraphs`` numbers each sentence's paragraph: a passage of two sentences never spans two
    paragraphs (a line inserted between them, an "Updated" note, is not an edit of the passage).
    """

    def __init__(self, sentences: list[str], paragraphs: list[int] | None = None) -> None:
        self.sentences = sentences
        self.paragraphs = paragraphs if paragraphs and len(paragraphs) == len(sentences) else list(range(len(sentences)))
        self.terms = [set(content_terms(s)) if len(s) <= MAX_SENTENCE_CHARS else set() for s in sentences]
        self.df: Counter = Counter()
        for ts in self.terms:
            self.df.update(ts)

    def idf(self, term: str) -> float:
        return math.log(1 + (len(self.sentences) + 1) / (self.df.get(term, 0) + 1))


def find_passage(claim: str, sentences: list[str], index: "Index | None" = None,
                 anchor: str | None = None) -> Passage | None:
    """The sentence (or two) of ``sentences`` that best carries ``claim``; None when none clearly does.

    The score is the weighted share of the claim's content terms the passage
    holds, each term weighted by its rarity on the page (a word every
    sentence has tells nothing) and more for numbers and names: a
    paraphrase keeps those even when it changes the verbs.
    """
    index = index or Index(sentences)
    want = content_terms(claim)
    for term in content_terms(anchor or ""):
        if term in want:
            want[term] *= ANCHOR_WEIGHT
    if not want or not sentences:
        return None
    weights = {t: w * index.idf(t) for t, w in want.items()}
    total = sum(weights.values())
    on_page = sum(w for t, w in weights.items() if t in index.df) or total

    def score(terms: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in terms) / total

    def clear(p: Passage) -> bool:
        if p.score >= PASSAGE_MIN_SCORE:
            return True
        held = [t for t in weights if t in index.df and any(t in ts for ts in index.terms[p.start:p.end])]
        return (p.score >= PARAPHRASE_MIN_SCORE and len(held) >= PARAPHRASE_MIN_TERMS
                and p.score * total / on_page >= PARAPHRASE_MIN_SHARE)

    best: Passage | None = None
    for i, ts in enumerate(index.terms):
        if not ts & weights.keys():
            continue
        s1 = score(ts)
        candidate = Passage(index.sentences[i], i, i + 1, s1)
        for j in (i - 1, i + 1):
            if 0 <= j < len(index.sentences) and index.terms[j] and index.paragraphs[j] == index.paragraphs[i]:
                s2 = score(ts | index.terms[j])
                if s2 - s1 >= SECOND_SENTENCE_GAIN and s2 > candidate.score:
                    lo, hi = min(i, j), max(i, j) + 1
                    candidate = Passage("\n".join(index.sentences[lo:hi]), lo, hi, s2)
        if best is None or candidate.score > best.score + 1e-9:
            best = candidate
    if best is None or not clear(best):
        return None
    return Passage(best.text, best.start, best.end, round(best.score, 3))


def carries(claim: str, text: str, index: "Index", anchor: str | None = None) -> float:
    """How well one passage ``text`` carries ``claim`` (0..1), weighted as :func:`find_passage` weighs."""
    want = content_terms(claim)
    for term in content_terms(anchor or ""):
        if term in want:
            want[term] *= ANCHOR_WEIGHT
    if not want:
        return 0.0
    have = set(content_terms(text))
    weights = {t: w * index.idf(t) for t, w in want.items()}
    return round(sum(w for t, w in weights.items() if t in have) / sum(weights.values()), 3)


def _keys(text: str) -> list[str]:
    return [_key(t) for t in _tokens(text)]


def counterpart(passage: str, sentences: list[str], index: "Index | None" = None,
                near: float | None = None) -> Passage | None:
    """The run of live sentences most like ``passage`` (word sequence); None when nothing is like it.

    ``near`` is where the passage stood in its page (0 at the top, 1 at the end): between
    look-alikes (a heading repeating a list item, a pull quote), the one at about the same
    place wins, by up to POSITION_WEIGHT of similarity.
    """
    index = index or Index(sentences)
    want = set(content_terms(passage))
    want_keys = _keys(passage)
    if not want_keys or not sentences:
        return None
    width = max(1, len(split_sentences(passage)))
    overlap = sorted(((len(ts & want), i) for i, ts in enumerate(index.terms) if ts & want), reverse=True)
    best: Passage | None = None
    best_rank = 0.0
    tried: set[tuple[int, int]] = set()
    for _n, i in overlap[:COUNTERPART_CANDIDATES]:
        for lo in range(max(0, i - width + 1), i + 1):
            for hi in range(i + 1, min(len(sentences), lo + width + 1) + 1):
                if (lo, hi) in tried:
                    continue
                tried.add((lo, hi))
                text = "\n".join(sentences[lo:hi])
                matcher = SequenceMatcher(None, want_keys, _keys(text), autojunk=False)
                if matcher.real_quick_ratio() < COUNTERPART_MIN or matcher.quick_ratio() < COUNTERPART_MIN:
                    continue
                ratio = matcher.ratio()
                if ratio < COUNTERPART_MIN:
                    continue
                rank = ratio - (POSITION_WEIGHT * abs(near - lo / len(sentences)) if near is not None else 0.0)
                if best is None or rank > best_rank:
                    best, best_rank = Passage(text, lo, hi, round(ratio, 3)), rank
    return best


def _kind(token: str, first: bool) -> str:
    key = _key(token)
    if key in NEGATIONS or key.endswith("n't"):
        return "negation"
    if any(ch.isdigit() for ch in key):
        return "number"
    if key in MONTHS:
        return "date"
    if key in MAGNITUDES or key in _NUMBER_WORDS:
        return "amount"
    if token[:1].isupper() and not first:
        return "name"
    return ""


def word_changes(then: str, now: str) -> list[Change]:
    """Word-level edits from ``then`` to ``now`` (words compared case- and punctuation-blind).

    Words added or dropped at either end are left out: a counterpart window
    one sentence wider than the passage is not an edit.
    """
    a, starts_a = _tokens_and_starts(then)
    b, starts_b = _tokens_and_starts(now)
    ka, kb = [_key(t) for t in a], [_key(t) for t in b]
    ops = [op for op in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes() if op[0] != "equal"]
    # Whole sentences before or after the passage are the window's edges, not edits ("It is not true
    # that" put before it is an edit: it does not end a sentence).
    if ops and ops[0][0] == "insert" and ops[0][1] == 0 and (ops[0][4] in starts_b or
                                                            _DATELINE.match(" ".join(b[ops[0][3]:ops[0][4]]))):
        ops = ops[1:]
    if ops and ops[-1][0] == "insert" and ops[-1][2] == len(a) and ops[-1][3] in starts_b:
        ops = ops[:-1]
    out = []
    for tag, i1, i2, j1, j2 in ops:
        edge = tag == "insert" and (i1 == 0 or i1 == len(a))
        if tag == "replace" and j2 - j1 > i2 - i1 and (i1 == 0 or i2 == len(a)):
            # At an end of the passage, a longer replacement is new text next to it plus the edit itself:
            # keep only the words that stand where the passage's words stood.
            j1, j2 = (j2 - (i2 - i1), j2) if i1 == 0 else (j1, j1 + (i2 - i1))
        old, new = a[i1:i2], b[j1:j2]
        kinds = [_kind(t, i1 + n in starts_a) for n, t in enumerate(old)]
        kinds += [_kind(t, j1 + n in starts_b) for n, t in enumerate(new)]
        kind = next((k for k in ("negation", "number", "date", "amount", "name") if k in kinds), "")
        if edge and kind != "negation":
            kind = ""  # words glued before or after the passage (a caption, "Advertisement") are not an edit of it
        if kind == "name" and _only_case(old, new):
            kind = ""
        out.append(Change(" ".join(old), " ".join(new), kind))
    return out


def _only_case(old: list[str], new: list[str]) -> bool:
    return [t.lower() for t in old] == [t.lower() for t in new]


def _tokens_and_starts(text: str) -> tuple[list[str], set[int]]:
    """Words, and the indexes of those that open a sentence (capitalised for that reason alone).

    Sentences of a passage are joined by newlines, so a sentence without end punctuation (a
    heading, a dateline) still ends where it ends.
    """
    text = text.translate(_STRAIGHT)
    tokens: list[str] = []
    starts: set[int] = set()
    last = 0
    for match in _WORD.finditer(text):
        gap = text[last:match.start()]
        between = gap.strip()
        after_abbreviation = between == "." and tokens and (tokens[-1].lower() in ABBREVIATIONS or len(tokens[-1]) == 1)
        if (not tokens or "\n" in gap or (between[-1:] in (".", "!", "?", '"', "'") and not after_abbreviation)
                or between.endswith(('."', '?"'))):
            starts.add(len(tokens))
        tokens.append(match.group())
        last = match.end()
    return tokens, starts


# --- one way of writing each value, so that a restyle is not an edit ---

_MONTH_FULL = {"Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June", "Jul": "July",
               "Aug": "August", "Sep": "September", "Sept": "September", "Oct": "October", "Nov": "November",
               "Dec": "December"}
_MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH_ABBREVIATION = re.compile(r"\b(" + "|".join(_MONTH_FULL) + r")\b\.?")
#: "January 5, 2020" and "5 January 2020" (and "Jan. 5th") are one date: the day goes first.
_MONTH_DAY = re.compile(r"\b(" + _MONTH_NAMES + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b,?")
_DAY_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\s+(?:of\s+)?(?=(?:" + _MONTH_NAMES + r")\b)")
_PER_CENT = re.compile(r"\s*%|\b[Pp]er\s+cent\b|\bpct\b")
_NOT = re.compile(r"\b([Cc]a)n't\b|\b([Ww])on't\b|\b([Ss]ha)n't\b|\b(\w+)n't\b|\b([Cc]an)not\b")
_INITIALS = re.compile(r"\b(?:[A-Za-z]\.){2,}(?=[\s,;:)]|$)")
_MAGNITUDE = {"thousand": 3, "k": 3, "million": 6, "mn": 6, "m": 6, "mln": 6, "billion": 9, "bn": 9, "b": 9,
              "trillion": 12, "tn": 12}
#: A number and its size, written out ("1.2 million") or glued ("$5bn", "10k").
_SIZED = re.compile(r"(?<![\w.,])(\d+(?:,\d{3})*(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion)s?\b"
                    r"|(k|mn|m|mln|bn|b|tn)\b)", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,]\d)|(?<![\w.,])\d+\.\d+(?![\w.]\d)")
_SMALL_NUMBERS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_SMALL_NUMBERS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                       "ninety": "90", "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th",
                       "fifth": "5th", "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th",
                       "tenth": "10th"})
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_SMALL_NUMBERS) + r")\b", re.IGNORECASE)


def _number(text: str, shift: int = 0) -> str:
    """A number in one spelling: no thousands commas, no trailing zeros ("1,200,000.0" and "1.2" x 10^6 alike)."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.replace(",", "")).scaleb(shift)
    except InvalidOperation:
        return text
    out = format(value.normalize(), "f")
    return out


def plain_values(text: str) -> str:
    """``text`` with each value written one way, so a restyle compares equal and an edit does not.

    "12%", "12 per cent" and "12 percent"; "$1.2 million" and "$1,200,000";
    "5bn" and "5 billion"; "3.50" and "3.5"; "three" and "3"; "Jan. 5, 2020"
    and "5 January 2020"; "didn't" and "did not"; "U.S." and "US". Sentence
    breaks and capitals stay where they were (names are told by them).
    """
    text = text.translate(_STRAIGHT)
    text = _NOT.sub(lambda m: (f"{m.group(1)}n not" if m.group(1) else f"{m.group(2)}ill not" if m.group(2)
                               else f"{m.group(3)}ll not" if m.group(3) else f"{m.group(4)} not" if m.group(4)
                               else f"{m.group(5)} not"), text)
    text = _PER_CENT.sub(" percent", text)
    text = _INITIALS.sub(lambda m: m.group().replace(".", ""), text)
    text = _MONTH_ABBREVIATION.sub(lambda m: _MONTH_FULL[m.group(1)], text)
    text = _DAY_ORDINAL.sub(r"\1 ", text)
    text = _MONTH_DAY.sub(r"\2 \1", text)
    text = _SIZED.sub(lambda m: _number(m.group(1), _MAGNITUDE[(m.group(2) or m.group(3)).lower()]), text)
    text = _PLAIN_NUMBER.sub(lambda m: _number(m.group()), text)
    return _NUMBER_WORD.sub(lambda m: _SMALL_NUMBERS[m.group(1).lower()], text)


def critical_changes(then: str, now: str, claim: str | None = None) -> list[Change]:
    """The edits that change what a passage says: numbers, dates, amounts, names, negations.

    With ``claim``, and a ``now`` that rewrites ``then`` rather than edits it
    (word similarity under CLOSE_EDIT), only the claim's own numbers and
    names going missing and a negation coming or going count: a rewrite
    drops and adds words that were never what was cited. A value written
    another way ("12%" for "12 percent", "$1,200,000" for "$1.2 million",
    "didn't" for "did not") is no edit (:func:`plain_values`); the edits
    shown are the page's own words where they can be.
    """
    changed = _critical_changes(then, now, claim)
    if not changed:
        return changed
    meant = _critical_changes(plain_values(then), plain_values(now), plain_values(claim) if claim else None)
    if not meant:
        return []  # every critical edit was a value written another way
    own = [c for c in changed if plain_values(c.then) != plain_values(c.now)]
    return own or meant


def _critical_changes(then: str, now: str, claim: str | None) -> list[Change]:
    ka, kb = _keys(then), _keys(now)
    if claim is None or SequenceMatcher(None, ka, kb, autojunk=False).ratio() >= CLOSE_EDIT:
        return [c for c in word_changes(then, now) if c.kind]
    out = []
    numbers_now = {k for k in kb if any(ch.isdigit() for ch in k)}
    for k in dict.fromkeys(_keys(claim)):
        if any(ch.isdigit() for ch in k) and k in ka and k not in numbers_now:
            out.append(Change(k, "", "number"))
    # The claim's names (capitalised inside a sentence, or acronyms) that the passage had and the rewrite lost.
    tokens, starts = _tokens_and_starts(claim)
    had, has = set(_tokens(then)), set(_tokens(now))
    for i, token in enumerate(tokens):
        bare = token.replace(".", "")
        name = (len(bare) >= 2 and bare.isupper() and bare.isalpha()) or (token[:1].isupper() and i not in starts)
        if name and token in had and token not in has and token.lower() not in _STOP:
            out.append(Change(token, "", "name"))
    negations = [sum(1 for k in keys if k in NEGATIONS or k.endswith("n't")) for keys in (ka, kb)]
    if negations[0] != negations[1]:
        out.append(Change("negation" if negations[0] else "", "negation" if negations[1] else "", "negation"))
    return out


def same_text(then: str, now: str) -> bool:
    """Equal but for spacing, case, quotes and punctuation."""
    return _keys(then) == _keys(now)


def clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def clip_pair(then: str, now: str | None, limit: int = EVIDENCE_CHARS) -> tuple[str, str | None]:
    """Both passages cut to ``limit`` characters around where they first differ (so the edit shows)."""
    then, now = " ".join(then.split()), (" ".join(now.split()) if now is not None else None)
    if len(then) <= limit and (now is None or len(now) <= limit):
        return then, now
    common = 0
    if now is not None:
        while common < min(len(then), len(now)) and then[common] == now[common]:
            common += 1
    differs = now is not None and common < min(len(then), len(now))
    start = max(0, common - limit // 3) if differs and common > limit - limit // 3 else 0
    if start:
        space = then.rfind(" ", 0, start)
        start = space + 1 if space > 0 else start

    def window(text: str) -> str:
        cut = clip(text[start:], limit - (1 if start else 0))
        return ("…" + cut) if start else cut

    return window(then), (window(now) if now is not None else None)


def marked_diff(then: str, now: str | None) -> str:
    """A word diff in the wdiff convention: ``[-removed-]{+added+}``, words in common as they are."""
    if now is None:
        return f"[-{then}-]"
    a, b = then.split(), now.split()
    ka = [_key(t) for t in a]
    kb = [_key(t) for t in b]
    parts: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(" ".join(b[j1:j2]))
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(parts)


def marked_pair(then: str, now: str | None, mark: tuple[str, str] = ("**", "**"),
                escape: "Callable[[str], str]" = str) -> tuple[str, str | None]:
    """``then`` and ``now`` with the words that differ between them wrapped in ``mark`` (for reports).

    ``escape`` is applied to the words (say, Markdown escaping), never to the marks.
    """
    if now is None:
        return escape(then), None
    a, b = then.split(), now.split()
    matcher = SequenceMatcher(None, [_key(t) for t in a], [_key(t) for t in b], autojunk=False)
    left, right = mark
    out_a: list[str] = []
    out_b: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out_a += [escape(w) for w in a[i1:i2]]
            out_b += [escape(w) for w in b[j1:j2]]
            continue
        if i2 > i1:
            out_a.append(left + " ".join(escape(w) for w in a[i1:i2]) + right)
        if j2 > j1:
            out_b.append(left + " ".join(escape(w) for w in b[j1:j2]) + right)
    return " ".join(out_a), " ".join(out_b)
