"""Snapshots from other web archives (Memento TimeMaps), on loopback archives next to the fake Wayback."""

from __future__ import annotations

import pytest

from fake_memento import FakeArchive, rfc1123
from fake_wayback import FakeWayback
from provenance import memento, wayback
from provenance.memento import LinkFormatReader, MementoOptions, memento_timestamp

DATE = "2024-11-20"
URL = "https://example.org/report"
SOFT_404 = ("<html><head><title>Page not found</title></head><body><h1>Page not found</h1>"
            "<p>Sorry, the page you requested could not be found.</p></body></html>")
#: A Sucuri CloudProxy challenge that answers 200, as archives capture such walls.
BOT_WALL = ("<html><head><title>You are being redirected...</title></head><body><script>"
            "var s={},u,c,U,r,i,l=0,a,e=eval,w=String.fromCharCode,sucuri_cloudproxy_js='',S='cz0iMHN1Y3VyaSI7';"
            "</script></body></html>")


@pytest.fixture
def archives(sim):
    made: list[FakeArchive] = []

    def make(page_size: int | None = None) -> FakeArchive:
        made.append(FakeArchive(sim, page_size))
        return made[-1]

    yield make
    for archive in made:
        archive.close()


def lookup(fake: FakeWayback, bases: list[str], *keys: tuple[str, str | None], **extra) -> dict:
    options = MementoOptions(archives=bases, timeout=extra.pop("timeout", 3), retries=extra.pop("retries", 0), **extra)
    return memento.find_snapshots(list(keys), wayback.WaybackOptions(base_url=fake.base_url, timeout=3, retries=0),
                                  options)


# --------------------------------------------------------------------------- link format


def test_link_format_streamed_in_pieces_with_commas_in_urls_and_dates():
    text = ('<https://example.org/a,b>; rel="original",\n'
            '<http://arch/timemap/link/https://example.org/a,b>; rel="self"; type="application/link-format"; '
            'from="Tue, 20 Nov 2012 08:30:00 GMT",\n'
            'garbage without an entry <broken; rel=,\n'
            '</web/20121120083000/https://example.org/a,b>; rel="first memento"; datetime="Tue, 20 Nov 2012 08:30:00 GMT",\n'
            '<http://arch/web/20141120083000/https://example.org/a,b>;rel="last memento";datetime="Thu, 20 Nov 2014 08:30:00 GMT"')
    for size in (1, 7, 64, len(text)):
        reader = LinkFormatReader()
        links = []
        for i in range(0, len(text), size):
            links += reader.feed(text[i:i + size])
        links += reader.close()
        assert [link.uri for link in links] == [
            "https://example.org/a,b", "http://arch/timemap/link/https://example.org/a,b",
            "/web/20121120083000/https://example.org/a,b", "http://arch/web/20141120083000/https://example.org/a,b"]
        assert links[2].rels == {"first", "memento"}
        assert links[3].params["datetime"] == "Thu, 20 Nov 2014 08:30:00 GMT"


def test_memento_datetimes_are_rfc_1123_and_become_14_digits():
    assert memento_timestamp("Tue, 20 Nov 2012 08:30:00 GMT") == "20121120083000"
    assert memento_timestamp(rfc1123("20241231235959")) == "20241231235959"
    assert memento_timestamp("Sun, 06 Nov 1994 08:49:37 +0100") == "19941106074937"  # other zones are converted
    for bad in (None, "", "yesterday", "Tue, 32 Nov 2012 08:30:00 GMT", "20121120083000"):
        assert memento_timestamp(bad) is None


