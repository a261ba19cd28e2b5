"""Vendors: stored records, per-market statistics and identities linked across markets."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from dashboards.api.deps import index_of
from dashboards.api.models import VendorDetailOut, VendorsOut
from dashboards.api.params import MAX_LIMIT, MAX_OFFSET
from dashboards.api.security import require_read
from index.api import IndexBackend
from index.vendors import Linker, vendor_report

router = APIRouter(prefix="/api", tags=["vendors"], dependencies=[Depends(require_read)])
Index = Annotated[IndexBackend, Depends(index_of)]


@router.get("/vendors", response_model=VendorsOut, summary="Stored vendor records, by vendor id")
def vendors(index: Index,
            site: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
            limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 50,
            offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> VendorsOut:
    everyone = [v for v in index.vendors() if site is None or v.site == site.strip().lower()]
    return VendorsOut(total=len(everyone), vendors=everyone[offset:offset + limit])


def cross_market_linker() -> Linker:
    """enrich.vendors' linking, as `trawl vendors show` passes it (trawl/enrich_cli.py)."""
    from enrich.vendors import link_vendors, links_for

    return lambda name, everyone, listings: links_for(name, everyone, link_vendors(everyone, listings))


@router.get("/vendors/{vendor:path}", response_model=VendorDetailOut,
            summary="A vendor (name on any market, or vendor id): records, per-market stats, linked identities "
                    "(the document `trawl vendors show NAME --json` prints)")
def vendor_detail(vendor: Annotated[str, Path(min_length=1, max_length=200)], index: Index,
                  links: Annotated[bool, Query(description="compute cross-market links (reads every listing)")] = True,
                  ) -> dict[str, Any]:
    report = vendor_report(index, vendor, linker=cross_market_linker() if links else None)
    if report is None:
        raise HTTPException(status_code=404, detail=f"vendor: no vendor named {vendor[:80]!r}")
    return report
