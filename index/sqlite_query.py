"""SearchQuery -> SQL for the embedded backend.

Semantics (mirrored by es_query.py; tests compare the two):
- every filter is AND-ed; ranges are inclusive; a range excludes listings whose value is unknown;
- substance / class / vendor / site are case-insensitive; substance also matches synonyms;
- control "1971" matches "1971:II" (exact id or prefix up to ':');
- destination X matches listings shipping to X, or worldwide unless X is excluded.
"""
from __future__ import annotations

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
    direction = "DESC" if descending else "ASC"
    return f"(l.{field} IS NULL) ASC, l.{field} {direction}, l.listing_id ASC"


def has_text_terms(q: SearchQuery) -> bool:
    """Whether the text has any searchable word: '"', '*' or '-' alone have none, and the
    select must then not use the FTS columns (bm25/snippet) that build_search leaves out."""
    return has_words(q.text or "")


def build_search(q: SearchQuery, select: str, vocabulary: Vocabulary) -> tuple[str, list[Any], bool]:
    """FROM/WHERE for a search; `select` may use score and snippet columns when text is given."""
    clauses, params = listing_filters(q, vocabulary)
    words = parse_text(q.text or "", vocabulary)
    if words:
        # CROSS JOIN keeps the full-text match the outer loop: one MATCH, then a lookup per hit (the
        # planner would otherwise scan a filter index and run the MATCH once per row, seconds at 50k rows)
        source = "listings_fts CROSS JOIN listings l ON l.rid = listings_fts.rowid"
        clauses.insert(0, "listings_fts MATCH ?")
        params.insert(0, fts5_match(words))
    else:
        source = "listings l"
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # select, source and clauses are code; user text and filters travel in params (FTS5 text as a bound MATCH value)
    return f"SELECT {select} FROM {source}{where}", params, bool(words)  # noqa: S608
