"""The SQLite store (sqlite-utils): schema, batched writes, URL history, rot.

The database is the product's interface (datasette users, the report
renderer), so tables and columns are named for people and the schema only
ever grows: :func:`ensure_schema` creates what is missing and adds missing
columns, idempotently, at every start.

Tables (primary key first):

``runs``      id; started_at, finished_at, status (running | finished | interrupted),
              options (JSON), offline, articles, claims, urls, verdicts (JSON, per claim),
              urls_checked, urls_fresh, snapshot_lookups, articles_extracted,
              articles_unchanged, articles_removed, newly_failing, newly_confirmed_dead,
              recovered, new_drift, pid, urls_excluded (links left out by --exclude/--include), back
``articles``  id; path (unique: how people see the file, relative to the working folder when
              under it), resolved_path (unique: the real absolute path, the article's identity), content_hash, file_sha256, extractor_version, title, published, authors
              (JSON list), canonical_url, format, claim_count, first_seen, last_seen,
              removed_at (set when the article left the input; never deleted), last_run_id
``urls``      url; host, verdict (last verdict from a real check: never overwritten by
              ``unchecked``), status, final_url, reason, signature, first_checked,
              last_checked, last_attempt, last_attempt_verdict, failures (failing checks
              counted towards rot), first_failed, last_failed, confirmed_dead_at,
              snapshot_timestamp, snapshot_url, snapshot_archive, back_at (when a link
              confirmed dead last answered again; its rot state started over then)
``claims``    id; article_id -> articles, kind, url -> urls, anchor, sentence, source,
              position, fragment, drift (1/0/null), live_score, snapshot_score,
              drift_reason, drift_judged_at, drift_since (when drift was first seen),
              evidence_then, evidence_now (the cited passage in the snapshot and its counterpart on the
              live page, null when gone), evidence_diff (a word diff: "[-removed-]{+added+}")
``checks``    id; run_id -> runs, url -> urls, verdict, status, final_url, reason,
              attempts, elapsed_ms, checked_at, previous_verdict, change (new |
              newly_failing | newly_confirmed_dead | recovered | back | changed | null;
              back: a link confirmed dead answers again),
              failures (count after this check), counted (1 if it counted towards rot)
``snapshots`` (url, date); timestamp, snapshot_url, status, reason, outcome
              (found | none | error), looked_up_at, archive (the web archive holding the
              capture: web.archive.org, arquivo.pt ...), replay_checked_at (when its replay was
              found a good copy: not a soft 404, error page, bot wall or empty shell)
``meta``      key; value: schema_version, rot_checks, rot_gap_days

Views: ``claim_status`` (every live claim with its URL's state, snapshot and
drift, plus a ``rot`` label "failing (n of 3)" / "confirmed dead"),
``broken_claims``, ``broken_claims_per_article``, ``claims_needing_replacement``,
``url_changes``. Full-text search: ``claims_fts`` on sentence, anchor, source, evidence_then, evidence_now.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from . import __version__
from .models import ROT_VERDICTS, Article, CheckResult, Drift, Snapshot, iso_z, utc_now


class StoreError(Exception):
    """The database cannot be used (corrupt, foreign, unwritable, busy): one line for the user."""


TABLES = ("runs", "articles", "claims", "urls", "checks", "snapshots")
SCHEMA_VERSION = 2
#: Tables every provenance database has had since the first release (read when the header has no stamp).
_OUR_CORE_TABLES = frozenset({"runs", "articles", "claims", "urls"})
#: Written into the SQLite header (PRAGMA application_id) so a foreign database is recognised: "PROV".
APPLICATION_ID = 0x50524F56
#: Seconds a second audit waits for the database lock before giving up.
LOCK_WAIT = 5.0
#: Seconds between attempts to take the lock.
LOCK_POLL = 0.1
#: Seconds SQLite waits on a busy database (a reader such as datasette) before failing.
BUSY_TIMEOUT = 30.0
#: Page cache per connection in KiB: index inserts of a big batch stay in memory.
CACHE_KIB = 64 * 1024
#: Verdicts that mean the page answered: a success resets the rot count.
GOOD_VERDICTS = frozenset({"ok", "redirect"})

COLUMNS: dict[str, dict[str, type]] = {
    "runs": {"id": int, "started_at": str, "finished_at": str, "status": str, "options": str, "offline": int,
             "articles": int, "claims": int, "urls": int, "verdicts": str, "urls_checked": int, "urls_fresh": int,
             "snapshot_lookups": int, "articles_extracted": int, "articles_unchanged": int,
             "articles_removed": int, "newly_failing": int, "newly_confirmed_dead": int, "recovered": int,
             "new_drift": int, "pid": int, "urls_excluded": int, "back": int},
    "articles": {"id": int, "path": str, "content_hash": str, "file_sha256": str, "title": str, "published": str,
                 "authors": str, "canonical_url": str, "format": str, "claim_count": int, "first_seen": str,
                 "last_seen": str, "removed_at": str, "last_run_id": int, "extractor_version": str,
                 "resolved_path": str, "updated": str},
    "urls": {"url": str, "host": str, "verdict": str, "status": int, "final_url": str, "reason": str,
             "signature": str, "first_checked": str, "last_checked": str, "last_attempt": str,
             "last_attempt_verdict": str, "failures": int, "first_failed": str, "last_failed": str,
             "confirmed_dead_at": str, "snapshot_timestamp": str, "snapshot_url": str, "snapshot_archive": str,
             "back_at": str},
    "claims": {"id": int, "article_id": int, "kind": str, "url": str, "anchor": str, "sentence": str, "source": str,
               "position": int, "fragment": str, "drift": int, "live_score": float, "snapshot_score": float,
               "drift_reason": str, "drift_judged_at": str, "drift_since": str, "evidence_then": str,
               "evidence_now": str, "evidence_diff": str},
    "checks": {"id": int, "run_id": int, "url": str, "verdict": str, "status": int, "final_url": str, "reason": str,
               "attempts": int, "elapsed_ms": int, "checked_at": str, "previous_verdict": str, "change": str,
               "failures": int, "counted": int},
    "snapshots": {"url": str, "date": str, "timestamp": str, "snapshot_url": str, "status": int, "reason": str,
                  "outcome": str, "looked_up_at": str, "archive": str, "replay_checked_at": str},
    "meta": {"key": str, "value": str},
    # Web articles (issue 16): one row per URL an article was fetched from; ``article`` is the identity
    # (the canonical URL, else the final URL) of the article row it fed, keyed like articles.resolved_path.
    "article_sources": {"url": str, "via": str, "article": str, "etag": str, "last_modified": str,
                        "body_sha256": str, "final_url": str, "listed_date": str, "last_fetched": str,
                        "last_status": int, "last_verdict": str, "last_reason": str, "last_run_id": int},
}
PKS: dict[str, Any] = {"runs": "id", "articles": "id", "urls": "url", "claims": "id", "checks": "id",
                       "snapshots": ("url", "date"), "meta": "key", "article_sources": "url"}
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "claims": [("article_id", "articles", "id"), ("url", "urls", "url")],
    "checks": [("run_id", "runs", "id"), ("url", "urls", "url")],
}
#: (table, columns, unique): what reports and datasette facets filter and join by.
INDEXES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("articles", ("path",), True), ("articles", ("resolved_path",), True), ("articles", ("removed_at",), False),
    ("claims", ("article_id",), False), ("claims", ("url",), False), ("claims", ("kind",), False),
    ("claims", ("drift",), False),
    ("checks", ("url",), False), ("checks", ("run_id",), False), ("checks", ("change",), False),
    ("urls", ("verdict",), False), ("urls", ("host",), False), ("urls", ("last_checked",), False),
    ("urls", ("confirmed_dead_at",), False), ("runs", ("status",), False), ("snapshots", ("archive",), False),
    ("articles", ("canonical_url",), False), ("article_sources", ("article",), False),
)
#: Name -> SQL of every view; replaced when the SQL changes.
VIEWS: dict[str, str] = {
    "claim_status": """
