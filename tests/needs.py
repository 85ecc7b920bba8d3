"""What some tests need from the machine, and what happens when it is missing.

A missing facility skips the test on a developer's machine and fails it under
``CI=true``: a test that skips in CI checks nothing, and nobody reads CI's
skip list. Certificates need nothing from the machine (trustme makes them in
Python), so the TLS tests never skip.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import trustme


def in_ci() -> bool:
    """True under CI=true (what .ci/run's environment sets)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip here; fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (in CI this test must run, not skip)", pytrace=False)
    pytest.skip(reason)


def ipv6_loopback() -> bool:
    """Can this machine listen on ::1?"""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def require_ipv6() -> None:
    """Skip (fail in CI) without IPv6 loopback."""
    if not ipv6_loopback():
        skip_or_fail("no IPv6 loopback (::1) on this machine")


def certificates(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Certificate and key files made in Python (no openssl binary).

    - ``plain``: a self-signed certificate (a trustme root serving as a server's own): nobody trusts it.
    - ``san``: a certificate for ``site.test`` and ``127.0.0.1`` from a trustme CA; its file holds the chain
      up to that CA, so the same file is the server's chain and the client's ``cafile``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[Path, Path]] = {}
    root = trustme.CA()
    cert, key = folder / "plain.pem", folder / "plain.key"
    root.cert_pem.write_to_path(str(cert))
    root.private_key_pem.write_to_path(str(key))
    made["plain"] = (cert, key)
    ca = trustme.CA()
    leaf = ca.issue_cert("site.test", "127.0.0.1")
    cert, key = folder / "san.pem", folder / "san.key"
    with open(cert, "wb") as out:
        for blob in leaf.cert_chain_pems:
            out.write(blob.bytes())
        out.write(ca.cert_pem.bytes())
    leaf.private_key_pem.write_to_path(str(key))
    made["san"] = (cert, key)
    return made
