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


# --- soft-404 titles and headings: entities, separators, other languages --------------------------

@pytest.mark.parametrize("title", [
    "Page not found &#8211; Example", "Page not found &ndash; Example", "Page not found &raquo; Example",
    "Page not found » Example", "Page Not Found :: Example", "Page not found: Example", "Example: Page not found",
    "Error 404 (Not Found)!!1", "404 Page | Example", "Page Not Found (404) | Example", "Content not available | Example",
    "The page you requested was not found.", "Sorry, we can&#8217;t find that page | Shop", "Page Not Found&nbsp;| Example",
    "Oops! That page can&rsquo;t be found. &#8211; Blog",
])
def test_not_found_titles_with_entities_and_more_separators(title):
    assert verdict(page(title, "<p>Try the search.</p>")) == ("soft404", "soft404-title")


@pytest.mark.parametrize("title", [
    "Not Found: The Search for MH370", "404 Media: a story about surveillance", "Example: Not found in nature",
    "404 Not Found: what it means and how to fix it", "Page not found, a novel &#8211; Review",
    "Finding the page: a not found story",
])
def test_colons_and_entities_do_not_make_ordinary_titles_not_found(title):
    assert verdict(page(title, "<p>Short text.</p>"))[0] == "ok"


LOCALIZED = {
    "de": "Seite nicht gefunden | Beispiel Zeitung", "de2": "Fehler 404 &#8211; Seite nicht gefunden",
    "es": "Página no encontrada - El Ejemplo", "fr": "Page introuvable - Le Exemple", "fr2": "Page non trouvée | Exemple",
    "it": "Pagina non trovata - Esempio", "pt": "Página não encontrada | Exemplo", "nl": "Pagina niet gevonden - Voorbeeld",
    "pl": "Nie znaleziono strony - Przykład", "ru": "Страница не найдена — Пример", "ja": "ページが見つかりません | 例",
    "zh": "页面不存在 - 示例", "zh2": "找不到页面 | 示例", "zh3": "页面未找到", "ko": "페이지를 찾을 수 없습니다",
    "tr": "Sayfa bulunamadı - Örnek",
}


@pytest.mark.parametrize("lang", sorted(LOCALIZED))
def test_not_found_titles_in_other_languages(lang):
    assert verdict(site_page(LOCALIZED[lang], "<p>…</p>")) == ("soft404", "soft404-title")


@pytest.mark.parametrize("title", ["Seite 2 | Beispiel Zeitung", "Die Suche nach der Seite, die nicht gefunden wurde",
                                   "Página principal - El Ejemplo", "Page d'accueil - Le Exemple", "Страница автора — Пример",
                                   "ページ一覧 | 例", "页面设计指南 - 示例", "Sayfa 3 - Örnek"])
def test_ordinary_titles_in_other_languages_are_ok(title):
    assert verdict(site_page(title, "<p>…</p>"))[0] == "ok"


@pytest.mark.parametrize("heading", [
    "<h1 class='page-title'>Oops! That page can’t be found.</h1>", "<h1>Oops! That page can&#8217;t be found.</h1>",
    "<h2>Sorry, this product is no longer available.</h2>", "<h2>This content isn't available right now</h2>",
    "<h2>This article has expired</h2>", "<h2>Seite nicht gefunden</h2>", "<h1>抱歉，您访问的页面不存在</h1>",
])
def test_not_found_headings_h1_and_h2(heading):
    assert verdict(site_page("Example Store", heading + "<p>Browse similar items.</p>")) == ("soft404", "soft404-heading")


@pytest.mark.parametrize("heading", ["<h2>Sorry, this product is no longer available in blue</h2>",
                                     "<h2>Availability</h2>", "<h2>Expired certificates and how to renew them</h2>",
                                     "<h1>Missing</h1>", "<h2>Gone fishing</h2>"])
def test_ordinary_h1_and_h2_are_ok(heading):
    assert verdict(site_page("Example Store", heading + "<p>Browse similar items.</p>"))[0] == "ok"


# --- bare words and long pages ------------------------------------------------------------------

