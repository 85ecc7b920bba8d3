"""Real-web HTTP through libcurl: proxies, trust, encodings, lenient framing, HTTP/2, bot walls.

Every server here is on loopback: the simulator, scripted raw servers,
a test proxy (:mod:`proxy_server`: forward, CONNECT and SOCKS5, with its
own name table, so ``origin.test`` resolves only at the proxy) and a
hypercorn HTTP/2 server. Each case failed on the hand-written HTTP/1.1
client this engine had before (provenance/wire.py).
"""

from __future__ import annotations

import asyncio
import os
import gzip
import threading
import zlib

import pytest
from aiohttp import web

from proxy_server import ProxyServer
from raw_server import RawServer, response
from provenance import check, network, resolve
from provenance.check import CheckOptions, check_urls

FAST = dict(retries=0, host_interval=0.0, timeout=5.0, probe_catch_all=False)
PAGE = (b"<html><head><title>Study: rivers rise</title></head><body><h1>Rivers rise</h1>"
        + b"<p>Measurements from forty stations show the rise in detail. </p>" * 20 + b"</body></html>")


def one(url: str, **options) -> check.CheckResult:
    [result] = check_urls([url], CheckOptions(**{**FAST, **options}))
    assert result.reason, "every verdict carries a reason"
    return result


@pytest.fixture(autouse=True)
def _clean_environment(no_machine_proxy):
    """The machine's own proxy settings must not leak into these tests (nor its CA settings)."""


@pytest.fixture(scope="module")
def ca(private_ca):
    return private_ca


def _page(body: bytes = PAGE, status: int = 200, seen: list | None = None, headers: dict | None = None):
    async def handler(request: web.Request) -> web.StreamResponse:
        if seen is not None:
            seen.append({k.lower(): v for k, v in request.headers.items()})
        return web.Response(body=body, status=status, content_type="text/html", headers=headers or {})
    return handler


# --- 2. proxies ---

def test_a_forward_proxy_from_http_proxy_resolves_the_name_no_allow_private_needed(sim, monkeypatch):
    site = sim.site()
    site.route("/story", _page())
    with ProxyServer({"origin.test": (site.host, site.port)}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # upper case counts, as for most tools
        r = one(f"http://origin.test:{site.port}/story", offline=False)
        assert (r.verdict, r.status) == ("ok", 200), r.reason
        assert proxy.seen == [("GET", f"http://origin.test:{site.port}/story")]
    assert site.stats.requests == 1


def test_a_connect_proxy_in_front_of_a_tls_origin_trusted_through_ssl_cert_file(sim, ca, monkeypatch):
    site = sim.site(ssl_context=ca["context"])
    site.route("/secure", _page())
    with ProxyServer({"origin.test": (site.host, site.port)}) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        monkeypatch.setenv("SSL_CERT_FILE", ca["ca_file"])
        r = one(f"https://origin.test:{site.port}/secure", offline=False)
        assert (r.verdict, r.status) == ("ok", 200), r.reason
        assert proxy.seen == [("CONNECT", f"origin.test:{site.port}")]
        # Near miss: without the firewall's CA the same origin is a TLS error, never retried.
        monkeypatch.delenv("SSL_CERT_FILE")
        r = one(f"https://origin.test:{site.port}/secure", offline=False, ca_bundle=None)
        assert r.verdict == "error" and "TLS" in r.reason, r.reason


def test_ca_bundle_option_is_trusted_directly(sim, ca):
    site = sim.site(host="127.0.0.1", ssl_context=ca["context"])
    url = site.route("/secure", _page())
    r = one(url, allow_private=True, ca_bundle=ca["ca_file"])
    assert (r.verdict, r.status) == ("ok", 200), r.reason
    r = one(url, allow_private=True)
    assert r.verdict == "error" and "TLS" in r.reason and r.attempts == 1


def test_a_socks5h_proxy_from_all_proxy(sim, monkeypatch):
    site = sim.site()
    site.route("/via-socks", _page())
    with ProxyServer({"origin.test": (site.host, site.port)}) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.socks_url)
        r = one(f"http://origin.test:{site.port}/via-socks", offline=False)
        assert (r.verdict, r.status) == ("ok", 200), r.reason
        assert proxy.seen == [("SOCKS5", f"origin.test:{site.port}")]


