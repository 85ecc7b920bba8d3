"""Every verdict the liveness engine can give, against real loopback servers."""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from orderings import assert_cumulative_gaps
from provenance import check, cookies
from provenance.retry import retry_after_seconds
from provenance.resolve import url_host
from provenance.check import CheckOptions, check_urls

FAST = dict(allow_private=True, retries=0, host_interval=0.0, timeout=5.0)

PAGE = ("<html><head><title>Study: rivers rise</title></head><body><h1>Rivers rise</h1>"
        + "<p>Measurements from forty stations show the rise in detail. </p>" * 20 + "</body></html>")


def one(url: str, **options) -> check.CheckResult:
    [result] = check_urls([url], CheckOptions(**{**FAST, **options}))
    assert result.url == url
    assert result.reason, "every verdict carries a reason"
    return result


def test_200_is_ok_and_keeps_the_body(sim):
    site = sim.site()
    started = time.monotonic()
    r = one(site.page("/reports/rivers", PAGE, delay=0.05))  # the server takes 50 ms: elapsed_ms must see them
    wall_ms = (time.monotonic() - started) * 1000
    assert (r.verdict, r.status, r.final_url) == ("ok", 200, site.url("/reports/rivers"))
    assert r.attempts == 1 and r.content_type == "text/html"
    assert r.body and "forty stations" in r.body
    assert r.checked_at.endswith("Z")
    assert abs(datetime.fromisoformat(r.checked_at.replace("Z", "+00:00")) - datetime.now(timezone.utc)) \
        < timedelta(minutes=5)
    # Orderings, not durations: at least the server's delay (less a clock tick), at most what the test saw.
    assert 40 <= r.elapsed_ms <= wall_ms + 1, (r.elapsed_ms, wall_ms)


@pytest.mark.parametrize("status, word", [(404, "not found"), (410, "gone")])
def test_404_and_410_are_dead(sim, status, word):
    site = sim.site()
    r = one(site.page("/x", "<title>Gone</title>", status=status))
    assert (r.verdict, r.status) == ("dead", status)
    assert word in r.reason


def test_301_to_a_working_page_is_redirect_with_final_url(sim):
    site = sim.site()
    new = site.page("/new/home-of-report", PAGE)
    r = one(site.redirect("/old/report", new, 301))
    assert (r.verdict, r.status, r.final_url) == ("redirect", 200, new)
    assert "moved permanently" in r.reason and r.attempts == 2


def test_302_chain_landing_on_a_page_is_ok(sim):
    a, b = sim.site(), sim.site()
    end = b.page("/story/final", PAGE)
    step2 = b.redirect("/story/step2", end, 302)
    start = a.redirect("/story/start", step2, 307)
    r = one(start)
    assert (r.verdict, r.final_url) == ("ok", end)
    assert "temporary redirect" in r.reason
    assert "/story/start" in a.stats.paths and b.stats.paths.count("/story/final") == 1


def test_redirect_loop_is_an_error_not_dead(sim):
    site = sim.site()
    site.redirect("/loop/b", site.url("/loop/a"), 302)
    r = one(site.redirect("/loop/a", site.url("/loop/b"), 302))
    assert r.verdict == "error" and "redirect loop" in r.reason
    assert site.stats.requests == 2


def _cookie_check_site(sim, domain_attribute: str = ""):
    """A site that answers a first visit with a cookie and a redirect to the same page (a cookie check)."""
    from aiohttp import web

    seen_cookies: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen_cookies.append(request.headers.get("Cookie", ""))
        if request.cookies.get("visited") == "yes":
            return web.Response(text=PAGE, content_type="text/html")
        response = web.Response(status=302, headers={"Location": str(request.url)})
        response.headers.add("Set-Cookie", f"visited=yes; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT{domain_attribute}")
        response.headers.add("Set-Cookie", "tracking=1; Max-Age=3600")
        return response

    site = sim.site()
    return site, site.route("/story/cookie-check", handler), seen_cookies


def test_a_cookie_check_redirect_to_the_same_page_is_followed_with_its_cookie(sim):
    site, url, seen_cookies = _cookie_check_site(sim)
    r = one(url)
    assert r.verdict == "ok" and r.status == 200, r.reason
    assert seen_cookies[0] == "" and "visited=yes" in seen_cookies[1] and "tracking=1" in seen_cookies[1]


