"""Per-host politeness, in one place: :class:`Host` owns a host's permits, its schedule and its slow-downs.

Why a module of its own (lychee's ``ratelimit/host``): the engine asks a
Host when a request may start and tells it when one was sent or when the
server said "too many"; how the gaps are kept (an absolute schedule, a
floor at the moment the bytes leave, Retry-After pauses) is decided here
and nowhere else. :class:`Permits` is the counting semaphore under both a
host's limit and the run's global one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable

from .catchall import Sibling

#: However late a host's schedule runs, two starts are never closer than this share of host_interval.
MIN_GAP_FRACTION = 0.8
#: After a 429/503 a host's gap between requests becomes at least this, doubled on each new one.
SLOWED_INTERVAL = 1.0
MAX_HOST_INTERVAL = 10.0


class Permits:
    """A counting semaphore that hands a freed permit to the oldest waiter.

    asyncio.Semaphore lets the releasing task grab the permit straight back
    (a waiter can starve) and, in 3.11, rescans its waiters on each wake-up
    (quadratic with thousands of waiting requests); this is O(1) per step.
    """

    def __init__(self, limit: int) -> None:
        #: Permits that may be out at once (a host's may be lowered while running).
        self.limit = max(1, limit)
        #: Permits out now.
        self.active = 0
        #: Tasks waiting for a permit, first come first served.
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        """Take a permit. A released permit is handed to the oldest waiter (``urgent`` ones first),
        never grabbed back by the task that released it: no waiter starves."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # it was handed to us: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    @property
    def waiting(self) -> int:
        """Tasks waiting for a permit now (all are out)."""
        return len(self._waiters)

    def release(self) -> None:
        self.active -= 1
        self._wake()

    def reclaim(self) -> None:
        """Count a permit as taken again without waiting (for a holder that let it go and must return it)."""
        self.active += 1

    def _wake(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)



