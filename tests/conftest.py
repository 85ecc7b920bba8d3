"""Shared fixtures: the loopback web simulator and a clean working directory."""

from __future__ import annotations

import pytest

from simulator import SimWeb


@pytest.fixture
def sim():
    """A running :class:`SimWeb`; every server it started is stopped after the test."""
    with SimWeb() as web_:
        yield web_


@pytest.fixture(autouse=True)
def no_public_archives(monkeypatch):
    """No test may reach a public web archive: the default Memento archive list is off unless a test sets one.

    Set in the environment, so the CLI subprocesses tests start inherit it too.
    """
    monkeypatch.setenv("PROVENANCE_ARCHIVES", "")
