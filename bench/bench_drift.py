"""Drift benchmark (issue 14): is the cited passage's fate judged right on real pages?

Built from the 121 real article pages in ../shared/benchmarks/article-pages/
(unpacked with its score.py). Each page is its own snapshot; the claim is a
sentence the page carried (from the people-marked article body, one the
main-text reduction also keeps, so extraction is not what is measured). The
live page is made from the snapshot in these ways:

| variant | what changed | right answer |
|---|---|---|
| unchanged | nothing | false |
| cosmetic | cookie banner, ad block, "Updated" line in the article, related links, new copyright year | false |
| removed | the cited sentence deleted, the rest as it was | true |
| number | one number in the cited sentence changed | true |
| negation | "not" added after the cited sentence's first auxiliary ("will" -> "will not"); without one, "It is not true that" put before it | true |
| replaced | another article at the same URL | true |
| cut | the live body cut (by a cap) before the cited sentence | null |

and a second set of edits, made differently, as a check against tuning to the first:

| variant | what changed | right answer |
|---|---|---|
| cosmetic-inline | "Advertisement" glued inside the cited block, a comments section quoting the sentence after the article | false |
| block-removed | the cited sentence's whole block deleted | true |
| number-last | the last number of the sentence doubled plus one ("$44,000" -> "$88001") | true |
| never | "never" after the first auxiliary | true |
| name | the first capitalised word inside the sentence replaced by "Kowalczyk" | true |

For each variant it prints flagged right / null / wrong, and the time spent
reducing and judging. Pages where a variant cannot be made (no number in the
sentence, no auxiliary for a negation) are left out of that variant.

With --paraphrase the claim is a crude paraphrase of the sentence (context of
its own added, clauses moved, every third plain word dropped), as an article
restates its source.

Run:  .venv/bin/python bench/bench_drift.py [--pages DIR] [--limit N] [--show-wrong] [--paraphrase]
Numbers go in bench/drift.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provenance import passage, support  # noqa: E402
from provenance.models import Claim  # noqa: E402

BENCH = ROOT.parent / "shared" / "benchmarks" / "article-pages"
VARIANTS = ("unchanged", "cosmetic", "removed", "number", "negation", "replaced", "cut",
            "cosmetic-inline", "block-removed", "number-last", "never", "name")
EXPECTED = {"unchanged": False, "cosmetic": False, "removed": True, "number": True, "negation": True,
            "replaced": True, "cut": None, "cosmetic-inline": False, "block-removed": True, "number-last": True,
            "never": True, "name": True}
#: Cited sentences have this many words (short ones are captions and datelines, long ones unsplit blobs).
MIN_WORDS, MAX_WORDS = 10, 60
_AUX = re.compile(r"\b(is|are|was|were|will|would|can|could|should|has|have|had|does|did|must|may|might)\b")
_NUMBER = re.compile(r"\d")
_BLOCKS = "p, li, blockquote, h2, h3, h4, td, dd, figcaption, div, span, section"

COOKIE = ('<div class="cookie-consent" id="cookie-banner"><p>We use cookies to personalise content and ads, to '
          'provide social media features and to analyse our traffic. <button>Accept all cookies</button></p></div>')
AD = '<div class="ad-slot advertisement"><p>Advertisement</p><p>Save 20% on your first year. Subscribe now.</p></div>'
RELATED = ('<aside class="related-links"><h3>Related stories</h3><ul><li><a href="/r1">Five things to know '
           'this week</a></li><li><a href="/r2">What the new rules mean for you</a></li></ul></aside>')
UPDATED = '<p class="updated">Updated December 5, 2026 at 9:12 a.m. ET</p>'


def norm(text: str) -> str:
    return " ".join((text or "").replace("\u00a0", " ").split())


def load_pages(folder: Path) -> list[tuple[str, str, str, str]]:
    """(id, url, html, people-marked article body) for every page."""
    truth = json.loads((BENCH / "ground-truth.json").read_text())
    out = []
    for pid, t in sorted(truth.items()):
        path = folder / f"{pid}.html"
        if path.exists():
            out.append((pid, t.get("url") or "", path.read_text(encoding="utf-8", errors="replace"),
                        t.get("articleBody") or ""))
    return out


def block_of(tree: LexborHTMLParser, sentence: str):
    """The smallest block element whose text holds the sentence (None when the markup splits it)."""
    best = None
    for node in tree.css(_BLOCKS):
        text = norm(node.text(separator=""))
        if sentence in text and (best is None or len(text) < len(norm(best.text(separator="")))):
            best = node
    return best


def choose_sentence(html: str, url: str, body: str, snap: support.PageText) -> tuple[str, str, str] | None:
    """(sentence, the serialised page, its block's outer HTML): a sentence the reduction keeps and markup holds."""
    reduced = norm(snap.text)
    candidates = [norm(s) for s in passage.sentences_of(body)]
    candidates = [s for s in candidates if MIN_WORDS <= len(s.split()) <= MAX_WORDS and s in reduced]
    if not candidates:
        return None
    middle = len(candidates) // 2
    # Prefer one with a number (so the number variant can be made), nearest the middle of the article.
    order = sorted(range(len(candidates)), key=lambda i: (not _NUMBER.search(candidates[i]), abs(i - middle)))
    tree = LexborHTMLParser(html)
    serialised = tree.html or ""
    for i in order[:12]:
        node = block_of(tree, candidates[i])
        if node is not None and node.html and serialised.count(node.html) == 1:
            return candidates[i], serialised, node.html
    return None


def rewrite_block(serialised: str, block: str, sentence: str, new: str | None) -> str:
    """The page with the block's text rewritten: the sentence replaced by ``new`` (None: deleted)."""
    text = norm(LexborHTMLParser(block).body.text(separator="")) if LexborHTMLParser(block).body else ""
    replaced = norm(text.replace(sentence, new or ""))
    tag = re.match(r"<([a-zA-Z0-9]+)", block)
    name = tag.group(1) if tag else "p"
    return serialised.replace(block, f"<{name}>{escape(replaced)}</{name}>" if replaced else "", 1)


def changed_number(sentence: str) -> str | None:
    match = re.search(r"\d", sentence)
    if not match:
        return None
    digit = int(match.group())
    new = (digit + 3) % 10 or 1  # never the same digit, never a new leading zero
    return sentence[:match.start()] + str(new) + sentence[match.end():]


def negated(sentence: str) -> str | None:
    match = _AUX.search(sentence)
    if not match:
        return "It is not true that " + sentence[:1].lower() + sentence[1:]
    return sentence[:match.end()] + " not" + sentence[match.end():]


def paraphrased(sentence: str) -> str:
    """A crude stand-in for an article's paraphrase: context of its own, clauses moved, every third word dropped.

    Numbers and capitalised words are kept (what a paraphrase keeps); the rest thins out.
    """
    head, sep, tail = sentence.partition(", ")
    words = (f"{tail.rstrip('.')}, {head[:1].lower() + head[1:]}" if sep and tail else sentence).split()
    kept = [w for i, w in enumerate(words) if i % 3 != 2 or w[:1].isupper() or any(c.isdigit() for c in w)]
    return "Two weeks before the vote, one outlet noted that " + " ".join(kept)


def more_variants(serialised: str, block: str, sentence: str) -> dict[str, tuple[str, str | None]]:
    """The second set of edits (see the module's docstring)."""
    out: dict[str, tuple[str, str | None]] = {}
    tag = re.match(r"<([a-zA-Z0-9]+)", block)
    end = f"</{tag.group(1)}>" if tag else ""
    inline = block[:-len(end)] + '<span class="ad">Advertisement</span>' + end if end and block.endswith(end) else block
    comments = (f'<section class="comments"><h3>42 Comments</h3><p>Joe: I disagree with this. {escape(sentence)}'
                "</p></section></body>")
    out["cosmetic-inline"] = (serialised.replace(block, inline, 1).replace("</body>", comments, 1), None)
    out["block-removed"] = (serialised.replace(block, "", 1), None)
    numbers = list(re.finditer(r"\d[\d,.]*\d|\d", sentence))
    if numbers:
        m = numbers[-1]
        new = str(int(re.sub(r"\D", "", m.group()) or 0) * 2 + 1)
        out["number-last"] = (rewrite_block(serialised, block, sentence, sentence[:m.start()] + new + sentence[m.end():]),
                              None)
    aux = _AUX.search(sentence)
    if aux:
        out["never"] = (rewrite_block(serialised, block, sentence, sentence[:aux.end()] + " never" + sentence[aux.end():]),
                        None)
    caps = list(re.finditer(r"(?<=\s)[A-Z][a-z]{2,}", sentence))
    if caps:
        m = caps[0]
        out["name"] = (rewrite_block(serialised, block, sentence, sentence[:m.start()] + "Kowalczyk" + sentence[m.end():]),
                       None)
    return out


def cosmetic(serialised: str, block: str) -> str:
    page = re.sub(r"(<body[^>]*>)", r"\1" + COOKIE + AD, serialised, count=1)
    page = page.replace(block, UPDATED + block, 1)
    page = re.sub(r"(©|&copy;|Copyright)\s*(\d{4})", lambda m: f"{m.group(1)} 2026", page)
    return page.replace("</body>", RELATED + "<footer><p>© 2026 The Publisher</p></footer></body>", 1)


def run(pages: list[tuple[str, str, str, str]], show_wrong: bool, paraphrase: bool = False) -> dict:
    tallies: dict[str, Counter] = defaultdict(Counter)
    wrong: list[str] = []
    skipped = Counter()
    reduce_s = judge_s = 0.0
    reductions = judgements = 0
    for n, (pid, url, html, body) in enumerate(pages):
        t0 = time.perf_counter()
        snap = support.read_page(html, url)
        reduce_s += time.perf_counter() - t0
        reductions += 1
        chosen = choose_sentence(html, url, body, snap)
        if chosen is None:
            skipped["no sentence the reduction keeps and the markup holds"] += 1
            continue
        sentence, serialised, block = chosen
        words = sentence.split()
        claim_sentence = paraphrased(sentence) if paraphrase else sentence
        claim = Claim(kind="link", sentence=claim_sentence, position=1, url=url, anchor=" ".join(words[2:5]))
        lives: dict[str, tuple[str, str | None]] = {"unchanged": (html, None),
                                                    "cosmetic": (cosmetic(serialised, block), None),
                                                    "removed": (rewrite_block(serialised, block, sentence, None), None),
                                                    "replaced": (pages[(n + 1) % len(pages)][2], None)}
        number = changed_number(sentence)
        if number:
            lives["number"] = (rewrite_block(serialised, block, sentence, number), None)
        negation = negated(sentence)
        if negation:
            lives["negation"] = (rewrite_block(serialised, block, sentence, negation), None)
        cut_at = serialised.find(block)
        lives["cut"] = (serialised[:cut_at], f"body cut off at {cut_at} bytes")
        lives.update(more_variants(serialised, block, sentence))
        for variant in VARIANTS:
            if variant not in lives:
                skipped[variant] += 1
                continue
            live_html, cut = lives[variant]
            t0 = time.perf_counter()
            live = support.read_page(live_html, url, cut)
            t1 = time.perf_counter()
            d = support.judge_drift(claim, live, snap)
            t2 = time.perf_counter()
            reduce_s += t1 - t0
            judge_s += t2 - t1
            reductions += 1
            judgements += 1
            want = EXPECTED[variant]
            outcome = "right" if d.drift is want else ("null" if d.drift is None else "wrong")
            tallies[variant][outcome] += 1
            if outcome != "right" and show_wrong:
                wrong.append(f"{variant:9} {outcome:5} {pid[:10]} {url[:60]}\n    claim: {sentence[:150]}\n"
                             f"    drift={d.drift} {d.reason[:200]}")
    return {"tallies": tallies, "skipped": skipped, "wrong": wrong, "reduce_ms": 1000 * reduce_s / max(1, reductions),
            "judge_ms": 1000 * judge_s / max(1, judgements), "pages": len(pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=Path, help="folder of unpacked pages (default: unpack to a temp folder)")
    parser.add_argument("--limit", type=int, default=0, help="first N pages only")
    parser.add_argument("--show-wrong", action="store_true", help="print every case not flagged right")
    parser.add_argument("--paraphrase", action="store_true",
                        help="claims paraphrase the sentence (context added, clauses moved, words dropped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.pages
        if folder is None:
            folder = Path(tmp) / "pages"
            subprocess.run([sys.executable, str(BENCH / "score.py"), "unpack", str(folder)], check=True,
                           stdout=subprocess.DEVNULL)
        pages = load_pages(folder)
        if args.limit:
            pages = pages[:args.limit]
        result = run(pages, args.show_wrong, args.paraphrase)
    for line in result["wrong"]:
        print(line)
    print(f"\n{result['pages']} pages; skipped: {dict(result['skipped']) or 'none'}")
    print(f"| variant | right answer | pages | flagged right | null | wrong | right share |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for variant in VARIANTS:
        t = result["tallies"][variant]
        total = sum(t.values())
        want = {False: "false", True: "true", None: "null"}[EXPECTED[variant]]
        share = t["right"] / total if total else 0.0
        print(f"| {variant} | {want} | {total} | {t['right']} | {t['null']} | {t['wrong']} | {share:.3f} |")
    print(f"\nmean per page: reduce {result['reduce_ms']:.1f} ms, judge one claim {result['judge_ms']:.2f} ms")


if __name__ == "__main__":
    main()
