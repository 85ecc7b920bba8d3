"""Shared fixtures: the loopback web simulator and a clean working directory."""

from __future__ import annotations

import pytest

from simulator import SimWeb


@pytest.fixture
def sim():
    """A running :class:`SimWeb`; every server it started is stopped after the test."""
    with SimWeb() as web_:
        yield web_
