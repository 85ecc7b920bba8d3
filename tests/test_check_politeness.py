"""Politeness proven from the server's side: what the simulated hosts actually saw."""

from __future__ import annotations

import statistics

from provenance import check
from provenance.check import CheckOptions, check_urls

PAGE = "<html><head><title>Fine page</title></head><body><p>Plenty of text here.</p></body></html>"
#: Server-side clocks see request starts a little jittered by the loopback and the event loops.
GAP_TOLERANCE = 0.01


def test_host_concurrency_is_obeyed_and_used(sim):
    site = sim.site()
    urls = [site.page(f"/c/{i}", PAGE, delay=0.15) for i in range(18)]
    results = check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=3, host_interval=0.0,
                                            probe_catch_all=False))
    assert {r.verdict for r in results} == {"ok"}
    assert site.stats.requests == 18
    assert site.stats.peak == 3, "never more than --host-concurrency at once, and the limit is used"


def test_host_interval_is_obeyed(sim):
    site = sim.site()
    urls = [site.page(f"/i/{i}", PAGE) for i in range(10)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=10, host_interval=0.08,
                                  probe_catch_all=False))
    assert site.stats.requests == 10
    starts = sorted(site.stats.starts)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # Starts follow a schedule host_interval apart: the whole run takes at least nine intervals,
    # a typical gap is the interval, and even a late start never comes closer than the floor.
    assert starts[-1] - starts[0] >= 9 * 0.08 - GAP_TOLERANCE
    assert statistics.median(gaps) >= 0.08 - GAP_TOLERANCE
    assert min(gaps) >= 0.08 * check.MIN_GAP_FRACTION - GAP_TOLERANCE


def test_limits_are_per_host_and_global_concurrency_holds(sim):
    sites = [sim.site() for _ in range(4)]
    urls = [s.page(f"/g/{i}", PAGE, delay=0.2) for s in sites for i in range(5)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, concurrency=3, host_concurrency=2,
                                  host_interval=0.0, probe_catch_all=False))
    assert all(s.stats.peak <= 2 for s in sites)
    assert sim.peak <= 3


def test_both_limits_together_with_a_probe(sim):
    site = sim.site()
    urls = [site.page(f"/docs/{i}", PAGE, delay=0.05) for i in range(12)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=2, host_interval=0.04))
    assert site.stats.requests == 13  # twelve pages and one catch-all probe, which obeys the limits too
    assert site.stats.peak <= 2
    assert site.stats.min_gap() >= 0.04 * check.MIN_GAP_FRACTION - GAP_TOLERANCE
    pages = sorted(t for t, path in zip(site.stats.starts, site.stats.paths) if path[len("/docs/"):].isdigit())
    assert pages[-1] - pages[0] >= 11 * 0.04 - GAP_TOLERANCE  # the probe keeps only the floor, pages the schedule


def test_429_slows_the_host_for_the_rest_of_the_run(sim, monkeypatch):
    monkeypatch.setattr(check, "SLOWED_INTERVAL", 0.3)
    site = sim.site()
    first = site.sequence("/r/0", [(429, "slow down", {"Retry-After": "1"}), (200, PAGE, {})])
    rest = [site.page(f"/r/{i}", PAGE) for i in range(1, 5)]
    results = check_urls([first] + rest, CheckOptions(allow_private=True, retries=1, host_concurrency=1,
                                                      host_interval=0.0, probe_catch_all=False))
    assert {r.verdict for r in results} == {"ok"}
    starts = sorted(site.stats.starts)
    assert len(starts) == 6
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[0] >= 0.9, "the pause asked for by Retry-After"
    # Slower afterwards: a schedule 0.3 s apart (the interval was 0), never closer than its floor.
    assert statistics.median(gaps[1:]) >= 0.3 - GAP_TOLERANCE, "and slower afterwards"
    assert min(gaps[1:]) >= 0.3 * check.MIN_GAP_FRACTION - GAP_TOLERANCE


def test_first_exchange_with_a_host_goes_alone(sim):
    site = sim.site()
    urls = [site.page(f"/f/{i}", PAGE, delay=0.2) for i in range(6)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=5, host_interval=0.01))
    starts = sorted(site.stats.starts)
    assert starts[1] - starts[0] >= 0.2 - GAP_TOLERANCE, "the second request waited for the first answer"
    assert site.stats.peak >= 2, "after that, the host's concurrency is used"


def test_waiting_for_the_gap_at_send_does_not_hold_the_global_permit():
    import asyncio

    async def main():
        loop = asyncio.get_running_loop()
        gate = check.Permits(1)
        host = check.Host("h.example", 4, 0.2)
        host._last_sent = loop.time()  # a request just left: the next must wait ~0.16 s
        await gate.acquire()
        waiting = asyncio.ensure_future(host.at_send(gate))
        await asyncio.sleep(0.02)
        async with asyncio.timeout(0.1):  # another host's request gets the only permit meanwhile
            await gate.acquire()
        gate.release()
        await waiting
        assert gate.active == 1, "at_send returns holding the permit again"
        assert loop.time() - host._last_sent < 0.05
        gate.release()
        # cancelled while waiting: the permit is counted as held, so the caller's release balances it
        host._last_sent = loop.time()
        await gate.acquire()
        waiting = asyncio.ensure_future(host.at_send(gate))
        await asyncio.sleep(0.02)
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            pass
        assert gate.active == 1
        gate.release()
        assert gate.active == 0

    asyncio.run(main())
