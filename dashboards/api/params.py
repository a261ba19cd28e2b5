"""Query parameters as Pydantic models: every bad value is a 422 naming its field.

The search parameters are the filters of `index.api.SearchQuery` under the names the
old dashboard and the CLI use (`q`, `class`, `price_min`, ...); the trend parameters
are those of `trawl trends`.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.errors import TrawlError
from core.records import MARKET_KINDS
from core.timeutil import bound_from
from index.api import SearchQuery, TrendQuery
from index.facets import FACET_FIELDS, MAX_FACET_SIZE

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
SORTS = ("relevance", "price_usd", "-price_usd", "usd_per_unit", "-usd_per_unit", "first_seen", "-first_seen",
         "last_seen", "-last_seen")
TREND_GROUPS = ("substance", "site", "origin")


def _time(value: str | None) -> str | None:
    """An ISO date or time (checked now, so the error names the field, not the index)."""
    try:
        bound_from(value, "time")
    except TrawlError as exc:
        raise ValueError(str(exc).replace("time: ", "", 1)) from None
    return value or None


def _facet_list(value: str) -> str:
    unknown = [f for f in value.split(",") if f.strip() and f.strip() not in FACET_FIELDS]
    if unknown:
        raise ValueError(f"unknown facet(s) {', '.join(unknown)}; known: {', '.join(FACET_FIELDS)}")
    return value


def _group_list(value: str) -> str:
    unknown = [g for g in value.split(",") if g.strip() and g.strip() not in TREND_GROUPS]
    if unknown:
        raise ValueError(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(TREND_GROUPS)}")
    return value


Term = Annotated[str | None, Field(default=None, min_length=1, max_length=200)]
Country = Annotated[str | None, Field(default=None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]
Money = Annotated[float | None, Field(default=None, ge=0, allow_inf_nan=False)]
Time = Annotated[str | None, Field(default=None, max_length=40), AfterValidator(_time)]


class SearchParams(BaseModel):
    """Filters, sort and paging of a listing search (all optional)."""

    model_config = ConfigDict(populate_by_name=True)

    q: str = Field("", max_length=10_000, description="full text over title, description, vendor, substances")
    substance: Term = None
    include_mentioned: bool = False
    control: Term = None
    substance_class: Term = Field(None, alias="class")
    site: Term = None
    market_kind: Literal[MARKET_KINDS] | None = None  # type: ignore[valid-type]
    vendor: Term = None
    origin: Country = None
    destination: Country = None
    price_min: Money = None
    price_max: Money = None
    ppu_min: Money = Field(None, description="USD per unit (g, ml or unit), lower bound")
    ppu_max: Money = None
    first_seen_from: Time = None
    first_seen_to: Time = None
    last_seen_from: Time = None
    last_seen_to: Time = None
    sort: Literal[SORTS] = "relevance"  # type: ignore[valid-type]
    limit: int = Field(20, ge=0, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def query(self) -> SearchQuery:
        return SearchQuery(
            text=self.q, substance=self.substance, include_mentioned=self.include_mentioned, control=self.control,
            substance_class=self.substance_class, site=self.site, market_kind=self.market_kind, vendor=self.vendor,
            origin=self.origin, destination=self.destination, price_usd_min=self.price_min,
            price_usd_max=self.price_max, usd_per_unit_min=self.ppu_min, usd_per_unit_max=self.ppu_max,
            first_seen_from=self.first_seen_from, first_seen_to=self.first_seen_to,
            last_seen_from=self.last_seen_from, last_seen_to=self.last_seen_to, sort=self.sort,
            limit=self.limit, offset=self.offset,
        )


class FacetParams(SearchParams):
    facets: Annotated[str, AfterValidator(_facet_list)] = Field(
        ",".join(FACET_FIELDS), max_length=200, description="comma-separated facet fields ('' for none)")
    facet_size: int = Field(20, ge=1, le=MAX_FACET_SIZE)

    def facet_fields(self) -> list[str]:
        return [f.strip() for f in self.facets.split(",") if f.strip()]


class TrendParams(BaseModel):
    """The options of `trawl trends`."""

    model_config = ConfigDict(populate_by_name=True)

    metric: Literal["usd_per_unit", "listings", "vendors", "new_substances", "activity"] = "usd_per_unit"
    interval: Literal["day", "week", "month"] = "month"
    by: Annotated[str, AfterValidator(_group_list)] = Field("substance", max_length=100,
                                                              description="comma-separated: substance, site, origin")
    substance: Term = None
    site: Term = None
    origin: Country = None
    unit: Literal["g", "ml", "unit"] = "g"
    time_from: Time = Field(None, alias="from")
    time_to: Time = Field(None, alias="to")

    def query(self) -> TrendQuery:
        return TrendQuery(metric=self.metric, interval=self.interval,
                          group_by=[g.strip() for g in self.by.split(",") if g.strip()], substance=self.substance,
                          site=self.site, origin=self.origin, unit=self.unit, time_from=self.time_from,
                          time_to=self.time_to)