select c.id as claim_id, a.id as article_id, a.path, a.title, a.published, c.kind, c.position, c.anchor,
       c.sentence, c.source, c.url, u.host,
       case when c.url is not null then coalesce(u.verdict, 'unchecked') end as verdict, u.status, u.final_url,
       u.reason, u.last_checked, u.failures, u.first_failed, u.confirmed_dead_at,
       case when u.confirmed_dead_at is not null then 'confirmed dead'
            when u.failures > 0 then 'failing (' || u.failures || ' of '
                 || coalesce((select value from meta where key = 'rot_checks'), '3') || ')'
       end as rot,
       s.timestamp as snapshot_timestamp, s.snapshot_url, c.drift, c.live_score, c.snapshot_score, c.drift_since,
       s.archive as snapshot_archive
from claims c join articles a on a.id = c.article_id
left join urls u on u.url = c.url
left join snapshots s on s.url = c.url and s.date = coalesce(nullif(a.published, ''), substr(a.first_seen, 1, 10), '')
where a.removed_at is null""",
    "broken_claims": """
select * from claim_status where kind = 'link' and verdict in ('dead', 'soft404')""",
    "broken_claims_per_article": """
select article_id, path, title, count(*) as links,
       sum(verdict in ('dead', 'soft404')) as broken,
       sum(confirmed_dead_at is not null) as confirmed_dead,
       sum(coalesce(drift, 0)) as drifted
from claim_status where kind = 'link'
group by article_id order by broken desc, confirmed_dead desc, path""",
    "claims_needing_replacement": """
select claim_id, article_id, path, title, position, anchor, sentence, url, verdict, rot, confirmed_dead_at,
       case when verdict = 'redirect' then 'citation moved: cite the final URL'
            when confirmed_dead_at is not null then 'confirmed dead: cite the snapshot or a new source'
            when verdict in ('dead', 'soft404') then 'failing: cite the snapshot if it stays down'
            else 'drift: the live page no longer carries the claim; cite the snapshot' end as why,
       case when verdict = 'redirect' then final_url else snapshot_url end as replacement,
       case when verdict = 'redirect' then null else snapshot_archive end as replacement_archive
from claim_status
where kind = 'link' and (verdict in ('dead', 'soft404', 'redirect') or confirmed_dead_at is not null or drift = 1)""",
    "url_changes": """
