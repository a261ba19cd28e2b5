"""A plain-Python reading of the query semantics, to check the SQL (and ES) against.

Deliberately naive: loops over records and applies each rule as documented in
index/sqlite_query.py, so a wrong JOIN or a missed NULL shows up as a diff."""
from __future__ import annotations

from typing import Any

from core.records import Listing, Snapshot
from core.timeutil import bound_from, bound_to
from core.vocabulary import Vocabulary
from enrich.vocabulary import default_vocabulary
from index import merge
from index.api import SearchQuery, TrendQuery, TrendRow
from index.querytext import parse_text, synonyms, tokens
from index.sqlite_backend import fts_substances
from index.trends import ActivityTrend, DistinctTrend, ValueTrend


def _contains_phrase(field_tokens: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(field_tokens[i : i + n] == phrase for i in range(len(field_tokens) - n + 1))


def _text_match(x: Listing, text: str, vocabulary: Vocabulary) -> bool:
    fields = [tokens(f) for f in (x.title, x.description, x.vendor or "", fts_substances(x))]
    return all(any(_contains_phrase(f, alt) for alt in word for f in fields) for word in parse_text(text, vocabulary))


def matches(x: Listing, q: SearchQuery, vocabulary: Vocabulary) -> bool:  # long: one rule per line reads best here
    names = {s.name.lower() for s in x.substances}
    if q.text.strip() and not _text_match(x, q.text, vocabulary):
        return False
    if q.substance and not names & set(synonyms(q.substance, vocabulary)):
        return False
    if q.control:
        c = q.control.lower()
        if not any(k.lower() == c or k.lower().startswith(c + ":") for s in x.substances for k in s.controls):
            return False
    if q.substance_class and q.substance_class.lower() not in {s.substance_class.lower() for s in x.substances}:
        return False
    if q.site and x.site != q.site.lower():
        return False
    if q.market_kind and x.market_kind != q.market_kind:
        return False
    if q.vendor and q.vendor.lower() not in {(x.vendor or "").lower(), (x.vendor_id or "").lower()}:
        return False
    if q.origin and x.origin != q.origin.upper():
        return False
    if q.destination:
        d = q.destination.upper()
        if not (d in x.destinations or (x.ships_worldwide and d not in x.destinations_excluded)):
            return False
    for value, low, high in ((x.price_usd, q.price_usd_min, q.price_usd_max), (x.usd_per_unit, q.usd_per_unit_min, q.usd_per_unit_max)):
        if (low is not None or high is not None) and value is None:
            return False
        if (low is not None and value < low) or (high is not None and value > high):  # type: ignore[operator]
            return False
    for value, low, high in ((x.first_seen, q.first_seen_from, q.first_seen_to), (x.last_seen, q.last_seen_from, q.last_seen_to)):
        if low and value < bound_from(low):  # type: ignore[operator]
            return False
        if high and value > bound_to(high):  # type: ignore[operator]
            return False
    return True


def search_ids(listings: list[Listing], q: SearchQuery, vocabulary: Vocabulary | None = None) -> tuple[int, list[str]]:
    """(total, ids of the page); relevance with text returns the whole matching set sorted by id."""
    found = [merge.normalise_listing(x) for x in listings]
    vocabulary = vocabulary or default_vocabulary()
    found = [x for x in found if matches(x, q, vocabulary)]
    field = q.sort.lstrip("-")
    if field == "relevance":
        if q.text.strip():
            return len(found), sorted(x.listing_id for x in found)
        found.sort(key=lambda x: x.listing_id)
        found.sort(key=lambda x: x.last_seen, reverse=True)
    else:
        found.sort(key=lambda x: x.listing_id)
        with_value = [x for x in found if getattr(x, field) is not None]
        with_value.sort(key=lambda x: getattr(x, field), reverse=q.sort.startswith("-"))
        found = with_value + [x for x in found if getattr(x, field) is None]
    return len(found), [x.listing_id for x in found[q.offset : q.offset + q.limit]]


def trend_rows(snapshots: list[Snapshot], q: TrendQuery, vocabulary: Vocabulary | None = None) -> list[TrendRow]:
    low, high = bound_from(q.time_from), bound_to(q.time_to)
    names = set(synonyms(q.substance, vocabulary or default_vocabulary())) if q.substance else None
    agg: Any
    agg = {"usd_per_unit": ValueTrend, "listings": DistinctTrend, "vendors": DistinctTrend, "activity": ActivityTrend}[q.metric](q)
    for s in map(merge.normalise_snapshot, snapshots):
        if names is not None and (s.substance or "").lower() not in names:
            continue
        if (q.site and s.site != q.site) or (q.origin and s.origin != q.origin) or (low and s.crawled_at < low) or (high and s.crawled_at > high):
            continue
        group = tuple((s.substance or '').lower() or None if g == 'substance' else getattr(s, g) for g in q.group_by)
        if q.metric == "usd_per_unit":
            if s.usd_per_unit is None or (q.unit and s.quantity_unit != q.unit):
                continue
            agg.add(s.crawled_at, group, s.usd_per_unit)
        elif q.metric == "activity":
            agg.add(s.run_id, s.site, s.listing_id, s.crawled_at)
        else:
            agg.add(s.crawled_at, group, s.listing_id if q.metric == "listings" else s.vendor_id)
    return agg.rows()
