"""A SOCKS5 client endpoint for Twisted (RFC 1928 CONNECT, RFC 1929 username/password).

Hostnames are always sent to the proxy (ATYP=domain), never resolved locally: this is
what `socks5h://` means and what Tor's SocksPort expects. The username/password is
how Tor isolates streams (one circuit per site).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectError
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure

from core.errors import TrawlError
from crawler.net.socks_blocking import connect_request, reply_reason

# --- configuration -----------------------------------------------------------------

@dataclass(frozen=True)
class SocksProxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def public_url(self) -> str:
        """The proxy as recorded in evidence and logs: never with credentials."""
        return f"socks5h://{self.host}:{self.port}"


def parse_socks_url(url: str, isolation: str | None = None) -> SocksProxy:
    """`socks5h://[user:pass@]host:port` -> SocksProxy; anything else is a TrawlError.

    `socks5://` is refused on purpose: by convention it means "resolve locally",
    which would leak onion names and clear-web lookups to the local resolver."""
    parts = urlsplit(url.strip())
    if parts.scheme != "socks5h":
        raise TrawlError(
            f"TRAWL_TOR_SOCKS={url!r}: scheme must be socks5h:// (remote DNS); "
            f"{parts.scheme or 'no scheme'}:// would resolve hostnames locally"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise TrawlError(f"TRAWL_TOR_SOCKS={url!r}: bad port ({exc})") from None
    if not parts.hostname or not port:
        raise TrawlError(f"TRAWL_TOR_SOCKS={url!r}: expected socks5h://host:port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if len((username or "").encode()) > 255 or len((password or "").encode()) > 255:
        raise TrawlError("TRAWL_TOR_SOCKS: SOCKS5 username/password are limited to 255 bytes")
    if username is None and isolation:
        # Tor isolates streams by SOCKS credentials: one circuit set per site.
        username, password = isolation, "trawl"
    return SocksProxy(parts.hostname, port, username, password)



# --- SOCKS5 client endpoint (RFC 1928 / RFC 1929) ----------------------------------

class SocksError(ConnectError):
    """The SOCKS proxy refused or broke the connection (Scrapy retries these)."""


def socks5_connect_request(host: str, port: int) -> bytes:
    """CONNECT request; hostnames go as ATYP=3 (domain) so the PROXY resolves them
    (one encoder for both clients: crawler.net.socks_blocking)."""
    try:
        return connect_request(host, port)
    except ValueError as exc:
        raise SocksError(string=str(exc)) from None


class _Socks5Handshake:
    """Drives the handshake on an already-connected protocol, then hands it over.

    Like Scrapy's CONNECT tunnel: the HTTP protocol is built at TCP connect time,
    its dataReceived/connectionLost are borrowed until the tunnel is up."""

    def __init__(self, protocol: Protocol, proxy: SocksProxy, host: str, port: int,
                 tls_creator: Any, ready: Deferred[Protocol]) -> None:
        self.protocol, self.proxy, self.host, self.port = protocol, proxy, host, port
        self.tls_creator, self.ready = tls_creator, ready
        self.buffer = b""
        self.state = "greeting"
        self._orig_received = protocol.dataReceived
        self._orig_lost = protocol.connectionLost
        protocol.dataReceived = self.data_received  # type: ignore[method-assign]
        protocol.connectionLost = self.connection_lost  # type: ignore[method-assign]
        method = 2 if proxy.username is not None else 0
        self.write(struct.pack("!BBB", 5, 1, method))

    def write(self, data: bytes) -> None:
        # typed Any: without a zope plugin mypy reads ITransport's methods as taking `self`
        transport: Any = self.protocol.transport
        if transport is None:
            raise ConnectionError("SOCKS handshake on a connection that is already closed")
        transport.write(data)

    def fail(self, message: str) -> None:
        # stay hooked in: bytes still arriving must not reach the HTTP parser
        self.state = "failed"
        if self.protocol.transport is not None:
            self.protocol.transport.abortConnection()
        if not self.ready.called:
            self.ready.errback(Failure(SocksError(string=message)))

    def restore(self) -> None:
        self.protocol.dataReceived = self._orig_received  # type: ignore[method-assign]
        self.protocol.connectionLost = self._orig_lost  # type: ignore[method-assign]

    def connection_lost(self, reason: Failure = connectionDone) -> None:
        self.restore()
        if not self.ready.called:
            self.ready.errback(Failure(SocksError(
                string=f"SOCKS proxy {self.proxy.public_url} closed the connection "
                       f"during the {self.state} step")))
        self.protocol.connectionLost(reason)

    def data_received(self, data: bytes) -> None:
        if self.state == "failed":
            return
        self.buffer += data
        while self.state not in ("done", "failed") and self._step():
            pass

    def _step(self) -> bool:
        """Consume one reply if complete; False when more bytes are needed."""
        buf = self.buffer
        if self.state == "greeting":
            if len(buf) < 2:
                return False
            self.buffer = buf[2:]
            wanted = 2 if self.proxy.username is not None else 0
            if buf[0] != 5 or buf[1] != wanted:
                self.fail(f"SOCKS proxy {self.proxy.public_url} rejected auth method {wanted}")
                return False
            if wanted == 2:
                user = (self.proxy.username or "").encode()
                pwd = (self.proxy.password or "").encode()
                self.write(bytes([1, len(user)]) + user + bytes([len(pwd)]) + pwd)
                self.state = "auth"
            else:
                self._send_connect()
            return True
        if self.state == "auth":
            if len(buf) < 2:
                return False
            self.buffer = buf[2:]
            if buf[1] != 0:
                self.fail(f"SOCKS proxy {self.proxy.public_url} rejected the credentials")
                return False
            self._send_connect()
            return True
        if self.state == "connect":
            if len(buf) < 5:
                return False
            atyp = buf[3]
            addr_len = {1: 4, 4: 16, 3: 1 + buf[4]}.get(atyp)
            if addr_len is None:
                self.fail(f"SOCKS proxy sent a malformed reply (atyp {atyp})")
                return False
            total = 4 + addr_len + 2
            if len(buf) < total:
                return False
            if buf[1] != 0:
                reason = reply_reason(buf[1])
                self.fail(f"SOCKS proxy {self.proxy.public_url} could not reach "
                          f"{self.host}:{self.port}: {reason}")
                return False
            self.buffer = buf[total:]
            self._tunnel_up()
            return False
        return False

    def _send_connect(self) -> None:
        try:
            self.write(socks5_connect_request(self.host, self.port))
        except SocksError as exc:
            self.fail(str(exc))
            return
        self.state = "connect"

    def _tunnel_up(self) -> None:
        self.state = "done"
        self.restore()
        leftover, self.buffer = self.buffer, b""
        if self.tls_creator is not None:
            if self.protocol.transport is None:
                raise ConnectionError("SOCKS tunnel closed before TLS could start")
            self.protocol.transport.startTLS(self.tls_creator)
        self.ready.callback(self.protocol)
        if leftover:
            self.protocol.dataReceived(leftover)


class Socks5ClientEndpoint:
    """IStreamClientEndpoint: TCP to the proxy, SOCKS5 CONNECT by name, optional TLS."""

    def __init__(self, reactor: Any, proxy: SocksProxy, host: str, port: int,
                 tls_creator: Any = None, timeout: float = 30) -> None:
        self._reactor, self._proxy, self._host, self._port = reactor, proxy, host, port
        self._tls_creator, self._timeout = tls_creator, timeout

    def connect(self, protocol_factory: Factory) -> Deferred[Protocol]:
        tcp = TCP4ClientEndpoint(self._reactor, self._proxy.host, self._proxy.port,
                                 timeout=self._timeout)
        connected = tcp.connect(protocol_factory)  # type: ignore[arg-type]  # zope interface, no mypy plugin
        handshake: list[_Socks5Handshake] = []

        def cancel(_: Deferred[Protocol]) -> None:
            # download timeout: drop the proxy connection too, a silent proxy must not
            # keep sockets open
            if handshake and handshake[0].protocol.transport is not None:
                handshake[0].protocol.transport.abortConnection()
            connected.cancel()

        ready: Deferred[Protocol] = Deferred(cancel)

        def start(protocol: Protocol) -> None:
            handshake.append(_Socks5Handshake(protocol, self._proxy, self._host, self._port,
                                              self._tls_creator, ready))

        def refused(failure: Failure) -> None:
            if not ready.called:
                ready.errback(Failure(SocksError(
                    string=f"SOCKS proxy {self._proxy.public_url} unreachable "
                           f"({failure.getErrorMessage()}); no direct fallback for tor sites")))

        connected.addCallbacks(start, refused)
        return ready