def test_the_proxy_option_overrides_the_environment(sim, monkeypatch):
    site = sim.site()
    site.route("/p", _page())
    with ProxyServer({"origin.test": (site.host, site.port)}) as used, ProxyServer() as ignored:
        monkeypatch.setenv("http_proxy", ignored.url)
        r = one(f"http://origin.test:{site.port}/p", offline=False, proxy=used.url)
        assert r.verdict == "ok", r.reason
        assert ignored.seen == [] and len(used.seen) == 1


def test_cited_private_addresses_and_intranet_names_are_refused_before_the_proxy(sim, monkeypatch):
    with ProxyServer() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        urls = ["http://10.1.2.3/report", "http://127.0.0.1:9/x", "http://intranet/page", "http://wiki.corp/a"]
        results = check_urls(urls, CheckOptions(**FAST, offline=False))
        assert [r.verdict for r in results] == ["unchecked"] * 4, [r.reason for r in results]
        assert all("address policy" in r.reason for r in results)
        assert proxy.seen == [], "nothing refused reaches the proxy"
        # Near miss: --allow-private lets the intranet name through to the proxy (which cannot resolve it).
        [r] = check_urls(["http://intranet/page"], CheckOptions(**FAST, offline=False, allow_private=True))
        assert proxy.seen == [("GET", "http://intranet/page")]
        assert r.verdict == "error" and r.verdict != "dead"


def test_no_proxy_targets_go_direct_under_the_full_policy(sim, monkeypatch):
    site = sim.site()
    url = site.route("/direct", _page())
    with ProxyServer() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("NO_PROXY", f"example.org,{site.host}")
        r = one(url, offline=False)
        assert r.verdict == "unchecked" and "address policy" in r.reason  # loopback, resolved here: refused
        r = one(url, offline=False, allow_private=True)
        assert r.verdict == "ok"
        assert proxy.seen == []


def test_the_offline_check_asks_through_the_proxy(sim, ca, monkeypatch):
    probe = sim.site(ssl_context=ca["context"])
    site = sim.site()
    site.route("/news", _page())
    monkeypatch.setattr(resolve, "_network_cache", {})
    with ProxyServer({"origin.test": (site.host, site.port), "probe.test": (probe.host, probe.port)}) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("https_proxy", proxy.url)
        monkeypatch.setattr(check, "PROBE_HOSTS", ("probe.test",))
        r = one(f"http://origin.test:{site.port}/news")  # offline=None: the run decides
        assert r.verdict == "ok", r.reason
        assert ("CONNECT", "probe.test:443") in proxy.seen
        # Near miss: a proxy that cannot reach the probe names means no network: unchecked, never dead.
        monkeypatch.setattr(check, "PROBE_HOSTS", ("nowhere.test",))
        r = one(f"http://origin.test:{site.port}/news")
        assert r.verdict == "unchecked" and "offline" in r.reason


