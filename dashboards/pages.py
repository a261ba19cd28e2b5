"""The analysts' pages: HTML shells and their static scripts and styles, served by the API app.

A shell holds no data, so it is served without a token: its script (dashboards/static/)
asks the API for everything with `Authorization: Bearer TOKEN`.  The token is pasted once
on the login form or arrives in the URL fragment (`/ui/#token=...`, never sent to the
server), is kept in sessionStorage and sent only as that header: never a cookie, so
the CSRF argument in dashboards/api/security.py holds.  Every crawled value is put into
the page with `textContent` (never as markup), scripts come only from /static/ (the
CSP, security.PAGES_CSP, allows no inline script and no other host), and charts are
SVG drawn by dashboards/static/charts.js.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from dashboards.api.security import PAGES_CSP

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# page name -> (path under /ui/, title shown in the navigation)
PAGES = {
    "search": ("", "Search"),
    "listing": ("listing", "Listing"),
    "vendor": ("vendor", "Vendor"),
    "trends": ("trends", "Trends"),
    "candidates": ("candidates", "New substances"),
    "operations": ("operations", "Operations"),
}
IN_NAVIGATION = ("search", "trends", "candidates", "operations")

router = APIRouter(tags=["pages"])


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file the pages load, read once: /static/NAME serves exactly these, nothing else."""
    files = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            files[path.name] = (path.read_bytes(), CONTENT_TYPES[path.suffix])
    return files


STATIC = _static_files()


def shell(page: str) -> str:
    _, title = PAGES[page]
    nav = "".join(f'<a href="/ui/{PAGES[name][0]}"{" class=here" if name == page else ""}>{html.escape(PAGES[name][1])}</a>'
                  for name in IN_NAVIGATION)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>trawl · {html.escape(title)}</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script><script src="/static/charts.js" defer></script>
<script src="/static/{page}.js" defer></script></head>
<body data-page="{page}"><header><strong>trawl</strong><nav>{nav}</nav>
<span id="who"></span><button type="button" id="forget" hidden>forget token</button></header>
<main><form id="login" hidden><label>Dashboard token <input type="password" id="token" autocomplete="off"
 size="48"></label> <button>open</button><p id="login-error" class="error"></p>
<p class="hint">The analyst token is in <code>$TRAWL_HOME/dashboard-read.token</code>; it stays in this tab only.</p>
</form><div id="content" aria-live="polite"></div></main></body></html>"""


def _page_response(page: str) -> HTMLResponse:
    return HTMLResponse(shell(page), headers={"content-security-policy": PAGES_CSP})


def _add_page(page: str) -> None:
    path, title = PAGES[page]

    def handler() -> HTMLResponse:
        return _page_response(page)

    handler.__name__ = f"page_{page}"
    router.add_api_route(f"/ui/{path}", handler, methods=["GET"], response_class=HTMLResponse,
                         summary=f"{title} page (HTML shell; its script calls the API with the token)")


for _page in PAGES:
    _add_page(_page)


@router.get("/static/{name}", summary="Scripts and styles of the pages", response_class=Response)
def static(name: Annotated[str, PathParam(max_length=80)]) -> Response:
    found = STATIC.get(name)
    if found is None:
        raise HTTPException(status_code=404, detail=f"name: no static file {name[:80]!r}")
    body, content_type = found
    return Response(body, media_type=content_type)
