"""support.py: main text, claim support scores, drift, Robust Links and suggested fixes.

The pages are realistic (navigation, footers, cookie banners, scripts, a
Wayback toolbar), and the drift tests take the live page from the loopback
simulator and the snapshot from the fake Wayback, the way the audit does.
"""

from __future__ import annotations

import httpx
import pytest

from provenance import passage, support, wayback
from provenance.models import Claim, Snapshot

NAV = ('<nav><ul><li><a href="/">Home</a></li><li><a href="/news">Newsroom</a></li><li>About Commerce</li>'
       '<li>Trade</li><li>Export controls</li></ul></nav>')
FOOT = ('<footer><p>U.S. Department of Commerce, 1401 Constitution Ave NW, Washington DC. Privacy policy. '
        'Accessibility. FOIA. Subscribe to our newsletter.</p></footer>')
COOKIE = '<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>'

RELEASE = """<h1>U.S. Secretary of Commerce Raimondo Launches International Network of AI Safety Institutes</h1>
<p>May 21, 2024. Today, U.S. Secretary of Commerce Gina Raimondo announced the launch of the International Network
of AI Safety Institutes, bringing together government-backed AI safety institutes from around the world. The network
will advance the science of AI safety and enable collaboration on testing, guidance and evaluations of advanced
artificial intelligence models.</p>
<p>Secretary Raimondo said the network's first convening will take place in San Francisco later this year, where
members will agree on priority areas of work. The U.S. AI Safety Institute, housed at the National Institute of
Standards and Technology (NIST), was created under President Biden's Executive Order on the safe, secure and
trustworthy development of AI.</p>
<p>Founding members include Australia, Canada, the European Union, France, Japan, Kenya, the Republic of Korea,
Singapore, the United Kingdom and the United States. "AI safety is a global challenge that requires a global
response," Raimondo said.</p>"""

EXPORTS = """<h1>Commerce Announces New Export Controls on Advanced Semiconductors</h1>
<p>The Bureau of Industry and Security today issued rules restricting exports of advanced computing chips and
semiconductor manufacturing equipment to countries of concern. The rules update licensing requirements for
high-bandwidth memory and lithography tools, and add 140 entities to the Entity List.</p>
<p>The Under Secretary for Industry and Security said the controls protect national security while allowing allies
to coordinate. Companies must comply with the new license requirements within 30 days. Public comments on the
interim final rule are due in January.</p>
<p>The Department will hold briefings for industry on the technical parameters, including total processing
performance thresholds and performance density, and on exceptions for low-risk destinations.</p>"""


def page(main: str, title: str = "Commerce Secretary launches network of AI Safety Institutes",
         nav: str = NAV, foot: str = FOOT, extra: str = "") -> str:
    return (f"<html><head><title>{title}</title><script>var analytics = {{tracking: 'raimondo institutes'}};"
            f"</script><style>.x{{color:red}}</style></head><body>{nav}{extra}<main>{main}</main>{foot}</body></html>")


SNAPSHOT = page(RELEASE)
#: The same release a year on: redesigned chrome, cookie banner, an edited date and an update note.
LIVE_EDITED = page(RELEASE.replace("later this year", "in November 2024").replace("May 21, 2024.", "Updated May 22, 2024.")
                   + "<p>Update: the convening was held in San Francisco on November 20-21.</p>",
                   nav='<header class="site-header"><a href="/">Commerce.gov</a> Menu Search</header>',
                   foot="<footer>Commerce.gov | Contact | Sitemap | Budget &amp; Performance</footer>", extra=COOKIE)
#: The cited URL now serves another topic on the same site (same chrome).
LIVE_OTHER_TOPIC = page(EXPORTS, title="Commerce Strengthens Export Controls on Semiconductors")

SENTENCE = ("Just two weeks after Donald Trump was elected to return to the White House, the network – founded "
            "earlier this year by US Commerce Secretary Gina Raimondo – grapples with questions about its direction "
            "and sustainability under a leader who promised to revoke the Biden AI Executive Order that created "
            "the US AI Safety Institute.")
SOURCE_URL = "https://www.commerce.gov/news/press-releases/2024/05/network-ai-safety-institutes"


def claim(anchor: str = "founded", sentence: str = SENTENCE, url: str = SOURCE_URL) -> Claim:
    return Claim(kind="link", sentence=sentence, position=1, url=url, anchor=anchor)


