"""Each input format (HTML page, HTML fragment, Markdown, plain text) and its metadata."""

from __future__ import annotations

import pytest

from provenance.extract import extract_document
from provenance.ingest import detect_format, parse_document


def extract(text: str, name: str = "a.txt", trace=None):
    return extract_document(parse_document(name, text.encode("utf-8")), trace)


def link_claims(article):
    return [(c.url, c.anchor, c.sentence) for c in article.claims if c.kind == "link"]


@pytest.mark.parametrize("text, expected", [
    ("<!DOCTYPE html><html><body><p>x</p></body></html>", "html"),
    ("  <html lang=en><p>x", "html"),
    ("<div><p>One <a href='https://e.org/'>two</a></p><p>three</p></div>", "html"),
    ("# Title\n\nSome *text* and [a link](https://e.org/).\n", "markdown"),
    ("Intro with a [reference][r].\n\n[r]: https://e.org/\n", "markdown"),
    ("<div>\n\n## Heading\n\n<p>raw html <a href='https://e.org'>x</a></p>\n</div>\n", "markdown"),
    ("Just a plain paragraph.\n\nAnother one, see https://e.org/x.\n", "text"),
    ("  • bullet one\n  • bullet two\n- dash item\n", "text"),
    ("", "text"),
])
def test_format_is_detected_by_content(text, expected):
    assert detect_format(text) == expected


def test_suffix_is_not_trusted():
    article = extract("# Heading\n\nSee [the report](https://example.org/report).\n", name="post.html")
    assert article.format == "markdown"
    assert link_claims(article) == [("https://example.org/report", "the report", "See the report.")]


def test_markdown_inline_reference_autolink_and_raw_html():
    text = """---
title: "Front matter title"
date: 2023-05-06
author: Jane Roe
canonical_url: https://blog.example/posts/one/
---
# Heading

The first study is [here](https://a.example/study "Study") and the second [there][second]. The data sit
at <https://data.example/set>. Raw HTML passes through: <a href="https://raw.example/page">raw link</a>.

<p>An HTML paragraph with <a href="/relative/path">a relative link</a>.</p>

![a chart](https://img.example/chart.png)

[second]: https://b.example/other
"""
    article = extract(text)
    assert article.format == "markdown"
    assert article.title == "Front matter title"
    assert article.published == "2023-05-06"
    assert article.authors == ["Jane Roe"]
    assert article.canonical_url == "https://blog.example/posts/one/"
    first = "The first study is here and the second there."
    assert link_claims(article) == [
        ("https://a.example/study", "here", first),
        ("https://b.example/other", "there", first),
        ("https://data.example/set", "https://data.example/set", "The data sit at https://data.example/set."),
        ("https://raw.example/page", "raw link", "Raw HTML passes through: raw link."),
        ("https://blog.example/relative/path", "a relative link", "An HTML paragraph with a relative link."),
    ]


def test_toml_front_matter():
    article = extract('+++\ntitle = "Hugo post"\ndate = 2021-02-03T10:00:00Z\nauthors = ["A. Writer"]\n+++\nBody text.\n')
    assert (article.title, article.published, article.authors) == ("Hugo post", "2021-02-03", ["A. Writer"])


def test_html_page_metadata_from_meta_tags():
    page = """<!doctype html><html><head>
<title>Ignored Title | Site</title>
<meta property="og:title" content="The Real Headline">
<meta property="article:published_time" content="2022-01-31T08:00:00Z">
<meta name="author" content="Ann One, Bob Two">
<link rel="canonical" href="https://news.example/2022/01/real-headline">
</head><body><article><h1>The Real Headline</h1>
<p>Officials confirmed the figures in a <a href="/docs/report.pdf">report</a> released on Monday, which covers every region.</p>
</article></body></html>"""
    article = extract(page, name="page.txt")
    assert article.format == "html"
    assert article.title == "The Real Headline"
    assert article.published == "2022-01-31"
    assert article.authors == ["Ann One", "Bob Two"]
    assert article.canonical_url == "https://news.example/2022/01/real-headline"
    assert link_claims(article)[0][0] == "https://news.example/docs/report.pdf"


