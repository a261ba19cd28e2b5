"""Vendors: stored records, per-market statistics and identities linked across markets."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from core.records import Vendor
from dashboards.api.deps import index_of
from dashboards.api.models import FacetValue, MarketStats, VendorDetailOut, VendorLinkOut, VendorsOut
from dashboards.api.params import MAX_LIMIT, MAX_OFFSET
from dashboards.api.security import require_read
from index.api import IndexBackend, SearchQuery
from index.facets import facet_counts

router = APIRouter(prefix="/api", tags=["vendors"], dependencies=[Depends(require_read)])
Index = Annotated[IndexBackend, Depends(index_of)]


@router.get("/vendors", response_model=VendorsOut, summary="Stored vendor records, by vendor id")
def vendors(index: Index,
            site: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
            limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 50,
            offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> VendorsOut:
    everyone = [v for v in index.vendors() if site is None or v.site == site.strip().lower()]
    return VendorsOut(total=len(everyone), vendors=everyone[offset:offset + limit])


def market_stats(index: IndexBackend, vendor: Vendor) -> MarketStats:
    mine = SearchQuery(vendor=vendor.vendor_id, limit=0)
    substances = facet_counts(index, mine, ["substance"], 10)["substance"]
    return MarketStats(
        vendor_id=vendor.vendor_id, site=vendor.site, name=vendor.name, listings=index.search(mine).total,
        first_seen=vendor.first_seen, last_seen=vendor.last_seen, sales=vendor.sales, rating=vendor.rating,
        feedback_count=vendor.feedback_count,
        substances=[FacetValue(value=c.value, count=c.count) for c in substances],
    )


@router.get("/vendors/{vendor:path}", response_model=VendorDetailOut,
            summary="A vendor (name on any market, or vendor id): records, per-market stats, linked identities")
def vendor_detail(vendor: Annotated[str, Path(min_length=1, max_length=200)], index: Index,
                  links: Annotated[bool, Query(description="compute cross-market links (reads every listing)")] = True,
                  ) -> VendorDetailOut:
    from enrich.vendors import link_vendors, links_for

    records = index.vendors(vendor)
    if not records:
        raise HTTPException(status_code=404, detail=f"vendor: no vendor named {vendor[:80]!r}")
    identities: list[dict[str, object]] = []
    found_links: list[VendorLinkOut] = []
    if links:
        everyone = index.vendors()
        linked = links_for(vendor, everyone, link_vendors(everyone, index.iter_listings()))
        identities = linked["identities"]
        found_links = [VendorLinkOut(**link) for link in linked["links"]]
    return VendorDetailOut(query=vendor, vendors=records, markets=[market_stats(index, v) for v in records],
                           identities=identities, links=found_links)
