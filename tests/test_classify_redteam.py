"""Wrong verdicts a red-team review reproduced, each pinned with a near miss that keeps its old verdict.

Most cases call ``classify.judge`` on plain values; a few run the whole
engine against loopback servers where the catch-all probe takes part.
"""

from __future__ import annotations

import pytest

from provenance import classify
from provenance.check import CheckOptions, check_urls
from provenance.classify import Observation, judge

URL = "https://news.example/2021/03/story"
FAST = dict(allow_private=True, retries=0, host_interval=0.0, timeout=5.0)

ARTICLE = "".join(f"<p>Paragraph {i}: measurements from forty stations show the rise in great detail, "
                  f"with readings number {i * 7} taken every hour since spring.</p>" for i in range(15))
NAV = "<nav>" + " ".join(f"<a href='/s{i}'>Section {i} news and reports</a>" for i in range(12)) + "</nav>"
FOOT = ("<footer><p>Copyright Example Media Group. All rights reserved. Imprint, privacy policy, terms of use, "
        "cookie settings, contact the newsroom, advertise with us, careers.</p></footer>")


def page(title: str, body: str = "") -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"


def site_page(title: str, main: str) -> str:
    return page(title, NAV + f"<main>{main}</main>" + FOOT)


def obs(text="", status=200, headers=None, url=URL, final=None, hops=()):
    return Observation(url=url, final_url=final or url, status=status, headers=headers or {}, text=text,
                       hops=tuple(hops))


def verdict(*args, **kwargs) -> tuple[str, str | None]:
    j = judge(obs(*args, **kwargs))
    return j.verdict, j.signature


# --- bot walls that answer 200 or 202 -------------------------------------------------------------

ANUBIS = ("<!DOCTYPE html><html lang='en'><head><title>Making sure you&#39;re not a bot!</title>"
          "<script id='anubis_challenge' type='application/json'>{\"rules\":{\"difficulty\":4},\"challenge\":\"ab12\"}"
          "</script></head><body><h1>Making sure you&#39;re not a bot!</h1><img src='/.within.website/x/cmd/anubis/"
          "static/img/pensive.webp'><p>Protected by <a href='https://github.com/TecharoHQ/anubis'>Anubis</a>.</p>"
          "</body></html>")
SUCURI = ("<html><title>You are being redirected...</title><noscript>Javascript is required.</noscript><script>"
          "var s={},u,c,U,r,i,l=0,a,e=eval,w=String.fromCharCode,sucuri_cloudproxy_js='',S='cz0iYSI7';"
          "document.cookie='sucuri_cloudproxy_uuid_0e1f=' + 'x' + ';path=/'; location.reload();</script></html>")
INCAPSULA = ("<html style='height:100%'><head><META NAME='ROBOTS' CONTENT='NOINDEX, NOFOLLOW'></head><body>"
             "<iframe id='main-iframe' src='/_Incapsula_Resource?CWUDNSAI=9&xinfo=10-1-0&incident_id=1-2&edet=12'>"
             "Request unsuccessful. Incapsula incident ID: 1-2</iframe></body></html>")
SITEGROUND = "<html><head><meta http-equiv='refresh' content='0;/.well-known/sgcaptcha/?r=%2Fnews&y=ipr:1.2.3.4:17'></head></html>"
F5 = ("<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your\n"
      "administrator.<br><br>Your support ID is: 1234567890<br></body></html>")
AWSWAF = ("<!DOCTYPE html><html><head><title></title><script>window.gokuProps = {\"key\":\"k\"};</script>"
          "<script src='https://abc.edge.sdk.awswaf.com/abc/challenge.js'></script></head><body>"
          "<div id='challenge-container'></div></body></html>")


