"""Search with facets, one listing with its history, trends, and the substance matcher."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from dashboards.api.deps import index_of
from dashboards.api.models import FacetValue, ListingOut, MatchOut, SearchHitOut, SearchOut, TrendsOut
from dashboards.api.params import FacetParams, TrendParams
from dashboards.api.security import require_read
from index.api import IndexBackend
from index.facets import facet_counts
from index.history import MAX_HISTORY, listing_snapshots

router = APIRouter(prefix="/api", tags=["search"], dependencies=[Depends(require_read)])
Index = Annotated[IndexBackend, Depends(index_of)]


@router.get("/search", response_model=SearchOut, summary="Search listings, with counts per facet value")
def search(params: Annotated[FacetParams, Query()], index: Index) -> SearchOut:
    query = params.query()
    result = index.search(query)
    fields = params.facet_fields()
    counts = facet_counts(index, query, fields, params.facet_size) if fields else {}
    return SearchOut(
        total=result.total, offset=query.offset, limit=query.limit,
        hits=[SearchHitOut(score=h.score, highlight=h.highlight, listing=h.listing) for h in result.hits],
        facets={name: [FacetValue(value=c.value, count=c.count) for c in values] for name, values in counts.items()},
    )


@router.get("/listings/{listing_id:path}", response_model=ListingOut,
            summary="One listing: its fields, its snapshots over time and where its page is archived")
def listing(listing_id: Annotated[str, Path(min_length=3, max_length=300)], index: Index,
            history: Annotated[int, Query(ge=1, le=MAX_HISTORY, description="most recent snapshots to return")] = 1000,
            ) -> ListingOut:
    found = index.get_listing(listing_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"listing_id: no listing {listing_id[:80]!r}")
    return ListingOut(listing=found, snapshots=listing_snapshots(index, listing_id, history), evidence=found.evidence)


@router.get("/trends", response_model=TrendsOut, summary="Time series: the numbers of `trawl trends`")
def trends(params: Annotated[TrendParams, Query()], index: Index) -> TrendsOut:
    return TrendsOut(rows=index.trends(params.query()))


@router.get("/match", response_model=MatchOut, summary="Which substances does a text name (enrich.match)")
def match(text: Annotated[str, Query(max_length=2000)] = "") -> MatchOut:
    from enrich import match as run_match

    return MatchOut(matches=[_as_dict(m) for m in run_match(text)])


def _as_dict(found: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(found) and not isinstance(found, type):
        return dataclasses.asdict(found)
    return dict(vars(found))