LYRICS = "".join(f"<p>Comment {i}: this song still gives me chills, one of the best tracks of the nineties.</p>"
                 for i in range(20))
MDN = ("<h1>404 Not Found</h1><p>The HTTP <strong>404 Not Found</strong> client error response status code indicates "
       "that the server cannot find the requested resource.</p>" + "".join(
           f"<p>Specification and compatibility detail {i}: a 404 status code only indicates that the resource is "
           f"missing, without indicating if this is temporary or permanent.</p>" for i in range(12)))


@pytest.mark.parametrize("title, body", [
    ("Everything But The Girl - Missing - YouTube", "<h1>Everything But The Girl - Missing</h1>" + LYRICS),
    ("Gone - song and lyrics by NSYNC | Spotify", "<h1>Gone</h1>" + LYRICS),
    ("Missing - Wikipedia", "<h1>Missing</h1><p>Missing may refer to:</p><ul>" + "".join(
        f"<li>Missing ({y} film), a film directed by someone in {y}</li>" for y in range(1982, 2024, 3)) + "</ul>"),
    ("Gone. | A writer's notebook", "<h1>Gone.</h1>" + ARTICLE),
    ("404 Not Found - HTTP | MDN", MDN),
    ("Page not found: a study of link rot | Example Journal", "<h1>Page not found: a study of link rot</h1>" + ARTICLE),
])
def test_live_pages_with_bare_words_or_long_pages_are_ok(title, body):
    assert verdict(site_page(title, body))[0] == "ok"


@pytest.mark.parametrize("title, name", [("Gone", "soft404-bare-title"), ("Unavailable", "soft404-bare-title"),
                                         ("Page gone | Example", "soft404-title"),
                                         ("Content removed | Example", "soft404-title")])
def test_bare_words_count_as_a_whole_title_on_a_short_page_and_with_a_noun_anywhere(title, name):
    assert verdict(site_page(title, "<p>This story is no longer online.</p>")) == ("soft404", name)


def test_a_not_found_page_with_heavy_chrome_is_still_soft404():
    teasers = "".join(f"<article><h3><a href='/news/{i}'>Headline of the day number {i} about the city</a></h3>"
                      f"<p>A few words of summary for story {i}.</p></article>" for i in range(10))
    sidebar = "<aside>" + "".join(f"<a href='/tag/{i}'>tag {i}</a>" for i in range(60)) + "</aside>"
    text = site_page("Page not found | Example News", "<h1>Page not found</h1><p>Sorry, we could not find that "
                     "page. Try the search or one of these stories.</p><form><input name='q'></form>" + teasers + sidebar)
    assert verdict(text) == ("soft404", "soft404-title")


# --- phrases: only in the visible text, not quoted -------------------------------------------------

QUOTED = site_page("What we learned from 10,000 dead links | Example Blog",
                   "<h1>What we learned from dead links</h1><p>Readers who click an old citation are often greeted with "
                   "“The page you are looking for could not be found”, or worse, an unrelated page.</p>")
IN_PRE = site_page("Creating a custom 404 page for your GitHub Pages site - GitHub Docs",
                   "<h1>Creating a custom 404 page</h1><p>You can display a custom 404 error page.</p><pre>&lt;h1&gt;404"
                   "&lt;/h1&gt;\n&lt;p&gt;Sorry, this page doesn't exist.&lt;/p&gt;</pre>")
IN_SCRIPT = site_page("Blue Widget | Example Store", "<h1>Blue Widget</h1><p>$19.99</p><script>window.__I18N__="
                      "{\"errors.not_found\":\"Sorry, we can't find that page\",\"errors.unavailable\":\"This product is "
                      "no longer available\"};</script>")
IN_BLOCKQUOTE = site_page("Letters | Example", "<h1>Letters</h1><blockquote>The page you were looking for does not "
                          "exist.</blockquote><p>Our reader saw this message last week.</p>")
GEO = site_page("Match highlights | Example TV", "<h1>Match highlights</h1><p>This content is not available in your "
                "country.</p>")


