"""The engine's transport (libcurl): same headers on the wire, same header reading as httpx, any event loop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from provenance import catchall, check, resolve
from provenance.check import CheckOptions, check_urls

ROOT = Path(__file__).resolve().parent.parent

FAST = dict(allow_private=True, retries=0, host_interval=0.0, timeout=5.0)
PAGE = "<html><head><title>Report</title></head><body><p>Measured in forty places.</p></body></html>"


def _echo_headers(seen: list[dict[str, str]]):
    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return web.Response(text=PAGE, content_type="text/html")
    return handler


def test_browser_headers_go_out_on_every_request(sim):
    site = sim.site()
    seen: list[dict[str, str]] = []
    urls = [site.route(f"/h/{i}", _echo_headers(seen)) for i in range(3)]
    results = check_urls(urls, CheckOptions(**FAST))
    assert [r.verdict for r in results] == ["ok"] * 3
    assert len(seen) >= 3
    for headers in seen:
        assert headers["user-agent"] == check.DEFAULT_USER_AGENT
        assert headers["accept-encoding"] == "gzip, deflate, br, zstd"  # what browsers offer; libcurl decodes each
        assert headers["accept-language"] == check.BROWSER_HEADERS["Accept-Language"]
        assert headers["accept"].startswith("text/html")


def test_user_agent_and_extra_headers_override_the_defaults(sim):
    site = sim.site()
    seen: list[dict[str, str]] = []
    url = site.route("/h", _echo_headers(seen))
    [r] = check_urls([url], CheckOptions(**FAST, user_agent="provenance-test/1",
                                         extra_headers={"Accept": "text/plain", "X-Run": "42"}))
    assert r.verdict == "ok"
    assert seen[0]["user-agent"] == "provenance-test/1"
    assert seen[0]["accept"] == "text/plain" and seen[0]["x-run"] == "42"
    assert "aiohttp" not in seen[0]["user-agent"].lower()


@pytest.mark.parametrize("raw", [
    [(b"Content-Type", b"text/html"), (b"Location", b"/next")],
    [(b"Link", b"<a>; rel=x"), (b"link", b"<b>; rel=y"), (b"Retry-After", b"3")],
    [(b"Location", "/caf\u00e9".encode("utf-8"))],
    [(b"Location", b"/caf\xe9"), (b"X-Other", b"plain")],
    [],
])
def test_headers_read_the_way_httpx_reads_them(raw):
    expected = {k.lower(): v for k, v in httpx.Headers(raw).items()}
    assert check._header_dict(raw) == expected


def test_same_verdicts_on_uvloop(sim, monkeypatch):
    pytest.importorskip("uvloop")
    site = sim.site()
    urls = [site.page("/a/report", PAGE), site.page("/a/gone", "<title>x</title>", status=404),
            site.redirect("/a/old", site.url("/a/report"), 301)]
    monkeypatch.setattr(check, "USE_UVLOOP", False)
    plain = [(r.verdict, r.status, r.final_url) for r in check_urls(urls, CheckOptions(**FAST))]
    monkeypatch.setattr(check, "USE_UVLOOP", True)
    on_uvloop = [(r.verdict, r.status, r.final_url) for r in check_urls(urls, CheckOptions(**FAST))]
    assert on_uvloop == plain
    assert [v for v, _s, _u in plain] == ["ok", "dead", "redirect"]


def test_uvloop_by_default_asyncio_on_request(sim, monkeypatch):
    import asyncio

    loops: list[type] = []
    real = check.check_urls_async

    async def spy(*args, **kwargs):
        loops.append(type(asyncio.get_running_loop()))
        return await real(*args, **kwargs)

    monkeypatch.setattr(check, "check_urls_async", spy)
    site = sim.site()
    uvloop = pytest.importorskip("uvloop")
    [r] = check_urls([site.page("/p", PAGE)], CheckOptions(**FAST))
    assert r.verdict == "ok" and loops[-1] is uvloop.Loop, "uvloop where installed (a third less CPU)"
    monkeypatch.setattr(check, "USE_UVLOOP", False)
    [r] = check_urls([site.page("/q", PAGE)], CheckOptions(**FAST))
    assert r.verdict == "ok"
    assert not loops[-1].__module__.startswith("uvloop") and issubclass(loops[-1], asyncio.AbstractEventLoop)


def test_a_check_run_imports_neither_httpx_nor_aiohttp(sim):
    import subprocess
    import sys

    site = sim.site()
    url = site.page("/p", PAGE)
    code = ("import sys; from provenance.check import CheckOptions, check_urls; "
            f"[r] = check_urls([{url!r}], CheckOptions(allow_private=True, retries=0, timeout=5.0)); "
            "print(r.verdict, 'httpx' in sys.modules, 'aiohttp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["ok", "False", "False"], out.stderr[-2000:]


def test_the_light_deadline_behaves_like_asyncio_timeout():
    import asyncio

    async def go():
        loop = asyncio.get_running_loop()
        # fires: TimeoutError out, the task not left cancelled
        with pytest.raises(TimeoutError):
            async with check._Deadline(loop.time() + 0.01):
                await asyncio.sleep(5)
        assert asyncio.current_task().cancelling() == 0
        # does not fire: no effect
        async with check._Deadline(loop.time() + 5):
            await asyncio.sleep(0)
        # nested: the outer one firing is the outer one's timeout, not swallowed by the inner
        outer_fired = False
        try:
            async with check._Deadline(loop.time() + 0.01):
                async with check._Deadline(loop.time() + 5):
                    await asyncio.sleep(5)
        except TimeoutError:
            outer_fired = True
        assert outer_fired
        # a cancellation from outside stays a cancellation
        async def victim():
            async with check._Deadline(loop.time() + 5):
                await asyncio.sleep(5)
        task = asyncio.ensure_future(victim())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(go(), 10))


URL_SHAPES = [
    "http://example.org/a/b/c.html", "https://Example.ORG/A/B?q=1#f", "HTTP://example.org", "http://example.org?x",
    "http://example.org#frag", "http://127.0.0.1:8080/x/y/", "http://host:/x", "http://host:abc/x", "http://u:p@host/x",
    "http://[::1]:80/a/b", "http://exa mple.org/x", "http://example.org/a b/c", "http://example.org/caf\u00e9/x",
    "http://bücher.example/x", "http:///nohost", "ftp://example.org/x", "http://example.org/%41/b;p?x=%20#y",
    "http://a.b.c.example.org/deep/er/path/", "https://example.org:443", "http://example.org\t/x", "",
    "http://host/a?b/c", "http://host/a#b/c", "http://[bad/x", "mailto:someone@example.org",
]


@pytest.mark.parametrize("url", URL_SHAPES)
def test_fast_url_reading_agrees_with_urlsplit(url):
    from urllib.parse import urlsplit

    from provenance.urls import ascii_host, host_of

    resolve._host.cache_clear()
    host = host_of(url)
    # A non-ASCII name is the Punycode the pool connects to (UTS 46), not the name as written.
    assert resolve._host(url) == (host if host.isascii() else ascii_host(host))
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    expected = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"
    assert catchall._directory(url) == expected


def test_runs_and_the_cli_leave_the_garbage_collector_as_they_found_it(sim):
    import gc
    import subprocess
    import sys

    site = sim.site()
    before = gc.get_threshold()
    [r] = check_urls([site.page("/gc", PAGE)], CheckOptions(**FAST))
    assert r.verdict == "ok" and gc.get_threshold() == before
    out = subprocess.run([sys.executable, "-c", "import gc, provenance.cli; print(gc.isenabled(), gc.get_threshold())"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[0] == "True", out.stderr[-2000:]


def test_a_request_others_wait_on_leaves_without_waiting_for_a_loop_turn():
    """With ``start_now`` (the engine asks for it while other requests wait for global permits) the transfer
    starts inside the request's own step: its permit is held a loop turn less, which bounds a run over many
    hosts. Without it, transfers added in one turn start together on the next (one libcurl pass for all,
    cheaper). Seen from a listening socket while the loop is blocked, so the order is certain, not a timing."""
    import asyncio
    import select
    import socket

    from provenance.fetch import Transport
    from provenance.network import ca_bundle

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]

    async def connected_in_first_step(start_now: bool) -> bool:
        transport = Transport({"User-Agent": "t"}, ca_bundle=ca_bundle(None))
        try:
            request = asyncio.ensure_future(transport.get(f"http://127.0.0.1:{port}/", lambda s, h: 0,
                                                          addresses=["127.0.0.1"], start_now=start_now))
            await asyncio.sleep(0)  # one turn: the request's first step ran; nothing scheduled by it has
            # The loop is blocked here: only a connect made in that step can be waiting at the listener.
            connected = bool(select.select([listener], [], [], 0.5 if not start_now else 2.0)[0])
            request.cancel()
            try:
                await request
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - only the connect is under test
                pass
            if connected:
                listener.accept()[0].close()
            return connected
        finally:
            await transport.aclose()

    try:
        assert asyncio.run(connected_in_first_step(True)), "the connect waited for another loop turn"
        assert not asyncio.run(connected_in_first_step(False)), "a plain request waits for the shared turn"
    finally:
        listener.close()


STOPPED_MID_BODY = r'''
import asyncio, socket, sys, threading, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.9", 0)); srv.listen(16); port = srv.getsockname()[1]
def drip(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100):
            c.sendall(b"<p>x</p>"); time.sleep(0.05)
    except OSError:
        pass
    finally:
        c.close()
def serve():
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=drip, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
from provenance.check import CheckOptions, check_urls_async, run_loop
async def main():
    # Two pages of one host: its catch-all probe runs as a task of its own, as in every real run.
    run = asyncio.ensure_future(check_urls_async([f"http://127.0.0.9:{port}/a", f"http://127.0.0.9:{port}/b"],
                                                 CheckOptions(allow_private=True, timeout=30, workers=1)))
    await asyncio.sleep(1.0)   # bodies are streaming
    run.cancel()               # what Ctrl-C does
    try:
        await run
    except asyncio.CancelledError:
        print("stopped")
    await asyncio.sleep(0.6)   # the loop goes on: nothing left behind may call back into freed memory
    return []
run_loop(main())
print("clean")
'''


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_run_stopped_mid_body_leaves_nothing_running(loop, tmp_path):
    """Ctrl-C while pages stream in: every task (the catch-all probe included) ends before the transport closes,
    and a closed transport starts nothing. Before, the probe went on, opened a pool of its own after the close,
    and libcurl later called into its freed handles: a segmentation fault. Run in a child process, so a crash is
    an exit code here, not the end of the test session."""
    script = tmp_path / "stop.py"
    script.write_text(("import provenance.check as c\nc.USE_UVLOOP = False\n" if loop == "asyncio" else "")
                      + STOPPED_MID_BODY, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["stopped", "clean"]