def test_cookies_stay_inside_one_urls_check(sim):
    site, url, seen_cookies = _cookie_check_site(sim)
    other = site.page("/story/other", PAGE)
    results = check_urls([url, other], CheckOptions(**FAST, probe_catch_all=False))
    assert [r.verdict for r in results] == ["ok", "ok"]
    assert site.stats.requests == 3
    assert seen_cookies.count("") == 1, "the cookie check saw one cookie-less first visit"


def test_a_redirect_to_itself_that_sets_no_new_cookie_is_still_a_loop(sim):
    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=302, headers={"Location": str(request.url)})
        response.headers.add("Set-Cookie", "visited=yes")  # same cookie every time: it changes nothing
        return response

    site = sim.site()
    r = one(site.route("/always/again", handler))
    assert r.verdict == "error" and "redirect loop" in r.reason
    assert site.stats.requests == 2


def test_the_redirect_jar_keeps_cookies_to_their_domain():
    jar = cookies._RedirectJar()
    jar.store("www.example.org", ["a=1; Path=/", "b=2; Domain=.example.org", "c=3; Domain=com", "d=4; Domain=evil.test",
                                  "=nameless", "e=5; Max-Age=0"])
    assert jar.header_for("http://www.example.org/x") == "a=1; b=2"  # a foreign or bare Domain: refused
    assert jar.header_for("http://news.example.org/x") == "b=2"
    assert jar.header_for("http://evil.test/x") is None and jar.header_for("http://example.com/x") is None
    jar.store("www.example.org", ["a=1; Max-Age=0"])
    assert jar.header_for("http://www.example.org/x") == "b=2"


def test_too_many_redirects_is_an_error(sim):
    site = sim.site()
    for i in range(check.MAX_REDIRECTS + 3):
        site.redirect(f"/hop/{i}", site.url(f"/hop/{i + 1}"), 302)
    r = one(site.url("/hop/0"))
    assert r.verdict == "error" and "too many redirects" in r.reason
    assert site.stats.requests == check.MAX_REDIRECTS + 1


def test_deep_url_redirected_to_home_is_soft404(sim):
    site = sim.site()
    site.page("/", "<html><head><title>Welcome</title></head><body>Home</body></html>")
    r = one(site.redirect("/2019/05/the-study", site.url("/"), 301))
    assert r.verdict == "soft404" and "home page" in r.reason
    assert r.signature == "redirect-to-home"


def test_redirect_to_a_404_like_path_is_soft404(sim):
    site = sim.site()
    site.page("/errors/404.html", "<html><head><title>Oops</title></head><body>Hmm</body></html>")
    r = one(site.redirect("/papers/x", site.url("/errors/404.html"), 302))
    assert r.verdict == "soft404" and r.signature == "redirect-to-404"


def test_redirect_to_login_is_blocked_never_dead(sim):
    site = sim.site()
    site.page("/account/login", "<html><head><title>Sign in</title></head><body>form</body></html>")
    r = one(site.redirect("/members/report", site.url("/account/login?next=/members/report"), 302))
    assert r.verdict == "blocked" and r.signature == "login-redirect"


@pytest.mark.parametrize("body, signature", [
    ("<html><head><title>Page Not Found | Example News</title></head><body>x</body></html>", "soft404-title"),
    ("<html><head><title>Example News</title></head><body><h1>Error 404</h1></body></html>", "soft404-heading"),
    ("<html><head><title>Example</title></head><body><p>Sorry, the page you are looking for "
     "could not be found.</p></body></html>", "soft404-phrase"),
])
def test_200_page_that_says_not_found_is_soft404(sim, body, signature):
    site = sim.site()
    r = one(site.page("/news/2020/story", body))
    assert (r.verdict, r.status, r.signature) == ("soft404", 200, signature)


def test_soft404_judged_through_gzip(sim):
    site = sim.site()
    payload = gzip.compress(b"<html><head><title>404 - Not Found</title></head><body></body></html>")
    r = one(site.page("/z/y", payload, headers={"Content-Encoding": "gzip"}))
    assert r.verdict == "soft404"


CATCH_ALL = ("<html><head><title>Example Shop</title></head><body><nav>Home Shop About</nav>"
             "<p>Welcome to the shop where you can find everything you want and more, every day.</p>"
             "<p>You asked for {path}.</p></body></html>")


