"""urls.fast_split, the one fast URL read behind resolve._host, catchall._directory, fetch.split_url and
classify.is_deep.

Before it, each of the three modules had its own regex. The readers as they
were are kept in tests/urls_before.py; here every caller must answer exactly
as before (the same value, or the same exception with the same message) on
a seeded corpus of URL shapes, hand-written hostile URLs and a character soup.
"""

from __future__ import annotations

import random

import pytest

import urls_before as before
from provenance import catchall, classify, fetch, resolve
from provenance.urls import _FAST_SPLIT, fast_split


def _answer(function, url: str) -> object:
    """What a reader returns or raises, in a comparable form."""
    try:
        result = function(url)
    except Exception as exc:  # noqa: BLE001 - the exception is part of the answer
        name = type(exc).__name__
        # wire.py's WireUnsupported (the frozen copy's) is fetch.py's FetchUnsupported now: one answer, renamed.
        return ("raised", "FetchUnsupported" if name == "WireUnsupported" else name, str(exc))
    if isinstance(result, (fetch.Target, before.Target)):  # today's, or the frozen copy's
        return (result.key, result.authority, result.path)
    return result


#: Each caller now and before.
CALLERS = {
    "resolve._host": (resolve._host.__wrapped__, before.check_host),
    "catchall._directory": (catchall._directory.__wrapped__, before.check_directory),
    "fetch.split_url": (fetch.split_url, before.split_url),
    "classify.is_deep": (classify.is_deep, before.is_deep),
}

HOSTILE = [
    # ordinary and hot-path shapes
    "http://127.0.0.2:8001/p/1", "http://127.0.0.250:65535/p/4999", "https://example.com", "https://example.com/",
    "https://en.wikipedia.org/wiki/Link_rot?action=history&oldid=1#Prevalence", "http://example.com/index.html",
    "http://example.com/en/", "http://example.com/en-us", "http://example.com/home", "http://example.com/?",
    "http://example.com/a?", "http://example.com/a?#f", "http://example.com/a?b?c", "http://example.com/?#",
    # scheme spellings
    "HTTP://example.com/x", "Http://Example.com/X", "HTTPS://EXAMPLE.COM", "hTtPs://a.b/?Q", "http:/x", "http:x",
    "http:///x", "http://", "https://", "http:", "//example.com/x", "example.com/x", "ftp://example.com/x",
    "mailto:a@b.example", "javascript://%0aalert(1)", "h://x/y", "1http://x/y", "x-y.z+w://h/p?q", " http://a/x",
    "\thttp://a/x", "\x00http://a/x", "http://a/x ", "http://a/x\n", "ｈttp://a/x",
    # userinfo
    "http://u@example.com/x", "http://u:p@example.com:81/x", "http://@example.com/", "http://u:p@/x",
    "http://a@b@c/x", "http://u:p:q@h/x", "http://user%40x@h/", "http://example.com@evil.example/",
    # IPv6 and brackets
    "http://[::1]/", "http://[::1]:8080/x?y", "http://[2001:DB8::1]/", "http://[2001:db8::1]:443/a/b",
    "http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]:80/x", "http://[1:2]/", "http://[1.2.3.4]/",
    "http://[v1.x]/", "http://[::1/", "http://::1]/", "http://[::1]x/", "http://[]/", "http://[::1]:/x",
    "http://[::g]/", "http://[::1]:99999/", "http://[::1]:0/", "http://x[1]/", "http://h/[1]",
    # ports
    "http://h:/x", "http://h:", "http://h:0/", "http://h:00080/", "http://h:80/", "https://h:443", "http://h:65535/",
    "http://h:65536/", "http://h:99999/", "http://h:123456/", "http://h:abc/", "http://h:-1/", "http://h: 80/",
    "http://h:８０/", "http://h:80:81/", "http://h:1?x", "http://h:1#x",
    # hosts
    "http://Example.COM/Path", "http://a_b.example/x", "http://-a.example/", "http://a..b/", "http://example.com./",
    "http://.example.com/", "http://bücher.example/x", "http://☃.net/", "http://ａ.com/", "http://xn--bcher-kva.example/",
    "http://%41.example/", "http://a%2eb/", "http://!$&'()*+,;=/x", "http://~h/", "http://h h/", "http://h\tx/",
    "http://h\n/", "http://exa mple.org/x", "http://" + "a" * 64 + ".example/", "http://" + "b." * 130 + "c/",
    "http://a\\b/c", "http://a\\@b/", "http://h?x/y", "http://h#x/y", "http://h?", "http://h#",
    # paths, queries, fragments
    "http://h/a b", "http://h/café/x", "http://h/%41/%zz/%", "http://h/a\\b", "http://h/\t/x", "http://h/a\"b",
    "http://h/a<b>", "http://h/a|b{c}^`", "http://h/;p=1,2", "http://h/~u/", "http://h//double//", "http://h/./..",
    "http://h/\x7f", "http://h/\x00", "http://h/\r\nX: 1", "http://h/x?q=a b", "http://h/x?a[]=1", "http://h/x?é",
    "http://h/x?q=\"x\"", "http://h/x??", "http://h/x?/y/z", "http://h/a#b/c", "http://h/a?b/c#d/e", "http://h/#?x",
    "http://h/x#a b", "http://h/x#\n", "http://h/x#é", "http://h/x##", "http://h/x#\x00", "http://h/x#?y=1",
    "http://h/en?#", "http://h/en/?x", "https://a.example/Index.HTML", "http://h/x?\t", "http://h/x?\n",
    # very long
    "http://example.com/" + "p/" * 2000 + "end", "http://example.com/x?" + "a=1&" * 1000,
    "https://example.com/#" + "f" * 5000, "http://" + "h" * 300 + "/x",
    "",
]


