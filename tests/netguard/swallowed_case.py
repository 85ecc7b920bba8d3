"""Run only by tests/test_netguard.py (explicitly, in a child pytest): code that swallows the guard's refusal.

The child run must still fail: the refusal was logged, and conftest.py fails the test that caused it.
"""

import socket


def test_swallows_a_refused_connection():
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=1)  # TEST-NET-1 (RFC 5737): never a real host
    except OSError:
        pass
