"""Wrong verdicts a red-team review reproduced on loopback, each with a near miss that keeps its verdict.

Raw-bytes servers (tests/raw_server.py) send headers exactly as odd real
servers do; the simulator (tests/simulator.py) plays whole sites.
"""

from __future__ import annotations

import asyncio

import pytest

from provenance import catchall, check, resolve
from provenance.check import CheckOptions, check_urls
from raw_server import RawServer, answering, response

FAST = dict(allow_private=True, retries=0, host_interval=0.0, timeout=5.0)

PAGE = ("<html><head><title>Study: rivers rise</title></head><body><h1>Rivers rise</h1>"
        + "<p>Measurements from forty stations show the rise in detail. </p>" * 20 + "</body></html>").encode()


def one(url: str, **options) -> check.CheckResult:
    [result] = check_urls([url], CheckOptions(**{**FAST, **options}))
    assert result.reason, "every verdict carries a reason"
    return result


def _not_found(target: str) -> bytes:
    return response(b"not found " + target.encode("latin-1", "replace"), 404,
                    [("Content-Type", "text/plain")], reason="Not Found")


# --- 1. the Location header ---

def test_two_identical_location_headers_are_one_redirect(raw):
    def serve(conn, req):
        if req.target == "/old":
            return response(b"", 301, [("Location", "/new"), ("Location", "/new")], reason="Moved Permanently")
        if req.target == "/new":
            return response(PAGE, 200, [("Content-Type", "text/html")])
        return _not_found(req.target)
    srv = raw.server(serve)
    r = one(srv.url("/old"))
    assert (r.verdict, r.final_url) == ("redirect", srv.url("/new")), r.reason
    assert [q.target for q in srv.requests][:2] == ["/old", "/new"]


def test_two_different_location_headers_are_an_error_as_in_browsers(raw):
    def serve(conn, req):
        if req.target == "/old":
            return response(b"", 301, [("Location", "/new"), ("Location", "/other")], reason="Moved Permanently")
        return response(PAGE, 200, [("Content-Type", "text/html")])
    srv = raw.server(serve)
    r = one(srv.url("/old"))
    assert r.verdict == "error" and "conflicting Location headers" in r.reason
    assert [q.target for q in srv.requests] == ["/old"], "neither target is guessed"


@pytest.mark.parametrize("location, cookie, sent", [
    # UTF-8 Location while a cookie carries a Latin-1 byte: the Location is decoded on its own.
    (b"/m\xc3\xbcnchen/bericht", b"region=M\xfcnchen; Path=/", "/m%C3%BCnchen/bericht"),
    # A Latin-1 Location is sent byte for byte, percent-encoded, as browsers send it (not re-encoded as UTF-8).
    (b"/m\xfcnchen/bericht", b"region=x; Path=/", "/m%FCnchen/bericht"),
    # Near miss: an ASCII Location next to a Latin-1 cookie was always right, and stays so.
    (b"/muenchen/bericht", b"region=M\xfcnchen; Path=/", "/muenchen/bericht"),
])
def test_a_location_is_decoded_on_its_own_and_sent_as_browsers_send_it(raw, location, cookie, sent):
    def serve(conn, req):
        if req.target == "/alt":
            return (b"HTTP/1.1 301 Moved Permanently\r\nLocation: " + location + b"\r\nSet-Cookie: " + cookie
                    + b"\r\nContent-Length: 0\r\n\r\n")
        if req.target == sent:
            return response(PAGE, 200, [("Content-Type", "text/html")])
        return _not_found(req.target)
    srv = raw.server(serve)
    r = one(srv.url("/alt"))
    assert r.verdict == "redirect", r.reason
    assert [q.target for q in srv.requests][:2] == ["/alt", sent]


# --- 6. "body cut off" only when bytes were left unread ---

