"""GET /: the search form and a results table, rendered on the server with every value
escaped.  A placeholder until the pages (issue 17) replace it; it needs the read token
like every other route (send `Authorization: Bearer TOKEN`)."""
from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from dashboards.api.deps import index_of
from dashboards.api.params import SearchParams
from dashboards.api.security import PAGE_STYLE, require_read
from index.api import IndexBackend, SearchResult

router = APIRouter(tags=["pages"], dependencies=[Depends(require_read)])


@router.get("/", response_class=HTMLResponse, summary="Search page (HTML)")
def page(params: Annotated[SearchParams, Query()], index: Annotated[IndexBackend, Depends(index_of)]) -> HTMLResponse:
    asked = bool(params.model_fields_set)
    result = index.search(params.query()) if asked else None
    return HTMLResponse(render(params.q, result))


def render(text: str, result: SearchResult | None) -> str:
    rows = ""
    if result is not None:
        for hit in result.hits:
            x = hit.listing
            ppu = f"{x.usd_per_unit:,.2f}/{x.quantity_unit}" if x.usd_per_unit is not None else ""
            cells = (x.site, x.vendor or "", x.title, ", ".join(s.name for s in x.substances), ppu, x.origin or "",
                     x.last_seen)
            rows += "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>"
    total = f"<p>{result.total} listing(s)</p>" if result is not None else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>trawl</title>
<style>{PAGE_STYLE}</style></head>
<body><h1>trawl</h1><form><input name="q" value="{html.escape(text)}" size="40" placeholder="substance, vendor, text">
<input name="destination" size="4" placeholder="to"><button>search</button></form>{total}
<table><tr><th>site</th><th>vendor</th><th>title</th><th>substances</th><th>USD/unit</th><th>from</th>
<th>last seen</th></tr>{rows}</table>
</body></html>"""
