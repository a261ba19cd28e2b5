"""The blocking SOCKS5 client (crawler.net.socks_blocking) against a real SOCKS5 server on
loopback, written here: one scripted behaviour per test case (success, auth required, bad
credentials, failure replies, a truncated reply, a silent server, a non-SOCKS5 answer).
The server records every byte it received, so the tests see what went on the wire: the
hostname as ATYP=3 with the port big-endian, never a resolved address."""
from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.errors import TrawlError
from crawler.net.socks_blocking import (
    Socks5AuthError,
    Socks5Closed,
    Socks5ProtocolError,
    Socks5ReplyError,
    Socks5Timeout,
    connect_request,
    greet,
    open_tunnel,
    request_connect,
)
from crawler.net.torpool import socks_greeting
from tests.testbed.socks_http import recv_exact

ONION = "lk2r3qhkh2nlbtkwndg45jtuowgav2t4dbaj4fknxqomeu5nt2hai4qd.onion"
PORT = 4443  # 0x115b: big-endian on the wire is 11 5b
SHORT = 0.3  # the client's timeout where the server is silent; nothing asserts on elapsed time
TUNNEL_DATA = b"first bytes through the tunnel"
SUCCESS_REPLY = b"\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90"  # bound 127.0.0.1:8080


@dataclass
class Script:
    """How the server answers: method choice, auth status, CONNECT reply bytes, and what it does after."""

    method: int = 0x00  # what it chooses (0xff: none acceptable)
    auth_status: int = 0
    reply: bytes = SUCCESS_REPLY
    version: int = 5
    trickle: bool = False  # send the CONNECT reply one byte per send (client must handle short reads)
    close_after_reply: bool = False
    silent: bool = False  # read the greeting, never answer
    silent_connect: bool = False  # answer the greeting, never the CONNECT (Tor without circuits)


@dataclass
class ScriptedSocks5Server:
    script: Script
    greetings: list[bytes] = field(default_factory=list)
    auths: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # (RFC 1929 version, user, password)
    requests: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    port: int = 0

    def serve(self, listener: socket.socket, stop: threading.Event) -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)  # a test server never hangs the suite
                try:
                    self._handle(conn, stop)
                except OSError as exc:
                    self.errors.append(repr(exc))

    def _handle(self, conn: socket.socket, stop: threading.Event) -> None:
        script = self.script
        head = recv_exact(conn, 2)
        self.greetings.append(head + recv_exact(conn, head[1]))
        if script.silent:
            stop.wait(10)  # hold the connection open, answer nothing
            return
        conn.sendall(bytes([script.version, script.method]))
        if script.version != 5 or script.method not in self.greetings[-1][2:]:
            return  # the client gives up here
        if script.method == 0x02:
            auth_version, ulen = recv_exact(conn, 2)
            user = recv_exact(conn, ulen)
            password = recv_exact(conn, recv_exact(conn, 1)[0])
            self.auths.append((auth_version, user, password))
            conn.sendall(bytes([1, script.auth_status]))
            if script.auth_status != 0:
                return
        request = recv_exact(conn, 4)
        atyp = request[3]
        if atyp == 3:
            length = recv_exact(conn, 1)
            request += length + recv_exact(conn, length[0] + 2)
        else:
            request += recv_exact(conn, (4 if atyp == 1 else 16) + 2)
        self.requests.append(request)
        if script.silent_connect:
            stop.wait(10)
            return
        if script.trickle:
            for byte in script.reply:
                conn.sendall(bytes([byte]))
        else:
            conn.sendall(script.reply)
        if script.close_after_reply:
            return
        if script.reply[1:2] == b"\x00":
            conn.sendall(TUNNEL_DATA)
            stop.wait(10)  # keep the tunnel open until the client is done


@contextmanager
def socks_server(script: Script) -> Iterator[ScriptedSocks5Server]:
    server = ScriptedSocks5Server(script)
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server.port = listener.getsockname()[1]
        thread = threading.Thread(target=server.serve, args=(listener, stop), daemon=True)
        thread.start()
        try:
            yield server
        finally:
            stop.set()
            thread.join(15)
    assert not thread.is_alive()


def expected_request(host: str, port: int) -> bytes:
    name = host.encode()
    return b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port)


