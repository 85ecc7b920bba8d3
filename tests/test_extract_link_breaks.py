"""Links whose text crosses a line break or wraps block elements are claims (or traced), never silently dropped."""

from __future__ import annotations

from provenance.extract import extract_document
from provenance.ingest import parse_document


def run(name: str, text: str):
    trace = []
    article = extract_document(parse_document(name, text.encode()), trace)
    return article, trace


def link(article, url):
    found = [c for c in article.claims if c.kind == "link" and c.url == url]
    assert len(found) == 1, [(c.url, c.anchor) for c in article.claims]
    return found[0]


BR_PAGE = """<html><head><title>BR test</title></head><body><article>
<p>The budget office published <a href="https://br.example.org/report">its annual
<br>report</a> in May.</p>
<p>See the data from<br><a href="https://br2.example.org/x">the agency</a> on jobs.</p>
</article></body></html>"""


def test_br_inside_anchor_text_is_a_space_and_keeps_the_sentence():
    article, _ = run("br.html", BR_PAGE)
    claim = link(article, "https://br.example.org/report")
    assert claim.anchor == "its annual report"
    assert claim.sentence == "The budget office published its annual report in May."
    assert link(article, "https://br2.example.org/x").anchor == "the agency"


def test_br_inside_anchor_in_a_fragment():
    article, _ = run("f.html", '<p>They cite <a href="https://frag.example.org/a">the<br/>survey</a> twice.</p>')
    claim = link(article, "https://frag.example.org/a")
    assert (claim.anchor, claim.sentence) == ("the survey", "They cite the survey twice.")


def test_markdown_hard_break_inside_link_text():
    text = ("# Soft Wrap Test\n\nThe office released [its annual\nreport](https://mdsoft.example.org/r) in May.\n\n"
            "The office released [its annual  \nreport](https://mdhard.example.org/r) in May.\n")
    article, _ = run("soft.md", text)
    for url in ("https://mdsoft.example.org/r", "https://mdhard.example.org/r"):
        claim = link(article, url)
        assert (claim.anchor, claim.sentence) == ("its annual report", "The office released its annual report in May.")


def test_card_link_wrapping_blocks_is_traced_with_its_heading():
    page = """<html><head><title>Block Anchors</title></head><body><article>
<p>The report was covered widely in the press this week across many outlets and in depth.</p>
<a href="https://card.example.org/story"><div><h3>Card headline here</h3><p>Card summary text.</p></div></a>
<p>Soft <a href="https://soft.example.org/x">wrapped
anchor text</a> here.</p>
</article></body></html>"""
    article, trace = run("blocka.html", page)
    # a card (like the breadcrumbs and teasers wrapped this way on real pages) is not a citation,
    # but it is traced once, by its heading, rather than vanishing
    assert "https://card.example.org/story" not in [c.url for c in article.claims]
    traced = [(r.rule, r.text) for r in trace if r.url == "https://card.example.org/story"]
    assert traced == [("block-link", "Card headline here")]
    assert link(article, "https://soft.example.org/x").anchor == "wrapped anchor text"


def test_link_wrapping_paragraphs_is_traced_not_dropped():
    article, trace = run("f.html", '<p>Intro text here.</p><a href="https://blk.example.org/"><p>Block text</p><p>More</p></a>'
                                   '<p>After <a href="https://after.example.org/">the link</a> ends.</p>')
    assert "https://blk.example.org/" not in [c.url for c in article.claims]
    assert ("block-link", "https://blk.example.org/", "Block text") in [(r.rule, r.url, r.text) for r in trace]
    assert link(article, "https://after.example.org/").sentence == "After the link ends."
