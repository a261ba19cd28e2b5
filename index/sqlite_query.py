"""SearchQuery -> SQL for the embedded backend.

Semantics (mirrored by es_query.py; tests compare the two):
- every filter is AND-ed; ranges are inclusive; a range excludes listings whose value is unknown;
- substance / class / vendor / site are case-insensitive; substance also matches synonyms;
- control "1971" matches "1971:II" (exact id or prefix up to ':');
- destination X matches listings shipping to X, or worldwide unless X is excluded.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from core.timeutil import bound_from, bound_to
from core.vocabulary import Vocabulary
from index.api import SearchQuery
from index.query_checks import parse_sort
from index.querytext import fts5_match, has_words, parse_text, synonyms


def _term_exists(kind: str, values: list[str]) -> str:
    marks = ",".join("?" * len(values))
    # kind is one of this module's constants; every user value is a bound parameter.  An IN over
    # the term index, not a correlated EXISTS: SQLite then reads the matching rids once from
    # listing_terms_lookup instead of probing it for every listing (1 s -> ms at 50k listings)
    return f"l.rid IN (SELECT t.rid FROM listing_terms t WHERE t.kind = '{kind}' AND t.value IN ({marks}))"  # noqa: S608


def listing_filters(q: SearchQuery, vocabulary: Vocabulary) -> tuple[list[str], list[Any]]:
    """WHERE clauses over `listings l` (without the full-text part)."""
    clauses: list[str] = []
    params: list[Any] = []
    if q.substance:
        names = synonyms(q.substance, vocabulary)
        if q.include_mentioned:  # offered or only mentioned ("no fent", "like Xanax")
            clauses.append(f"({_term_exists('substance', names)} OR {_term_exists('mentioned', names)})")
            params += names
        else:
            clauses.append(_term_exists("substance", names))
        params += names
    if q.control:
        control = q.control.strip().lower()
        # "1971" matches "1971" and every "1971:<schedule>": a range on the term index, not substr()
        clauses.append(
            "l.rid IN (SELECT t.rid FROM listing_terms t WHERE t.kind = 'control' AND t.value = ?"
            " UNION ALL SELECT t.rid FROM listing_terms t WHERE t.kind = 'control' AND t.value > ? AND t.value < ?)"
        )
        params += [control, control + ":", control + ";"]  # ';' sorts right after ':'
    if q.substance_class:
        clauses.append(_term_exists("class", [q.substance_class.strip().lower()]))
        params.append(q.substance_class.strip().lower())
    if q.site:
        clauses.append("l.site = ?")
        params.append(q.site.strip().lower())
    if q.market_kind:
        clauses.append("l.market_kind = ?")
        params.append(q.market_kind.strip().lower())
    if q.vendor:
        clauses.append("(l.vendor_lc = ? OR l.vendor_id = ?)")
        params += [q.vendor.strip().lower()] * 2
    if q.origin:
        clauses.append("l.origin = ?")
        params.append(q.origin.strip().upper())
    if q.destination:
        dest = q.destination.strip().upper()
        clauses.append(
            "(" + _term_exists("dest", [dest])
            + " OR (l.ships_worldwide = 1 AND NOT " + _term_exists("dest_ex", [dest]) + "))"
        )
        params += [dest, dest]
    for column, low, high in (
        ("price_usd", q.price_usd_min, q.price_usd_max),
        ("usd_per_unit", q.usd_per_unit_min, q.usd_per_unit_max),
    ):
        if low is not None:
            clauses.append(f"l.{column} >= ?")
            params.append(float(low))
        if high is not None:
            clauses.append(f"l.{column} <= ?")
            params.append(float(high))
    for column, since, until in (
        ("first_seen", q.first_seen_from, q.first_seen_to),
        ("last_seen", q.last_seen_from, q.last_seen_to),
    ):
        if since:
            clauses.append(f"l.{column} >= ?")
            params.append(bound_from(since, f"{column}_from"))
        if until:
            clauses.append(f"l.{column} <= ?")
            params.append(bound_to(until, f"{column}_to"))
    return clauses, params


def order_by(q: SearchQuery, has_text: bool) -> str:
    field, descending = parse_sort(q.sort)
    if field == "relevance":
        # without text there is nothing to rank: most recently seen first
        # equal scores: most recently seen first (es_query.search_sort breaks ties the same way)
        return "score DESC, l.last_seen DESC, l.listing_id ASC" if has_text else "l.last_seen DESC, l.listing_id ASC"
    if descending:
        # NULL sorts lowest in SQLite, so DESC already puts unknown values last; without the
        # (x IS NULL) term an index on the column can give the order (see build_search's scan)
        return f"l.{field} DESC, l.listing_id ASC"
    return f"(l.{field} IS NULL) ASC, l.{field} ASC, l.listing_id ASC"


def has_text_terms(q: SearchQuery) -> bool:
    """Whether the text has any searchable word: '"', '*' or '-' alone have none, and the
    select must then not use the FTS columns (bm25/snippet) that build_search leaves out."""
    return has_words(q.text or "")


def build_search(q: SearchQuery, select: str, vocabulary: Vocabulary,
                 scan: str | None = None) -> tuple[str, list[Any], bool]:
    """FROM/WHERE for a search; `select` may use score and snippet columns when text is given.
    `scan` names a listings index to read the rows from (in its order) when there is no text."""
    clauses, params = listing_filters(q, vocabulary)
    words = parse_text(q.text or "", vocabulary)
    if words:
        # CROSS JOIN keeps the full-text match the outer loop: one MATCH, then a lookup per hit (the
        # planner would otherwise scan a filter index and run the MATCH once per row, seconds at 50k rows)
        source = "listings_fts CROSS JOIN listings l ON l.rid = listings_fts.rowid"
        clauses.insert(0, "listings_fts MATCH ?")
        params.insert(0, fts5_match(words))
    else:
        source = f"listings l INDEXED BY {scan}" if scan else "listings l"
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # select, source and clauses are code; user text and filters travel in params (FTS5 text as a bound MATCH value)
    return f"SELECT {select} FROM {source}{where}", params, bool(words)  # noqa: S608


# SearchQuery fields that select nothing by themselves (text is looked at separately)
_NOT_FILTERS = {"text", "sort", "offset", "limit", "crawled_from", "crawled_to", "include_mentioned"}
_FIELD_FACETS = {"substance": "substance", "control": "control", "substance_class": "class", "site": "site",
                 "origin": "origin"}


def one_filter(q: SearchQuery, vocabulary: Vocabulary) -> tuple[str, list[str]] | None:
    """('', ['']) for a search without filters, (facet, values) when one substance, control,
    class, site or origin filter is all it has (values normalised as listing_filters does;
    several only for a substance with synonyms: any of them matches), else None.
    Those searches read their total and facet counts from `facet_totals`."""
    if parse_text(q.text or "", vocabulary):
        return None
    active = [f.name for f in fields(q) if f.name not in _NOT_FILTERS and getattr(q, f.name) not in (None, "")]
    if not active:
        return "", [""]
    if len(active) > 1 or active[0] not in _FIELD_FACETS:
        return None
    name = active[0]
    raw = str(getattr(q, name))
    if name == "substance":
        if q.include_mentioned:
            return None
        values = synonyms(raw, vocabulary)
    else:
        values = [raw.strip().upper() if name == "origin" else raw.strip().lower()]
    if not all(values):
        return None  # an empty filter value has no precomputed counts (see sqlite_facets.filter_values)
    return _FIELD_FACETS[name], values


def scan_in_order(q: SearchQuery, total: int, listings: int) -> bool:
    """Whether the page of a term filter (rows checked against its rids, all in indexes) is cheaper
    read along listings_last_seen, newest first, than by looking up each of its `total` listings
    and sorting them (32k of 50k listings: 140 ms -> 20 ms).  At worst the scan reads the whole
    index once, which costs less than looking up that many table rows."""
    field, descending = parse_sort(q.sort)  # relevance: only asked without text, so newest first
    newest_first = field == "relevance" or (field == "last_seen" and descending)
    return newest_first and total * total > 4 * (q.offset + q.limit) * listings