@pytest.mark.parametrize("text", [QUOTED, IN_PRE, IN_SCRIPT, IN_BLOCKQUOTE, GEO])
def test_phrases_quoted_shown_as_code_or_in_scripts_are_not_soft404(text):
    assert verdict(text)[0] == "ok"


@pytest.mark.parametrize("said", [
    "<p>Sorry, the page you are looking for could not be found.</p>",
    "<p>Sorry, we couldn’t find the page you’re looking for.</p>",
    "<p>We couldn&#8217;t find the page you&rsquo;re looking for.</p>",
    "<p>The page you&#39;re looking for <b>doesn&#39;t exist</b>.</p>",
    "<div class='blockrow'>Invalid Thread specified. If you followed a valid link, please notify the administrator</div>",
    "<p>Sorry, this page isn't available.</p>",
])
def test_the_same_phrases_said_on_a_page_are_soft404(said):
    assert verdict(site_page("Example", said)) == ("soft404", "soft404-phrase")


def test_a_long_article_that_says_a_page_no_longer_exists_is_ok():
    text = site_page("Link rot in court opinions | Example", "<h1>Link rot</h1><p>When we followed the cited link we "
                     "learned that this page no longer exists.</p>" + ARTICLE)
    assert verdict(text)[0] == "ok"


# --- YouTube's deleted videos ------------------------------------------------------------------

def youtube(status: str, pad: int = 0) -> str:
    return page(" - YouTube", "<div id='player'></div>" + "<script>var x = 1;</script>" * pad
                + "<script>var ytInitialPlayerResponse = {\"playabilityStatus\":{\"status\":\"" + status
                + "\",\"reason\":\"Video unavailable\"}};</script>")


def test_a_deleted_youtube_video_is_soft404_even_deep_in_a_big_page():
    assert verdict(youtube("ERROR")) == ("soft404", "youtube-unavailable")
    big = youtube("ERROR", pad=4000)
    assert big.index("playabilityStatus") > classify.HEAD_CHARS
    assert verdict(big) == ("soft404", "youtube-unavailable")


@pytest.mark.parametrize("status", ["OK", "UNPLAYABLE", "LOGIN_REQUIRED"])
def test_playable_private_or_region_locked_videos_are_not_soft404(status):
    assert verdict(youtube(status))[0] == "ok"


def test_the_youtube_marker_on_another_site_is_not_enough():
    text = page("How to read the YouTube player response | Example Blog",
                "<pre>\"playabilityStatus\":{\"status\":\"ERROR\"</pre><p>That is what a deleted video returns.</p>")
    assert verdict(text)[0] == "ok"


# --- redirects ------------------------------------------------------------------------------------

SITE = "https://news.example"
LIVE = site_page("A page", ARTICLE)


def redirected(cited: str, final: str, status: int = 301, text: str = LIVE) -> tuple[str, str | None]:
    j = judge(obs(text, url=SITE + cited if cited.startswith("/") else cited,
                  final=SITE + final if final.startswith("/") else final,
                  hops=[(status, SITE + final if final.startswith("/") else final)]))
    return j.verdict, j.signature


@pytest.mark.parametrize("cited, final", [("/tutorial/errors.html", "/3/tutorial/errors.html"),
                                          ("/dist/latest/docs/api/errors.html", "/api/errors.html"),
                                          ("/songs/gone", "/songs/gone/"), ("/errors", "/errors/"),
                                          ("/guide/error-handling", "/guide/errors")])
def test_error_words_in_a_redirect_target_are_not_an_error_page(cited, final):
    assert redirected(cited, final) == ("redirect", None)


@pytest.mark.parametrize("final", ["/404", "/404.html", "/not-found", "/page-not-found/", "/errors/404.html", "/error/404",
                                   "/error-404", "/404-error", "/error?code=404", "/index.php?error=404&lang=en"])
def test_error_page_targets_are_still_soft404(final):
    assert redirected("/papers/x", final, 302) == ("soft404", "redirect-to-404")