def test_a_short_body_read_to_its_end_is_not_called_cut_off(sim):
    site = sim.site()
    r = one(site.page("/gone/report", "<html><title>Not here</title></html>", status=404))
    assert (r.verdict, r.reason) == ("dead", "HTTP 404: not found")
    # Near miss: a body that really goes on past the cap still says so.
    r = one(site.endless("/stream/forever"))
    assert r.verdict == "ok" and "body cut off at" in r.reason


def test_a_body_exactly_at_the_cap_is_not_cut_off(sim, monkeypatch):
    monkeypatch.setattr(check, "MAX_DECODED_BYTES", 4096)
    site = sim.site()
    body = "<html><body>" + "x" * (4096 - len("<html><body></body></html>")) + "</body></html>"
    assert len(body) == 4096
    r = one(site.page("/exact", body), probe_catch_all=False)
    assert (r.verdict, r.reason) == ("ok", "HTTP 200")
    r = one(site.page("/one-more", body + " "), probe_catch_all=False)
    assert r.verdict == "ok" and "body cut off at 4096 bytes" in r.reason


# --- 7. a 2xx page that says nothing is not ok ---

def test_a_body_that_does_not_decode_in_its_coding_is_inconclusive_not_ok(sim):
    site = sim.site()
    r = one(site.page("/p/old", b"\xff\xff\xff\xff not deflate at all", headers={"Content-Encoding": "deflate"}))
    assert (r.verdict, r.signature) == ("error", "body-unreadable")
    assert "not decodable" in r.reason
    # Near miss: gzip was asked for and is read and judged.
    import gzip
    r = one(site.page("/p/new", gzip.compress(PAGE), headers={"Content-Encoding": "gzip"}))
    assert (r.verdict, r.reason) == ("ok", "HTTP 200")


