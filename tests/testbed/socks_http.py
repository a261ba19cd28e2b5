"""A deliberately small SOCKS5 + HTTP/1.1 client for the testbed tests (raw sockets, no deps)."""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode


class SocksRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"SOCKS reply 0x{code:02x}")
        self.code = code


def socks_connect(socks_port: int, host: str, port: int = 80, *, atyp: int = 3, username: str | None = None,
                  command: int = 1, timeout: float = 5.0) -> socket.socket:
    """Open a CONNECT tunnel through the gateway; raise SocksRefused with the reply code."""
    sock = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout)
    if username is None:
        sock.sendall(b"\x05\x01\x00")
        assert recv_exact(sock, 2) == b"\x05\x00"
    else:
        sock.sendall(b"\x05\x02\x00\x02")
        assert recv_exact(sock, 2) == b"\x05\x02"
        user, password = username.encode(), b"x"
        sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
        assert recv_exact(sock, 2) == b"\x01\x00"
    if atyp == 1:
        address = socket.inet_aton(host)
    elif atyp == 4:
        address = socket.inet_pton(socket.AF_INET6, host)
    else:
        address = bytes([len(host)]) + host.encode()
    sock.sendall(bytes([5, command, 0, atyp]) + address + struct.pack("!H", port))
    reply = recv_exact(sock, 10)
    if reply[1] != 0:
        sock.close()
        raise SocksRefused(reply[1])
    return sock


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly n bytes from a blocking socket (ConnectionError if the peer closes first)."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk
    return data


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http_over(sock: socket.socket, method: str, host: str, path: str, headers: dict[str, str] | None = None,
              body: bytes = b"") -> Response:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    cookies: list[str] = []
    for line in header_lines:
        key, _, value = line.partition(":")
        if key.lower() == "set-cookie":
            cookies.append(value.strip())
        parsed[key.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), parsed, cookies, payload)


@dataclass
class OnionSession:
    """Cookie-keeping browser-ish session to one onion host through the gateway."""

    socks_port: int
    host: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        sock = socks_connect(self.socks_port, self.host)
        response = http_over(sock, method, self.host, path, headers, body)
        for raw in response.set_cookies:
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)
