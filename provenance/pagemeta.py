"""A fetched page's dates where its markup did not say them plainly: htmldate as the fallback.

extract.py reads the metadata a page declares (``<meta>``, JSON-LD,
``<time datetime>``, front matter); pages that only print their date in the
text, in a URL or in an unusual attribute get it from htmldate, the
field's well-kept date finder (also what trafilatura uses). The article's
date picks the Wayback snapshot its citations are compared with, so a page
with no date would fall back to "closest to now".
"""

from __future__ import annotations

import logging

from .models import Article

#: Characters of HTML handed to htmldate (it parses the whole document with lxml).
MAX_DATE_HTML_CHARS = 2_000_000

logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def find_published(html: str, url: str | None = None) -> str | None:
    """The publication date (YYYY-MM-DD) htmldate finds, original date preferred; None when it finds none."""
    if not html or not html.strip():
        return None
    try:
        from htmldate import find_date

        found = find_date(html[:MAX_DATE_HTML_CHARS], url=url, original_date=True, extensive_search=True,
                          outputformat="%Y-%m-%d")
    except Exception:  # a library failure on hostile markup costs the date, never the run
        return None
    return found or None


def fill_metadata(article: Article, html: str, url: str | None = None) -> None:
    """Fill what the page's declared metadata left empty (today: the publication date)."""
    if not article.published:
        article.published = find_published(html, url)