def test_catch_all_site_is_soft404_but_its_real_pages_are_ok(sim):
    site = sim.site()
    site.catch_all(CATCH_ALL)
    real = site.page("/blog/real-post", PAGE)
    missing = site.url("/blog/deleted-post")  # answered by the catch-all
    other = site.url("/blog/another-deleted")
    results = {r.url: r for r in check_urls([real, missing, other], CheckOptions(**FAST))}
    assert results[real].verdict == "ok"
    assert results[missing].verdict == "soft404" and results[missing].signature == "catch-all"
    assert results[other].verdict == "soft404"
    probes = [p for p in site.stats.paths if p not in ("/blog/real-post", "/blog/deleted-post", "/blog/another-deleted")]
    assert len(probes) == 1 and probes[0].startswith("/blog/"), "one probe per host and directory"


def test_a_site_that_404s_the_probe_is_not_catch_all(sim):
    site = sim.site()
    urls = [site.page(f"/docs/page{i}", PAGE) for i in range(3)]
    results = check_urls(urls, CheckOptions(**FAST))
    assert [r.verdict for r in results] == ["ok"] * 3
    assert site.stats.requests == 4  # three pages and one probe


def test_probe_can_be_turned_off(sim):
    site = sim.site()
    r = one(site.page("/docs/p", PAGE), probe_catch_all=False)
    assert r.verdict == "ok" and site.stats.requests == 1


def test_cloudflare_challenge_403_is_blocked(sim):
    site = sim.site()
    body = "<html><head><title>Just a moment...</title></head><body><div id='challenge-platform'></div></body></html>"
    r = one(site.page("/article", body, status=403, headers={"cf-ray": "8abc-AMS", "Server": "cloudflare"}))
    assert (r.verdict, r.status, r.signature) == ("blocked", 403, "cloudflare-challenge")


def test_cloudflare_mitigated_header_is_blocked(sim):
    site = sim.site()
    r = one(site.page("/a", "<html></html>", status=403, headers={"cf-mitigated": "challenge"}))
    assert r.verdict == "blocked" and r.signature == "cloudflare-mitigated"


@pytest.mark.parametrize("status", [401, 402, 403, 451, 999])
def test_refusals_are_blocked_never_dead(sim, status):
    site = sim.site()
    r = one(site.page("/p", "<html><title>No</title></html>", status=status))
    assert (r.verdict, r.status) == ("blocked", status)


def test_captcha_page_is_blocked(sim):
    site = sim.site()
    r = one(site.page("/p", "<html><head><title>Are you a robot?</title></head><body>captcha</body></html>"))
    assert r.verdict == "blocked" and r.signature == "captcha-wall"


def test_429_with_retry_after_then_success(sim):
    site = sim.site()
    url = site.sequence("/busy", [(429, "slow down", {"Retry-After": "1"}), (200, PAGE, {})])
    before = time.monotonic()
    r = one(url, retries=2)
    assert (r.verdict, r.status, r.attempts) == ("ok", 200, 2)
    busy = [t for t, path in zip(site.stats.starts, site.stats.paths) if path == "/busy"]  # (and a catch-all probe)
    # An ordering that load cannot break (stamps are only ever late): the retry came a second after the test began.
    assert len(busy) == 2 and busy[1] - before >= 0.9, "Retry-After was honoured"


def test_retry_after_beyond_the_cap_stops_retrying(sim):
    site = sim.site()
    url = site.sequence("/busy", [(429, "no", {"Retry-After": "3600"}), (200, PAGE, {})])
    r = one(url, retries=3)
    assert r.verdict == "error" and r.attempts == 1 and "Retry-After" in r.reason


def test_retry_after_http_date():
    later = datetime.now(timezone.utc) + timedelta(seconds=20)
    assert 15 <= retry_after_seconds(format_datetime(later, usegmt=True)) <= 21
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_503_once_then_200_is_ok(sim):
    site = sim.site()
    url = site.sequence("/flaky", [(503, "busy", {}), (200, PAGE, {})])
    r = one(url, retries=2)
    assert (r.verdict, r.attempts) == ("ok", 2)


def test_persistent_5xx_is_error_after_retries(sim, monkeypatch):
    monkeypatch.setattr(check, "BACKOFF_BASE", 0.01)
    site = sim.site()
    r = one(site.page("/down", "oops", status=500), retries=2)
    assert (r.verdict, r.status, r.attempts) == ("error", 500, 3)
    assert site.stats.requests == 3


