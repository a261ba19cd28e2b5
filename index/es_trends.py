"""Trends on Elasticsearch.

Price quantiles (metric usd_per_unit), by default: native aggregations, one `composite`
bucket per period (`date_histogram`, calendar interval) x group (`terms`), each with a
`percentiles` sub-aggregation (TDigest, compression TDIGEST_COMPRESSION) for q1/median/q3;
counts are the buckets' doc counts, exact.  The quantiles are estimates: within one rank and
QUANTILE_TOLERANCE in probability of the exact ones (tests/index/test_es_trends_native.py).

With TrendQuery.exact (`--exact`) the quantiles equal SQLite's: a `composite` aggregation
streams the exact multiset of values per bucket (period x groups x distinct value, with doc
counts) and index/trends.py computes type-7 quantiles, the same code SQLite's path uses.
Cost: one bucket per distinct price per period and group, paged 5,000 at a time.
The other metrics (distinct listings/vendors, activity) are always exact (composite).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from index.api import TrendQuery, TrendRow
from index.es_query import trend_filters
from index.trends import ActivityTrend, DistinctTrend, ValueTrend, new_substance_rows, validate

if TYPE_CHECKING:
    from index.es_backend import EsBackend

CALENDAR = {"day": "1d", "week": "1w", "month": "1M"}  # ES weeks start on Monday, like ISO
GROUP_FIELDS = {"substance": "substance.lc", "site": "site", "origin": "origin"}  # substance groups lower-cased, as in SQLite
TDIGEST_COMPRESSION = 200  # ES default 100; 200 halves the error for about twice the (small) memory per bucket
QUANTILE_TOLERANCE = 0.01  # stated accuracy of the estimate, in probability (plus one rank either side)
PERCENTS = (25.0, 50.0, 75.0)


def quantile_method(query: TrendQuery) -> str:
    """What the export sidecar records as "quantiles" for this query on Elasticsearch."""
    if query.metric == "usd_per_unit" and not query.exact:
        return f"tdigest(compression={TDIGEST_COMPRESSION})"
    return "exact"


def period_source(query: TrendQuery) -> dict[str, Any]:
    return {"period": {"date_histogram": {"field": "crawled_at", "calendar_interval": CALENDAR[query.interval],
                                          "format": "yyyy-MM-dd"}}}


def group_sources(query: TrendQuery) -> list[dict[str, Any]]:
    return [{f"g_{g}": {"terms": {"field": GROUP_FIELDS[g], "missing_bucket": True}}} for g in query.group_by]


def percentiles_agg() -> dict[str, Any]:
    return {"q": {"percentiles": {"field": "usd_per_unit", "percents": list(PERCENTS), "keyed": False,
                                  "tdigest": {"compression": TDIGEST_COMPRESSION}}}}


def native_request(query: TrendQuery, filters: list[dict[str, Any]], after: dict[str, Any] | None = None,
                   page: int = 1000) -> dict[str, Any]:
    """Keyword arguments of client.search() for one page of the native price trend (pure)."""
    composite_body: dict[str, Any] = {"size": page, "sources": [period_source(query), *group_sources(query)]}
    if after:
        composite_body["after"] = after
    return {"size": 0, "query": {"bool": {"filter": filters}}, "track_total_hits": False,
            "aggs": {"c": {"composite": composite_body, "aggs": percentiles_agg()}}}


def native_rows(query: TrendQuery, buckets: Iterable[dict[str, Any]]) -> list[TrendRow]:
    """TrendRows from composite buckets with the percentiles sub-aggregation, in ValueTrend's order."""
    rows = []
    for b in buckets:
        key = b["key"]
        values = {float(v["key"]): v.get("value") for v in b["q"]["values"]}

        def at(p: float, values: dict[float, Any] = values) -> float | None:
            value = values.get(p)
            return None if value is None else round(float(value), 4)

        rows.append(TrendRow(period=key["period"], group={g: key[f"g_{g}"] for g in query.group_by},
                             count=int(b["doc_count"]), median=at(50.0), q1=at(25.0), q3=at(75.0)))
    return sorted(rows, key=lambda r: (r.period, tuple("" if v is None else str(v) for v in r.group.values())))


