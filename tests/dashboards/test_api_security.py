"""`trawl serve` on hostile input: the real command on 127.0.0.1 spoken to with raw HTTP.

Forged Host headers (DNS rebinding), tokens in the wrong place, the analyst token on an
admin route, option-like and unknown site names, malformed bodies and parameters: every
answer is a 4xx with the security headers, never a 500, and no token reaches the output.
(The guarantees the old aiohttp dashboard's tests held, ported to the FastAPI app; bad
parameters are now 422 naming the field instead of 400.)"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Listing, Records, SubstanceRef
from index import open_index
from tests.dashboards.http_client import raw_request

ADMIN = "security-test-admin-token-0123456789abcdef"
READ = "security-test-read-token-fedcba9876543210"
REPO = Path(__file__).resolve().parents[2]


def _listing(native: str, title: str) -> Listing:
    return Listing(
        listing_id=f"nightshade:{native}", site="nightshade", market_kind="darknet-market",
        url=f"http://x.onion/l/{native}",
        title=title, vendor="DutchGold", substances=[SubstanceRef(name="mephedrone", controls=["1971:II"])],
        quantity_amount=5.0, quantity_unit="g", price_amount=50.0, price_currency="USD", price_usd=50.0,
        usd_per_unit=10.0,
        origin="NL", destinations=["DE"], first_seen="2026-08-03T12:00:00Z", last_seen="2026-08-03T12:00:00Z",
        crawled_at="2026-08-03T12:00:00Z",
    )


class Server:
    def __init__(self, port: int, output: list[str]) -> None:
        self.port, self.output = port, output

    def request(self, method: str, path: str, *, host: str | None = None, headers: dict[str, str] | None = None,
                body: bytes | None = None, token: str | None = READ) -> tuple[int, dict[str, str], bytes]:
        return raw_request(self.port, method, path, token=token, host=host, body=body, headers=headers,
                           timeout=15)

    def raw(self, data: bytes) -> bytes:
        """Bytes on a socket, for requests http.client refuses to build (two Host headers, HTTP/1.0)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("trawl-home")
    with open_index(f"sqlite:///{home / 'index.sqlite'}") as index:
        index.write(Records(listings=[_listing("1", "Mephedrone 4-MMC 5g"),
                                      _listing("2", '"><script>alert(1)</script> 3-MMC')]))
    env = {**os.environ, "TRAWL_HOME": str(home), "TRAWL_DASHBOARD_TOKEN": ADMIN, "TRAWL_DASHBOARD_READ_TOKEN": READ,
           "TRAWL_DASHBOARD_HOSTS": "dash.internal", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("TRAWL_INDEX_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "trawl.cli", "serve", "--port", "0", "--allow-host", "trawl.lan"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "dashboard on http://127.0.0.1:" in first, first + (process.stdout.read() if process.poll() else "")
    port = int(first.split("127.0.0.1:")[1].split("/")[0])
    output = [first]
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    yield Server(port, output)
    process.send_signal(signal.SIGTERM)
    try:
        # uvicorn shuts down (lifespan, index closed) and then re-raises the signal, as a service manager expects
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(5)


def post_crawl(server: Server, body: bytes, *, auth: str | None = f"Bearer {ADMIN}",
               content_type: str = "application/json", path: str = "/api/crawl") -> tuple[int, bytes]:
    headers = {"Content-Type": content_type}
    if auth is not None:
        headers["Authorization"] = auth
    status, _, text = server.request("POST", path, headers=headers, body=body, token=None)
    return status, text


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "localhost.attacker.example:{port}",
                                  "127.0.0.1.nip.io:{port}", "localhost:1", "127.0.0.1:65535", "0x7f000001:{port}"])
def test_foreign_host_is_misdirected(server: Server, host: str) -> None:
    status, headers, body = server.request("GET", "/api/search?q=mephedrone", host=host.format(port=server.port))
    assert status == 421, (host, status, body)
    assert b"mephedrone" not in body.lower() and headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}",
                                  "localhost", "dash.internal:{port}", "trawl.lan"])
def test_local_and_configured_hosts_are_served(server: Server, host: str) -> None:
    status, _, body = server.request("GET", "/api/search?q=mephedrone", host=host.format(port=server.port))
    assert status == 200, (host, body)
    assert json.loads(body)["total"] == 2


@pytest.mark.parametrize("host", ["", "a:b:c", "[::1]:abc", "localhost:99999999"])
def test_malformed_host_is_a_400(server: Server, host: str) -> None:
    status, _, _ = server.request("GET", "/", host=host)
    assert status == 400, host


def test_two_host_headers_or_none_are_refused(server: Server) -> None:
    two = server.raw(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nHost: attacker.example\r\n"
                     f"Authorization: Bearer {READ}\r\nConnection: close\r\n\r\n".encode())
    assert two.split(b"\r\n")[0].split()[1] == b"400"
    none = server.raw(f"GET /api/search?q=x HTTP/1.0\r\nAuthorization: Bearer {READ}\r\n\r\n".encode())
    assert none.split(b"\r\n")[0].split()[1] == b"400"


