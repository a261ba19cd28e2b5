"""Trend queries for the SQLite backend: stream facts from indexed columns, aggregate in index/trends.py."""
from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from typing import Any

from core.records import CandidateSubstance, from_dict
from core.timeutil import period_start
from core.vocabulary import Vocabulary
from index.api import TrendQuery, TrendRow
from index.querytext import synonyms
from index.trends import ActivityTrend, DistinctTrend, ValueTrend, new_substance_rows, time_bounds, validate

PERIOD_FUNCTIONS = {
    "month": lambda ts: ts[:7] + "-01",
    "day": lambda ts: ts[:10],
    "week": lambda ts: period_start(ts, "week"),
}
# substance groups are the lower-cased canonical name in both backends (ES: `substance.lc`)
_GROUP_COLUMNS = {"substance": "substance_lc", "site": "site", "origin": "origin"}


def _next_period(start: str, interval: str) -> str:
    d = date.fromisoformat(start)
    if interval == "week":
        return (d + timedelta(days=7)).isoformat()
    return (date(d.year + d.month // 12, d.month % 12 + 1, 1)).isoformat()


def _substance_keys(conn: sqlite3.Connection) -> list[str | None]:
    """Distinct substance_lc values by hopping along the index (k seeks, not a scan), plus NULL."""
    rows = conn.execute(
        "WITH RECURSIVE s(v) AS (SELECT min(substance_lc) FROM snapshots"
        " UNION ALL SELECT (SELECT min(substance_lc) FROM snapshots WHERE substance_lc > s.v) FROM s WHERE s.v IS NOT NULL)"
        " SELECT v FROM s WHERE v IS NOT NULL"
    ).fetchall()
    return [r[0] for r in rows] + [None]


def _covers(low: str | None, high: str | None, start: str, following: str) -> bool:
    """Does the [low, high] time filter include the whole period [start, following)?"""
    last_second = (date.fromisoformat(following) - timedelta(days=1)).isoformat() + "T23:59:59Z"
    return (low is None or low <= start + "T00:00:00Z") and (high is None or high >= last_second)


class RankedValues:
    """The sorted prices of one (substance, unit, month), read by rank from `snapshots_month`.

    Quantiles only need len() and two neighbouring ranks each; SQLite steps through
    the value-ordered index in C (LIMIT 2 OFFSET rank, from whichever end is nearer)
    instead of handing every value to Python, which is what makes the all-substances
    monthly trend fast at 1M rows.  The values are the very same, so the result
    equals sorting them all."""

    def __init__(self, conn: sqlite3.Connection, key: str | None, unit: str, month: str, count: int) -> None:
        match = "substance_lc = ?" if key is not None else "substance_lc IS ?"  # `=` lets the planner seek
        self.where = f"{match} AND quantity_unit = ? AND substr(crawled_at, 1, 7) = ? AND usd_per_unit IS NOT NULL"
        self.conn, self.params, self.count = conn, (key, unit, month), count
        self.cache: dict[int, float] = {}

    def __len__(self) -> int:
        return self.count

    def sort(self) -> None:
        pass  # already in index order

    def __getitem__(self, rank: int) -> float:
        if rank not in self.cache:
            if rank < self.count // 2:
                sql, offset = "ORDER BY usd_per_unit LIMIT 2 OFFSET ?", rank
                ranks = [rank, rank + 1]
            else:  # walk from the top end: fetches v[rank + 1] then v[rank]
                offset = max(0, self.count - 2 - rank)
                sql = "ORDER BY usd_per_unit DESC LIMIT 2 OFFSET ?"
                ranks = [self.count - 1 - offset, self.count - 2 - offset]
            rows = self.conn.execute(f"SELECT usd_per_unit FROM snapshots WHERE {self.where} {sql}", (*self.params, offset))  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            for r, (value,) in zip(ranks, rows.fetchall(), strict=False):  # fewer rows at the ends
                self.cache[r] = value
        return self.cache[rank]


def _month_counts(conn: sqlite3.Connection, key: str | None, unit: str) -> dict[str, int]:
    match = "substance_lc = ?" if key is not None else "substance_lc IS ?"
    rows = conn.execute(
        f"SELECT substr(crawled_at, 1, 7), count(*) FROM snapshots WHERE {match} AND quantity_unit = ?"  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
        " AND usd_per_unit IS NOT NULL GROUP BY substr(crawled_at, 1, 7)", (key, unit)
    )
    return dict(rows.fetchall())


def fast_price_trend(conn: sqlite3.Connection, query: TrendQuery, vocabulary: Vocabulary) -> list[TrendRow] | None:
    """Weekly/monthly price trends grouped by substance (or not at all): one narrow index range per period.

    Fetching a single column per (substance, period) instead of three per row is
    what keeps the monthly trend at 1M snapshots well under the 200 ms target;
    other shapes (by site/origin, daily) take the general path."""
    if query.interval == "day" or not query.unit or any(g != "substance" for g in query.group_by):
        return None
    keys: list[str | None] = [*synonyms(query.substance, vocabulary)] if query.substance else _substance_keys(conn)
    extra, extra_params = "", []
    if query.site:
        extra += " AND site = ?"
        extra_params.append(query.site.lower())
    if query.origin:
        extra += " AND origin = ?"
        extra_params.append(query.origin.upper())
    low, high = time_bounds(query)
    trend = ValueTrend(query)
    # whole months of one substance can be answered by walking the value-sorted month index
    ranked = query.interval == "month" and "substance" in query.group_by and not query.site and not query.origin
    for key in keys:
        match = "substance_lc = ?" if key is not None else "substance_lc IS ?"
        first, last = conn.execute(
            f"SELECT min(crawled_at), max(crawled_at) FROM snapshots WHERE {match} AND quantity_unit = ?", (key, query.unit)  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
        ).fetchone()
        if first is None:
            continue
        start = period_start(max(first, low or first), query.interval)
        end = min(last, high or last)
        group = (key,) if query.group_by else ()
        counts = _month_counts(conn, key, query.unit) if ranked else {}
        while start <= end:
            following = _next_period(start, query.interval)
            if ranked and _covers(low, high, start, following):
                if counts.get(start[:7]):
                    trend.values[(start, group)] = RankedValues(conn, key, query.unit, start[:7], counts[start[:7]])  # type: ignore[assignment]
                start = following
                continue
            rows = conn.execute(
                f"SELECT usd_per_unit FROM snapshots WHERE {match} AND quantity_unit = ? AND crawled_at >= ?"  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
                f" AND crawled_at < ? AND crawled_at <= ? AND usd_per_unit IS NOT NULL{extra}",
                (key, query.unit, max(start, low or start), following, high or following, *extra_params),
            ).fetchall()
            if rows:
                trend.values[(start, group)].extend([r[0] for r in rows])
            start = following
    return trend.rows()


def _snapshot_filters(query: TrendQuery, with_unit: bool, vocabulary: Vocabulary) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.substance:
        names = synonyms(query.substance, vocabulary)
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


def sqlite_trends(conn: sqlite3.Connection, query: TrendQuery, vocabulary: Vocabulary,
                  allow_fast: bool = True) -> list[TrendRow]:
    validate(query)
    groups = ", ".join(_GROUP_COLUMNS[g] for g in query.group_by)
    group_sql = (", " + groups) if groups else ""
    n = len(query.group_by)
    if query.metric == "usd_per_unit":
        fast = fast_price_trend(conn, query, vocabulary) if allow_fast else None
        if fast is not None:
            return fast
        where, params = _snapshot_filters(query, with_unit=True, vocabulary=vocabulary)
        value_trend = ValueTrend(query)
        buckets = value_trend.values
        period_of = PERIOD_FUNCTIONS[query.interval]
        # reads only the covering index snapshots_trend; this loop is the hot path of the bench
        cursor = conn.execute(f"SELECT crawled_at, usd_per_unit{group_sql} FROM snapshots{where}", params)  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
        while rows := cursor.fetchmany(5000):
            for row in rows:
                buckets[(period_of(row[0]), row[2:])].append(row[1])
        return value_trend.rows()
    if query.metric in ("listings", "vendors"):
        key = "listing_id" if query.metric == "listings" else "vendor_id"
        where, params = _snapshot_filters(query, with_unit=False, vocabulary=vocabulary)
        distinct = DistinctTrend(query)
        for row in conn.execute(f"SELECT crawled_at, {key}{group_sql} FROM snapshots{where}", params):  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            distinct.add(row[0], row[2 : 2 + n], row[1])
        return distinct.rows()
    if query.metric == "activity":
        where, params = _snapshot_filters(query, with_unit=False, vocabulary=vocabulary)
        activity = ActivityTrend(query)
        for run_id, site, listing_id, ts in conn.execute(f"SELECT run_id, site, listing_id, crawled_at FROM snapshots{where}", params):  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            activity.add(run_id or "", site, listing_id, ts)
        return activity.rows()
    docs = conn.execute("SELECT doc FROM candidates ORDER BY first_seen, token")
    return new_substance_rows(query, (from_dict(CandidateSubstance, json.loads(d)) for (d,) in docs))
