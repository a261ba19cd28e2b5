"""A small read-mostly web dashboard and JSON API over the index.

Binds to 127.0.0.1 unless told otherwise. Reading (search, trends, match) needs no
token; anything that changes state (starting a crawl) needs `Authorization: Bearer
<token>` (never a query string or cookie), the token coming from $TRAWL_DASHBOARD_TOKEN
or a file created with mode 0600 under $TRAWL_HOME. Tokens are compared in constant
time and never logged.

Every request must name an allowed Host (DNS-rebinding defence: a page on
attacker.example whose name is re-pointed at 127.0.0.1 still sends its own name):
localhost, 127.0.0.1, [::1], the address the connection arrived on, and names given
with `trawl serve --allow-host` or $TRAWL_DASHBOARD_HOSTS (comma-separated); a port,
if given, must be the one the connection arrived on.  Others get 421.  User errors
are 4xx (400 bad parameter, 404 unknown site, 405, 413 body too large, 415, 422),
never 500, and every response carries a restrictive CSP and related headers.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import html
import json
import math
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from core.config import load_config
from core.errors import TrawlError
from core.home import trawl_home
from core.records import to_dict
from crawler.engine.spawn import crawl_command
from index.api import SearchQuery, TrendQuery

_SEARCH_PARAMS = {
    "q": "text", "substance": "substance", "control": "control", "class": "substance_class", "site": "site",
    "vendor": "vendor", "origin": "origin", "destination": "destination", "sort": "sort",
}
_FLOAT_PARAMS = {
    "price_min": "price_usd_min", "price_max": "price_usd_max",
    "ppu_min": "usd_per_unit_min", "ppu_max": "usd_per_unit_max",
}


def dashboard_token(home: Path | None = None) -> str:
    token = load_config().dashboard_token
    if token:
        return token
    path = (home or trawl_home()) / "dashboard.token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)  # the first write into a fresh home
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
MAX_BODY = 64 * 1024  # /api/crawl takes {"site": NAME}; anything bigger is not a request we serve
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_STYLE = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
SECURITY_HEADERS = {
    # no scripts, no external anything; the one inline style is allowed by its hash
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _bounded_int(params: Any, name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise web.HTTPBadRequest(text=f"{name}: expected a whole number 0..{high}, got {raw[:40]!r}")
    return min(int(raw), high)


def search_query_from(params: Any) -> SearchQuery:
    query = SearchQuery()
    for param, attr in _SEARCH_PARAMS.items():
        if params.get(param):
            setattr(query, attr, params[param])
    for param, attr in _FLOAT_PARAMS.items():
        if params.get(param):
            try:
                number = float(params[param])
            except ValueError:
                raise web.HTTPBadRequest(text=f"{param}: expected a number, got {params[param][:40]!r}") from None
            if not math.isfinite(number):
                raise web.HTTPBadRequest(text=f"{param}: expected a finite number, got {params[param][:40]!r}")
            setattr(query, attr, number)
    query.limit = _bounded_int(params, "limit", 20, MAX_LIMIT)
    query.offset = _bounded_int(params, "offset", 0, MAX_OFFSET)
    return query


def allowed_hosts(extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names (lower-case, IPv6 without brackets) accepted besides the connection's own address."""
    configured = [h for h in load_config().dashboard_hosts.split(",")]
    return frozenset(h.strip().lower().strip("[]") for h in (*LOCAL_HOSTS, *configured, *extra) if h.strip())


def _split_host(value: str) -> tuple[str, int | None] | None:
    """("name", port or None) from a Host header; None if it is not host[:port]."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else (None if not rest else "x")
    else:
        name, sep, port_text_or_empty = value.partition(":")
        port_text = port_text_or_empty if sep else None
    port_ok = port_text is None or (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5)
    if not name or not port_ok:
        return None
    return name, int(port_text) if port_text is not None else None


def check_host(request: web.Request, allowed: frozenset[str]) -> None:
    headers = request.headers.getall("Host", [])
    if len(headers) != 1:
        raise web.HTTPBadRequest(text="exactly one Host header is required")
    parsed = _split_host(headers[0])
    if parsed is None:
        raise web.HTTPBadRequest(text="Host: not host[:port]")
    name, port = parsed
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    local_ip, local_port = (str(sockname[0]).lower(), sockname[1]) if sockname else ("", None)
    if name not in allowed and name != local_ip:
        raise web.HTTPMisdirectedRequest(
            text=f"Host {name[:80]!r} is not served here (add it with trawl serve --allow-host)")
    if port is not None and port != local_port:
        raise web.HTTPMisdirectedRequest(text=f"Host port {port} is not the port this server listens on")


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer TOKEN`, or "" (query strings and cookies are never read)."""
    scheme, _, supplied = request.headers.get("Authorization", "").strip().partition(" ")
    return supplied.strip() if scheme.lower() == "bearer" else ""