def test_html_title_falls_back_to_title_tag_without_site_suffix():
    article = extract("<html><head><title>Budget Talks Collapse - The Courier</title></head><body><p>x</p></body></html>")
    assert article.title == "Budget Talks Collapse"


def test_jsonld_metadata():
    page = """<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[
{"@type":"NewsArticle","headline":"From JSON-LD","datePublished":"2020-07-04T12:00:00Z",
 "author":[{"@type":"Person","name":"Carla Three"}]}]}</script></head><body><p>Text.</p></body></html>"""
    article = extract(page)
    assert (article.title, article.published, article.authors) == ("From JSON-LD", "2020-07-04", ["Carla Three"])


def test_plain_text_bare_urls_trimmed_of_punctuation_and_brackets():
    text = ("Plain Text Headline About Links\n\n"
            "The filing (https://court.example/case/123) was posted on Monday. "
            "See also https://en.wikipedia.example/wiki/Foo_(bar), and www.agency.example/report.\n\n"
            "Quoted: \"https://q.example/x?utm_source=feed&id=7\".\n")
    article = extract(text)
    assert article.title == "Plain Text Headline About Links"
    assert [(u, a) for u, a, _s in link_claims(article)] == [
        ("https://court.example/case/123", "https://court.example/case/123"),
        ("https://en.wikipedia.example/wiki/Foo_(bar)", "https://en.wikipedia.example/wiki/Foo_(bar)"),
        ("https://www.agency.example/report", "www.agency.example/report"),
        ("https://q.example/x?id=7", "https://q.example/x?utm_source=feed&id=7"),
    ]
    assert link_claims(article)[0][2] == "The filing (https://court.example/case/123) was posted on Monday."


@pytest.mark.parametrize("written, url", [
    ("Read https://ellip.example.org/b\u2026 and on.", "https://ellip.example.org/b"),
    ("The report https://dash.example.org/c\u2014then more.", "https://dash.example.org/c"),
    ("The report https://en.example.org/c\u2013then more.", "https://en.example.org/c"),
    ("\u8bf7\u770b https://cjk.example.org/g\u3002\u4e0b\u4e00\u53e5", "https://cjk.example.org/g"),
    ("\u53c2\u89c1\uff08https://cjk.example.org/h\uff09\u3002", "https://cjk.example.org/h"),
    ("Zero-width https://zw.example.org/g\u200bhidden text.", "https://zw.example.org/g"),
    ("Curly \u201chttps://curly.example.org/a\u201d said.", "https://curly.example.org/a"),
    # Near misses: what a URL does hold stays in it.
    ("Three dots https://dots.example.org/b... and on.", "https://dots.example.org/b"),
    ("A page https://ja.example.org/wiki/\u65e5\u672c here.", "https://ja.example.org/wiki/%E6%97%A5%E6%9C%AC"),
    ("A slug https://news.example.org/2024/05/a-b-c here.", "https://news.example.org/2024/05/a-b-c"),
])
def test_a_written_out_url_ends_where_no_url_goes_on(written, url):
    """An ellipsis, a dash, CJK punctuation, a curly quote or a zero-width mark glued to a URL is not part of it
    (kept, a working link would be checked as a page that does not exist)."""
    article = extract("A Headline About Written Out Links\n\n" + written + "\n")
    assert [u for u, _a, _s in link_claims(article)] == [url]


def test_plain_text_lines_are_blocks_and_bullets_are_items():
    text = "A Headline For The Story\n  • First point, according to Reuters.\n  • Second point\nA paragraph that Politico reported.\n"
    article = extract(text)
    assert [(c.source, c.sentence) for c in article.claims] == [
        ("Reuters", "First point, according to Reuters."),
        ("Politico", "A paragraph that Politico reported."),
    ]


def test_hard_wrapped_plain_text_joins_lines():
    text = ("Wrapped Text Article Headline Here\n\nThe agency posted figures, which cover\n"
            "every region, at https://stats.example/2024 on Friday. The New York Times reported it first.\n")
    article = extract(text)
    [link, nyt] = article.claims
    assert link.sentence == ("The agency posted figures, which cover every region, at https://stats.example/2024 "
                             "on Friday.")
    assert (nyt.source, nyt.sentence) == ("New York Times", "The New York Times reported it first.")


