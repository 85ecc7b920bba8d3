"""The signature table and the pure judgement rules (no network needed)."""

from __future__ import annotations

import pytest

from provenance import classify
from provenance.classify import Observation, judge

URL = "https://news.example/2021/03/story"


def obs(status=200, text="", headers=None, final=URL, hops=()):
    return Observation(url=URL, final_url=final, status=status, headers=headers or {}, text=text, hops=tuple(hops))


def test_signature_names_are_unique_and_verdicts_valid():
    names = [s.name for s in classify.SIGNATURES]
    assert len(names) == len(set(names))
    assert {s.verdict for s in classify.SIGNATURES} <= {"soft404", "blocked"}
    assert all(s.reason for s in classify.SIGNATURES)


@pytest.mark.parametrize("title", ["Page not found", "404 Not Found", "Error 404 | Site", "404",
                                   "This page no longer exists", "Article does not exist", "Page Not Found | Example News",
                                   "Example News – Page not found", "404 - Not Found", "Oops! Page not found.",
                                   "Sorry, this page doesn’t exist", "Error: 404", "Content unavailable"])
def test_not_found_titles_are_soft404(title):
    assert judge(obs(text=f"<html><head><title>{title}</title></head></html>")).verdict == "soft404"


@pytest.mark.parametrize("title", ["404 Media: a story about surveillance", "How we found the river",
                                   "Report 2404: water levels", "Not Found: The Search for MH370",
                                   "Lost and Not Found, a memoir", "Gone Girl | Reviews", "The missing link | Science",
                                   "Deleted scenes from the hearing"])
def test_ordinary_titles_are_ok(title):
    assert judge(obs(text=f"<html><head><title>{title}</title></head><body>text</body></html>")).verdict == "ok"


@pytest.mark.parametrize("heading", ["Page not found", "Error 404", "404", "<span>Sorry, this page does not exist.</span>"])
def test_not_found_headings_are_soft404(heading):
    assert judge(obs(text=f"<title>Example</title><h1 class='x'>{heading}</h1>")).verdict == "soft404"


@pytest.mark.parametrize("heading", ["Not found: the river that vanished", "404 Media reports", "Gone with the wind"])
def test_ordinary_headings_are_ok(heading):
    assert judge(obs(text=f"<title>Example</title><h1>{heading}</h1>")).verdict == "ok"


def test_not_found_wording_on_a_404_is_still_dead_not_soft404():
    assert judge(obs(status=404, text="<title>Page not found</title>")).verdict == "dead"


@pytest.mark.parametrize("status, headers, text, name", [
    (403, {"cf-mitigated": "challenge"}, "", "cloudflare-mitigated"),
    (503, {"cf-ray": "1"}, "<title>Just a moment...</title>", "cloudflare-challenge"),
    (403, {"server": "cloudflare"}, "", "cloudflare-block"),
    (999, {}, "", "linkedin-999"),
    (403, {"x-datadome": "protected"}, "", "datadome"),
    (429, {}, "<div id='px-captcha'></div>", "perimeterx"),
    (403, {}, "<h1>Access Denied</h1> Reference #18.abc", "akamai-denied"),
    (405, {}, "<div class='g-recaptcha'></div>", "captcha-widget"),
])
def test_bot_walls_are_blocked_with_their_name(status, headers, text, name):
    j = judge(obs(status=status, headers=headers, text=text))
    assert (j.verdict, j.signature) == ("blocked", name)


def test_a_recaptcha_on_a_normal_200_page_is_not_a_wall():
    assert judge(obs(text="<title>Contact us</title><div class='g-recaptcha'></div>")).verdict == "ok"


def test_redirect_rules():
    home = "https://www.news.example/"
    assert judge(obs(final=home, hops=[(301, home)])).signature == "redirect-to-home"
    elsewhere = "https://new-owner.example/"
    assert judge(obs(final=elsewhere, hops=[(301, elsewhere)])).verdict == "soft404"
    login = "https://news.example/users/sign_in?return_to=x"
    assert judge(obs(final=login, hops=[(302, login)])).verdict == "blocked"
    moved = "https://news.example/2021/03/story-renamed"
    assert judge(obs(final=moved, hops=[(301, moved)])).verdict == "redirect"
    assert judge(obs(final=moved, hops=[(302, moved)])).verdict == "ok"
    assert judge(obs(final=moved, hops=[(301, moved), (302, moved)])).verdict == "ok"
    # The home page redirecting to the home page is not a soft 404.
    assert not classify.redirected_home(Observation(url="https://news.example/", final_url=home, status=200,
                                                    hops=((301, home),)))


def test_status_table():
    assert classify.verdict_for_status(204)[0] == "ok"
    assert classify.verdict_for_status(451)[0] == "blocked"
    assert classify.verdict_for_status(429)[0] == "error"
    assert classify.verdict_for_status(502)[0] == "error"
    assert classify.verdict_for_status(400)[0] == "error"


def test_fingerprints_ignore_the_echoed_path():
    template = "<html><body><p>Welcome to the shop, find everything you want here today.</p><p>You asked for {}</p>"
    a = classify.fingerprint(template.format("/blog/zzqxv"), ("blog", "zzqxv"))
    b = classify.fingerprint(template.format("/blog/old-post"), ("blog", "old", "post"))
    assert classify.similarity(a, b) >= classify.CATCH_ALL_SIMILARITY
    other = classify.fingerprint("<p>An entirely different article about rivers, rain and the sea level.</p>")
    assert classify.similarity(a, other) < 0.2


def test_is_deep_fast_read_agrees_with_urlsplit():
    import random
    from urllib.parse import urlsplit

    def by_urlsplit(url: str) -> bool:
        parts = urlsplit(url)
        home = classify._HOME_PATH.match(parts.path or "/")
        return not home or (bool(parts.query) and not classify._TRACKING_ONLY.fullmatch(parts.query))

    cases = ["http://a.example/", "http://a.example", "http://a.example/?", "http://a.example/?x=1",
             "http://a.example/#frag", "http://a.example/#?x", "https://a.example/index.html", "https://a.example/en/",
             "http://a.example/a/b?c#d", "http://a.example?q=1", "http://a.example#x?y", "http://u:p@a.example:80/home",
             "http://[::1]:8/x", "//a.example/x", "a.example/x", "mailto:x@y", "http://a.example/?#", "HTTP://A.EXAMPLE/Home",
             "http://a.example/?utm_source=x", "http://a.example/?utm_source=x&p=1", "http://a.example/en/?fbclid=1#x",
             "ftp://a.example/?ref=", "http://a.example/x?utm_source=y", "a.example/?gclid=1"]
    rng = random.Random(7)
    cases += ["http://h" + "".join(rng.choice("abc/?#.:=&%en-_") for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    assert [classify.is_deep(c) for c in cases] == [by_urlsplit(c) for c in cases]
    assert classify.is_deep("http://a.example/news/story") and not classify.is_deep("http://a.example/en/")
