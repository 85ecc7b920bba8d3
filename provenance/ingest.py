"""Read article files: decode them, detect the format by content, split front matter.

Seeds are ``.txt`` whatever they hold (the first is YAML front matter +
Markdown + raw HTML), so the file suffix is never trusted: the format is
judged from the text itself.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: Larger files are refused: no article is this big, and parsing it would stall a run.
MAX_ARTICLE_BYTES = 50 * 1024 * 1024
#: File suffixes a directory walk picks up.
ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".xhtml"})
#: Bytes looked at to decide whether a file is binary.
BINARY_SNIFF_BYTES = 8192
#: Share of control characters (other than tab/newline/CR/FF) that makes a file binary.
BINARY_CONTROL_RATIO = 0.05
#: Share of undecodable characters above which a file is not text in any encoding we try.
MAX_REPLACEMENT_RATIO = 0.02
#: Front matter longer than this is not front matter (and YAML on huge input is slow).
MAX_FRONT_MATTER_CHARS = 64 * 1024
#: Characters of the text that format detection samples.
DETECT_SAMPLE_CHARS = 200_000

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<\?xml[^>]*>\s*(?:<!doctype\s+html|<html))", re.I | re.S)
_HTML_DOC_TAG = re.compile(r"<(?:html|head|body)[\s>]", re.I)
_HTML_BLOCK_TAG = re.compile(r"</?(?:p|div|a|span|h[1-6]|ul|ol|li|section|article|table|tr|td|blockquote|em|strong|br)\b[^>]*>", re.I)
#: Strong Markdown signals: ATX heading, inline / reference link, reference
#: definition, autolink, fenced code. Bullets and ``>`` lines also occur in
#: plain text, so they do not count on their own.
_MARKDOWN_SIGNAL = re.compile(
    r"(?m)^#{1,6}[ \t]+\S|\[[^\[\]\n]{1,300}\]\([^()\s]{1,2000}(?:\s+\"[^\"\n]{0,300}\")?\)"
    r"|\[[^\[\]\n]{1,300}\]\[[^\[\]\n]{0,300}\]"
    r"|^[ ]{0,3}\[[^\[\]\n]{1,300}\]:[ \t]*\S|<https?://[^>\s]{1,2000}>|^[ ]{0,3}(?:```|~~~)"
)


class InputError(Exception):
    """Bad input the user can fix: the message is one line, shown as is."""


@dataclass
class Document:
    """A file's text, its detected format and front-matter metadata."""

    path: str
    text: str
    format: str  # html | markdown | text
    content_hash: str
    front_matter: dict = field(default_factory=dict)


def collect_paths(paths: list[Path]) -> list[Path]:
    """Expand files and directories into the sorted list of article files.

    A directory contributes its article-suffixed files (hidden ones skipped);
    a file named explicitly is taken whatever its suffix.
    """
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or directory: {path}")
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise InputError(f"no articles (.txt, .md, .html) in directory: {path}")
            found.extend(files)
        else:
            found.append(path)
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def read_bytes(path: Path, limit: int = MAX_ARTICLE_BYTES) -> bytes:
    """The bytes of a regular file, at most ``limit``; InputError (one line) for anything else.

    A FIFO, ``/dev/zero`` or a socket would block or never end, and their
    stat size says nothing, so they are refused before reading; the file is
    opened non-blocking (a FIFO swapped in after the stat cannot block the
    open) and read only up to ``limit + 1`` bytes, whatever it claims to hold.
    """
    try:
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(f"{path}: not a regular file (a device, FIFO or socket is not an article)")
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise InputError(f"{path}: file too large (over {limit} bytes)")
    return data


def read_document(path: Path) -> Document:
    """Read one file; raise :class:`InputError` for unreadable, huge, binary or non-regular files."""
    return parse_document(str(path), read_bytes(path))


def parse_document(name: str, data: bytes) -> Document:
    """Decode ``data``, split off front matter and detect the format."""
    if looks_binary(data):
        raise InputError(f"{name}: binary file, not an article")
    text = decode(data)
    if text.count("\ufffd") > max(16, int(len(text) * MAX_REPLACEMENT_RATIO)):
        raise InputError(f"{name}: not readable text (unknown encoding)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    front, body = split_front_matter(text)
    fmt = detect_format(body)
    if front and fmt == "text":
        # Front matter is what static site generators put on Markdown files.
        fmt = "markdown"
    return Document(path=name, text=body, format=fmt, content_hash=hashlib.sha256(data).hexdigest(),
                    front_matter=front)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters near the start: not an article."""
    sample = data[:BINARY_SNIFF_BYTES]
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text carries NULs; decode() handles it
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) * BINARY_CONTROL_RATIO


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by BOM, a declared HTML charset, else cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    # UTF-8 with a few bad bytes (a truncated or spliced file) has more good
    # multi-byte characters than bad ones; otherwise it is legacy Windows text.
    utf8 = data.decode("utf-8", errors="replace")
    bad = utf8.count("\ufffd")
    good = sum(1 for ch in utf8 if ord(ch) > 127) - bad
    if good > bad:
        return utf8
    return data.decode("cp1252", errors="replace")


def split_front_matter(text: str) -> tuple[dict, str]:
    """YAML (``---``) or TOML (``+++``) front matter; unclosed or broken means none.

    An unclosed block is left in the body: it is then just text, and the
    article is still read rather than refused.
    """
    stripped = text.lstrip("\ufeff")
    first_line, _, rest = stripped.partition("\n")
    fence = first_line.strip()
    if fence not in ("---", "+++"):
        return {}, text
    closers = ("---", "...") if fence == "---" else ("+++",)
    match = re.search(r"(?m)^(" + "|".join(re.escape(c) for c in closers) + r")[ \t]*$", rest[:MAX_FRONT_MATTER_CHARS])
    if not match:
        return {}, text
    raw = rest[: match.start()]
    body = rest[match.end():].lstrip("\n")
    meta: object
    try:
        meta = yaml.safe_load(raw) if fence == "---" else tomllib.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError, RecursionError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    return meta, body


def detect_format(text: str) -> str:
    """``html``, ``markdown`` or ``text``, judged from the content itself.

    A full HTML document is HTML. Otherwise Markdown signals (headings,
    ``[text](url)``, reference links, autolinks, fences) make it Markdown
    even with raw HTML inside (Hugo and Jekyll write that); an HTML
    fragment with no Markdown signal is HTML; anything else is plain text.
    """
    sample = text[:DETECT_SAMPLE_CHARS]
    if _HTML_START.match(sample) or len(_HTML_DOC_TAG.findall(sample[:20000])) >= 2:
        return "html"
    tags = len(_HTML_BLOCK_TAG.findall(sample))
    markdown = len(_MARKDOWN_SIGNAL.findall(sample))
    if markdown and tags > markdown * 50:
        return "html"  # an HTML fragment that happens to contain "[x](y)" once
    if markdown:
        return "markdown"
    if tags >= 3:
        return "html"
    return "text"