# --------------------------------------------------------------------------- main text and scores


def test_main_text_drops_chrome_scripts_and_the_wayback_toolbar():
    html = page(RELEASE, extra=COOKIE).replace(
        "<body>", '<body><div id="wm-ipp-base"><div id="wm-ipp">Wayback Machine captures calendar</div></div>')
    text = support.main_text(html)
    assert "International Network of AI Safety Institutes" in text
    for chrome in ("Newsroom", "Constitution Ave", "cookies", "analytics", "color:red", "captures calendar"):
        assert chrome not in text, chrome


def test_main_text_keeps_content_wrapped_in_a_chromey_class():
    html = f'<html><body><div class="page-wrapper share-enabled"><article>{RELEASE}</article></div></body></html>'
    assert "Founding members include Australia" in support.main_text(html)


def test_claim_window_keeps_the_clause_the_link_vouches_for():
    assert "Raimondo" in support.claim_text(SENTENCE, "founded")
    assert "Executive Order" not in support.claim_text(SENTENCE, "founded")
    assert support.claim_text("Short sentence with a link.", "link") == "Short sentence with a link."


@pytest.mark.parametrize("anchor", ["founded", "AI Executive Order", "US AI Safety Institute"])
def test_source_scores_high_other_topic_scores_low(anchor):
    c = claim(anchor)
    source = support.support_score(c, SNAPSHOT)
    other = support.support_score(c, LIVE_OTHER_TOPIC)
    assert source >= support.SUPPORT_THRESHOLD
    assert other < support.SUPPORT_THRESHOLD
    assert source - other >= support.MIN_DROP


def test_small_edits_and_new_chrome_keep_the_score():
    c = claim("founded")
    assert abs(support.support_score(c, LIVE_EDITED) - support.support_score(c, SNAPSHOT)) < 0.1
    assert support.page_similarity(support.main_text(LIVE_EDITED), support.main_text(SNAPSHOT)) \
        >= support.SAME_PAGE_SIMILARITY
    assert support.page_similarity(support.main_text(LIVE_OTHER_TOPIC), support.main_text(SNAPSHOT)) < 0.3


def test_terms_are_stemmed_and_stopworded():
    assert support.terms("The Institutes were founded; founding institute's") == ["institute", "found", "found",
                                                                                  "institute"]


# --------------------------------------------------------------------------- drift, judged directly


def test_drift_true_when_live_page_changed_topic():
    d = support.judge_drift(claim(), LIVE_OTHER_TOPIC, SNAPSHOT)
    assert d.drift is True and "gone" in d.reason
    assert d.snapshot_score > d.live_score == 0.0
    assert d.page_similarity is not None and d.page_similarity < 0.3
    assert d.then and "Gina Raimondo announced the launch" in d.then and d.now is None


def test_drift_false_when_unchanged_or_lightly_edited():
    assert support.judge_drift(claim(), SNAPSHOT, SNAPSHOT).drift is False
    d = support.judge_drift(claim(), LIVE_EDITED, SNAPSHOT)
    assert d.drift is False and "unchanged" in d.reason, d.reason
    assert d.then == d.now and "Gina Raimondo" in d.then


def test_drift_false_when_live_page_rewritten_but_still_carries_the_claim():
    rewritten = page("<h1>About the International Network of AI Safety Institutes</h1><p>Commerce Secretary Gina "
                     "Raimondo founded the network in 2024. Members meet regularly; the first meeting was held in "
                     "San Francisco. The network's work plan covers testing, risk assessment and synthetic content. "
                     "Members share research and coordinate evaluations of frontier models across ten countries.</p>")
    d = support.judge_drift(claim(), rewritten, SNAPSHOT)
    assert d.drift is False and d.live_score >= support.SUPPORT_THRESHOLD


@pytest.mark.parametrize("live, snap, why", [
    (None, SNAPSHOT, "no live page"),
    (LIVE_OTHER_TOPIC, None, "no snapshot"),
    ("<html><body><div id='root'></div><script>render()</script></body></html>", SNAPSHOT, "too little text"),
])
def test_drift_null_when_it_cannot_be_judged(live, snap, why):
    d = support.judge_drift(claim(), live, snap)
    assert d.drift is None and why in d.reason


