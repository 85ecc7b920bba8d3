"""provenance.wire against real loopback servers that answer with scripted raw bytes (tests/raw_server.py).

Every test runs its own event loop with a hard time bound; every server is
stopped. No network mocks: the client talks TCP (or TLS) to the servers.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest

from provenance import wire as wire_mod
from provenance.wire import (READ_HIGH_WATER, Wire, WireConnectError, WireError, WireProtocolError,
                             WireUnsupported, split_url)
import needs
from raw_server import RawConn, RawServer, answering, response

#: Hard bound on one test's event loop.
TEST_BOUND = 4.5


def run(coro) -> None:
    """Run one test coroutine under a hard time bound."""
    async def bounded():
        async with asyncio.timeout(TEST_BOUND):
            await coro
    asyncio.run(bounded())


async def fetch(wire: Wire, url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, bytes]:
    """Status and whole body of one request; the response is released."""
    r = await wire.open(method, url, headers)
    try:
        body = b""
        async for chunk in r.iter_chunks():
            body += chunk
        assert r.complete
        return r.status, body
    finally:
        r.release()


def ok(body: bytes = b"hello", **kw):
    return answering(lambda conn, req: response(body, **kw))


# --- 1. framing ---

def test_content_length_body_is_read_whole_and_headers_kept_as_sent():
    body = bytes(range(256)) * 400  # 100 kB, every byte value

    async def handler(conn: RawConn):
        await conn.request()
        data = response(body, headers=[("X-Mixed-Case", "One"), ("x-dup", "a"), ("X-Dup", "b")])
        for i in range(0, len(data), 7000):  # in pieces, across the head/body boundary
            await conn.send(data[i:i + 7000])
            await asyncio.sleep(0)
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url("/x"))
            assert r.status == 200 and r.http_version == "1.1"
            assert r.raw_headers[:3] == [(b"X-Mixed-Case", b"One"), (b"x-dup", b"a"), (b"X-Dup", b"b")]
            got = await r.read(10 ** 6)
            assert got == body and r.complete
            r.release()
    run(main())


def test_read_with_a_limit_stops_there():
    async def main():
        async with RawServer(ok(b"0123456789" * 1000)) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            assert await r.read(15) == b"012345678901234"
            r.release()
    run(main())


def test_chunked_body_with_extensions_and_trailers_is_dechunked_and_the_connection_reused():
    chunks = [b"hello", b" " * 26, bytes(range(256)) * 40, b"end"]
    wire_body = b"".join(f"{len(c):x};name=value;q=\"x\"\r\n".encode() + c + b"\r\n" for c in chunks)
    wire_body += b"0;last\r\nX-Trailer: t\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    async def handler(conn: RawConn):
        for _ in range(2):
            if await conn.request() is None:
                return
            data = head + wire_body
            for i in range(0, len(data), 3):  # split everywhere, chunk sizes and CRLFs included
                if i % 3000 == 0:
                    await asyncio.sleep(0)
                conn.writer.write(data[i:i + 3])
            await conn.writer.drain()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            for _ in range(2):
                status, body = await fetch(wire, server.url("/c"))
                assert status == 200 and body == b"".join(chunks)
            assert wire.connections_opened == 1 and server.connections == 1
    run(main())


def test_body_delimited_by_close_reads_to_eof_and_the_connection_is_not_reused():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        for i in range(5):
            await conn.send(b"part%d;" % i)
            await asyncio.sleep(0.01)
        # returning closes the connection: that ends the body

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            status, body = await fetch(wire, server.url("/eof"))
            assert (status, body) == (200, b"part0;part1;part2;part3;part4;")
            status, body = await fetch(wire, server.url("/eof"))
            assert status == 200 and body.startswith(b"part0")
            assert wire.connections_opened == 2 and server.connections == 2
    run(main())


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc",
], ids=["content-length", "chunked"])
def test_body_cut_short_is_an_error(answer):
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(answer)

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            with pytest.raises(WireError):
                await r.read(5000)
            assert not r.complete
            r.release()
            assert wire.open_connections == 0
    run(main())


async def _read_slowly(r) -> bytes:
    got = b""
    for _ in range(100):
        async for chunk in r.iter_chunks():
            got += chunk
            await asyncio.sleep(0.05)  # a slow reader: the connection's events run meanwhile
        return got
    raise AssertionError("unreachable")


def test_malformed_chunk_read_slowly_is_still_a_protocol_error():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n")
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            with pytest.raises(WireProtocolError):
                await _read_slowly(r)
            r.release()
    run(main())


def test_malformed_chunk_read_at_once_is_a_protocol_error():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n")
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            with pytest.raises(WireProtocolError):
                await r.read(1000)
            r.release()
    run(main())


def test_204_and_304_have_no_body_and_keep_the_connection():
    answers = iter([response(status=204, reason="No Content", length=False),
                    response(status=304, reason="Not Modified", headers=[("Content-Length", "500")], length=False),
                    response(b"after")])

    async def main():
        async with RawServer(answering(lambda conn, req: next(answers))) as server, Wire() as wire:
            assert await fetch(wire, server.url("/a")) == (204, b"")
            assert await fetch(wire, server.url("/b")) == (304, b"")
            assert await fetch(wire, server.url("/c")) == (200, b"after")
            assert wire.connections_opened == 1
    run(main())


# --- 2. keep-alive ---

def test_sequential_requests_to_one_host_reuse_one_connection():
    async def main():
        handler = answering(lambda conn, req: response(req.target.encode()))
        async with RawServer(handler) as server, Wire() as wire:
            for i in range(5):
                assert await fetch(wire, server.url(f"/p{i}")) == (200, f"/p{i}".encode())
            assert wire.connections_opened == 1 and server.connections == 1
            assert [r.target for r in server.requests] == [f"/p{i}" for i in range(5)]
            assert wire.open_connections == 1  # idle in the pool
    run(main())


@pytest.mark.parametrize("answer", [
    response(b"bye", headers=[("Connection", "close")]),
    response(b"old", version="HTTP/1.0"),
], ids=["connection-close", "http-1.0"])
def test_responses_that_end_the_connection_are_not_reused(answer):
    async def handler(conn: RawConn):
        if await conn.request() is None:
            return
        await conn.send(answer)
        await conn.wait_client_close()  # the server leaves it open: the client must close it

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            status, body = await fetch(wire, server.url())
            assert status == 200 and body in (b"bye", b"old")
            await fetch(wire, server.url())
            assert wire.connections_opened == 2 and server.connections == 2
            assert server.client_closes >= 1, "the first connection was closed by the client"
    run(main())


def test_http10_keep_alive_response_may_be_reused():
    answer = response(b"ka", version="HTTP/1.0", headers=[("Connection", "keep-alive")])

    async def main():
        async with RawServer(answering(lambda conn, req: answer)) as server, Wire() as wire:
            for _ in range(3):
                assert await fetch(wire, server.url()) == (200, b"ka")
            assert wire.connections_opened == 1
    run(main())


def test_idle_connection_older_than_keepalive_is_not_reused():
    async def main():
        async with RawServer(ok()) as server, Wire(keepalive=0.05) as wire:
            await fetch(wire, server.url())
            await asyncio.sleep(0.15)
            await fetch(wire, server.url())
            assert wire.connections_opened == 2 and server.connections == 2
    run(main())


# --- 3. stale keep-alive ---

def test_idle_connection_closed_by_the_server_is_replaced():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(response(b"once"))  # keep-alive promised, then closed while idle

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"once")
            await asyncio.sleep(0.05)
            assert await fetch(wire, server.url()) == (200, b"once")
            assert server.connections == 2
    run(main())


def test_pooled_connection_closed_as_the_request_arrives_is_retried_once():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(response(b"conn%d" % conn.index))
        if conn.index == 0:
            await conn.request()  # the second request on the first connection: closed unanswered
            return
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"conn0")
            assert await fetch(wire, server.url()) == (200, b"conn1")
            assert server.connections == 2 and len(server.requests) == 3
            assert wire.connections_opened == 2
    run(main())


def test_pooled_connection_reset_as_the_request_arrives_is_retried_once():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(response(b"conn%d" % conn.index))
        if conn.index == 0:
            await conn.request()
            conn.abort()
            return
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"conn0")
            assert await fetch(wire, server.url()) == (200, b"conn1")
            assert server.connections == 2
    run(main())


def test_server_closing_every_connection_before_answering_is_an_error_not_a_hang():
    async def handler(conn: RawConn):
        await conn.request()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            with pytest.raises(WireError):
                await wire.open("GET", server.url())
            assert server.connections == 1, "a fresh connection is not retried"
            assert wire.open_connections == 0
    run(main())


def test_stale_retry_happens_only_once():
    async def handler(conn: RawConn):
        await conn.request()
        if conn.index == 0:
            await conn.send(response(b"first"))
            await conn.request()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"first")
            with pytest.raises(WireError):
                await wire.open("GET", server.url())
            assert server.connections == 2
    run(main())


def test_pooled_connection_closed_mid_answer_is_not_retried():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(response(b"first"))
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nX-Half: ")  # some bytes of an answer, then the end

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"first")
            with pytest.raises(WireError, match="mid-answer"):
                await wire.open("GET", server.url())
            assert server.connections == 1, "bytes of an answer arrived: the request is not sent again"
    run(main())


# --- 4. interim responses ---

@pytest.mark.parametrize("split", [False, True], ids=["one-packet", "packets"])
def test_interim_responses_are_skipped(split):
    parts = [b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n",
             b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
             response(b"real body", headers=[("X-Real", "yes")])]

    async def handler(conn: RawConn):
        for _ in range(2):
            if await conn.request() is None:
                return
            if split:
                for part in parts:
                    await conn.send(part)
                    await asyncio.sleep(0.02)
            else:
                await conn.send(b"".join(parts))

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            for _ in range(2):
                r = await wire.open("GET", server.url())
                assert r.status == 200
                assert r.raw_headers == [(b"X-Real", b"yes"), (b"Content-Length", b"9")]
                assert await r.read(100) == b"real body"
                r.release()
            assert wire.connections_opened == 1
    run(main())


def test_switching_protocols_is_a_protocol_error():
    answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00"

    async def main():
        async with RawServer(answering(lambda conn, req: answer)) as server, Wire() as wire:
            with pytest.raises(WireProtocolError):
                await wire.open("GET", server.url())
            assert wire.open_connections == 0
    run(main())


# --- 5. hostile servers ---

ENDLESS_CAP = 16 * 1024 * 1024


@pytest.mark.parametrize("start,piece", [
    (b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * 4096),
    (b"HTTP/1.1 200 OK\r\n", b"X-Many: " + b"b" * 50 + b"\r\n"),
    (b"", b"HTTP/1.1 100 Continue\r\nX: y\r\n\r\n"),
], ids=["endless-line", "endless-headers", "endless-interim"])
def test_endless_response_head_is_a_protocol_error(start, piece):
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(start)
        while server.bytes_sent < ENDLESS_CAP:
            if not await conn.send(piece * 16):
                return
            await asyncio.sleep(0)

    server = RawServer(handler)

    async def main():
        async with server, Wire() as wire:
            with pytest.raises(WireProtocolError, match="head over"):
                await wire.open("GET", server.url())
            assert wire.open_connections == 0
            for _ in range(200):  # the server notices the close
                if server.open == 0:
                    break
                await asyncio.sleep(0.01)
            assert server.open == 0
            assert server.bytes_sent < ENDLESS_CAP, "the client stopped reading long before the cap"
    run(main())


@pytest.mark.parametrize("answer", [
    b"HTTP/9 abc\r\n\r\n",
    b"hello\r\n\r\n",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"\x16\x03\x01\x00\x05hello",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
], ids=["http9", "hello", "status-abc", "tls-bytes", "two-lengths", "negative-length", "no-colon"])
def test_malformed_answer_is_a_protocol_error(answer):
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(answer)
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            with pytest.raises(WireProtocolError):
                await wire.open("GET", server.url())
            assert wire.open_connections == 0
    run(main())


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\n\nhello",
    b"HTTP/1.1 200 OK\r\nX-Odd: a\x01b\r\nContent-Length: 5\r\n\r\nhello",
], ids=["bare-lf-line-ends", "control-byte-in-a-header-value"])
def test_sloppiness_browsers_read_is_read(answer):
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(answer)
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"hello")
    run(main())


def test_garbage_right_after_a_complete_response_stops_reuse():
    async def handler(conn: RawConn):
        if await conn.request() is None:
            return
        await conn.send(response(b"ok") + b"GARBAGE\r\n\r\n")
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"ok")
            assert await fetch(wire, server.url()) == (200, b"ok")
            assert wire.connections_opened == 2 and server.connections == 2
    run(main())


def test_a_second_unrequested_response_stops_reuse():
    async def handler(conn: RawConn):
        if await conn.request() is None:
            return
        await conn.send(response(b"asked") + response(b"smuggled"))
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"asked")
            assert await fetch(wire, server.url()) == (200, b"asked")
            assert wire.connections_opened == 2
    run(main())


def test_garbage_arriving_on_an_idle_connection_stops_reuse():
    async def handler(conn: RawConn):
        if await conn.request() is None:
            return
        await conn.send(response(b"ok"))
        await asyncio.sleep(0.05)
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"ok")
            await asyncio.sleep(0.2)
            assert await fetch(wire, server.url()) == (200, b"ok")
            assert wire.connections_opened == 2 and server.client_closes >= 1
    run(main())


def test_server_that_never_answers_is_cancelled_by_the_callers_timeout_and_closed():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.wait_client_close(timeout=3.0)

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await wire.open("GET", server.url())
            assert wire.open_connections == 0
            for _ in range(200):
                if server.client_closes:
                    break
                await asyncio.sleep(0.01)
            assert server.client_closes == 1, "the server saw the client close the connection"
    run(main())


def test_timeout_while_reading_a_body_then_release_closes_the_connection():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
        await conn.wait_client_close(timeout=3.0)

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await r.read(100)
            r.release()
            assert wire.open_connections == 0
            for _ in range(200):
                if server.client_closes:
                    break
                await asyncio.sleep(0.01)
            assert server.client_closes == 1
    run(main())


def test_endless_body_read_slowly_is_flow_controlled():
    block = b"x" * 65536
    cap = 256 * 1024 * 1024

    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")  # until the end: endless
        while server.bytes_sent < cap:
            if not await conn.send(block):
                return

    server = RawServer(handler)

    async def main():
        async with server, Wire() as wire:
            r = await wire.open("GET", server.url())
            chunks = r.iter_chunks()
            first = await chunks.__anext__()
            assert first
            await asyncio.sleep(0.5)  # not reading: the kernel buffers fill, then the server waits
            sent_then = server.bytes_sent
            await asyncio.sleep(0.4)
            grown = server.bytes_sent - sent_then
            assert grown < 2 * READ_HIGH_WATER, f"the server kept sending while nobody read: {grown} bytes"
            assert server.bytes_sent < 64 * 1024 * 1024
            assert r._buffered <= READ_HIGH_WATER + 256 * 1024  # at most one read past the mark
            # reading again resumes the flow
            got = 0
            for _ in range(10000):
                got += len(await chunks.__anext__())
                if got > 8 * 1024 * 1024:
                    break
            assert got > 8 * 1024 * 1024
            await chunks.aclose()
            r.release()
            assert wire.open_connections == 0
    run(main())


def test_release_mid_body_closes_the_connection():
    async def handler(conn: RawConn):
        if await conn.request() is None:
            return
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"y" * 1000)
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            assert (await r.read(10)) == b"y" * 10
            r.release()
            r.release()  # twice is harmless
            assert wire.open_connections == 0
            for _ in range(200):
                if server.client_closes:
                    break
                await asyncio.sleep(0.01)
            assert server.client_closes == 1
            r2 = await wire.open("GET", server.url())
            r2.release()
            assert wire.connections_opened == 2
    run(main())


# --- 6. the request ---

def _echo_server() -> RawServer:
    return RawServer(answering(lambda conn, req: response(b"ok")))


def test_request_line_host_and_default_headers_are_sent_once():
    async def main():
        defaults = {"User-Agent": "provenance-test/1", "Accept": "text/html"}
        async with _echo_server() as server, Wire(default_headers=defaults) as wire:
            await fetch(wire, server.url("/path/p?q=1&b"))
            req = server.requests[0]
            assert req.raw.startswith(b"GET /path/p?q=1&b HTTP/1.1\r\n")
            assert req.values("Host") == [f"127.0.0.1:{server.port}"]
            assert req.values("user-agent") == ["provenance-test/1"]
            assert req.values("accept") == ["text/html"]
            assert len(req.headers) == 3
    run(main())


def test_per_request_headers_override_defaults_case_insensitively():
    async def main():
        defaults = {"User-Agent": "default-agent", "Accept": "text/html"}
        async with _echo_server() as server, Wire(default_headers=defaults) as wire:
            await fetch(wire, server.url("/"), headers={"user-agent": "mine", "X-Extra": "1", "HOST": "evil.example"})
            req = server.requests[0]
            assert req.values("User-Agent") == ["mine"]
            assert req.values("Accept") == ["text/html"]
            assert req.values("X-Extra") == ["1"]
            assert req.values("Host") == [f"127.0.0.1:{server.port}"], "a caller's Host is not sent (twice)"
            assert len(req.headers) == 4
    run(main())


def test_host_in_default_headers_is_not_sent_twice():
    async def main():
        async with _echo_server() as server, Wire(default_headers={"Host": "other.example"}) as wire:
            await fetch(wire, server.url("/"))
            assert server.requests[0].values("Host") == [f"127.0.0.1:{server.port}"]
    run(main())


def test_path_with_spaces_and_non_ascii_is_sent_percent_encoded_utf8():
    async def main():
        async with _echo_server() as server, Wire() as wire:
            await fetch(wire, server.url("/a b/bücher?q=é x&k=%41#frag"))
            await fetch(wire, server.url("/ctl\x01\x7f/€"))
            assert server.requests[0].target == "/a%20b/b%C3%BCcher?q=%C3%A9%20x&k=%41"
            assert server.requests[1].target == "/ctl%01%7F/%E2%82%AC"
    run(main())


@pytest.mark.parametrize("headers", [
    {"X-Evil": "a\r\nInjected: yes"},
    {"X-Evil": "a\nb"},
    {"X-Evil": "a\0b"},
    {"Bad Name": "v"},
    {"X-Uni": "snow ☃"},
], ids=["crlf", "lf", "nul", "space-in-name", "not-latin1"])
def test_unsendable_header_is_unsupported_and_nothing_is_sent(headers):
    async def main():
        async with _echo_server() as server, Wire() as wire:
            with pytest.raises(WireUnsupported):
                await wire.open("GET", server.url(), headers)
            await asyncio.sleep(0.05)
            assert server.requests == [], "no byte of the request was sent"
            assert wire.connections_opened <= 1
            # a connection opened for it (if any) is clean: the next request uses it
            assert await fetch(wire, server.url("/next")) == (200, b"ok")
            assert wire.connections_opened == 1 and [r.target for r in server.requests] == ["/next"]
    run(main())


def test_unsendable_default_header_is_refused_at_once():
    with pytest.raises(WireUnsupported):
        Wire(default_headers={"X": "a\r\nb: c"})


@pytest.mark.parametrize("url,key,authority,path", [
    ("http://example.com/x", ("http", "example.com", 80), "example.com", "/x"),
    ("https://example.com", ("https", "example.com", 443), "example.com", "/"),
    ("http://example.com:80/", ("http", "example.com", 80), "example.com", "/"),
    ("https://example.com:443/", ("https", "example.com", 443), "example.com", "/"),
    ("http://example.com:8080/a", ("http", "example.com", 8080), "example.com:8080", "/a"),
    ("https://example.com:80/a", ("https", "example.com", 80), "example.com:80", "/a"),
    ("http://user:secret@example.com/p", ("http", "example.com", 80), "example.com", "/p"),
    ("http://user@example.com:81/p", ("http", "example.com", 81), "example.com:81", "/p"),
    ("http://[::1]/", ("http", "::1", 80), "[::1]", "/"),
    ("http://[::1]:8080/x?y", ("http", "::1", 8080), "[::1]:8080", "/x?y"),
    ("http://[2001:DB8::1]/", ("http", "2001:db8::1", 80), "[2001:db8::1]", "/"),
    ("http://bücher.example/", ("http", "xn--bcher-kva.example", 80), "xn--bcher-kva.example", "/"),
    ("http://Example.COM/Path", ("http", "example.com", 80), "example.com", "/Path"),
    ("HTTP://example.com/", ("http", "example.com", 80), "example.com", "/"),
    ("http://example.com/p#frag", ("http", "example.com", 80), "example.com", "/p"),
    ("http://example.com/p?q=1#frag", ("http", "example.com", 80), "example.com", "/p?q=1"),
    ("http://example.com/a b#frag x", ("http", "example.com", 80), "example.com", "/a%20b"),
    ("http://example.com?q=1", ("http", "example.com", 80), "example.com", "/?q=1"),
    ("http://example.com/a\r\nX-Injected: 1", ("http", "example.com", 80), "example.com", "/aX-Injected:%201"),
    ("http://127.0.0.1:9/", ("http", "127.0.0.1", 9), "127.0.0.1:9", "/"),
])
def test_split_url(url, key, authority, path):
    target = split_url(url)
    assert (target.key, target.authority, target.path) == (key, authority, path)
    assert "\r" not in target.path and "\n" not in target.path and " " not in target.path


@pytest.mark.parametrize("url", [
    "ftp://example.com/file",
    "mailto:someone@example.com",
    "example.com/no-scheme",
    "http:///no-host",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:abc/",
    "http://exa mple.com/",
    "http://[::1/",
    "",
])
def test_split_url_refuses(url):
    with pytest.raises(WireUnsupported):
        split_url(url)


def test_open_refuses_bad_urls_without_connecting():
    async def main():
        async with Wire() as wire:
            for url in ("ftp://127.0.0.1/x", "http://127.0.0.1:70000/"):
                with pytest.raises(WireUnsupported):
                    await wire.open("GET", url)
            assert wire.connections_opened == 0
    run(main())


# --- 7. pool limit ---

def test_pool_never_holds_more_than_limit_connections():
    servers: list[RawServer] = []
    global_peak = 0
    settle = 0.05

    async def handler(conn: RawConn):
        nonlocal global_peak
        await asyncio.sleep(settle)  # closes the client made just before connecting have reached their servers
        global_peak = max(global_peak, sum(s.open for s in servers))
        for _ in range(50):
            request = await conn.request()
            if request is None or not await conn.send(response(b"ok")):
                return

    async def main():
        servers.extend(RawServer(handler) for _ in range(6))
        for s in servers:
            await s.start()
        try:
            async with Wire(limit=3) as wire:
                order = [0, 1, 2, 3, 4, 5, 0, 0, 1, 5, 2, 3, 3, 4]
                for i in order:
                    r = await wire.open("GET", servers[i].url())
                    assert wire.open_connections <= 3
                    assert await r.read(10) == b"ok"
                    r.release()
                    assert wire.open_connections <= 3
                await asyncio.sleep(settle * 2)
                assert sum(s.open for s in servers) <= 3
                assert global_peak <= 3
                assert wire.connections_opened < len(order), "some connections were reused"
        finally:
            for s in servers:
                await s.stop()
    run(main())


# --- 8. lookup ---

def test_lookup_addresses_are_what_is_connected_to():
    asked: list[str] = []

    async def lookup(name: str) -> list[str]:
        asked.append(name)
        return ["127.0.0.5"]

    async def main():
        async with RawServer(answering(lambda conn, req: response(b"ok")), host="127.0.0.5") as server, \
                Wire(lookup=lookup) as wire:
            assert await fetch(wire, f"http://site.test:{server.port}/x") == (200, b"ok")
            assert await fetch(wire, f"http://bücher.test:{server.port}/y") == (200, b"ok")
            assert server.requests[0].values("Host") == [f"site.test:{server.port}"]
            assert server.requests[1].values("Host") == [f"xn--bcher-kva.test:{server.port}"]
            assert asked == ["site.test", "xn--bcher-kva.test"]
    run(main())


def test_refused_addresses_are_skipped_up_to_max_addresses():
    async def main():
        async with _echo_server() as server:
            dead = [f"127.0.0.{n}" for n in range(200, 210)]  # nothing listens on the server's port there

            async def enough(name):
                return dead[: wire_mod.MAX_ADDRESSES - 1] + ["127.0.0.1"]

            async def too_many(name):
                return dead[: wire_mod.MAX_ADDRESSES] + ["127.0.0.1"]

            async with Wire(lookup=enough) as wire:
                assert await fetch(wire, f"http://many.test:{server.port}/") == (200, b"ok")
            async with Wire(lookup=too_many) as wire:
                with pytest.raises(WireConnectError):
                    await wire.open("GET", f"http://many.test:{server.port}/")
            assert server.connections == 1
    run(main())


def _blackhole(host: str, port: int) -> list[socket.socket]:
    """A listening socket whose accept queue is full: the kernel drops new SYNs, so a connect hangs."""
    listener = socket.socket()
    listener.bind((host, port))
    listener.listen(0)
    held = [listener]
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect((host, port))
        except BlockingIOError:
            pass
        held.append(filler)
    return held


def test_an_address_that_drops_packets_does_not_stall_the_next_one():
    async def main():
        async with _echo_server() as server:
            held = _blackhole("127.0.0.9", server.port)
            try:
                async def lookup(name):
                    return ["127.0.0.9", "127.0.0.1"]  # the first one never answers a SYN

                async with Wire(lookup=lookup) as wire:
                    async with asyncio.timeout(3):  # without the race: a hang until the caller's timeout
                        assert await fetch(wire, f"http://twohomes.test:{server.port}/") == (200, b"ok")
                    assert wire.connections_opened == 1 and wire.open_connections == 1
                assert server.connections == 1
            finally:
                for sock in held:
                    sock.close()
    run(main())


def test_when_every_address_fails_the_error_says_why():
    async def lookup(name):
        return ["127.0.0.201", "127.0.0.202", "127.0.0.203"]  # nothing listens there

    async def main():
        async with Wire(lookup=lookup) as wire:
            with pytest.raises(WireConnectError, match="(?i)refused|connect call failed"):
                await wire.open("GET", "http://nowhere.test:9/")
            assert wire.open_connections == 0
    run(main())


def test_address_families_are_interleaved_first_family_first():
    mix = ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert wire_mod._interleave_families(mix) == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "192.0.2.3"]
    assert wire_mod._interleave_families(["192.0.2.1", "2001:db8::1"]) == ["192.0.2.1", "2001:db8::1"]
    assert wire_mod._interleave_families(["192.0.2.1", "192.0.2.2"]) == ["192.0.2.1", "192.0.2.2"]


def test_lookup_that_raises_is_a_connect_error_with_its_message():
    async def lookup(name: str) -> list[str]:
        raise ValueError(f"{name} resolves to a private address")

    async def empty(name: str) -> list[str]:
        return []

    async def main():
        async with Wire(lookup=lookup) as wire:
            with pytest.raises(WireConnectError, match="blocked.test resolves to a private address"):
                await wire.open("GET", "http://blocked.test/")
        async with Wire(lookup=empty) as wire:
            with pytest.raises(WireConnectError, match="no addresses"):
                await wire.open("GET", "http://nothing.test/")
            assert wire.connections_opened == 0
    run(main())


def test_refused_port_is_a_connect_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound then closed, never listening: connecting is refused

    async def main():
        async with Wire() as wire:
            with pytest.raises(WireConnectError):
                await wire.open("GET", f"http://127.0.0.1:{port}/")
            assert wire.open_connections == 0
    run(main())


# --- 9. HEAD ---

def test_head_with_a_content_length_and_no_body_returns_complete():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nContent-Type: text/html\r\n\r\n")
        await conn.wait_client_close(timeout=3.0)  # no body follows, the connection stays open

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("HEAD", server.url("/h"))
            assert r.status == 200 and r.complete
            assert (b"Content-Length", b"5000") in r.raw_headers
            assert await r.read(100) == b""
            r.release()
            assert server.requests[0].raw.startswith(b"HEAD /h HTTP/1.1\r\n")
    run(main())


# --- 10. TLS ---

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A self-signed certificate (no one trusts it), and one for site.test + 127.0.0.1 (tests/needs.py, trustme)."""
    return needs.certificates(tmp_path_factory.mktemp("certs"))


