"""Response models.  Records are the dataclasses of core.records themselves (Pydantic
validates and documents them), so the API can never drift from what the index stores."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.records import CandidateSubstance, Evidence, Listing, Snapshot, Vendor
from index.api import TrendRow


class FacetValue(BaseModel):
    value: str
    count: int


class SearchHitOut(BaseModel):
    score: float
    highlight: str = Field(description="snippet with matches wrapped in [ and ]")
    listing: Listing


class SearchOut(BaseModel):
    total: int
    offset: int
    limit: int
    hits: list[SearchHitOut]
    facets: dict[str, list[FacetValue]] = Field(description="per field: values with their number of matching listings")


class ListingOut(BaseModel):
    listing: Listing
    snapshots: list[Snapshot] = Field(description="oldest first (the most recent `history` ones)")
    evidence: Evidence = Field(description="where the page this listing was parsed from is archived (WARC)")


class TrendsOut(BaseModel):
    rows: list[TrendRow]


class MatchOut(BaseModel):
    matches: list[dict[str, Any]]


class AlertOut(BaseModel):
    kind: str
    time: str
    summary: str
    data: dict[str, Any]


class CandidateReview(BaseModel):
    status: str = Field(description="reviewed, dismissed or mapped")
    substance: str | None = Field(None, description="the known substance it was mapped to")
    substance_class: str | None = None
    who: str = Field(description="role of the token that decided")
    at: str
    note: str = ""


class CandidatesOut(BaseModel):
    candidates: list[CandidateSubstance]
    reviews: dict[str, CandidateReview] = Field(description="token -> the latest decision on it "
                                                            "($TRAWL_HOME/candidate-reviews.json)")


class AlertsOut(BaseModel):
    total: int
    alerts: list[AlertOut] = Field(description="newest first")


class VendorsOut(BaseModel):
    total: int
    vendors: list[Vendor]


class MarketStats(BaseModel):
    vendor_id: str
    site: str
    name: str
    listings: int
    first_seen: str
    last_seen: str
    sales: int | None = Field(None, description="as the market displays it (see sales estimates for ours)")
    rating: float | None = None
    feedback_count: int | None = None
    substances: list[FacetValue]


class VendorLinkOut(BaseModel):
    a: str
    b: str
    kind: str
    strength: str
    score: float
    evidence: list[str]


class VendorDetailOut(BaseModel):
    query: str
    vendors: list[Vendor] = Field(description="the stored records named by the query (one per market)")
    markets: list[MarketStats]
    identities: list[dict[str, Any]] = Field(description="identities linked across markets (enrich.vendors)")
    links: list[VendorLinkOut]


class RunOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the run's headline stats, as `trawl runs` shows them

    run_id: str
    site: str | None = None
    status: str = ""


class RunsOut(BaseModel):
    runs: list[RunOut]


class SiteOut(BaseModel):
    name: str
    origin: str = Field(description="shipped (with trawl) or local ($TRAWL_HOME/sites, $TRAWL_SITES_DIR)")
    kind: str | None = None
    network: str | None = None
    render: str | None = None
    description: str = ""
    error: str | None = Field(None, description="why the site file does not load, if it does not")
    paused: str | None = Field(None, description="why its crawls are paused (a gate, or an admin), if they are")
    last_run: RunOut | None = None


class SitesOut(BaseModel):
    sites: list[SiteOut]


class SiteDetailOut(BaseModel):
    site: SiteOut
    runs: list[RunOut]


class CrawlIn(BaseModel):
    site: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,40}$", description="a known site name")


class CrawlStarted(BaseModel):
    site: str
    pid: int
    status: str


class WhoAmI(BaseModel):
    role: str


class SalesOut(BaseModel):
    label: str = Field(description='always "estimate": a lower bound from feedback deltas, not observed sales')
    method: str
    estimated_sales: int
    estimated_revenue_usd: float
    intervals: int = Field(description="snapshot intervals with feedback counts the estimate rests on")
    by_listing: list[dict[str, Any]]


class VerifyOut(BaseModel):
    run_id: str
    ok: bool
    status: str = Field(description="OK, INTERRUPTED (open head) or TAMPERED (any problem), as `trawl evidence verify`")
    state: str
    records: int
    head: str
    recovered: int
    torn: int
    checks: dict[str, str]
    problems: list[str]
    warnings: list[str]