def _generated(count: int, seed: int = 20261124) -> list[str]:
    """URLs put together from pieces at random (seeded): every odd corner next to every other."""
    rng = random.Random(seed)
    schemes = ["http", "https", "http", "https", "HTTP", "Https", "ftp", "ws", "x+y"]
    separators = ["://"] * 8 + [":/", ":", ":///", "//", ":\\\\"]
    userinfo = [""] * 8 + ["u@", "u:p@", "@", "a%40b:c@"]
    hosts = ["example.com", "a.b.example.org", "127.0.0.1", "127.0.0.2", "Example.COM", "a_b.example",
             "bücher.example", "☃.net", "ａ.com", "example.com.", "-a.example", "a..b", "", "[::1]", "[2001:db8::1]",
             "[2001:DB8::1]", "[fe80::1%25eth0]", "[1:2]", "[1.2.3.4]", "[::1", "%41.example", "~h", "h\tx",
             "a" * 64 + ".example", "xn--n3h.net", "localhost"]
    ports = [""] * 6 + [":", ":80", ":443", ":8080", ":0", ":00080", ":65535", ":65536", ":99999", ":123456", ":abc"]
    segments = ["a", "b", "p", "1", "en", "index.html", "home", "en-us", "", "a b", "café", "%41", "%zz", "a\\b",
                "\t", "\"", "<x>", "[1]", "|", "{}", "^", "`", ";p=1", "~u", ".", "..", "\x7f", "é", ":@!$&'()*+,="]
    queries = [""] * 6 + ["?", "?q=1", "?a=1&b=2", "?q=a b", "??", "?/x/y", "?a[]=1", "?é", "?\"x\""]
    fragments = [""] * 6 + ["#", "#frag", "#?x", "#a b", "#\n", "#/x", "##", "#é"]
    soup = "aZ09.-_~%!$&'()*+,;=:@/?#[]\\ \t\n\"<>^`{|}é\x7f\x00"
    urls = []
    for _ in range(count):
        path = "".join("/" + rng.choice(segments) for _ in range(rng.randint(0, 4)))
        url = (rng.choice(schemes) + rng.choice(separators) + rng.choice(userinfo) + rng.choice(hosts)
               + rng.choice(ports) + path + rng.choice(queries) + rng.choice(fragments))
        if rng.random() < 0.15:  # one stray character anywhere
            at = rng.randint(0, len(url))
            url = url[:at] + rng.choice(soup) + url[at:]
        urls.append(url)
    return urls


