"""A small read-mostly web dashboard and JSON API over the index.

Binds to 127.0.0.1 unless told otherwise. Reading (search, trends, match) needs no
token; anything that changes state (starting a crawl) needs `Authorization: Bearer
<token>`, the token coming from $TRAWL_DASHBOARD_TOKEN or a file created with mode
0600 under $TRAWL_HOME. Tokens are compared in constant time and never logged.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hmac
import html
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from index.api import SearchQuery, TrendQuery
from index.errors import TrawlError
from index.home import trawl_home
from index.model import to_dict

_SEARCH_PARAMS = {
    "q": "text", "substance": "substance", "control": "control", "class": "substance_class", "site": "site",
    "vendor": "vendor", "origin": "origin", "destination": "destination", "sort": "sort",
}
_FLOAT_PARAMS = {"price_min": "price_usd_min", "price_max": "price_usd_max", "ppu_min": "usd_per_unit_min", "ppu_max": "usd_per_unit_max"}


def dashboard_token(home: Path | None = None) -> str:
    token = os.environ.get("TRAWL_DASHBOARD_TOKEN")
    if token:
        return token
    path = (home or trawl_home()) / "dashboard.token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def search_query_from(params: Any) -> SearchQuery:
    query = SearchQuery()
    for param, attr in _SEARCH_PARAMS.items():
        if params.get(param):
            setattr(query, attr, params[param])
    for param, attr in _FLOAT_PARAMS.items():
        if params.get(param):
            try:
                setattr(query, attr, float(params[param]))
            except ValueError:
                raise web.HTTPBadRequest(text=f"{param}: expected a number, got {params[param]!r}") from None
    try:
        query.limit = min(int(params.get("limit", 20)), 500)
        query.offset = max(int(params.get("offset", 0)), 0)
    except ValueError:
        raise web.HTTPBadRequest(text="limit/offset: expected integers") from None
    return query


def build_app(index: Any, *, token: str, python: str = sys.executable) -> web.Application:
    app = web.Application()
    running: dict[str, asyncio.subprocess.Process] = {}

    def require_token(request: web.Request) -> None:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not supplied or not hmac.compare_digest(supplied.encode(), token.encode()):
            raise web.HTTPUnauthorized(text="a valid bearer token is required to change state")

    async def api_search(request: web.Request) -> web.Response:
        try:
            result = index.search(search_query_from(request.query))
        except TrawlError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response({"total": result.total, "hits": [{"score": h.score, "highlight": h.highlight, "listing": to_dict(h.listing)} for h in result.hits]})

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
        body = await request.json() if request.can_read_body else {}
        site = str(body.get("site", ""))
        if not site.replace("-", "").replace("_", "").isalnum():
            raise web.HTTPBadRequest(text="site: expected a site name")
        if site in running and running[site].returncode is None:
            raise web.HTTPConflict(text=f"a crawl of {site} is already running")
        running[site] = await asyncio.create_subprocess_exec(python, "-m", "dashboards.cli", "crawl", site, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
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
    if dataclasses.is_dataclass(match):
        return dataclasses.asdict(match)
    return dict(vars(match))


def _render(text: str, result: Any) -> str:
    rows = ""
    if result is not None:
        for hit in result.hits:
            l = hit.listing
            ppu = f"{l.usd_per_unit:,.2f}/{l.quantity_unit}" if l.usd_per_unit is not None else ""
            subs = ", ".join(s.name for s in l.substances)
            rows += "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (l.site, l.vendor or "", l.title, subs, ppu, l.origin or "", l.last_seen)) + "</tr>"
    total = f"<p>{result.total} listing(s)</p>" if result is not None else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>trawl</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>trawl</h1><form><input name="q" value="{html.escape(text)}" size="40" placeholder="substance, vendor, text">
<input name="destination" size="4" placeholder="to"><button>search</button></form>{total}
<table><tr><th>site</th><th>vendor</th><th>title</th><th>substances</th><th>USD/unit</th><th>from</th><th>last seen</th></tr>{rows}</table>
</body></html>"""


def serve(host: str = "127.0.0.1", port: int = 8800) -> None:
    from index import open_index

    token = dashboard_token()
    app = build_app(open_index(), token=token)
    try:
        web.run_app(app, host=host, port=port, print=None)
    except OSError as exc:
        raise TrawlError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