def check_site_name(body: Any) -> str:
    """The site of a crawl request, which must be a known site (never an option-like string)."""
    from crawler.sitedef.siteconfig import NAME_RE, list_site_names

    if not isinstance(body, dict):
        raise web.HTTPUnprocessableEntity(text='expected a JSON object like {"site": "nightshade"}')
    site = body.get("site")
    if not isinstance(site, str) or not site:
        raise web.HTTPUnprocessableEntity(text='site: expected a site name, e.g. {"site": "nightshade"}')
    if not NAME_RE.fullmatch(site):
        raise web.HTTPUnprocessableEntity(
            text=f"site: {site[:60]!r} is not a site name (lowercase letters, digits, - and _)")
    if site not in list_site_names():
        raise web.HTTPNotFound(text=f"site: no site named {site!r} (see `trawl sites list`)")
    return site


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(index: Any, *, token: str, python: str = sys.executable, hosts: Iterable[str] = ()) -> web.Application:
    allowed = allowed_hosts(hosts)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        check_host(request, allowed)
        try:
            return await handler(request)
        except TrawlError as exc:  # a user error found deeper down (bad sort, bad date): 400, not 500
            raise web.HTTPBadRequest(text=str(exc)) from None

    async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(SECURITY_HEADERS)

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app.on_response_prepare.append(add_security_headers)
    running: dict[str, asyncio.subprocess.Process] = {}
    expected = token.encode()

    def require_token(request: web.Request) -> None:
        supplied = bearer_token(request).encode("utf-8", "replace")
        if not supplied or not hmac.compare_digest(supplied, expected):
            raise web.HTTPUnauthorized(text="a valid bearer token is required to change state",
                                       headers={"WWW-Authenticate": "Bearer"})

    async def api_search(request: web.Request) -> web.Response:
        try:
            result = index.search(search_query_from(request.query))
        except TrawlError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        hits = [{"score": h.score, "highlight": h.highlight, "listing": to_dict(h.listing)} for h in result.hits]
        return web.json_response({"total": result.total, "hits": hits})

    async def api_trends(request: web.Request) -> web.Response:
        query = TrendQuery(
            metric=request.query.get("metric", "usd_per_unit"),
            interval=request.query.get("interval", "month"),
            group_by=[g for g in request.query.get("by", "substance").split(",") if g],
            substance=request.query.get("substance"),
            site=request.query.get("site"),
            unit=request.query.get("unit", "g"),
        )
        try:
            rows = index.trends(query)
        except TrawlError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response([dataclasses.asdict(r) for r in rows])

    async def api_match(request: web.Request) -> web.Response:
        from enrich import match

        return web.json_response([_match_dict(m) for m in match(request.query.get("text", ""))])

    async def api_crawl(request: web.Request) -> web.Response:
        require_token(request)
        if request.content_type not in ("application/json", "application/octet-stream", ""):
            raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
        raw = await request.read()  # over MAX_BODY: aiohttp answers 413
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[… deeper than the stack
            raise web.HTTPBadRequest(text="body: not valid JSON") from None
        site = await asyncio.get_running_loop().run_in_executor(None, check_site_name, body)
        if site in running and running[site].returncode is None:
            raise web.HTTPConflict(text=f"a crawl of {site} is already running")
        # "--" ends options: even a validated name is passed as an argument, never as an option
        running[site] = await asyncio.create_subprocess_exec(
            *crawl_command(site, python=python),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return web.json_response({"site": site, "pid": running[site].pid, "status": "started"}, status=202)

    async def page(request: web.Request) -> web.Response:
        query = search_query_from(request.query)
        result = index.search(query) if request.query else None
        return web.Response(text=_render(request.query.get("q", ""), result), content_type="text/html")

    app.router.add_get("/", page)
    app.router.add_get("/api/search", api_search)
    app.router.add_get("/api/trends", api_trends)
    app.router.add_get("/api/match", api_match)
    app.router.add_post("/api/crawl", api_crawl)
    return app


def _match_dict(match: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(match) and not isinstance(match, type):
        return dataclasses.asdict(match)
    return dict(vars(match))


def _render(text: str, result: Any) -> str:
    rows = ""
    if result is not None:
        for hit in result.hits:
            x = hit.listing
            ppu = f"{x.usd_per_unit:,.2f}/{x.quantity_unit}" if x.usd_per_unit is not None else ""
            subs = ", ".join(s.name for s in x.substances)
            cells = (x.site, x.vendor or "", x.title, subs, ppu, x.origin or "", x.last_seen)
            rows += "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>"
    total = f"<p>{result.total} listing(s)</p>" if result is not None else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>trawl</title>
<style>{_STYLE}</style></head>
<body><h1>trawl</h1><form><input name="q" value="{html.escape(text)}" size="40" placeholder="substance, vendor, text">
<input name="destination" size="4" placeholder="to"><button>search</button></form>{total}
<table><tr><th>site</th><th>vendor</th><th>title</th><th>substances</th><th>USD/unit</th><th>from</th>
<th>last seen</th></tr>{rows}</table>
</body></html>"""


def serve(host: str = "127.0.0.1", port: int = 8800, hosts: Iterable[str] = ()) -> None:
    """Run until interrupted; prints the address actually bound (port 0 picks a free one)."""
    from index import open_index

    token = dashboard_token()
    app = build_app(open_index(), token=token, hosts=[*hosts, host])

    async def run() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise TrawlError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        shown = f"[{host}]" if ":" in host else host
        print(f"dashboard on http://{shown}:{bound}/ (Ctrl-C stops it)", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)  # clean exit for service managers
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
