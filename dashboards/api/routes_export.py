"""Downloads: the files `trawl export` writes, with their sidecar, as one zip.

`GET /api/export/trends?format=csv&...` (the parameters of /api/trends) and
`GET /api/export/listings?format=parquet&...` (those of /api/search) run index.export
into a private temporary directory and answer `trawl-<kind>.zip` holding the data file
and its `.meta.json` sidecar: the same bytes and provenance as the CLI's export.
"""
from __future__ import annotations

import dataclasses
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from dashboards.api.deps import index_of
from dashboards.api.params import SearchParams, TrendParams
from dashboards.api.security import require_read
from index.api import IndexBackend, SearchQuery, TrendQuery

router = APIRouter(prefix="/api/export", tags=["export"], dependencies=[Depends(require_read)])
Index = Annotated[IndexBackend, Depends(index_of)]
Format = Literal["csv", "parquet", "jsonl"]


class TrendExportParams(TrendParams):
    format: Format = "csv"


class ListingExportParams(SearchParams):
    format: Format = "csv"


def _zipped(index: IndexBackend, kind: str, fmt: str, query: SearchQuery | None, trend: TrendQuery | None,
            command: str) -> Response:
    from index.export import export

    name = f"trawl-{kind}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="trawl-export-") as folder:
        out = Path(folder) / name
        export(index, kind, fmt, out, query=query, trend=trend, command=command)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(out, name)
            archive.write(out.with_name(name + ".meta.json"), name + ".meta.json")
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="trawl-{kind}.zip"'})


@router.get("/trends", summary="The trend numbers as CSV/Parquet/JSONL with the export sidecar (zip)",
            response_class=Response, responses={200: {"content": {"application/zip": {}}}})
def export_trends(params: Annotated[TrendExportParams, Query()], index: Index) -> Response:
    return _zipped(index, "trends", params.format, None, params.query(), "dashboard: GET /api/export/trends")


@router.get("/listings", summary="Listings matching a search as CSV/Parquet/JSONL with the export sidecar (zip)",
            response_class=Response, responses={200: {"content": {"application/zip": {}}}})
def export_listings(params: Annotated[ListingExportParams, Query()], index: Index) -> Response:
    # every match in the query's sort order (iter_listings ignores paging, as `trawl export` does); paging
    # reset to the defaults so the sidecar's filters do not claim a page size that was not applied
    defaults = SearchQuery()
    query = dataclasses.replace(params.query(), limit=defaults.limit, offset=defaults.offset)
    return _zipped(index, "listings", params.format, query, None, "dashboard: GET /api/export/listings")
