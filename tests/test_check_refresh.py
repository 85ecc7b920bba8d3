"""Pages that send the reader on by a meta refresh or a Refresh header, against real loopback servers.

A browser follows ``<meta http-equiv="refresh" content="0; url=...">`` (and the
``Refresh`` header) like a redirect: a checker that judges the stub itself
calls a gone page ``ok``. The engine follows such a refresh as one more hop
(a temporary one) when it comes at once (at most MAX_REFRESH_DELAY seconds),
names a URL, and sits on a page with little prose of its own.
"""

from __future__ import annotations

import pytest

from process_sim import ProcessSim
from provenance import check
from provenance.check import CheckOptions, check_urls

FAST = dict(allow_private=True, retries=0, host_interval=0.0, timeout=5.0)
#: No catch-all probe: the server's request count is the hops alone.
COUNTED = dict(FAST, probe_catch_all=False)

ARTICLE = ("<html><head><title>Study: rivers rise</title></head><body><h1>Rivers rise</h1>"
           + "<p>Measurements from forty stations show the rise in detail. </p>" * 20 + "</body></html>")
#: A site's chrome around a page: navigation links and a footer (not the page's own prose).
NAV = "<nav>" + " ".join(f"<a href='/s{i}'>Section {i} news and reports</a>" for i in range(12)) + "</nav>"
FOOTER = ("<footer><p>Copyright Example Media Group. All rights reserved. Imprint, privacy policy, terms of use, "
          "cookie settings, contact the newsroom, advertise with us, careers, accessibility statement.</p></footer>")


