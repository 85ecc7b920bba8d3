"""A loopback proxy for tests: HTTP forward proxy, CONNECT tunnels and SOCKS5, on one port.

Names are resolved from the test's own table (never by DNS), so a test can
show that the checker asks the proxy, not its own resolver: ``origin.test``
exists only here. It runs on its own event loop in a background thread
(the checker runs its own loop in the test's thread); every wait is
bounded and ``stop()`` ends every connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Bound on any wait of the proxy (reading a head, connecting upstream).
WAIT = 5.0
#: Most bytes piped per connection (a test never needs more).
MAX_PIPE_BYTES = 64 * 1024 * 1024


@dataclass
class ProxyServer:
    """Use as ``with ProxyServer({"origin.test": ("127.0.0.5", 8443)}) as proxy``; the port None keeps the asked one."""

    names: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    #: What was asked, in order: ("GET", absolute URL), ("CONNECT", "host:port"), ("SOCKS5", "host:port").
    seen: list[tuple[str, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def socks_url(self) -> str:
        return f"socks5h://{self.host}:{self.port}"

    def __enter__(self) -> "ProxyServer":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(WAIT)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if not self.thread.is_alive():
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=WAIT)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(WAIT * 2)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()

    def _address(self, name: str, port: int) -> tuple[str, int] | None:
        name = name.strip("[]").rstrip(".").lower()
        if name in self.names:
            address, fixed = self.names[name]
            return address, fixed or port
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return None  # an unknown name: this proxy's "DNS" has no answer
        return name, port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            first = await asyncio.wait_for(reader.readexactly(1), WAIT)
            if first == b"\x05":
                await self._socks(reader, writer)
            else:
                head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
                await self._http(head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001 - kept for the test to see
            self.errors.append(exc)
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _http(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        if method == "CONNECT":
            self.seen.append(("CONNECT", target))
            name, _, port = target.rpartition(":")
            address = self._address(name, int(port))
            if address is None:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*address), WAIT)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe_both(reader, writer, up_reader, up_writer)
            return
        self.seen.append((method, target))
        parts = urlsplit(target)
        address = self._address(parts.hostname or "", parts.port or 80)
        if address is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [line for line in lines[1:] if line and not line.lower().startswith(("proxy-", "connection:"))]
        request = "\r\n".join([f"{method} {path} HTTP/1.1", *headers, "Connection: close", "", ""])
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*address), WAIT)
        try:
            up_writer.write(request.encode("latin-1"))
            await up_writer.drain()
            answer = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), WAIT)
            # The proxy closes after each answer, and says so (the origin's keep-alive is not the client's).
            kept = [line for line in answer.split(b"\r\n") if line and not line.lower().startswith(b"connection:")]
            writer.write(b"\r\n".join(kept + [b"Connection: close", b"", b""]))
            await self._pipe(up_reader, writer)
        finally:
            up_writer.close()

    async def _socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count = (await reader.readexactly(1))[0]
        await reader.readexactly(count)
        writer.write(b"\x05\x00")  # no authentication
        _ver, command, _rsv, kind = await reader.readexactly(4)
        if kind == 1:
            name = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 4:
            name = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            name = (await reader.readexactly((await reader.readexactly(1))[0])).decode("idna")
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.seen.append(("SOCKS5", f"{name}:{port}"))
        address = self._address(name, port) if command == 1 else None
        if address is None:
            writer.write(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*address), WAIT)
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await self._pipe_both(reader, writer, up_reader, up_writer)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        moved = 0
        try:
            while moved < MAX_PIPE_BYTES:
                data = await source.read(65536)
                if not data:
                    break
                moved += len(data)
                sink.write(data)
                await asyncio.wait_for(sink.drain(), WAIT)
        except (ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            if sink.can_write_eof():
                try:
                    sink.write_eof()
                except (OSError, RuntimeError):
                    pass

    async def _pipe_both(self, reader, writer, up_reader, up_writer) -> None:
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            up_writer.close()
