"""Which cited links a run checks: ``--exclude REGEX`` and ``--include REGEX``.

Link checkers' users ask for this more than anything (social sites that
wall every bot, an intranet, a partner's staging host). A link left out is
never requested, not even from the Wayback; it is recorded ``unchecked``
with a reason that quotes the pattern, so a report says why it was skipped
instead of silently dropping it.

Patterns are Python regular expressions searched anywhere in the URL (as
lychee's and linkinator's are); with any include, only links matching one
are checked; an exclude wins over an include.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .models import CheckResult, iso_z, utc_now

#: How a left-out link's reason starts (reports and JUnit recognise it by these).
EXCLUDED = "excluded by --exclude"
NOT_INCLUDED = "not matched by --include"


def compile_patterns(patterns: Iterable[str], option: str) -> tuple[re.Pattern[str], ...]:
    """Compile each pattern; ValueError with one line quoting the bad one."""
    out = []
    for pattern in patterns:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            raise ValueError(f"{option} {pattern!r}: not a regular expression: {exc.msg}{where}") from None
    return tuple(out)


@dataclass(frozen=True)
class LinkFilter:
    """The run's include and exclude patterns; empty: every link is checked."""

    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_patterns(cls, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> "LinkFilter":
        return cls(compile_patterns(include or (), "--include"), compile_patterns(exclude or (), "--exclude"))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def reason(self, url: str) -> str | None:
        """Why ``url`` is left out (quoting the pattern), or None when it is checked."""
        for pattern in self.exclude:
            if pattern.search(url):
                return f"{EXCLUDED} '{pattern.pattern}'"  # as typed: repr would double every backslash
        if self.include and not any(p.search(url) for p in self.include):
            shown = " or ".join(f"'{p.pattern}'" for p in self.include)
            return f"{NOT_INCLUDED} {shown}"
        return None

    def split(self, urls: Iterable[str]) -> tuple[list[str], dict[str, str]]:
        """(URLs to check, {left-out URL: reason}), order kept."""
        keep: list[str] = []
        left: dict[str, str] = {}
        for url in urls:
            why = self.reason(url) if self else None
            if why is None:
                keep.append(url)
            else:
                left[url] = why
        return keep, left


def is_left_out(reason: str | None) -> bool:
    """True for the reason of a link a filter left out."""
    return bool(reason) and (reason.startswith(EXCLUDED) or reason.startswith(NOT_INCLUDED))


def left_out_results(left: dict[str, str]) -> dict[str, CheckResult]:
    """An ``unchecked`` result per left-out URL, stamped now; nothing is requested."""
    stamp = iso_z(utc_now())
    return {url: CheckResult(url=url, verdict="unchecked", reason=why, checked_at=stamp) for url, why in left.items()}


def check_filtered(urls: Sequence[str], link_filter: LinkFilter,
                   check: Callable[[list[str]], list[CheckResult]],
                   progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Results for ``urls`` in order: left-out ones made here, the rest from ``check`` (one call)."""
    unique = list(dict.fromkeys(urls))
    keep, left = link_filter.split(unique)
    made = left_out_results(left)
    for result in made.values():
        if progress is not None:
            progress(result)
    if keep:
        made.update({r.url: r for r in check(keep)})
    return [made[u] for u in unique if u in made]