class Host(Permits):
    """Everything one host's politeness needs, in one place (its permits are ``host_concurrency``)."""

    def __init__(self, name: str, concurrency: int, interval: float) -> None:
        super().__init__(concurrency)
        #: Host name (the per-host key).
        self.name = name
        #: Minimum seconds between two request starts; raised by 429/503.
        self.interval = max(0.0, interval)
        #: Earliest start a new reservation may take (spreads waiting requests over time).
        self._next_slot = 0.0
        #: When the last request was let start (it may still be connecting).
        self._last_start = -1e9
        #: The host's start line: one of its requests at a time keeps the floor and waits for a global permit.
        self._starting = Permits(1)
        #: When the last request's bytes were written to its connection.
        self._last_sent = -1e9
        #: The request handed to libcurl and not yet written (the next one waits for it), or None.
        self._sending: asyncio.Future[None] | None = None
        #: No request starts before this (Retry-After).
        self.paused_until = 0.0
        #: Catch-all probes per directory and shape (see probe_plan): what a random sibling got, or None.
        self.probes: dict[str, asyncio.Future[Sibling | None]] = {}
        #: Times this host asked us to slow down.
        self.slowdowns = 0
        #: A first request to this host has been let through.
        self.opened = False
        #: Set when the first exchange with this host ended (its connection is then open and free).
        self.answered = asyncio.Event()

    async def wait_slot(self) -> None:
        """Reserve this host's next start slot and sleep until it (no permit is held meanwhile)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot, self.paused_until)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def start(self, gate: Permits, urgent: bool = False) -> None:
        """Keep the gap floor and take a global permit (held on return); after wait_slot and acquire.

        Slots are an absolute schedule ``host_interval`` apart, reserved on
        arrival so waiting requests spread out instead of waking together.
        An urgent request (a catch-all probe, once per host and directory,
        that pages are waiting on) skips wait_slot, keeps only the floor and
        goes first in this host's start line. A start that a busy machine
        made late does not push back the ones after it (a strict "gap since
        the last real start" rule turns every late wake-up into a permanent
        slowdown: measured here, 87 ms gaps for a 50 ms interval under load),
        but two starts are never closer than MIN_GAP_FRACTION of the
        interval, even after waiting for the global permit. The global
        permit is never held while sleeping.

        One request of a host at a time waits here (the host's start line):
        when the run's global permits are all out, a host's requests whose
        slots passed would otherwise queue for them together, and each one
        handed a permit before its floor passed would give it back and
        queue again (measured on bench_check's broad shape: 6.6 trips
        through here per request and a fifth more CPU). In line, a request
        sleeps out the floor first, then queues for a permit once.
        """
        await self._starting.acquire(urgent)
        try:
            loop = asyncio.get_running_loop()
            for _ in range(1000):  # bounded: a round ends early only when a Retry-After pause came meanwhile
                ready_at = max(self._last_start + self.interval * MIN_GAP_FRACTION, self.paused_until)
                now = loop.time()
                if now < ready_at:
                    await asyncio.sleep(ready_at - now)
                await gate.acquire()
                now = loop.time()
                if now >= max(self._last_start + self.interval * MIN_GAP_FRACTION, self.paused_until):
                    self._last_start = now
                    return
                gate.release()
            await gate.acquire()
            self._last_start = loop.time()
        finally:
            self._starting.release()

    async def at_send(self, gate: Permits) -> asyncio.Future[None]:
        """Right before a request is handed to libcurl: keep the gap floor since the last request written.

        ``start`` spaces the starts, but a request that must open a new
        connection is written later than one on a pooled connection, and
        the server would see the two bunched. So a request is handed over
        only once the one before it to this host was written (libcurl's
        pre-request callback calls :meth:`sent`), and the floor counts
        from that moment, which is what the server sees. Returns the
        token the caller passes to :meth:`sent` when its bytes leave and
        to :meth:`settled` when its attempt ends (sent or not). The
        caller's global permit (``gate``) is not held while waiting, and
        is held again on return.
        """
        loop = asyncio.get_running_loop()
        floor = self.interval * MIN_GAP_FRACTION
        for _ in range(100):  # bounded: each round waits for a write or for the floor to pass
            sending = self._sending
            if sending is not None and floor > 0 and not sending.done():  # no gap to keep: nothing to wait for
                wait: Awaitable = asyncio.shield(sending)
            else:
                now = loop.time()
                ready_at = self._last_sent + floor
                if now >= ready_at:
                    break
                wait = asyncio.sleep(ready_at - now)
            gate.release()
            try:
                await wait
                await gate.acquire(urgent=True)  # back first in line: this request is under way
            except BaseException:
                gate.reclaim()  # cancelled (a deadline): the caller gives the permit back on its way out
                raise
        self._last_sent = loop.time()
        token: asyncio.Future[None] = loop.create_future()
        self._sending = token
        return token

    def sent(self, token: asyncio.Future[None]) -> None:
        """The request's bytes are leaving now (connected, about to write): the gap counts from here."""
        self._last_sent = max(self._last_sent, asyncio.get_running_loop().time())
        self.settled(token)

    def settled(self, token: asyncio.Future[None]) -> None:
        """The attempt that took ``token`` ended or wrote: the next request to this host may be handed over."""
        if not token.done():
            token.set_result(None)

    def slow_down(self, pause: float) -> None:
        """The host said 'too many requests': pause it and stay slower for the rest of the run."""
        now = asyncio.get_running_loop().time()
        if now >= self.paused_until:
            # Once per pause: the answers to requests already in flight are the same complaint.
            self.slowdowns += 1
            self.interval = min(MAX_HOST_INTERVAL, max(self.interval * 2, SLOWED_INTERVAL))
            self.limit = max(1, self.limit // 2)
        self.paused_until = max(self.paused_until, now + pause)
        self._next_slot = max(self._next_slot, self.paused_until)
