"""Is an archived capture a good copy of the page? A replay can itself be the problem.

Archives capture what a crawler was served: sometimes a "page not found"
answered with 200, a server's error page, a bot wall or a script-rendered
shell with nothing in it. Such a capture says nothing about what the
author cited, and comparing the live page with it invents or hides drift.
:func:`replay_problem` names what is wrong with one (or None for a good
copy); the Wayback replays (:mod:`provenance.wayback`) pass over bad
captures for the next good one, and any other archive client (Memento
TimeMaps) can call the same test.
"""

from __future__ import annotations

from . import classify

#: Fewest words of prose (outside scripts, menus and links) a capture needs to be a page, not a shell.
MIN_PROSE_WORDS = 25
#: Most characters of a replay read for the test (signatures sit near the top; prose counting is bounded).
MAX_TEST_CHARS = 512 * 1024
#: Verdicts of the liveness signatures that make a capture useless as "what was cited".
BAD_VERDICTS = frozenset({"soft404", "dead", "blocked", "error"})


def replay_problem(html: str | None, url: str, status: int = 200, cut: bool = False) -> str | None:
    """Why a replayed capture is not a good copy of ``url`` ("a soft 404: ...", "an empty shell"), or None.

    The capture's own status comes first (an archive may replay a 404 or a 5xx
    it recorded); then the same signatures the liveness check uses on a live
    page (soft-404 phrases in 13 languages, error pages, bot walls, logins,
    parked domains); then whether it has any prose of its own, unless the
    replay was ``cut`` at a byte cap (its text may start past the cut: that
    is for the drift judge to say, as "cut", not "empty").
    """
    if status != 200:
        return f"the capture answered HTTP {status}"
    if not html or not html.strip():
        return "an empty page"
    text = html[:MAX_TEST_CHARS]
    judgement = classify.judge(classify.Observation(url=url, final_url=url, status=200,
                                                    headers={"content-type": "text/html"}, text=text))
    if judgement.verdict in BAD_VERDICTS:
        name = {"soft404": "a soft 404", "dead": "a not-found page", "blocked": "a bot wall or login page",
                "error": "an error page"}[judgement.verdict]
        return f"{name} ({judgement.reason})"
    # Prose is counted over the whole replay: a big page's story may start past the signatures' window.
    if not cut and classify.prose_words(html.lower(), MIN_PROSE_WORDS) < MIN_PROSE_WORDS:
        return "an empty shell (too little text: script-rendered or blank)"
    return None


def is_good_capture(html: str | None, url: str, status: int = 200, cut: bool = False) -> bool:
    """True when :func:`replay_problem` finds nothing wrong."""
    return replay_problem(html, url, status, cut) is None
