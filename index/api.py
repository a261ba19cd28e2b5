"""One query API, two backends (embedded SQLite, Elasticsearch).

Backends implement :class:`IndexBackend`; callers use :func:`index.open_index`.
The query dataclasses below are the whole vocabulary of search, trends and
export, so both backends can be tested against the same fixed query suite.
"""
from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.records import CandidateSubstance, Listing, Records, Snapshot, Vendor
from core.vocabulary import Vocabulary


@dataclass
class SearchQuery:
    text: str = ""  # full text over title, description, vendor, substances
    substance: str | None = None  # canonical name (or any synonym the backend can resolve)
    # the substance filter also finds listings that only mention it ("no fent", Listing.mentioned_substances)
    include_mentioned: bool = False
    control: str | None = None  # e.g. "1971:II", "1988:I", "nps-ews"
    substance_class: str | None = None
    site: str | None = None
    market_kind: str | None = None
    vendor: str | None = None
    origin: str | None = None  # ISO alpha-2
    destination: str | None = None  # ISO alpha-2; matches worldwide listings unless excluded
    price_usd_min: float | None = None
    price_usd_max: float | None = None
    usd_per_unit_min: float | None = None
    usd_per_unit_max: float | None = None
    first_seen_from: str | None = None
    first_seen_to: str | None = None
    last_seen_from: str | None = None
    last_seen_to: str | None = None
    sort: str = "relevance"  # relevance | price_usd | usd_per_unit | first_seen | last_seen (prefix "-" for descending)
    offset: int = 0
    limit: int = 20
    # crawl-time window for snapshot exports (iter_snapshots); listings ignore it
    crawled_from: str | None = None
    crawled_to: str | None = None


@dataclass
class SearchHit:
    listing: Listing
    score: float = 0.0
    highlight: str = ""  # snippet with matches wrapped in [ and ]


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit] = field(default_factory=list)


@dataclass
class TrendQuery:
    metric: str = "usd_per_unit"  # usd_per_unit | listings | vendors | new_substances | activity
    interval: str = "month"  # day | week | month
    group_by: list[str] = field(default_factory=lambda: ["substance"])  # any of substance, site, origin
    substance: str | None = None
    site: str | None = None
    origin: str | None = None
    unit: str | None = "g"  # restrict usd_per_unit to one quantity unit (g | ml | unit)
    time_from: str | None = None
    time_to: str | None = None
    # usd_per_unit quantiles: exact type-7 (True) or the backend's native estimate where it has one
    # (Elasticsearch: TDigest percentiles, IndexBackend.quantile_method); SQLite is always exact
    exact: bool = False


@dataclass
class TrendRow:
    period: str  # period start, ISO date (YYYY-MM-DD)
    group: dict[str, Any]
    count: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    delta: int | None = None  # metric "activity": change in count since the previous run of the same group


class IndexBackend(abc.ABC):
    """Storage and query. Writes are idempotent: re-indexing the same crawl changes nothing.

    `vocabulary` resolves substance names and synonyms at query time; backends take it when
    opened (see index.open_index) and default to an empty one (names match only as typed)."""

    name: str = "abstract"
    vocabulary: Vocabulary = Vocabulary.empty()

    @abc.abstractmethod
    def write(self, records: Records) -> dict[str, int]:
        """Upsert a batch as one unit of work; returns counts written per kind."""

    @abc.abstractmethod
    def get_listing(self, listing_id: str) -> Listing | None: ...

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abc.abstractmethod
    def trends(self, query: TrendQuery) -> list[TrendRow]: ...

    @abc.abstractmethod
    def iter_listings(self, query: SearchQuery | None = None) -> Iterator[Listing]: ...

    @abc.abstractmethod
    def iter_snapshots(self, query: SearchQuery | None = None) -> Iterator[Snapshot]: ...

    @abc.abstractmethod
    def vendors(self, name: str | None = None) -> list[Vendor]: ...

    @abc.abstractmethod
    def candidates(self, since: str | None = None) -> list[CandidateSubstance]: ...

    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...

    @contextlib.contextmanager
    def bulk_mode(self, refresh_interval: str = "-1") -> Iterator[None]:
        """Around a long run of write()s (a crawl, the demo, a replay): a backend may trade read
        freshness for speed inside it (Elasticsearch: refresh_interval "-1" = off, or e.g. "30s";
        restored after); no-op here."""
        yield

    def quantile_method(self, query: TrendQuery) -> str:
        """How trends(query) computes quantiles, for export sidecars: "exact" or the estimator."""
        return "exact"

    def close(self, *, tidy: bool = True) -> None:  # noqa: B027 - optional hook
        """Release the backend.  `tidy=False` skips upkeep that another connection to the same
        store does when it closes (SQLite: the statistics `PRAGMA optimize` refreshes)."""

    def __enter__(self) -> IndexBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