def test_plain_text_byline_and_date_after_the_headline():
    text = ("Politics\n\nSenate Passes Water Bill After All-Night Session\nBy Jane Doe and Raj Patel | March 3, 2024\n\n"
            "The Senate passed the bill at dawn, according to the Associated Press.\n")
    article = extract(text)
    assert article.title == "Senate Passes Water Bill After All-Night Session"
    assert article.authors == ["Jane Doe", "Raj Patel"]
    assert article.published == "2024-03-03"
    assert [c.source for c in article.claims] == ["Associated Press"]
    text = "A Headline With Enough Words\nBy Sam Lee\nJune 5, 2023\nBody text that Reuters reported.\n"
    article = extract(text)
    assert (article.authors, article.published) == (["Sam Lee"], "2023-06-05")


def test_markdown_footnotes_cite_from_the_marker_sentence():
    text = """# Post

The figure rose sharply.[^1] Wages fell in the same period, as a [survey](https://survey.example/) showed.[^w]

[^1]: Source: https://stats.example/table-1, retrieved 2024.
[^w]: See [the wage report](https://wages.example/report) and
    [its appendix](https://wages.example/appendix).
"""
    trace = []
    article = extract(text, "f.md", trace)
    assert link_claims(article) == [
        ("https://stats.example/table-1", "[1]", "The figure rose sharply.[1]"),
        ("https://survey.example/", "survey", "Wages fell in the same period, as a survey showed.[w]"),
        ("https://wages.example/report", "[w]", "Wages fell in the same period, as a survey showed.[w]"),
        ("https://wages.example/appendix", "[w]", "Wages fell in the same period, as a survey showed.[w]"),
    ]
    assert [r.rule for r in trace].count("footnote-cited") == 3


def test_html_footnote_marker_resolves_to_the_note_link():
    page = """<html><body><article><h1>T</h1>
<p>Emissions dropped 4% last year.<sup><a href="#fn1" id="ref1">1</a></sup> Another sentence here.</p>
<p>More body text that is long enough to count as a paragraph in scoring, with commas, and more words.</p>
<section class="footnotes"><ol><li id="fn1"><p>Agency data, <a href="https://agency.example/data">table 3</a>.
<a href="#ref1">back</a></p></li></ol></section></article></body></html>"""
    article = extract(page, "f.html")
    assert link_claims(article) == [("https://agency.example/data", "1", "Emissions dropped 4% last year.1")]


@pytest.mark.parametrize("name, link", [("a.md", "[source {i}](https://example.org/{i})"),
                                        ("a.html", '<a href="https://example.org/{i}">source {i}</a>'),
                                        ("a.txt", "https://example.org/{i}")])
def test_links_past_a_blocks_cap_are_noted_and_traced_not_lost_silently(name, link):
    """One paragraph past MAX_BLOCK_CHARS: its links past the cap are left out, with a note and a trace rule
    that says so (not "no-anchor-text")."""
    from provenance.extract import MAX_BLOCK_CHARS

    words = "Filler words that carry no link at all here. " * (MAX_BLOCK_CHARS // 45 + 10)
    late = " ".join(link.format(i=i) for i in range(3))
    body = f"Early claim per {link.format(i=99)} said. {words} Late claims {late} said."
    text = (f"<html><body><h1>A Long Page</h1><p>{body}</p></body></html>" if name.endswith(".html")
            else f"A Long Page Headline\n\n{body}\n")
    trace: list = []
    article = extract(text, name, trace)
    assert [u for u, _a, _s in link_claims(article)] == ["https://example.org/99"]
    assert len(article.notes) == 1 and "3 links past the first" in article.notes[0], article.notes
    assert sorted(r.url for r in trace if r.rule == "block-truncated") == [f"https://example.org/{i}" for i in range(3)]
    assert not any(r.rule == "no-anchor-text" for r in trace)
    # Near miss: under the cap, nothing is left out or noted.
    short = extract(text.replace(words, "A few words. "), name)
    assert len(link_claims(short)) == 4 and short.notes == []
