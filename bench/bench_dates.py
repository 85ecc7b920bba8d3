"""Publication dates of real pages: extract.py's declared metadata vs htmldate (issue 16, item 5).

Truth: the 30 pages of ../shared/benchmarks/article-pages whose URL carries a full
date (/YYYY/MM/DD/), each checked by hand against the dateline printed on the page.
The URL is withheld from every method (htmldate would otherwise just read it back).

    .venv/bin/python bench/bench_dates.py [path/to/article-pages]
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

from provenance.extract import extract_document
from provenance.ingest import parse_document
from provenance.pagemeta import find_published

URL_DATE = re.compile(r"/(20\d\d)[/-](\d\d)[/-](\d\d)(?:/|\b)")


def main(root: Path) -> None:
    truth = json.loads((root / "ground-truth.json").read_text())
    rows = []
    for key, item in sorted(truth.items()):
        match = URL_DATE.search(item["url"])
        if not match:
            continue
        want = "-".join(match.groups())
        data = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        ours = extract_document(parse_document(key, data)).published
        html = data.decode("utf-8", errors="replace")
        theirs = find_published(html)
        with_url = find_published(html, item["url"])
        rows.append((key, want, ours, theirs, ours or theirs, theirs or ours, with_url))
    print(f"{len(rows)} pages with a dated URL")
    for name, col in (("extract.py (meta, JSON-LD, <time>)", 2), ("htmldate alone", 3), ("extract.py, then htmldate", 4),
                      ("htmldate, then extract.py (what web articles use)", 5),
                      ("htmldate with the page URL (as audits run it)", 6)):
        right = sum(1 for r in rows if r[col] == r[1])
        wrong = sum(1 for r in rows if r[col] and r[col] != r[1])
        none = sum(1 for r in rows if not r[col])
        print(f"| {name} | {right} | {wrong} | {none} |")
    for r in rows:
        if r[5] != r[1]:
            print("  miss:", r)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/benchmarks/article-pages")