@pytest.mark.parametrize("cited, final", [("/?author=3", "/author/jane-doe/"), ("/reports/2021", "/authority/reports/2021"),
                                          ("/old/authors", "/authors/"), ("/sso-guide", "/docs/ssot/overview")])
def test_words_that_begin_like_login_words_are_not_login_pages(cited, final):
    assert redirected(cited, final) == ("redirect", None)


@pytest.mark.parametrize("final", ["/auth/login?next=/x", "/auth?return=1", "/auth", "/login.php", "/sso/", "/idp/profile/SAML2",
                                   "/account/login", "/wp-login.php?redirect_to=x", "/signin-oidc"])
def test_login_targets_are_still_blocked(final):
    assert redirected("/members/report", final, 302) == ("blocked", "login-redirect")


def test_a_consent_wall_redirect_is_blocked_and_a_consent_form_is_not():
    final = "https://consent.example/v2/collectConsent?sessionId=3_cc-session_ab&lang=de-DE&done=x"
    assert redirected("/news/rivers-rise-123.html", final, 302) == ("blocked", "consent-redirect")
    assert redirected("/study/enrol", "/study/consent-form", 302)[0] == "ok"


@pytest.mark.parametrize("cited, final", [("/news/2019/rivers-rise-in-spring", "/search?q=rivers+rise+in+spring"),
                                          ("/news/2019/rivers-rise", "/?s=rivers-rise"),
                                          ("/shop/blue-runner", "/en/search/?query=blue+runner"),
                                          ("/p/734512", "/search")])
def test_a_deleted_page_sent_to_the_site_search_is_soft404(cited, final):
    assert redirected(cited, final, 302) == ("soft404", "redirect-to-search")


@pytest.mark.parametrize("cited, final", [
    ("/search?q=rivers", "/search/?q=rivers"),                       # a cited search stays a search
    ("/?s=rivers", "/search?q=rivers"),
    ("/maps/abc", "/maps?q=52.1,4.3"),                             # a query that is not a site search
    ("/webmasters/docs/sitemaps", "/search/docs/crawling/sitemaps"),  # a docs tree called "search"
    ("http://other.example/story", "/search?q=story"),            # another site's search: its business
])
def test_search_like_targets_that_are_not_a_lost_page(cited, final):
    assert redirected(cited, final, 302)[1] != "redirect-to-search"


@pytest.mark.parametrize("cited, final", [("/news/2019/05/rivers-rise-in-spring", "/news/"),
                                          ("/shop/shoes/blue-runner-2017", "/shop/shoes/"),
                                          ("/news/2020/05/story", "/news/2020/"), ("/forum/thread/123", "/forum/thread"),
                                          ("/wiki/Some_Page", "/wiki/"), ("/blog/post?id=5", "/blog/")])
def test_a_deep_page_sent_up_its_own_path_is_soft404(cited, final):
    assert redirected(cited, final) == ("soft404", "redirect-to-parent")
    assert redirected(cited, final, 302) == ("soft404", "redirect-to-parent")


@pytest.mark.parametrize("cited, final", [
    ("/docs/guide", "/docs/guide/"), ("/docs/guide/", "/docs/guide"),          # a trailing slash
    ("/docs/guide/index.html", "/docs/guide/"), ("/blog/post/amp/", "/blog/post/"), ("/docs/guide/en", "/docs/guide"),
    ("/article/734512/rivers-rise", "/article/734512"), ("/dp/B07XJ8C8F5/ref=sr_1", "/dp/B07XJ8C8F5"),
    ("/t/topic-slug/12345/67", "/t/topic-slug/12345"),                           # an id whose slug or sub-view was dropped
    ("/news/2019/story", "https://other.example/news/"),                       # another site's section
    ("/news/story", "/news/story-renamed"), ("/news/story", "/archive/news/story"),
])
def test_redirects_that_keep_the_page_are_not_to_a_parent(cited, final):
    assert redirected(cited, final)[1] != "redirect-to-parent"


