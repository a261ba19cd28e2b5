"""Loopback servers for the network tests: a tiny shop site and a SOCKS5 gateway.

The gateway behaves like Tor's SocksPort for the tests: it resolves the names it
knows (onion names mapped to loopback ports) itself and refuses everything else.
It records every CONNECT and the local port of every upstream connection it opens,
so a test can tell gateway traffic from direct traffic at the site.
"""
from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopThread:
    """An asyncio loop in a daemon thread, for servers the test process hosts."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class ShopSite:
    """A paginated shop: / -> /page/1..N, each page with PER_PAGE products."""

    host_name: str  # the Host header it answers to ('' = any)
    pages: int = 3
    per_page: int = 4
    port: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    ssl_context: Any = None  # an ssl.SSLContext serves https

    def product_names(self) -> set[str]:
        return {f"Product {p}-{i}" for p in range(1, self.pages + 1) for i in range(self.per_page)}

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        host = request.headers.get("Host", "").split(":")[0]
        body = await request.read()
        self.hits.append({"path": request.path, "host": host, "peer_port": peer[1] if peer else 0,
                          "method": request.method, "body": body.decode("latin-1"),
                          "headers": dict(request.headers)})
        if self.host_name and host != self.host_name:
            return web.Response(status=421, text="wrong host")
        if request.path in ("/", ""):
            links = "".join(f'<a class="page" href="/page/{p}">page {p}</a>'
                            for p in range(1, self.pages + 1))
            return web.Response(text=f"<html><body><h1>Shop</h1>{links}</body></html>",
                                content_type="text/html")
        if request.path.startswith("/page/"):
            number = int(request.path.rsplit("/", 1)[1])
            items = "".join(f'<div class="product"><h2>Product {number}-{i}</h2>'
                            f'<span class="price">{10 + i}.00 USD</span></div>'
                            for i in range(self.per_page))
            return web.Response(text=f"<html><body>{items}</body></html>",
                                content_type="text/html")
        if request.path == "/login":
            response = web.Response(text="<html><body>welcome</body></html>",
                                    content_type="text/html")
            response.set_cookie("sessid", "server-session-secret-123")
            return response
        return web.Response(status=404, text="not found")

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


@dataclass
class Socks5Gateway:
    """SOCKS5 server resolving only the names in `routes` (name -> (host, port))."""

    routes: dict[str, tuple[str, int]]
    port: int = 0
    gateway_log: list[dict[str, Any]] = field(default_factory=list)
    upstream_ports: set[int] = field(default_factory=set)
    server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"socks5h://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        entry: dict[str, Any] = {}
        try:
            _version, nmethods = await reader.readexactly(2)
            methods = await reader.readexactly(nmethods)
            entry["username"] = None
            if 2 in methods:
                writer.write(b"\x05\x02")
                _, ulen = await reader.readexactly(2)
                entry["username"] = (await reader.readexactly(ulen)).decode()
                plen = (await reader.readexactly(1))[0]
                await reader.readexactly(plen)
                writer.write(b"\x01\x00")
            else:
                writer.write(b"\x05\x00")
            _, cmd, _, atyp = await reader.readexactly(4)
            if atyp == 3:
                length = (await reader.readexactly(1))[0]
                host = (await reader.readexactly(length)).decode()
            elif atyp == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            entry.update(host=host, port=port, atyp=atyp, cmd=cmd)
            target = self.routes.get(host)
            entry["accepted"] = bool(target) and cmd == 1
            self.gateway_log.append(entry)
            if not entry["accepted"]:
                writer.write(b"\x05\x04\x00\x01" + b"\x00" * 6)  # host unreachable
                await writer.drain()
                writer.close()
                return
            assert target is not None  # accepted implies a route
            up_reader, up_writer = await asyncio.open_connection(*target)
            self.upstream_ports.add(up_writer.get_extra_info("sockname")[1])
            writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def stop(self) -> None:
        if self.server:
            self.server.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def self_signed_context(host: str, tmp: Any) -> Any:
    """A server SSLContext with a throwaway self-signed certificate for `host`."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "site.crt", tmp / "site.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@dataclass
class OnionRange:
    loop: LoopThread
    site: ShopSite
    gateway: Socks5Gateway
    onion: str
    scheme: str = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.onion}/"


@contextmanager
def onion_range(pages: int = 3, per_page: int = 4, seed: int = 7,
                tls_dir: Any = None) -> Iterator[OnionRange]:
    """A shop reachable only as `<onion>` (port 80, or 443 with tls_dir) via the gateway."""
    from testbed.onion import onion_address

    onion = onion_address(seed, "netshop")
    loop = LoopThread()
    context = self_signed_context(onion, tls_dir) if tls_dir is not None else None
    site = ShopSite(host_name=onion, pages=pages, per_page=per_page, ssl_context=context)
    loop.run(site.start())
    gateway = Socks5Gateway(routes={onion: ("127.0.0.1", site.port)})
    loop.run(gateway.start())
    try:
        yield OnionRange(loop, site, gateway, onion, "https" if context else "http")
    finally:
        loop.run(gateway.stop())
        loop.run(site.stop())
        loop.stop()


@contextmanager
def clear_site(pages: int = 3, per_page: int = 4) -> Iterator[ShopSite]:
    """A shop on 127.0.0.1:<port>, any Host."""
    loop = LoopThread()
    site = ShopSite(host_name="", pages=pages, per_page=per_page)
    loop.run(site.start())
    try:
        yield site
    finally:
        loop.run(site.stop())
        loop.stop()
