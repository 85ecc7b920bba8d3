"""The sentence splitter: abbreviations, initials, quotations, ellipses."""

from __future__ import annotations

import pytest

from provenance.sentences import quote_spans, split_sentences


@pytest.mark.parametrize("text, expected", [
    ("The order came in Feb. 2019 and again in Dec. 2020. Then it stopped.",
     ["The order came in Feb. 2019 and again in Dec. 2020.", "Then it stopped."]),
    ("Sen. Kevin Cramer spoke. Rep. Jones did not.", ["Sen. Kevin Cramer spoke.", "Rep. Jones did not."]),
    ("U.S. President Trump halted the order. Critics objected.", ["U.S. President Trump halted the order.", "Critics objected."]),
    ("Some tools, e.g. linters, help. Others do not.", ["Some tools, e.g. linters, help.", "Others do not."]),
    ("It was written by J. R. Smith in 2001. He was right.", ["It was written by J. R. Smith in 2001.", "He was right."]),
    ("Dr. Ruiz of Acme Inc. spoke at 9 a.m. Monday.", ["Dr. Ruiz of Acme Inc. spoke at 9 a.m. Monday."]),
    ('He said, "We will win. They will lose." Then he left.', ['He said, "We will win. They will lose."', "Then he left."]),
    ("“It is over. Done,” she said. Nobody replied.", ["“It is over. Done,” she said.", "Nobody replied."]),
    ("Is it true? Yes! It is.", ["Is it true?", "Yes!", "It is."]),
    ("over the past … 12 months. Then more.", ["over the past … 12 months.", "Then more."]),
    ("No punctuation at the end", ["No punctuation at the end"]),
    ("", []),
    ("  spaced   out \n text.  Next  ", ["spaced out text.", "Next"]),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_unclosed_quote_stops_protecting_after_a_while():
    text = "“An opening quote that never closes. " + "Filler sentence here. " * 80 + "Last one."
    assert len(split_sentences(text)) > 40


def test_quote_spans_pairs_curly_and_straight_quotes():
    assert quote_spans('a “b” c "d" e') == [(2, 4), (8, 10)]