def test_security_headers_on_pages_errors_and_api(server: Server) -> None:
    for method, path, host, token in (("GET", "/?q=mephedrone", None, READ), ("GET", "/nope", None, READ),
                                      ("GET", "/api/search", None, READ), ("GET", "/", "attacker.example", READ),
                                      ("GET", "/api/search", None, None), ("GET", "/api/search?limit=x", None, READ)):
        status, headers, _ = server.request(method, path, host=host, token=token)
        csp = headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp, (path, csp)
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    status, headers, page = server.request("GET", "/?q=mmc")
    assert status == 200 and b"<script>" not in page and b"&lt;script&gt;" in page
    status, _, body = server.request("GET", "/api/search?q=mmc")
    assert status == 200 and b"<script>" not in body and "<script>" in json.dumps(json.loads(body))


@pytest.mark.parametrize("auth, path, extra", [
    (None, "/api/crawl?token=" + ADMIN, {}),
    (None, "/api/crawl?access_token=" + ADMIN, {}),
    (None, "/api/crawl", {"Cookie": f"token={ADMIN}"}),
    (ADMIN, "/api/crawl", {}),  # no scheme
    (f"Basic {ADMIN}", "/api/crawl", {}),
    (f"Bearer {ADMIN}x", "/api/crawl", {}),
    (f"Bearer {ADMIN[:-1]}", "/api/crawl", {}),
    ("Bearer ñandú", "/api/crawl", {}),
], ids=["query", "query-access-token", "cookie", "no-scheme", "basic", "longer", "shorter", "non-ascii"])
def test_token_only_as_bearer_header(server: Server, auth: str | None, path: str, extra: dict[str, str]) -> None:
    headers = {"Content-Type": "application/json", **extra}
    if auth is not None:
        headers["Authorization"] = auth
    status, response_headers, _ = server.request("POST", path, headers=headers, body=b'{"site": "nosuchsite"}',
                                                 token=None)
    assert status == 401 and response_headers.get("www-authenticate") == "Bearer"


def test_analyst_token_is_403_on_the_admin_route(server: Server) -> None:
    assert post_crawl(server, b'{"site": "nightshade"}', auth=f"Bearer {READ}")[0] == 403


@pytest.mark.parametrize("body, expected", [
    (b'{"site": "--help"}', 422), (b'{"site": "-h"}', 422), ('{"site": "ñandú"}'.encode(), 422),
    (b'{"site": "nosuchsite"}', 404), (b'{"site": "pill hub"}', 422), (b'{"site": "../etc/passwd"}', 422),
    (b'{"site": ""}', 422), (b'{"site": 7}', 422), (b'{"site": ["nightshade"]}', 422), (b'{}', 422),
    (b'["nightshade"]', 422), (b'"nightshade"', 422), (b'null', 422), (b'{bad json', 400), (b'\xff\xfe\x00', 400),
    (b"[" * 100_000, 413), (b"[" * 30_000 + b"]" * 30_000, 400), (b'{"site": "' + b"a" * 70_000 + b'"}', 413),
], ids=lambda v: v.decode("utf-8", "replace")[:24] if isinstance(v, bytes) else str(v))
def test_crawl_requests_are_validated(server: Server, body: bytes, expected: int) -> None:
    status, text = post_crawl(server, body)
    assert status == expected, (status, text[:200])


def test_crawl_needs_json_content_type(server: Server) -> None:
    status, _ = post_crawl(server, b'{"site": "nightshade"}', content_type="text/plain")
    assert status == 415


@pytest.mark.parametrize("method, path", [("GET", "/api/crawl"), ("DELETE", "/"), ("PUT", "/api/search"),
                                          ("POST", "/")])
def test_wrong_methods_are_405(server: Server, method: str, path: str) -> None:
    assert server.request(method, path)[0] == 405


@pytest.mark.parametrize("path, expected", [
    ("/api/search?limit=-1", 422), ("/api/search?limit=1.5", 422), ("/api/search?limit=%EF%BC%91", 422),
    ("/api/search?offset=99999999999999999999999", 422), ("/?offset=-5", 422), ("/?limit=abc", 422),
    ("/api/search?price_min=nan", 422), ("/api/search?ppu_max=inf", 422), ("/?price_max=cheap", 422),
    ("/?sort=colour", 422), ("/api/search?sort=colour", 422), ("/api/trends?metric=bogus", 422),
    ("/api/trends?interval=year", 422), ("/api/trends?by=colour", 422), ("/api/trends?unit=kg", 422),
    ("/api/search?limit=100000", 422), ("/api/search?q=%ff%fe", 200), ("/?q=%00", 200), ("/api/match?text=%00", 200),
    ("/api/search?q=" + "a" * 10_001, 422), ("/api/listings/" + "x" * 400, 422), ("/nope", 404),
])
def test_bad_parameters_are_4xx_not_500(server: Server, path: str, expected: int) -> None:
    status, _, body = server.request("GET", path)
    assert status == expected, (path, status, body[:200])


def test_tokens_never_logged(server: Server) -> None:
    post_crawl(server, b'{"site": "nosuchsite"}')
    post_crawl(server, b'{"site": "nosuchsite"}', auth=f"Bearer {ADMIN}-wrong")
    server.request("GET", f"/api/search?token={READ}")
    server.request("GET", "/api/search?limit=x")
    assert all(ADMIN not in line and READ not in line for line in server.output)
