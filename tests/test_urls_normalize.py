"""URL normalisation: one spelling per URL so each is checked once."""

from __future__ import annotations

import pytest

from provenance.urls import InvalidURL, host_of, is_ip_literal, normalize_url, split_fragment


@pytest.mark.parametrize("raw, base, expected", [
    ("HTTPS://Example.COM:443/Path?b=1&utm_source=x#frag", None, ("https://example.com/Path?b=1", "frag")),
    ("http://example.com:80", None, ("http://example.com/", None)),
    ("http://example.com:8080/a", None, ("http://example.com:8080/a", None)),
    ("/a/b?fbclid=1&gclid=2", "https://site.example/x/y", ("https://site.example/a/b", None)),
    ("c.html", "https://site.example/x/y", ("https://site.example/x/c.html", None)),
    ("//cdn.example/lib.js", None, ("https://cdn.example/lib.js", None)),
    ("https://bücher.example/straße", None, ("https://xn--bcher-kva.example/stra%C3%9Fe", None)),
    ("  https://e.example/a\n b  ", None, ("https://e.example/ab", None)),
    ("https://e.example/a%20b", None, ("https://e.example/a%20b", None)),
])
def test_normalize(raw, base, expected):
    assert normalize_url(raw, base) == expected


@pytest.mark.parametrize("raw", ["", "mailto:a@b.example", "javascript:void(0)", "tel:+1", "ftp://x.example/",
                                 "https://", "http://[::1", "/relative/without/base"])
def test_invalid(raw):
    with pytest.raises(InvalidURL):
        normalize_url(raw)


def test_helpers():
    assert split_fragment("https://a.example/x#y") == ("https://a.example/x", "y")
    assert split_fragment("https://a.example/x") == ("https://a.example/x", None)
    assert host_of("https://Sub.Example.com:8443/x") == "sub.example.com"
    assert is_ip_literal("127.0.0.1") and is_ip_literal("[::1]") and not is_ip_literal("example.com")
    assert not is_ip_literal("1.example")


@pytest.mark.parametrize("raw, expected", [
    # Decoding %2F or %26 would ask the server for another resource: a false "dead".
    ("https://e.example/files/a%2Fb.pdf", "https://e.example/files/a%2Fb.pdf"),
    ("https://e.example/s?q=rock%26roll&page=2", "https://e.example/s?q=rock%26roll&page=2"),
    # Escapes of unreserved characters are decoded, the rest upper-cased (RFC 3986 6.2.2).
    ("https://e.example/%7euser/%e2%82%ac", "https://e.example/~user/%E2%82%AC"),
    # A bare query flag stays a bare flag; tracking parameters go.
    ("https://e.example/p?amp&utm_campaign=x&id=3", "https://e.example/p?amp&id=3"),
    ("https://e.example/p?a=b+c&fbclid=zz", "https://e.example/p?a=b+c"),
    ("https://e.example/a b", "https://e.example/a%20b"),
])
def test_normalize_keeps_resource_identity(raw, expected):
    assert normalize_url(raw)[0] == expected


@pytest.mark.parametrize("raw, base, expected", [
    # As browsers read http(s) URLs (WHATWG): a backslash before the query is a slash, dot segments go.
    ("https://e.example/docs\\guide.html", None, "https://e.example/docs/guide.html"),
    ("https://e.example/a/../docs/./guide.html", None, "https://e.example/docs/guide.html"),
    ("https://e.example/a/%2e%2E/b/.", None, "https://e.example/b/"),
    ("..\\x\\y", "https://e.example/a/b/c", "https://e.example/a/x/y"),
    ("https://e.example\\docs\\x", None, "https://e.example/docs/x"),
    # Near misses: escaped separators, dot-files and a backslash in the query are names, not structure.
    ("https://e.example/docs%5Cguide.html", None, "https://e.example/docs%5Cguide.html"),
    ("https://e.example/.well-known/x", None, "https://e.example/.well-known/x"),
    ("https://e.example/a..b/c.", None, "https://e.example/a..b/c."),
    ("https://e.example/p?x=../y", None, "https://e.example/p?x=../y"),
])
def test_normalize_reads_paths_as_browsers_do(raw, base, expected):
    assert normalize_url(raw, base)[0] == expected


@pytest.mark.parametrize("raw", ["https://exa mple.org/", "https://ex%41mple.org/", "https://a..b.example/", "https://-/x"])
def test_bad_host_names_are_invalid(raw):
    with pytest.raises(InvalidURL):
        normalize_url(raw)


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True),
    ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("::1", False),
    ("::ffff:127.0.0.1", False),
    ("2002:7f00:1::", False),            # 6to4 wrapping 127.0.0.1
    ("2002:0a00:0001::", False),         # 6to4 wrapping 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo whose client is 127.0.0.1
])
def test_address_policy_sees_embedded_ipv4(address, public):
    from provenance.urls import is_public_address

    assert is_public_address(address) is public


@pytest.mark.parametrize("url, expected", [
    ("http://faß.de/x", "http://xn--fa-hia.de/x"),        # browsers' UTS 46: ß stays ß, not "fass.de"
    ("https://Straße.de/", "https://xn--strae-oqa.de/"),
    ("http://bücher.example/a", "http://xn--bcher-kva.example/a"),
    ("http://☃.net/", "http://xn--n3h.net/"),             # refused by strict IDNA 2008, opened by browsers
    ("http://a_b.example/", "http://a_b.example/"),       # ASCII names untouched, underscores included
])
def test_international_host_names_are_encoded_as_browsers_do(url, expected):
    assert normalize_url(url)[0] == expected


def test_the_checker_sends_the_same_host_the_normalizer_names():
    from provenance.fetch import split_url

    for url in ("http://faß.de/x", "http://bücher.example/a", "http://☃.net/"):
        assert split_url(url).host == host_of(normalize_url(url)[0])


def test_undecodable_bytes_are_an_invalid_url_not_a_crash():
    """A shell passes bytes that are not UTF-8 as surrogates (surrogateescape): one clear error."""
    with pytest.raises(InvalidURL, match="not UTF-8"):
        normalize_url("https://example.com/\udcff")


@pytest.mark.parametrize("url, once", [
    ("https://example.com/%%41b", "https://example.com/%%41b"),      # not "%Ab" (then "%AB")
    ("https://example.com/%4%41", "https://example.com/%4%41"),      # not "%4A"
    ("https://example.com/%41%42", "https://example.com/AB"),        # plain escapes of letters still decoded
    ("https://example.com/50%25off", "https://example.com/50%25off"),
])
def test_normalising_never_makes_a_new_escape(url, once):
    assert normalize_url(url)[0] == once
    assert normalize_url(once)[0] == once


def test_normalising_is_idempotent_on_escape_soup():
    import random
    rng = random.Random(1130)
    pieces = ["%", "%4", "%41", "%2f", "%2F", "%25", "%7e", "a", "B", "1", "-", "/", "%%", "%g1", "%e2%82%ac"]
    for _ in range(3000):
        url = "https://example.com/" + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        try:
            once = normalize_url(url)[0]
        except InvalidURL:
            continue
        assert normalize_url(once)[0] == once, url
