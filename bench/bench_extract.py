"""Extraction benchmark: speed on the seeds and on a large generated corpus, and
main-content accuracy of our readability-style scorer against trafilatura.

    .venv/bin/python bench/bench_extract.py                 # 3,000 generated articles
    .venv/bin/python bench/bench_extract.py --articles 300  # quicker
    .venv/bin/python bench/bench_extract.py --write bench/extract.md

The generated pages follow the layouts of real news and blog sites (semantic
HTML5, WordPress, table/div soup) with randomised class names, chrome inside
and outside <article>, and a known set of cited links, so precision and
recall of "which links are claims" can be counted. trafilatura is measured
only when it is installed (it is not a dependency): it picks the main text,
and our own rules then run on its output, so the comparison isolates
main-content detection.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provenance.extract import extract_document, extract_file  # noqa: E402
from provenance.ingest import Document, parse_document  # noqa: E402

WORDS = ("agency report policy market court ruling vote budget energy data study survey official company "
         "industry rule export price growth labor health school climate water housing transit election tax "
         "council state federal county city program funding audit review investigation analysis record").split()
OUTLETS = ["Reuters", "the Associated Press", "Bloomberg", "the Financial Times", "Politico", "the Guardian"]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def sentence(rng: random.Random, link: str | None = None) -> str:
    head = words(rng, rng.randint(4, 9)).capitalize()
    tail = words(rng, rng.randint(3, 8))
    if link:
        anchor = words(rng, rng.randint(1, 4))
        return f'{head}, {rng.choice(["the", "a"])} <a href="{link}">{anchor}</a> shows {tail}.'
    if rng.random() < 0.15:
        return f"{head}, according to {rng.choice(OUTLETS)}, {tail}."
    return f"{head} {tail}."


@dataclass
class Page:
    html: str
    cited: list[str] = field(default_factory=list)
    canonical: str = ""


def chrome_list(rng: random.Random, cls: str, n: int, prefix: str = "/section/") -> str:
    items = "".join(f'<li><a href="{prefix}{rng.randint(1, 10**6)}/">{words(rng, rng.randint(3, 9)).capitalize()}</a></li>'
                    for _ in range(n))
    return f'<div class="{cls}"><h3>{words(rng, 2).title()}</h3><ul>{items}</ul></div>'


def make_page(rng: random.Random, index: int) -> Page:
    """One saved page: chrome everywhere, 6-18 cited links in 6-20 paragraphs."""
    host = f"news{index % 37}.example"
    canonical = f"https://{host}/story/{index}/"
    cited: list[str] = []
    paragraphs = []
    inside_chrome = []
    for p in range(rng.randint(6, 20)):
        parts = []
        for _ in range(rng.randint(2, 5)):
            link = None
            if rng.random() < 0.3:
                link = f"https://source{rng.randint(1, 500)}.example/doc/{rng.randint(1, 10**6)}"
                cited.append(link)
            parts.append(sentence(rng, link))
        paragraphs.append("<p>" + " ".join(parts) + "</p>")
        if rng.random() < 0.12:
            inside_chrome.append(p)
    body_parts = []
    for p, para in enumerate(paragraphs):
        body_parts.append(para)
        if p in inside_chrome:
            body_parts.append(rng.choice([
                f'<p class="read-more">Read more: <a href="/story/{rng.randint(1, 10**6)}/">{words(rng, 6)}</a></p>',
                chrome_list(rng, rng.choice(["related-stories", "c-recirc", "more-on-this", "story-related"]), 4, "/story/"),
                f'<div class="{rng.choice(["newsletter-signup", "inline-promo", "subscribe-box"])}"><p>{words(rng, 8)} '
                f'<a href="/newsletters/">Sign up</a></p></div>',
                f'<div class="{rng.choice(["share-bar", "social-share", "sharing-tools"])}"><a href="https://twitter.com/intent/tweet?u=1">X</a>'
                f' <a href="https://www.facebook.com/sharer/sharer.php?u=1">Facebook</a></div>',
            ]))
    body = "\n".join(body_parts)
    nav = chrome_list(rng, rng.choice(["menu", "site-nav", "primary-menu", "topnav"]), rng.randint(8, 25))
    related = chrome_list(rng, rng.choice(["related", "most-popular", "trending-now", "recirc-rail", "module-b"]), rng.randint(5, 12), "/story/")
    footer_links = "".join(f'<a href="/page/{i}/">{words(rng, 2)}</a> ' for i in range(rng.randint(10, 30)))
    comments = "".join(f'<li class="comment"><a href="https://user{i}.example/">{words(rng, 1)}</a><p>{sentence(rng)} '
                       f'{sentence(rng)}</p></li>' for i in range(rng.randint(0, 8)))
    tags = "".join(f'<a rel="tag" href="/tag/{w}/">{w}</a> ' for w in rng.sample(WORDS, 4))
    layout = index % 3
    if layout == 0:  # semantic HTML5
        html = (f'<html><head><title>{words(rng, 6)}</title><link rel="canonical" href="{canonical}"></head><body>'
                f'<header><nav>{nav}</nav></header><main><article><header><h1>{words(rng, 7)}</h1>'
                f'<p class="byline">By <a href="/author/x/">A Writer</a></p></header><div class="article-body">{body}</div>'
                f'<footer><div class="tags">{tags}</div><div class="author-bio"><p>{sentence(rng)} <a href="/author/x/">More</a></p></div></footer>'
                f'</article><section class="comments"><ol>{comments}</ol></section>{related}</main>'
                f'<aside>{chrome_list(rng, "widget", 6)}</aside><footer>{footer_links}</footer></body></html>')
    elif layout == 1:  # WordPress
        html = (f'<html><head><base href="https://{host}/"><title>{words(rng, 6)} &#8211; Blog</title>'
                f'<link rel="canonical" href="{canonical}"></head><body><div id="page"><div class="site-header">{nav}</div>'
                f'<div id="content"><div id="primary" class="content-area"><div class="post hentry category-news tag-x">'
                f'<h1 class="entry-title">{words(rng, 6)}</h1><div class="entry-meta"><a href="/author/y/">Y</a></div>'
                f'<div class="entry-content">{body}</div><div class="entry-footer">{tags}</div></div>'
                f'<div id="comments"><ol class="commentlist">{comments}</ol></div></div>'
                f'<div id="secondary" class="widget-area">{related}</div></div>'
                f'<div id="colophon">{footer_links}</div></div></body></html>')
    else:  # div soup, no semantic tags
        html = (f'<html><head><title>{words(rng, 6)} - Site</title><link rel="canonical" href="{canonical}"></head><body>'
                f'<div class="top"><div class="bar">{nav}</div></div><div class="cols"><div class="col-a">{related}</div>'
                f'<div class="col-main"><div class="h">{words(rng, 7)}</div><div class="txt">{body}</div>'
                f'<div class="tagline">Filed under: {tags}</div></div><div class="col-b">{chrome_list(rng, "box", 5)}</div></div>'
                f'<div class="bottom">{footer_links}</div></body></html>')
    return Page(html=html, cited=cited, canonical=canonical)


def make_markdown(rng: random.Random, index: int) -> str:
    lines = [f"---\ntitle: Post {index}\ndate: 2024-01-{index % 28 + 1:02d}\n---\n", f"# {words(rng, 5).title()}\n"]
    for _ in range(rng.randint(5, 15)):
        parts = []
        for _ in range(rng.randint(2, 5)):
            if rng.random() < 0.3:
                parts.append(f"{words(rng, 5).capitalize()} [{words(rng, 2)}](https://src{rng.randint(1, 99)}.example/{rng.randint(1, 10**6)}) {words(rng, 4)}.")
            else:
                parts.append(re.sub(r"<[^>]+>", "", sentence(rng)))
        lines.append(" ".join(parts) + "\n")
    return "\n".join(lines)


def make_text(rng: random.Random, index: int) -> str:
    lines = [f"{words(rng, 6).title()}\n"]
    for _ in range(rng.randint(5, 15)):
        lines.append(" ".join(re.sub(r"<[^>]+>", "", sentence(rng)) for _ in range(rng.randint(2, 5))) + "\n")
    lines.append("More Insights\n\n" + words(rng, 20))
    return "\n".join(lines)


#: The hand-built fixture pages and their cited URLs (the same expectations as tests/test_extract_pages.py).
FIXTURES = ROOT / "tests" / "fixtures" / "articles"
FIXTURE_CITED = {
    "news_chrome.html": ("https://www.dailyledger.example/business/2024/03/05/chip-export-loophole/", [
        "https://www.commerce.example/news/2024/03/inquiry-announcement",
        "https://www.dailyledger.example/business/2024/02/11/reseller-network/",
        "https://www.bis.example/guidance/resellers.pdf", "https://www.gao.example/products/gao-24-1234",
        "https://www.semiconductors.example/press/2024/statement", "https://lopez.senate.example/letters/2024-03-04",
        "https://www.federalregister.example/documents/2023/10/25/2023-23055/export-controls"]),
    "blog_wordpress.html": ("https://policyworks.example/2023/11/28/broadband-maps/", [
        "https://broadbandmap.fcc.example/home", "https://policyworks.example/research/data/bdc-challenges-2023.csv",
        "https://www.fcc.example/BroadbandData/filers",
        "https://www.pewtrusts.example/en/research-and-analysis/articles/2023/05/broadband-mapping",
        "https://policyworks.example/research/2023/overstated-coverage/", "https://www.gao.example/products/gao-23-105525",
        "https://data.policyworks.example/bdc/2023.zip"]),
    "magazine_divsoup.html": ("https://deepcurrent.example/features/ocean-floor-mapping", [
        "https://seabed2030.example/progress/2022", "https://www.nature.example/articles/s41586-021-03456-x",
        "https://www.navy.example/press/2021/bathymetry-release.html?ref=rss",
        "https://www.isa.example/mining-code/draft-2022.pdf"]),
    "news_sections.html": ("https://metroherald.example/2025/06/12/city/transit-budget.html", [
        "https://council.metro.example/meetings/2025-06-12/minutes.pdf",
        "https://transit.metro.example/news/2025/04/fiscal-warning", "https://www.transitcenter.example/reports/fares-2025",
        "https://aspe.hhs.example/topics/poverty-economic-mobility/poverty-guidelines",
        "https://transit.metro.example/budget/2025/summary.html"]),
}


def fixture_pages() -> list[Page]:
    return [Page(html=(FIXTURES / name).read_text(), cited=cited, canonical=canonical)
            for name, (canonical, cited) in FIXTURE_CITED.items()]


def ours(page: Page) -> list[str]:
    doc = parse_document("p.html", page.html.encode())
    return [c.url for c in extract_document(doc).claims if c.kind == "link"]


def with_trafilatura(page: Page) -> list[str]:
    """trafilatura picks the main text (links kept); our rules run on what it returns."""
    import trafilatura

    xml = trafilatura.extract(page.html, output_format="xml", include_links=True, include_comments=False,
                              url=page.canonical) or ""
    html = re.sub(r"<ref target=", "<a href=", xml).replace("</ref>", "</a>")
    html = re.sub(r'<head rend="(h\d)">(.*?)</head>', r"<\1>\2</\1>", html, flags=re.S)
    doc = Document(path="t.html", text=html, format="html", content_hash="", front_matter={"canonical_url": page.canonical})
    return [c.url for c in extract_document(doc).claims if c.kind == "link"]


def score(extractor, pages: list[Page]) -> dict:
    tp = fp = fn = 0
    started = time.perf_counter()
    for page in pages:
        got, want = set(extractor(page)), set(page.cited)
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
    elapsed = time.perf_counter() - started
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "ms_per_page": 1000 * elapsed / len(pages)}


def time_files(paths: list[Path], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for path in paths:
            extract_file(path)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3000, help="generated articles (a third each: html, markdown, text)")
    parser.add_argument("--compare", type=int, default=150, help="generated pages for the main-content comparison")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out: list[str] = []

    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    extract_file(seeds[0])  # warm imports
    seeds_s = time_files(seeds, repeat=5)
    out.append(f"Seeds: {len(seeds)} articles in {seeds_s * 1000:.1f} ms (best of 5).")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        groups: dict[str, list[Path]] = {"html": [], "markdown": [], "text": []}
        sizes = {"html": 0, "markdown": 0, "text": 0}
        for i in range(args.articles):
            kind = ("html", "markdown", "text")[i % 3]
            body = make_page(rng, i).html if kind == "html" else make_markdown(rng, i) if kind == "markdown" else make_text(rng, i)
            path = folder / f"{i:05d}.txt"
            path.write_text(body)
            groups[kind].append(path)
            sizes[kind] += len(body.encode())
        out.append("")
        out.append("| corpus | articles | MB | seconds | articles/s | MB/s |")
        out.append("|---|---:|---:|---:|---:|---:|")
        total_s = total_n = total_mb = 0.0
        for kind, paths in groups.items():
            seconds = time_files(paths)
            mb = sizes[kind] / 1e6
            total_s += seconds
            total_n += len(paths)
            total_mb += mb
            out.append(f"| {kind} | {len(paths)} | {mb:.1f} | {seconds:.2f} | {len(paths) / seconds:.0f} | {mb / seconds:.1f} |")
        out.append(f"| all | {int(total_n)} | {total_mb:.1f} | {total_s:.2f} | {total_n / total_s:.0f} | {total_mb / total_s:.1f} |")

    generated = [make_page(random.Random(args.seed * 1000 + i), i) for i in range(args.compare)]
    try:
        import trafilatura
    except ImportError:
        trafilatura = None
    for label, pages in ((f"{len(generated)} generated chrome-heavy pages", generated),
                         ("the 4 hand-built fixture pages (tests/fixtures/articles)", fixture_pages())):
        out.append("")
        out.append(f"Main-content detection on {label}: claim URLs against the known citations.")
        out.append("")
        out.append("| extractor | precision | recall | ms/page |")
        out.append("|---|---:|---:|---:|")
        mine = score(ours, pages)
        out.append(f"| provenance (readability-style on selectolax) | {mine['precision']:.3f} | {mine['recall']:.3f} | {mine['ms_per_page']:.1f} |")
        if trafilatura is None:
            out.append("| trafilatura | not installed | | |")
        else:
            theirs = score(with_trafilatura, pages)
            out.append(f"| trafilatura {trafilatura.__version__} + our rules | {theirs['precision']:.3f} | {theirs['recall']:.3f} | {theirs['ms_per_page']:.1f} |")
    text = "\n".join(out)
    print(text)
    if args.write:
        args.write.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