def _server_context(cert, key) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


def test_self_signed_certificate_is_a_tls_failure(certs):
    async def main():
        server = RawServer(answering(lambda conn, req: response(b"secret")), ssl_context=_server_context(*certs["plain"]))
        async with server, Wire() as wire:
            with pytest.raises(WireConnectError) as caught:
                await wire.open("GET", server.url("/"))
            assert str(caught.value).startswith("TLS failure")
            assert wire.open_connections == 0 and not server.requests
    run(main())


def test_trusted_certificate_for_the_ip_succeeds_and_keeps_alive(certs):
    async def main():
        cert, key = certs["san"]
        client = ssl.create_default_context(cafile=str(cert))
        server = RawServer(answering(lambda conn, req: response(b"secret")), ssl_context=_server_context(cert, key))
        async with server, Wire(ssl_context=client) as wire:
            assert server.url().startswith("https://127.0.0.1:")
            for _ in range(3):
                assert await fetch(wire, server.url("/s")) == (200, b"secret")
            assert wire.connections_opened == 1 and server.connections == 1
    run(main())


def test_trusted_certificate_is_checked_against_the_url_host_not_the_address(certs):
    async def lookup(name: str) -> list[str]:
        return ["127.0.0.1"]

    async def main():
        cert, key = certs["san"]
        client = ssl.create_default_context(cafile=str(cert))
        server = RawServer(answering(lambda conn, req: response(b"named")), ssl_context=_server_context(cert, key))
        async with server, Wire(lookup=lookup, ssl_context=client) as wire:
            assert await fetch(wire, f"https://site.test:{server.port}/") == (200, b"named")
            assert server.requests[0].values("Host") == [f"site.test:{server.port}"]
            with pytest.raises(WireConnectError) as caught:
                await wire.open("GET", f"https://other.test:{server.port}/")
            assert str(caught.value).startswith("TLS failure")
    run(main())


