"""A blocking SOCKS5 client (RFC 1928 CONNECT, RFC 1929 username/password) on a plain socket.

For the few places that talk to Tor outside Scrapy's reactor: `trawl doctor`, the market
mirror checks, the Tor pool's health probe.  The crawl itself goes through the Twisted
client in crawler.net.socks.

- Hostnames go to the proxy as ATYP=3 (domain) and are never resolved here: no DNS query
  for an onion or a clear-web name leaves this machine (what `socks5h://` means).  IP
  literals go as ATYP=1/4; they need no lookup either.
- Every step is bounded: the socket must carry a timeout, and that timeout bounds each
  exchange (greeting with its authentication, CONNECT) as a whole, however the proxy
  splits or trickles its reply; the socket's own timeout is restored afterwards.
- Failures raise `Socks5Error` subclasses (OSError: a proxy failure is a network failure
  to callers that catch OSError); the message says which step failed and why.  Neither it
  nor anything else here carries the username or password (with Tor, the username is the
  stream-isolation key).

Twisted-free on purpose: the Tor pool's health probe should not import a reactor.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import time

__all__ = ["REPLY_MESSAGES", "Socks5AuthError", "Socks5Closed", "Socks5Error",
           "Socks5ProtocolError", "Socks5ReplyError", "Socks5Timeout", "connect_request", "greet", "open_tunnel",
           "reply_reason", "request_connect"]

VERSION = 5
METHOD_NO_AUTH = 0x00
METHOD_USERNAME_PASSWORD = 0x02
METHOD_NONE_ACCEPTABLE = 0xFF
_METHOD_NAMES = {METHOD_NO_AUTH: "no auth", METHOD_USERNAME_PASSWORD: "username/password"}
CMD_CONNECT = 1
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
# RFC 1928 section 6.  2, 7 and 8 are what a proxy that will not take a hostname answers
REPLY_MESSAGES = {1: "general SOCKS server failure", 2: "connection not allowed by ruleset",
                  3: "network unreachable", 4: "host unreachable", 5: "connection refused",
                  6: "TTL expired", 7: "command not supported", 8: "address type not supported"}


class Socks5Error(OSError):
    """The SOCKS5 exchange failed; str() says at which step and why (never the credentials)."""


class Socks5Timeout(Socks5Error, TimeoutError):
    """The proxy did not answer a step within the socket's timeout."""


class Socks5Closed(Socks5Error, ConnectionError):
    """The proxy closed the connection before its reply was complete."""


class Socks5ProtocolError(Socks5Error):
    """The proxy answered something that is not SOCKS5."""


class Socks5AuthError(Socks5Error):
    """The proxy refused the offered method, or the username/password."""


class Socks5ReplyError(Socks5Error):
    """The proxy took the CONNECT but answered a failure reply code."""

    def __init__(self, code: int, host: str, port: int) -> None:
        self.code = code
        self.reason = reply_reason(code)
        super().__init__(f"SOCKS proxy could not reach {host}:{port}: {self.reason} (reply {code})")


def reply_reason(code: int) -> str:
    """The RFC 1928 meaning of a CONNECT reply code.

    >>> reply_reason(4), reply_reason(0x42)
    ('host unreachable', 'error 0x42')
    """
    return REPLY_MESSAGES.get(code, f"error {code:#x}")


def connect_request(host: str, port: int) -> bytes:
    """The CONNECT request: a hostname as ATYP=3 with its name (the proxy resolves it),
    an IP literal as ATYP=1/4.  ValueError for a name SOCKS5 cannot carry.

    >>> connect_request("example.onion", 80)
    b'\\x05\\x01\\x00\\x03\\rexample.onion\\x00P'
    >>> connect_request("127.0.0.1", 443)
    b'\\x05\\x01\\x00\\x01\\x7f\\x00\\x00\\x01\\x01\\xbb'
    """
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range for a SOCKS5 CONNECT")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        atyp = ATYP_IPV4 if ip.version == 4 else ATYP_IPV6
        return struct.pack("!BBBB", VERSION, CMD_CONNECT, 0, atyp) + ip.packed + struct.pack("!H", port)
    try:
        name = host.encode("idna")
    except UnicodeError:
        raise ValueError(f"{host[:60]!r} is not a hostname SOCKS5 can carry") from None
    if not 0 < len(name) < 256:
        raise ValueError(f"hostname of {len(name)} bytes: SOCKS5 carries 1 to 255 ({host[:40]}...)")
    return struct.pack("!BBBBB", VERSION, CMD_CONNECT, 0, ATYP_DOMAIN, len(name)) + name + struct.pack("!H", port)