def test_a_broken_gzip_body_is_inconclusive(sim):
    site = sim.site()
    r = one(site.page("/p/broken", b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"}))
    assert (r.verdict, r.signature) == ("error", "body-unreadable") and "not decodable" in r.reason


@pytest.mark.parametrize("body", ["", "   \n\r\n  "])
def test_an_empty_200_page_is_inconclusive(sim, body):
    site = sim.site()
    r = one(site.page("/index.php/article/42", body))
    assert (r.verdict, r.signature) == ("error", "empty-page") and "empty page" in r.reason


def test_near_misses_of_an_empty_page_stay_ok(sim):
    site = sim.site()
    # A tiny page with something on it, an empty 204, and an empty non-HTML file are not "blank pages".
    tiny = site.page("/tiny", "<p>Hi</p>")
    no_content = site.page("/ping", "", status=204)
    text = site.page("/empty.txt", "", content_type="application/octet-stream")
    results = check_urls([tiny, no_content, text], CheckOptions(**FAST, probe_catch_all=False))
    assert [r.verdict for r in results] == ["ok", "ok", "ok"], [r.reason for r in results]


# --- 2. backslashes and dot segments, as browsers send them ---

def _guide_server(raw):
    def serve(conn, req):
        if req.target in ("/docs/guide.html", "/docs/guide.html?a=%5Cb", "/.well-known/security.txt"):
            return response(PAGE, 200, [("Content-Type", "text/html")])
        if req.target == "/old":  # absolute: urljoin would have resolved a relative one's dots already
            location = conn.server.url("/a/b/../../docs/./guide.html")
            return response(b"", 301, [("Location", location)], reason="Moved Permanently")
        return _not_found(req.target)
    return raw.server(serve)


@pytest.mark.parametrize("path", ["/docs\\guide.html", "/a/../docs/guide.html", "/docs/x/%2e%2E/guide.html",
                                  "/docs/./guide.html", "\\docs\\guide.html"])
def test_backslashes_and_dot_segments_are_requested_as_browsers_request_them(raw, path):
    srv = _guide_server(raw)
    r = one(srv.url(path), probe_catch_all=False)
    assert (r.verdict, r.final_url) == ("ok", srv.url("/docs/guide.html")), r.reason
    assert [q.target for q in srv.requests] == ["/docs/guide.html"]


def test_a_redirect_to_a_dotted_path_is_followed_as_browsers_follow_it(raw):
    srv = _guide_server(raw)
    r = one(srv.url("/old"), probe_catch_all=False)
    assert (r.verdict, r.final_url) == ("redirect", srv.url("/docs/guide.html")), r.reason


@pytest.mark.parametrize("location, verdict", [
    ("\\docs\\guide.html", "ok"),          # relative with backslashes: /docs/guide.html on this host
    ("sub\\..\\..\\docs/guide.html", "ok"),  # backslashes as separators, then dot segments
    ("\\\\printer.local\\x", "unchecked"),   # two backslashes name another host, as in browsers
])
def test_a_relative_redirect_with_backslashes_is_resolved_as_browsers_resolve_it(raw, location, verdict):
    """urljoin read a leading backslash as part of a relative path (/dir/\\docs...): a false 404."""
    def serve(conn, req):
        if req.target == "/dir/old":
            return response(b"", 302, [("Location", location)], reason="Found")
        if req.target == "/docs/guide.html":
            return response(PAGE, 200, [("Content-Type", "text/html")])
        return _not_found(req.target)
    srv = raw.server(serve)
    r = one(srv.url("/dir/old"), probe_catch_all=False)
    assert r.verdict == verdict, r.reason
    assert [q.target for q in srv.requests][:2] == (["/dir/old", "/docs/guide.html"] if verdict == "ok" else ["/dir/old"])


def test_browser_join_resolves_like_a_browser():
    from provenance.urls import browser_join
    base = "https://h.example/dir/page"
    assert browser_join(base, "\\plain") == "https://h.example/plain"
    assert browser_join(base, "\\\\other.example\\x") == "https://other.example/x"
    assert browser_join(base, " a\\b?q=\\x#f\\g ") == "https://h.example/dir/a/b?q=\\x#f\\g"
    assert browser_join(base, "mailto:a\\b") == "mailto:a\\b"  # another scheme's own: left alone
    assert browser_join(base, "/x\t/y\n") == "https://h.example/x/y"
    assert browser_join("ftp://h.example/d/", "a\\b") == "ftp://h.example/d/a\\b"  # not a web base


@pytest.mark.parametrize("path, sent, verdict", [
    # An escaped backslash or slash is a character of the name, not a separator: sent as it is.
    ("/docs%5Cguide.html", "/docs%5Cguide.html", "dead"),
    ("/docs%2Fguide.html", "/docs%2Fguide.html", "dead"),
    # A segment that only starts with a dot is a name; a backslash in the query stays in the query.
    ("/.well-known/security.txt", "/.well-known/security.txt", "ok"),
    ("/docs/guide.html?a=\\b", "/docs/guide.html?a=%5Cb", "ok"),
])
def test_near_misses_of_browser_paths_are_sent_unchanged(raw, path, sent, verdict):
    srv = _guide_server(raw)
    r = one(srv.url(path), probe_catch_all=False)
    assert r.verdict == verdict, r.reason
    assert [q.target for q in srv.requests] == [sent]


@pytest.mark.parametrize("url, host, path", [
    ("http://h.example/a/../b", "h.example", "/b"),
    ("http://h.example/docs\\guide.html", "h.example", "/docs/guide.html"),
    ("http://h.example\\a/b", "h.example", "/a/b"),
    ("http://h.example/a/%2e%2e/b?q=../x", "h.example", "/b?q=../x"),
    # near misses: unchanged
    ("http://h.example/.well-known/x", "h.example", "/.well-known/x"),
    ("http://h.example/a%5Cb/%2F", "h.example", "/a%5Cb/%2F"),
])
def test_the_pool_sends_what_a_browser_sends(url, host, path):
    from provenance.fetch import split_url

    target = split_url(url)
    assert (target.host, target.path) == (host, path)


# --- 3. international names: resolved as the pool connects to them (UTS 46), not with IDNA 2003 ---

def _dns_like_the_system(table: dict[str, list[str]], asked: list[str]):
    """A lookup that behaves like loop.getaddrinfo: a str name goes through Python's IDNA 2003 codec first."""
    import socket

    async def lookup(name: str) -> list[str]:
        asked.append(name)
        wire_name = name.encode("idna").decode("ascii")
        if wire_name not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[wire_name]
    return lookup


def test_an_international_name_is_resolved_as_browsers_resolve_it(sim):
    site = sim.site()
    site.page("/artikel", PAGE.decode())
    asked: list[str] = []
    lookup = _dns_like_the_system({"xn--fa-hia.de": [site.host]}, asked)  # faß.de; fass.de is someone else's
    r = one(f"http://faß.de:{site.port}/artikel", resolver=lookup, offline=False, probe_catch_all=False)
    assert r.verdict == "ok", r.reason
    assert asked == ["xn--fa-hia.de"]
    # Near miss: the ASCII name fass.de is its own domain, and here it does not exist.
    asked.clear()
    r = one(f"http://fass.de:{site.port}/artikel", resolver=lookup, offline=False)
    assert r.verdict == "dead" and asked == ["fass.de"]


def test_the_resolver_keys_an_international_name_by_its_punycode():
    asked: list[str] = []
    resolver = check.Resolver(CheckOptions(allow_private=True, offline=False,
                                           resolver=_dns_like_the_system({"xn--fa-hia.de": ["127.0.0.9"]}, asked)))

    async def both():
        return await resolver.addresses("faß.de"), await resolver.addresses("xn--fa-hia.de")
    assert asyncio.run(both()) == (["127.0.0.9"], ["127.0.0.9"])
    assert asked == ["xn--fa-hia.de"], "one lookup, under the name the pool connects to"
    assert resolve._host.__wrapped__("http://faß.de/x") == "xn--fa-hia.de"


# --- 4. private names that do not resolve from here are unchecked, never dead ---

@pytest.mark.parametrize("name, shown", [
    ("wiki.corp.internal", "….internal"), ("printer.local", "….local"), ("nas.home.arpa", "….home.arpa"),
    ("build.lan", "….lan"), ("portal.intranet", "….intranet"), ("hr.corp", "….corp"), ("app.localhost", "….localhost"),
    ("intranet", "single-label name (intranet)"),
])
def test_a_private_name_that_does_not_resolve_is_unchecked_not_dead(sim, name, shown):
    lookup = _dns_like_the_system({}, [])
    r = one(f"http://{name}/wiki/page", resolver=lookup, offline=False)
    assert r.verdict == "unchecked" and shown in r.reason and "not resolvable from here" in r.reason, r.reason
    # ... also behind a redirect
    site = sim.site()
    r = one(site.redirect("/go", f"http://{name}/wiki/page", 302), resolver=lookup, offline=False)
    assert r.verdict == "unchecked" and "redirect target" in r.reason


def test_near_misses_of_private_names_keep_their_verdicts(sim):
    site = sim.site()
    site.page("/wiki/page", PAGE.decode())
    lookup = _dns_like_the_system({"printer.local": [site.host]}, [])
    # A public name that does not exist is still dead; a private one that resolves is checked as any other.
    assert one("http://no-such-name.example.org/x", resolver=lookup, offline=False).verdict == "dead"
    assert one("http://local.example.org/x", resolver=lookup, offline=False).verdict == "dead"
    r = one(f"http://printer.local:{site.port}/wiki/page", resolver=lookup, offline=False, probe_catch_all=False)
    assert r.verdict == "ok", r.reason


# --- 5. the catch-all probe ---

def _article(title: str, words: str = "water levels") -> str:
    paragraphs = "".join(f"<p>Paragraph {i}: measurements of {words} from forty stations, reading {i * 7}.</p>"
                         for i in range(15))
    return f"<html><head><title>{title}</title></head><body><nav>Home News Sport</nav><h1>{title}</h1>{paragraphs}</body></html>"


#: What some sites answer for anything they do not have: a bland page without "not found" words.
BLAND = ("<html><head><title>Example Media</title></head><body><nav>Home News Sport Weather</nav>"
         "<p>Please choose a section from the index below to continue reading today's stories.</p></body></html>")


def _route(site, handler):
    from aiohttp import web

    async def default(request):
        status, body, headers = handler(request)
        return web.Response(status=status, text=body, content_type="text/html", headers=headers)
    site.default = default


def _probes(site, cited: list[str]) -> list[str]:
    return [p for p in site.stats.paths if p not in cited]


def test_id_plus_slug_site_that_redirects_any_slug_to_the_page_is_ok(sim):
    import re as re_

    site = sim.site()
    canonical = "/questions/11227809/why-is-sorting-faster"

    def handler(request):
        m = re_.fullmatch(r"/questions/(\d+)/[^/]*", request.path)
        if not m or m.group(1) != "11227809":
            return 404, "<title>404</title>", {}
        if request.path != canonical:
            return 301, "", {"Location": canonical}
        return 200, _article("Why is sorting faster?"), {}
    _route(site, handler)
    for cited in (canonical, "/questions/11227809/old-slug"):
        r = one(site.url(cited))
        assert r.verdict in ("ok", "redirect") and r.signature is None, r.reason


def test_id_plus_slug_site_that_serves_any_slug_is_ok_but_a_true_catch_all_is_not(sim):
    import re as re_

    site = sim.site()

    def handler(request):  # /article/<id>/<any slug> is the article; a random id is a 404
        m = re_.fullmatch(r"/article/(\d+)/[^/]*", request.path)
        if not m or m.group(1) != "734512":
            return 404, "<title>404</title>", {}
        return 200, _article("Rivers rise"), {}
    _route(site, handler)
    r = one(site.url("/article/734512/rivers-rise-across-the-region"))
    assert (r.verdict, r.signature) == ("ok", None), r.reason
    probes = _probes(site, ["/article/734512/rivers-rise-across-the-region"])
    assert len(probes) == 2 and probes[0].startswith("/article/734512/") and not probes[1].startswith("/article/734512/")
    # Near miss: a site that answers every path (any id) with the same page is still a catch-all.
    every = sim.site()
    every.catch_all(_article("Example Media front page"))
    r = one(every.url("/article/734512/rivers-rise-across-the-region"))
    assert (r.verdict, r.signature) == ("soft404", "catch-all"), r.reason


def test_a_sibling_that_names_the_page_as_its_canonical_is_not_a_catch_all(sim):
    site = sim.site()
    page = _article("Rivers rise").replace("<head>", "<head><link rel='canonical' href='/stories/rivers-rise'>")
    site.catch_all(page)  # any /stories/<slug> serves the story, and says which page it is
    r = one(site.url("/stories/rivers-rise"))
    assert (r.verdict, r.signature) == ("ok", None), r.reason
    # Near miss: a catch-all whose page names the home page as canonical is still a catch-all.
    other = sim.site()
    other.catch_all(_article("Example Media").replace("<head>", "<head><link rel='canonical' href='/'>"))
    r = one(other.url("/stories/rivers-rise"))
    assert (r.verdict, r.signature) == ("soft404", "catch-all"), r.reason


SPA_SHELL = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Docs</title>'
             '<link rel="stylesheet" href="/static/css/main.4f2a.css"></head><body><noscript>You need to enable JavaScript '
             'to run this app.</noscript><div id="root"></div><script src="/static/js/main.8c1d.js"></script></body></html>')


def test_a_script_shell_the_same_for_every_path_is_ok_not_soft404(sim):
    site = sim.site()
    site.catch_all(SPA_SHELL)
    r = one(site.url("/guides/getting-started"))
    assert (r.verdict, r.signature) == ("ok", "script-shell"), r.reason
    assert "script" in r.reason and "could not be judged" in r.reason
    # Near miss: a small page with a script but no application mount and some text is a catch-all page.
    other = sim.site()
    other.catch_all(BLAND.replace("</body>", "<script src='/analytics.js'></script></body>"))
    r = one(other.url("/guides/getting-started"))
    assert (r.verdict, r.signature) == ("soft404", "catch-all"), r.reason


def test_an_old_domain_that_sends_every_path_to_one_page_elsewhere_is_soft404(sim):
    old, landing = sim.site(), sim.site()
    landing.page("/holding/welcome", BLAND)
    _route(old, lambda request: (302, "", {"Location": landing.url("/holding/welcome")}))
    r = one(old.url("/2015/06/rivers-rise.html"))
    assert (r.verdict, r.signature) == ("soft404", "catch-all"), r.reason
    # Near miss: only the cited page is sent there (a real move); other paths are 404.
    moved, new = sim.site(), sim.site()
    new.page("/holding/welcome", _article("Rivers rise"))
    moved.redirect("/2015/06/rivers-rise.html", new.url("/holding/welcome"), 302)
    r = one(moved.url("/2015/06/rivers-rise.html"))
    assert (r.verdict, r.signature) == ("ok", None), r.reason


def test_a_link_shortener_to_another_sites_home_page_is_a_redirect(sim):
    short, project = sim.site(), sim.site()
    project.page("/", _article("Project home"))
    r = one(short.redirect("/vscode", project.url("/"), 301))
    assert r.verdict == "redirect" and r.final_url == project.url("/"), r.reason
    r = one(short.redirect("/docs-beta", project.url("/"), 302))
    assert r.verdict == "ok" and "temporary redirect" in r.reason
    # Near miss: an old domain that sends *every* path to another site's home page: the page is gone.
    old, new = sim.site(), sim.site()
    new.page("/", _article("New home"))
    _route(old, lambda request: (301, "", {"Location": new.url("/")}))
    r = one(old.url("/2019/05/the-study"))
    assert (r.verdict, r.signature) == ("soft404", "redirect-to-home"), r.reason
    # ... and a deep URL sent to its own site's home page stays soft404 without asking.
    same = sim.site()
    same.page("/", _article("Home"))
    r = one(same.redirect("/2019/05/the-study", same.url("/"), 301))
    assert (r.verdict, r.signature) == ("soft404", "redirect-to-home")
    assert same.stats.paths == ["/2019/05/the-study", "/"]


def _id_route(site, live: str, missing_page: str) -> None:
    """/artikel/<digits>: the article, or the route's own 200 page for an unknown id; anything else a router 404."""
    import re as re_

    def handler(request):
        m = re_.fullmatch(r"/artikel/(\d+)", request.path)
        if not m:
            return 404, "<title>404</title>", {}
        return (200, _article("Rivers rise"), {}) if m.group(1) == live else (200, missing_page, {})
    _route(site, handler)


def test_an_id_route_is_probed_with_an_id(sim):
    site = sim.site()
    _id_route(site, "1001", BLAND)
    gone, live = site.url("/artikel/734512"), site.url("/artikel/1001")
    results = check_urls([gone, live], CheckOptions(**FAST))
    assert [(r.verdict, r.signature) for r in results] == [("soft404", "catch-all"), ("ok", None)]
    probes = _probes(site, ["/artikel/734512", "/artikel/1001"])
    assert len(probes) == 1 and probes[0][len("/artikel/"):].isdigit() and len(probes[0]) >= len("/artikel/") + 8


def test_a_programs_page_is_probed_with_a_random_id_in_its_query(sim):
    from aiohttp import web

    site = sim.site()

    async def showthread(request):
        if request.query.get("t") == "1001":
            return web.Response(text=_article("Rivers rise - Example Forums"), content_type="text/html")
        return web.Response(text=BLAND, content_type="text/html")
    site.route("/showthread.php", showthread)
    gone, live = site.url("/showthread.php?t=98765"), site.url("/showthread.php?t=1001")
    results = check_urls([gone, live], CheckOptions(**FAST))
    assert [(r.verdict, r.signature) for r in results] == [("soft404", "catch-all"), ("ok", None)]
    probes = _probes(site, ["/showthread.php?t=98765", "/showthread.php?t=1001"])
    assert len(probes) == 1 and probes[0].startswith("/showthread.php?t=")
    # Near miss: a static page's query is not an id: probed with a random name, as any page.
    static = sim.site()
    static.page("/guide.html", _article("Guide"))
    r = one(static.url("/guide.html?t=98765"))
    assert r.verdict == "ok" and not any(p.startswith("/guide.html?") for p in _probes(static, ["/guide.html?t=98765"]))


def test_one_probe_per_directory_on_the_benchmark_shape(sim):
    site = sim.site()
    urls = [site.page(f"/p/{i}", _article("A research page")) for i in range(20)]
    results = check_urls(urls, CheckOptions(**FAST))
    assert {r.verdict for r in results} == {"ok"}
    probes = _probes(site, [f"/p/{i}" for i in range(20)])
    assert len(probes) == 1 and probes[0][3:].isdigit() and len(probes[0]) >= 3 + catchall.PROBE_MIN_RANDOM


def test_the_cheap_probe_key_agrees_with_the_plan():
    from test_urls_split import HOSTILE

    urls = [u for u in HOSTILE if u.lower().startswith(("http://", "https://"))] + [
        "http://h/p/0", "http://h/showthread.php?t=98765", "http://h/a/b.php?lang=en&v=2", "http://h/x.ASPX?id=12",
        "http://h/wiki/Stra%C3%9Fe", "http://h/en/", "https://h/a/b.html?q=12", "http://h/2015/06/rivers-rise.html"]
    for url in urls:
        try:
            plan = catchall._probe_plan.__wrapped__(url)
        except ValueError:
            continue  # urlsplit refuses it: never fetched, never probed
        assert catchall._probe_key.__wrapped__(url) == plan.key, url


# --- a single-page app's 404.html trick is not a dead link ---

SPA_404 = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Single Page Apps for GitHub Pages</title>
<script type="text/javascript">
  var pathSegmentsToKeep = 0;
  var l = window.location;
  l.replace(l.protocol + '//' + l.hostname + (l.port ? ':' + l.port : '') +
    l.pathname.split('/').slice(0, 1 + pathSegmentsToKeep).join('/') + '/?/' +
    l.pathname.slice(1).split('/').slice(pathSegmentsToKeep).join('/').replace(/&/g, '~and~') +
    (l.search ? '&' + l.search.slice(1).replace(/&/g, '~and~') : '') + l.hash);
</script></head><body></body></html>"""


def test_a_404_that_hands_the_path_to_a_script_is_inconclusive_not_dead(sim):
    site = sim.site()
    site.catch_all(SPA_404, status=404)
    r = one(site.url("/docs/getting-started"))
    assert (r.verdict, r.signature) == ("error", "script-404"), r.reason


@pytest.mark.parametrize("body", [
    # A 404 page that sends readers home (the path is not handed on) ...
    "<html><head><title>404</title><script>setTimeout(function () { location.href = '/'; }, 3000)</script></head>"
    "<body><p>Nothing at this address. Taking you to the front page.</p></body></html>",
    # ... and a 404 page with real text that only logs the path.
    "<html><head><title>Not here</title><script>track(location.pathname); location.href = '/search?q=' + "
    "location.pathname</script></head><body>" + "<p>We moved things around during the redesign of the site.</p>" * 4
    + "</body></html>",
])
def test_near_misses_of_the_script_404_stay_dead(sim, body):
    site = sim.site()
    site.catch_all(body, status=404)
    assert one(site.url("/docs/getting-started")).verdict == "dead"