def within_tolerance(ordered: list[float], p: float, estimate: float, tolerance: float = QUANTILE_TOLERANCE) -> bool:
    """Is `estimate` of the p-quantile of `ordered` (sorted) between the values ranked one rank and
    `tolerance` (in probability) below and above it?  The accuracy TDigest is stated with."""
    n = len(ordered)
    low = max(0, math.floor((n - 1) * (p - tolerance)) - 1)
    high = min(n - 1, math.ceil((n - 1) * (p + tolerance)) + 1)
    return ordered[low] - 1e-4 <= estimate <= ordered[high] + 1e-4  # 1e-4: rows are rounded to 4 decimals


def native_buckets(backend: EsBackend, query: TrendQuery) -> Iterator[dict[str, Any]]:
    filters = trend_filters(query, with_unit=True, vocabulary=backend.vocabulary)
    return _pages(backend, lambda after: native_request(query, filters, after))


def composite(backend: EsBackend, query: dict[str, Any], sources: list[dict[str, Any]],
              aggs: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    def request(after: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"size": 5000, "sources": sources}
        if after:
            body["after"] = after
        agg: dict[str, Any] = {"composite": body}
        if aggs:
            agg["aggs"] = aggs
        return {"size": 0, "query": query, "aggs": {"c": agg}, "track_total_hits": False}

    return _pages(backend, request)


def _pages(backend: EsBackend, request: Callable[[dict[str, Any] | None], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every bucket of the composite aggregation "c", page after page (`request(after_key)` gives
    one page's search arguments); no snapshots index yet is no bucket."""
    from elasticsearch import NotFoundError

    after = None
    while True:
        try:
            resp = backend.client.search(index=backend.names.read_alias("snapshots"), **request(after))
        except NotFoundError:
            return
        except Exception as exc:  # one clear TrawlError
            raise backend._error(exc, "computing a trend") from exc
        backend._complete(resp, "computing a trend")
        result = resp["aggregations"]["c"]
        yield from result["buckets"]
        after = result.get("after_key")
        if not after or not result["buckets"]:
            return


def es_trends(backend: EsBackend, query: TrendQuery) -> list[TrendRow]:
    validate(query)
    if query.metric == "new_substances":
        return new_substance_rows(query, backend.candidates())
    period = period_source(query)
    groups = group_sources(query)
    names = [f"g_{g}" for g in query.group_by]
    if query.metric == "usd_per_unit" and not query.exact:
        return native_rows(query, native_buckets(backend, query))
    if query.metric == "usd_per_unit":
        es_query = {"bool": {"filter": trend_filters(query, with_unit=True, vocabulary=backend.vocabulary)}}
        values = ValueTrend(query)
        for b in composite(backend, es_query, [period, *groups, {"v": {"terms": {"field": "usd_per_unit"}}}]):
            key = b["key"]
            values.add(key["period"], tuple(key[n] for n in names), float(key["v"]), b["doc_count"], is_period=True)
        return values.rows()
    es_query = {"bool": {"filter": trend_filters(query, with_unit=False, vocabulary=backend.vocabulary)}}
    if query.metric in ("listings", "vendors"):
        field = "listing_id" if query.metric == "listings" else "vendor_id"
        distinct = DistinctTrend(query)
        for b in composite(backend, es_query, [period, *groups, {"k": {"terms": {"field": field}}}]):
            key = b["key"]
            distinct.add(key["period"], tuple(key[n] for n in names), key["k"], is_period=True)
        return distinct.rows()
    from index.es_backend import millis_to_time

    activity = ActivityTrend(query)
    sources: list[dict[str, Any]] = [{"run": {"terms": {"field": "run_id", "missing_bucket": True}}},
                                     {"site": {"terms": {"field": "site"}}},
                                     {"listing": {"terms": {"field": "listing_id"}}}]
    for b in composite(backend, es_query, sources, aggs={"first": {"min": {"field": "crawled_at"}}}):
        key = b["key"]
        activity.add(key["run"] or "", key["site"], key["listing"], millis_to_time(b["first"]["value"]))
    return activity.rows()