def _soup(count: int, seed: int = 7) -> list[str]:
    """'http://' and random characters: the shapes nobody thought of."""
    rng = random.Random(seed)
    alphabet = "ab09/?#.:=&%en-_[]@\\ \tH"
    return ["http://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(count)]


def _bench_style(count: int) -> list[str]:
    return [f"http://127.0.0.{2 + i % 200}:{8000 + i % 50}/p/{i}" for i in range(count)]


CORPUS = HOSTILE + _generated(800) + _bench_style(50)


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_caller_answers_as_before(caller):
    now, then = CALLERS[caller]
    differences = [(url, _answer(then, url), _answer(now, url))
                   for url in CORPUS + _soup(3000) if _answer(now, url) != _answer(then, url)]
    assert differences == []


def test_the_corpus_reaches_every_road():
    """The comparison means something only if the corpus takes every branch: fast, slow, raising."""
    plain = sum(1 for u in CORPUS if (m := fast_split(u)) is not None and m[1] is not None)
    other = sum(1 for u in CORPUS if (m := fast_split(u)) is not None and m[1] is None)
    unmatched = sum(1 for u in CORPUS if fast_split(u) is None)
    assert min(plain, other, unmatched) >= 50, (plain, other, unmatched)
    for caller in ("catchall._directory", "fetch.split_url"):
        now = CALLERS[caller][0]
        raised = [u for u in CORPUS if isinstance(a := _answer(now, u), tuple) and a[0] == "raised"]
        assert len(raised) >= 20, caller
    bad_ports = [_answer(fetch.split_url, u) for u in ("http://h:0/", "http://h:123456/", "http://[::1]:0/")]
    assert bad_ports == [("raised", "FetchUnsupported", "bad port in http://h:0/"),
                         ("raised", "FetchUnsupported", "bad URL 'http://h:123456/': Port out of range 0-65535"),
                         ("raised", "FetchUnsupported", "bad port in http://[::1]:0/")]


def test_group_names_and_numbers_agree():
    """The callers read groups by number; the names say what each number is."""
    assert _FAST_SPLIT.groupindex == {"scheme": 1, "authority": 2, "host": 3, "port": 4, "target": 5, "path": 6,
                                      "query": 7, "any_path": 8, "any_query": 9}


def test_the_split_itself():
    """Which branch matches and what the groups hold, against the regexes it replaced."""
    for url in CORPUS:
        _check_split(url)


def _check_split(url: str) -> None:
    split = fast_split(url)
    # Any scheme:// is split (classify's old reach); everything else is left to urlsplit.
    assert (split is not None) == (before._PATH_AND_QUERY.match(url) is not None)
    if split is None:
        return
    plain = before._PLAIN.fullmatch(url)
    # The plain branch is exactly the wire's old plain URL, with the same pieces.
    assert (split["scheme"] is not None) == (plain is not None)
    if plain is None:
        assert split.group(1, 2, 3, 4, 5, 6, 7) == (None,) * 7  # nothing left over from the failed branch
        old_path, old_query = before._PATH_AND_QUERY.match(url).groups()
        assert split["any_path"] == old_path
        assert (split["any_query"] is not None) == (old_query is not None)
        return
    scheme, host, port, target = plain.groups()
    assert split.group("scheme", "host", "port") == (scheme, host, port)
    assert split["target"] == (target or "")
    assert split["authority"] == host + (f":{port}" if port else "")
    path, query = split.group("path", "query")
    assert (path or "") + ("" if query is None else "?" + query) == split["target"]
    assert split.group("any_path", "any_query") == (None, None)
    if not host.startswith("["):  # where check's old regex read it too, it read the same pieces
        simple = before._SIMPLE_URL.match(url)
        if simple is not None:
            old_scheme, old_host, old_port, old_path = simple.groups()
            assert (scheme, host, port and ":" + port, path) == (old_scheme, old_host, old_port, old_path)


@pytest.mark.parametrize("url", ["http://127.0.0.2:8001/p/1", "https://example.com/a/b?q=1&r=2#top",
                                 "https://example.com", "http://[::1]:8080/x?y"])
def test_hot_path_urls_take_the_plain_branch(url):
    """The shapes a run is made of are read by the regex alone (the speed claim rests on it)."""
    assert fast_split(url)["scheme"] is not None