def test_page_slower_than_timeout_is_error(sim, monkeypatch):
    monkeypatch.setattr(check, "BACKOFF_BASE", 0.01)
    site = sim.site()
    r = one(site.page("/slow", PAGE, delay=1.5), timeout=0.3, retries=1)
    assert r.verdict == "error" and "timeout" in r.reason
    # Both attempts were cut by the timeout, not served: the server saw two
    # requests, and without the timeout each would have taken the full 1.5 s.
    assert r.attempts == 2 and site.stats.requests == 2


def test_url_deadline_caps_total_time(sim):
    site = sim.site()
    r = one(site.page("/slow", PAGE, delay=2.0), timeout=1.0, retries=5, url_deadline=1.5)
    # The cap, not the retries, ended it: 6 attempts were allowed, the cap
    # stopped after at most 2 (either mid-attempt, or before a retry whose
    # backoff would not fit in the time left).
    assert r.verdict == "error" and ("time cap per URL" in r.reason or "timeout" in r.reason)
    assert r.attempts <= 2 and site.stats.requests <= 2


def test_405_to_head_does_not_matter_we_get(sim):
    site = sim.site()
    r = one(site.head_refused("/nohead"))
    assert r.verdict == "ok"
    assert set(site.stats.methods) == {"GET"}


def test_endless_body_is_cut_off(sim):
    site = sim.site()
    r = one(site.endless("/stream/forever"))
    assert r.verdict == "ok" and "cut off" in r.reason, r.reason
    assert r.body is not None and len(r.body) <= check.MAX_KEPT_BODY_CHARS
    assert r.elapsed_ms < 10_000


def test_slow_endless_body_is_cut_off_by_time(sim):
    site = sim.site()
    r = one(site.endless("/stream/drip", chunk_delay=0.2), timeout=1.0)
    assert r.verdict == "ok" and "cut off" in r.reason and r.elapsed_ms < 5000


def test_gzip_bomb_does_not_grow_memory(sim):
    site = sim.site()
    url = site.gzip_bomb("/bomb", size=256 * 1024 * 1024)
    tracemalloc.start()
    try:
        r = one(url)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.verdict == "ok" and "cut off" in r.reason
    # 256 MB inflated would be 256 MB; the cap is MAX_DECODED_BYTES (2 MiB) plus bookkeeping.
    assert peak < 5 * check.MAX_DECODED_BYTES, f"peak {peak} bytes"


def test_pdf_judged_by_status_without_reading(sim):
    site = sim.site()
    pdf = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024)
    r = one(site.page("/paper.pdf", pdf, content_type="application/pdf"))
    assert (r.verdict, r.status, r.content_type) == ("ok", 200, "application/pdf")
    assert r.body is None


def test_refused_port_is_error(sim):
    r = one(sim.closed_port_url("/x"))
    assert r.verdict == "error" and "refused" in r.reason


def test_loopback_refused_without_allow_private(sim):
    site = sim.site()
    r = one(site.page("/p", PAGE), allow_private=False)
    assert r.verdict == "unchecked" and "address policy" in r.reason
    assert site.stats.requests == 0


async def _fake_dns(name: str) -> list[str]:
    table = {"intranet.test": ["10.1.2.3"], "mixed.test": ["93.184.216.34", "192.168.0.9"]}
    if name in table:
        return table[name]
    raise OSError(-2, "Name or service not known")


@pytest.mark.parametrize("name", ["intranet.test", "mixed.test"])
def test_name_resolving_to_private_address_refused(name):
    r = one(f"http://{name}/x", allow_private=False, resolver=_fake_dns)
    assert r.verdict == "unchecked" and "address policy" in r.reason


def test_redirect_hop_to_private_address_refused(sim):
    site = sim.site()
    url = site.redirect("/out", "http://intranet.test/secret", 302)
    r = one(url, allow_private=False, allowed_networks=("127.0.0.0/8",), resolver=_fake_dns)
    assert r.verdict == "unchecked" and "address policy" in r.reason and "10.1.2.3" in r.reason


def test_unknown_domain_is_dead_when_the_network_works():
    r = one("http://no-such-name.test/page", offline=False, resolver=_fake_dns)
    assert r.verdict == "dead" and "does not resolve" in r.reason


