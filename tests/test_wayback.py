"""wayback.py as a library: capture choice, politeness, deadlines, replays, Save Page Now."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from fake_wayback import FakeWayback
from orderings import assert_cumulative_gaps
from provenance import wayback
from provenance.models import Snapshot
from provenance.wayback import WaybackOptions, choose_capture


def opts(fake: FakeWayback, **kw) -> WaybackOptions:
    base = dict(base_url=fake.base_url, timeout=2.0, retries=0, backoff=0.05, deadline=30.0)
    base.update(kw)
    return WaybackOptions(**base)


# --------------------------------------------------------------------------- choose_capture


@pytest.mark.parametrize("captures, date, expected", [
    ([("20241101000000", 200), ("20241121000000", 200)], "2024-11-20", "20241101000000"),
    ([("20241101000000", 200), ("20241119000000", 404)], "2024-11-20", "20241101000000"),
    ([("20241120235959", 200), ("20241121000000", 200)], "2024-11-20", "20241120235959"),
    ([("20250101000000", 200), ("20241201000000", 200)], "2024-11-20", "20241201000000"),
    ([("20241101000000", 404), ("20241201000000", 302), ("20241202000000", None)], "2024-11-20", None),
    ([], "2024-11-20", None),
    ([("20200101000000", 200), ("20230101000000", 200), ("20240101000000", 500)], None, "20230101000000"),
    ([("20241101", 200)], "2024-11-20", "20241101000000"),
])
def test_choose_capture(captures, date, expected):
    assert choose_capture(captures, date) == expected


def test_options_base_url_from_argument_env_and_default(monkeypatch):
    monkeypatch.setenv("PROVENANCE_WAYBACK_URL", "http://mirror.example:8080/")
    assert WaybackOptions().base_url == "http://mirror.example:8080"
    assert WaybackOptions(base_url="http://arg.example").base_url == "http://arg.example"
    monkeypatch.delenv("PROVENANCE_WAYBACK_URL")
    default = WaybackOptions()
    assert default.base_url == "https://web.archive.org"
    assert default.effective_api_interval == wayback.ARCHIVE_API_INTERVAL   # the public Archive's limit
    assert WaybackOptions(base_url="http://127.0.0.9:1").effective_api_interval == 0.0
    assert WaybackOptions(concurrency=500).concurrency == wayback.MAX_CONCURRENCY


def test_retry_after_parsing():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert wayback.retry_after_seconds("7") == 7.0
    assert wayback.retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert wayback.retry_after_seconds("soon") is None
    assert wayback.retry_after_seconds(None) is None


# --------------------------------------------------------------------------- lookups on the wire


def test_cdx_queries_ask_a_small_window_with_the_real_parameters(fake):
    url = "https://example.org/popular"
    for day in range(1, 29):   # many captures: we must not read them from the oldest
        fake.add(url, f"202402{day:02d}000000")
        fake.add(url, f"202411{day:02d}000000" if day != 20 else "20241120000000")
    snap = wayback.find_snapshot(url, "2024-11-20", opts(fake))
    assert snap.timestamp == "20241120000000"
    (query,) = fake.calls.cdx_queries
    assert query["output"] == ["json"] and query["filter"] == ["statuscode:200"]
    assert query["to"] == ["20241120235959"] and int(query["limit"][0]) < 0


def test_concurrency_is_bounded_on_the_server_side(fake):
    urls = [f"https://example.org/page{i}" for i in range(12)]
    for u in urls:
        fake.add(u, "20241101000000")
    seen: list[Snapshot] = []
    found = wayback.find_snapshots([(u, "2024-11-20") for u in urls] + [(urls[0], "2024-11-20")],
                                   opts(fake, concurrency=2), progress=seen.append)
    assert len(found) == 12 and len(seen) == 12
    assert all(s.timestamp == "20241101000000" for s in found.values())
    assert fake.site.stats.peak <= 2
    assert fake.calls.cdx == 12            # one query each, duplicates asked once


def test_429_pauses_everyone_and_persistent_429_stops_asking(fake):
    urls = [f"https://example.org/r{i}" for i in range(6)]
    for u in urls:
        fake.add(u, "20241101000000")
    fake.rate_limit("cdx", times=1000, retry_after="0")
    fake.rate_limit("available", times=1000, retry_after="0")
    found = wayback.find_snapshots([(u, None) for u in urls], opts(fake, retries=1, concurrency=1))
    assert all(s.timestamp is None and s.failed for s in found.values())
    assert any("429" in s.reason for s in found.values())
    # after the first lookup keeps getting 429s we stop: no hammering of the other five
    assert fake.calls.cdx + fake.calls.available <= 3


def test_breaker_skips_the_rest_when_the_wayback_is_down(fake):
    urls = [f"https://example.org/d{i}" for i in range(10)]
    fake.fail("cdx", 503)
    fake.fail("available", 503)
    found = wayback.find_snapshots([(u, None) for u in urls], opts(fake, concurrency=1))
    assert all(s.failed and s.timestamp is None for s in found.values())
    assert fake.calls.cdx <= wayback.BREAKER_FAILURES + 1
    assert any("skipped" in s.reason for s in found.values())


def test_hard_deadline_bounds_a_hanging_wayback(fake):
    urls = [f"https://example.org/h{i}" for i in range(6)]
    fake.hang("cdx")
    fake.hang("available")
    seen: list[Snapshot] = []
    deadline, concurrency = 1.5, 2
    found = wayback.find_snapshots([(u, "2024-11-20") for u in urls],
                                   opts(fake, timeout=5.0, deadline=deadline, concurrency=concurrency),
                                   progress=seen.append)
    assert set(found) == {(u, "2024-11-20") for u in urls}
    assert len(seen) == len(urls)
    assert all(s.timestamp is None and s.failed for s in found.values())
    # Every lookup ends because of the batch deadline, not the 5 s per-call timeout: the calls in
    # flight were cut to the time left, and the rest never started ("waiting for a turn").
    assert all("deadline" in s.reason for s in found.values()), [s.reason for s in found.values()]
    cut = [float(t) for s in found.values() for t in re.findall(r"timeout after ([\d.]+)s", s.reason)]
    assert all(t <= deadline for t in cut), cut
    assert sum("deadline reached while waiting for a turn" in s.reason.split(";")[0] for s in found.values()) \
        >= len(urls) - concurrency
    # No request started after the deadline: only the first lookups reached the server (without the
    # deadline all six URLs would be asked, twice each). A real hang is caught by pytest's timeout.
    assert fake.calls.cdx + fake.calls.available <= concurrency


def test_invalid_date_is_recorded_not_raised(fake):
    snap = wayback.find_snapshot("https://example.org/x", "yesterday", opts(fake))
    assert snap.timestamp is None and "invalid date" in snap.reason
    assert fake.calls.cdx == 0


def test_find_snapshots_works_inside_a_running_event_loop(fake):
    url = "https://example.org/in-loop"
    fake.add(url, "20241101000000")

    async def caller() -> Snapshot:
        return wayback.find_snapshot(url, "2024-11-20", opts(fake))

    assert asyncio.run(caller()).timestamp == "20241101000000"


def test_availability_fallback_reads_the_real_json(fake):
    url = "https://example.org/avail"
    fake.add(url, "20241118000000")
    fake.add(url, "20241125000000")
    fake.fail("cdx", 500)
    snap = wayback.find_snapshot(url, "2024-11-20", opts(fake))
    assert snap.timestamp == "20241118000000" and "availability" in snap.reason
    assert not snap.failed


# --------------------------------------------------------------------------- replays


def test_fetch_snapshot_htmls_reads_raw_replays(fake):
    a, b = "https://example.org/a", "https://example.org/b?id=7"
    fake.add(a, "20241101000000", body="<html><body><p>Alpha text</p></body></html>")
    fake.add(b, "20241102000000", body="<html><body><p>Beta text</p></body></html>")
    o = opts(fake)
    snaps = [wayback.find_snapshot(a, "2024-11-20", o), wayback.find_snapshot(b, "2024-11-20", o),
             Snapshot(url="https://example.org/none")]
    htmls = wayback.fetch_snapshot_htmls(snaps, o)
    assert set(htmls) == {snaps[0].snapshot_url, snaps[1].snapshot_url}
    assert "Alpha text" in htmls[wayback.snapshot_key(snaps[0])]
    assert "Beta text" in htmls[wayback.snapshot_key(snaps[1])]
    assert "wm-ipp" not in htmls[snaps[0].snapshot_url]          # id_ replay: no toolbar
    assert any("id_/" in p for p in fake.site.stats.paths)
    assert wayback.fetch_snapshot_html(snaps[0], o) == htmls[snaps[0].snapshot_url]
    assert wayback.fetch_snapshot_html(snaps[2], o) is None


def test_replay_follows_wayback_redirects_and_bounds_size(fake):
    url = "https://example.org/big"
    fake.add(url, "20241101000005", body="<html><body>" + "x" * 5000 + "</body></html>")
    snap = Snapshot(url=url, timestamp="20241101000000", snapshot_url=f"{fake.base_url}/web/20241101000000/{url}")
    html = wayback.fetch_snapshot_html(snap, opts(fake, max_snapshot_bytes=1000))
    assert html is not None and len(html) == 1000                 # redirected to the nearest capture, cut short


def test_replay_of_missing_or_failing_capture_is_none(fake):
    url = "https://example.org/missing"
    snap = Snapshot(url=url, timestamp="20241101000000", snapshot_url=f"{fake.base_url}/web/20241101000000/{url}")
    assert wayback.fetch_snapshot_html(snap, opts(fake)) is None
    fake.add(url, "20241101000000")
    fake.hang("web")
    assert wayback.fetch_snapshot_html(snap, opts(fake, timeout=0.5)) is None


# --------------------------------------------------------------------------- Save Page Now


def test_save_page_now_honours_base_url(fake):
    url = "https://example.org/fresh"
    saved = wayback.save_page_now([url], opts(fake))
    snap = saved[url]
    assert snap is not None and snap.timestamp and len(snap.timestamp) == 14
    assert snap.snapshot_url == f"{fake.base_url}/web/{snap.timestamp}/{url}"
    assert fake.calls.save == 1
    # the new capture is now findable
    assert wayback.find_snapshot(url, None, opts(fake)).timestamp == snap.timestamp


def test_save_page_now_never_blocks_and_stops_on_429(fake):
    fake.hang("save")
    saved = wayback.save_page_now(["https://example.org/s1"], opts(fake), save_timeout=1.0)
    assert saved["https://example.org/s1"].timestamp is None and saved["https://example.org/s1"].failed
    # given up after save_timeout (1 s, not the 30 s batch deadline), with one request and no retry
    assert saved["https://example.org/s1"].reason == "Save Page Now: no answer in 1s"
    assert fake.calls.save == 1
    fake.rate_limit("save", times=100)
    urls = [f"https://example.org/q{i}" for i in range(4)]
    before = fake.calls.save
    saved = wayback.save_page_now(urls, opts(fake))
    assert all(saved[u].timestamp is None for u in urls)
    assert fake.calls.save - before == 1                         # the first 429 stops the rest
    assert "429" in saved[urls[0]].reason


def test_fake_cdx_speaks_the_real_format(fake):
    """The fake itself: header row, string values, [] when empty (what the real CDX does)."""
    import httpx

    fake.add("https://example.org/f", "20241101000000")
    rows = httpx.get(f"{fake.base_url}/cdx/search/cdx", params={"url": "example.org/f", "output": "json"},
                     trust_env=False).json()
    assert rows[0] == ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    assert rows[1][1] == "20241101000000" and rows[1][4] == "200"
    empty = httpx.get(f"{fake.base_url}/cdx/search/cdx", params={"url": "example.org/none", "output": "json"},
                      trust_env=False)
    assert json.loads(empty.text) == []
    avail = httpx.get(f"{fake.base_url}/wayback/available", params={"url": "example.org/none"}, trust_env=False)
    assert avail.json()["archived_snapshots"] == {}


def test_api_interval_spaces_request_starts(fake):
    """The gap between call starts (the Archive's per-minute limit), seen from the server."""
    urls = [f"https://example.org/i{i}" for i in range(4)]
    for u in urls:
        fake.add(u, "20241101000000")
    before = time.monotonic()
    found = wayback.find_snapshots([(u, "2024-11-20") for u in urls], opts(fake, api_interval=0.2, concurrency=2))
    assert all(s.timestamp for s in found.values())
    starts = fake.site.stats.starts
    assert len(starts) == 4
    assert_cumulative_gaps(starts, before, 0.2)


def test_no_capture_is_an_answer_not_a_failure(fake):
    snap = wayback.find_snapshot("https://example.org/never", "2024-11-20", opts(fake))
    assert snap.timestamp is None and not snap.failed and "no capture" in snap.reason


def test_interval_holds_across_small_batches(fake):
    """One replay per claim (many tiny batches) must be as polite as one batch."""
    urls = [f"https://example.org/p{i}" for i in range(3)]
    o = opts(fake, replay_interval=0.2)
    before = time.monotonic()
    for u in urls:
        fake.add(u, "20241101000000", body=f"<html><body>{u}</body></html>")
        snap = Snapshot(url=u, timestamp="20241101000000", snapshot_url=f"{fake.base_url}/web/20241101000000/{u}")
        assert u in (wayback.fetch_snapshot_html(snap, o) or "")
    starts = fake.site.stats.starts
    assert len(starts) == 3
    assert_cumulative_gaps(starts, before, 0.2)