RIVER = """<h1>Thames flood barrier closes for record number of tides</h1>
<p>The Environment Agency closed the Thames Barrier 22 times during the winter, the most closures in a single season
since the barrier opened in 1982. Engineers said high river flows after weeks of heavy rain combined with spring tides
to push water levels in the estuary close to the limits the barrier was designed for.</p>
<p>The agency warned that rising sea levels will require the barrier to close more often in coming decades, and that a
decision on its replacement must be taken by 2050. Residents of riverside towns in Essex and Kent were told to sign up
for flood warnings as the agency reviewed its defences along the tidal river.</p>"""
RIVER_SENTENCE = ("The Thames Barrier was closed 22 times last winter, a record for a single season, the Environment "
                  "Agency said.")
#: About thirty words: a short page that replaced the article at the cited URL.
PASTA = page("<p>Cook the pasta in a big pot of salted water. Warm some oil with a clove of garlic, then add a tin "
             "of tomatoes and let it bubble for ten minutes. Mix it all in and eat.</p>",
             title="Pasta")


def test_drift_true_when_a_short_unrelated_page_replaced_the_article():
    """A ~30-word page is short, but plainly not the claim: that is drift, not 'too little text'."""
    river = claim("closed 22 times", sentence=RIVER_SENTENCE, url="https://example.org/news/thames-barrier")
    snapshot = page(RIVER, title="Thames Barrier closes a record 22 times")
    text = support.main_text(PASTA)
    assert 25 <= len(text.split()) <= 40
    assert support.MIN_LIVE_WORDS <= len(support.terms(text)) < support.MIN_PAGE_WORDS  # short, but readable
    d = support.judge_drift(river, PASTA, snapshot)
    assert d.drift is True, d.reason
    assert d.snapshot_score >= passage.PASSAGE_MIN_SCORE > d.live_score
    # the same short page is still fine when the claim's page never changed
    assert support.judge_drift(river, snapshot, snapshot).drift is False


@pytest.mark.parametrize("live", [
    "<html><body><div id='root'></div><script>render()</script></body></html>",
    "<html><head><title>Loading</title></head><body><p>Please enable JavaScript.</p></body></html>",
    "",
])
def test_drift_null_for_an_empty_or_script_rendered_live_page(live):
    d = support.judge_drift(claim(), live, SNAPSHOT)
    assert d.drift is None and "too little text" in d.reason


def test_a_page_that_never_carried_the_claim_is_not_judged_even_when_unchanged():
    d = support.judge_drift(claim(), LIVE_OTHER_TOPIC, page(EXPORTS))
    assert d.drift is None and "no passage" in d.reason
    assert d.page_similarity is not None and d.page_similarity >= support.SAME_PAGE_SIMILARITY


def test_drift_true_when_live_page_became_a_same_topic_hub():
    """The hard case: same site, same vocabulary (AI, Commerce, NIST), but the claim is gone."""
    hub = page("<h1>Artificial intelligence at Commerce</h1>" + "".join(f"<p>{t}</p>" for t in [
        "Commerce works on AI policy across the Department, including NIST, NTIA, BIS and the Patent Office.",
        "NIST develops standards and guidance for trustworthy AI, including the AI Risk Management Framework.",
        "NTIA studies open model weights and AI accountability policy, and publishes reports for Congress.",
        "BIS administers export controls on advanced chips used to train AI models.",
        "Read the latest news, speeches and press releases from the Secretary on emerging technology.",
    ] * 3), title="AI at Commerce")
    for anchor in ("founded", "AI Executive Order", "US AI Safety Institute"):
        assert support.judge_drift(claim(anchor), hub, SNAPSHOT).drift is True, anchor


def test_drift_null_when_neither_page_carries_the_claim():
    unrelated = page("<h1>Weather</h1><p>" + "Rain and wind across the coast tonight, clearing by morning. " * 6 + "</p>")
    d = support.judge_drift(claim(), LIVE_OTHER_TOPIC, unrelated)
    assert d.drift is None and "no passage in the snapshot" in d.reason


# --------------------------------------------------------------------------- drift end to end over HTTP


def live_body(url: str) -> str | None:
    """What the checker keeps for a page that answered (None for a dead one)."""
    response = httpx.get(url, trust_env=False, timeout=5)
    return response.text if response.status_code == 200 else None