def test_plain_http_server_on_an_https_url_is_a_connect_error():
    async def handler(conn: RawConn):
        await conn.reader.read(1024)
        await conn.send(response(b"not tls", status=400, reason="Bad Request"))

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            with pytest.raises(WireConnectError):
                await wire.open("GET", server.url("/", scheme="https"))
            assert wire.open_connections == 0
    run(main())


def test_body_delimited_by_close_over_tls_reads_to_eof(certs):
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\n\r\n")
        for i in range(3):
            await conn.send(b"tls%d;" % i)
            await asyncio.sleep(0.01)
        # returning closes the connection (with a TLS close_notify): that ends the body

    async def main():
        cert, key = certs["san"]
        client = ssl.create_default_context(cafile=str(cert))
        async with RawServer(handler, ssl_context=_server_context(cert, key)) as server, \
                Wire(ssl_context=client) as wire:
            assert await fetch(wire, server.url("/eof")) == (200, b"tls0;tls1;tls2;")
    run(main())


# --- the lease API (connect / send / give_back) ---

def test_a_lease_given_back_unused_is_reused():
    async def main():
        async with _echo_server() as server, Wire() as wire:
            lease = await wire.connect(server.url("/a"))
            assert not lease.reused
            wire.give_back(lease)
            lease = await wire.connect(server.url("/b"))
            assert lease.reused
            r = await wire.send(lease, "GET")
            assert await r.read(10) == b"ok"
            r.release()
            assert wire.connections_opened == 1 and [r.target for r in server.requests] == ["/b"]
    run(main())


