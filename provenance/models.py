"""Dataclasses passed between pipeline stages.

Stages speak in these types, never in loose dicts; ``to_dict`` gives the
JSON shape of the command contract (ARCHITECTURE.md), so the CLI and the
store serialise one way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

Verdict = Literal["ok", "redirect", "soft404", "dead", "blocked", "error", "unchecked"]

#: Every verdict word, in the order reports list them (worst first).
VERDICTS: tuple[str, ...] = ("dead", "soft404", "blocked", "error", "redirect", "unchecked", "ok")

#: Verdicts that say the cited source is lost or unreachable for a reader.
PROBLEM_VERDICTS: frozenset[str] = frozenset({"dead", "soft404", "blocked"})

#: Verdicts that may count toward confirmed rot (error/blocked/unchecked never do).
ROT_VERDICTS: frozenset[str] = frozenset({"dead", "soft404"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, seconds precision: the contract's time format."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Claim:
    """One thing an article asserts and the source it names for it."""

    kind: Literal["link", "attribution"]
    sentence: str
    position: int
    url: str | None = None
    anchor: str | None = None
    source: str | None = None
    #: ``#fragment`` of the cited link, kept apart so the URL checks once.
    fragment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "link":
            return {
                "kind": self.kind,
                "url": self.url,
                "anchor": self.anchor,
                "sentence": self.sentence,
                "position": self.position,
            }
        return {
            "kind": self.kind,
            "source": self.source,
            "url": self.url,
            "sentence": self.sentence,
            "position": self.position,
        }


@dataclass
class Article:
    """An input file with its metadata and the claims found in it."""

    path: str
    title: str | None = None
    published: str | None = None  # YYYY-MM-DD
    authors: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    format: str = "text"  # html | markdown | text
    content_hash: str = ""
    claims: list[Claim] = field(default_factory=list)
    #: The article's main text (maintext.reduce_page for saved pages), paragraphs on their own lines.
    text: str = ""
    #: YYYY-MM-DD the page says it was last changed (fetched pages; None when it does not say, or never changed).
    updated: str | None = None
    #: One-line notes for stderr about what was left out (claims past MAX_CLAIMS, a page read in part); not stored.
    notes: list[str] = field(default_factory=list)

    def to_dict(self, include_text: bool = False) -> dict[str, Any]:
        out = {
            "path": self.path,
            "title": self.title,
            "published": self.published,
            "authors": list(self.authors),
            "canonical_url": self.canonical_url,
            "claims": [claim.to_dict() for claim in self.claims],
        }
        if include_text:
            out["text"] = self.text
        if self.updated:  # only pages that say when they last changed (web articles, issue 16)
            out["updated"] = self.updated
        return out


@dataclass(slots=True)
class CheckResult:
    """The liveness verdict for one URL in one run (slots: a 50,000-URL run holds 50,000 of these)."""

    url: str
    verdict: Verdict
    status: int | None = None
    final_url: str | None = None
    reason: str = ""
    attempts: int = 0
    elapsed_ms: int = 0
    checked_at: str = ""
    #: Name of the signature (bot wall, soft-404 phrase ...) that decided, if any.
    signature: str | None = None
    content_type: str | None = None
    #: Decoded start of the live body, for claim support; never serialised.
    body: str | None = field(default=None, repr=False)
    #: Why ``body`` holds only the start of the page (a byte cap, a budget), None when it is whole.
    body_cut: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "verdict": self.verdict,
            "status": self.status,
            "final_url": self.final_url,
            "reason": self.reason,
            "attempts": self.attempts,
            "elapsed_ms": self.elapsed_ms,
            "checked_at": self.checked_at,
        }


@dataclass
class Snapshot:
    """The capture (Wayback or another archive's memento) chosen for a URL near a date (timestamp None: none)."""

    url: str
    timestamp: str | None = None  # YYYYMMDDhhmmss
    snapshot_url: str | None = None
    status: int | None = None
    reason: str = ""
    #: True when the lookup itself failed (network, 429, deadline): worth asking
    #: again next run, so not to be cached like a definite "no good capture".
    failed: bool = False
    #: The web archive holding the capture ("web.archive.org", "arquivo.pt"); None when there is none.
    archive: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "timestamp": self.timestamp,
            "snapshot_url": self.snapshot_url,
            "status": self.status,
            "archive": self.archive,
        }

    @property
    def date(self) -> str | None:
        """The capture day as YYYY-MM-DD (for Robust Links' data-versiondate)."""
        if not self.timestamp or len(self.timestamp) < 8:
            return None
        t = self.timestamp
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}"


@dataclass
class Drift:
    """Whether the live page still carries a claim its snapshot carried."""

    drift: bool | None
    live_score: float | None = None
    snapshot_score: float | None = None
    reason: str = ""
    #: How alike the live page and the snapshot are (0..1), when both were read.
    page_similarity: float | None = None
    #: The cited passage in the snapshot and its counterpart on the live page (None: gone), each
    #: at most ~600 characters, and a word diff between them ("[-removed-]{+added+}").
    then: str | None = None
    now: str | None = None
    diff: str | None = None

    @property
    def evidence(self) -> dict[str, str | None] | None:
        """``{"then": ..., "now": ...}`` when a passage was found in the snapshot, else None."""
        return {"then": self.then, "now": self.now} if self.then else None


def as_plain(obj: Any) -> Any:
    """dataclass -> dict for places that want every field (debugging, store)."""
    return asdict(obj)
