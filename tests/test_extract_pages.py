"""Full saved pages with realistic chrome: exactly which links are claims.

The fixtures in tests/fixtures/articles/ follow the patterns of real news
and blog sites: header menus, breaking-news bars, share tools, author
boxes, inline newsletter blocks, "read more" lines and related lists inside
the article body, tag lists, comment sections, sidebars, footers.
"""

from __future__ import annotations

from pathlib import Path

from provenance.extract import extract_document
from provenance.ingest import read_document

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "articles"


def extract(name):
    trace = []
    article = extract_document(read_document(FIXTURES / name), trace)
    return article, trace


def links(article):
    return [(c.url, c.anchor) for c in article.claims if c.kind == "link"]


def test_news_page_claims_are_exactly_the_cited_sources():
    article, trace = extract("news_chrome.html")
    assert article.title == "Regulators Probe Chip Export Loophole"
    assert article.published == "2024-03-05"
    assert article.authors == ["Dana Whitfield", "Omar Reyes"]
    assert article.canonical_url == "https://www.dailyledger.example/business/2024/03/05/chip-export-loophole/"
    assert links(article) == [
        ("https://www.commerce.example/news/2024/03/inquiry-announcement", "announced on Tuesday"),
        ("https://www.dailyledger.example/business/2024/02/11/reseller-network/", "February investigation by this newspaper"),
        ("https://www.bis.example/guidance/resellers.pdf", "guidance for resellers"),
        ("https://www.gao.example/products/gao-24-1234", "report from the Government Accountability Office"),
        ("https://www.semiconductors.example/press/2024/statement", "Semiconductor Trade Council"),
        ("https://lopez.senate.example/letters/2024-03-04", "letter to the agency"),
        ("https://www.federalregister.example/documents/2023/10/25/2023-23055/export-controls", "Federal Register notice"),
    ]
    attributions = [(c.source, c.sentence) for c in article.claims if c.kind == "attribution"]
    assert attributions == [
        ("Financial Times", "According to the Financial Times, at least three distributors are under review."),
        ("Reuters", 'A spokesperson for the agency told Reuters that "no company has been accused of wrongdoing."'),
    ]
    sentence = dict((c.anchor, c.sentence) for c in article.claims if c.kind == "link")
    assert sentence["letter to the agency"] == (
        "Sen. Maria Lopez, who chairs the subcommittee, wrote in a letter to the agency that the U.S. government "
        '"cannot allow its rules to be a formality."')
    assert sentence["Federal Register notice"] == (
        "The first rules were published in Oct. 2022 and tightened in Oct. 2023 (see the Federal Register notice).")
    # Chrome inside <article> was seen and rejected by a named rule.
    rejected = {r.url: r.rule for r in trace}
    assert rejected["/newsletters/trade-brief/"] == "chrome:newsletter"
    assert rejected["/business/2024/01/20/chip-smuggling-explainer/"] == "chrome:related"
    assert rejected["/technology/2024/02/15/fab-subsidies/"] == "chrome:related"
    assert rejected["#timeline"] == "fragment"


def test_news_page_chrome_links_are_not_claims():
    article, _ = extract("news_chrome.html")
    cited = {url for url, _a in links(article)}
    for chrome in ("/politics/", "shop.dailyledger.example", "/login", "/subscribe", "storm-update", "twitter.com",
                   "facebook.com", "/authors/", "photos.example", "/tag/", "personal-blog.example", "forum.example",
                   "spam.example", "bank-earnings", "/politics/2024/03/05/budget/", "ads.example", "/privacy/"):
        assert not any(chrome in url for url in cited), chrome


def test_wordpress_blog_with_base_href_code_and_comments():
    article, trace = extract("blog_wordpress.html")
    assert article.title == "What the New Broadband Maps Get Wrong"
    assert article.published == "2023-11-28"
    assert article.authors == ["Jin Park"]
    assert links(article) == [
        ("https://broadbandmap.fcc.example/home", "National Broadband Map"),
        ("https://policyworks.example/research/data/bdc-challenges-2023.csv", "challenge data"),
        ("https://www.fcc.example/BroadbandData/filers", "filing instructions"),
        ("https://www.pewtrusts.example/en/research-and-analysis/articles/2023/05/broadband-mapping",
         "Pew researchers noted in May"),
        ("https://policyworks.example/research/2023/overstated-coverage/", "more than 10% of listed locations"),
        ("https://www.gao.example/products/gao-23-105525", "GAO review"),
        ("https://data.policyworks.example/bdc/2023.zip", "https://data.policyworks.example/bdc/2023.zip"),
    ]
    by_anchor = {c.anchor: c for c in article.claims if c.kind == "link"}
    assert by_anchor["filing instructions"].fragment == "providers"
    assert by_anchor["more than 10% of listed locations"].sentence == (
        "In 41 states, more than 10% of listed locations could not get the advertised speed.")
    assert [c.source for c in article.claims if c.kind == "attribution"] == ["Benton Institute"]
    rules = {r.rule for r in trace}
    assert {"scheme:mailto", "scheme:javascript", "share:twitter", "chrome:related", "chrome:tag:footer"} <= rules


