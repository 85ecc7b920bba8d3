"""Micro-benchmark: the hot-path URL reads before and after urls.fast_split.

check._host, check._directory, fetch.split_url and classify.is_deep run for
every request. Each had its own regex; now they share urls.fast_split. This
times each caller as it was (tests/urls_before.py, copied verbatim) and as it
is, on 5,000 bench-style URLs (http://127.0.0.N:PORT/p/I) and on 5,000
realistic https URLs with paths and queries, and prints ns per call and the
ratio (after / before; above 1.0 is slower).

check's two functions are timed without their lru_cache: a cached call is a
dict lookup either way. Rounds alternate old and new and the best round of
each counts (the machines are shared and noisy; the minimum is the least
disturbed run).

    .venv/bin/python bench/bench_urls.py [--rounds 15] [--count 5000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import urls_before as before  # noqa: E402
from provenance import check, classify, fetch  # noqa: E402

CALLERS: dict[str, tuple[Callable[[str], object], Callable[[str], object]]] = {
    "check._host": (before.check_host, check._host.__wrapped__),
    "check._directory": (before.check_directory, check._directory.__wrapped__),
    "fetch.split_url": (before.split_url, fetch.split_url),
    "classify.is_deep": (before.is_deep, classify.is_deep),
}


def bench_style(count: int) -> list[str]:
    """The shape bench_check.py serves: 50 loopback hosts, one port each, numbered pages."""
    return [f"http://127.0.0.{2 + i % 50}:{8000 + i % 50}/p/{i}" for i in range(count)]


def realistic(count: int, seed: int = 5) -> list[str]:
    """https URLs as articles cite them: real-looking hosts, slugs, dates, some queries and fragments."""
    rng = random.Random(seed)
    hosts = ["www.nytimes.com", "en.wikipedia.org", "docs.python.org", "www.bbc.co.uk", "example.com",
             "github.com", "arxiv.org", "www.theguardian.com", "data.gov.uk", "blog.example.org"]
    words = ["news", "world", "2024", "03", "article", "wiki", "Link_rot", "docs", "3", "library",
             "how-to-read-a-url", "index.html", "abs", "2403.01234", "en", "report%202023.pdf", "~user", "a,b;c"]
    keys = ["id", "page", "q", "lang", "v", "sort", "oldid"]
    urls = []
    for _ in range(count):
        path = "/" + "/".join(rng.choice(words) for _ in range(rng.randint(0, 5)))
        query = ""
        if rng.random() < 0.4:
            query = "?" + "&".join(f"{rng.choice(keys)}={rng.randint(0, 99999)}" for _ in range(rng.randint(1, 3)))
        fragment = f"#section-{rng.randint(1, 9)}" if rng.random() < 0.15 else ""
        urls.append(f"https://{rng.choice(hosts)}{path}{query}{fragment}")
    return urls


def _comparable(answer: object) -> object:
    return (answer.key, answer.authority, answer.path) if isinstance(answer, fetch.Target) else answer


def per_call_ns(function: Callable[[str], object], urls: list[str]) -> float:
    """One round: ns per call over all URLs (exceptions are part of a call, as in a run)."""
    start = time.perf_counter_ns()
    for url in urls:
        try:
            function(url)
        except Exception:  # noqa: BLE001 - no URL here raises; a changed reader must not stop the bench
            pass
    return (time.perf_counter_ns() - start) / len(urls)


def compare(old: Callable[[str], object], new: Callable[[str], object], urls: list[str],
            rounds: int) -> tuple[float, float]:
    """Best round of each, old and new alternating so that load hits both alike."""
    best_old = best_new = float("inf")
    for _ in range(rounds):
        best_old = min(best_old, per_call_ns(old, urls))
        best_new = min(best_new, per_call_ns(new, urls))
    return best_old, best_new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    sets = {"bench-style": bench_style(args.count), "realistic https": realistic(args.count)}
    for name, (old, new) in CALLERS.items():  # the same answers, or the timing compares different work
        for urls in sets.values():
            assert [_comparable(old(u)) for u in urls] == [_comparable(new(u)) for u in urls], name
    print(f"{'caller':18} {'URLs':16} {'before ns':>10} {'after ns':>10} {'ratio':>7}")
    gc.disable()
    try:
        for name, (old, new) in CALLERS.items():
            for label, urls in sets.items():
                old_ns, new_ns = compare(old, new, urls, args.rounds)
                print(f"{name:18} {label:16} {old_ns:10.0f} {new_ns:10.0f} {new_ns / old_ns:6.2f}x")
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