def test_proxy_settings_are_read_as_curl_reads_them():
    env = {"HTTP_PROXY": "proxy.corp:3128", "https_proxy": "http://tls.corp:8080", "ALL_PROXY": "socks5h://s:1080",
           "no_proxy": ".internal.example, 10.0.0.0/8,localhost"}
    proxies = network.Proxies.from_env(environ=env)
    assert proxies.for_url("http", "example.org") == "http://proxy.corp:3128"
    assert proxies.for_url("https", "example.org") == "http://tls.corp:8080"
    assert proxies.for_url("https", "a.internal.example") is None
    assert proxies.for_url("http", "internal.example") is None
    assert proxies.for_url("http", "10.2.3.4") is None and proxies.for_url("http", "11.2.3.4") is not None
    assert network.Proxies.from_env(environ={"ALL_PROXY": "socks5h://s:1080"}).for_url("https", "x.org") == \
        "socks5h://s:1080"
    assert network.Proxies.from_env(environ={**env, "NO_PROXY": "*", "no_proxy": ""}).for_url("http", "x.org") is None
    assert network.Proxies.from_env("socks5://p:1", environ=env).for_url("http", "x.org") == "socks5://p:1"
    with pytest.raises(network.ProxyError):
        network.Proxies.from_env("ftp://p:21", environ={})


def test_the_wayback_client_takes_the_same_proxy_and_trust(sim, ca):
    import httpx

    from provenance import wayback

    site = sim.site(ssl_context=ca["context"])
    site.route("/cdx", _page(b"[]"))
    with ProxyServer({"archive.test": (site.host, site.port)}) as proxy:
        options = wayback.WaybackOptions(base_url=f"https://archive.test:{site.port}", proxy=proxy.url,
                                         ca_bundle=ca["ca_file"])

        async def go() -> int:
            async with wayback._client(options, follow_redirects=False) as client:
                return (await client.get(f"https://archive.test:{site.port}/cdx")).status_code

        assert asyncio.run(go()) == 200
        assert proxy.seen == [("CONNECT", f"archive.test:{site.port}")]
        options.ca_bundle = None

        async def untrusted() -> None:
            async with wayback._client(options, follow_redirects=False) as client:
                await client.get(f"https://archive.test:{site.port}/cdx")

        with pytest.raises(httpx.ConnectError):
            asyncio.run(untrusted())


# --- 4. encodings ---

def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _brotli(data: bytes) -> bytes:
    return pytest.importorskip("brotli").compress(data)


def _zstd(data: bytes) -> bytes:
    return pytest.importorskip("zstandard").ZstdCompressor().compress(data)


@pytest.mark.parametrize("coding, encode", [
    ("br", _brotli),
    ("zstd", _zstd),
    ("deflate", _raw_deflate),
    ("deflate", zlib.compress),
    ("gzip, gzip", lambda d: gzip.compress(gzip.compress(d))),
    ("none", lambda d: d),
    ("identity", lambda d: d),
    ("UTF-8", lambda d: d),  # a bogus token: read as the body it is, as browsers do
])
def test_every_coding_a_browser_reads_is_read(sim, coding, encode):
    site = sim.site()
    url = site.route("/enc", _page(encode(PAGE), headers={"Content-Encoding": coding}))
    r = one(url, allow_private=True)
    assert (r.verdict, r.reason) == ("ok", "HTTP 200"), r.reason
    assert r.body is not None and "forty stations" in r.body


def test_a_brotli_bomb_is_cut_at_the_decoded_cap(sim, monkeypatch):
    monkeypatch.setattr(check, "MAX_DECODED_BYTES", 64 * 1024)
    site = sim.site()
    bomb = _brotli(b"<html><body>" + b"a" * (32 * 1024 * 1024))
    url = site.route("/bomb", _page(bomb, headers={"Content-Encoding": "br"}))
    r = one(url, allow_private=True)
    assert r.verdict == "ok" and "body cut off at 65536 bytes" in r.reason
    assert r.body is not None and len(r.body) <= 64 * 1024


# --- 5. framing as lenient as curl's ---

def _chunked(body: bytes, size_suffix: bytes = b"") -> bytes:
    out = b""
    for i in range(0, len(body), 700):
        piece = body[i:i + 700]
        out += f"{len(piece):x}".encode() + size_suffix + b"\r\n" + piece + b"\r\n"
    return out + b"0\r\n\r\n"


