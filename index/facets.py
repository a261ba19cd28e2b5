"""Facet counts for a search: how many matching listings carry each value of a field.

    from index.facets import facet_counts
    facet_counts(backend, SearchQuery(text="mephedrone"), ["site", "destination"])
    # {"site": [FacetCount("nightshade", 12), ...], "destination": [...]}

Counts are over the listings the query selects (every filter applied, the facet's own
included), most frequent value first, ties by value.  Values are the ones the filters
take back: substance, class and control lower-cased (as `SearchQuery` matches them),
vendor lower-cased, countries as ISO alpha-2.  `destination` counts the countries a
listing names; listings shipping worldwide match every destination *filter* but are
counted here only under the countries they name.

SQLite: counts kept at write time for a search without filters or with one substance,
control, class, site or origin filter; otherwise one narrow row per selected listing counted
in one pass (index/sqlite_facets.py).
Elasticsearch: one `terms` aggregation per field in a size-0 search (not runnable in
this sandbox; tests skip without TRAWL_TEST_ES_URL).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import TrawlError
from index.api import IndexBackend, SearchQuery

if TYPE_CHECKING:
    from index.es_backend import EsBackend
    from index.sqlite_backend import SqliteBackend

FACET_FIELDS = ("substance", "control", "class", "site", "vendor", "origin", "destination")
MAX_FACET_SIZE = 200

# facet -> keyword field of the ES listing mapping (index/es_mappings.py)
ES_FIELDS = {
    "substance": "substances.name", "control": "substances.controls", "class": "substances.substance_class",
    "site": "site", "vendor": "vendor.lc", "origin": "origin", "destination": "destinations",
}


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


def check_fields(fields: Sequence[str], size: int) -> None:
    unknown = [f for f in fields if f not in FACET_FIELDS]
    if unknown:
        raise TrawlError(f"facets: unknown field(s) {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(FACET_FIELDS)})")
    if not 1 <= size <= MAX_FACET_SIZE:
        raise TrawlError(f"facet_size: {size} is not in 1..{MAX_FACET_SIZE}")


def facet_counts(backend: IndexBackend, query: SearchQuery, fields: Sequence[str] = FACET_FIELDS,
                 size: int = 20) -> dict[str, list[FacetCount]]:
    """Up to `size` values per field, with the number of matching listings for each."""
    check_fields(fields, size)
    if backend.name == "sqlite":
        return _sqlite_facets(backend, query, fields, size)  # type: ignore[arg-type]
    if backend.name == "elasticsearch":
        return _es_facets(backend, query, fields, size)  # type: ignore[arg-type]
    raise TrawlError(f"facets: not supported by the {backend.name} backend")


def _sqlite_facets(backend: SqliteBackend, query: SearchQuery, fields: Sequence[str],
                   size: int) -> dict[str, list[FacetCount]]:
    """No filter or one substance/control/class/site/origin filter: the counts kept at write time
    (facet_totals); any other search: its listings' packed facet rows, counted in one pass
    (index/sqlite_facets.py says why both)."""
    from index.sqlite_facets import count_tokens, decoded_counts
    from index.sqlite_query import build_search

    key = backend.facet_filter(query)
    counts: dict[str, dict[str, int]] = {}
    if key is not None:
        marks = ",".join("?" * len(fields))
        rows = backend._query("SELECT facet, value, n FROM facet_totals WHERE filter_kind = ? AND filter_value = ?"  # noqa: S608 - only ? placeholders are interpolated
                              f" AND facet IN ({marks}) AND n > 0", [*key, *fields])
        for facet, value, n in rows:
            counts.setdefault(facet, {})[value] = n
    else:
        # the same rows as backend.search: same builder, same substance vocabulary
        selected, params, _ = build_search(query, "l.rid", backend.vocabulary)
        # the backend's own reader: it holds the connection lock, so this is safe from any thread
        rows = backend._query(f"SELECT f.facets FROM listing_facets f WHERE f.rid IN ({selected})", params)  # noqa: S608 - the select is built from code; values are bound
        counts = decoded_counts(count_tokens(rows))
    # most frequent first, ties by value (code point order = SQLite's BINARY order of UTF-8)
    return {name: [FacetCount(value, n) for value, n in sorted(counts.get(name, {}).items(),
                                                                 key=lambda item: (-item[1], item[0]))[:size]]
            for name in fields}


def _es_facets(backend: EsBackend, query: SearchQuery, fields: Sequence[str],
               size: int) -> dict[str, list[FacetCount]]:
    from index.es_query import search_query

    aggs = {name: {"terms": {"field": ES_FIELDS[name], "size": size,
                             "order": [{"_count": "desc"}, {"_key": "asc"}]}} for name in fields}
    backend._read()  # writes of this process become visible first, as for backend.search
    response = backend._call("counting facets", backend.client.search, index=backend.names.read_alias("listings"),
                             query=search_query(query, backend.vocabulary), size=0, aggs=aggs, track_total_hits=False)
    buckets = response.get("aggregations", {})
    return {name: [FacetCount(str(b["key"]), int(b["doc_count"])) for b in buckets.get(name, {}).get("buckets", [])]
            for name in fields}