def test_archives_option_parsing(monkeypatch):
    assert memento.parse_archives("") == ()
    assert memento.parse_archives(" http://a/tm/ , http://a/tm/,https://b/x/") == ("http://a/tm/", "https://b/x/")
    defaults = memento.parse_archives("default")
    assert len(defaults) == len(memento.DEFAULT_ARCHIVES) and all(b.startswith("http") for b in defaults)
    assert memento.parse_archives("default,http://agg/timemap/link/")[-1] == "http://agg/timemap/link/"
    with pytest.raises(ValueError, match="invalid archive"):
        memento.parse_archives("ftp://archive/timemap/")
    monkeypatch.setenv("PROVENANCE_ARCHIVES", "http://env/timemap/")
    assert memento.parse_archives(None) == ("http://env/timemap/",)
    monkeypatch.delenv("PROVENANCE_ARCHIVES")
    assert memento.parse_archives(None) == defaults
    assert memento.archive_name("https://archive.ph/AbCd1") == "archive.today"
    assert memento.archive_name("https://arquivo.pt/wayback/20190101000000/https://x.pt/") == "arquivo.pt"
    assert memento.archive_name("https://www.webarchive.org.uk/wayback/archive/2019/x") == "webarchive.org.uk"


# --------------------------------------------------------------------------- which memento


