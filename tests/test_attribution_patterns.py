"""The attribution pattern table: each named pattern, source spans, and what is not a source."""

from __future__ import annotations

import pytest

import sqlite3
from pathlib import Path

import yaml

from provenance import report
from provenance.attribution import PATTERNS, find_attributions

METADATA = Path(__file__).resolve().parent.parent / "db" / "metadata.yml"


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
    ("The administration is reportedly preparing an order.", [("unnamed reports", "reportedly")]),
    ("The executive order reportedly prioritizes cybersecurity.", [("unnamed reports", "reportedly")]),
    ("Apple is reportedly preparing a phone.", [("unnamed reports", "reportedly")]),   # Apple is the topic, not the source
    ("David Sacks reportedly took the job.", [("unnamed reports", "reportedly")]),     # no speech verb: not his words
    ("The suspect allegedly stole a car.", [("unnamed allegations", "allegedly")]),
    ('Billionaire investor David Sacks, who recently served as a White House "AI czar," reportedly warned '
     "U.S. President Trump that the order would benefit foreign competitors.", [("David Sacks", "name-reportedly-said")]),
    ("Sam Altman, the chief executive of OpenAI, reportedly urged lawmakers to act.",
     [("Sam Altman", "name-reportedly-said")]),
    ("Musk reportedly warned the President.", [("Musk", "name-said")]),
    ("Reuters reportedly said so.", [("Reuters", "name-said")]),                      # named: no "unnamed reports" too
    ("In Washington, the administration, reportedly warned allies.", [("unnamed reports", "reportedly")]),
    ("“We are not going to back down,” said Senate Majority Leader Chuck Schumer.",
     [("Senate Majority Leader Chuck Schumer", "quote-said")]),
    ("Two officials, speaking on condition of anonymity, said the plan was dead.",
     [("Two officials, speaking on condition of anonymity", "anonymous")]),
    ("Senior administration officials who spoke on condition of anonymity described it.",
     [("Senior administration officials who spoke on condition of anonymity", "anonymous")]),
    ("In March, Apple announced a new product line.", [("Apple", "name-said")]),
    ("On Tuesday, Reuters reported the deal.", [("Reuters", "name-said")]),
    # Initials end with their dot; a possessive is not part of the name (one source, one datasette facet).
    ("According to the U.S. Census Bureau, the population grew.", [("U.S. Census Bureau", "according-to")]),
    ("According to the CDC's website, cases fell.", [("CDC", "according-to")]),
    ("According to the Chicago Tribune's report, the budget grew.", [("Chicago Tribune", "according-to")]),
])
def test_patterns(sentence, expected):
    assert sources(sentence) == expected


@pytest.mark.parametrize("sentence", [
    "The company said nothing.",                   # "The company" is not a name
    "Critics warn that oversight is lacking.",    # a generic noun, not a named source
    "He said the plan would fail.",
    "It was told in many ways.",
    "The deal was reported to regulators.",
    "According to Monday's filing, the company lost money.",   # a day, possessive or not
    "According to Figure 3, the trend is flat.",               # a part of a document, not its author
    "According to Section 230, platforms are not liable.",
    "",
])
def test_not_sources(sentence):
    assert find_attributions(sentence) == []


def test_every_pattern_has_a_unique_name():
    names = [p.name for p in PATTERNS]
    assert len(names) == len(set(names)) and all(names)


def test_source_span_points_at_the_source_text():
    sentence = "Prices rose, according to the Financial Times and Bloomberg."
    found = find_attributions(sentence)
    assert [f.source for f in found] == ["Financial Times", "Bloomberg"]
    for one in found:
        assert sentence[one.start:one.end] == one.source


def test_same_source_twice_in_a_sentence_counts_once():
    assert sources("Reuters reported it and Reuters confirmed it.") == [("Reuters", "name-said")]


def test_pathological_sentence_is_bounded():
    assert find_attributions("D" * 100_000) == []
    sentence = ("Aa " * 900) + "said."
    found = find_attributions(sentence)  # bounded by the test's timeout; a result, not a hang
    assert isinstance(found, list) and len(found) == 1
    assert found[0].pattern == "name-said" and sentence[found[0].start:found[0].end] == found[0].source


def test_reportedly_is_never_recorded_as_a_source():
    for sentence in ("The Trump administration is reportedly preparing a new executive order on AI safety.",
                     "Officials allegedly hid the report.", "It was reportedly delayed."):
        found_all = find_attributions(sentence)
        assert len(found_all) == 1, sentence  # the unnamed label itself is what must be found
        for found in found_all:
            assert found.source.lower() not in ("reportedly", "allegedly"), sentence
            assert found.source.startswith("unnamed "), sentence


def test_unnamed_labels_cover_the_word_they_stand_for():
    sentence = "The administration is reportedly preparing an order."
    (found,) = find_attributions(sentence)
    assert sentence[found.start:found.end] == "reportedly"
    assert sentence[found.phrase_start:found.phrase_end] == "reportedly"


def _metadata_flags(sources: list[str]) -> dict[str, bool]:
    """Run the datasette canned query ``unlinked_attributions`` on a tiny database: source -> flagged."""
    sql = yaml.safe_load(METADATA.read_text())["databases"]["provenance"]["queries"]["unlinked_attributions"]["sql"]
    conn = sqlite3.connect(":memory:")
    conn.executescript("create table articles (id integer primary key, title text, path text, removed_at text);"
                       "create table claims (id integer primary key, article_id int, kind text, position int, "
                       "source text, sentence text);"
                       "insert into articles values (1, 'A', 'a.md', null);")
    conn.executemany("insert into claims (article_id, kind, position, source, sentence) values (1, 'attribution', ?, ?, 's')",
                     list(enumerate(sources, 1)))
    rows = conn.execute(sql).fetchall()
    conn.close()
    return {row[2]: row[3] == "yes" for row in rows}


def test_anonymous_labels_are_flagged_by_the_report_and_the_canned_query():
    labels = [p.label for p in PATTERNS if p.label]
    assert "unnamed reports" in labels
    # "reportedly" as written is what earlier versions stored: still flagged.
    anonymous = labels + ["reportedly", "allegedly", "people familiar with the matter", "multiple outlets"]
    named = ["David Sacks", "Washington Post", "Reuters"]
    flags = _metadata_flags(anonymous + named)
    for source in anonymous:
        assert report.is_anonymous(source), source
        assert flags[source] is True, source
    for source in named:
        assert not report.is_anonymous(source), source
        assert flags[source] is False, source