def test_div_soup_page_without_semantic_tags():
    article, trace = extract("magazine_divsoup.html")
    assert article.title == "Inside the Race to Map the Ocean Floor"
    assert article.published == "2022-08-17"
    assert article.authors == ["Priya Natarajan"]
    assert links(article) == [
        ("https://seabed2030.example/progress/2022", "Seabed 2030 project"),
        ("https://www.nature.example/articles/s41586-021-03456-x", "study in Nature"),
        ("https://www.navy.example/press/2021/bathymetry-release.html?ref=rss", "release"),
        ("https://www.isa.example/mining-code/draft-2022.pdf", "draft mining code"),
    ]
    sentences = [c.sentence for c in article.claims if c.kind == "link"]
    assert sentences[1] == ("A 2021 study in Nature estimated that a full survey with ships alone would take 350 "
                            "ship-years; newer uncrewed vessels could cut that sharply, the authors wrote.")
    rules = {r.rule for r in trace}
    # The article region is read off the page's main text (maintext.reduce_page).
    assert "outside-main-text" in rules and "block:read-more" in rules and "chrome:advertising" in rules


def test_share_of_anchors_that_are_claims_is_realistic():
    # Real pages: only 10-20% of anchors are in the article text; our fixtures are built the same way.
    for name in ("news_chrome.html", "blog_wordpress.html", "magazine_divsoup.html", "news_sections.html"):
        html = (FIXTURES / name).read_text()
        anchors = html.count("<a ")
        article, _ = extract(name)
        share = len(links(article)) / anchors
        assert 0.08 < share < 0.35, (name, share)


def test_story_split_into_sections_with_ads_and_long_comments():
    # NYT-style: the body is several sibling columns with ads between them, an author line and a
    # print-edition line at the bottom of <article>, and reader comments with more text than some
    # paragraphs (and a link and an attribution of their own) right after the article.
    article, trace = extract("news_sections.html")
    assert article.title == "City Council Approves Transit Budget After Marathon Session"
    assert article.published == "2025-06-12"
    assert article.authors == ["Luis Ortega"]
    assert article.canonical_url == "https://metroherald.example/2025/06/12/city/transit-budget.html"
    assert links(article) == [
        ("https://council.metro.example/meetings/2025-06-12/minutes.pdf", "official minutes"),
        ("https://transit.metro.example/news/2025/04/fiscal-warning", "the authority’s statement"),
        ("https://www.transitcenter.example/reports/fares-2025", "analysis by TransitCenter"),
        ("https://aspe.hhs.example/topics/poverty-economic-mobility/poverty-guidelines", "federal poverty level"),
        ("https://transit.metro.example/budget/2025/summary.html", "budget summary"),
    ]
    assert [c.source for c in article.claims if c.kind == "attribution"] == ["Mayor Daniel Cho"]
    rejected = {r.url: r.rule for r in trace}
    assert rejected["https://adclick.example/c?x=9"] == "chrome:advertising"
    assert rejected["https://social.example/lortega"] == "chrome:site-chrome"  # div.bottom-of-article
    assert rejected["/reprints"] == "chrome:site-chrome"
    # "Reader Picks": comments lie outside the main text (the heading rule catches them without it).
    assert rejected["https://blog.rider.example/night-bus"] in ("outside-main-text", "chrome-heading")


def test_same_story_without_semantic_article_element():
    # Without <article> the scorer alone cannot tell the comments from the story; the
    # "Reader Picks" heading that opens them can.
    from provenance.ingest import parse_document

    html = (FIXTURES / "news_sections.html").read_text()
    html = html.replace('<article id="story">', '<div id="story">').replace("</article>", "</div>")
    html = html.replace(' itemprop="articleBody"', "")
    trace = []
    article = extract_document(parse_document("nosem.html", html.encode()), trace)
    assert [url for url, _a in links(article)] == [
        "https://council.metro.example/meetings/2025-06-12/minutes.pdf",
        "https://transit.metro.example/news/2025/04/fiscal-warning",
        "https://www.transitcenter.example/reports/fares-2025",
        "https://aspe.hhs.example/topics/poverty-economic-mobility/poverty-guidelines",
        "https://transit.metro.example/budget/2025/summary.html",
    ]
    assert "Daily Transit Wire" not in [c.source for c in article.claims]