def stub(refresh: str, title: str = "Redirecting&hellip;", body: str = "") -> str:
    """A redirect stub as static-site generators write it (jekyll-redirect-from, Hugo aliases)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{refresh}"
            "<meta name='robots' content='noindex'></head><body><h1>Redirecting&hellip;</h1>"
            f"<a href='/'>Click here if you are not redirected.</a>{body}</body></html>")


def meta(content: str, quote: str = '"') -> str:
    return f"<meta http-equiv={quote}refresh{quote} content={quote}{content}{quote}>"


def one(url: str, **options) -> check.CheckResult:
    [result] = check_urls([url], CheckOptions(**{**FAST, **options}))
    assert result.url == url
    assert result.reason, "every verdict carries a reason"
    return result


# --- the red-team cases ---

def test_a_meta_refresh_stub_whose_target_404s_is_dead(sim):
    site = sim.site()
    url = site.page("/old/post.html", stub(meta("0; url=/gone-target")
                                           + "<link rel=canonical href='/gone-target'>",
                                           body="<script>location='/gone-target'</script>"))
    r = one(url)  # the catch-all probe on, as in a real run
    assert (r.verdict, r.status, r.final_url) == ("dead", 404, site.url("/gone-target")), r.reason
    assert "meta refresh" in r.reason and site.url("/gone-target") in r.reason
    assert site.stats.paths[:2] == ["/old/post.html", "/gone-target"]


def test_a_meta_refresh_from_a_deep_url_to_the_home_page_is_soft404(sim):
    site = sim.site()
    site.page("/", ARTICLE)
    r = one(site.page("/2019/05/old-post.html", stub(meta("0; url=/"))))
    assert (r.verdict, r.signature, r.final_url) == ("soft404", "redirect-to-home", site.url("/")), r.reason
    assert "meta refresh" in r.reason


def test_a_refresh_header_is_followed_like_the_meta_tag(sim):
    site = sim.site()
    small = "<html><head><title>Example</title></head><body><p>Redirecting</p></body></html>"
    to_error_page = one(site.page("/old/item", small, headers={"Refresh": "0; url=/404.html"}))
    assert (to_error_page.verdict, to_error_page.signature) == ("soft404", "redirect-to-404"), to_error_page.reason
    assert to_error_page.final_url == site.url("/404.html") and "Refresh header" in to_error_page.reason
    to_missing = one(site.page("/old/other", small, headers={"Refresh": "0;URL='/gone-target'"}))
    assert (to_missing.verdict, to_missing.status) == ("dead", 404), to_missing.reason
    live = site.page("/new/item", ARTICLE)
    # An empty 200 with the header is a redirect too (a script's header("Refresh: ...")), not a blank page.
    to_live = one(site.page("/old/empty", "", headers={"Refresh": "0; url=/new/item"}))
    assert (to_live.verdict, to_live.final_url) == ("ok", live), to_live.reason


# --- following ---

def test_a_meta_refresh_to_a_working_page_is_ok_and_names_the_target(sim):
    site = sim.site()
    new = site.page("/new/post.html", ARTICLE)
    r = one(site.page("/old/post.html", stub(meta("0; url=/new/post.html"))), **COUNTED)
    assert (r.verdict, r.status, r.final_url) == ("ok", 200, new), r.reason
    assert "temporary redirect" in r.reason and new in r.reason and "meta refresh" in r.reason
    assert r.body and "forty stations" in r.body, "the body kept is the target's"
    assert site.stats.paths == ["/old/post.html", "/new/post.html"]


@pytest.mark.parametrize("refresh, path", [
    (meta("0; url=../new/post.html"), "/blog/new/post.html"),               # relative, dot segments
    (meta("0;URL=post-2.html"), "/blog/old/post-2.html"),                   # relative to the stub's directory
    (meta("0; url='/new/post.html'"), "/new/post.html"),                    # single quotes inside double
    (meta('1; URL="/new/post.html"', quote="'"), "/new/post.html"),        # double quotes inside single
    (meta("0; url=/new/post.html#comments"), "/new/post.html"),             # the fragment is not sent
    (meta("0; url=/view?a=1&amp;b=2"), "/view?a=1&b=2"),                   # an entity in the attribute
    (meta("2, /new/post.html"), "/new/post.html"),                          # a comma and no url=
    ("<META HTTP-EQUIV=Refresh CONTENT='0;URL=/new/post.html'>", "/new/post.html"),  # old capitals, unquoted
    ("<meta content='0; url=/new/post.html' http-equiv='Refresh'>", "/new/post.html"),  # content first
])
def test_meta_refresh_urls_are_read_as_browsers_read_them(sim, refresh, path):
    site = sim.site()
    target = site.page(path, ARTICLE)
    r = one(site.page("/blog/old/post.html", stub(refresh)), **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", target), r.reason
    assert site.stats.paths == ["/blog/old/post.html", path]


def test_a_meta_refresh_to_another_host_is_followed_there(sim):
    old, new = sim.site(), sim.site()
    target = new.page("/story", ARTICLE)
    r = one(old.page("/story", stub(meta(f"0; url={target}"))), **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", target), r.reason
    assert (old.stats.requests, new.stats.requests) == (1, 1)


def test_a_delay_of_ten_seconds_is_followed_eleven_is_not(sim):
    site = sim.site()
    site.page("/new", ARTICLE)
    r10 = one(site.page("/ten", stub(meta("10; url=/new"))), **COUNTED)
    assert r10.final_url == site.url("/new"), r10.reason
    r11 = one(site.page("/eleven", stub(meta("11; url=/new"))), **COUNTED)
    assert (r11.verdict, r11.final_url) == ("ok", site.url("/eleven")), r11.reason
    assert site.stats.paths == ["/ten", "/new", "/eleven"]


def test_a_stub_inside_the_sites_template_is_still_a_stub(sim):
    """Navigation links and a footer are the site's words, not the page's: the stub is followed."""
    site = sim.site()
    site.page("/new/story", ARTICLE)
    page = stub(meta("0; url=/new/story"), body=NAV + "<p>This story has moved.</p>" + FOOTER)
    r = one(site.page("/old/story", page), **COUNTED)
    assert r.final_url == site.url("/new/story"), r.reason


def test_a_refresh_chain_counts_towards_max_redirects(sim):
    site = sim.site()
    for i in range(check.MAX_REDIRECTS + 3):
        site.page(f"/hop/{i}", stub(meta(f"0; url=/hop/{i + 1}")))
    r = one(site.url("/hop/0"), **COUNTED)
    assert r.verdict == "error" and "too many redirects" in r.reason
    assert site.stats.requests == check.MAX_REDIRECTS + 1


def test_a_redirect_then_a_refresh_then_a_page_is_a_temporary_move(sim):
    site = sim.site()
    site.page("/new/story", ARTICLE)
    site.page("/mid/story", stub(meta("0; url=/new/story")))
    r = one(site.redirect("/old/story", site.url("/mid/story"), 301), **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", site.url("/new/story")), "a refresh is not a permanent move"


def test_a_cookie_set_with_a_self_refresh_comes_back_on_the_next_hop(sim):
    """A cookie check by meta refresh: a first visit gets a cookie and a refresh to the same page."""
    from aiohttp import web

    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Cookie", ""))
        if request.cookies.get("checked") == "1":
            return web.Response(text=ARTICLE, content_type="text/html")
        response = web.Response(text=stub(meta(f"0; url={request.path}")), content_type="text/html")
        response.headers.add("Set-Cookie", "checked=1; Path=/")
        return response

    site = sim.site()
    r = one(site.route("/story/check", handler), **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", site.url("/story/check")), r.reason
    assert seen == ["", "checked=1"]



def test_a_site_that_refreshes_every_url_to_one_page_is_a_catch_all(sim):
    """The catch-all probe follows a random URL's refresh as the cited URL's is followed: both land on one page."""
    from aiohttp import web

    async def every_path(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=stub(meta("0; url=/start.html")), content_type="text/html")

    site = sim.site(default=every_path)
    site.page("/start.html", "<html><head><title>Example Org</title></head><body><h1>Welcome</h1>"
                             "<p>We reorganised our website. Use the menu to find your way.</p></body></html>")
    r = one(site.url("/reports/2019/rivers-rise.html"))
    assert (r.verdict, r.signature) == ("soft404", "catch-all"), r.reason
    # ... while a stub whose target is the cited page's own is not.
    site.page("/reports/2019/rivers-rise.html", stub(meta("0; url=/reports/2020/rivers-rise.html")))
    site.page("/reports/2020/rivers-rise.html", ARTICLE)
    assert one(site.url("/reports/2019/rivers-rise.html")).verdict == "ok"


# --- loops and reloads ---

def test_a_page_refreshing_to_itself_at_once_is_a_loop(sim):
    site = sim.site()
    url = site.url("/loop")
    site.page("/loop", stub(meta(f"0; url={url}")))
    r = one(url, **COUNTED)
    assert r.verdict == "error" and "redirect loop" in r.reason and "meta refresh" in r.reason
    assert site.stats.requests == 1, "the loop is seen without asking again"


def test_two_stubs_refreshing_to_each_other_are_a_loop(sim):
    site = sim.site()
    site.page("/a", stub(meta("0; url=/b")))
    site.page("/b", stub(meta("0; url=/a")))
    r = one(site.url("/a"), **COUNTED)
    assert r.verdict == "error" and "redirect loop" in r.reason
    assert site.stats.requests == 2


SMALL = "<html><head><title>Status</title></head><body><h1>Status</h1><p>All systems normal.</p></body></html>"


@pytest.mark.parametrize("page", [ARTICLE, SMALL], ids=["article", "small"])
@pytest.mark.parametrize("content", ["300; url={url}", "300", "5", "0", "5; url={url}", "0; url=#top", "0; url="])
def test_a_page_that_reloads_itself_is_read_where_it_is(sim, content, page):
    """A news front page's "300", a plain reload, a delayed refresh to itself, a jump within the page."""
    site = sim.site()
    url = site.url("/front")
    site.page("/front", page.replace("</title>", "</title>" + meta(content.format(url=url))))
    r = one(url, **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", url), r.reason
    assert site.stats.requests == 1, "no extra request"


# --- pages judged as they are ---

@pytest.mark.parametrize("target", ["javascript:location='/new'", "ftp://files.example.org/post.txt",
                                    "mailto:editor@example.org"])
def test_a_refresh_to_a_non_web_url_is_not_followed(sim, target):
    """Browsers do not go there (a script URL from a refresh is refused, ftp: is gone): the reader stays on
    the page, which answered 200, so it is judged as it is (``ok``), and the reason says what was not followed."""
    site = sim.site()
    url = site.page("/old/post.html", stub(meta(f"0; url={target}")))
    r = one(url, **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", url), r.reason
    assert "non-web URL" in r.reason and "not followed" in r.reason
    assert site.stats.requests == 1


def test_a_refresh_on_a_page_with_plenty_of_text_is_not_followed(sim):
    site = sim.site()
    site.page("/elsewhere", "<html><head><title>Elsewhere</title></head><body><p>Not this.</p></body></html>")
    page = ARTICLE.replace("</title>", "</title>" + meta("0; url=/elsewhere"))  # 200 words of prose
    url = site.page("/news/article", page)
    r = one(url, **COUNTED)
    assert (r.verdict, r.final_url) == ("ok", url), r.reason
    assert site.stats.paths == ["/news/article"]


@pytest.mark.parametrize("hidden", [
    "<noscript>{meta}</noscript>",               # for browsers without scripts: a reader's browser runs them
    "<!-- {meta} -->",                           # commented out
    "<script>document.write('{meta}')</script>",  # text of a script
])
def test_a_meta_refresh_a_browser_does_not_read_is_not_followed(sim, hidden):
    site = sim.site()
    site.page("/nojs", "<html><head><title>Enable scripts</title></head><body><p>Please.</p></body></html>")
    url = site.page("/app/page", stub(hidden.format(meta=meta("0; url=/nojs", quote="'"))))
    r = one(url, **COUNTED)
    assert r.final_url == url, r.reason
    assert site.stats.paths == ["/app/page"]


def test_a_bot_walls_refresh_is_not_followed(sim):
    """SiteGround's captcha wall refreshes to its challenge: the wall is the answer (blocked)."""
    site = sim.site()
    wall = ("<html><head><meta http-equiv='refresh' content='0;/.well-known/sgcaptcha/?r=%2Fnews&y=ipr:1.2.3.4:17'>"
            "</head></html>")
    r = one(site.page("/news", wall, status=202), **COUNTED)
    assert r.verdict == "blocked", r.reason
    # The wall earns one browser-like second request (--impersonate auto); its refresh target is never asked.
    assert site.stats.paths == ["/news", "/news"]
    assert "browser-like second request" in r.reason


def test_a_refresh_beyond_the_scanned_start_is_not_read(sim):
    """Only the page's first REFRESH_SCAN_CHARS are searched (one substring test per page)."""
    site = sim.site()
    site.page("/new", ARTICLE)
    padding = "<style>" + "b{c:d}" * (check.REFRESH_SCAN_CHARS // 6) + "</style>"
    url = site.page("/old", stub(padding + meta("0; url=/new")))
    r = one(url, **COUNTED)
    assert r.final_url == url and site.stats.requests == 1
    inside = site.page("/old/inside", stub(padding[:check.REFRESH_SCAN_CHARS - 500] + "</style>" + meta("0; url=/new")))
    assert one(inside, **COUNTED).final_url == site.url("/new")


# --- the same rules as any hop ---

async def _fake_dns(name: str) -> list[str]:
    if name == "intranet.test":
        return ["10.1.2.3"]
    raise OSError(-2, "Name or service not known")


def test_a_refresh_to_a_private_address_obeys_the_address_policy(sim):
    site = sim.site()
    url = site.page("/out", stub(meta("0; url=http://intranet.test/secret")))
    r = one(url, allow_private=False, allowed_networks=("127.0.0.0/8",), resolver=_fake_dns, offline=False,
            probe_catch_all=False)
    assert r.verdict == "unchecked" and "address policy" in r.reason and "10.1.2.3" in r.reason, r.reason
    assert r.final_url == "http://intranet.test/secret"
    assert site.stats.requests == 1


def test_refresh_hops_keep_the_hosts_politeness():
    """Stubs and their targets on one host: every hop waits its turn (interval, one at a time)."""
    interval = 0.1
    with ProcessSim() as web_:
        site = web_.site()
        urls = []
        for i in range(3):
            site.page(f"/new/{i}", ARTICLE)
            urls.append(site.page(f"/old/{i}", stub(meta(f"0; url=/new/{i}"))))
        results = check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=1,
                                                host_interval=interval, probe_catch_all=False))
        assert [(r.verdict, r.final_url) for r in results] == [("ok", site.url(f"/new/{i}")) for i in range(3)]
        seen = site.stats()
    assert seen.requests == 6 and seen.peak == 1
    assert seen.min_gap() >= interval * check.MIN_GAP_FRACTION - 0.01


# --- reading a refresh value (pure) ---

@pytest.mark.parametrize("value, expected", [
    ("0; url=/new", (0, "/new")),
    ("0;URL='/new' trailing", (0, "/new")),
    ('3 ; Url = "/a b"', (3, "/a b")),
    ("0, /new", (0, "/new")),
    ("5 /new", (5, "/new")),
    (".5;url=/x", (0, "/x")),
    ("1.5.3, x", (1, "x")),
    ("300", (300, "")),
    ("0;", (0, "")),
    ("0; url=", (0, "")),
    ("0; url=\n/new\t", (0, "/new")),
    ("soon; url=/x", None),
    ("5abc", None),
    ("-1; url=/x", None),
])
def test_refresh_values_are_parsed_as_browsers_parse_them(value, expected):
    assert check._parse_refresh(value) == expected


@pytest.mark.timeout(20)
def test_a_refresh_value_of_endless_digits_is_read_in_linear_time():
    """The delay's pattern once tried every split of a digit run (13 s for 32,000 digits, about a minute at 64 KB)."""
    assert check._parse_refresh("1" * 65_536 + "x") is None
    assert check._parse_refresh("1" * 65_536 + "; url=/x") == (999_999_999, "/x")  # "never": not followed
