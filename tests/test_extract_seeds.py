"""The five seed articles: hand-checked expectations for claims and metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.extract import extract_file

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED0 = next(SEEDS.glob("000_*.txt"))


def seed(n: int) -> Path:
    return next(SEEDS.glob(f"{n:03d}_*.txt"))


@pytest.fixture(scope="module")
def seed0():
    return extract_file(SEED0)


def links(article):
    return [c for c in article.claims if c.kind == "link"]


def by_anchor(article, anchor):
    found = [c for c in links(article) if c.anchor == anchor]
    assert found, f"no claim with anchor {anchor!r}"
    return found[0]


def test_seed0_cli_json_gives_exactly_50_link_claims():
    proc = subprocess.run([sys.executable, "-m", "provenance", "extract", str(SEED0), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [article] = json.loads(proc.stdout)
    claims = [c for c in article["claims"] if c["kind"] == "link"]
    assert len(claims) == 50
    for claim in claims:
        assert claim["anchor"].strip(), claim
        assert claim["anchor"] in claim["sentence"], claim
        assert claim["url"].startswith("https://")
    # The 51st anchor is the linkpost: it is the canonical URL, not a claim.
    canonical = "https://www.techpolicy.press/navigating-trumps-ai-strategy-a-roadmap-for-international-ai-safety-institutes/"
    assert article["canonical_url"] == canonical
    assert canonical not in [c["url"] for c in claims]
    assert [c["position"] for c in article["claims"]] == list(range(1, len(article["claims"]) + 1))


def test_seed0_metadata_from_front_matter(seed0):
    assert seed0.title == "Navigating Trump's AI Strategy: A Roadmap for International AI Safety Institutes"
    assert seed0.published == "2024-11-20"
    assert seed0.authors == ["stephaniehaven"]
    assert seed0.format == "markdown"


def test_seed0_sentence_with_four_links(seed0):
    sentence = ("Just two weeks after Donald Trump was elected to return to the White House, the network – founded "
                "earlier this year by US Commerce Secretary Gina Raimondo – grapples with questions about its direction "
                "and sustainability under a leader who promised to revoke the Biden AI Executive Order that created the "
                "US AI Safety Institute.")
    sharing = [c for c in links(seed0) if c.sentence == sentence]
    assert [c.anchor for c in sharing] == ["founded", "promised", "AI Executive Order", "US AI Safety Institute"]
    assert sharing[3].url == "https://www.nist.gov/aisi"


def test_seed0_feb_2019_and_dec_2020_do_not_split_the_sentence(seed0):
    sentence = ("From President-elect Trump’s campaign statements and the Feb. 2019 and Dec. 2020 AI Executive Orders he "
                "issued in his first term to Musk’s public commentary about AI, a few principles emerge about the new "
                "administration’s likely AI strategy.")
    feb = by_anchor(seed0, "Feb. 2019")
    dec = by_anchor(seed0, "Dec. 2020")
    assert feb.sentence == sentence and dec.sentence == sentence
    assert feb.url == "https://trumpwhitehouse.archives.gov/ai/executive-order-ai/"
    assert [c.anchor for c in links(seed0) if c.sentence == sentence] == [
        "campaign statements", "Feb. 2019", "Dec. 2020", "public commentary"]


def test_seed0_list_items_are_their_own_sentences(seed0):
    expected = {
        "Supporting": "Supporting California's bill to safeguard against catastrophic AI risk",
        "open letter": "Signing an open letter calling for a pause in AI development",
        "competitor": "Co-founding OpenAI as a safety-focused competitor to Google DeepMind",
        '"civilization destruction"': 'Warning that AI could result in "civilization destruction"',
        "Advocating": "Advocating for a government-run AI safety agency",
    }
    for anchor, sentence in expected.items():
        assert by_anchor(seed0, anchor).sentence == sentence


def test_seed0_more_hand_checked_sentences(seed0):
    assert by_anchor(seed0, "host").sentence == (
        "As the Biden administration prepares to host the International Network of AI Safety Institutes (IN AISI) for its "
        "first meeting this week in San Francisco, uncertainty looms over the gathering.")
    assert by_anchor(seed0, "“primary threat”").sentence == (
        "Membership: President-elect Trump views China as the “primary threat” to US AI dominance.")
    # A sentence without a final period, at the end of its paragraph.
    assert by_anchor(seed0, "focus").sentence.endswith("which will focus on open-source models")
    # Quoted anchor with a comma inside the quotation.
    assert by_anchor(seed0, "“censorship,”").sentence.startswith("This cabinet appointment, Trump’s rhetoric")
    assert by_anchor(seed0, "Chemical, Biological, Radiological, and Nuclear (CBRN)").sentence.endswith("(CBRN) risks.")
    assert by_anchor(seed0, "mandate").url.startswith("https://www.gov.uk/government/publications/seoul-ministerial")
    assert by_anchor(seed0, "focus").url == "https://carnegieendowment.org/posts/2024/07/france-ai-summit-reshape-global-narrative?lang=en"


def test_plain_text_seeds_have_attributions_and_no_links():
    expected = {
        1: {"David Sacks", "Washington Post", "Politico"},
        2: {"Public reports"},
        3: {"people familiar with the matter", "unnamed reports"},
        4: {"NOTUS", "multiple outlets", "Trump’s order"},
    }
    for n, sources in expected.items():
        article = extract_file(seed(n))
        assert article.format == "text"
        assert not links(article), n
        found = {c.source for c in article.claims}
        assert sources <= found, (n, found)


def test_seed1_washington_post_and_politico_are_separate_sources_of_one_sentence():
    article = extract_file(seed(1))
    post = [c for c in article.claims if c.source == "Washington Post"][0]
    politico = [c for c in article.claims if c.source == "Politico"][0]
    assert post.sentence == politico.sentence
    assert post.sentence.startswith("According to reports from the Washington Post and Politico, leaders including")
    assert post.sentence.endswith("to oppose the order.")


def test_seed_attribution_sources_are_names_or_anonymous_labels():
    """Never a word like "reportedly": a named source, or a label the report flags as anonymous."""
    from provenance.report import is_anonymous

    for n in range(5):
        for c in extract_file(seed(n)).claims:
            if c.kind != "attribution":
                continue
            assert c.source and c.source.lower() not in ("reportedly", "allegedly"), (n, c.sentence)
            assert is_anonymous(c.source) or c.source[0].isupper(), (n, c.source)
    sacks = [c for c in extract_file(seed(1)).claims if c.source == "David Sacks"][0]
    assert sacks.sentence.startswith("Billionaire investor David Sacks, who recently served")
    unnamed = [c for c in extract_file(seed(3)).claims if c.source == "unnamed reports"]
    assert unnamed[0].sentence.startswith("The Trump administration is reportedly preparing")
    assert all(is_anonymous(c.source) for c in unnamed)


def test_seed4_quote_sentence_ends_at_the_attribution():
    article = extract_file(seed(4))
    notus = [c for c in article.claims if c.source == "NOTUS"][0]
    assert notus.sentence.startswith("“This is an immense shift")
    assert notus.sentence.endswith("an AI safety advocacy group, told NOTUS.")
    order = [c for c in article.claims if c.source == "Trump’s order"][0]
    assert order.sentence.endswith("overly burdensome regulation,” Trump’s order states.")


def test_plain_text_titles_are_headlines_not_site_chrome():
    assert extract_file(seed(1)).title == "Trump Abandons AI Safety Order to Prioritize Tech Race Over Regulation"
    assert extract_file(seed(2)).title == "Repealing the AI Diffusion Rule: Strategic Choices Ahead"
    assert extract_file(seed(3)).title == "Trump AI Safety Order Skips Mandatory Model Reviews"
    assert extract_file(seed(4)).title is None  # it opens with the lede; there is no headline line


def test_trailing_site_chrome_is_not_article_text():
    chrome = ("Explore more", "More Insights", "Sign in", "Log into your free account", "one-time code",
              "What concepts underpin", "Harnessing the Power of Responsible AI")
    for n in (1, 2, 4):
        for claim in extract_file(seed(n)).claims:
            assert not any(word in claim.sentence for word in chrome), (n, claim.sentence)


def test_trailing_chrome_is_cut_at_the_named_marker():
    from provenance.extract import extract_document
    from provenance.ingest import read_document

    for n, rule in ((1, "text-end:explore-more"), (2, "text-end:more-insights"), (4, "text-end:sign-in")):
        trace = []
        extract_document(read_document(seed(n)), trace)
        assert rule in [r.rule for r in trace], (n, [r.rule for r in trace])
