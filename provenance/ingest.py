"""Read article files: detect the format by content and pull metadata.

Seeds are ``.txt`` whatever they hold, so the suffix is never trusted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

#: Larger files are refused: no article is this big, and parsing it would stall a run.
MAX_ARTICLE_BYTES = 50 * 1024 * 1024
#: File suffixes a directory walk picks up.
ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".xhtml"})


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
    """Expand files and directories into the sorted list of article files."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or directory: {path}")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
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


def read_document(path: Path) -> Document:
    """Read one file; raise :class:`InputError` for unreadable or binary files."""
    try:
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise InputError(f"{path}: file too large ({size} bytes, limit {MAX_ARTICLE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_document(str(path), data)


def parse_document(name: str, data: bytes) -> Document:
    if b"\x00" in data[:8192]:
        raise InputError(f"{name}: binary file, not an article")
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(16, len(text) // 50):
        raise InputError(f"{name}: not UTF-8 text")
    content_hash = hashlib.sha256(data).hexdigest()
    front, body = split_front_matter(text)
    return Document(path=name, text=body, format=detect_format(body), content_hash=content_hash, front_matter=front)


def split_front_matter(text: str) -> tuple[dict, str]:
    """YAML front matter between ``---`` lines; unclosed or broken means none."""
    stripped = text.lstrip("\ufeff")
    if not stripped.startswith("---"):
        return {}, text
    lines = stripped.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            import yaml

            try:
                meta = yaml.safe_load("\n".join(lines[1:index])) or {}
            except yaml.YAMLError:
                meta = {}
            if not isinstance(meta, dict):
                meta = {}
            return meta, "\n".join(lines[index + 1 :])
    return {}, text


def detect_format(text: str) -> str:
    """html, markdown or text, judged from the content itself."""
    head = text[:5000].lower()
    if "<html" in head or "<!doctype html" in head or "<body" in head:
        return "html"
    import re

    tags = len(re.findall(r"</?(?:p|div|a|span|h[1-6]|ul|li|section)\b", text[:200000], re.I))
    md = len(re.findall(r"(?m)^#{1,6} |\[[^\]]+\]\([^)]+\)|^[*-] ", text[:200000]))
    if md and (tags or md >= 1):
        return "markdown"
    if tags >= 3:
        return "html"
    return "text"