def test_offline_never_dead_and_no_lookup(monkeypatch):
    def no_dns(*_a, **_k):
        raise AssertionError("offline runs must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    results = check_urls(["https://example.org/a", "https://example.com/b"], CheckOptions(offline=True))
    assert [r.verdict for r in results] == ["unchecked", "unchecked"]
    assert all("offline" in r.reason for r in results)


def test_offline_detected_when_names_fail(monkeypatch):
    monkeypatch.setattr(check, "network_available", lambda *a, **k: False)
    [r] = check_urls(["https://surely-not-resolvable.invalid/x"], CheckOptions())
    assert r.verdict == "unchecked" and "offline" in r.reason


def test_offline_a_public_address_that_says_not_found_is_unchecked_not_dead(sim, monkeypatch):
    """With no name resolving, a "404" from a public IP address comes from whatever intercepts the traffic (a
    sandbox, a captive portal): unchecked, the answer kept in the reason. The simulated host stands in for a
    public address (it is on loopback: the test marks it public); a private one, the near miss, is judged as
    ever. A run over a public address asks whether the machine is online, as one over names does."""
    site = sim.site()
    gone, live = site.url("/gone"), site.page("/live", PAGE)
    stand_in = url_host(gone)  # the simulated host's address
    monkeypatch.setattr(check, "public_host", lambda host: host == stand_in)
    asked: list[bool] = []
    monkeypatch.setattr(check, "network_available", lambda *a, **k: asked.append(True) or False)
    results = check_urls([gone, live], CheckOptions(allow_private=True, retries=0, host_interval=0))
    assert asked, "a public address makes the run ask whether names resolve"
    assert [r.verdict for r in results] == ["unchecked", "ok"]
    assert "offline" in results[0].reason and "404" in results[0].reason
    # Near miss: a private address is the user's own network, its 404 is taken.
    monkeypatch.setattr(check, "public_host", lambda host: False)
    [private] = check_urls([gone], CheckOptions(allow_private=True, retries=0, host_interval=0, offline=True))
    assert private.verdict == "dead"


def test_each_url_checked_once(sim):
    site = sim.site()
    url = site.page("/once", PAGE)
    seen = []
    results = check_urls([url, url, url], CheckOptions(**FAST, probe_catch_all=False), seen.append)
    assert len(results) == 1 and len(seen) == 1
    assert site.stats.requests == 1


def test_worker_processes_give_the_same_verdicts(sim):
    sites = [sim.site() for _ in range(3)]
    urls = []
    for site in sites:
        urls += [site.page(f"/w/p{i}", PAGE) for i in range(4)]
        urls.append(site.page("/w/gone", "x", status=404))
    seen = []
    results = check_urls(urls, CheckOptions(**FAST, workers=2), seen.append)
    assert [r.url for r in results] == urls
    assert sorted(r.url for r in seen) == sorted(urls)
    assert [r.verdict for r in results].count("ok") == 12
    assert [r.verdict for r in results].count("dead") == 3


def test_small_non_html_body_is_not_judged(sim):
    site = sim.site()
    r = one(site.page("/api/item.json", '{"title": "<title>404 Not Found</title>"}', content_type="application/json"))
    assert r.verdict == "ok" and r.body is None


def test_kept_bodies_have_a_run_budget(sim, monkeypatch):
    monkeypatch.setattr(check, "KEPT_BODY_BUDGET", 10)
    monkeypatch.setattr(check, "KEPT_BODY_AFTER_BUDGET", 50)
    site = sim.site()
    urls = [site.page(f"/b/{i}", PAGE) for i in range(3)]
    results = check_urls(urls, CheckOptions(**FAST, probe_catch_all=False, host_concurrency=1))
    lengths = sorted(len(r.body or "") for r in results)
    assert lengths[0] == lengths[1] == 50 and lengths[2] == len(PAGE)


def test_keep_body_off(sim):
    site = sim.site()
    r = one(site.page("/nobody", PAGE), keep_body=False)
    assert r.verdict == "ok" and r.body is None


async def _flaky_dns(name: str) -> list[str]:
    raise OSError(socket.EAI_AGAIN, "Temporary failure in name resolution")


def test_dns_failure_without_an_answer_is_error_not_dead():
    r = one("http://flaky-dns.test/page", offline=False, resolver=_flaky_dns)
    assert r.verdict == "error" and "DNS lookup" in r.reason


def test_redirect_to_a_name_that_does_not_exist_is_dead(sim):
    site = sim.site()
    url = site.redirect("/moved", "http://no-such-name.test/x", 301)
    r = one(url, offline=False, resolver=_fake_dns)
    assert r.verdict == "dead" and "redirect target" in r.reason


def test_tls_failure_is_error(sim, tmp_path):
    import ssl

    import needs

    cert, key = needs.certificates(tmp_path)["plain"]  # self-signed, made in Python: no openssl binary to skip on
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    site = sim.site(ssl_context=context)
    url = site.page("/secure", PAGE)
    assert url.startswith("https://")
    r = one(url)
    assert r.verdict == "error" and "TLS" in r.reason
    assert r.attempts == 1, "a bad certificate is not retried"


def test_short_article_in_a_heavy_template_on_a_catch_all_site_is_ok(sim):
    menu = " ".join(f"section{i} topic{i * 7 % 101}" for i in range(400))  # a big, varied site template
    template = ("<html><head><title>Big Site</title></head><body><nav>" + menu + "</nav>{main}<footer>" + menu[::-1]
                + "</footer></body></html>")
    site = sim.site()
    site.catch_all(template.replace("{main}", "<p>Sorry, nothing here.</p>"))
    article = template.replace("{main}", "<article><h1>Council approves the river plan</h1><p>The council voted "
                                         "seven to two on Tuesday to fund the flood defences along the east bank, "
                                         "after a year of hearings.</p></article>")
    real = site.page("/news/river-plan", article)
    gone = site.url("/news/old-story")
    results = {r.url: r for r in check_urls([real, gone], CheckOptions(**FAST))}
    assert results[real].verdict == "ok"
    assert results[gone].verdict == "soft404"


def test_a_crashed_worker_process_leaves_unchecked_not_a_hang(sim, monkeypatch):
    import os

    monkeypatch.setattr(check, "_worker_main", lambda urls, options, conn: os._exit(3))
    sites = [sim.site() for _ in range(2)]
    urls = [s.page(f"/c/{i}", PAGE) for s in sites for i in range(2)]
    results = check_urls(urls, CheckOptions(**FAST, workers=2))
    assert [r.verdict for r in results] == ["unchecked"] * 4
    assert all("worker process failed" in r.reason for r in results)


def test_a_pooled_connection_the_server_dropped_is_replaced_and_the_gap_kept(sim):
    from aiohttp import web

    first_connection: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if not first_connection:
            first_connection.append(request.transport)
        elif request.transport is first_connection[0]:
            request.transport.abort()  # the keep-alive connection dies under the second request, unanswered
            return web.Response(status=500)
        return web.Response(text=PAGE, content_type="text/html")

    site = sim.site()
    urls = [site.route("/kept/a", handler), site.route("/kept/b", handler)]
    before = time.monotonic()
    results = check_urls(urls, CheckOptions(allow_private=True, retries=0, host_concurrency=1, host_interval=0.1,
                                            probe_catch_all=False))
    assert [r.verdict for r in results] == ["ok", "ok"], [r.reason for r in results]
    assert [r.attempts for r in results] == [1, 1], "a replaced connection is not a retry"
    assert site.stats.requests == 3  # /a, /b on the dead connection, /b again on a new one
    # The gap kept, as an ordering load cannot break: the k-th request reached the host no sooner than k gap
    # floors after the run began (the simulator's stamps are only ever late, never early).
    assert_cumulative_gaps(site.stats.starts, before, 0.1 * check.MIN_GAP_FRACTION)



def test_the_redirect_jar_drops_what_browsers_drop():
    jar = cookies._RedirectJar()
    jar.store("www.example.org", ["bad=a\x00b", "ok=1", "tok=2; Secure", "old=3"])
    assert jar.header_for("http://www.example.org/") == "ok=1; old=3", "control characters refused; Secure not over http"
    assert jar.header_for("https://www.example.org/") == "ok=1; tok=2; old=3"
    ip_jar = cookies._RedirectJar()
    ip_jar.store("127.0.0.1", ["a=1; Domain=0.0.1", "b=2; Domain=127.0.0.1"])
    assert ip_jar.header_for("http://127.0.0.1/") == "b=2", "no parent domains of an IP address"
    jar.store("www.example.org", ["old=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                                  "later=4; Expires=Wed, 21-Oct-2099 07:28:00 GMT"])
    assert jar.header_for("https://www.example.org/") == "ok=1; tok=2; later=4"


def test_a_redirect_to_itself_that_rotates_a_cookie_is_a_loop_after_a_few_visits(sim):
    from aiohttp import web

    hits = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        hits[0] += 1
        response = web.Response(status=302, headers={"Location": str(request.url)})
        response.headers.add("Set-Cookie", f"n={hits[0]}")  # a new value every time
        return response

    site = sim.site()
    r = one(site.route("/rotating", handler))
    assert r.verdict == "error" and "redirect loop" in r.reason
    assert site.stats.requests == check.MAX_VISITS_PER_URL
