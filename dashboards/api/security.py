"""The API's defences: Host allow-list, body limit, security headers, two token roles.

**Host allow-list (DNS rebinding).**  A page on attacker.example whose name is re-pointed
at 127.0.0.1 still sends `Host: attacker.example`.  Every request must carry exactly one
Host naming localhost, 127.0.0.1, [::1], the address the connection arrived on, or a
configured name ($TRAWL_DASHBOARD_HOSTS, `trawl serve --allow-host`); a port, if given,
must be the one the connection arrived on.  Others get 421, malformed or missing ones 400.

**Roles.**  Every data route needs `Authorization: Bearer TOKEN`: the analyst (read)
token reads, the admin token reads and changes state.  No token or a wrong one: 401 with
`WWW-Authenticate: Bearer`; the analyst token on an admin route: 403.  Tokens are
compared with `hmac.compare_digest` (constant time) and are never logged: uvicorn's
access log is off (it would print query strings) and no message quotes a header.

**CSRF.**  A cross-site request forgery needs credentials the browser attaches by itself:
cookies, HTTP auth, client certificates.  This API reads none of them: the token is taken
only from an `Authorization: Bearer` header, which a browser never adds on its own and
which a foreign page cannot set on a cross-origin request without a CORS preflight that
this server never grants (no CORS headers are sent).  Query-string and cookie tokens are
ignored, so a forged form post or `<img src>` arrives without credentials and gets 401.
Admin routes also take only `application/json` bodies (415 otherwise), which an HTML form
cannot send.  That is why there is no double-submit token: there is no ambient
credential to protect.  (The pages must keep it that way: a token held in page memory or
sessionStorage and sent as a header, never a cookie.)

**Headers.**  Every response, errors included, carries a CSP with `default-src 'none'`
and `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
`Referrer-Policy: no-referrer`, COOP/CORP same-origin and `Cache-Control: no-store`.
JSON bodies escape `<`, `>` and `&` (see responses.SafeJSONResponse).  Two responses
carry a policy of their own, kept by the middleware only if it is exactly one of these
constants: the pages' shells (PAGES_CSP: scripts and styles from this server only, no
inline script, fetch() to this server only, `frame-ancestors 'self'` because the archived
page is shown in a sandboxed srcdoc frame that inherits the policy, and Chromium paints
nothing in it under `'none'`), and an archived page (ARCHIVE_CSP: `sandbox`, nothing fetched).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboards.api.responses import SafeJSONResponse

MAX_BODY = 64 * 1024  # POST /api/crawl takes {"site": NAME}; anything bigger is not a request we serve
READ, ADMIN = "read", "admin"

# the placeholder page's one inline style, allowed by its hash; no script may run anywhere
PAGE_STYLE = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
_STYLE_HASH = base64.b64encode(hashlib.sha256(PAGE_STYLE.encode()).digest()).decode()
SECURITY_HEADERS = {
    "content-security-policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}
_HEADER_PAIRS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_CSP = b"content-security-policy"
# The pages (dashboards/pages.py) load scripts and styles from this server only, draw charts
# as SVG, and call the API with fetch(); no inline script, no other host, no framing of them.
# An archived page shown in their sandboxed srcdoc frame inherits this policy as well.
PAGES_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; connect-src 'self'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
# An archived page (routes_evidence): no script, nothing fetched, not even fonts or images by URL
ARCHIVE_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; " \
              "form-action 'none'; frame-ancestors 'none'"
_OWN_CSPS = frozenset({PAGES_CSP.encode(), ARCHIVE_CSP.encode()})


def split_host(value: str) -> tuple[str, int | None] | None:
    """("name", port or None) from a Host header; None if it is not host[:port]."""
    value = value.strip().lower()
    port_text: str | None
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else (None if not rest else "x")
    else:
        name, sep, after = value.partition(":")
        port_text = after if sep else None
    port_ok = port_text is None or (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5)
    if not name or not port_ok:
        return None
    return name, int(port_text) if port_text is not None else None


def host_problem(scope: Scope, allowed: frozenset[str]) -> tuple[int, str] | None:
    """(status, reason) if the request's Host is not served here, else None."""
    hosts = [v for k, v in scope.get("headers", []) if k == b"host"]
    if len(hosts) != 1:
        return 400, "exactly one Host header is required"
    parsed = split_host(hosts[0].decode("latin-1"))
    if parsed is None:
        return 400, "Host: not host[:port]"
    name, port = parsed
    server = scope.get("server") or ("", None)  # uvicorn: the socket address the connection arrived on
    local_ip, local_port = str(server[0]).lower(), server[1]
    if name not in allowed and name != local_ip:
        return 421, f"Host {name[:80]!r} is not served here (add it with trawl serve --allow-host)"
    if port is not None and port != local_port:
        return 421, f"Host port {port} is not the port this server listens on"
    return None


