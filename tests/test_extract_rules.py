"""Each "not a claim" rule on a small fixture, and URL handling of claims."""

from __future__ import annotations

from provenance.extract import extract_document
from provenance.ingest import parse_document

PAGE = """<!doctype html><html><head><link rel="canonical" href="https://site.example/news/story"></head><body>
<header><a href="/">Home</a> <a href="https://site.example/world">World</a></header>
<nav><a href="https://site.example/politics">Politics</a></nav>
<main><article>
<p>The ministry published the <a href="https://gov.example/report?utm_source=x&amp;utm_medium=y&amp;page=2#p5">full report</a>
on Monday, and the figures were checked by the <a href="https://stats.example/">statistics office</a>, which
found no errors at all in the release.</p>
{body}
</article></main>
<aside><a href="https://site.example/related">Related story</a></aside>
<footer><a href="https://site.example/about">About</a></footer>
</body></html>"""


def run(body: str = "", page: str = PAGE):
    trace = []
    article = extract_document(parse_document("p.html", page.replace("{body}", body).encode()), trace)
    return article, trace


def urls(article):
    return [c.url for c in article.claims if c.kind == "link"]


def rules(trace):
    return {(r.rule, r.url) for r in trace}


BASE_URLS = ["https://gov.example/report?page=2", "https://stats.example/"]


def test_chrome_landmarks_are_not_claims():
    article, _ = run()
    assert urls(article) == BASE_URLS


def test_tracking_parameters_dropped_and_fragment_kept_apart():
    article, _ = run()
    first = article.claims[0]
    assert (first.url, first.fragment, first.anchor) == ("https://gov.example/report?page=2", "p5", "full report")
    assert first.sentence.startswith("The ministry published the full report on Monday")


def test_share_buttons_are_not_claims_even_inside_the_article():
    body = """<p>Tell your friends and family about this story on every network you use:
<a href="https://twitter.com/intent/tweet?url=x">Tweet about it now</a> or
<a href="https://www.facebook.com/sharer/sharer.php?u=x">post it to Facebook</a>, please do.</p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"share:twitter", "share:facebook"} <= {r.rule for r in trace}


def test_in_page_fragments_and_self_links_are_not_claims():
    body = """<p>Jump to the <a href="#methods">methods</a>, or reload <a href="https://site.example/news/story">this
story</a>, or read its <a href="https://site.example/news/story#comments">comments</a> below this long paragraph.</p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"fragment", "self"} <= {r.rule for r in trace}


def test_non_web_schemes_are_not_claims():
    body = """<p>Write to <a href="mailto:desk@site.example">the desk</a>, call <a href="tel:+15550100">the line</a>,
or <a href="javascript:openChat()">chat</a>, or see <a href="data:text/plain,hi">data</a> in this paragraph.</p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"scheme:mailto", "scheme:tel", "scheme:javascript", "scheme:data"} <= {r.rule for r in trace}


def test_code_blocks_and_inline_code_are_not_claims():
    body = """<pre><code>curl https://api.example/v1/items</code></pre>
<p>Call <code>get("https://api.example/v2")</code> or <code><a href="https://docs.example/api">the docs</a></code>
for the reference, as the maintainers suggest.</p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert ("in-code", "https://docs.example/api") in rules(trace)


def test_images_and_image_only_links_are_not_claims():
    body = """<p><img src="https://cdn.example/photo.jpg" alt="A photo"> A caption-like paragraph that is long enough.</p>
<p><a href="https://cdn.example/big.jpg">Enlarge this image</a> and <a href="https://else.example/"><img src="x.png"></a>
appear inside a paragraph of the article body.</p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"image", "no-anchor-text"} <= {r.rule for r in trace}


def test_linkpost_url_becomes_canonical_not_a_claim():
    page = """<div>This is a linkpost for <a href="https://orig.example/post/1">https://orig.example/post/1</a></div>