def test_a_redirect_to_the_home_page_keeps_its_own_name():
    assert redirected("/news/2019/story", "/") == ("soft404", "redirect-to-home")
    assert redirected("/en/news/story", "/en/") == ("soft404", "redirect-to-home")
    assert redirected("/en/home", "/en/") == ("redirect", None)
    assert redirected("/de/index.html", "/de/") == ("redirect", None)


@pytest.mark.parametrize("cited", ["/?utm_source=newsletter&utm_medium=email", "/?fbclid=IwAR0abc", "/?ref=producthunt",
                                   "/?gclid=abc&utm_campaign=x", "/index.html?mc_cid=1&mc_eid=2", "/?igshid=xyz"])
def test_a_home_page_with_only_trackers_is_not_deep(cited):
    assert not classify.is_deep(SITE + cited)
    assert redirected(cited, "/") == ("redirect", None)


@pytest.mark.parametrize("cited", ["/?p=123", "/?page_id=5", "/?utm_source=x&p=123", "/?refresh=1", "/news/?utm_source=x"])
def test_a_home_page_with_a_real_query_is_still_deep(cited):
    assert classify.is_deep(SITE + cited)
    assert redirected(cited, "/") == ("soft404", "redirect-to-home")


def test_a_refresh_header_to_an_error_page_is_soft404():
    def refreshed(value: str) -> tuple[str, str | None]:
        return verdict(page("Example", "<p>Redirecting</p>"), headers={"refresh": value})
    assert refreshed("0; url=/404.html") == ("soft404", "refresh-to-404")
    assert refreshed("0;URL='https://news.example/not-found?from=x'") == ("soft404", "refresh-to-404")
    assert refreshed("0; url=/news/new-story")[0] == "ok"
    assert refreshed("300")[0] == "ok"


# --- domains for sale or parked -------------------------------------------------------------------

FOR_SALE = page("old-news-site.com is for sale | Dan.com", "<h1>old-news-site.com</h1><p>This domain is for sale! Buy now "
                "for $2,499 or make an offer.</p><p>Similar domains: river1.com lake22.com</p>")
PARKED = page("example-rivers.org", "<h1>example-rivers.org</h1><p>This domain may be for sale.</p><h2>Related searches</h2>"
              "<ul><li><a href='/?q=Flood'>Flood Insurance</a></li><li><a href='/?q=Kayak'>Kayak Tours</a></li></ul>")
SEDO = page("example-rivers.org", "<div id='target'></div><script src='https://img.sedoparking.com/js/park.js'></script>")


@pytest.mark.parametrize("text, name", [(FOR_SALE, "domain-for-sale"), (PARKED, "parked-domain"), (SEDO, "parking-service"),
                                        (page("The domain name example.org may be for sale"), "domain-for-sale")])
def test_domains_for_sale_or_parked_are_soft404(text, name):
    assert verdict(text) == ("soft404", name)


@pytest.mark.parametrize("text", [
    page("Rivers for sale: a history of water rights | Example", "<p>Short.</p>"),
    site_page("How to sell a domain | Example Blog", "<h1>Selling domains</h1><p>Put up a page that says "
              "“this domain is for sale” and wait.</p>"),
    site_page("Domain investing | Example Blog", "<h1>Domain investing</h1><p>We used Sedo; this domain is for sale "
              "there too, as our readers know.</p>" + ARTICLE),
    site_page("Our sponsors | Example", "<p>Thanks to <a href='https://bodis.com/'>Bodis</a> for the support.</p>" + ARTICLE),
])
def test_pages_about_selling_or_parking_domains_are_ok(text):
    assert verdict(text)[0] == "ok"


# --- catch-all fingerprints: what a page makes anew for each request -----------------------------

def _generated(seconds: float, clock: str) -> str:
    """A small catch-all page that says how long it took and when (rt_catchall_token.py)."""
    return page("Oups ! | Exemple", "<h2>Oups ! Cette page n'existe plus.</h2>"
                f"<p>Page générée en {seconds:.4f} secondes, {clock}.</p>")


