"""Hostile input: every case gives a result or a clear InputError, never a crash or a hang."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.extract import MAX_BLOCK_CHARS, MAX_CLAIMS, extract_document, extract_file
from provenance.ingest import InputError, parse_document

ROOT = Path(__file__).resolve().parent.parent


def extract_bytes(data: bytes, name: str = "x.txt"):
    return extract_document(parse_document(name, data))


def test_empty_file_gives_an_empty_article(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    article = extract_file(path)
    assert article.claims == [] and article.title is None


def test_whitespace_only():
    assert extract_bytes(b"  \n\n\t \n").claims == []


def test_binary_junk_is_a_clear_input_error():
    with pytest.raises(InputError, match="binary"):
        extract_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match="binary"):
        extract_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x10" * 500)


def test_long_run_of_one_letter_is_bounded():
    assert extract_bytes(b"D" * 100_000).claims == []


def test_twenty_megabyte_html_page():
    para = ('<p>The agency <a href="https://example.org/r/%d">said</a> on Monday, according to Reuters, '
            "that costs rose. Another sentence here with more words.</p>\n")
    html = ("<html><head><title>Big</title><script>" + "var x = 1;" * 200_000 + "</script></head><body><article>"
            + "".join(para % i for i in range(120_000)) + "</article></body></html>")
    assert len(html) > 20_000_000
    article = extract_bytes(html.encode(), "big.html")
    assert article.title == "Big"
    assert 0 < len(article.claims) <= MAX_CLAIMS
    first = article.claims[0]
    assert first.kind == "attribution" or first.url.startswith("https://example.org/r/")


def test_twenty_megabyte_single_paragraph():
    html = ("<html><body><p>The agency <a href='https://x.example/early'>said</a> on Monday that costs rose. "
            + "Word. " * 3_500_000 + "<a href='https://x.example/late'>x</a></p>"
            "<p>The court <a href='https://x.example/next'>ruled</a> on Friday that the law stands.</p></body></html>")
    assert len(html) > 20_000_000
    article = extract_bytes(html.encode(), "para.html")
    # The paragraph is read up to MAX_BLOCK_CHARS: its first link is found with its own sentence, the one
    # 21 MB in is past the bound (documented), and the next paragraph is read as usual.
    assert [(c.kind, c.url, c.anchor, c.sentence) for c in article.claims] == [
        ("link", "https://x.example/early", "said", "The agency said on Monday that costs rose."),
        ("link", "https://x.example/next", "ruled", "The court ruled on Friday that the law stands."),
    ]
    assert html.index("x.example/late") > MAX_BLOCK_CHARS


@pytest.mark.parametrize("tag", ["div", "blockquote", "section", "ul"])
def test_deeply_nested_tags_are_flattened_not_quadratic(tag):
    html = "<html><body>" + f"<{tag}>" * 100_000 + "<p>deep <a href='https://deep.example/'>link</a> here.</p></body></html>"
    article = extract_bytes(html.encode(), "deep.html")
    assert [c.url for c in article.claims] == ["https://deep.example/"]


@pytest.mark.parametrize("markup, expected", [
    (b"<html><body><p>Unclosed <a href='https://ok.example/a'>link <p>para <table><td>cell</span></div></body>",
     [("https://ok.example/a", "link")]),
    (b"<p>one <a href=https://ok.example/a>unquoted</a> <a href='https://ok.example/b'>b <a href='https://ok.example/c'>c</a></p>",
     [("https://ok.example/a", "unquoted"), ("https://ok.example/b", "b"), ("https://ok.example/c", "c")]),
    (b"<div><p>stray </b></i></a></p></div></div></div><p>and <a href='https://ok.example/d'>more</a></p>",
     [("https://ok.example/d", "more")]),
    # the link inside the unclosed comment is a comment, not a citation
    (b"<<<<>>>><a href='https://ok.example/e'>weird</a><!-- unclosed comment <a href='https://no.example/'>x</a>",
     [("https://ok.example/e", "weird")]),
    (b"<p>attr junk <a href=\"https://ok.example/f\" class=\"x\"\" =\"\" onclick='>'>f</a></p><div></div><div></div>",
     [("https://ok.example/f", "f")]),
])
def test_broken_markup(markup, expected):
    article = extract_bytes(markup, "broken.html")
    assert [(c.url, c.anchor) for c in article.claims] == expected
    for c in article.claims:
        assert c.kind == "link" and c.anchor in c.sentence


def test_unclosed_front_matter_is_read_as_text_not_refused():
    article = extract_bytes(b"---\ntitle: x\nauthor: y\n\nSome text [link](https://example.org/a) here.\n")
    assert [c.url for c in article.claims] == ["https://example.org/a"]
    assert article.title is None


def test_broken_yaml_front_matter_is_ignored():
    article = extract_bytes(b"---\ntitle: [unclosed\n: : :\n---\n# Heading\n\nSee [a](https://a.example/).\n")
    assert [c.url for c in article.claims] == ["https://a.example/"]


#: A normal paragraph after the hostile part: it must still be read, with its sentence.
AFTER = "\n\nThe agency [said](https://ok.example/after) on Monday that costs rose.\n"


@pytest.mark.parametrize("text, junk_urls", [
    (">" * 100_000 + " text [a](https://e.example/)\n", {"https://e.example/"}),
    ("".join("  " * i + "- item\n" for i in range(3000)), set()),
    ("[" * 200_000 + "x" + "](https://e.example/)" * 1000, {"https://e.example/"}),
    ("*a **b " * 200_000, set()),
])
def test_pathological_markdown(text, junk_urls):
    alone = extract_bytes(text.encode(), "p.md")
    # the junk itself yields at most the one URL it contains
    assert {c.url for c in alone.claims} <= junk_urls
    assert all(c.kind == "link" for c in alone.claims)
    article = extract_bytes((text + AFTER).encode(), "p.md")
    after = [c for c in article.claims if c.url == "https://ok.example/after"]
    assert len(after) == 1, [(c.url, c.sentence[:80]) for c in article.claims]
    assert after[0].sentence.startswith("The agency") and after[0].sentence.endswith("on Monday that costs rose.")
    assert {c.url for c in article.claims} - junk_urls == {"https://ok.example/after"}


def test_pathological_heading_is_a_title_not_links():
    """50,000 unclosed "[x](" in a heading: a title, no link, and the next paragraph is read."""
    article = extract_bytes(("# " + "[x](" * 50_000 + AFTER).encode(), "p.md")
    assert article.title is not None and article.title.startswith("[x]([x](")
    assert [(c.url, c.anchor, c.sentence) for c in article.claims] == [
        ("https://ok.example/after", "said", "The agency said on Monday that costs rose.")]


def test_legacy_encodings():
    cp1252 = "<html><body><p>Caf\xe9 \u201cquoted\u201d <a href='https://e.example/'>link</a>.</p></body></html>"
    article = extract_bytes(cp1252.encode("cp1252"), "c.html")
    assert article.claims[0].sentence == "Café “quoted” link."
    utf16 = "<p>Hi <a href='https://e.example/'>there</a> friend.</p><p>x</p><div>y</div>"
    assert extract_bytes(utf16.encode("utf-16"), "u.html").claims[0].anchor == "there"


def test_cli_reports_binary_as_one_line_and_goes_on(tmp_path):
    (tmp_path / "a.md").write_text("# T\n\nSee [x](https://x.example/).\n")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01" * 100)
    (tmp_path / "c.txt").write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "provenance", "extract", str(tmp_path), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert [Path(a["path"]).name for a in json.loads(proc.stdout)] == ["a.md", "c.txt"]
    assert "b.txt" in proc.stderr and "Traceback" not in proc.stderr


def test_markup_inside_scripts_does_not_trigger_flattening():
    # "<div>" strings in JavaScript are not nesting; flattening this page would lose <nav>.
    html = ("<html><head><script>var t = '" + "<div>" * 5000 + "';</script></head><body>"
            "<nav><a href='https://site.example/menu'>Menu</a></nav>"
            "<p>The court <a href='https://court.example/ruling'>ruled</a> on Friday that the law stands.</p></body></html>")
    article = extract_bytes(html.encode(), "s.html")
    assert [c.url for c in article.claims] == ["https://court.example/ruling"]
