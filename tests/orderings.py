"""Timing asserted as orderings: what load cannot break.

A loaded machine only ever makes things later: a request leaves late, a
simulator stamps it late. So "the k-th request came no sooner than k gaps
after the test began" holds however busy the machine is, while "the gap
between two stamps is at least x" does not (a late first stamp shrinks it).
Speed itself goes to bench/, as ratios.
"""

from __future__ import annotations


#: Seconds of clock slack: libuv's loop time is a cached, possibly coarse reading of the same monotonic clock.
CLOCK_SLACK = 0.01


def assert_cumulative_gaps(starts: list[float], before: float, gap: float) -> None:
    """The k-th start (sorted) is at least k gaps after ``before``: what a schedule ``gap`` apart guarantees.

    Timing under load only makes requests later, so this holds on a busy machine, and fails when the gaps
    are not kept (all requests at once arrive well within one gap).
    """
    ordered = sorted(starts)
    for k, start in enumerate(ordered):
        assert start - before >= k * gap - CLOCK_SLACK, (k, [round(s - before, 4) for s in ordered])
