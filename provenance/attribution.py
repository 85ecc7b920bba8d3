"""Unlinked attributions: "according to X", "X reported", "told X" ...

An unlinked attribution is a claim with a named source but no link: what an
editor must find a citation for. Patterns live in one table.
"""

from __future__ import annotations

import re

_NAME = r"((?:the )?[A-Z][\w&'’.-]*(?:\s+(?:[A-Z][\w&'’.-]*|of|and|the|for))*)"

#: (name, regex): the first group is the source as written.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("according-to", re.compile(r"\baccording to (?:reports from |a report (?:by|from) )?" + _NAME)),
    ("told", re.compile(r"\btold " + _NAME)),
    ("reported", re.compile(_NAME + r" (?:reported|said|warned|confirmed)\b")),
    ("anonymous", re.compile(r"\b(people familiar with the matter|multiple outlets|public reports)\b", re.I)),
]


def find_attributions(text: str) -> list[tuple[str, str]]:
    """Return ``(sentence, source)`` pairs found in ``text``."""
    from .extract import split_sentences

    found: list[tuple[str, str]] = []
    for sentence in split_sentences(text):
        seen: set[str] = set()
        for _name, pattern in PATTERNS:
            for match in pattern.finditer(sentence):
                source = match.group(1).strip(" .,")
                if source and source.lower() not in seen:
                    seen.add(source.lower())
                    found.append((sentence, source))
    return found
