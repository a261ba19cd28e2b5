"""Trend arithmetic shared by both backends.

Backends only stream raw facts (period, group, value) out of storage; the
aggregation and the quantiles happen here, once, so SQLite and Elasticsearch
return identical rows.

Quantiles use linear interpolation between closest ranks (Hyndman & Fan
type 7, numpy's default ``method="linear"``): for sorted values v[0..n-1] and
probability p, h = (n-1)p and q = v[floor h] + (h - floor h)(v[floor h + 1] - v[floor h]).
Results are rounded to 4 decimals.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from core.errors import TrawlError
from core.records import CandidateSubstance
from core.timeutil import bound_from, bound_to, check_interval, period_start
from index.api import TrendQuery, TrendRow

METRICS = ("usd_per_unit", "listings", "vendors", "new_substances", "activity")
GROUP_FIELDS = ("substance", "site", "origin")

GroupKey = tuple[Any, ...]


def validate(query: TrendQuery) -> None:
    if query.metric not in METRICS:
        raise TrawlError(f"metric: {query.metric!r} is not one of {', '.join(METRICS)}")
    check_interval(query.interval)
    unknown = [g for g in query.group_by if g not in GROUP_FIELDS]
    if unknown:
        raise TrawlError(f"group by: {', '.join(unknown)} not supported (use {', '.join(GROUP_FIELDS)})")
    if query.unit is not None and query.unit not in ("g", "ml", "unit"):
        raise TrawlError(f"unit: {query.unit!r} is not one of g, ml, unit")


def time_bounds(query: TrendQuery) -> tuple[str | None, str | None]:
    return bound_from(query.time_from, "time_from"), bound_to(query.time_to, "time_to")


def quantile(values: list[float], p: float) -> float:
    """Type-7 quantile of already sorted values."""
    h = (len(values) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])


def _group(query: TrendQuery, key: GroupKey) -> dict[str, Any]:
    return dict(zip(query.group_by, key, strict=False))


def _sort_key(row: TrendRow) -> tuple[Any, ...]:
    return (row.period, tuple("" if v is None else str(v) for v in row.group.values()))


class ValueTrend:
    """Median and IQR of a value per (period, group)."""

    def __init__(self, query: TrendQuery) -> None:
        self.query = query
        self.values: dict[tuple[str, GroupKey], list[float]] = defaultdict(list)

    def add(self, ts_or_period: str, group: GroupKey, value: float, count: int = 1, is_period: bool = False) -> None:
        period = ts_or_period if is_period else period_start(ts_or_period, self.query.interval)
        bucket = self.values[(period, group)]
        if count == 1:
            bucket.append(value)
        else:
            bucket.extend([value] * count)

    def rows(self) -> list[TrendRow]:
        rows = []
        for (period, group), values in self.values.items():
            values.sort()
            rows.append(
                TrendRow(period=period, group=_group(self.query, group), count=len(values),
                         median=round(quantile(values, 0.5), 4), q1=round(quantile(values, 0.25), 4),
                         q3=round(quantile(values, 0.75), 4))
            )
        return sorted(rows, key=_sort_key)


class DistinctTrend:
    """Number of distinct keys (listings, vendors) per (period, group)."""

    def __init__(self, query: TrendQuery) -> None:
        self.query = query
        self.keys: dict[tuple[str, GroupKey], set[str]] = defaultdict(set)

    def add(self, ts_or_period: str, group: GroupKey, key: str | None, is_period: bool = False) -> None:
        if not key:
            return
        period = ts_or_period if is_period else period_start(ts_or_period, self.query.interval)
        self.keys[(period, group)].add(key)

    def rows(self) -> list[TrendRow]:
        rows = [TrendRow(period=p, group=_group(self.query, g), count=len(k)) for (p, g), k in self.keys.items()]
        return sorted(rows, key=_sort_key)


class ActivityTrend:
    """Listings seen per crawl run, and the change since the same site's previous run."""

    def __init__(self, query: TrendQuery) -> None:
        self.query = query
        self.started: dict[tuple[str, str], str] = {}
        self.listings: dict[tuple[str, str], set[str]] = defaultdict(set)

    def add(self, run_id: str, site: str, listing_id: str, ts: str) -> None:
        key = (site, run_id or "(no run id)")
        self.listings[key].add(listing_id)
        if key not in self.started or ts < self.started[key]:
            self.started[key] = ts

    def rows(self) -> list[TrendRow]:
        ordered = sorted(self.listings, key=lambda k: (self.started[k], k[0], k[1]))
        previous: dict[str, int] = {}
        rows = []
        for site, run_id in ordered:
            count = len(self.listings[(site, run_id)])
            rows.append(
                TrendRow(period=period_start(self.started[(site, run_id)], self.query.interval),
                         group={"site": site, "run_id": run_id}, count=count,
                         delta=count - previous[site] if site in previous else None)
            )
            previous[site] = count
        return rows


def new_substance_rows(query: TrendQuery, candidates: Iterable[CandidateSubstance]) -> list[TrendRow]:
    """Candidate substances by the period they were first seen (grouped by site if asked)."""
    low, high = time_bounds(query)
    counts: dict[tuple[str, GroupKey], int] = defaultdict(int)
    group_fields = [g for g in query.group_by if g == "site"]
    for c in candidates:
        if not c.first_seen or (low and c.first_seen < low) or (high and c.first_seen > high):
            continue
        if query.site and c.site != query.site:
            continue
        counts[(period_start(c.first_seen, query.interval), (c.site,) if group_fields else ())] += 1
    rows = [TrendRow(period=p, group=dict(zip(group_fields, g, strict=False)), count=n) for (p, g), n in counts.items()]
    return sorted(rows, key=_sort_key)
