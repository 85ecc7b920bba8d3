"""Find the article's main text in a saved web page, and tell chrome from content.

On typical news and blog pages only 10-20% of anchors sit in the article
text; the rest are menus, related stories, tag clouds, comment widgets,
share bars and footers, some of them inside ``<article>``. Two layers:

1. :func:`main_region` picks the region with a readability-style score
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
                              "skiplink", "skip", "pagination", "pager", "toc", "navbox", "infobox", "sidebar-list",
                              "vertical-navbox", "hatnote"})),
    ("related", frozenset({"related", "recirc", "recirculation", "recommended", "recommendations", "morestories",
                           "more", "readmore", "readnext", "trending", "popular", "mostread", "outbrain", "taboola",
                           "teaser", "teasers", "upnext", "mostpopular", "links"})),
    ("share", frozenset({"share", "sharing", "sharebar", "social", "socials", "sharethis", "addthis", "addtoany", "follow"})),
    ("comments", frozenset({"comment", "comments", "disqus", "discussion", "replies", "respond", "reply", "commentlist"})),
    ("newsletter", frozenset({"newsletter", "subscribe", "subscription", "signup", "optin", "paywall", "regwall",
                              "membership", "donate", "cta"})),
    ("author-box", frozenset({"author", "authors", "byline", "bio", "contributor", "profile", "avatar", "about"})),
    ("tags", frozenset({"tags", "tag", "tagcloud", "categories", "category", "topics", "keywords", "taxonomy",
                        "catlinks"})),
    ("advertising", frozenset({"ad", "ads", "advert", "advertisement", "sponsor", "sponsored", "banner", "dfp", "gpt",
                               "adslot", "advertising", "commercial", "partner", "promo", "promotion"})),
    ("site-chrome", frozenset({"footer", "header", "sidebar", "widget", "widgets", "rail", "modal", "popup", "cookie",
                               "consent", "gdpr", "overlay", "toolbar", "utility", "meta", "dateline", "print", "caption",
                               "credit", "sr", "bottom", "screenreader", "visuallyhidden"})),
)
_TOKEN_TO_RULE: dict[str, str] = {token: name for name, tokens in CHROME_TOKENS for token in tokens}
#: Tokens that mark article text even when a chrome token sits beside them.
CONTENT_TOKENS: frozenset[str] = frozenset({"article", "body", "content", "entry", "main", "post", "story", "text",
                                            "prose", "richtext", "articlebody", "storybody", "postcontent", "entrycontent"})
#: Chrome tokens too vague to overrule a content token on the same node
#: ("article-body has-more-links" is the article).
WEAK_TOKENS: frozenset[str] = frozenset({"more", "links", "meta", "print", "caption", "credit", "follow", "about",
                                         "profile", "partner", "commercial", "teaser", "utility", "skip", "rail",
                                         "banner", "text", "sr", "toc", "bio", "tag", "tags", "category", "categories",
                                         "topics", "ad"})
#: (prefix, rule): run-together class words ("jp-relatedposts", "sharedaddy", "socialicons").
CHROME_PREFIXES: tuple[tuple[str, str], ...] = (
    ("related", "related"), ("recommend", "related"), ("trending", "related"), ("outbrain", "related"),
    ("taboola", "related"), ("share", "share"), ("social", "share"), ("newsletter", "newsletter"),
    ("subscri", "newsletter"), ("sidebar", "site-chrome"), ("footer", "site-chrome"), ("breadcrumb", "navigation"),
    ("navbar", "navigation"), ("widget", "site-chrome"), ("sponsor", "advertising"), ("advert", "advertising"),
    ("disqus", "comments"), ("commentlist", "comments"), ("comments", "comments"),
)
_SPLIT_TOKENS = re.compile(r"[^a-z0-9]+")

#: Readability-style class/id weights.
POSITIVE_HINT = re.compile(r"article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|prose", re.I)
NEGATIVE_HINT = re.compile(r"-ad-|hidden|^hid$|banner|combx|comment|com-|contact|foot|footer|footnote|gdpr|masthead|media|"
                           r"meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|"
                           r"tags|tool|widget|nav|menu|newsletter|subscribe|social|byline|author|recirc|trending|teaser", re.I)
#: Paragraphs shorter than this carry no score (captions, buttons, labels).
MIN_PARAGRAPH_CHARS = 25
#: Ancestors that receive a block's score: the element in full, then 1/2, then 1/(3 x level), as Readability.
SCORE_ANCESTOR_LEVELS = 5
#: An <article> (or itemprop=articleBody) inside the chosen region that carries at least this share of
#: its score or its text becomes the region: the page's own markup says where the story is, and comments,
#: "more in this section" and other long-text neighbours stay out.
ARTICLE_TEXT_SHARE = 0.5
#: A sibling joins the main region when its score is at least this share of the top.
SIBLING_SCORE_SHARE = 0.2
#: A page whose best region scores below this has no detectable main text: take the body.
MIN_TOP_SCORE = 10.0
#: Blocks scored, at most (hostile pages with millions of <p>).
MAX_SCORED_PARAGRAPHS = 20_000


def class_tokens(node: LexborNode) -> set[str]:
    attrs = node.attributes
    return _tokens(attrs.get("class"), attrs.get("id"))


def _tokens(cls: str | None, ident: str | None) -> set[str]:
    """The words of a class and id ("c-related-links" -> related, links, c)."""
    return {t for t in _SPLIT_TOKENS.split(f"{cls or ''} {ident or ''}".lower()) if t}


def chrome_rule(node: LexborNode) -> str | None:
    """The name of the chrome rule ``node`` matches, or None when it may be article text."""
    tag = node.tag
    if tag in CHROME_TAGS:
        return f"tag:{tag}"
    attrs = node.attributes
    if not attrs:
        return None
    key = (attrs.get("class"), attrs.get("id"), attrs.get("role"), attrs.get("aria-hidden"), "hidden" in attrs,
           attrs.get("style"))
    try:
        return _RULE_CACHE[key]
    except KeyError:
        pass
    rule = _attribute_rule(*key)
    if len(_RULE_CACHE) >= _RULE_CACHE_SIZE:
        _RULE_CACHE.clear()
    _RULE_CACHE[key] = rule
    return rule


#: chrome_rule's answers by the attributes that decide them: pages repeat a few class strings
#: on thousands of elements.
_RULE_CACHE: dict[tuple, str | None] = {}
_RULE_CACHE_SIZE = 20_000


def _attribute_rule(cls: str | None, ident: str | None, role: str | None, aria_hidden: str | None, hidden: bool,
                    style: str | None) -> str | None:
    role = (role or "").lower()
    if role in CHROME_ROLES:
        return f"role:{role}"
    if aria_hidden == "true" or hidden:
        return "hidden"
    style = (style or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return "hidden"
    tokens = _tokens(cls, ident)
    if not tokens:
        return None
    content = bool(tokens & CONTENT_TOKENS)
    # Table order, not set order: the rule a trace names must not depend on hash seeds.
    for name, chrome in CHROME_TOKENS:
        hits = tokens & chrome
        if content:
            hits -= WEAK_TOKENS
        if hits:
            return name
    for token in sorted(t for t in tokens if len(t) > 5 and t not in _TOKEN_TO_RULE):
        for prefix, name in CHROME_PREFIXES:
            if token.startswith(prefix):
                return name
    return None


def is_chrome(node: LexborNode) -> bool:
    return chrome_rule(node) is not None


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
#: Blocks whose own element is a paragraph-like tag give their score to its parent first.
_PARAGRAPH_TAGS = frozenset({"p", "li", "td", "th", "blockquote", "dd", "dt", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6"})


@dataclass
class TextBlock:
    """What scoring needs of a block: its text length, linked characters and element path."""

    length: int
    linked: int
    commas: int
    #: mem_ids of the block-level elements from <body> down to the block's own element.
    path: tuple[int, ...]


def main_region(blocks: list[TextBlock], nodes: dict[int, LexborNode], body_id: int) -> set[int] | None:
    """mem_ids of the element(s) that hold the article's main text; None means "all of it".

    Readability's scheme on our blocks: every block of at least
    :data:`MIN_PARAGRAPH_CHARS` scores 1 + commas + length/100 (capped) into
    its element (its parent, for a <p>) and, decreasing, the ancestors above;
    a candidate starts from its tag and class/id hints and is scaled by
    (1 - link density). The best candidate wins, climbs to an ancestor that
    gathers more, and siblings that score close to it join. Text directly in
    a <div> between <br>s counts like paragraphs, as on older sites.
    """
    scores: dict[int, float] = {}
    total: dict[int, int] = {}
    linked: dict[int, int] = {}
    for block in blocks[:MAX_SCORED_PARAGRAPHS]:
        for anc in block.path:
            total[anc] = total.get(anc, 0) + block.length
            linked[anc] = linked.get(anc, 0) + block.linked
        if block.length < MIN_PARAGRAPH_CHARS or not block.path:
            continue
        own = nodes.get(block.path[-1])
        path = block.path[:-1] if own is not None and own.tag in _PARAGRAPH_TAGS else block.path
        value = 1 + block.commas + min(block.length // 100, 3)
        for level, anc in enumerate(reversed(path)):
            if level >= SCORE_ANCESTOR_LEVELS or anc == body_id:
                break
            if anc not in scores:
                node = nodes[anc]
                scores[anc] = _TAG_BASE.get(node.tag, 0) + _class_weight(node)
            scores[anc] += value / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return None
    final = {k: v * (1 - min(1.0, linked.get(k, 0) / max(1, total.get(k, 1)))) for k, v in scores.items()}
    top = max(final, key=final.__getitem__)
    if final[top] < MIN_TOP_SCORE:
        return None
    top = _climb(top, final, nodes, body_id)
    top = _prefer_article(top, final, total, nodes)
    node = nodes[top]
    parent = node.parent
    if parent is None or _is_article(node):
        return {top}  # the story's own element: its neighbours are comments and recirculation
    threshold = max(MIN_TOP_SCORE, final[top] * SIBLING_SCORE_SHARE)
    chosen = {top}
    sibling = parent.child if parent is not None else None
    while sibling is not None:
        sid = sibling.mem_id
        if sid != top and sid in total and sibling.is_element_node:
            density = linked.get(sid, 0) / max(1, total[sid])
            if final.get(sid, float("-inf")) >= threshold:
                chosen.add(sid)
            elif sibling.tag in _PARAGRAPH_TAGS or sibling.tag in ("ul", "ol", "figure", "table"):
                length = total[sid]
                if (length > 80 and density < 0.25) or (0 < length <= 80 and density == 0):
                    chosen.add(sid)
        sibling = sibling.next
    return chosen


def _is_article(node: LexborNode) -> bool:
    return node.tag == "article" or (node.attributes.get("itemprop") or "").lower() == "articlebody"


def _prefer_article(top: int, final: dict[int, float], total: dict[int, int], nodes: dict[int, LexborNode]) -> int:
    """The <article> under ``top`` that carries most of its score or text, if one does."""
    current = nodes[top]
    while current is not None:
        if _is_article(current):
            return top  # already inside the story's own element
        current = current.parent
    best, best_key = top, (0.0, 0)
    for node_id, node in nodes.items():
        if _is_article(node) and _is_descendant(node, top):
            key = (final.get(node_id, 0.0), total.get(node_id, 0))
            if key > best_key:
                best, best_key = node_id, key
    if best != top and (best_key[0] >= ARTICLE_TEXT_SHARE * final.get(top, 0.0)
                        or best_key[1] >= ARTICLE_TEXT_SHARE * total.get(top, 0)):
        return best
    return top


def _is_descendant(node: LexborNode, ancestor_id: int) -> bool:
    current = node.parent
    while current is not None:
        if current.mem_id == ancestor_id:
            return True
        current = current.parent
    return False


def _climb(top: int, final: dict[int, float], nodes: dict[int, LexborNode], body_id: int) -> int:
    """Move up from the best node while an ancestor gathers more of the text.

    Articles split into several sections (a ``<div>`` per section, headings
    between) score each section on its own; their common ancestor is the
    article, and it outscores the best section once the sections add up.
    """
    best = final[top]
    if _is_article(nodes[top]):
        return top
    current = nodes[top].parent
    while current is not None and current.mem_id != body_id:
        score = final.get(current.mem_id)
        if score is not None:
            if score < best / 3:
                break
            if score > best:
                return current.mem_id
        if _is_article(current):
            break  # never climb out of the story's own element
        current = current.parent
    return top