def test_the_wayback_has_nothing_so_another_archive_gives_the_snapshot(fake, archives):
    a, b = archives(), archives()
    a.add(URL, "20241001000000")
    best = b.add(URL, "20241110093000")
    b.add(URL, "20241125000000")  # closer in absolute terms, but after the date
    snap = lookup(fake, [a.timemap_base, b.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.timestamp == "20241110093000" and snap.snapshot_url == best
    assert snap.archive == b.site.host and snap.status == 200 and not snap.failed
    assert snap.to_dict()["archive"] == b.site.host
    assert a.calls.timemap == 1 and b.calls.timemap == 1  # every archive asked, each once


def test_a_good_wayback_capture_before_the_date_means_no_archive_is_asked(fake, archives):
    a = archives()
    a.add(URL, "20241119000000")
    fake.add(URL, "20240601000000")
    snap = lookup(fake, [a.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.timestamp == "20240601000000" and snap.archive == fake.site.host
    assert a.calls.timemap == 0


def test_archives_are_asked_when_the_wayback_cannot_answer(fake, archives):
    a = archives()
    a.add(URL, "20241101000000")
    fake.fail("cdx", 503)
    fake.fail("available", 503)
    found = lookup(fake, [a.timemap_base], (URL, DATE), ("https://example.org/none", DATE))
    assert found[(URL, DATE)].timestamp == "20241101000000" and not found[(URL, DATE)].failed
    none = found[("https://example.org/none", DATE)]
    assert none.timestamp is None and none.failed and "Wayback" in none.reason  # not cached: ask again next run


def test_a_wayback_capture_after_the_date_loses_to_a_memento_before_it(fake, archives):
    a = archives()
    fake.add(URL, "20250101000000")
    a.add(URL, "20230101000000")
    later = "https://example.org/later"
    fake.add(later, "20241201000000")
    a.add(later, "20250301000000")  # after the date and later than the Wayback's: the Wayback's stays
    found = lookup(fake, [a.timemap_base], (URL, DATE), (later, DATE))
    assert found[(URL, DATE)].timestamp == "20230101000000" and found[(URL, DATE)].archive == a.site.host
    assert found[(later, DATE)].timestamp == "20241201000000" and found[(later, DATE)].archive == fake.site.host
    assert a.calls.replay == 1  # the later memento was never replayed: it could not win


def test_replays_that_are_not_good_are_passed_over(fake, archives):
    a = archives()
    a.add(URL, "20241119000000", status=404)                      # replay answers 404
    a.add(URL, "20241118000000", redirect_to=f"/web/20241118000001/{URL}")  # redirects inside the archive to a 404
    a.add(URL, "20241117000000", body=SOFT_404)                   # a "not found" page answered with 200
    a.add(URL, "20241116000000", body=BOT_WALL)                   # a bot wall
    a.add(URL, "20241115000000", redirect_to=f"{fake.base_url}/live")  # leaves the archive: never followed
    good = a.add(URL, "20241001000000")
    snap = lookup(fake, [a.timemap_base], (URL, DATE), max_replays=6)[(URL, DATE)]
    assert snap.timestamp == "20241001000000" and snap.snapshot_url == good
    assert f"/web/20241118000001/{URL}" in a.calls.paths  # the redirect was followed inside the archive
    assert "/live" not in fake.site.stats.paths
    # With fewer replays allowed than bad mementos, no snapshot: said, and cacheable (the archives answered).
    fewer = lookup(fake, [a.timemap_base], (URL, DATE), max_replays=2)[(URL, DATE)]
    assert fewer.timestamp is None and not fewer.failed and "HTTP 404" in fewer.reason


def test_redirect_to_a_good_neighbour_inside_the_archive_counts(fake, archives):
    a = archives()
    neighbour = a.add("https://example.org/moved", "20241101000001")
    a.add(URL, "20241101000000", redirect_to=neighbour.replace(a.site.base_url, ""))
    snap = lookup(fake, [a.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.timestamp == "20241101000000"


def test_paged_timemaps_are_followed_to_a_bound(fake, archives):
    a = archives(page_size=2)
    for ts in ("20200101000000", "20210101000000", "20220101000000", "20230101000000", "20240101000000",
               "20241101000000"):
        a.add(URL, ts)
    snap = lookup(fake, [a.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.timestamp == "20241101000000"  # on the third and last page
    assert sum("/timemap/link/" in p for p in a.calls.paths) == 3
    a.calls.paths.clear()
    bounded = lookup(fake, [a.timemap_base], (URL, DATE), max_pages=2)[(URL, DATE)]
    assert bounded.timestamp == "20230101000000"  # the best of the two pages read
    assert sum("/timemap/link/" in p for p in a.calls.paths) == 2


def test_a_404_timemap_means_no_mementos_not_an_error(fake, archives):
    a = archives()
    a.add("https://example.org/other", "20240101000000")
    snap = lookup(fake, [a.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.timestamp is None and snap.failed is False  # cacheable: every archive answered
    assert "0 mementos" in snap.reason


def test_aggregator_lists_mementos_held_elsewhere_and_names_the_holder(fake, archives):
    holder, aggregator = archives(), archives()
    held = holder.add(URL, "20241102000000")
    aggregator.list_elsewhere(URL, "20241102000000", held)
    snap = lookup(fake, [aggregator.timemap_base], (URL, DATE))[(URL, DATE)]
    assert snap.snapshot_url == held and snap.archive == holder.site.host
    assert holder.calls.replay == 1 and holder.calls.timemap == 0


def test_a_huge_timemap_is_streamed_and_capped(fake, archives):
    a = archives()
    days = [f"{2000 + i // 5000:04d}{1 + (i // 400) % 12:02d}{1 + i % 28:02d}{(i // 28) % 24:02d}{i % 60:02d}00"
            for i in range(100_000)]
    for ts in days:
        a.mementos.append(memento_row(ts))
    expected = max(ts for ts in days if ts <= "20241120235959")
    snap = lookup(fake, [a.timemap_base], (URL, DATE), timeout=60)[(URL, DATE)]
    assert a.timemap_bytes > 9_000_000  # it really sent 100,000 entries
    assert snap.timestamp == expected
    # A cap below the answer's size cuts it: what was read still counts (an older memento), never an error.
    capped = lookup(fake, [a.timemap_base], (URL, DATE), max_timemap_bytes=1_000_000, timeout=60)[(URL, DATE)]
    assert capped.timestamp and capped.timestamp < expected and not capped.failed


def memento_row(ts: str):
    from fake_memento import GOOD_PAGE, Memento

    return Memento(URL, ts, 200, GOOD_PAGE.format(title=ts))


# --------------------------------------------------------------------------- archives that fail


def test_dead_and_hanging_archives_cost_a_bounded_time_and_nothing_is_cached(fake, archives, sim):
    hanging, working = archives(), archives()
    hanging.hang("timemap")
    dead = sim.closed_port_url("/timemap/link/", host="127.0.0.250")
    urls = [f"https://example.org/page{i}" for i in range(8)]
    for u in urls:
        working.add(u, "20241101000000")
    found = lookup(fake, [dead, hanging.timemap_base, working.timemap_base], *[(u, DATE) for u in urls], timeout=1)
    assert all(found[(u, DATE)].timestamp == "20241101000000" for u in urls)  # the working archive still answers
    # The breaker: a hanging archive is skipped after a couple of failures, not asked once per URL.
    assert hanging.calls.timemap <= memento.ARCHIVE_BREAKER + 1
    nothing = "https://example.org/nowhere"
    snap = lookup(fake, [dead, working.timemap_base], (nothing, DATE), timeout=1)[(nothing, DATE)]
    assert snap.timestamp is None and snap.failed  # an archive could not be asked: not cacheable
    assert "127.0.0.250" in snap.reason


def test_offline_archives_that_need_dns_are_skipped(fake, archives):
    a = archives()
    a.add(URL, "20241101000000")
    named = "http://archive.invalid/timemap/link/"
    found = lookup(fake, [named, a.timemap_base], (URL, DATE), ("https://example.org/x", DATE))
    assert found[(URL, DATE)].timestamp == "20241101000000"  # an archive at an address still answers
    lost = found[("https://example.org/x", DATE)]
    assert lost.failed and "archive.invalid" in lost.reason and "does not resolve" in lost.reason
    offline = lookup(fake, [named], (URL, DATE), offline=True)[(URL, DATE)]
    assert offline.failed and "offline" in offline.reason


def test_each_archive_host_gets_at_most_two_requests_at_once_and_spacing(fake, archives):
    a, b = archives(), archives()
    urls = [f"https://example.org/many{i}" for i in range(8)]
    for u in urls:
        a.add(u, "20241101000000")
        b.add(u, "20241001000000")
    # The archives answer slowly, so a client that ignored the limit would have all 8 in flight at once.
    for archive in (a, b):
        slow = archive.site.default

        async def delayed(request, slow=slow):
            import asyncio
            await asyncio.sleep(0.05)
            return await slow(request)

        archive.site.default = delayed
    found = lookup(fake, [a.timemap_base, b.timemap_base], *[(u, DATE) for u in urls], interval=0.1)
    assert all(found[(u, DATE)].timestamp == "20241101000000" for u in urls)
    for archive in (a, b):
        assert archive.site.stats.requests >= len(urls)
        assert archive.site.stats.peak <= memento.ARCHIVE_CONCURRENCY
        assert archive.site.stats.min_gap() >= 0.05  # starts spaced by the interval, less the loopback's jitter


def test_hostile_timemaps_give_no_mementos_never_an_error_or_a_hang(fake, sim):
    from aiohttp import web

    site = sim.site()
    pages = {"n": 0}

    async def hostile(request: web.Request) -> web.StreamResponse:
        path = request.raw_path
        if "junk" in path:
            return web.Response(body=bytes(range(256)) * 64, content_type="application/link-format")
        if "html" in path:
            return web.Response(text="<html><body><a href='/x'>Welcome</a> <b>not a timemap</b></body></html>",
                                content_type="text/html")
        # Every page links to a next page, for ever; each also lists a URL no archive would write.
        pages["n"] += 1
        n = pages["n"]
        return web.Response(text=f'<{site.base_url}/endless/{n}/x>; rel="timemap"; type="application/link-format",\n'
                                 f'<http://{"a" * 10_000}/>; rel="memento"; datetime="Tue, 20 Nov 2012 08:30:00 GMT"',
                            content_type="application/link-format")

    site.default = hostile
    base = f"{site.base_url}/"
    found = lookup(fake, [base], ("junk", DATE), ("html", DATE), ("endless", DATE))
    for key in (("junk", DATE), ("html", DATE), ("endless", DATE)):
        assert found[key].timestamp is None and not found[key].failed, found[key]
    assert pages["n"] == memento.MAX_TIMEMAP_PAGES  # the endless chain of pages is followed to the bound
