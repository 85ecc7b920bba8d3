"""Does a page still carry the claim? Content-word overlap, live vs snapshot."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from .models import Claim, Drift

#: Share of the claim's content words a page must contain to support it.
SUPPORT_THRESHOLD = 0.5

_STOPWORDS = frozenset("""a an and are as at be by for from has have in is it its of on or that the this to was were will with
which who their his her they we our not but also than into over after before about more most""".split())


def page_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("nav, header, footer, aside, script, style, noscript, form"):
        node.decompose()
    root = tree.body or tree.root
    return " ".join((root.text(separator=" ") if root else "").split())


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOPWORDS}


def support_score(claim: Claim, html: str) -> float:
    words = content_words(f"{claim.sentence} {claim.anchor or ''}")
    if not words:
        return 0.0
    page = content_words(page_text(html))
    return len(words & page) / len(words)


def judge_drift(claim: Claim, live_html: str | None, snapshot_html: str | None) -> Drift:
    if live_html is None or snapshot_html is None:
        return Drift(None, reason="live page or snapshot unavailable")
    live = support_score(claim, live_html)
    then = support_score(claim, snapshot_html)
    if then < SUPPORT_THRESHOLD:
        return Drift(None, live, then, "snapshot does not carry the claim either")
    if live >= SUPPORT_THRESHOLD:
        return Drift(False, live, then, "live page still carries the claim")
    return Drift(True, live, then, "snapshot carries the claim, live page no longer does")


def robust_link(url: str, anchor: str, snapshot_url: str | None, snapshot_date: str | None) -> str:
    """Robust Links markup (robustlinks.mementoweb.org): the link with its archived version."""
    from html import escape

    attrs = f'href="{escape(url, quote=True)}"'
    if snapshot_url:
        attrs += f' data-versionurl="{escape(snapshot_url, quote=True)}"'
    if snapshot_date:
        attrs += f' data-versiondate="{escape(snapshot_date, quote=True)}"'
    return f"<a {attrs}>{escape(anchor or url)}</a>"
