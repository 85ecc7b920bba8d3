"""tests/needs.py: a missing facility skips a test here and fails it in CI; certificates need no openssl."""

from __future__ import annotations

import pytest


def test_a_missing_facility_skips_here_and_fails_in_ci(monkeypatch):
    import needs

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no such thing"):
        needs.skip_or_fail("no such thing")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="in CI this test must run"):
        needs.skip_or_fail("no such thing")


def test_certificates_are_made_without_openssl(tmp_path, monkeypatch):
    """PATH emptied: the certificates come from Python (trustme), and the client trusts what it should."""
    import ssl

    import needs

    monkeypatch.setenv("PATH", "")
    made = needs.certificates(tmp_path)
    for cert, key in made.values():
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(cert), str(key))
    client = ssl.create_default_context(cafile=str(made["san"][0]))
    assert client.cert_store_stats()["x509_ca"] >= 1