<p>Body text citing <a href="https://cited.example/a">a source</a> for the claim.</p><p>More</p>"""
    article = extract_document(parse_document("l.html", page.encode()))
    assert article.canonical_url == "https://orig.example/post/1"
    assert urls(article) == ["https://cited.example/a"]


def test_originally_published_at_is_a_self_reference():
    text = "# T\n\n*Originally published at [Example Blog](https://blog.example/p/1).*\n\nSee [data](https://d.example/).\n"
    article = extract_document(parse_document("x.md", text.encode()))
    assert article.canonical_url == "https://blog.example/p/1"
    assert urls(article) == ["https://d.example/"]


def test_relative_links_resolve_against_base_then_canonical():
    page = PAGE.replace("<head>", '<head><base href="https://cdn.site.example/archive/">')
    article, _ = run('<p>See <a href="docs/a.html">the archived document</a> for the full text of the ruling.</p>', page)
    assert "https://cdn.site.example/archive/docs/a.html" in urls(article)
    article, _ = run('<p>See <a href="../docs/b.html">the document</a> for the full text of the ruling.</p>')
    assert "https://site.example/docs/b.html" in urls(article)


def test_relative_link_without_any_base_is_dropped_not_crashed():
    article = extract_document(parse_document("r.md", b"# T\n\nSee [the doc](/docs/a) and [abs](https://x.example/).\n"))
    assert urls(article) == ["https://x.example/"]


def test_same_url_cited_twice_is_two_claims_one_url():
    body = """<p>First, <a href="https://src.example/a">the study</a> found a rise in prices.</p>
<p>Later, <a href="https://src.example/a?utm_campaign=z">the same study</a> found a fall in wages.</p>"""
    article, _ = run(body)
    cited = [c for c in article.claims if c.url == "https://src.example/a"]
    assert [c.anchor for c in cited] == ["the study", "the same study"]
    assert len({c.sentence for c in cited}) == 2
    assert len(set(urls(article))) == len(BASE_URLS) + 1


def test_block_level_chrome_inside_article_body():
    body = """<p>Read more: <a href="https://site.example/other">Another story on this topic</a></p>
<p><strong>Related:</strong> <a href="https://site.example/other2">Yet another story</a></p>
<div class="newsletter-signup"><p>Get our newsletter. <a href="https://site.example/nl">Sign up</a></p></div>
<div class="author-bio"><p>Jo Writer covers courts. <a href="https://social.example/jo">Follow Jo</a></p></div>
<ul class="related-links"><li><a href="https://site.example/r1">R1</a></li></ul>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"block:read-more", "chrome:newsletter", "chrome:author-box", "chrome:related"} <= {r.rule for r in trace}


def test_sentences_do_not_cross_blocks():
    body = "<h2>Why it matters <a href='https://h.example/'>now</a></h2><p>Because costs rose. A second sentence.</p>"
    article, _ = run(body)
    heading = [c for c in article.claims if c.url == "https://h.example/"][0]
    assert heading.sentence == "Why it matters now"


def test_author_bio_and_print_edition_lines_without_class_hints():
    body = """<p>Jo Writer is a senior reporter covering courts. <a href="https://social.example/jo">@jo</a></p>
<p>A version of this article appears in print on May 2, Section A. <a href="/reprints">Order Reprints</a></p>"""
    article, trace = run(body)
    assert urls(article) == BASE_URLS
    assert {"block:author-bio", "block:print-edition"} <= {r.rule for r in trace}


def test_section_opened_by_a_chrome_heading_is_dropped_but_not_the_article():
    page = """<html><body><div class="x1"><h1>Story</h1>
<p>The study, published on Monday by the institute, is <a href="https://study.example/">available online</a> now.</p>
<h3>Related reading</h3><p>More context from <a href="https://context.example/">an earlier report</a> in the archive.</p></div>
<div class="x2"><h2>More in Science</h2><p>Another long teaser paragraph about something else entirely, with
<a href="https://site.example/other">a link</a> to the other story on this site.</p></div></body></html>"""
    trace = []
    article = extract_document(parse_document("h.html", page.encode()), trace)
    assert urls(article) == ["https://study.example/", "https://context.example/"]
    assert ("chrome-heading", "https://site.example/other") in rules(trace)
