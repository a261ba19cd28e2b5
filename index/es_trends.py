"""Trends on Elasticsearch, exactly equal to SQLite's.

ES's `percentiles` aggregation is approximate (t-digest), so instead a
`composite` aggregation streams the exact multiset of values per bucket
(period x groups x distinct value, with doc counts) and index/trends.py
computes the quantiles, the same code SQLite's path uses.  Cost: one bucket
per distinct price per period and group, paged 5,000 at a time; price points
repeat a lot across crawls, so this stays far below one row per snapshot.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from index.api import TrendQuery, TrendRow
from index.es_query import trend_filters
from index.trends import ActivityTrend, DistinctTrend, ValueTrend, new_substance_rows, validate

if TYPE_CHECKING:
    from index.es_backend import EsBackend

CALENDAR = {"day": "1d", "week": "1w", "month": "1M"}  # ES weeks start on Monday, like ISO
GROUP_FIELDS = {"substance": "substance.lc", "site": "site", "origin": "origin"}  # substance groups lower-cased, as in SQLite


def composite(backend: EsBackend, query: dict[str, Any], sources: list[dict[str, Any]],
              aggs: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    from elasticsearch import NotFoundError

    after = None
    while True:
        body: dict[str, Any] = {"size": 5000, "sources": sources}
        if after:
            body["after"] = after
        agg: dict[str, Any] = {"composite": body}
        if aggs:
            agg["aggs"] = aggs
        try:
            resp = backend.client.search(index=backend.names.read_alias("snapshots"), size=0, query=query,
                                         aggs={"c": agg}, track_total_hits=False)
        except NotFoundError:
            return
        except Exception as exc:  # one clear TrawlError
            raise backend._error(exc, "computing a trend") from exc
        result = resp["aggregations"]["c"]
        yield from result["buckets"]
        after = result.get("after_key")
        if not after or not result["buckets"]:
            return


def es_trends(backend: EsBackend, query: TrendQuery) -> list[TrendRow]:
    validate(query)
    if query.metric == "new_substances":
        return new_substance_rows(query, backend.candidates())
    period = {"period": {"date_histogram": {"field": "crawled_at", "calendar_interval": CALENDAR[query.interval], "format": "yyyy-MM-dd"}}}
    groups = [{f"g_{g}": {"terms": {"field": GROUP_FIELDS[g], "missing_bucket": True}}} for g in query.group_by]
    names = [f"g_{g}" for g in query.group_by]
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