class _Exchange:
    """One bounded step on a socket: every send and receive shares the step's deadline."""

    def __init__(self, sock: socket.socket, step: str) -> None:
        budget = sock.gettimeout()
        if budget is None or budget <= 0:
            raise ValueError("a blocking SOCKS5 exchange needs a socket with a timeout (settimeout)")
        self.sock, self.step, self.budget = sock, step, budget
        self.deadline = time.monotonic() + budget

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout()
        self.sock.settimeout(remaining)

    def _timeout(self) -> Socks5Timeout:
        return Socks5Timeout(f"SOCKS proxy did not answer the {self.step} within {self.budget:g} s")

    def send(self, data: bytes) -> None:
        self._arm()
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise self._timeout() from None

    def recv_exactly(self, count: int, what: str) -> bytes:
        data = bytearray()
        while len(data) < count:
            self._arm()
            try:
                chunk = self.sock.recv(count - len(data))
            except TimeoutError:
                raise self._timeout() from None
            if not chunk:
                raise Socks5Closed(f"SOCKS proxy closed the connection after {len(data)} of {count} bytes of {what}")
            data += chunk
        return bytes(data)

    def __enter__(self) -> _Exchange:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.settimeout(self.budget)


def greet(sock: socket.socket, username: str | None = None, password: str | None = None) -> str:
    """Negotiate the method on a connected socket: "no auth", or "username/password" (RFC 1929)
    when a username is given (Tor isolates streams by it).  Returns the method's name."""
    method = METHOD_USERNAME_PASSWORD if username is not None else METHOD_NO_AUTH
    credentials = b""
    if method == METHOD_USERNAME_PASSWORD:
        user, secret = username.encode() if username else b"", (password or "").encode()
        if len(user) > 255 or len(secret) > 255:
            raise ValueError("SOCKS5 username/password are limited to 255 bytes each")
        credentials = bytes([1, len(user)]) + user + bytes([len(secret)]) + secret
    with _Exchange(sock, "greeting") as exchange:
        exchange.send(struct.pack("!BBB", VERSION, 1, method))
        version, chosen = exchange.recv_exactly(2, "the greeting reply")
        if version != VERSION:
            raise Socks5ProtocolError(f"SOCKS proxy answered version {version}, not a SOCKS5 proxy")
        if chosen == METHOD_NONE_ACCEPTABLE:
            raise Socks5AuthError(f"SOCKS proxy accepts no offered auth method (offered {_METHOD_NAMES[method]})")
        if chosen != method:
            raise Socks5AuthError(f"SOCKS proxy refused auth method {method} ({_METHOD_NAMES[method]}; "
                                  f"it chose {chosen:#x})")
        if method == METHOD_USERNAME_PASSWORD:
            exchange.send(credentials)
            _, status = exchange.recv_exactly(2, "the username/password reply")
            if status != 0:
                raise Socks5AuthError("SOCKS proxy rejected the username/password")
    return _METHOD_NAMES[method]


def request_connect(sock: socket.socket, host: str, port: int) -> tuple[str, int]:
    """CONNECT to host:port through a greeted socket, by name (see connect_request); reads the
    whole reply so the socket then carries the tunnel.  Returns the proxy's bound address."""
    request = connect_request(host, port)
    with _Exchange(sock, f"CONNECT to {host}:{port}") as exchange:
        exchange.send(request)
        version, code, _, atyp = exchange.recv_exactly(4, "the CONNECT reply")
        if version != VERSION:
            raise Socks5ProtocolError(f"SOCKS proxy answered the CONNECT with version {version}, not SOCKS5")
        if code != 0:
            raise Socks5ReplyError(code, host, port)
        if atyp == ATYP_DOMAIN:
            length = exchange.recv_exactly(1, "the CONNECT reply")[0]
            bound = exchange.recv_exactly(length, "the CONNECT reply").decode("ascii", "replace")
        elif atyp in (ATYP_IPV4, ATYP_IPV6):
            packed = exchange.recv_exactly(4 if atyp == ATYP_IPV4 else 16, "the CONNECT reply")
            bound = str(ipaddress.ip_address(packed))
        else:
            raise Socks5ProtocolError(f"SOCKS proxy sent a malformed CONNECT reply (address type {atyp})")
        (bound_port,) = struct.unpack("!H", exchange.recv_exactly(2, "the CONNECT reply"))
    return bound, bound_port


def open_tunnel(proxy_host: str, proxy_port: int, host: str, port: int, *, timeout: float,
                username: str | None = None, password: str | None = None) -> socket.socket:
    """A socket to host:port through the SOCKS5 proxy (TCP connect, greeting, CONNECT by
    name), each step bounded by `timeout`, which the returned socket keeps.  Closed on failure."""
    sock = socket.create_connection((proxy_host, proxy_port), timeout=timeout)
    try:
        greet(sock, username, password)
        request_connect(sock, host, port)
    except BaseException:
        sock.close()
        raise
    return sock
