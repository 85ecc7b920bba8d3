"""Find the article's main text in a saved web page, and tell chrome from content.

On typical news and blog pages only 10-20% of anchors sit in the article
text; the rest are menus, related stories, tag clouds, comment widgets,
share bars and footers, some of them inside ``<article>``. Two layers:

1. :func:`main_content` picks the region with a readability-style score
   (paragraph text and commas, class/id hints, minus link density) on the
   selectolax tree. ``docs/extraction.md`` says why this and not trafilatura.
2. :func:`is_chrome` rejects chrome *inside* that region by tag, ARIA role
   and class/id tokens, each rule a named row of :data:`CHROME_TOKENS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

#: Tags whose whole subtree is never article text.
CHROME_TAGS: frozenset[str] = frozenset({"nav", "header", "footer", "aside", "form", "dialog", "menu", "button", "select",
                                         "label", "input", "textarea", "fieldset"})
#: ARIA landmark roles of page chrome.
CHROME_ROLES: frozenset[str] = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog",
                                          "menu", "menubar", "toolbar", "alert", "alertdialog", "tablist", "tooltip"})

#: (name, class/id tokens): a node whose class or id contains one of these
#: tokens (split on non-alphanumerics, so "c-related-links" has "related") is chrome.
CHROME_TOKENS: tuple[tuple[str, frozenset[str]], ...] = (
    ("navigation", frozenset({"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "masthead", "topbar",
                              "skiplink", "skip", "pagination", "pager", "toc"})),
    ("related", frozenset({"related", "recirc", "recirculation", "recommended", "recommendations", "morestories",
                           "more", "readmore", "readnext", "trending", "popular", "mostread", "outbrain", "taboola",
                           "teaser", "teasers", "upnext", "mostpopular", "links"})),
    ("share", frozenset({"share", "sharing", "sharebar", "social", "socials", "sharethis", "addthis", "addtoany", "follow"})),
    ("comments", frozenset({"comment", "comments", "disqus", "discussion", "replies", "respond", "reply", "commentlist"})),
    ("newsletter", frozenset({"newsletter", "subscribe", "subscription", "signup", "optin", "paywall", "regwall",
                              "membership", "donate", "cta", "promo", "promotion"})),
    ("author-box", frozenset({"author", "authors", "byline", "bio", "contributor", "profile", "avatar", "about"})),
    ("tags", frozenset({"tags", "tag", "tagcloud", "categories", "category", "topics", "keywords", "taxonomy"})),
    ("advertising", frozenset({"ad", "ads", "advert", "advertisement", "sponsor", "sponsored", "banner", "dfp", "gpt",
                               "adslot", "advertising", "commercial", "partner"})),
    ("site-chrome", frozenset({"footer", "header", "sidebar", "widget", "widgets", "rail", "modal", "popup", "cookie",
                               "consent", "gdpr", "overlay", "toolbar", "utility", "meta", "dateline", "print", "caption",
                               "credit", "sr", "screenreader", "visuallyhidden"})),
)
_TOKEN_TO_RULE: dict[str, str] = {token: name for name, tokens in CHROME_TOKENS for token in tokens}
#: Tokens that mark article text even when a chrome token sits beside them.
CONTENT_TOKENS: frozenset[str] = frozenset({"article", "body", "content", "entry", "main", "post", "story", "text",
                                            "prose", "richtext", "articlebody", "storybody", "postcontent", "entrycontent"})
#: Chrome tokens too vague to overrule a content token on the same node
#: ("article-body has-more-links" is the article).
WEAK_TOKENS: frozenset[str] = frozenset({"more", "links", "meta", "print", "caption", "credit", "follow", "about",
                                         "profile", "partner", "commercial", "teaser", "utility", "skip", "rail",
                                         "banner", "text", "sr", "toc", "bio"})
_SPLIT_TOKENS = re.compile(r"[^a-z0-9]+")

#: Readability-style class/id weights.
POSITIVE_HINT = re.compile(r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|prose", re.I)
NEGATIVE_HINT = re.compile(r"-ad-|hidden|^hid$|banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|masthead|media|"
                           r"meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|"
                           r"tags|tool|widget|nav|menu|newsletter|subscribe|social|byline|author|recirc|trending|teaser", re.I)
#: Tags whose text counts as a paragraph when scoring.
SCORED_TAGS = "p, pre, td, blockquote, li"
#: Paragraphs shorter than this carry no score (captions, buttons, labels).
MIN_PARAGRAPH_CHARS = 25
#: Ancestors that receive a paragraph's score (parent full, then 1/2, 1/3 ...).
SCORE_ANCESTOR_LEVELS = 3
#: A sibling joins the main region when its score is at least this share of the top.
SIBLING_SCORE_SHARE = 0.2
#: A page whose best region scores below this has no detectable main text: take the body.
MIN_TOP_SCORE = 10.0
#: Paragraph nodes looked at, at most (hostile pages with millions of <p>).
MAX_SCORED_PARAGRAPHS = 20_000


def class_tokens(node: LexborNode) -> set[str]:
    attrs = node.attributes
    raw = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()
    return {t for t in _SPLIT_TOKENS.split(raw) if t}


def chrome_rule(node: LexborNode) -> str | None:
    """The name of the chrome rule ``node`` matches, or None when it may be article text."""
    tag = node.tag
    if tag in CHROME_TAGS:
        return f"tag:{tag}"
    attrs = node.attributes
    if not attrs:
        return None
    role = (attrs.get("role") or "").lower()
    if role in CHROME_ROLES:
        return f"role:{role}"
    if attrs.get("aria-hidden") == "true" or "hidden" in attrs:
        return "hidden"
    style = (attrs.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return "hidden"
    tokens = class_tokens(node)
    if not tokens:
        return None
    content = bool(tokens & CONTENT_TOKENS)
    for token in tokens:
        rule = _TOKEN_TO_RULE.get(token)
        if rule and not (content and token in WEAK_TOKENS):
            return rule
    return None


def is_chrome(node: LexborNode) -> bool:
    return chrome_rule(node) is not None


@dataclass
class _Score:
    node: LexborNode
    score: float


def _class_weight(node: LexborNode) -> float:
    attrs = node.attributes
    weight = 0.0
    for value in (attrs.get("class"), attrs.get("id")):
        if not value:
            continue
        if NEGATIVE_HINT.search(value):
            weight -= 25
        if POSITIVE_HINT.search(value):
            weight += 25
    return weight


_TAG_BASE = {"div": 5, "article": 10, "main": 5, "section": 3, "pre": 3, "td": 3, "blockquote": 3, "address": -3,
             "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5, "h2": -5, "h3": -5,
             "h4": -5, "h5": -5, "h6": -5, "th": -5}


def _text_len(node: LexborNode) -> int:
    return len(" ".join((node.text(deep=True) or "").split()))


def link_density(node: LexborNode) -> float:
    total = _text_len(node)
    if not total:
        return 0.0
    linked = sum(_text_len(a) for a in node.css("a"))
    return min(1.0, linked / total)


def _inside_chrome(node: LexborNode, stop: LexborNode) -> bool:
    current = node.parent
    while current is not None and current.mem_id != stop.mem_id:
        if current.tag in CHROME_TAGS:
            return True
        attrs = current.attributes
        if attrs and (attrs.get("role") or "").lower() in CHROME_ROLES:
            return True
        current = current.parent
    return False


def main_content(body: LexborNode) -> list[LexborNode]:
    """The nodes that hold the article's main text, in document order.

    Readability's scheme: every paragraph scores 1 + commas + length/100
    (capped) into its parent and, decreasing, grandparents; a node's score
    starts from its tag and class/id hints and is scaled by (1 - link
    density). The best node wins and siblings that score close to it join.
    Returns ``[body]`` when nothing scores: a short fragment is all content.
    """
    scores: dict[int, _Score] = {}
    paragraphs = body.css(SCORED_TAGS)[:MAX_SCORED_PARAGRAPHS]
    for para in paragraphs:
        text = " ".join((para.text(deep=True) or "").split())
        if len(text) < MIN_PARAGRAPH_CHARS:
            continue
        if para.tag == "li" and para.css_first("p") is not None:
            continue  # its <p> children score instead
        if _inside_chrome(para, body):
            continue
        value = 1 + text.count(",") + min(len(text) // 100, 3)
        ancestor = para.parent
        for level in range(SCORE_ANCESTOR_LEVELS):
            if ancestor is None or ancestor.tag in ("html", "#document"):
                break
            entry = scores.get(ancestor.mem_id)
            if entry is None:
                entry = _Score(ancestor, _TAG_BASE.get(ancestor.tag, 0) + _class_weight(ancestor))
                scores[ancestor.mem_id] = entry
            entry.score += value / (1 if level == 0 else level * 2 if level == 1 else level + 1)
            ancestor = ancestor.parent
    if not scores:
        return [body]
    for entry in scores.values():
        entry.score *= 1 - link_density(entry.node)
    top = max(scores.values(), key=lambda e: e.score)
    if top.score < MIN_TOP_SCORE:
        return [body]
    top_node = _climb(top, scores, body)
    parent = top_node.parent
    if parent is None or top_node.mem_id == body.mem_id:
        return [top_node]
    threshold = max(MIN_TOP_SCORE, scores.get(top_node.mem_id, top).score * SIBLING_SCORE_SHARE)
    chosen: list[LexborNode] = []
    sibling = parent.child
    while sibling is not None:
        if sibling.mem_id == top_node.mem_id:
            chosen.append(sibling)
        elif sibling.is_element_node and not is_chrome(sibling):
            entry = scores.get(sibling.mem_id)
            if entry is not None and entry.score >= threshold:
                chosen.append(sibling)
            elif sibling.tag == "p" or (sibling.tag in ("h2", "h3", "h4", "blockquote", "ul", "ol", "figure")
                                        and chosen and chosen[-1].mem_id == top_node.mem_id):
                text_len = _text_len(sibling)
                density = link_density(sibling)
                if (text_len > 80 and density < 0.25) or (0 < text_len <= 80 and density == 0):
                    chosen.append(sibling)
        sibling = sibling.next
    return chosen or [top_node]


def _climb(top: _Score, scores: dict[int, _Score], body: LexborNode) -> LexborNode:
    """Move up from the best node while its ancestors keep most of its score.

    Articles split into several sections (``<div>`` per section, headings
    between) score each section separately; their common ancestor is the
    article, and it scores close to the best section once the sections add up.
    """
    node = top.node
    best = top.score
    current = node.parent
    while current is not None and current.mem_id != body.mem_id and current.tag != "html":
        entry = scores.get(current.mem_id)
        if entry is None:
            current = current.parent
            continue
        if entry.score < best / 3:
            break
        if entry.score > best:
            return current
        current = current.parent
    return node