select ch.run_id, r.started_at as run_started_at, ch.url, ch.previous_verdict, ch.verdict, ch.change,
       ch.failures, ch.checked_at, ch.reason
from checks ch join runs r on r.id = ch.run_id
where ch.change is not null""",
}
FTS_COLUMNS = ("sentence", "anchor", "source", "evidence_then", "evidence_now")


# --------------------------------------------------------------------------- opening


def cited_date(published: str | None, first_seen: str | None) -> str:
    """The day an article's links were cited: its publication date, else the day the audit first saw it.

    An undated article's snapshots are chosen for that day (the closest
    stand-in for when it was cited), not for "the latest capture".
    """
    return published or (first_seen or "")[:10]


def check_database_file(path: Path, existing: bool = False) -> None:
    """Refuse a corrupt or foreign file without writing a byte to it (read-only look).

    ``existing``: the caller only reads (``provenance report``), so the file
    must already be a provenance database; an empty file or an SQLite file
    without our tables is refused rather than given a schema.
    """
    if existing:
        if not path.exists():
            raise StoreError(f"no database at {path}: run 'provenance audit' first")
        if path.is_file() and path.stat().st_size == 0:
            raise StoreError(f"{path} is empty, not a provenance database; run 'provenance audit' to create one")
    if not path.exists() or path.stat().st_size == 0:
        return
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database")
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror or exc}") from exc
    if header[:16] != b"SQLite format 3\x00":
        raise StoreError(f"{path} is not an SQLite database; refusing to touch it")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(f"{path} belongs to another program (application id {app_id:#x}); refusing to touch it")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            names = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            problem = conn.execute("pragma quick_check(1)").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is corrupt or unreadable ({exc}); refusing to touch it") from exc
    if problem != "ok":
        detail = " ".join(str(problem).replace("*** in database main ***", "").split())[:200]
        raise StoreError(f"{path} is corrupt ({detail}); refusing to touch it")
    if names and app_id == 0 and not _OUR_CORE_TABLES <= names:
        # No stamp and not the tables every provenance database has: a table called "urls" alone is
        # somebody else's data, never to be altered.
        raise StoreError(f"{path} is a database of another program; refusing to touch it")
    if existing and not {"runs", "articles"} <= names:
        raise StoreError(f"{path} is not a provenance database (no audit has written to it); "
                         f"run 'provenance audit' to create one")


def open_store(path: Path, create: bool = True) -> sqlite_utils.Database:
    """Open the database in WAL mode; refuse corrupt or foreign files.

    ``create=False`` (readers such as ``provenance report``): the file must
    already be a provenance database; only an audit creates one.
    """
    path = Path(path)
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create directory for database {path}: {exc.strerror or exc}") from exc
    check_database_file(path, existing=not create)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        db.execute("PRAGMA foreign_keys=ON")
        written_by = _schema_version(db)
        if written_by > SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{path} was written by a newer provenance (schema {written_by}; this one knows up to "
                             f"{SCHEMA_VERSION}): upgrade provenance rather than let an older one rewrite it")
        ensure_schema(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use database {path}: {exc}") from exc
    return db


def _schema_version(db: sqlite_utils.Database) -> int:
    """The schema version the database says it has (0: none yet, or not a number)."""
    if not db["meta"].exists():
        return 0
    row = db.execute("select value from meta where key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except (TypeError, ValueError):
        return 0


def close_store(db: sqlite_utils.Database) -> None:
    """Fold the WAL back into the main file (one file to copy or cache), then close."""
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError:
        pass  # a reader holds the WAL; SQLite checkpoints later
    db.close()


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or migrate every table, index, view and the FTS index; safe to run each time.

    Only what is missing is written, so opening an up-to-date database (a
    report while an audit runs) takes no write lock.
    """
    existing_views = {row["name"]: row["sql"] for row in
                      db.query("select name, sql from sqlite_master where type = 'view'")}
    index_names = {row["name"] for row in db.query("select name from sqlite_master where type = 'index'")}
    todo = []
    if db.execute("pragma application_id").fetchone()[0] != APPLICATION_ID:
        todo.append(lambda: db.execute(f"PRAGMA application_id = {APPLICATION_ID}"))
    for table in ("runs", "articles", "urls", "claims", "checks", "snapshots", "meta", "article_sources"):
        columns = COLUMNS[table]
        if not db[table].exists():
            todo.append(lambda t=table, c=columns: db[t].create(c, pk=PKS[t], foreign_keys=FOREIGN_KEYS.get(t, [])))
        else:
            have = set(db[table].columns_dict)
            for name, kind in columns.items():
                if name not in have:
                    todo.append(lambda t=table, n=name, k=kind: db[t].add_column(n, k))
    for table, columns, unique in INDEXES:
        if f"idx_{table}_{'_'.join(columns)}" not in index_names:
            todo.append(lambda t=table, c=columns, u=unique: db[t].create_index(list(c), if_not_exists=True, unique=u))
    for name, sql in VIEWS.items():
        want = f"CREATE VIEW {name} AS {sql.strip()}"
        if existing_views.get(name) != want:
            if name in existing_views:
                todo.append(lambda n=name: db.execute(f"DROP VIEW {n}"))
            todo.append(lambda w=want: db.execute(w))
    if not db["claims_fts"].exists():
        todo.append(lambda: db["claims"].enable_fts(list(FTS_COLUMNS), create_triggers=True))
    elif set(db["claims_fts"].columns_dict) != set(FTS_COLUMNS):
        # A database from before the evidence columns: index them too (rebuilt from the claims table).
        todo.append(lambda: db["claims"].enable_fts(list(FTS_COLUMNS), create_triggers=True, replace=True))
    if _schema_version(db) != SCHEMA_VERSION:
        todo.append(lambda: db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key"))
    if todo:
        with db.atomic():
            for step in todo:
                step()


@contextmanager
def audit_lock(db_path: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """One audit per database: a second one waits up to ``wait`` seconds, then StoreError.

    An OS file lock (flock) on ``<db>-lock`` beside the database, so a run
    killed with SIGKILL releases it with its process and never leaves a
    stale lock. The file is removed when the run ends (a folder holding
    only the database is what users copy and CI caches). Removing a lock
    file others may be waiting on is safe because a waiter that gets the
    lock checks the path still names the file it locked, and starts over
    when it does not (the lock then lives on a new file).
    """
    lock_path = Path(str(db_path) + "-lock")
    try:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create directory for database {db_path}: {exc.strerror or exc}") from exc
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            handle = open(lock_path, "a+")
        except OSError as exc:
            raise StoreError(f"cannot create lock file {lock_path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise StoreError(f"cannot lock {lock_path}: {exc.strerror or exc}") from exc
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                handle.close()
                raise StoreError(f"another audit (pid {holder}) is using {db_path}; "
                                 f"waited {wait:g}s, try again later") from None
            handle.close()
            time.sleep(LOCK_POLL)
            continue
        if _same_file(handle, lock_path):
            break
        handle.close()  # the holder removed the file as we took its lock: take the lock on the new one
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        try:
            os.unlink(lock_path)  # still ours while we hold the lock
        except OSError:
            pass
        handle.close()  # closing releases the flock


def _same_file(handle: Any, path: Path) -> bool:
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite_utils.Database, values: dict[str, Any]) -> None:
    with db.atomic():
        for key, value in values.items():
            db.execute("insert into meta (key, value) values (?, ?) on conflict(key) do update set value = excluded.value",
                       [key, str(value)])


# --------------------------------------------------------------------------- runs


def start_run(db: sqlite_utils.Database, options: dict, offline: bool, now: datetime | None = None) -> int:
    """A new run row; earlier runs still marked running were killed (we hold the lock)."""
    with db.atomic():
        db.execute("update runs set status = 'interrupted' where status = 'running' or "
                   "(status is null and finished_at is null)")
        return db["runs"].insert({"started_at": iso_z(now or utc_now()), "status": "running",
                                  "options": json.dumps(options, default=str), "offline": int(offline),
                                  "pid": os.getpid()}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, articles: int, claims: int, urls: int, verdicts: dict,
               now: datetime | None = None, **counts: int) -> None:
    with db.atomic():
        db["runs"].update(run_id, {"finished_at": iso_z(now or utc_now()), "status": "finished",
                                   "articles": articles, "claims": claims, "urls": urls,
                                   "verdicts": json.dumps(verdicts), **counts})


def set_run_offline(db: sqlite_utils.Database, run_id: int, offline: bool) -> None:
    with db.atomic():
        db.execute("update runs set offline = ? where id = ?", [int(offline), run_id])


# --------------------------------------------------------------------------- articles and claims


def known_articles(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """resolved path (else path) -> {id, path, file_sha256, extractor_version, removed_at} of every article stored."""
    return {row["resolved_path"] or row["path"]: row for row in
            db.query("select id, path, resolved_path, file_sha256, extractor_version, removed_at from articles "
                     "order by resolved_path is not null")}  # a row with its real path wins over a legacy one


def migrate_resolved_paths(db: sqlite_utils.Database, base: Path | None = None) -> int:
    """Give rows written before ``resolved_path`` existed their real path; idempotent, returns rows filled.

    Their ``path`` is what was typed, relative to the folder the audit ran in,
    so it is resolved against ``base`` (the working folder: a nightly job runs
    in the same place). Two old rows for one file (``seeds/a.txt`` and
    ``/abs/seeds/a.txt``, the old path-as-typed identity) keep the one seen
    last; the other is marked removed, with its history kept.
    """
    base = Path(base or os.getcwd())
    rows = list(db.query("select id, path, removed_at from articles where resolved_path is null "
                         "order by removed_at is not null, last_seen desc, id desc"))
    if not rows:
        return 0
    taken = {r[0] for r in db.execute("select resolved_path from articles where resolved_path is not null")}
    stamp = iso_z(utc_now())
    filled = 0
    with db.atomic():
        for row in rows:
            real = os.path.realpath(os.path.join(base, row["path"]))
            if real in taken:
                if row["removed_at"] is None:
                    db.execute("update articles set removed_at = ? where id = ?", [stamp, row["id"]])
                continue
            taken.add(real)
            db.execute("update articles set resolved_path = ? where id = ?", [real, row["id"]])
            filled += 1
    return filled


def _show_as(cur: sqlite3.Cursor, article_id: int, path: str) -> None:
    """Free the display ``path`` for this article: another row holding it (a file seen from another
    folder) shows its resolved path instead, so ``path`` stays unique and meaningful."""
    cur.execute("update articles set path = coalesce(resolved_path, path || ' #' || id) where path = ? and id != ?",
                [path, article_id])


def touch_articles(db: sqlite_utils.Database, article_ids: Sequence[int], run_id: int, now: datetime,
                   paths: Sequence[str] | None = None) -> None:
    """Unchanged articles: seen again (and back if they had been marked removed).

    ``paths``: their display paths this run (the same file may be reached from another folder).
    """
    stamp = iso_z(now)
    with db.atomic():
        cur = db.conn.cursor()
        if paths is not None:
            for article_id, path in zip(article_ids, paths):
                _show_as(cur, article_id, path)
                cur.execute("update articles set path = ? where id = ?", [path, article_id])
        cur.executemany("update articles set last_seen = ?, removed_at = null, last_run_id = ? where id = ?",
                        [(stamp, run_id, i) for i in article_ids])


def save_articles(db: sqlite_utils.Database, items: Sequence[tuple[Article, str] | tuple[Article, str, str]],
                  run_id: int | None = None, now: datetime | None = None) -> list[int]:
    """Insert or update articles with their claims in ONE transaction; returns their ids.

    ``items`` pairs each article with the sha256 of its file bytes (the
    incremental key) and, optionally, its resolved path (its identity;
    without it ``article.path`` is). Drift already judged for an unchanged (url, sentence)
    is carried over to the new claim rows, so editing one paragraph does not
    forget what is known about the others.
    """
    stamp = iso_z(now or utc_now())
    ids: list[int] = []
    with db.atomic():
        cur = db.conn.cursor()
        for article, sha, *rest in items:
            resolved = rest[0] if rest else None  # None: identified by path until an audit migrates it
            record = {"path": article.path, "resolved_path": resolved, "content_hash": article.content_hash or sha, "file_sha256": sha,
                      "title": article.title, "published": article.published, "updated": article.updated,
                      "authors": json.dumps(article.authors, ensure_ascii=False),
                      "canonical_url": article.canonical_url, "format": article.format,
                      "claim_count": len(article.claims), "last_seen": stamp, "removed_at": None,
                      "last_run_id": run_id, "extractor_version": __version__}
            row = cur.execute("select id from articles where resolved_path = ?", [resolved]).fetchone() if rest else None
            if row is None and not rest:  # a caller without resolved paths (a row as before they existed)
                row = cur.execute("select id from articles where path = ? and resolved_path is null",
                                  [article.path]).fetchone()
            carried: dict[tuple[str, str], tuple] = {}
            if row:
                article_id = row[0]
                _show_as(cur, article_id, article.path)
                sets = ", ".join(f"{k} = ?" for k in record)
                cur.execute(f"update articles set {sets} where id = ?", [*record.values(), article_id])
                for c in cur.execute("select url, sentence, drift, live_score, snapshot_score, drift_reason, "
                                     "drift_judged_at, drift_since, evidence_then, evidence_now, evidence_diff "
                                     "from claims where article_id = ? and "
                                     "drift_judged_at is not null", [article_id]):
                    carried[(c[0], c[1])] = c[2:]
                cur.execute("delete from claims where article_id = ?", [article_id])
            else:
                record["first_seen"] = stamp
                _show_as(cur, -1, article.path)
                cols = ", ".join(record)
                cur.execute(f"insert into articles ({cols}) values ({', '.join('?' for _ in record)})",
                            list(record.values()))
                article_id = cur.lastrowid
            ids.append(article_id)
            urls = {c.url for c in article.claims if c.url}
            cur.executemany("insert into urls (url, host) values (?, ?) on conflict(url) do nothing",
                            [(u, _host(u)) for u in urls])
            rows = []
            for c in article.claims:
                old = carried.get((c.url, c.sentence), (None,) * 9)
                rows.append((article_id, c.kind, c.url, c.anchor, c.sentence, c.source, c.position, c.fragment, *old))
            cur.executemany("insert into claims (article_id, kind, url, anchor, sentence, source, position, fragment, "
                            "drift, live_score, snapshot_score, drift_reason, drift_judged_at, drift_since, "
                            "evidence_then, evidence_now, evidence_diff) "
                            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return ids


_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#\[\]]*)(?=[:/?#]|$)")


def _host(url: str) -> str:
    """urls.host_of, with a fast path for the common case (100,000 claims are stored in seconds)."""
    match = _HOST.match(url)
    if match:
        return match.group(1).lower()
    from .urls import host_of

    return host_of(url)


def save_article(db: sqlite_utils.Database, article: Article) -> int:
    """One article (compatibility wrapper around :func:`save_articles`)."""
    import hashlib

    return save_articles(db, [(article, article.content_hash or hashlib.sha256(article.path.encode()).hexdigest())])[0]


def mark_removed(db: sqlite_utils.Database, keep_paths: Iterable[str], now: datetime,
                 roots: Iterable[Path | str] | None = None, unreadable: Iterable[Path | str] = ()) -> int:
    """Articles deleted from the audited folders get ``removed_at``; their rows and history stay.

    With ``roots`` (resolved input files and folders, as an audit passes
    them), an article is retired only when its real file lies under a root,
    not under a folder that could not be listed (``unreadable``), and no
    longer exists: auditing one file, or a folder by another name, retires
    nothing else. Without ``roots``, every article not in ``keep_paths``.
    """
    keep = set(keep_paths)
    if roots is None:
        rows = [r["id"] for r in db.query("select id, path from articles where removed_at is null")
                if r["path"] not in keep]
    else:
        under = [str(r) for r in roots]
        blind = [str(u) for u in unreadable]
        rows = []
        for r in db.query("select id, path, resolved_path from articles where removed_at is null"):
            real = r["resolved_path"] or r["path"]
            if real in keep or not _within(real, under) or _within(real, blind) or os.path.exists(real):
                continue
            rows.append(r["id"])
    with db.atomic():
        db.conn.executemany("update articles set removed_at = ? where id = ?", [(iso_z(now), i) for i in rows])
    return len(rows)


def _within(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def load_articles(db: sqlite_utils.Database, paths: Sequence[str]) -> list[tuple[dict, list[dict]]]:
    """Article rows (in ``paths`` order: resolved paths, or display paths) with their claim rows by position."""
    live = list(db.query("select * from articles where removed_at is null"))
    by_path = {r["path"]: r for r in live}
    by_path.update({r["resolved_path"]: r for r in live if r["resolved_path"]})
    wanted = [by_path[p] for p in paths if p in by_path]
    claims: dict[int, list[dict]] = {r["id"]: [] for r in wanted}
    for row in db.query("select * from claims order by article_id, position, id"):
        if row["article_id"] in claims:
            claims[row["article_id"]].append(row)
    return [(r, claims[r["id"]]) for r in wanted]


# --------------------------------------------------------------------------- URLs, rot and checks


@dataclass
class RotPolicy:
    """When a failing URL counts as rotten: ``checks`` failing checks at least ``gap`` apart.

    The rule of Wikipedia's InternetArchiveBot: one bad night is not rot.
    Only ``dead`` and ``soft404`` count; ``error``, ``blocked`` and
    ``unchecked`` say nothing about the page and never count; a success resets.
    """

    checks: int = 3
    gap: timedelta = timedelta(days=3)


def url_rows(db: sqlite_utils.Database, urls: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    if urls is None:
        return {r["url"]: r for r in db.query("select * from urls")}
    wanted = set(urls)
    return {r["url"]: r for r in db.query("select * from urls") if r["url"] in wanted}


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=utc_now().tzinfo)
    except ValueError:
        return None


def next_url_state(row: dict[str, Any] | None, result: CheckResult, now: datetime,
                   policy: RotPolicy) -> tuple[dict[str, Any], dict[str, Any]]:
    """The URL row's new fields and the check row's history fields after one check.

    Pure, so the rot rule is tested without a database or a network.
    """
    row = row or {}
    stamp = iso_z(now)
    previous = row.get("verdict")
    failures = row.get("failures") or 0
    update: dict[str, Any] = {"last_attempt": stamp, "last_attempt_verdict": result.verdict}
    history: dict[str, Any] = {"previous_verdict": previous, "change": None, "failures": failures, "counted": 0}
    if result.verdict == "unchecked":
        return update, history  # no observation: keep every known verdict and count
    update.update({"verdict": result.verdict, "status": result.status, "final_url": result.final_url,
                   "reason": result.reason, "signature": result.signature, "last_checked": stamp})
    if not row.get("first_checked"):
        update["first_checked"] = stamp
    change = None
    confirmed = row.get("confirmed_dead_at")
    if result.verdict in ROT_VERDICTS:
        last = parse_iso(row.get("last_failed"))
        if failures == 0 or last is None:
            failures, counted = 1, True
            update["first_failed"] = stamp
            change = "newly_failing"
        elif now - last >= policy.gap:
            failures, counted = failures + 1, True
        else:
            counted = False
        if counted:
            update["last_failed"] = stamp
            history["counted"] = 1
        if failures >= policy.checks and not confirmed:
            update["confirmed_dead_at"] = stamp
            change = "newly_confirmed_dead"
    elif result.verdict in GOOD_VERDICTS:
        if confirmed:
            # Resurrection: a link confirmed dead answers again. Reported as back, and its rot state starts over.
            change = "back"
            update["back_at"] = stamp
        elif failures:
            change = "recovered"
        failures = 0
        update.update({"first_failed": None, "last_failed": None, "confirmed_dead_at": None})
    update["failures"] = failures
    history["failures"] = failures
    if change is None and previous != result.verdict:
        change = "new" if previous is None else "changed"
    history["change"] = change
    return update, history


def save_checks(db: sqlite_utils.Database, run_id: int, results: Iterable[CheckResult],
                now: datetime | None = None, policy: RotPolicy | None = None,
                drifts: Sequence[tuple[int, Drift]] = ()) -> Counter:
    """Record checks (history), update each URL's state and rot count, and claims' drift: one transaction.

    Returns how many checks made each kind of change.
    """

    policy = policy or RotPolicy()
    results = list(results)
    moment = now or utc_now()
    stamp = iso_z(moment)
    changes: Counter = Counter()
    with db.atomic():
        cur = db.conn.cursor()
        known = {}
        for start in range(0, len(results), 500):
            chunk = [r.url for r in results[start:start + 500]]
            cur.execute(f"select * from urls where url in ({', '.join('?' for _ in chunk)})", chunk)
            names = [d[0] for d in cur.description]
            for values in cur.fetchall():
                known[values[0]] = dict(zip(names, values))
        check_rows = []
        for r in results:
            if r.url not in known:
                cur.execute("insert into urls (url, host) values (?, ?) on conflict(url) do nothing", [r.url, _host(r.url)])
            update, history = next_url_state(known.get(r.url), r, moment, policy)
            if history["change"]:
                changes[history["change"]] += 1
            sets = ", ".join(f"{k} = ?" for k in update)
            cur.execute(f"update urls set {sets} where url = ?", [*update.values(), r.url])
            check_rows.append((run_id, r.url, r.verdict, r.status, r.final_url, r.reason, r.attempts, r.elapsed_ms,
                               r.checked_at or stamp, history["previous_verdict"], history["change"],
                               history["failures"], history["counted"]))
        cur.executemany("insert into checks (run_id, url, verdict, status, final_url, reason, attempts, elapsed_ms, "
                        "checked_at, previous_verdict, change, failures, counted) "
                        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", check_rows)
        changes["new_drift"] += _save_drifts(cur, drifts, stamp)
    return changes


def _save_drifts(cur: sqlite3.Cursor, drifts: Sequence[tuple[int, Drift]], stamp: str) -> int:
    new = 0
    for claim_id, d in drifts:
        before = cur.execute("select drift, drift_since from claims where id = ?", [claim_id]).fetchone()
        if before is None:
            continue
        value = None if d.drift is None else int(d.drift)
        since = before[1] if (before[0] == 1 and value == 1) else (stamp if value == 1 else None)
        if value == 1 and before[0] != 1:
            new += 1
        cur.execute("update claims set drift = ?, live_score = ?, snapshot_score = ?, drift_reason = ?, "
                    "drift_judged_at = ?, drift_since = ?, evidence_then = ?, evidence_now = ?, evidence_diff = ? "
                    "where id = ?",
                    [value, d.live_score, d.snapshot_score, d.reason, stamp, since, d.then, d.now, d.diff, claim_id])
    return new


def save_drifts(db: sqlite_utils.Database, drifts: Sequence[tuple[int, Drift]], now: datetime | None = None) -> int:
    with db.atomic():
        return _save_drifts(db.conn.cursor(), drifts, iso_z(now or utc_now()))


# --------------------------------------------------------------------------- snapshots


def snapshot_outcome(snapshot: Snapshot) -> str:
    """found | none (the archive answered: no good capture) | error (the lookup failed; ask again)."""
    if snapshot.timestamp:
        return "found"
    return "error" if getattr(snapshot, "failed", False) else "none"


def snapshot_archive(snapshot: Snapshot) -> str | None:
    """The archive holding a capture: as the lookup named it, else its URL's host (rows from before archives)."""
    if not snapshot.timestamp:
        return None
    if snapshot.archive:
        return snapshot.archive
    host = _host(snapshot.snapshot_url or "")
    return (host[4:] if host.startswith("www.") else host) or None


def snapshot_rows(db: sqlite_utils.Database) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["url"], r["date"]): r for r in db.query("select * from snapshots")}


def save_snapshots(db: sqlite_utils.Database, found: dict[tuple[str, str | None], Snapshot],
                   now: datetime | None = None) -> None:
    """Cache lookups, (url, date) -> capture, in one transaction; errors are kept but retried next run."""
    stamp = iso_z(now or utc_now())
    with db.atomic():
        cur = db.conn.cursor()
        cur.executemany("insert into urls (url, host) values (?, ?) on conflict(url) do nothing",
                        [(u, _host(u)) for u in {k[0] for k in found}])
        cur.executemany(
            "insert into snapshots (url, date, timestamp, snapshot_url, status, reason, outcome, looked_up_at, archive) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict(url, date) do update set timestamp = excluded.timestamp, "
            "snapshot_url = excluded.snapshot_url, status = excluded.status, reason = excluded.reason, "
            "outcome = excluded.outcome, looked_up_at = excluded.looked_up_at, archive = excluded.archive, "
            "replay_checked_at = case when snapshots.snapshot_url is excluded.snapshot_url "
            "then snapshots.replay_checked_at end",
            [(url, date or "", s.timestamp, s.snapshot_url, s.status, s.reason, snapshot_outcome(s), stamp,
              snapshot_archive(s)) for (url, date), s in found.items()])
        cur.executemany("update urls set snapshot_timestamp = ?, snapshot_url = ?, snapshot_archive = ? where url = ?",
                        [(s.timestamp, s.snapshot_url, snapshot_archive(s), url)
                         for (url, _d), s in found.items() if s.timestamp])


def mark_replays_checked(db: sqlite_utils.Database, keys: Sequence[tuple[str, str | None]],
                         now: datetime | None = None) -> None:
    """Record that the captures of these (url, date) rows were replayed and found good copies."""
    stamp = iso_z(now or utc_now())
    with db.atomic():
        db.conn.executemany("update snapshots set replay_checked_at = ? where url = ? and date = ?",
                            [(stamp, url, date or "") for url, date in keys])


#: A lookup that found no good capture is asked again after this long (archives keep capturing).
SNAPSHOT_RETRY_NONE = timedelta(days=7)


def snapshot_lookup_due(row: dict[str, Any] | None, now: datetime, force: bool = False) -> bool:
    """Must this (url, date) be asked of the archives again, given its cached row? (audit and snapshot alike)

    A capture found stays found; a failed lookup is asked again; "no good
    capture" is asked again after SNAPSHOT_RETRY_NONE (or with ``force``).
    """
    if row is None or row["outcome"] == "error":
        return True
    if row["outcome"] == "found":
        return False
    looked = parse_iso(row["looked_up_at"])
    return force or looked is None or now - looked >= SNAPSHOT_RETRY_NONE


def snapshot_from_row(row: dict[str, Any]) -> Snapshot:
    """The cached answer of a (url, date) row, as a lookup would have given it."""
    return Snapshot(url=row["url"], timestamp=row["timestamp"], snapshot_url=row["snapshot_url"],
                    status=row["status"], reason=row["reason"] or "", archive=row.get("archive"))


def cached_snapshots(db: sqlite_utils.Database, pairs: Iterable[tuple[str, str | None]],
                     now: datetime | None = None) -> dict[tuple[str, str | None], Snapshot]:
    """The cached answers of these (url, date) lookups that need not be asked again (snapshot_lookup_due)."""
    rows, moment = snapshot_rows(db), now or utc_now()
    return {(url, date): snapshot_from_row(rows[(url, date or "")]) for url, date in pairs
            if not snapshot_lookup_due(rows.get((url, date or "")), moment)}


def read_url_history(path: Path, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What the database last recorded for these URLs, read without writing a byte (``check --db``).

    Refuses corrupt or foreign files (StoreError) as every command does; a
    provenance database without a ``urls`` table yet gives {}.
    """
    check_database_file(path, existing=True)
    wanted = list(dict.fromkeys(urls))
    found: dict[str, dict[str, Any]] = {}
    try:
        conn = sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            conn.row_factory = sqlite3.Row
            if conn.execute("select 1 from sqlite_master where type = 'table' and name = 'urls'").fetchone() is None:
                return {}
            columns = {row[1] for row in conn.execute("pragma table_info(urls)")}
            fields = [c for c in ("verdict", "status", "last_checked", "failures", "confirmed_dead_at") if c in columns]
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = conn.execute(f"select url, {', '.join(fields)} from urls "
                                    f"where url in ({', '.join('?' for _ in chunk)})", chunk)
                for row in rows:
                    if row["verdict"] is not None:  # a row never checked (a run cut short) is no history
                        found[row["url"]] = {f: row[f] for f in fields}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read database {path}: {exc}") from exc
    return found


def save_snapshot(db: sqlite_utils.Database, snapshot: Snapshot, date: str | None) -> None:
    save_snapshots(db, {(snapshot.url, date): snapshot})


# --------------------------------------------------------------------------- web articles (article_sources)


def source_rows(db: sqlite_utils.Database, urls: Iterable[str] | None = None,
                via: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """url -> article_sources row: every one, those for ``urls``, or those listed by ``via`` (a sitemap, a feed)."""
    if not db["article_sources"].exists():
        return {}
    rows = {r["url"]: r for r in db.query("select * from article_sources")}
    if urls is not None:
        wanted = set(urls)
        rows = {u: r for u, r in rows.items() if u in wanted}
    if via is not None:
        vias = set(via)
        rows = {u: r for u, r in rows.items() if r["via"] in vias}
    return rows


def save_sources(db: sqlite_utils.Database, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert what each article fetch learned (validators, body hash, verdict), one transaction."""
    if rows:
        with db.atomic():
            db["article_sources"].upsert_all(list(rows), pk="url", alter=False)


def article_for_url(db: sqlite_utils.Database, identity: str) -> dict[str, Any] | None:
    """The article row a web article's identity URL names: its own row, else a file with that canonical URL.

    One article, one record: a page fetched from the web and the same page
    saved as a file (its canonical link naming the page) share history.
    """
    for sql in ("select * from articles where resolved_path = ?",
                "select * from articles where canonical_url = ? order by removed_at is not null, last_seen desc"):
        row = next(iter(db.query(sql, [identity])), None)
        if row is not None:
            return row
    return None


def fetch_failures(db: sqlite_utils.Database, run_id: int | None) -> list[dict[str, Any]]:
    """Article URLs this run could not fetch (for index.md)."""
    if run_id is None or not db["article_sources"].exists():
        return []
    return list(db.query("select url, last_verdict, last_status, last_reason from article_sources "
                         "where last_run_id = ? and last_verdict not in ('ok', 'redirect') order by url", [run_id]))


def adopt_web_article(db: sqlite_utils.Database, canonical_url: str, resolved: str) -> bool:
    """A new file whose canonical URL names an article first fetched from the web takes over its record.

    The row keeps its id, claims, drift and reports; its identity becomes the
    file (``resolved``), and web fetches find it again by its canonical URL.
    """
    row = next(iter(db.query("select id from articles where resolved_path = ?", [canonical_url])), None)
    if row is None or not re.match(r"https?://", canonical_url, re.I):
        return False
    with db.atomic():
        db.execute("update articles set resolved_path = ? where id = ?", [resolved, row["id"]])
    return True
