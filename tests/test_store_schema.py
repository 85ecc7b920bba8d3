"""The schema is the interface: idempotent creation, additive migration of older databases, WAL,
views for common questions, full-text search on claim sentences, indexes on filter columns."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from provenance import store
from provenance.models import Article, CheckResult, Claim, Drift, Snapshot

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)


def schema(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("select type, name, sql from sqlite_master").fetchall(), key=str)
    finally:
        conn.close()


def sample(path: str = "a.md", sentence: str = "The mayor said the bridge would reopen in May") -> Article:
    return Article(path=path, title="A", published="2024-05-01", claims=[
        Claim(kind="link", sentence=sentence, position=1, url="https://example.org/bridge", anchor="said"),
        Claim(kind="attribution", sentence="According to the Harbour Gazette, fares will rise.", position=2,
              source="Harbour Gazette"),
    ])


def test_schema_created_once_and_reopening_changes_nothing(tmp_path):
    path = tmp_path / "p.db"
    store.open_store(path).close()
    first = schema(path)
    store.open_store(path).close()
    assert schema(path) == first
    db = store.open_store(path)
    assert set(store.TABLES) <= set(db.table_names())
    assert {"claim_status", "broken_claims", "broken_claims_per_article", "claims_needing_replacement",
            "url_changes"} <= set(db.view_names())
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma application_id").fetchone()[0] == store.APPLICATION_ID
    assert db["meta"].get("schema_version")["value"] == str(store.SCHEMA_VERSION)
    indexed = {tuple(i.columns) for table in ("urls", "claims", "checks", "articles") for i in db[table].indexes}
    assert {("verdict",), ("host",), ("confirmed_dead_at",), ("article_id",), ("url",), ("run_id",), ("path",)} <= indexed
    fks = {(fk.table, fk.column, fk.other_table) for t in ("claims", "checks") for fk in db[t].foreign_keys}
    assert {("claims", "article_id", "articles"), ("claims", "url", "urls"), ("checks", "run_id", "runs")} <= fks


def test_older_database_is_migrated_additively(tmp_path):
    """A database from the first release (fewer columns, no views) gains what is missing and keeps its rows."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        create table runs (id integer primary key, started_at text, finished_at text, options text, offline integer,
                           articles integer, claims integer, urls integer, verdicts text);
        create table articles (id integer primary key, path text, content_hash text, title text, published text,
                               authors text, canonical_url text, format text, first_seen text, last_seen text,
                               removed_at text);
        create table urls (url text primary key, host text, verdict text, status integer, final_url text, reason text,
                           first_checked text, last_checked text, failures integer, first_failed text,
                           confirmed_dead_at text, snapshot_timestamp text, snapshot_url text);
        create table claims (id integer primary key, article_id integer references articles(id), kind text, url text,
                             anchor text, sentence text, source text, position integer, fragment text, drift integer,
                             live_score float, snapshot_score float);
        create table checks (id integer primary key, run_id integer references runs(id), url text, verdict text,
                             status integer, final_url text, reason text, attempts integer, elapsed_ms integer,
                             checked_at text);
        create table snapshots (url text, date text, timestamp text, snapshot_url text, status integer, reason text,
                                looked_up_at text, primary key (url, date));
        insert into articles (id, path, title) values (1, 'old.md', 'Old');
        insert into urls (url, host, verdict, failures) values ('https://example.org/x', 'example.org', 'dead', 1);
        insert into claims (article_id, kind, url, sentence, position) values (1, 'link', 'https://example.org/x',
                                                                               'An old claim about tides', 1);
    """)
    conn.commit()
    conn.close()
    db = store.open_store(path)
    assert {"file_sha256", "claim_count", "last_run_id"} <= set(db["articles"].columns_dict)
    assert {"drift_since", "drift_reason"} <= set(db["claims"].columns_dict)
    assert {"previous_verdict", "change", "counted"} <= set(db["checks"].columns_dict)
    assert {"last_failed", "last_attempt_verdict"} <= set(db["urls"].columns_dict)
    assert db["snapshots"].columns_dict.get("outcome") is str
    row = next(db.query("select * from claim_status"))
    assert row["path"] == "old.md" and row["verdict"] == "dead" and row["rot"] == "failing (1 of 3)"
    # FTS covers rows that existed before the migration.
    assert [r["sentence"] for r in db.query("select sentence from claims_fts where claims_fts match 'tides'")] == \
        ["An old claim about tides"]
    db.close()
    before = schema(path)
    store.open_store(path).close()
    assert schema(path) == before


def test_full_text_search_follows_claim_changes(tmp_path):
    db = store.open_store(tmp_path / "p.db")
    store.save_articles(db, [(sample(), "h1")], now=NOW)
    hits = lambda word: [r["sentence"] for r in db.query(  # noqa: E731
        "select c.sentence from claims c join claims_fts f on f.rowid = c.id where claims_fts match ?", [word])]
    assert hits("bridge") == ["The mayor said the bridge would reopen in May"]
    assert hits("gazette") == ["According to the Harbour Gazette, fares will rise."]
    store.save_articles(db, [(sample(sentence="The mayor said the tunnel would reopen in June"), "h2")], now=NOW)
    assert hits("bridge") == [] and hits("tunnel") == ["The mayor said the tunnel would reopen in June"]


def test_drift_survives_an_edit_elsewhere_in_the_article(tmp_path):
    db = store.open_store(tmp_path / "p.db")
    store.save_articles(db, [(sample(), "h1")], now=NOW)
    claim_id = next(db.query("select id from claims where kind = 'link'"))["id"]
    run_id = store.start_run(db, {}, False, NOW)
    store.save_checks(db, run_id, [CheckResult(url="https://example.org/bridge", verdict="ok", status=200)], now=NOW,
                      drifts=[(claim_id, Drift(True, 0.1, 0.9, "gone from the live page"))])
    edited = sample()
    edited.claims.append(Claim(kind="link", sentence="A new paragraph", position=3, url="https://example.org/new"))
    store.save_articles(db, [(edited, "h2")], now=NOW)
    rows = {r["url"]: r for r in db.query("select * from claims where kind = 'link'")}
    assert rows["https://example.org/bridge"]["drift"] == 1
    assert rows["https://example.org/bridge"]["drift_since"] == "2026-03-01T04:00:00Z"
    assert rows["https://example.org/new"]["drift"] is None
    assert db["urls"].get("https://example.org/new")["verdict"] is None  # known, not yet checked


def test_snapshot_cache_outcomes(tmp_path):
    db = store.open_store(tmp_path / "p.db")
    store.save_snapshots(db, {
        ("https://e.org/a", "2024-01-01"): Snapshot("https://e.org/a", "20231231000000", "https://w/web/2023/a", 200),
        ("https://e.org/b", ""): Snapshot("https://e.org/b", reason="no capture that answered 200"),
        ("https://e.org/c", "2024-01-01"): Snapshot("https://e.org/c", failed=True, reason="HTTP 503"),
    }, now=NOW)
    outcomes = {k: v["outcome"] for k, v in store.snapshot_rows(db).items()}
    assert outcomes == {("https://e.org/a", "2024-01-01"): "found", ("https://e.org/b", ""): "none",
                        ("https://e.org/c", "2024-01-01"): "error"}
    assert db["urls"].get("https://e.org/a")["snapshot_timestamp"] == "20231231000000"


def test_many_claims_in_few_transactions(tmp_path):
    db = store.open_store(tmp_path / "p.db")
    articles = [(Article(path=f"a{i}.md", claims=[Claim(kind="link", sentence=f"Claim {i} {j}", position=j,
                                                        url=f"https://h{j % 7}.example/{i}/{j}") for j in range(20)]),
                 f"h{i}") for i in range(250)]
    ids = store.save_articles(db, articles, now=NOW)
    assert len(ids) == 250 == len(set(ids))
    assert db.execute("select count(*) from claims").fetchone()[0] == 5000
    assert db.execute("select count(*) from urls").fetchone()[0] == 5000
    assert db.execute("select count(*) from claims_fts").fetchone()[0] == 5000


def test_claim_status_gives_attributions_no_verdict(tmp_path):
    """An unlinked attribution has no URL to check: its verdict is null, not 'unchecked' (which would count it
    among the links an offline run could not check in the datasette facet)."""
    db = store.open_store(tmp_path / "p.db")
    store.save_articles(db, [(sample(), "h1")], now=NOW)
    rows = {r["kind"]: r["verdict"] for r in db.query("select kind, verdict from claim_status")}
    assert rows == {"link": "unchecked", "attribution": None}  # the link is not checked yet: unchecked
    db.close()