@pytest.fixture
def no_local_dns(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records every name the process asks the resolver for (then resolves it as usual)."""
    asked: list[Any] = []
    real = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        return real(host, *args, **kwargs)

    def spy_by_name(host: str) -> str:
        asked.append(host)
        return real_by_name(host)

    real_by_name = socket.gethostbyname
    monkeypatch.setattr(socket, "getaddrinfo", spy)
    monkeypatch.setattr(socket, "gethostbyname", spy_by_name)
    return asked


CASES: list[tuple[str, Script, tuple[str, str] | None, type[Exception] | None, str]] = [
    # id, server script, credentials, expected error type, fragment of its message
    ("success", Script(), None, None, ""),
    ("success-auth", Script(method=0x02), ("vortex", "trawl"), None, ""),
    ("short-reads-domain-bound", Script(trickle=True, reply=b"\x05\x00\x00\x03\x09relay.tor\x00\x50"), None, None, ""),
    ("auth-required", Script(method=0xFF), None, Socks5AuthError, "accepts no offered auth method"),
    ("auth-method-mismatch", Script(method=0x02), None, Socks5AuthError, "refused auth method 0"),
    ("bad-credentials", Script(method=0x02, auth_status=1), ("vortex", "s3cret-pass"), Socks5AuthError,
     "rejected the username/password"),
    ("general-failure", Script(reply=b"\x05\x01\x00\x01" + bytes(6)), None, Socks5ReplyError,
     f"could not reach {ONION}:{PORT}: general SOCKS server failure (reply 1)"),
    ("host-unreachable", Script(reply=b"\x05\x04\x00\x01" + bytes(6)), None, Socks5ReplyError,
     f"could not reach {ONION}:{PORT}: host unreachable (reply 4)"),
    ("truncated-reply", Script(reply=SUCCESS_REPLY[:6], close_after_reply=True), None, Socks5Closed,
     "closed the connection after 2 of 4 bytes of the CONNECT reply"),
    ("silent", Script(silent=True), None, Socks5Timeout, f"did not answer the greeting within {SHORT:g} s"),
    ("not-socks5", Script(version=4), None, Socks5ProtocolError, "answered version 4, not a SOCKS5 proxy"),
]


@pytest.mark.parametrize(("script", "credentials", "error", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_client_against_a_scripted_socks5_server(script: Script, credentials: tuple[str, str] | None,
                                                 error: type[Exception] | None, message: str,
                                                 no_local_dns: list[Any]) -> None:
    username, password = credentials or (None, None)
    with socks_server(script) as server:
        if error is None:
            with open_tunnel("127.0.0.1", server.port, ONION, PORT, timeout=SHORT if script.silent else 10,
                             username=username, password=password) as tunnel:
                # the whole reply was consumed, nothing more: the next bytes are the tunnel's
                assert recv_exact(tunnel, len(TUNNEL_DATA)) == TUNNEL_DATA
                assert tunnel.gettimeout() == 10  # the step deadlines did not leave a shorter timeout behind
        else:
            with pytest.raises(error) as raised:
                open_tunnel("127.0.0.1", server.port, ONION, PORT, timeout=SHORT if script.silent else 10,
                            username=username, password=password)
            assert isinstance(raised.value, OSError)  # callers that catch OSError keep working
            assert message in str(raised.value)
            for secret in credentials or ():
                assert secret not in str(raised.value)  # with Tor the username is the isolation key
    assert server.errors == []
    # what went on the wire: exactly one method offered, the one the credentials call for
    assert server.greetings == [b"\x05\x01\x02" if credentials else b"\x05\x01\x00"]
    if credentials:
        assert server.auths == [(1, credentials[0].encode(), credentials[1].encode())]
    if server.requests:
        # ATYP 3 with the onion name and the port big-endian; never an address resolved here
        assert server.requests == [expected_request(ONION, PORT)]
        assert server.requests[0][-2:] == b"\x11\x5b"
    assert server.requests or error in (Socks5AuthError, Socks5Timeout, Socks5ProtocolError)
    assert ONION not in no_local_dns and "127.0.0.1" in no_local_dns


def test_reply_error_carries_the_code_and_reason() -> None:
    with socks_server(Script(reply=b"\x05\x08\x00\x01" + bytes(6))) as server:
        with pytest.raises(Socks5ReplyError) as raised:
            open_tunnel("127.0.0.1", server.port, "example.com", 80, timeout=10)
    assert (raised.value.code, raised.value.reason) == (8, "address type not supported")
    assert server.requests == [expected_request("example.com", 80)]


def test_silent_server_during_connect_times_out_as_timeout_error() -> None:
    """Greeting answered, CONNECT never answered (Tor without circuits): a TimeoutError, which
    `trawl doctor` turns into a warning."""
    with socks_server(Script(silent_connect=True)) as server, socket.create_connection(("127.0.0.1", server.port),
                                                                           timeout=SHORT) as sock:
        assert greet(sock) == "no auth"
        with pytest.raises(TimeoutError, match=f"did not answer the CONNECT to {ONION}:{PORT}"):
            request_connect(sock, ONION, PORT)
        assert sock.gettimeout() == SHORT


def test_request_encoding_and_what_is_refused_before_sending() -> None:
    assert connect_request("10.1.2.3", 9050) == b"\x05\x01\x00\x01\x0a\x01\x02\x03\x23\x5a"  # a literal: no lookup
    assert connect_request("::1", 80)[3] == 4
    with pytest.raises(ValueError, match="SOCKS5 carries 1 to 255"):
        connect_request("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".onion", 80)
    with pytest.raises(ValueError, match="out of range"):
        connect_request(ONION, 70000)
    with socket.socket() as unbounded, pytest.raises(ValueError, match="needs a socket with a timeout"):
        greet(unbounded)
    with socket.socket() as bounded:
        bounded.settimeout(1)
        with pytest.raises(ValueError, match="limited to 255 bytes") as raised:
            greet(bounded, "u" * 256, "secret-password")
        assert "secret-password" not in str(raised.value)


@pytest.mark.parametrize(("script", "message"), [
    (Script(version=4), "no SOCKS5 greeting (SOCKS proxy answered version 4"),
    (Script(silent=True), "no SOCKS5 greeting (SOCKS proxy did not answer the greeting"),
    (Script(method=0xFF), "no SOCKS5 greeting (SOCKS proxy accepts no offered auth method"),
])
def test_pool_health_probe_reports_a_broken_greeting(script: Script, message: str) -> None:
    with socks_server(script) as server:
        url = f"socks5h://127.0.0.1:{server.port}"
        with pytest.raises(TrawlError) as raised:
            socks_greeting(url, timeout=SHORT)
    assert str(raised.value).startswith(f"{url}: {message}")


def test_pool_health_probe_answers_for_a_socks5_server() -> None:
    with socks_server(Script()) as server:
        assert socks_greeting(f"socks5h://127.0.0.1:{server.port}", timeout=10) >= 0
    assert server.greetings == [b"\x05\x01\x00"]


def test_docstring_examples_hold() -> None:
    """tests/test_doctests.py does not cover crawler/: the wire-format examples are run here."""
    import doctest

    from crawler.net import socks_blocking

    result = doctest.testmod(socks_blocking)
    assert result.attempted >= 3 and result.failed == 0
