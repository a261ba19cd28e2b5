"""SearchQuery / TrendQuery -> Elasticsearch query DSL, mirroring index/sqlite_query.py rule for rule."""
from __future__ import annotations

from typing import Any

from core.timeutil import bound_from, bound_to
from core.vocabulary import Vocabulary
from index.api import SearchQuery, TrendQuery
from index.query_checks import parse_sort
from index.querytext import has_words, parse_text, synonyms
from index.trends import time_bounds

# field boosts mirror SQLite's bm25() column weights (index/sqlite_backend.py: title 10, description 1,
# vendor 3, substances 5): a title match outranks a description match, and substance names score
TEXT_FIELDS = ["title^10", "description", "vendor^3", "substances_text^5"]
TIE_BREAKER = 0.3  # a word found in several fields scores a little above one found in its best field only
# the fields SQLite's snippet() chooses from (its FTS columns), in the order a highlight is picked
HIGHLIGHT_FIELDS = ("title", "description", "vendor", "substances_text")


def text_clauses(text: str, vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """Every word must match somewhere, as a phrase of its tokens or one of its synonyms; scored per
    field (best field, boosted, plus TIE_BREAKER of the others)."""
    clauses = []
    for alternatives in parse_text(text, vocabulary):
        should = [
            {"multi_match": {"query": " ".join(alt), "type": "phrase", "fields": TEXT_FIELDS, "tie_breaker": TIE_BREAKER}}
            for alt in alternatives
        ]
        clauses.append({"bool": {"should": should, "minimum_should_match": 1}})
    return clauses


def _range(field: str, low: Any, high: Any) -> dict[str, Any] | None:
    bounds = {}
    if low is not None:
        bounds["gte"] = low
    if high is not None:
        bounds["lte"] = high
    return {"range": {field: bounds}} if bounds else None


def listing_filters(q: SearchQuery, vocabulary: Vocabulary) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if q.substance:
        names = synonyms(q.substance, vocabulary)
        offered = {"terms": {"substances.name": names}}
        if q.include_mentioned:  # offered or only mentioned ("no fent", "like Xanax"), as SQLite
            filters.append({"bool": {"should": [offered, {"terms": {"mentioned_substances.name": names}}],
                                     "minimum_should_match": 1}})
        else:
            filters.append(offered)
    if q.control:
        c = q.control.strip().lower()
        filters.append({"bool": {"should": [{"term": {"substances.controls": c}},
                                            {"prefix": {"substances.controls": c + ":"}}],
                                 "minimum_should_match": 1}})
    if q.substance_class:
        filters.append({"term": {"substances.substance_class": q.substance_class.strip().lower()}})
    if q.site:
        filters.append({"term": {"site": q.site.strip().lower()}})
    if q.market_kind:
        filters.append({"term": {"market_kind": q.market_kind.strip().lower()}})
    if q.vendor:
        v = q.vendor.strip().lower()
        filters.append({"bool": {"should": [{"term": {"vendor.lc": v}}, {"term": {"vendor_id": v}}], "minimum_should_match": 1}})
    if q.origin:
        filters.append({"term": {"origin": q.origin.strip().upper()}})
    if q.destination:
        d = q.destination.strip().upper()
        worldwide = {"bool": {"filter": [{"term": {"ships_worldwide": True}}], "must_not": [{"term": {"destinations_excluded": d}}]}}
        filters.append({"bool": {"should": [{"term": {"destinations": d}}, worldwide], "minimum_should_match": 1}})
    for clause in (
        _range("price_usd", q.price_usd_min, q.price_usd_max),
        _range("usd_per_unit", q.usd_per_unit_min, q.usd_per_unit_max),
        _range("first_seen", bound_from(q.first_seen_from, "first_seen_from"), bound_to(q.first_seen_to, "first_seen_to")),
        _range("last_seen", bound_from(q.last_seen_from, "last_seen_from"), bound_to(q.last_seen_to, "last_seen_to")),
    ):
        if clause:
            filters.append(clause)
    return filters


def search_query(q: SearchQuery, vocabulary: Vocabulary) -> dict[str, Any]:
    must = text_clauses(q.text or "", vocabulary)
    filters = listing_filters(q, vocabulary)
    return {"bool": {"must": must, "filter": filters}} if must else {"bool": {"filter": filters}}


def search_sort(q: SearchQuery) -> list[Any]:
    field, descending = parse_sort(q.sort)
    tie = {"listing_id": {"order": "asc"}}
    if field == "relevance":
        if has_words(q.text or ""):  # equal scores: most recently seen first (as SQLite)
            return [{"_score": {"order": "desc"}}, {"last_seen": {"order": "desc", "missing": "_last"}}, tie]
        return [{"last_seen": {"order": "desc", "missing": "_last"}}, tie]
    return [{field: {"order": "desc" if descending else "asc", "missing": "_last"}}, tie]


def highlight_body() -> dict[str, Any]:
    """Search highlight over the fields SQLite's snippet() covers; matches wrapped in [ ]."""
    return {"fields": {f: {} for f in HIGHLIGHT_FIELDS}, "pre_tags": ["["], "post_tags": ["]"],
            "fragment_size": 120, "number_of_fragments": 1, "require_field_match": False}


def pick_highlight(highlight: dict[str, list[str]]) -> str:
    """The first fragment in HIGHLIGHT_FIELDS order (a title match before a description match)."""
    return next((fragments[0] for f in HIGHLIGHT_FIELDS if (fragments := highlight.get(f))), "")


def search_body(q: SearchQuery, vocabulary: Vocabulary) -> dict[str, Any]:
    """Keyword arguments of client.search() for one page of results (pure: tested without a server)."""
    body: dict[str, Any] = {"query": search_query(q, vocabulary), "sort": search_sort(q), "from_": q.offset,
                            "size": q.limit, "track_total_hits": True}
    if has_words(q.text or ""):
        body["highlight"] = highlight_body()
    return body


def incomplete(response: Any) -> str | None:
    """Why a search answer is partial (shards failed: a red cluster, a lost node), or None.

    A partial answer is never passed off as the whole: callers raise it as a TrawlError."""
    shards = (response.get("_shards") if hasattr(response, "get") else None) or {}
    failed = int(shards.get("failed") or 0)
    if not failed:
        return None
    reasons = {str((f.get("reason") or {}).get("type", "?")) for f in shards.get("failures") or [] if isinstance(f, dict)}
    return (f"{failed} of {shards.get('total')} shards failed ({', '.join(sorted(reasons)) or 'no reason given'}): "
            "the cluster is red or lost a node; the answer would be incomplete (see docs/elasticsearch.md)")


def has_listing_filters(q: SearchQuery, vocabulary: Vocabulary) -> bool:
    return bool(listing_filters(q, vocabulary) or has_words(q.text or ""))


def trend_filters(q: TrendQuery, with_unit: bool, vocabulary: Vocabulary) -> list[dict[str, Any]]:
    # an extraction `trawl reprocess` replaced stays for history, never counts twice in a trend
    filters: list[dict[str, Any]] = [{"bool": {"must_not": [{"term": {"superseded": True}}]}}]
    if q.substance:
        filters.append({"terms": {"substance.lc": synonyms(q.substance, vocabulary)}})
    if with_unit:
        if q.unit:
            filters.append({"term": {"quantity_unit": q.unit}})
        filters.append({"exists": {"field": "usd_per_unit"}})
    if q.site:
        filters.append({"term": {"site": q.site.lower()}})
    if q.origin:
        filters.append({"term": {"origin": q.origin.upper()}})
    low, high = time_bounds(q)
    clause = _range("crawled_at", low, high)
    if clause:
        filters.append(clause)
    return filters
