"""Footnotes recognised by their link structure, not by how their ids are spelled."""

from __future__ import annotations

import pytest

from provenance.extract import extract_document
from provenance.ingest import parse_document

NOTES = """<li id="n1"><a href="#r1">^</a> Smith J. (2020). Trial results. <i>Lancet</i>. https://doi.org/10.1000/xyz</li>
<li id="n2"><a href="#r2">^</a> Jones K. <a href="https://critic.example.org/op">"A critique"</a>. Example Review.</li>"""
BODY = """<p>The drug cut deaths by half.<sup id="r1"><a href="#n1">[1]</a></sup> Critics disagree.<sup><a href="#n2">[2]</a></sup></p>"""
EXPECTED = [("https://doi.org/10.1000/xyz", "[1]", "The drug cut deaths by half.[1]"),
            ("https://critic.example.org/op", "[2]", "Critics disagree.[2]")]


def run(name: str, html: str):
    trace = []
    article = extract_document(parse_document(name, html.encode()), trace)
    return [(c.url, c.anchor, c.sentence) for c in article.claims if c.kind == "link"], trace


@pytest.mark.parametrize("shape, html", [
    # ids that FOOTNOTE_ID does not know, in a list under a "References" heading
    ("references-heading", f"<html><head><title>Fn</title></head><body><article>{BODY}<h2>References</h2><ol>{NOTES}</ol>"
                           "</article></body></html>"),
    # no heading: the first note links back to the <sup id="r1"> around its marker; its list's other items follow
    ("backlink", f"<html><head><title>Fn</title></head><body><article>{BODY}<ol>{NOTES}</ol></article></body></html>"),
    # a fragment, not a page
    ("fragment", f"{BODY}<h3>Notes</h3><ol>{NOTES}</ol>"),
])
def test_notes_found_by_structure_cite_from_the_marker_sentence(shape, html):
    claims, trace = run(f"{shape}.html", html)
    assert claims == EXPECTED
    assert [r.url for r in trace if r.rule == "footnote-cited"] == ["https://doi.org/10.1000/xyz", "https://critic.example.org/op"]


def test_word_html_export_footnotes():
    html = """<html><head><title>Word Export Footnotes</title></head><body><div class="WordSection1">
<p class="MsoNormal">The drug cut deaths by half.<a href="#_ftn1" name="_ftnref1"><span class="MsoFootnoteReference">[1]</span></a> Critics disagree strongly with the result and the method used.</p>
<p class="MsoNormal">More body text that makes this a paragraph long enough for main content extraction here.</p>
</div><div style="mso-element:footnote-list"><hr align="left" size="1" width="33%">
<div style="mso-element:footnote" id="ftn1"><p class="MsoFootnoteText"><a href="#_ftnref1" name="_ftn1"><span class="MsoFootnoteReference">[1]</span></a> Smith, <a href="https://trial.example.org/results">Trial results</a>, 2020.</p></div>
</div></body></html>"""
    claims, trace = run("word.html", html)
    assert claims == [("https://trial.example.org/results", "[1]", "The drug cut deaths by half.[1]")]
    assert ("footnote-cited", "https://trial.example.org/results") in [(r.rule, r.url) for r in trace]


def test_table_of_contents_and_top_links_are_not_notes():
    html = """<html><head><title>Toc</title></head><body><article>
<ul><li><a href="#methods">Methods</a></li><li><a href="#top">Top</a></li></ul>
<p id="top">Intro that cites <a href="https://intro.example.org/a">a study</a> of the matter at hand here.</p>
<h2 id="methods">Methods</h2><p>We used <a href="https://methods.example.org/m">the method</a> described there.</p>
</article></body></html>"""
    claims, trace = run("toc.html", html)
    assert [c[0] for c in claims] == ["https://intro.example.org/a", "https://methods.example.org/m"]
    assert claims[1][1] == "the method"
    assert {r.rule for r in trace if r.url in ("#methods", "#top")} == {"fragment"}


def test_skip_link_to_the_article_is_not_a_note():
    # the article links back to the skip link ("back to top"), but it is a region, not a note
    html = """<html><head><title>Skip</title></head><body><a id="skip" href="#content">Skip to content</a>
<div id="content"><p>""" + "Body text about the matter at hand, with detail. " * 80 + """</p>
<p>The agency <a href="https://agency.example.org/r">reported</a> the figures.</p>
<p><a href="#skip">Back to top</a></p></div></body></html>"""
    claims, trace = run("skip.html", html)
    assert [(c[0], c[1]) for c in claims] == [("https://agency.example.org/r", "reported")]
    assert "footnote-cited" not in {r.rule for r in trace}
