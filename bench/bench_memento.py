"""Reading a 100,000-memento TimeMap: provenance's streamed reader vs reading it whole.

Streamed: 64 KiB pieces through ``memento.LinkFormatReader``, keeping only the
mementos closest to the date (what ``read_timemap`` does). Whole: the body in
memory, every entry parsed into a list and sorted (what a simple client
does). Reported as ratios of time and peak memory (tracemalloc), plus an
end-to-end lookup against a loopback archive. Nothing is asserted.

    .venv/bin/python bench/bench_memento.py
"""

from __future__ import annotations

import re
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from provenance import memento, wayback  # noqa: E402

N = 100_000
URL = "https://example.org/popular"
DAY = "2024-11-20"
CHUNK = 64 * 1024


def timestamps(n: int) -> list[str]:
    return sorted(f"{2000 + i * 25 // n:04d}{1 + (i // 400) % 12:02d}{1 + i % 28:02d}{(i // 28) % 24:02d}{i % 60:02d}00"
                  for i in range(n))


def timemap(n: int) -> bytes:
    from fake_memento import rfc1123

    lines = [f'<{URL}>; rel="original"', f'<http://arch/timemap/link/{URL}>; rel="self"; type="application/link-format"']
    lines += [f'<http://arch/web/{ts}/{URL}>; rel="memento"; datetime="{rfc1123(ts)}"' for ts in timestamps(n)]
    return (",\n".join(lines) + "\n").encode()


def streamed(body: bytes) -> str:
    reader = memento.LinkFormatReader()
    closest = memento._Closest(DAY)
    pieces = (reader.feed(body[start:start + CHUNK].decode("utf-8", "replace")) for start in range(0, len(body), CHUNK))
    for links in _then(pieces, reader.close):
        for link in links:
            if "memento" in link.rels:
                ts = memento.memento_timestamp(link.params.get("datetime"))
                if ts:
                    closest.add(ts, link.uri, "http://arch/")
    return memento.order_candidates(closest.candidates("arch"), DAY)[0].timestamp


def _then(pieces, last):
    """Each piece's links, then what ``last()`` gives: lazily, so no piece outlives its turn."""
    yield from pieces
    yield last()


_WHOLE = re.compile(r'<([^>]*)>;\s*rel="([^"]*)"(?:;\s*datetime="([^"]*)")?')


def whole(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    entries = [(memento.memento_timestamp(d), u) for u, rel, d in _WHOLE.findall(text) if "memento" in rel]
    entries.sort()
    end = wayback._day_end(DAY)
    return [ts for ts, _u in entries if ts and ts <= end][-1]


def measure(fn, body: bytes) -> tuple[float, int, str]:
    """Best wall time of 3 runs without tracing, then the peak of one traced run."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        answer = fn(body)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    fn(body)
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak, answer


def end_to_end() -> float:
    from fake_memento import GOOD_PAGE, FakeArchive, Memento
    from fake_wayback import FakeWayback
    from simulator import SimWeb

    with SimWeb() as sim:
        fw, archive = FakeWayback(sim), FakeArchive(sim)
        archive.mementos += [Memento(URL, ts, 200, GOOD_PAGE.format(title=ts)) for ts in timestamps(N)]
        try:
            started = time.perf_counter()
            found = memento.find_snapshots([(URL, DAY)], wayback.WaybackOptions(base_url=fw.base_url, retries=0),
                                           memento.MementoOptions(archives=[archive.timemap_base], timeout=120))
            elapsed = time.perf_counter() - started
            assert found[(URL, DAY)].timestamp, found
            return elapsed
        finally:
            fw.close()
            archive.close()


def main() -> None:
    body = timemap(N)
    s_time, s_peak, s_answer = measure(streamed, body)
    w_time, w_peak, w_answer = measure(whole, body)
    assert s_answer == w_answer, (s_answer, w_answer)
    print(f"TimeMap: {N:,} mementos, {len(body) / 1e6:.1f} MB; both choose {s_answer}")
    print(f"streamed: {s_time:.2f} s, peak {s_peak / 1e6:.1f} MB (beyond the body)")
    print(f"whole:    {w_time:.2f} s, peak {w_peak / 1e6:.1f} MB (beyond the body)")
    print(f"ratios streamed/whole: time {s_time / w_time:.2f}x, peak memory {s_peak / w_peak:.3f}x")
    print(f"end to end on loopback (fake Wayback + one archive, TimeMap built by the server): {end_to_end():.1f} s")


if __name__ == "__main__":
    main()