@pytest.mark.parametrize("status, headers, text, name", [
    (200, {}, ANUBIS, "anubis"),
    (401, {}, ANUBIS, "anubis"),
    (200, {"server": "Sucuri/Cloudproxy", "x-sucuri-id": "16015"}, SUCURI, "sucuri-challenge"),
    (200, {}, SUCURI, "sucuri-challenge"),
    (403, {"x-sucuri-id": "16015"}, "<title>Access Denied - Sucuri Website Firewall</title>", "sucuri-block"),
    (200, {"x-iinfo": "10-1-0 0NNN RT"}, INCAPSULA, "incapsula"),
    (202, {}, SITEGROUND, "siteground-captcha"),
    (200, {}, F5, "f5-asm"),
    (202, {"x-amzn-waf-action": "challenge"}, AWSWAF, "aws-waf"),
    (405, {"x-amzn-waf-action": "captcha"}, AWSWAF, "aws-waf"),
])
def test_walls_answering_200_or_202_are_blocked(status, headers, text, name):
    assert verdict(text, status=status, headers=headers) == ("blocked", name)


@pytest.mark.parametrize("status, headers, text", [
    # Sucuri and Incapsula mark every page they pass on, not only their walls.
    (200, {"server": "Sucuri/Cloudproxy", "x-sucuri-id": "16015", "x-sucuri-cache": "HIT"}, site_page("Rivers rise", ARTICLE)),
    (200, {"x-iinfo": "10-1-0 0NNN RT", "x-cdn": "Imperva"},
     site_page("Rivers rise", ARTICLE + "<script src='/_Incapsula_Resource?SWJIYLWA=719d34d31c8e3a6e6fffd425f7e032f3'></script>")),
    # An article about Anubis, and a 202 that is no SiteGround or AWS wall.
    (200, {}, site_page("How we set up Anubis | Example Blog", "<p>We installed <a href='https://github.com/TecharoHQ/anubis'>"
                        "Anubis</a> to keep scrapers away; it asks browsers for a proof of work.</p>" + ARTICLE)),
    (202, {"x-amzn-requestid": "abc"}, site_page("Accepted", "<p>Your report was queued.</p>")),
    (200, {}, page("Request Rejected | Example Bank", "<p>Your transfer request was rejected by the bank.</p>")),
])
def test_pages_behind_those_walls_or_about_them_are_not_blocked(status, headers, text):
    assert verdict(text, status=status, headers=headers)[0] == "ok"


def test_big_pages_skip_the_wall_rows_but_a_200_wall_is_still_found_when_small():
    big = site_page("Rivers rise", ARTICLE * 40 + "<p>sucuri_cloudproxy_js</p>")
    assert len(big) > classify.SMALL_PAGE_CHARS
    assert verdict(big)[0] == "ok"
    assert verdict(SUCURI)[0] == "blocked"


def test_a_wall_answering_200_is_blocked_not_a_catch_all_soft404(sim):
    site = sim.site()
    site.catch_all(ANUBIS)
    live, gone = site.url("/news/2024/rivers-rise"), site.url("/news/2024/deleted-story")
    for url in (live, gone):
        [r] = check_urls([url], CheckOptions(**FAST))
        assert (r.verdict, r.signature) == ("blocked", "anubis")


# --- captcha titles on a 200 --------------------------------------------------------------------

@pytest.mark.parametrize("title", ["Are you a robot?", "Attention Required! | Cloudflare", "Access Denied",
                                   "Security Check", "Robot Check", "hCaptcha challenge"])
def test_short_page_titled_as_a_captcha_is_blocked(title):
    assert verdict(page(title, "<p>Please complete the check to continue.</p>")) == ("blocked", "captcha-wall")


@pytest.mark.parametrize("title, long", [("CAPTCHA - Wikipedia", True), ("reCAPTCHA v3 | Google for Developers", False),
                                         ("Access Denied (2023 film) - IMDb", False),
                                         ("Airport security checkpoint wait times | Example Travel", False)])
def test_pages_about_captchas_are_ok(title, long):
    assert verdict(page(title, f"<h1>{title}</h1>" + (ARTICLE if long else "<p>Short.</p>")))[0] == "ok"


def test_captcha_title_on_a_refusal_still_counts_when_it_only_contains_the_word():
    assert verdict(page("Vercel Security Checkpoint"), status=429) == ("blocked", "captcha-title")
    assert verdict(page("Attention Required! | Cloudflare"), status=403) == ("blocked", "captcha-title")