QUIRKS = {
    "te-with-cl": lambda body, status: (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Length: {len(body) // 2}\r\n\r\n").encode() + _chunked(body),
    "two-equal-cl": lambda body, status: (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body,
    "listed-cl": lambda body, status: (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {len(body)}, {len(body)}\r\n\r\n"
    ).encode() + body,
    "space-after-chunk-size": lambda body, status: (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    + _chunked(body, b"  "),
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_quirky_framing_is_read_and_its_connection_is_not_reused(raw, quirk):
    def serve(conn, req):
        if req.target == "/gone":
            return QUIRKS[quirk](b"<html><title>Not found</title></html>", 404)
        return QUIRKS[quirk](PAGE, 200) if req.target.startswith("/quirk") else response(PAGE, 200, [("Content-Type", "text/html")])
    srv = raw.server(serve)
    results = check_urls([srv.url("/quirk/a"), srv.url("/quirk/b"), srv.url("/gone")],
                         CheckOptions(**FAST, allow_private=True, host_concurrency=1))
    assert [(r.verdict, r.status) for r in results] == [("ok", 200), ("ok", 200), ("dead", 404)], \
        [r.reason for r in results]
    assert "forty stations" in (results[0].body or "")
    needs_leniency = quirk != "space-after-chunk-size"
    # A connection whose answer needed leniency is closed: three requests, three connections.
    assert srv.connections == (3 if needs_leniency else 1), srv.connections


def test_plain_framing_keeps_one_connection(raw):
    """Near miss of the test above: a well-framed answer's connection is reused."""
    srv = raw.server(lambda conn, req: response(PAGE, 200, [("Content-Type", "text/html")]))
    results = check_urls([srv.url("/a"), srv.url("/b")], CheckOptions(**FAST, allow_private=True, host_concurrency=1))
    assert [r.verdict for r in results] == ["ok", "ok"]
    assert srv.connections == 1


@pytest.mark.parametrize("size, verdict", [(200 * 1024, "ok"), (300 * 1024, "error")])
def test_heads_up_to_256_kib_are_read(raw, size, verdict):
    lines = [(f"X-Filler-{i}", "v" * 1000) for i in range(size // 1016)]
    srv = raw.server(lambda conn, req: response(PAGE, 200, [("Content-Type", "text/html"), *lines]))
    r = one(srv.url("/big-head"), allow_private=True)
    assert r.verdict == verdict, r.reason


# --- 6. HTTP/2 ---

def test_an_http2_only_server_is_spoken_to_in_http2(ca, tmp_path):
    hypercorn = pytest.importorskip("hypercorn")
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from simulator import free_port

    versions: list[str] = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        versions.append(scope["http_version"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": PAGE})

    port = free_port("127.0.0.1")
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = config.keyfile = ca["server_chain"]
    config.alpn_protocols = ["h2"]
    config.accesslog = config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=stop.wait),),
                              daemon=True)
    thread.start()
    try:
        import socket
        import time
        for _ in range(100):  # bounded: the server is up within a few tenths of a second
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        r = one(f"https://127.0.0.1:{port}/h2", allow_private=True, ca_bundle=ca["ca_file"])
        assert (r.verdict, r.status) == ("ok", 200), r.reason
        assert versions == ["2"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    assert hypercorn is not None


# --- 7. bot walls and the browser-like second request ---

def _wall(seen: list[dict[str, str]], lets_browsers_through: bool = True):
    """A wall that sets a cookie and lets through only a request with Chrome's client hints and that cookie."""
    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        seen.append(headers)
        if lets_browsers_through and "sec-ch-ua" in headers and "wall=passed" in headers.get("cookie", ""):
            return web.Response(body=PAGE, content_type="text/html")
        return web.Response(text="<html><title>Just a moment...</title></html>", status=403, content_type="text/html",
                            headers={"cf-mitigated": "challenge", "Set-Cookie": "wall=passed; Path=/"})
    return handler


def test_a_wall_that_lets_a_browser_through_gives_the_second_answers_verdict(sim):
    site = sim.site()
    seen: list[dict[str, str]] = []
    url = site.route("/article", _wall(seen))
    r = one(url, allow_private=True)
    assert (r.verdict, r.status) == ("ok", 200), r.reason
    assert "browser-like second request" in r.reason and "Cloudflare" in r.reason
    assert len(seen) == 2
    assert seen[0]["user-agent"] == check.DEFAULT_USER_AGENT and "sec-ch-ua" not in seen[0]
    assert "sec-ch-ua" in seen[1] and "wall=passed" in seen[1]["cookie"]


def test_a_wall_that_stays_is_blocked_and_the_reason_says_both(sim):
    site = sim.site()
    seen: list[dict[str, str]] = []
    r = one(site.route("/article", _wall(seen, lets_browsers_through=False)), allow_private=True)
    assert (r.verdict, r.signature) == ("blocked", "cloudflare-mitigated")
    assert "also to a browser-like second request" in r.reason and "the first got" in r.reason
    assert len(seen) == 2


def test_impersonate_never_and_always(sim):
    site = sim.site()
    seen: list[dict[str, str]] = []
    url = site.route("/article", _wall(seen))
    r = one(url, allow_private=True, impersonate="never")
    assert r.verdict == "blocked" and len(seen) == 1
    seen.clear()
    r = one(url, allow_private=True, impersonate="always")
    assert r.verdict == "blocked", "no cookie yet on the first, browser-like request"
    assert "sec-ch-ua" in seen[0] and len(seen) == 1


def test_a_plain_403_earns_no_second_request(sim):
    """Near miss: only a recognised wall is asked again; a bare 403 stays one request."""
    site = sim.site()
    seen: list[dict[str, str]] = []
    r = one(site.route("/p", _page(b"<html><title>No</title></html>", status=403, seen=seen)), allow_private=True)
    assert r.verdict == "blocked" and len(seen) == 1


# --- 8. the engine's guarantees on libcurl ---

def test_a_name_is_connected_to_only_at_the_address_the_policy_approved(sim):
    """The engine's own lookup is pinned into libcurl (CURLOPT_RESOLVE): ``pinned.test`` exists nowhere else."""
    site = sim.site()
    site.route("/p", _page())
    asked: list[str] = []

    async def lookup(name: str) -> list[str]:
        asked.append(name)
        return [site.host]

    r = one(f"http://pinned.test:{site.port}/p", allow_private=True, offline=False, resolver=lookup)
    assert (r.verdict, r.status) == ("ok", 200), r.reason
    assert asked == ["pinned.test"] and site.stats.requests == 1


def test_a_connection_to_an_address_not_approved_is_refused_before_the_request_is_sent():
    """The pre-request check (CURLOPT_PREREQFUNCTION) refuses any connected address the policy did not approve."""
    from provenance import fetch

    calls: list[str] = []
    transfer = fetch._Transfer(None, lambda s, h: 0, 0, frozenset({"127.0.0.5", "::1"}), lambda: calls.append("sent"),
                               fetch.Answer(0, []))
    assert transfer.prereq(b"127.0.0.6") == fetch._PREREQ_ABORT and "not approved" in transfer.refused
    assert calls == []
    transfer = fetch._Transfer(None, lambda s, h: 0, 0, frozenset({"127.0.0.5", "::1"}), lambda: calls.append("sent"),
                               fetch.Answer(0, []))
    assert transfer.prereq(b"0:0::1") == fetch._PREREQ_OK and calls == ["sent"]  # one address, two spellings


def test_a_timeout_while_the_body_drips_keeps_what_came_and_closes_the_connection(raw):
    closed: list[bool] = []

    async def drip(conn):
        request = await conn.request()
        if request is None:
            return
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + PAGE[:200])
        closed.append(await conn.wait_client_close(timeout=8.0))

    srv = RawServer(drip)
    asyncio.run_coroutine_threadsafe(srv.start(), raw.loop).result(10)
    raw.servers.append(srv)
    r = one(srv.url("/drip"), allow_private=True, timeout=1.0)
    assert r.verdict in ("ok", "error") and "cut off" in r.reason, r.reason
    for _ in range(100):  # bounded: the server notices the close within a few tenths of a second
        if closed:
            break
        import time
        time.sleep(0.05)
    assert closed == [True], "the cancelled transfer closed its connection"


def test_a_proxy_that_reaches_nothing_means_offline_and_its_password_is_not_shown(monkeypatch):
    monkeypatch.setattr(resolve, "_network_cache", {})
    with ProxyServer() as proxy:  # knows no names: the probe names are out of reach through it
        monkeypatch.setattr(check, "PROBE_HOSTS", ("probe.test",))
        secret = proxy.url.replace("http://", "http://newsroom:s3cret@")
        [r] = check_urls(["https://example.org/a"], CheckOptions(**FAST, proxy=secret))
        assert r.verdict == "unchecked" and "proxy" in r.reason, r.reason
        assert "s3cret" not in r.reason and "newsroom" not in r.reason
        assert ("CONNECT", "probe.test:443") in proxy.seen
    assert network.shown("socks5h://u:p@host:1080/x") == "socks5h://host:1080/x"


def test_the_memento_client_takes_the_same_proxy_and_trust(sim, ca):
    """Other web archives (provenance.memento) are reached through the same proxy, with the same CA bundle."""
    from provenance import memento

    site = sim.site(ssl_context=ca["context"])
    site.route("/timemap", _page(b"<https://a.example/>; rel=\"original\""))
    with ProxyServer({"archive.test": (site.host, site.port)}) as proxy:
        options = memento.MementoOptions(archives=(), proxy=proxy.url, ca_bundle=ca["ca_file"])

        async def go() -> int:
            async with memento._client(options) as client:
                return (await client.get(f"https://archive.test:{site.port}/timemap")).status_code

        assert asyncio.run(go()) == 200
        assert proxy.seen == [("CONNECT", f"archive.test:{site.port}")]
    settings = network.httpx_settings(None, ca["ca_file"])
    assert set(settings) == {"verify"}, "no proxy in the environment: no mounts"


@pytest.mark.parametrize("bad", ["http://[::1", "http://proxy.example:notaport", "bogus://x", "http://"])
def test_a_malformed_proxy_is_one_line_and_exit_2_before_anything_is_checked(bad):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "provenance", "check", "http://127.0.0.3:9/x", "--proxy", bad,
                          "--allow-private"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("command", [["check", "https://127.0.0.3:9/x"], ["snapshot", "https://example.org/a"],
                                     ["audit", "--db", "{tmp}/p.db", "--reports", "{tmp}/r"]])
@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_ca_bundle_that_holds_no_certificate_is_one_line_and_exit_2(command, how, tmp_path, private_ca):
    """A file that exists but is no PEM bundle (a DER file, a key, a typo'd path to a README) is refused up
    front on every command that goes online, not a traceback in the Wayback client and not an error on every
    https link."""
    import subprocess
    import sys

    bad = tmp_path / "corp-ca.crt"
    bad.write_text("not a certificate\n", encoding="utf-8")
    args = [a.format(tmp=tmp_path) for a in command] + ["--allow-private"]
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    if how == "option":
        args += ["--ca-bundle", str(bad)]
    else:
        env["SSL_CERT_FILE"] = str(bad)
    run = subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, timeout=60,
                         env=env, cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a usable CA bundle" in lines[0] and "Traceback" not in run.stderr
    # Near miss: a real bundle (the private CA's) is taken as it is.
    from provenance import network

    assert network.ca_bundle(private_ca["ca_file"]) == private_ca["ca_file"]
