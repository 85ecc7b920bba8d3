"""Response -> verdict. Site knowledge lives in the SIGNATURES table.

A signature has a name so that a report can say which one fired; a new
site is one new row, not a new ``if``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    name: str
    verdict: str
    #: statuses this applies to (empty: any)
    statuses: frozenset[int]
    #: regex searched in the lower-cased start of the body (None: status/header only)
    body: re.Pattern[str] | None = None
    #: header name that must be present (lower-case), if any
    header: str | None = None
    reason: str = ""


SIGNATURES: list[Signature] = [
    Signature("cloudflare-challenge", "blocked", frozenset({403, 503, 429}), re.compile(r"just a moment|cf-chl|challenge-platform"), None, "Cloudflare bot challenge"),
    Signature("cloudflare-mitigated", "blocked", frozenset({403, 503}), None, "cf-mitigated", "Cloudflare mitigation"),
    Signature("linkedin-999", "blocked", frozenset({999}), None, None, "LinkedIn refuses automated requests (999)"),
    Signature("captcha", "blocked", frozenset(), re.compile(r"<title>[^<]*(captcha|are you a robot|access denied|attention required)"), None, "captcha / bot wall page"),
    Signature("soft404-title", "soft404", frozenset({200}), re.compile(r"<title>[^<]*(page not found|404|not found|no longer available|does not exist)"), None, "page says it was not found"),
    Signature("soft404-heading", "soft404", frozenset({200}), re.compile(r"<h1[^>]*>[^<]*(page not found|404|not found|no longer available|doesn.t exist|does not exist)"), None, "page heading says not found"),
]


def match_signature(status: int, headers: dict[str, str], body_head: str) -> Signature | None:
    """First signature that fits this response, or None."""
    lowered = body_head.lower()
    for signature in SIGNATURES:
        if signature.statuses and status not in signature.statuses:
            continue
        if signature.header and signature.header not in headers:
            continue
        if signature.body is not None and not signature.body.search(lowered):
            continue
        if signature.body is None and signature.header is None and not signature.statuses:
            continue
        return signature
    return None


def verdict_for_status(status: int) -> tuple[str, str]:
    """Verdict and reason from the status alone (after signatures had their say)."""
    if 200 <= status < 300:
        return "ok", f"HTTP {status}"
    if status in (404, 410):
        return "dead", f"HTTP {status}"
    if status in (401, 402, 403, 407, 451, 999):
        return "blocked", f"HTTP {status}: access refused, says nothing about the page"
    if status == 429:
        return "error", "HTTP 429: rate limited after retries"
    if status >= 500:
        return "error", f"HTTP {status} after retries"
    return "error", f"HTTP {status}"
