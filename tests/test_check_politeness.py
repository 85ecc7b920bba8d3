"""Politeness proven from the server's side: what the simulated hosts actually saw.

The simulated hosts run in their own process (:mod:`process_sim`): a simulator
on a thread of this process shares the GIL with the engine, and under CPU load
stamps arrivals late and in bunches, which would make these gaps flaky.
"""

from __future__ import annotations

import statistics
import time

import pytest

from orderings import assert_cumulative_gaps
from process_sim import Page, ProcessSim
from provenance import check, politeness
from provenance.check import CheckOptions, check_urls

PAGE = "<html><head><title>Fine page</title></head><body><p>Plenty of text here.</p></body></html>"
#: Server-side clocks see request starts a little jittered by the loopback and the event loops.
GAP_TOLERANCE = 0.01


@pytest.fixture
def psim():
    """Simulated hosts in a child process; it is stopped and reaped after the test, pass or fail."""
    with ProcessSim() as web_:
        yield web_


def test_host_concurrency_is_obeyed_and_used(psim):
    site = psim.site()
    urls = [site.page(f"/c/{i}", PAGE, delay=0.15) for i in range(18)]
    results = check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=3, host_interval=0.0,
                                            probe_catch_all=False))
    assert {r.verdict for r in results} == {"ok"}
    seen = site.stats()
    assert seen.requests == 18
    assert seen.peak == 3, "never more than --host-concurrency at once, and the limit is used"


def test_host_interval_is_obeyed(psim):
    site = psim.site()
    urls = [site.page(f"/i/{i}", PAGE) for i in range(10)]
    before = time.monotonic()
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=10, host_interval=0.08,
                                  probe_catch_all=False))
    seen = site.stats()
    assert seen.requests == 10
    starts = sorted(seen.starts)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # Starts follow a schedule host_interval apart: the k-th start came no sooner than k intervals after the
    # run began (an ordering: a late first start, which shortens last - first, cannot break it), a typical gap
    # is the interval, and even a late start never comes closer than the floor.
    assert_cumulative_gaps(starts, before, 0.08)
    assert statistics.median(gaps) >= 0.08 - GAP_TOLERANCE
    assert min(gaps) >= 0.08 * check.MIN_GAP_FRACTION - GAP_TOLERANCE


def test_limits_are_per_host_and_global_concurrency_holds(psim):
    sites = [psim.site() for _ in range(4)]
    urls = [s.page(f"/g/{i}", PAGE, delay=0.2) for s in sites for i in range(5)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, concurrency=3, host_concurrency=2,
                                  host_interval=0.0, probe_catch_all=False))
    seen = psim.stats()
    assert all(seen.sites[s.base_url].peak <= 2 for s in sites)
    assert seen.peak <= 3


def test_both_limits_together_with_a_probe(psim):
    site = psim.site()
    urls = [site.page(f"/docs/{i}", PAGE, delay=0.05) for i in range(12)]
    before = time.monotonic()
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=2, host_interval=0.04))
    seen = site.stats()
    assert seen.requests == 13  # twelve pages and one catch-all probe, which obeys the limits too
    assert seen.peak <= 2
    assert seen.min_gap() >= 0.04 * check.MIN_GAP_FRACTION - GAP_TOLERANCE
    ours = {f"/docs/{i}" for i in range(12)}  # (the probe's random sibling has a digit path too)
    pages = sorted(t for t, path in zip(seen.starts, seen.paths) if path in ours)
    assert len(pages) == 12
    assert_cumulative_gaps(pages, before, 0.04)  # the probe keeps only the floor, pages the schedule


def test_429_slows_the_host_for_the_rest_of_the_run(psim, monkeypatch):
    monkeypatch.setattr(politeness, "SLOWED_INTERVAL", 0.3)
    site = psim.site()
    first = site.sequence("/r/0", [(429, "slow down", {"Retry-After": "1"}), (200, PAGE, {})])
    rest = [site.page(f"/r/{i}", PAGE) for i in range(1, 5)]
    results = check_urls([first] + rest, CheckOptions(allow_private=True, retries=1, host_concurrency=1,
                                                      host_interval=0.0, probe_catch_all=False))
    assert {r.verdict for r in results} == {"ok"}
    starts = sorted(site.stats().starts)
    assert len(starts) == 6
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[0] >= 0.9, "the pause asked for by Retry-After"
    # Slower afterwards: a schedule 0.3 s apart (the interval was 0), never closer than its floor.
    assert statistics.median(gaps[1:]) >= 0.3 - GAP_TOLERANCE, "and slower afterwards"
    assert min(gaps[1:]) >= 0.3 * check.MIN_GAP_FRACTION - GAP_TOLERANCE


def test_first_exchange_with_a_host_goes_alone(psim):
    site = psim.site()
    urls = [site.page(f"/f/{i}", PAGE, delay=0.2) for i in range(6)]
    check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=5, host_interval=0.01))
    seen = site.stats()
    starts = sorted(seen.starts)
    assert starts[1] - starts[0] >= 0.2 - GAP_TOLERANCE, "the second request waited for the first answer"
    assert seen.peak >= 2, "after that, the host's concurrency is used"