def test_drift_over_http_changed_unchanged_dead(sim, fake):
    site = sim.site()
    changed = site.page("/news/changed", LIVE_OTHER_TOPIC)
    unchanged = site.page("/news/unchanged", LIVE_EDITED)
    dead = site.page("/news/dead", "<html><title>404 Not Found</title></html>", status=404)
    for url in (changed, unchanged, dead):
        fake.add(url, "20240601000000", body=SNAPSHOT)
        fake.add(url, "20250101000000", body=LIVE_OTHER_TOPIC)    # after the date: must not be the one compared
    options = wayback.WaybackOptions(base_url=fake.base_url, timeout=5, retries=0)
    snaps = wayback.find_snapshots([(u, "2024-11-20") for u in (changed, unchanged, dead)], options)
    assert {s.timestamp for s in snaps.values()} == {"20240601000000"}
    htmls = wayback.fetch_snapshot_htmls(list(snaps.values()), options)
    results = {}
    for url in (changed, unchanged, dead):
        snap = snaps[(url, "2024-11-20")]
        results[url] = support.judge_drift(claim(url=url), live_body(url), htmls[wayback.snapshot_key(snap)])
    assert results[changed].drift is True
    assert results[unchanged].drift is False
    assert results[dead].drift is None


# --------------------------------------------------------------------------- Robust Links and fixes


def test_robust_link_markup():
    markup = support.robust_link("https://example.org/a?x=1&y=2", "the <report>",
                                 "https://web.archive.org/web/20241115083000/https://example.org/a?x=1&y=2",
                                 "20241115083000")
    assert markup == ('<a href="https://example.org/a?x=1&amp;y=2" '
                      'data-versionurl="https://web.archive.org/web/20241115083000/https://example.org/a?x=1&amp;y=2" '
                      'data-versiondate="2024-11-15">the &lt;report&gt;</a>')
    assert 'data-versiondate="2024-11-15"' in support.robust_link("u", "a", "s", "2024-11-15")
    assert support.robust_link("https://e.org/", "", None, None) == '<a href="https://e.org/">https://e.org/</a>'


@pytest.mark.parametrize("linked_on, expected", [
    ("2024-11-20", "2024-11-20"),                # the article's date: the date of linking
    ("2024-11-20T09:30:00+01:00", "2024-11-20"),  # an ISO datetime from <meta>
    ("20241120", "2024-11-20"),
    (None, "2024-11-15"),                        # an undated article: the snapshot's date stands in
    ("", "2024-11-15"),
    ("November 2024", "2024-11-15"),             # no day to write: the snapshot's date
    ("2024-13-45", "2024-11-15"),
])
def test_robust_link_version_date_is_the_date_of_linking(linked_on, expected):
    markup = support.robust_link("https://example.org/a", "the report",
                                 "https://web.archive.org/web/20241115083000/https://example.org/a", "20241115083000",
                                 linked_on)
    assert f'data-versiondate="{expected}"' in markup
    assert markup.count("data-versiondate") == 1


def test_suggested_fix():
    snap = Snapshot(url=SOURCE_URL, timestamp="20240601000000",
                    snapshot_url=f"https://web.archive.org/web/20240601000000/{SOURCE_URL}", status=200)
    fix = support.suggested_fix(SOURCE_URL, "founded", "dead", None, snap)
    assert fix is not None and fix.problem == "dead" and fix.snapshot_url == snap.snapshot_url
    assert 'data-versiondate="2024-06-01"' in fix.markup and ">founded</a>" in fix.markup
    dated = support.suggested_fix(SOURCE_URL, "founded", "dead", None, snap, linked_on="2024-11-20")
    assert dated is not None and 'data-versiondate="2024-11-20"' in dated.markup
    assert "2024-06-01" in dated.advice  # the advice names the copy's own date
    drift_fix = support.suggested_fix(SOURCE_URL, "founded", "ok", True, snap)
    assert drift_fix is not None and drift_fix.problem == "drift"
    assert support.suggested_fix(SOURCE_URL, "founded", "ok", False, snap) is None
    assert support.suggested_fix(SOURCE_URL, "founded", "redirect", None, snap) is None
    none = support.suggested_fix(SOURCE_URL, "founded", "soft404", None, Snapshot(url=SOURCE_URL))
    assert none is not None and none.markup is None and "replacement" in none.advice
