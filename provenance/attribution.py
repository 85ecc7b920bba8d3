"""Unlinked attributions: "according to X", "X reported", "told X" ...

An unlinked attribution is a claim with a named source but no link: what an
editor must find a citation for. Every pattern lives in :data:`PATTERNS`, a
table with a name per entry, so a new phrasing is one line and a report can
say which pattern fired. Anonymous sources ("people familiar with the
matter") are kept as written: they are exactly what an auditor must flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A capitalised word: "Post", "NOTUS", "O'Brien", "Trump's", "AI", "U.S.".
_CAP = r"(?:(?:[A-Z]\.){2,}(?![\w'’])|[A-Z][\w'’&.\-]{0,40}\w|[A-Z])"
#: Small words allowed inside a proper name ("Center for AI Safety", "Bank of England").
_JOIN = r"(?:of|for|the|on|de|la|du|von|van|and\s+(?=[A-Z]\w*\s+(?:Institute|Foundation|Center|Centre|Council|Company|Co\b)))"
#: A proper name: capitalised words with small joining words between them.
NAME = rf"(?:the\s+|The\s+)?{_CAP}(?:\s+(?:{_JOIN}\s+)*{_CAP})*"
#: Several names: "the Washington Post and Politico", "Reuters, AP and Bloomberg".
NAMES = rf"{NAME}(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){NAME})*"

#: Sources written as a phrase rather than a name: kept verbatim.
ANONYMOUS = (
    r"(?:(?:two|three|four|several|many|senior|administration|government|u\.s\.|white house|company) ){0,2}"
    r"(?:people|sources|persons?|officials?|aides?|diplomats?|a source|an official|someone)"
    r",?\s+(?:familiar|close|briefed|with knowledge|speaking|who (?:spoke|requested|asked|were not authorized|was not authorized))"
    r"[\w\s,'’-]{0,60}?\b(?:matter|talks|discussions|plans?|deliberations|decision|situation|anonymity|publicly|it|them|negotiations|process)\b"
    r"|(?:multiple|several|numerous|many|various) (?:outlets|reports|news outlets|media outlets|media reports|news reports|sources)"
    r"|(?:public|media|press|news|local|published|earlier) reports"
    r"|(?:unnamed|anonymous) (?:sources?|officials?)"
)

_ATTRIBUTION_VERB = (
    r"(?:said|says|reported|reports|told|warned|warns|confirmed|confirms|stated|states|announced|"
    r"revealed|disclosed|estimated|claimed|acknowledged|testified)"
)
_ADVERB = r"(?:\s+(?:later|also|previously|earlier|first|recently|publicly|separately|privately|reportedly|repeatedly|has|have|had))*"
#: Verbs that make the subject of "X reportedly <verb>" the one who spoke (else: unnamed reports).
_SPEECH_VERB = (
    r"(?:said|says|reported|told|warned|confirmed|stated|announced|revealed|disclosed|claimed|acknowledged|testified|"
    r"urged|argued|complained|cautioned|asked|suggested|insisted|promised|threatened|pressed|lobbied|wrote|"
    r"expressed|raised|objected|pushed)"
)
#: A relative clause or appositive between a subject and its verb: ", who recently served as "AI czar,"".
_APPOSITIVE = r"(?:,\s+(?:who|whose|a|an|the|then|now|former|formerly)\b[^,;:()]{0,160}?,[\"”’']?)?"
#: Words that put a name in a phrase rather than the subject ("in Washington", "of Google").
PREPOSITIONS: frozenset[str] = frozenset(
    "in on at from for of to by with about into over after before during under between than like as near "
    "against toward towards across through within without".split())
_DOCUMENT = r"(?:order|report|statement|memo|memorandum|filing|complaint|lawsuit|letter|study|analysis|survey|release|announcement|guidance|proposal|bill|ruling|post|website)"


@dataclass(frozen=True)
class Pattern:
    """One way of naming a source: ``regex`` group ``source`` is the source as written."""

    name: str
    regex: re.Pattern[str]
    #: True: the source group may hold several names joined by "and" / commas.
    split: bool = False
    #: True: the source is an anonymous phrase, kept verbatim (lower-cased start kept).
    anonymous: bool = False
    #: Lower-case words one of which must be in the sentence for the regex to be tried (speed).
    triggers: tuple[str, ...] = ()
    #: When set, the source recorded for every match (an explicitly anonymous label such as
    #: "unnamed reports"), used only where no other pattern already explains the phrase.
    label: str | None = None
    #: True: the source must be the sentence's subject, not a name inside a phrase ("in Washington").
    subject: bool = False


_ACCORDING_DOC = (r"(?:(?:a |an |the )?(?:new |recent |earlier )?(?:reports?|reporting|data|documents?|analysis|figures|"
                  r"estimates|statement|survey|study|filings?|records?)\s+(?:from|by|in|of|obtained by|reviewed by|seen by|"
                  r"published by)\s+)?")
_STATES = r"(?:states|stated|says|said|reads|read|notes|noted|found|finds|shows|showed|warns|warned)"

PATTERNS: tuple[Pattern, ...] = (
    Pattern("according-to-anonymous", re.compile(rf"\baccording to (?:the )?(?P<source>{ANONYMOUS})", re.I),
            anonymous=True, triggers=("according to",)),
    Pattern("according-to", re.compile(rf"\b[Aa]ccording to {_ACCORDING_DOC}(?P<source>{NAMES})"),
            split=True, triggers=("ccording to",)),
    Pattern("told", re.compile(rf"\b(?:told|telling|tells)\s+(?P<source>{NAMES})"),
            split=True, triggers=("told", "tells", "telling")),
    Pattern("in-an-interview-with", re.compile(rf"\b[Ii]n an? (?:interview|conversation|statement) (?:with|to)\s+(?P<source>{NAMES})"),
            split=True, triggers=("interview", "conversation", "statement")),
    Pattern("document-states", re.compile(rf"(?P<source>{NAME}['’]s?\s+(?:(?:executive|draft|new|final)\s+)?{_DOCUMENT})\s+{_STATES}\b"),
            triggers=("state", "say", "said", "read", "note", "found", "finds", "show", "warn")),
    Pattern("anonymous", re.compile(rf"\b(?P<source>{ANONYMOUS})\b", re.I), anonymous=True,
            triggers=("familiar", "close", "briefed", "knowledge", "who ", "outlets", "reports", "sources", "unnamed",
                      "anonymous", "officials")),
    Pattern("quote-said", re.compile(rf"[,”\"’?!]\s+(?:said|says|added|wrote)\s+(?P<source>{NAME})"),
            triggers=("said", "says", "added", "wrote")),
    Pattern("name-said", re.compile(rf"(?P<source>{NAMES}){_ADVERB}\s+{_ATTRIBUTION_VERB}\b"), split=True,
            triggers=("said", "says", "report", "told", "warn", "confirm", "state", "announced", "revealed", "disclosed",
                      "estimated", "claimed", "acknowledged", "testified")),
    # "David Sacks, who served as AI czar, reportedly warned Trump": the named speaker is the source.
    Pattern("name-reportedly-said",
            re.compile(rf"(?P<source>{NAME}){_APPOSITIVE}{_ADVERB}\s+reportedly(?:\s+(?:has|have|had))?\s+{_SPEECH_VERB}\b"),
            subject=True, triggers=("reportedly",)),
    # "The administration is reportedly preparing an order": nobody is named. The
    # source is unnamed reports, labelled so the report flags it as anonymous.
    Pattern("reportedly", re.compile(r"\b(?P<source>reportedly)\b", re.I), anonymous=True,
            label="unnamed reports", triggers=("reportedly",)),
    Pattern("allegedly", re.compile(r"\b(?P<source>allegedly)\b", re.I), anonymous=True,
            label="unnamed allegations", triggers=("allegedly",)),
)

#: Capitalised words that start a sentence or clause but are not names.
NOT_NAMES: frozenset[str] = frozenset(
    w.lower() for w in (
        "A An And As At After Although Because Before But By During Each Earlier Even For From He Her His However If In "
        "It Its Last Later Meanwhile Moreover Nor Now On Once One Or Our She Since So Some That The Their Then There These "
        "They This Those Though Thus Under Unlike Until We What When Whether Which While Who Why With Yet You Your Still "
        "Also Both Instead Separately Previously Critics Experts Analysts Officials Supporters Observers Others Many Most "
        "Several Sources Reports Researchers Advocates Lawmakers Democrats Republicans Opponents Proponents Insiders "
        "January February March April May June July August September October November December "
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Today Yesterday Tonight "
        # Parts of a document, not its author: "according to Figure 3", "under Section 230".
        "Figure Fig Table Section Chapter Page Appendix Annex Exhibit Paragraph Clause Article Slide Chart Step Rule"
    ).split()
)

#: Names that are pronoun-like or too generic to be a source by themselves.
GENERIC_SOURCES: frozenset[str] = frozenset({"i", "we", "you", "they", "he", "she", "it", "ai", "us", "u.s.", "mr", "ms", "mrs", "dr"})


@dataclass(frozen=True)
class Attribution:
    """A source named in a sentence, with the pattern that found it and where."""

    source: str
    pattern: str
    start: int
    end: int
    #: The whole phrase that named the source ("the Washington Post said"):
    #: a link over any of it means the attribution is already cited.
    phrase_start: int = 0
    phrase_end: int = 0


_POSSESSIVE = re.compile(r"['’]s$")
_INITIALS_END = re.compile(r"(?:^|\s)(?:[A-Z]\.)+[A-Z]$")


def _clean_name(raw: str) -> str:
    """Drop a leading article and clause words ("While Musk" -> "Musk"), a trailing possessive ("CDC's" ->
    "CDC": one source, one facet), and keep the last dot of initials ("U.S.")."""
    words = raw.strip(" ,.;:").split()
    while words and (words[0].lower() in NOT_NAMES or words[0].lower() in ("the", "a", "an")):
        words.pop(0)
    name = _POSSESSIVE.sub("", " ".join(words)).strip(" ,.;:")
    if _INITIALS_END.search(name) and raw.rstrip(" ,;:").endswith(name + "."):
        name += "."
    return name


def _split_names(raw: str) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+(?!(?:the\s+)?[A-Z]\w*\s+(?:Institute|Foundation|Center|Centre|Council)\b)|\s*&\s*", raw)
    return [p for p in parts if p.strip()]


def _is_subject(sentence: str, start: int, raw: str) -> bool:
    """False when the name sits in a phrase ("In Washington, ...", "officials in Washington")."""
    first = raw.split()[0].lower() if raw.split() else ""
    before = sentence[:start].split()
    previous = before[-1].lower().strip(",;:") if before else ""
    return first not in PREPOSITIONS and previous not in PREPOSITIONS


#: Sentences longer than this are not searched (no real sentence is; regexes on
#: megabytes of unpunctuated junk would take minutes).
MAX_SENTENCE_CHARS = 3000


def find_attributions(sentence: str) -> list[Attribution]:
    """Sources named in ``sentence`` (one sentence), in order, each once."""
    if len(sentence) > MAX_SENTENCE_CHARS:
        return []
    found: list[Attribution] = []
    taken: list[tuple[int, int]] = []
    lowered = sentence.lower()
    for pattern in PATTERNS:
        if pattern.triggers and not any(word in lowered for word in pattern.triggers):
            continue
        for match in pattern.regex.finditer(sentence):
            start, end = match.span("source")
            if any(s < end and start < e for s, e in taken):
                continue  # an earlier, more specific pattern already covers this span
            raw = match.group("source")
            if pattern.label is not None:
                if any(a.phrase_start <= start < a.phrase_end for a in found):
                    continue  # "Reuters reportedly said": the named source already covers it
                names = [(pattern.label, start)]
            elif pattern.subject and not _is_subject(sentence, match.start("source"), raw):
                continue
            elif pattern.anonymous:
                names = [(raw.strip(), start)]
            else:
                pieces = _split_names(raw) if pattern.split else [raw]
                names = []
                offset = start
                for piece in pieces:
                    at = sentence.find(piece, offset, end + 1)
                    offset = at + len(piece) if at >= 0 else offset
                    name = _clean_name(piece)
                    name_at = sentence.find(name, max(at, start), end + 1) if name else -1
                    names.append((name, name_at if name_at >= 0 else max(at, start)))
            for name, at in names:
                if not name or name.lower() in GENERIC_SOURCES or name.lower() in NOT_NAMES:
                    continue
                if not pattern.anonymous and not re.search(r"[A-Z]", name):
                    continue
                length = end - start if pattern.label is not None else len(name)
                found.append(Attribution(source=name, pattern=pattern.name, start=at, end=at + length,
                                         phrase_start=match.start(), phrase_end=match.end()))
            taken.append((start, end))
    found.sort(key=lambda a: a.start)
    unique: list[Attribution] = []
    seen: set[str] = set()
    for item in found:
        key = item.source.lower()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