def test_non_ascii_method_is_unsupported():
    async def main():
        async with _echo_server() as server, Wire() as wire:
            with pytest.raises(WireUnsupported):
                await wire.open("GËT", server.url())
            await asyncio.sleep(0.05)
            assert server.requests == []
    run(main())


# --- found while probing ---

async def _until_complete(r) -> None:
    """Wait (bounded) until the whole response has arrived, reading nothing."""
    for _ in range(200):
        if r.complete:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the response never completed")


#: A small high-water mark for the two tests below, so the whole response (~17 kB, one write) arrives in
#: one read and crosses it there: complete *and* paused. With the real 256 KiB mark and a bigger body,
#: a loaded machine delivered it in several reads, reading paused before the end and the response never
#: completed (the test flaked).
_SMALL_HIGH_WATER = 4 * 1024
_CHUNKS = 16


def _many_small_chunks(conn: RawConn, request) -> bytes:
    """A complete chunked body of 1 kB chunks, past the (lowered) high-water mark, sent in one write."""
    body = b"".join(b"400\r\n" + b"z" * 1024 + b"\r\n" for _ in range(_CHUNKS)) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def test_a_fully_read_body_past_the_high_water_mark_leaves_the_connection_reusable(monkeypatch):
    monkeypatch.setattr(wire_mod, "READ_HIGH_WATER", _SMALL_HIGH_WATER)

    async def main():
        async with RawServer(answering(_many_small_chunks)) as server, Wire() as wire:
            for _ in range(2):
                r = await wire.open("GET", server.url())
                await _until_complete(r)  # the whole body arrives and waits unread
                assert r._conn.paused, "reading was paused at the high-water mark"
                assert len(await r.read(10 ** 6)) == _CHUNKS * 1024
                r.release()
            assert wire.connections_opened == 1
    run(main())