def test_the_simulator_stamps_arrivals_and_always_stops():
    """The instrument itself: stamps are when the bytes arrived (not when the child ran), spec answered."""
    import socket
    import time

    def get(sock: socket.socket, path: str) -> tuple[float, float, bytes]:
        before = time.monotonic()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        after = time.monotonic()
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            assert chunk, "the simulator closed the connection"
            head += chunk
        return before, after, head

    with ProcessSim() as web_:  # its start is bounded by process_sim.START_TIMEOUT (ProcessSimError past it)
        assert web_.startup > 0
        site = web_.site(pages={"/p": Page("fine", delay=0.05)},
                         sequences={"/s": [(429, "slow", {"Retry-After": "1"}), (200, "ok", {})]})
        sent = []
        with socket.create_connection((site.host, site.port), timeout=5) as sock:
            for path in ("/p", "/s", "/s", "/s", "/nowhere"):
                before, after, head = get(sock, path)
                sent.append((before, after, head.split(b"\r\n", 1)[0]))
        seen = site.stats()
        proc = web_.proc
    assert [status for _, _, status in sent] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 429 Too Many Requests",
                                                  b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"]
    assert seen.paths == ["/p", "/s", "/s", "/s", "/nowhere"] and seen.requests == 5 and seen.peak == 1
    for (before, after, _), start in zip(sent, seen.starts):
        assert before - 0.001 <= start <= after + 0.001, "stamped when the request reached the host"
    assert all(h >= s for h, s in zip(seen.handled, seen.starts))
    assert proc.returncode is not None, "the child was stopped and reaped"


def test_waiting_for_the_gap_at_send_does_not_hold_the_global_permit():
    import asyncio

    async def main():
        loop = asyncio.get_running_loop()
        gate = check.Permits(1)
        host = check.Host("h.example", 4, 0.2)
        first_sent = host._last_sent = loop.time()  # a request just left: the next must wait for the floor
        await gate.acquire()
        waiting = asyncio.ensure_future(host.at_send(gate))
        await asyncio.sleep(0.02)
        # Another host's request gets the only permit while this one waits: an ordering, not a duration
        # (the 30 s bound only keeps a broken at_send, which would hold the permit, from hanging the test).
        other = asyncio.ensure_future(gate.acquire())
        await asyncio.wait({other, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert other.done() and not waiting.done(), "the waiting request let go of the global permit"
        gate.release()
        await asyncio.wait_for(waiting, 30)
        assert gate.active == 1, "at_send returns holding the permit again"
        # It returned once the floor had passed, and stamped its own send (not the old one).
        assert first_sent + 0.2 * check.MIN_GAP_FRACTION <= host._last_sent <= loop.time()
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


def test_a_request_is_handed_over_only_after_the_one_before_it_was_written():
    """libcurl writes a request on a new connection only once connected: the next request to the host waits for
    that write, and its floor counts from it, so the server never sees the two bunched."""
    import asyncio

    async def main():
        loop = asyncio.get_running_loop()
        gate = check.Permits(4)
        host = check.Host("h.example", 4, 0.1)
        await gate.acquire()
        first = await host.at_send(gate)
        await gate.acquire()
        second = asyncio.ensure_future(host.at_send(gate))
        await asyncio.sleep(0.2)  # well past the floor: still waiting, the first is not written yet
        assert not second.done()
        written = loop.time()
        host.sent(first)  # the first request's bytes leave now (slow connect)
        token = await asyncio.wait_for(second, 1.0)
        assert loop.time() - written >= 0.1 * check.MIN_GAP_FRACTION - 0.005, "the floor counts from the write"
        # Near miss: an attempt that ends without writing (connection refused) frees the host at once.
        await gate.acquire()
        third = asyncio.ensure_future(host.at_send(gate))
        await asyncio.sleep(0.01)
        host.settled(token)
        await asyncio.wait_for(third, 1.0)

    asyncio.run(main())


def test_a_host_queues_for_the_global_permits_one_request_at_a_time():
    """When every global permit is out, a host's requests whose slots passed wait in the host's own line, each
    taking a permit once its floor has passed: none is handed a permit early only to give it back and queue
    again (which cost a fifth more CPU on the broad benchmark), and the starts keep the floor."""
    import asyncio

    class CountingGate(check.Permits):
        def __init__(self, limit: int) -> None:
            super().__init__(limit)
            self.acquired = 0

        async def acquire(self, urgent: bool = False) -> None:
            await super().acquire(urgent)
            self.acquired += 1

    async def main():
        loop = asyncio.get_running_loop()
        gate = CountingGate(1)
        host = check.Host("h.example", 4, 0.05)
        await gate.acquire()  # another host's request holds the only permit
        starts: list[float] = []

        async def one() -> None:
            await host.start(gate)
            starts.append(loop.time())
            gate.release()

        requests = [asyncio.ensure_future(one()) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert gate.waiting == 1, "one request of the host queues for a global permit, the others in its line"
        gate.release()
        await asyncio.wait_for(asyncio.gather(*requests), 30)
        assert len(starts) == 3
        assert gate.acquired == 1 + 3, "each request took a global permit exactly once"
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= 0.05 * check.MIN_GAP_FRACTION - 0.005, gaps
        # An urgent request (a catch-all probe) goes first in the host's line.
        await gate.acquire()
        order: list[str] = []

        async def tagged(name: str, urgent: bool) -> None:
            await host.start(gate, urgent)
            order.append(name)
            gate.release()

        pages = [asyncio.ensure_future(tagged(f"page{i}", False)) for i in range(3)]
        await asyncio.sleep(0.01)
        probe = asyncio.ensure_future(tagged("probe", True))
        await asyncio.sleep(0.01)
        gate.release()
        await asyncio.wait_for(asyncio.gather(*pages, probe), 30)
        # page0 was already waiting for the permit in the host's line; the probe comes next, before page1.
        assert order == ["page0", "probe", "page1", "page2"], order
        assert gate.active == 0 and host._starting.active == 0

    asyncio.run(main())
