"""Trend queries for the SQLite backend: stream facts from indexed columns, aggregate in index/trends.py."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from index.api import TrendQuery, TrendRow
from index.model import CandidateSubstance, from_dict
from index.querytext import synonyms
from index.timeutil import period_start
from index.trends import ActivityTrend, DistinctTrend, ValueTrend, new_substance_rows, time_bounds, validate

PERIOD_FUNCTIONS = {
    "month": lambda ts: ts[:7] + "-01",
    "day": lambda ts: ts[:10],
    "week": lambda ts: period_start(ts, "week"),
}
_GROUP_COLUMNS = {"substance": "substance", "site": "site", "origin": "origin"}


def _snapshot_filters(query: TrendQuery, with_unit: bool) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.substance:
        names = synonyms(query.substance)
        clauses.append(f"substance_lc IN ({','.join('?' * len(names))})")
        params += names
    if with_unit:
        if query.unit:
            clauses.append("quantity_unit = ?")
            params.append(query.unit)
        clauses.append("usd_per_unit IS NOT NULL")
    if query.site:
        clauses.append("site = ?")
        params.append(query.site.lower())
    if query.origin:
        clauses.append("origin = ?")
        params.append(query.origin.upper())
    low, high = time_bounds(query)
    if low:
        clauses.append("crawled_at >= ?")
        params.append(low)
    if high:
        clauses.append("crawled_at <= ?")
        params.append(high)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def sqlite_trends(conn: sqlite3.Connection, query: TrendQuery) -> list[TrendRow]:
    validate(query)
    groups = ", ".join(_GROUP_COLUMNS[g] for g in query.group_by)
    group_sql = (", " + groups) if groups else ""
    n = len(query.group_by)
    if query.metric == "usd_per_unit":
        where, params = _snapshot_filters(query, with_unit=True)
        value_trend = ValueTrend(query)
        buckets = value_trend.values
        period_of = PERIOD_FUNCTIONS[query.interval]
        # reads only the covering index snapshots_trend; this loop is the hot path of the bench
        cursor = conn.execute(f"SELECT crawled_at, usd_per_unit{group_sql} FROM snapshots{where}", params)
        while rows := cursor.fetchmany(5000):
            for row in rows:
                buckets[(period_of(row[0]), row[2:])].append(row[1])
        return value_trend.rows()
    if query.metric in ("listings", "vendors"):
        key = "listing_id" if query.metric == "listings" else "vendor_id"
        where, params = _snapshot_filters(query, with_unit=False)
        distinct = DistinctTrend(query)
        for row in conn.execute(f"SELECT crawled_at, {key}{group_sql} FROM snapshots{where}", params):
            distinct.add(row[0], row[2 : 2 + n], row[1])
        return distinct.rows()
    if query.metric == "activity":
        where, params = _snapshot_filters(query, with_unit=False)
        activity = ActivityTrend(query)
        for run_id, site, listing_id, ts in conn.execute(f"SELECT run_id, site, listing_id, crawled_at FROM snapshots{where}", params):
            activity.add(run_id or "", site, listing_id, ts)
        return activity.rows()
    docs = conn.execute("SELECT doc FROM candidates ORDER BY first_seen, token")
    return new_substance_rows(query, (from_dict(CandidateSubstance, json.loads(d)) for (d,) in docs))