class GuardMiddleware:
    """Pure ASGI, outermost: Host check, body limit and headers apply to every response,
    including the ones FastAPI and Starlette produce themselves (404, 405, 422)."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # no websocket routes: refuse before anything runs
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {*SECURITY_HEADERS, "server"}  # ours replace any set deeper down; no server banner
                inner = message.get("headers", [])
                # one of the two page policies above is kept when a route sets it; any other CSP is replaced
                own = [(k, v) for k, v in inner if k.lower() == _CSP and v in _OWN_CSPS][:1]
                headers = [(k, v) for k, v in inner if k.decode("latin-1").lower() not in names]
                defaults = [(k, v) for k, v in _HEADER_PAIRS if not (own and k == _CSP)]
                message = {**message, "headers": [*headers, *own, *defaults]}
            await send(message)

        problem = host_problem(scope, self.allowed)
        if problem is not None:
            await SafeJSONResponse({"detail": problem[1]}, status_code=problem[0])(scope, receive, send_with_headers)
            return
        body_or_status = await _read_bounded_body(scope, receive)
        if isinstance(body_or_status, int):
            await SafeJSONResponse({"detail": f"request body larger than {MAX_BODY} bytes"},
                                   status_code=body_or_status)(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, _replay(body_or_status, receive), send_with_headers)
        except Exception:
            # a bug, not a user error: answer 500 here so even it carries the headers (Starlette's
            # own 500 is sent outside this middleware), then let the server log the traceback
            if not started:
                await SafeJSONResponse({"detail": "internal error"}, status_code=500)(scope, receive,
                                                                                      send_with_headers)
            raise


async def _read_bounded_body(scope: Scope, receive: Receive) -> bytes | int:
    """The whole request body (at most MAX_BODY bytes: small, so buffering it costs nothing), or 413."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 12:
                return 400
            if int(text) > MAX_BODY:
                return 413
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # disconnected: nothing to answer
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return 413
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then wait for the disconnect, as the server would report it

    return replay


# --- roles -----------------------------------------------------------------------------

bearer_scheme = HTTPBearer(auto_error=False, description="The analyst (read) or admin token.")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def caller_role(request: Request,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]) -> str:
    """READ or ADMIN from the bearer token; 401 without a valid one (query and cookie tokens are never read)."""
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("a bearer token is required (Authorization: Bearer TOKEN)")
    supplied = credentials.credentials.strip().encode("utf-8", "replace")
    tokens: dict[str, bytes] = request.app.state.tokens
    # both comparisons always run, so the time taken says nothing about which token came close
    is_admin = hmac.compare_digest(supplied, tokens[ADMIN])
    is_reader = hmac.compare_digest(supplied, tokens[READ])
    if is_admin:
        return ADMIN
    if is_reader:
        return READ
    raise _unauthorized("the bearer token is not valid")


def require_read(role: Annotated[str, Security(caller_role)]) -> str:
    return role


def require_admin(role: Annotated[str, Security(caller_role)]) -> str:
    if role != ADMIN:
        raise HTTPException(status_code=403, detail="this action needs the admin token")
    return role


def token_map(admin_token: str, read_token: str) -> dict[str, Any]:
    return {ADMIN: admin_token.encode(), READ: read_token.encode()}
