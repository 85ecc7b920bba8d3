"""The SQLite store (sqlite-utils): schema, upserts, history.

The database is the product's interface for datasette users, so tables and
columns are named for people. Schema changes go through :func:`ensure_schema`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from .models import Article, CheckResult, Snapshot, iso_z, utc_now


class StoreError(Exception):
    """The database cannot be used (corrupt, foreign, unwritable): one line for the user."""


TABLES = ("runs", "articles", "claims", "urls", "checks", "snapshots")


def open_store(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database; refuse corrupt or foreign files."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create directory for database {path}: {exc.strerror or exc}") from exc
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise StoreError(f"{path} is not an SQLite database; refusing to touch it")
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        existing = set(db.table_names())
        if existing and not existing & set(TABLES):
            raise StoreError(f"{path} is a database of another program; refusing to touch it")
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use database {path}: {exc}") from exc
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or migrate every table, index and view; safe to run each time."""
    db["runs"].create({"id": int, "started_at": str, "finished_at": str, "options": str, "offline": int,
                       "articles": int, "claims": int, "urls": int, "verdicts": str}, pk="id", if_not_exists=True)
    db["articles"].create({"id": int, "path": str, "content_hash": str, "title": str, "published": str,
                           "authors": str, "canonical_url": str, "format": str, "first_seen": str,
                           "last_seen": str, "removed_at": str}, pk="id", if_not_exists=True)
    db["urls"].create({"url": str, "host": str, "verdict": str, "status": int, "final_url": str, "reason": str,
                       "first_checked": str, "last_checked": str, "failures": int, "first_failed": str,
                       "confirmed_dead_at": str, "snapshot_timestamp": str, "snapshot_url": str}, pk="url",
                      if_not_exists=True)
    db["claims"].create({"id": int, "article_id": int, "kind": str, "url": str, "anchor": str, "sentence": str,
                         "source": str, "position": int, "fragment": str, "drift": int, "live_score": float,
                         "snapshot_score": float}, pk="id", foreign_keys=[("article_id", "articles", "id")],
                        if_not_exists=True)
    db["checks"].create({"id": int, "run_id": int, "url": str, "verdict": str, "status": int, "final_url": str,
                         "reason": str, "attempts": int, "elapsed_ms": int, "checked_at": str}, pk="id",
                        foreign_keys=[("run_id", "runs", "id")], if_not_exists=True)
    db["snapshots"].create({"url": str, "date": str, "timestamp": str, "snapshot_url": str, "status": int,
                            "reason": str, "looked_up_at": str}, pk=("url", "date"), if_not_exists=True)
    for table, columns in (("articles", ["path"]), ("claims", ["article_id"]), ("claims", ["url"]),
                           ("checks", ["url"]), ("checks", ["run_id"]), ("urls", ["verdict"]), ("urls", ["host"])):
        db[table].create_index(columns, if_not_exists=True, unique=(table == "articles"))


def start_run(db: sqlite_utils.Database, options: dict, offline: bool) -> int:
    with db.conn:
        return db["runs"].insert({"started_at": iso_z(utc_now()), "options": json.dumps(options, default=str),
                                  "offline": int(offline)}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, articles: int, claims: int, urls: int, verdicts: dict) -> None:
    with db.conn:
        db["runs"].update(run_id, {"finished_at": iso_z(utc_now()), "articles": articles, "claims": claims,
                                   "urls": urls, "verdicts": json.dumps(verdicts)})


def save_article(db: sqlite_utils.Database, article: Article) -> int:
    """Insert or update an article and replace its claims; returns its id."""
    now = iso_z(utc_now())
    with db.conn:
        rows = list(db["articles"].rows_where("path = ?", [article.path]))
        record = {"path": article.path, "content_hash": article.content_hash, "title": article.title,
                  "published": article.published, "authors": json.dumps(article.authors),
                  "canonical_url": article.canonical_url, "format": article.format, "last_seen": now,
                  "removed_at": None}
        if rows:
            article_id = rows[0]["id"]
            db["articles"].update(article_id, record)
        else:
            article_id = db["articles"].insert({**record, "first_seen": now}).last_pk
        db["claims"].delete_where("article_id = ?", [article_id])
        db["claims"].insert_all(({"article_id": article_id, "kind": c.kind, "url": c.url, "anchor": c.anchor,
                                  "sentence": c.sentence, "source": c.source, "position": c.position,
                                  "fragment": c.fragment} for c in article.claims))
    return article_id


def save_checks(db: sqlite_utils.Database, run_id: int, results: Iterable[CheckResult]) -> None:
    with db.conn:
        for r in results:
            db["checks"].insert({"run_id": run_id, **r.to_dict()})
            db["urls"].upsert({"url": r.url, "host": _host(r.url), "verdict": r.verdict, "status": r.status,
                               "final_url": r.final_url, "reason": r.reason, "last_checked": r.checked_at}, pk="url")


def save_snapshot(db: sqlite_utils.Database, snapshot: Snapshot, date: str | None) -> None:
    with db.conn:
        db["snapshots"].upsert({"url": snapshot.url, "date": date or "", "timestamp": snapshot.timestamp,
                                "snapshot_url": snapshot.snapshot_url, "status": snapshot.status,
                                "reason": snapshot.reason, "looked_up_at": iso_z(utc_now())}, pk=("url", "date"))


def _host(url: str) -> str:
    from .urls import host_of

    return host_of(url)
