"""One raw HTTP request to the dashboard on loopback, with the exact Host and Authorization
headers a test chooses (http.client, so nothing is added or normalised behind the test's back)."""
from __future__ import annotations

import http.client


def raw_request(port: int, method: str, path: str, *, token: str | None, host: str | None = None,
                body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body); `host=None` sends "127.0.0.1:<port>"."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
