"""A SOCKS5 gateway that behaves like Tor's SocksPort for the testbed's onion names.

RFC 1928 CONNECT only, methods "no auth" and username/password (RFC 1929; any
credentials are accepted, as Tor does: the username only isolates circuits).  Names are
resolved by the gateway itself (ATYP=domain, i.e. socks5h://): known `.onion` names map to
the loopback port of their site; everything else is refused with a proper reply code and
recorded, so tests can prove traffic went through here and nowhere else.
"""
from __future__ import annotations

import asyncio
import collections
import ipaddress
import struct
from dataclasses import dataclass, field

REPLY_OK = 0x00
REPLY_GENERAL_FAILURE = 0x01
REPLY_NOT_ALLOWED = 0x02
REPLY_HOST_UNREACHABLE = 0x04
REPLY_CONNECTION_REFUSED = 0x05
REPLY_COMMAND_NOT_SUPPORTED = 0x07
REPLY_ATYP_NOT_SUPPORTED = 0x08


@dataclass
class GatewayRecord:
    host: str
    port: int
    outcome: str  # "connected" | "not-allowed" | "unknown-onion" | "mirror-down" | ...
    reply: int
    username: str | None = None
    site: str | None = None


@dataclass
class SocksGateway:
    """onion name -> (site name, loopback port); `down` names are known but refused."""

    routes: dict[str, tuple[str, int]]
    down: set[str] = field(default_factory=set)
    onion_port: int = 80
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=50_000))
    counters: collections.Counter = field(default_factory=collections.Counter)
    server: asyncio.base_events.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.server = await asyncio.start_server(self._handle, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _record(self, host: str, port: int, outcome: str, reply: int, username: str | None, site: str | None = None) -> None:
        self.log.append(GatewayRecord(host, port, outcome, reply, username, site))
        self.counters[outcome] += 1
        self.counters["requests"] += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            self.counters["aborted"] += 1
        finally:
            if not writer.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, nmethods = await reader.readexactly(2)
        if version != 5:
            self.counters["bad-version"] += 1
            return
        methods = await reader.readexactly(nmethods)
        username: str | None = None
        if 0x02 in methods:
            writer.write(b"\x05\x02")
            await writer.drain()
            _, ulen = await reader.readexactly(2)
            username = (await reader.readexactly(ulen)).decode("utf-8", "replace")
            (plen,) = await reader.readexactly(1)
            await reader.readexactly(plen)
            writer.write(b"\x01\x00")
        elif 0x00 in methods:
            writer.write(b"\x05\x00")
        else:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        await writer.drain()
        _, command, _, atyp = await reader.readexactly(4)
        if atyp == 0x01:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 0x04:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        elif atyp == 0x03:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("ascii", "replace").lower().rstrip(".")
        else:
            self._record("?", 0, "atyp-not-supported", REPLY_ATYP_NOT_SUPPORTED, username)
            await self._reply(writer, REPLY_ATYP_NOT_SUPPORTED)
            return
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 0x01:
            self._record(host, port, "command-not-supported", REPLY_COMMAND_NOT_SUPPORTED, username)
            await self._reply(writer, REPLY_COMMAND_NOT_SUPPORTED)
            return
        if atyp in (0x01, 0x04) or not host.endswith(".onion"):
            # Tor would leak nothing to the clear net here: only hidden services are reachable
            self._record(host, port, "not-allowed", REPLY_NOT_ALLOWED, username)
            await self._reply(writer, REPLY_NOT_ALLOWED)
            return
        if host in self.down:
            self._record(host, port, "mirror-down", REPLY_HOST_UNREACHABLE, username, self.routes.get(host, ("?",))[0])
            await self._reply(writer, REPLY_HOST_UNREACHABLE)
            return
        if host not in self.routes:
            self._record(host, port, "unknown-onion", REPLY_HOST_UNREACHABLE, username)
            await self._reply(writer, REPLY_HOST_UNREACHABLE)
            return
        site, target_port = self.routes[host]
        if port != self.onion_port:
            self._record(host, port, "port-closed", REPLY_CONNECTION_REFUSED, username, site)
            await self._reply(writer, REPLY_CONNECTION_REFUSED)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            self._record(host, port, "upstream-failed", REPLY_GENERAL_FAILURE, username, site)
            await self._reply(writer, REPLY_GENERAL_FAILURE)
            return
        self._record(host, port, "connected", REPLY_OK, username, site)
        await self._reply(writer, REPLY_OK)
        try:
            await asyncio.gather(self._pipe(reader, up_writer, "bytes_up"), self._pipe(up_reader, writer, "bytes_down"))
        finally:
            up_writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, code: int) -> None:
        writer.write(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
        await writer.drain()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: str) -> None:
        try:
            while data := await reader.read(65536):
                self.counters[counter] += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not writer.is_closing():
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    writer.close()
