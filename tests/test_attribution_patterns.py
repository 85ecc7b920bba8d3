"""The attribution pattern table: each named pattern, source spans, and what is not a source."""

from __future__ import annotations

import pytest

from provenance.attribution import PATTERNS, find_attributions


def sources(sentence):
    return [(a.source, a.pattern) for a in find_attributions(sentence)]


@pytest.mark.parametrize("sentence, expected", [
    ("According to reports from the Washington Post and Politico, leaders called.",
     [("Washington Post", "according-to"), ("Politico", "according-to")]),
    ("The plan stalled, according to Reuters.", [("Reuters", "according-to")]),
    ("According to a report by the Government Accountability Office, checks lapsed.",
     [("Government Accountability Office", "according-to")]),
    ("According to people familiar with the matter, the order is ready.",
     [("people familiar with the matter", "according-to-anonymous")]),
    ("Labs joined the effort, according to multiple outlets.", [("multiple outlets", "according-to-anonymous")]),
    ("Chris MacKenzie, a spokesperson, told NOTUS.", [("NOTUS", "told")]),
    ("“We refuse to stifle innovation,” Trump’s order states.", [("Trump’s order", "document-states")]),
    ("Public reports indicate a spectrum of strategies.", [("Public reports", "anonymous")]),
    ("Officials who spoke on condition of anonymity described the talks.",
     [("Officials who spoke on condition of anonymity", "anonymous")]),
    ("The Commerce Department said on Tuesday that rules would change.", [("Commerce Department", "name-said")]),
    ("While Musk later stated on social media that he had called, the order died.", [("Musk", "name-said")]),
    ("The Center for AI Safety and the AI Now Institute have warned about it.",
     [("Center for AI Safety", "name-said"), ("AI Now Institute", "name-said")]),
    ("In an interview with The Atlantic, the senator explained her vote.", [("Atlantic", "in-an-interview-with")]),
    ("The administration is reportedly preparing an order.", [("reportedly", "reportedly")]),
    ("“We are not going to back down,” said Senate Majority Leader Chuck Schumer.",
     [("Senate Majority Leader Chuck Schumer", "quote-said")]),
    ("Two officials, speaking on condition of anonymity, said the plan was dead.",
     [("Two officials, speaking on condition of anonymity", "anonymous")]),
    ("Senior administration officials who spoke on condition of anonymity described it.",
     [("Senior administration officials who spoke on condition of anonymity", "anonymous")]),
    ("In March, Apple announced a new product line.", [("Apple", "name-said")]),
    ("On Tuesday, Reuters reported the deal.", [("Reuters", "name-said")]),
])
def test_patterns(sentence, expected):
    assert sources(sentence) == expected


@pytest.mark.parametrize("sentence", [
    "The company said nothing.",                   # "The company" is not a name
    "Critics warn that oversight is lacking.",    # a generic noun, not a named source
    "He said the plan would fail.",
    "It was told in many ways.",
    "The deal was reported to regulators.",
    "",
])
def test_not_sources(sentence):
    assert find_attributions(sentence) == []


def test_every_pattern_has_a_unique_name():
    names = [p.name for p in PATTERNS]
    assert len(names) == len(set(names)) and all(names)


def test_source_span_points_at_the_source_text():
    sentence = "Prices rose, according to the Financial Times and Bloomberg."
    for found in find_attributions(sentence):
        assert sentence[found.start:found.end] == found.source


def test_same_source_twice_in_a_sentence_counts_once():
    assert sources("Reuters reported it and Reuters confirmed it.") == [("Reuters", "name-said")]


def test_pathological_sentence_is_bounded():
    assert find_attributions("D" * 100_000) == []
    assert find_attributions(("Aa " * 900) + "said.") is not None
