"""The fixed query suite both backends must answer identically (on testbed.synthetic_index data).

`run_suite(backend)` returns a plain-JSON answer per query name.  Search
answers are the listing ids in order (relevance-ranked queries: the sorted id
set, since BM25 scores differ between engines) plus the total; trend answers
are the full rows.  Snippet text is not compared.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from index.api import IndexBackend, SearchQuery, TrendQuery

SEARCHES: dict[str, SearchQuery] = {
    "all_recent_page": SearchQuery(sort="-last_seen", limit=50),
    "text_mephedrone": SearchQuery(text="mephedrone", limit=500),
    "text_synonym_mcat": SearchQuery(text="mcat", limit=500),
    "text_two_words": SearchQuery(text="pure crystal", limit=500),
    "text_hyphen_phrase": SearchQuery(text="xanax bars", limit=500),
    "substance_filter_price_sort": SearchQuery(substance="cocaine", sort="usd_per_unit", limit=500),
    "control_prefix": SearchQuery(control="1971", sort="-price_usd", limit=100, offset=20),
    "control_exact": SearchQuery(control="1961:IV", sort="first_seen", limit=500),
    "class_and_site": SearchQuery(substance_class="synthetic cathinone", site="nightshade", sort="price_usd", limit=500),
    "vendor_name": SearchQuery(vendor="dutchlabs3", sort="last_seen", limit=500),
    "origin_destination": SearchQuery(origin="NL", destination="DE", sort="usd_per_unit", limit=500),
    "destination_worldwide_excluded": SearchQuery(destination="US", sort="-usd_per_unit", limit=500),
    "price_range": SearchQuery(price_usd_min=50, price_usd_max=300, sort="price_usd", limit=500),
    "ppu_range_grams": SearchQuery(usd_per_unit_min=10, usd_per_unit_max=20, sort="-usd_per_unit", limit=500),
    "first_seen_window": SearchQuery(first_seen_from="2025-02-01", first_seen_to="2025-02-28", sort="first_seen", limit=500),
    "last_seen_from": SearchQuery(last_seen_from="2025-04-20", sort="-last_seen", limit=500),
    "market_kind_text": SearchQuery(text="escrow", market_kind="pharmacy", limit=500),
    "text_with_filters": SearchQuery(text="premium", origin="DE", usd_per_unit_max=60, limit=500),
    "no_match": SearchQuery(text="zzzunmatchedzzz"),
}

TRENDS: dict[str, TrendQuery] = {
    "ppu_month_mephedrone": TrendQuery(metric="usd_per_unit", interval="month", substance="mephedrone"),
    "ppu_week_by_site": TrendQuery(metric="usd_per_unit", interval="week", group_by=["substance", "site"], substance="cocaine"),
    "ppu_day_origin": TrendQuery(metric="usd_per_unit", interval="day", group_by=["origin"], substance="ketamine",
                                 time_from="2025-02-01", time_to="2025-02-28"),
    "ppu_week_window_ungrouped": TrendQuery(metric="usd_per_unit", interval="week", group_by=[], substance="molly",
                                            site="nightshade", time_from="2025-02-10T12:00:00Z", time_to="2025-04-03"),
    "ppu_month_all_grams": TrendQuery(metric="usd_per_unit", interval="month", group_by=["substance"]),
    "ppu_units_all": TrendQuery(metric="usd_per_unit", interval="month", group_by=["substance"], unit="unit"),
    "listings_month_site": TrendQuery(metric="listings", interval="month", group_by=["site"]),
    "vendors_week": TrendQuery(metric="vendors", interval="week", group_by=[]),
    "new_substances_month": TrendQuery(metric="new_substances", interval="month", group_by=[]),
    "activity_runs": TrendQuery(metric="activity", interval="day", group_by=["site"], site="vortex"),
}


def _search_answer(backend: IndexBackend, query: SearchQuery) -> dict[str, Any]:
    result = backend.search(query)
    ids = [h.listing.listing_id for h in result.hits]
    relevance_ranked = bool(query.text.strip()) and query.sort.lstrip("-") == "relevance"
    return {"total": result.total, "ids": sorted(ids) if relevance_ranked else ids}


def run_suite(backend: IndexBackend) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for name, query in SEARCHES.items():
        answers[f"search:{name}"] = _search_answer(backend, query)
    for name, trend in TRENDS.items():
        # exact quantiles: Elasticsearch's default TDigest estimates are compared in test_es_trends_native.py
        answers[f"trend:{name}"] = [dataclasses.asdict(r) for r in backend.trends(dataclasses.replace(trend, exact=True))]
    answers["counts"] = backend.counts()
    return answers