def test_a_partly_read_complete_body_past_the_high_water_mark_does_not_poison_the_pool(monkeypatch):
    monkeypatch.setattr(wire_mod, "READ_HIGH_WATER", _SMALL_HIGH_WATER)

    async def main():
        async with RawServer(answering(_many_small_chunks)) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            await _until_complete(r)  # the whole body arrives and waits unread: reading is paused
            assert r._conn.paused
            assert len(await r.read(10)) == 10  # the caller wants only the start
            r.release()
            async with asyncio.timeout(1.0):  # hangs here when the pooled connection is still paused
                r = await wire.open("GET", server.url())
            assert r.status == 200
            r.release()
    run(main())


def test_transfer_encoding_with_chunked_not_last_is_read_to_the_close():
    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabcdef")

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            r = await wire.open("GET", server.url())
            assert await r.read(100) == b"abcdef"
            assert r.complete
            r.release()
    run(main())


def test_ipv6_literal_is_connected_to_and_bracketed_in_host():
    needs.require_ipv6()

    async def main():
        async with RawServer(answering(lambda conn, req: response(b"six")), host="::1") as server, Wire() as wire:
            assert await fetch(wire, f"http://[::1]:{server.port}/v6") == (200, b"six")
            assert server.requests[0].values("Host") == [f"[::1]:{server.port}"]
    run(main())


