"""Extraction on real pages: speed and accuracy on the 121-page article benchmark, side by side
with trafilatura alone (the library our main-text reduction is built on), in one run.

    .venv/bin/python bench/bench_extract_real.py               # 3 rounds, medians
    .venv/bin/python bench/bench_extract_real.py --rounds 5 --write bench/extract_real.md

Speed is CPU time of one process on one core (time.process_time), pages per second, so other
load on the machine moves it less than wall time would. Accuracy uses the benchmark's own
scorer (../shared/benchmarks/article-pages/score.py): link claims by anchor text, main text by
4-word shingles.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH = ROOT.parent / "shared" / "benchmarks" / "article-pages"

from provenance.extract import extract_document  # noqa: E402
from provenance.ingest import parse_document  # noqa: E402


def _scorer():
    spec = importlib.util.spec_from_file_location("score", BENCH / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _words(text: str | None) -> str:
    return " ".join(re.findall(r"\w+", (text or "").lower()))


def link_scores(found: dict[str, set[str]]) -> tuple[float, float, int]:
    truth = json.loads((BENCH / "link-truth.json").read_text())
    tp = fp = fn = silent = 0
    for page_id, expected in truth.items():
        want, got = set(expected["anchors"]), found.get(page_id, set())
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
        silent += bool(want and not got)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), silent


def text_f1(texts: dict[str, str]) -> tuple[float, float, float]:
    scorer = _scorer()
    truth = json.loads((BENCH / "ground-truth.json").read_text())
    ps, rs = [], []
    for page_id, expected in truth.items():
        want, got = scorer.shingles(expected["articleBody"]), scorer.shingles(texts.get(page_id, ""))
        hit = sum((want & got).values())
        ps.append(hit / sum(got.values()) if got else (1.0 if not want else 0.0))
        rs.append(hit / sum(want.values()) if want else 1.0)
    p, r = statistics.mean(ps), statistics.mean(rs)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def run_provenance(pages: dict[str, bytes]) -> tuple[float, dict[str, set[str]], dict[str, str]]:
    start = time.process_time()
    articles = {pid: extract_document(parse_document(f"{pid}.html", raw)) for pid, raw in pages.items()}
    seconds = time.process_time() - start
    links = {pid: {_words(c.anchor) for c in a.claims if c.kind == "link"} - {""} for pid, a in articles.items()}
    return seconds, links, {pid: a.text for pid, a in articles.items()}


def run_trafilatura(pages: dict[str, bytes]) -> tuple[float, dict[str, set[str]], dict[str, str]]:
    import trafilatura
    from lxml import etree

    start = time.process_time()
    texts, links = {}, {}
    for pid, raw in pages.items():
        html = raw.decode("utf-8", "replace")
        texts[pid] = trafilatura.extract(html, include_tables=True, deduplicate=False) or ""
    seconds = time.process_time() - start
    for pid, raw in pages.items():  # link accuracy: not timed (a second pass with links kept)
        xml = trafilatura.extract(raw.decode("utf-8", "replace"), include_links=True, output_format="xml") or "<doc/>"
        try:
            tree = etree.fromstring(xml.encode())
            links[pid] = {_words("".join(ref.itertext())) for ref in tree.iter("ref")} - {""}
        except etree.XMLSyntaxError:
            links[pid] = set()
    return seconds, links, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    if not BENCH.exists():
        print(f"benchmark pages not found: {BENCH}", file=sys.stderr)
        return 2
    pages = {p.name.split(".")[0]: gzip.decompress(p.read_bytes()) for p in sorted((BENCH / "html").glob("*.html.gz"))}
    import trafilatura

    rows = []
    for name, runner in (("provenance extract (trafilatura main text + our region, claims, metadata)", run_provenance),
                         (f"trafilatura {trafilatura.__version__} alone (default settings)", run_trafilatura)):
        times = []
        for _ in range(args.rounds):
            seconds, links, texts = runner(pages)
            times.append(seconds)
        p, r, silent = link_scores(links)
        tp, tr, tf = text_f1(texts)
        rows.append((name, len(pages) / statistics.median(times), p, r, silent, tp, tr, tf))
    lines = [f"Real pages: {len(pages)} pages of ../shared/benchmarks/article-pages, CPU time on one core, "
             f"median of {args.rounds} rounds, {time.strftime('%Y-%m-%d')}.", "",
             "| system | pages/s | link claims P / R | pages with cited links giving none | main text P / R / F1 |",
             "|---|---:|---|---:|---|"]
    for name, speed, p, r, silent, tp, tr, tf in rows:
        lines.append(f"| {name} | {speed:.0f} | {p:.3f} / {r:.3f} | {silent} of 90 | {tp:.3f} / {tr:.3f} / {tf:.3f} |")
    lines.append("")
    lines.append(f"Speed ratio provenance / trafilatura: {rows[0][1] / rows[1][1]:.2f}x")
    table = "\n".join(lines)
    print(table)
    if args.write:
        args.write.write_text("# Extraction on real pages\n\n`.venv/bin/python bench/bench_extract_real.py`\n\n" + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
