"""Reading files: paths, decoding, binary refusal, front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.ingest import InputError, collect_paths, looks_binary, parse_document, read_document, split_front_matter


def test_collect_paths_walks_directories_sorted_and_skips_hidden(tmp_path):
    (tmp_path / "b.md").write_text("b")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "img.png").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.md").write_text("c")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.html").write_text("d")
    assert [p.name for p in collect_paths([tmp_path])] == ["a.txt", "b.md", "d.html"]


def test_collect_paths_deduplicates_and_keeps_explicit_files(tmp_path):
    f = tmp_path / "notes.data"
    f.write_text("x")
    assert collect_paths([f, f, tmp_path / "." / "notes.data"]) == [f]


def test_collect_paths_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        collect_paths([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no articles"):
        collect_paths([tmp_path / "empty"])


def test_read_document_refuses_binary_and_reports_unreadable(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02garbage\xff" * 100)
    with pytest.raises(InputError, match="binary"):
        read_document(junk)
    with pytest.raises(InputError, match="cannot read"):
        read_document(tmp_path / "nope.txt")


def test_looks_binary():
    assert looks_binary(b"\x00abc")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert not looks_binary(b"plain text\n\twith tabs\r\n")
    assert not looks_binary("utf-16 text".encode("utf-16"))
    assert not looks_binary(b"")


def test_bom_and_crlf_are_normalised():
    doc = parse_document("x.txt", b"\xef\xbb\xbfLine one\r\nLine two\r\n")
    assert doc.text == "Line one\nLine two\n"


def test_declared_charset_is_used_for_non_utf8_html():
    html = '<html><head><meta charset="iso-8859-15"></head><body><p>Prix: 5 \xa4</p></body></html>'.encode("latin-1")
    assert "5 €" in parse_document("x.html", html).text


def test_front_matter_yaml_toml_unclosed_and_broken():
    assert split_front_matter("---\ntitle: A\n---\nbody\n") == ({"title": "A"}, "body\n")
    assert split_front_matter("+++\ntitle = 'B'\n+++\nbody") == ({"title": "B"}, "body")
    assert split_front_matter("---\ntitle: A\nno end\n") == ({}, "---\ntitle: A\nno end\n")
    assert split_front_matter("---\n: [\n---\nbody")[0] == {}
    assert split_front_matter("--- not a fence\n") == ({}, "--- not a fence\n")
    assert split_front_matter("---\n- a list\n---\nbody")[0] == {}


def test_front_matter_makes_plain_body_markdown():
    doc = parse_document("x.txt", b"---\ntitle: T\n---\nJust words here.\n")
    assert doc.format == "markdown" and doc.front_matter == {"title": "T"}


def test_content_hash_is_of_the_bytes():
    a = parse_document("a", b"same")
    b = parse_document("b", b"same")
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64


def test_seed_formats():
    seeds = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
    assert [read_document(p).format for p in seeds] == ["markdown", "text", "text", "text", "text"]