def test_a_pool_over_many_hosts_keeps_nothing_per_host_once_their_connections_are_gone():
    async def main():
        servers = [RawServer(ok(), host=f"127.0.0.{n}") for n in range(30, 36)]
        for server in servers:
            await server.start()
        try:
            async with Wire(limit=2) as wire:
                for server in servers:
                    assert await fetch(wire, server.url()) == (200, b"hello")
                assert wire.open_connections <= 2
                assert len(wire._idle) <= 2, "hosts whose idle connections were closed leave no entry behind"
        finally:
            for server in servers:
                await server.stop()
    run(main())


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_a_pooled_connection_closed_while_the_caller_waited_is_reported_stale_at_once(loop_name):
    from provenance.wire import WireStaleConnection

    async def handler(conn: RawConn):
        await conn.request()
        await conn.send(response(b"hi"))
        await asyncio.sleep(0.05)  # the server's keep-alive timeout
        conn.close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            assert await fetch(wire, server.url()) == (200, b"hi")
            lease = await wire.connect(server.url())
            assert lease.reused
            for _ in range(100):  # the caller keeps its per-host gap meanwhile; the server hangs up
                if lease.conn.closed:
                    break
                await asyncio.sleep(0.01)
            async with asyncio.timeout(2):
                with pytest.raises(WireStaleConnection):
                    await wire.send(lease, "GET")
            assert wire.open_connections == 0

    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")

        async def bounded():
            async with asyncio.timeout(TEST_BOUND):
                await main()
        uvloop.run(bounded())
    else:
        run(main())


def test_a_server_that_talks_first_is_not_an_http_server():
    async def handler(conn: RawConn):
        await conn.send(b"SSH-2.0-OpenSSH_9.6\r\n")
        await conn.wait_client_close()

    async def main():
        async with RawServer(handler) as server, Wire() as wire:
            lease = await wire.connect(server.url())
            for _ in range(100):
                if lease.conn.closed:
                    break
                await asyncio.sleep(0.01)
            with pytest.raises(WireProtocolError, match="before any request"):
                await wire.send(lease, "GET")
            assert wire.open_connections == 0
    run(main())


def test_many_ipv6_addresses_first_do_not_crowd_out_ipv4():
    async def main():
        async with _echo_server() as server:  # listens on 127.0.0.1 only: ::1 on that port refuses

            async def lookup(name):
                return ["::1"] * wire_mod.MAX_ADDRESSES + ["127.0.0.1"]

            async with Wire(lookup=lookup) as wire:
                assert await fetch(wire, f"http://dual.test:{server.port}/") == (200, b"ok")
    run(main())
