"""Drift decided on the cited passage, then and now (issue 14).

Unit tests judge pages directly; the end-to-end tests take the live page
from the loopback simulator and the snapshot from the fake Wayback, through
a whole audit, and read the evidence back from --json, the database
(searchable) and the Markdown report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance import capture, passage, store, support, wayback
from provenance.audit import AuditOptions, run_audit
from provenance.check import CheckOptions
from provenance.models import Claim, Snapshot

PARAS = [
    "The regional transport authority published its annual report on Tuesday, covering bus, tram and ferry "
    "services across the metropolitan area and the surrounding districts.",
    "Ridership rose to 412 million journeys last year, the highest figure since the network was reorganised in "
    "2011, driven mainly by new express bus routes in the northern suburbs.",
    "The authority said it will extend night services on the three busiest tram lines from March, after a trial "
    "in the city centre drew more passengers than expected.",
    "Fare revenue covered 41 percent of operating costs, with the remainder paid by the regional government and "
    "a levy on employers with more than fifty staff.",
    "Chief executive Maria Lindqvist told the board that maintenance backlogs on the ferry fleet remain the "
    "largest risk to reliability over the next five years.",
    "Passenger groups welcomed the night services but called for better step-free access at older tram stops, "
    "many of which still have high platforms and narrow ramps.",
]
CITED = PARAS[1]
NUMBER_CLAIM = "Ridership rose to 412 million journeys last year, the highest since the 2011 reorganisation."
NEGATION_CITED = PARAS[2]
CHROME_NAV = '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav>'
FOOTER = "<footer><p>Copyright 2019 Regional Transport Authority. All rights reserved.</p></footer>"


def page(paras: list[str], title: str = "Transport authority reports record ridership", extra: str = "",
         footer: str = FOOTER, lead: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<html><head><title>{title}</title></head><body>{CHROME_NAV}{extra}<main><article><h1>{title}</h1>"
            f"{lead}{body}</article></main>{footer}</body></html>")


SNAPSHOT = page(PARAS)
COSMETIC = page(PARAS, extra='<div class="cookie-banner">We use cookies. Accept all cookies to continue.</div>'
                '<div class="ad-slot">Advertisement: Save 20% on annual passes today</div>',
                footer=FOOTER.replace("2019", "2026"), lead="<p>Updated 4 December 2026, 09:12 GMT</p>")
OTHER = page(["Cook the pasta in plenty of salted water until it is just tender, then drain it and keep a cup of "
              "the water. Warm olive oil with a clove of garlic and a pinch of chilli flakes.",
              "Add a tin of chopped tomatoes, let it bubble for ten minutes, then stir in the pasta and a splash "
              "of the cooking water until glossy. Serve with grated cheese and basil."], title="Quick tomato pasta")


def claim(sentence: str = CITED, anchor: str | None = "Ridership rose") -> Claim:
    return Claim(kind="link", sentence=sentence, position=1, url="https://transport.example/report", anchor=anchor)


def edited(old: str, new: str) -> str:
    return page([p.replace(old, new) for p in PARAS])


# --------------------------------------------------------------------------- the five cases of the issue


def test_unchanged_page_is_no_drift_with_the_passage_as_evidence():
    d = support.judge_drift(claim(), SNAPSHOT, SNAPSHOT)
    assert d.drift is False and "unchanged" in d.reason
    assert d.then == d.now and "412 million journeys" in d.then
    assert d.evidence == {"then": d.then, "now": d.now}


def test_cosmetic_changes_never_decide():
    d = support.judge_drift(claim(), COSMETIC, SNAPSHOT)
    assert d.drift is False, d.reason


def test_cited_sentence_removed_rest_unchanged_is_drift():
    live = page([p for p in PARAS if p != CITED])
    d = support.judge_drift(claim(), live, SNAPSHOT)
    assert d.drift is True and "gone" in d.reason
    assert d.page_similarity is not None and d.page_similarity >= support.SAME_PAGE_SIMILARITY  # cannot overrule
    assert d.now is None and d.evidence == {"then": d.then, "now": None}
    assert d.diff is not None and d.diff.startswith("[-")


@pytest.mark.parametrize("old, new, kind, marked", [
    ("412 million", "214 million", "number", "[-412-] {+214+}"),
    ("412 million", "412 thousand", "amount", "[-million-] {+thousand+}"),
    ("reorganised in 2011", "reorganised in 2015", "number", "[-2011,-] {+2015,+}"),
])
def test_a_changed_number_or_amount_in_the_passage_is_drift(old, new, kind, marked):
    d = support.judge_drift(claim(NUMBER_CLAIM), edited(old, new), SNAPSHOT)
    assert d.drift is True and kind in d.reason, d.reason
    assert old in (d.then or "") and new in (d.now or "")
    assert marked in (d.diff or "")


RESTYLED = "The agency spent {money} on {count} programmes from {date}, and costs rose {share} in the {country}, " \
           "though it {negation} say why, officials said in a statement."
PLAIN = dict(money="$1.2 million", count="three", date="Jan. 5, 2020", share="12 percent", country="U.S.",
             negation="did not")


def restyled(**values: str) -> str:
    text = RESTYLED.format(**{**PLAIN, **values})
    return page([PARAS[0], text, PARAS[3], PARAS[4]])


@pytest.mark.parametrize("field, new", [
    ("money", "$1,200,000"), ("money", "$1.2m"), ("money", "$1.20 million"), ("count", "3"),
    ("date", "January 5, 2020"), ("date", "5 January 2020"), ("date", "Jan 5th, 2020"),
    ("share", "12%"), ("share", "12 per cent"), ("country", "US"), ("negation", "didn't"),
])
def test_a_value_written_another_way_is_no_drift(field, new):
    """The same amount, date, count or negation in another spelling is a restyle, not an edit of the claim."""
    cited = RESTYLED.format(**PLAIN)
    d = support.judge_drift(claim(cited, "costs rose"), restyled(**{field: new}), restyled())
    assert d.drift is False, d.reason


@pytest.mark.parametrize("field, new, kind", [
    ("money", "$1,300,000", "number"), ("money", "$1.2bn", "number"), ("count", "4", "number"),
    ("date", "January 6, 2020", "number"), ("share", "21%", "number"), ("country", "UK", "name"),
    ("negation", "did", "negation"),
])
def test_an_edit_next_to_the_restyles_is_still_drift(field, new, kind):
    """Near misses: what the restyling rules must not swallow."""
    cited = RESTYLED.format(**PLAIN)
    d = support.judge_drift(claim(cited, "costs rose"), restyled(**{field: new}), restyled())
    assert d.drift is True and kind in d.reason, d.reason


def test_the_reason_names_the_pages_own_words_when_a_restyle_sits_beside_an_edit():
    cited = RESTYLED.format(**PLAIN)
    d = support.judge_drift(claim(cited, "costs rose"), restyled(share="12%", count="4"), restyled())
    assert d.drift is True and "'three' → '4'" in d.reason, d.reason


def test_an_added_negation_is_drift():
    c = claim(NEGATION_CITED, "extend night services")
    d = support.judge_drift(c, edited("it will extend", "it will not extend"), SNAPSHOT)
    assert d.drift is True and "negation" in d.reason
    assert "{+not+}" in (d.diff or "")


def test_a_changed_name_is_drift():
    c = claim(PARAS[4], "Maria Lindqvist")
    d = support.judge_drift(c, edited("Maria Lindqvist", "Johan Berg"), SNAPSHOT)
    assert d.drift is True and "name" in d.reason


def test_replaced_by_another_article_is_drift():
    d = support.judge_drift(claim(), OTHER, SNAPSHOT)
    assert d.drift is True and d.now is None


def test_reworded_but_still_carrying_the_claim_is_not_drift():
    reworded = CITED.replace("driven mainly by", "largely thanks to")
    d = support.judge_drift(claim(), edited(CITED, reworded), SNAPSHOT)
    assert d.drift is False, d.reason
    assert d.then != d.now


def test_reworded_so_it_no_longer_carries_the_claim_is_drift():
    gutted = "Ridership figures for last year will be published separately later in the spring."
    d = support.judge_drift(claim(), edited(CITED, gutted), SNAPSHOT)
    assert d.drift is True, d.reason


# --------------------------------------------------------------------------- paraphrase and "no passage"


def test_a_paraphrase_finds_its_passage_through_numbers_and_names():
    para = ("Two weeks before the election, officials touted that the network's ridership had climbed to 412 "
            "million trips, a high not seen since the 2011 overhaul.")
    c = claim(para, "ridership had climbed")
    d = support.judge_drift(c, SNAPSHOT, SNAPSHOT)
    assert d.drift is False and d.then and "412 million" in d.then
    d = support.judge_drift(c, edited("412 million", "398 million"), SNAPSHOT)
    assert d.drift is True, d.reason


def test_no_passage_clearly_carrying_the_claim_leaves_drift_null():
    c = claim("The mayor announced a new stadium for the football club near the harbour.", "new stadium")
    for live in (SNAPSHOT, OTHER, edited("412", "214")):
        d = support.judge_drift(c, live, SNAPSHOT)
        assert d.drift is None and "no passage" in d.reason and d.then is None


# --------------------------------------------------------------------------- same limits both sides


def test_a_live_page_cut_before_the_passage_is_null_never_drift():
    cut_at = SNAPSHOT.index(CITED[:30])
    d = support.judge_drift(claim(), SNAPSHOT[:cut_at], SNAPSHOT, live_cut="body cut off at 2097152 bytes")
    assert d.drift is None and "cut" in d.reason


def test_a_snapshot_cut_before_the_passage_is_null():
    cut_at = SNAPSHOT.index(CITED[:30])
    d = support.judge_drift(claim(), SNAPSHOT, SNAPSHOT[:cut_at] + "<p>" + " filler words here" * 20,
                            snapshot_cut="read to its first 2,097,152 bytes")
    assert d.drift is None and "snapshot was cut" in d.reason


def test_pages_longer_than_the_cap_are_cut_the_same_on_both_sides(monkeypatch):
    monkeypatch.setattr(support, "MAX_PAGE_CHARS", 4000)
    padding = "<!-- " + "x" * 5000 + " -->"
    big = SNAPSHOT.replace("<main>", padding + "<main>")
    live = support.read_page(big)
    assert live.cut and "4,000" in live.cut
    d = support.judge_drift(claim(), big, big)
    assert d.drift is None and "cut" in d.reason  # identical pages: never "drift true" for a cut page


def test_a_passage_found_before_the_cut_is_still_judged():
    half = SNAPSHOT[:SNAPSHOT.index(PARAS[4][:30])]
    d = support.judge_drift(claim(), half, SNAPSHOT, live_cut="body cut off at 2097152 bytes")
    assert d.drift is False and "unchanged" in d.reason


def test_evidence_is_bounded():
    long_para = CITED + " " + " ".join(f"Clause {i} of a very long paragraph about routes." for i in range(80))
    snap = page([long_para] + PARAS[2:])
    d = support.judge_drift(claim(), snap, snap)
    assert d.then is not None and len(d.then) <= passage.EVIDENCE_CHARS
    assert d.now is not None and len(d.now) <= passage.EVIDENCE_CHARS


def test_live_body_is_kept_as_far_as_the_snapshot_is_read():
    from provenance import check

    assert check.MAX_KEPT_BODY_CHARS >= wayback.MAX_SNAPSHOT_BYTES
    assert support.MAX_PAGE_CHARS >= wayback.MAX_SNAPSHOT_BYTES


# --------------------------------------------------------------------------- passages and diffs


def test_word_diff_and_marks():
    then, now = "It will extend services to 3 lines.", "It will not extend services to 4 lines."
    assert passage.marked_diff(then, now) == "It will {+not+} extend services to [-3-] {+4+} lines."
    a, b = passage.marked_pair(then, now)
    assert a == "It will extend services to **3** lines." and b == "It will **not** extend services to **4** lines."
    kinds = {c.kind for c in passage.critical_changes(then, now)}
    assert kinds == {"negation", "number"}
    assert passage.critical_changes("Sales rose, he said.", "Sales rose, He said.") == []
    assert passage.same_text("“Quoted,” she said.", '"Quoted," she said.')


# --------------------------------------------------------------------------- good captures


SOFT_404 = ("<html><head><title>Page not found</title></head><body><h1>Page not found</h1>"
            "<p>Sorry, the page you are looking for does not exist.</p></body></html>")
SHELL = "<html><head><title>App</title></head><body><div id='root'></div><script>boot()</script></body></html>"


@pytest.mark.parametrize("html, words", [(SOFT_404, "soft 404"), (SHELL, "empty shell"), ("", "empty"),
                                         ("   ", "empty")])
def test_replay_problem_names_a_bad_capture(html, words):
    problem = capture.replay_problem(html, "https://transport.example/report")
    assert problem is not None and words in problem
    assert not capture.is_good_capture(html, "https://transport.example/report")


def test_replay_problem_passes_a_real_page():
    assert capture.replay_problem(SNAPSHOT, "https://transport.example/report") is None
    assert capture.replay_problem(SNAPSHOT, "https://transport.example/report", status=404) is not None


def test_a_bad_capture_is_passed_over_for_the_next_good_one(sim, fake):
    url = "https://transport.example/report"
    fake.add(url, "20240101000000", body=SNAPSHOT)
    fake.add(url, "20240301000000", body=SHELL)
    fake.add(url, "20240501000000", body=SOFT_404)       # the closest: a soft 404 that answered 200
    options = wayback.WaybackOptions(base_url=fake.base_url, timeout=5, retries=0)
    snap = Snapshot(url=url, timestamp="20240501000000", snapshot_url=f"{fake.base_url}/web/20240501000000/{url}")
    replay = wayback.fetch_replays([snap], options)[wayback.snapshot_key(snap)]
    assert replay.html is not None and "412 million" in replay.html
    assert replay.timestamp == "20240101000000" and replay.replaced
    assert [p.split(":")[0] for p in replay.passed_over] == ["20240501000000", "20240301000000"]
    assert "soft 404" in replay.passed_over[0] and "empty shell" in replay.passed_over[1]
    # the old single-capture reader takes captures as they are
    assert "Page not found" in (wayback.fetch_snapshot_htmls([snap], options)[wayback.snapshot_key(snap)] or "")


def test_replays_stop_after_a_few_bad_captures(sim, fake):
    url = "https://transport.example/bad"
    for month in range(1, 10):
        fake.add(url, f"2024{month:02d}01000000", body=SOFT_404)
    options = wayback.WaybackOptions(base_url=fake.base_url, timeout=5, retries=0)
    snap = Snapshot(url=url, timestamp="20240901000000", snapshot_url=f"{fake.base_url}/web/20240901000000/{url}")
    before = fake.calls.web
    replay = wayback.fetch_replays([snap], options, max_replays=3)[wayback.snapshot_key(snap)]
    assert replay.html is None and "no good capture" in replay.reason
    assert len(replay.passed_over) == 3 and fake.calls.web - before == 3


# --------------------------------------------------------------------------- end to end


def _article(path: Path, links: list[tuple[str, str, str]]) -> Path:
    body = "\n\n".join(f"{before} [{anchor}]({url}){after}" for before, anchor, url, after in
                       [(s.split(a)[0], a, u, s.split(a)[1]) for s, a, u in links])
    path.write_text(f"---\ntitle: Transport\ndate: 2024-06-01\n---\n\n# Transport\n\n{body}\n", encoding="utf-8")
    return path


def test_audit_stores_shows_and_searches_the_evidence(sim, fake, tmp_path):
    site = sim.site()
    urls = {
        "same": site.page("/same", COSMETIC),
        "number": site.page("/number", edited("412 million", "214 million")),
        "removed": site.page("/removed", page([p for p in PARAS if p != CITED])),
        "badcap": site.page("/badcap", SNAPSHOT),
    }
    for name, url in urls.items():
        fake.add(url, "20240101000000", body=SNAPSHOT)
    fake.add(urls["badcap"], "20240520000000", body=SOFT_404)   # closest to the date, but a bad copy
    docs = tmp_path / "articles"
    docs.mkdir()
    _article(docs / "a.md", [(CITED, "Ridership rose", urls[n]) for n in ("same", "number", "removed", "badcap")])
    options = AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports",
                           check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5,
                                              offline=False),
                           wayback=wayback.WaybackOptions(base_url=fake.base_url, retries=0, timeout=5))
    result = run_audit([docs], options)
    claims = {c["url"]: c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["same"]]["drift"] is False
    assert claims[urls["number"]]["drift"] is True and claims[urls["removed"]]["drift"] is True
    assert claims[urls["badcap"]]["drift"] is False
    assert claims[urls["badcap"]]["snapshot"]["timestamp"] == "20240101000000"  # the good capture stands in
    ev = claims[urls["number"]]["evidence"]
    assert "412 million" in ev["then"] and "214 million" in ev["now"]
    assert claims[urls["removed"]]["evidence"]["now"] is None
    json.dumps(result.to_dict())

    db = store.open_store(tmp_path / "db" / "p.db")
    row = db.execute("select evidence_then, evidence_now, evidence_diff from claims where url = ?",
                     [urls["number"]]).fetchone()
    assert "412" in row[0] and "214" in row[1] and "[-412-] {+214+}" in row[2]
    hits = db.execute("select rowid from claims_fts where claims_fts match ?", ['"214 million"']).fetchall()
    assert len(hits) == 1
    reason = db.execute("select reason from snapshots where url = ?", [urls["badcap"]]).fetchone()[0]
    assert "passed over 20240520000000" in reason and "soft 404" in reason
    db.close()
    # datasette's table search finds a claim by the words of its live passage
    import asyncio

    from datasette.app import Datasette

    async def search() -> list[dict]:
        ds = Datasette(files=[str(tmp_path / "db" / "p.db")])
        response = await ds.client.get("/p/claims.json?_search=214&_shape=array")
        assert response.status_code == 200, response.text[:300]
        return response.json()

    found = asyncio.run(search())
    assert [row["url"] for row in found] == [urls["number"]] and "214" in found[0]["evidence_now"]

    text = "\n".join(p.read_text() for p in (tmp_path / "reports").glob("*.md"))
    assert "Then (snapshot):" in text and "**412**" in text and "**214**" in text
    assert "*gone: no counterpart on the live page*" in text


def test_an_old_database_gains_searchable_evidence_columns(tmp_path):
    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "old.db")
    store.ensure_schema(db)
    # as before issue 14: no evidence columns, FTS on three columns
    db["claims_fts"].drop()
    db.execute("drop trigger if exists claims_ai")
    db.execute("drop trigger if exists claims_ad")
    db.execute("drop trigger if exists claims_au")
    db["claims"].enable_fts(["sentence", "anchor", "source"], create_triggers=True)
    store.ensure_schema(db)
    assert {"evidence_then", "evidence_now", "evidence_diff"} <= set(db["claims"].columns_dict)
    assert set(db["claims_fts"].columns_dict) == set(store.FTS_COLUMNS)
    store.ensure_schema(db)  # idempotent
    db.close()


def test_a_story_past_both_caps_is_null_not_drift_end_to_end(sim, fake, tmp_path):
    """The cnn.com case: a page whose story starts after the cap, live and snapshot identical -> never drift."""
    from provenance import check

    padding = "<!-- " + "x" * (wayback.MAX_SNAPSHOT_BYTES + 100_000) + " -->"
    big = SNAPSHOT.replace("<main>", padding + "<main>")
    site = sim.site()
    url = site.page("/big", big)
    fake.add(url, "20240101000000", body=big)
    [result] = check.check_urls([url], CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=10,
                                                    offline=False, probe_catch_all=False))
    assert result.verdict == "ok" and result.body is not None and result.body_cut
    options = wayback.WaybackOptions(base_url=fake.base_url, timeout=10, retries=0)
    snap = Snapshot(url=url, timestamp="20240101000000", snapshot_url=f"{fake.base_url}/web/20240101000000/{url}")
    replay = wayback.fetch_replays([snap], options)[wayback.snapshot_key(snap)]
    assert replay.html is not None and replay.cut
    d = support.judge_drift(claim(), support.read_page(result.body, url, result.body_cut),
                            support.read_page(replay.html, url, replay.cut))
    assert d.drift is None and "cut" in d.reason


def test_a_gone_link_is_never_fixed_with_a_bad_capture(sim, fake, tmp_path):
    """Dead links get their snapshot suggested (Robust Links): it is replayed once to be a good copy."""
    from datetime import datetime, timedelta, timezone

    site = sim.site()
    urls = {"dead": site.page("/dead", "<title>Not found</title>", status=404),
            "allbad": site.page("/allbad", "<title>Not found</title>", status=404)}
    fake.add(urls["dead"], "20240101000000", body=SNAPSHOT)
    fake.add(urls["dead"], "20240520000000", body=SOFT_404)
    fake.add(urls["allbad"], "20240520000000", body=SHELL)
    docs = tmp_path / "articles"
    docs.mkdir()
    _article(docs / "a.md", [(CITED, "Ridership rose", urls["dead"]), (PARAS[2], "night services", urls["allbad"])])
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    options = AuditOptions(db_path=tmp_path / "db" / "p.db", reports_dir=tmp_path / "reports",
                           check=CheckOptions(allow_private=True, retries=0, host_interval=0.0, timeout=5,
                                              offline=False),
                           wayback=wayback.WaybackOptions(base_url=fake.base_url, retries=0, timeout=5),
                           clock=lambda: now[0])
    result = run_audit([docs], options)
    claims = {c["url"]: c for a in result.to_dict()["articles"] for c in a["claims"] if c["kind"] == "link"}
    assert claims[urls["dead"]]["verdict"] == "dead"
    assert claims[urls["dead"]]["snapshot"]["timestamp"] == "20240101000000"
    assert claims[urls["allbad"]]["snapshot"] is None
    db = store.open_store(tmp_path / "db" / "p.db")
    reason = db.execute("select reason from snapshots where url = ?", [urls["allbad"]]).fetchone()[0]
    assert "no good capture" in reason and "empty shell" in reason
    assert db.execute("select replay_checked_at from snapshots where url = ?", [urls["dead"]]).fetchone()[0]
    db.close()
    replays = fake.calls.web
    now[0] += timedelta(days=3)  # the links are due again; the good capture is not replayed again
    run_audit([docs], options)
    assert fake.calls.web == replays


def test_long_passages_are_clipped_where_they_differ():
    head = " ".join(f"word{i}" for i in range(150))
    then, now = passage.clip_pair(f"{head} rose to 412 million.", f"{head} rose to 214 million.")
    assert len(then) <= passage.EVIDENCE_CHARS and len(now or "") <= passage.EVIDENCE_CHARS
    assert "412" in then and "214" in (now or "") and then.startswith("…")
    short = passage.clip_pair("Short then.", None)
    assert short == ("Short then.", None)


def test_hostile_pages_are_judged_in_bounded_work():
    """Thousands of look-alike sentences, one endless 'sentence', and binary junk: a verdict, never a hang."""
    lookalikes = [f"Ridership rose to {n} million journeys last year, driven by express bus routes."
                  for n in range(1000, 4000)]
    d = support.judge_drift(claim(), page(lookalikes), SNAPSHOT)
    assert d.drift is True and "412" in (d.then or ""), d.reason
    assert support.judge_drift(claim(), page(["word " * 50_000]), SNAPSHOT).drift is True
    huge = support.judge_drift(claim(), page(["word " * 200_000]), SNAPSHOT)  # past the main-text cap
    assert huge.drift is None and "cut" in huge.reason
    junk = "".join(chr(c) for c in range(1, 0x3000, 7)) * 50
    assert support.judge_drift(claim(), junk, SNAPSHOT).drift in (True, None)
    assert support.judge_drift(claim(), SNAPSHOT, junk).drift is None


def test_a_claim_on_the_headline_survives_a_renamed_site():
    c = claim("The transport authority reports record ridership, its annual report says.", "record ridership")
    h1 = "<h1>Transport authority reports record ridership</h1>"
    snap = page(PARAS, title="Transport authority reports record ridership - Metro Times")
    snap = snap.replace("<h1>Transport authority reports record ridership - Metro Times</h1>", h1)
    live = page(PARAS, title="Transport authority reports record ridership | Metro Times Online")
    live = live.replace("<h1>Transport authority reports record ridership | Metro Times Online</h1>", h1)
    assert h1 in snap and h1 in live
    d = support.judge_drift(c, live, snap)
    assert d.drift is False, d.reason


def test_a_live_body_that_stops_short_is_taken_as_cut_even_unannounced():
    cut_at = SNAPSHOT.index(CITED[:30])
    d = support.judge_drift(claim(), SNAPSHOT[:cut_at], SNAPSHOT)  # no cut reason given: the page just stops
    assert d.drift is None and "stops before its end" in d.reason
    d = support.judge_drift(claim(), page([p for p in PARAS if p != CITED]), SNAPSHOT)  # a whole page: judged
    assert d.drift is True