def _with_request_id(request_id: str) -> str:
    return site_page("Hoppla! | Beispiel Zeitung", "<h2>Hoppla! Diese Seite gibt es leider nicht.</h2><p>Vielleicht finden "
                     "Sie das Gesuchte über unsere Suche oder die Startseite.</p>"
                     f"<p><small>Fehler-ID: {request_id} · Anfrage req-{request_id[:8]} um 2026-11-29T23:59:01Z</small></p>")


@pytest.mark.parametrize("first, second", [
    (_generated(0.0123, "12:01:07"), _generated(0.3301, "12:01:09")),
    (_generated(1.5, "23:59:59"), _generated(0.0007, "00:00:00")),
    (_with_request_id("3f2b1c4d-9a7e-4c1b-8d2f-0e6a5b4c3d21"), _with_request_id("a1b2c3d4-e5f6-4789-9abc-def012345678")),
])
def test_catch_all_pages_that_differ_only_in_numbers_are_the_same_page(first, second):
    drop = classify.path_words("https://news.example/actualite/article-123")
    a, b = classify.fingerprint(first, drop), classify.fingerprint(second, ())
    assert classify.same_as_sibling(a, b) and classify.same_as_sibling(b, a)


def test_two_articles_in_one_template_with_different_words_stay_different():
    """Numbers no longer tell pages apart: words still do, even in short articles sharing a heavy template."""
    rivers = site_page("Rivers rise | Example News", "<h1>Rivers rise</h1>" + ARTICLE)
    budget = site_page("Council budget | Example News", "<h1>Council budget</h1>" + "".join(
        f"<p>Paragraph {i}: the council approved the transit budget after a long session, "
        f"with spending number {i * 7} agreed by members in the evening.</p>" for i in range(15)))
    short_a = site_page("Storm warning | Example News", "<h1>Storm warning</h1><p>A storm reaches the coast on Friday, "
                        "forecasters said, with 120 km/h winds.</p>")
    short_b = site_page("Ferry strike | Example News", "<h1>Ferry strike</h1><p>Ferry crews walk out on Monday, the union "
                        "said, for 48 hours.</p>")
    not_found = _with_request_id("3f2b1c4d-9a7e-4c1b-8d2f-0e6a5b4c3d21")
    pages = [classify.fingerprint(text) for text in (rivers, budget, short_a, short_b, not_found)]
    for i, one in enumerate(pages):
        for j, other in enumerate(pages):
            if i != j:
                assert not classify.same_as_sibling(one, other), (i, j, classify.similarity(one, other))


def test_a_catch_all_site_whose_not_found_page_says_how_long_it_took_is_found_out(sim):
    import random
    import time

    from aiohttp import web

    site = sim.site()
    live = site.page("/actualite/crue-de-la-seine", site_page("Crue de la Seine | Exemple", "<h1>Crue de la Seine</h1>"
                                                                + ARTICLE))

    async def not_found(_request):
        text = _generated(random.random(), time.strftime("%H:%M:%S"))
        return web.Response(text=text + f"<!-- {random.random()} -->", content_type="text/html")
    site.default = not_found
    gone = site.url("/actualite/article-123")
    results = {r.url: r for r in check_urls([live, gone], CheckOptions(**FAST))}
    assert (results[gone].verdict, results[gone].signature) == ("soft404", "catch-all"), results[gone].reason
    assert results[live].verdict == "ok", results[live].reason


def test_repeated_lines_that_numbers_told_apart_keep_their_weight():
    """One article at two slugs (its lines differ only in numbers): still the same page, though the cited URL's
    slug words are dropped from it and not from the sibling's copy."""
    article = page("Rivers rise", "<nav>Home News Sport</nav><h1>Rivers rise</h1>" + "".join(
        f"<p>Paragraph {i}: measurements of water levels from forty stations, reading {i * 7}.</p>" for i in range(15)))
    cited = classify.fingerprint(article, classify.path_words("https://news.example/article/734512/rivers-rise"))
    sibling = classify.fingerprint(article, classify.path_words("https://news.example/article/734512/qzkfw-xvbrt"))
    assert classify.same_as_sibling(cited, sibling)
