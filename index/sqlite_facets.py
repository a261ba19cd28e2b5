"""Facet tables of the SQLite backend, kept in the same transaction as the listings they count.

Counting facets by joining a selection of listings to `listing_terms` and `listings` costs
one index probe per listing and facet: 0.5-0.8 s for a selection of 33k of 50k listings.
Two tables make that cheaper:

- `listing_facets`: one narrow row per listing with every facet value it is counted under,
  packed into one string ("site\\x1fnightshade\\x1evendor\\x1f...").  Any selection is counted
  by reading one small row per listing and one `Counter` over the joined strings (2-3x faster
  than seven GROUP BYs over the joins).
- `facet_totals`: (filter_kind, filter_value, facet, value) -> n, the counts of every facet
  value among all listings (filter_kind '') and among the listings one term or column filter
  selects (substance, control, class, site, origin).  A search with no filter or one of those
  filters alone reads its counts and total directly, however many listings it selects.
  Rows (facet '', value '') hold the number of listings the filter selects.

Both are written by `FacetTables` from the same tokens, so `facet_totals` is always the sum
over `listing_facets`; `rebuild` recomputes both from `listings`/`listing_terms` (schema
upgrade; tests compare it with what the writes maintained).
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from core.vocabulary import Vocabulary
from index.api import SearchQuery
from index.sqlite_query import one_filter

# facet name -> listing_terms.kind; the column facets come from the listings row
TERM_FACETS = {"substance": "substance", "control": "control", "class": "class", "destination": "dest"}
_KIND_FACETS = {kind: facet for facet, kind in TERM_FACETS.items()}
# facets that are also filters with a precomputed table (SearchQuery's one-filter searches)
FILTER_FACETS = ("substance", "control", "class", "site", "origin")
_TOKENS, _PARTS = "\x1e", "\x1f"

FACET_DDL = """
CREATE TABLE IF NOT EXISTS listing_facets (rid INTEGER PRIMARY KEY, facets TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facet_totals (
    filter_kind TEXT NOT NULL, filter_value TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL,
    n INTEGER NOT NULL, PRIMARY KEY (filter_kind, filter_value, facet, value)
) WITHOUT ROWID;
"""

Pair = tuple[str, str, str, str]  # (filter_kind, filter_value, facet, value)
Read = Callable[[str, Sequence[Any]], list[Any]]  # SqliteBackend._query: the shared connection, locked


def _escape(value: str) -> str:
    """Values are crawled text: a separator inside one must not split it (unquote reverses this)."""
    return value.replace("%", "%25").replace(_TOKENS, "%1E")


def facet_tokens(site: str | None, vendor_lc: str | None, origin: str | None,
                 terms: Iterable[tuple[str, str]]) -> str:
    """The packed `listing_facets.facets` of a listing: what the facet SQL used to count, i.e.
    every substance/control/class/dest term, and site/vendor/origin when neither NULL nor ''."""
    tokens = {f"{_KIND_FACETS[kind]}{_PARTS}{_escape(value)}" for kind, value in terms if kind in _KIND_FACETS}
    tokens.update(f"{facet}{_PARTS}{_escape(value)}" for facet, value in
                  (("site", site), ("vendor", vendor_lc), ("origin", origin)) if value)
    return _TOKENS.join(sorted(tokens))


def decode(token: str) -> tuple[str, str]:
    facet, _, value = token.partition(_PARTS)
    return facet, unquote(value)


def filter_values(facet: str, value: str) -> list[str]:
    """The filter values of kind `facet` that select a listing counted under (facet, value).
    Control filters match the id or any prefix up to a ':' followed by more ("1971" selects
    "1971:ii"); the empty filter value is never precomputed (such searches count directly)."""
    if facet != "control":
        return [value]
    # SQL: value = F or (value > F || ':' and value < F || ';'), i.e. starts with F ':' and goes on
    return [value] + [value[:i] for i, char in enumerate(value) if char == ":" and i < len(value) - 1]


def pairs(packed: str) -> set[Pair]:
    """Every facet_totals row one listing adds 1 to."""
    if not packed:
        return {("", "", "", "")}
    values = [decode(t) for t in packed.split(_TOKENS)]
    filters = {("", "")} | {(facet, f) for facet, value in values if facet in FILTER_FACETS
                            for f in filter_values(facet, value) if f}
    counted = [("", ""), *values]
    return {(kind, fvalue, facet, value) for kind, fvalue in filters for facet, value in counted}


class FacetTables:
    """Changes of one write transaction: listing_facets rows now, facet_totals deltas at flush."""

    def __init__(self) -> None:
        self.deltas: Counter[Pair] = Counter()

    def insert(self, conn: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
        conn.executemany("INSERT INTO listing_facets (rid, facets) VALUES (?, ?)", rows)
        for _, packed in rows:
            self.deltas.update(pairs(packed))

    def update(self, conn: sqlite3.Connection, rid: int, packed: str) -> None:
        row = conn.execute("SELECT facets FROM listing_facets WHERE rid = ?", (rid,)).fetchone()
        before = row[0] if row else None
        if before == packed:
            return  # the usual re-crawl: last_seen moved, no facet value did
        conn.execute("INSERT OR REPLACE INTO listing_facets (rid, facets) VALUES (?, ?)", (rid, packed))
        if before is not None:
            self.deltas.subtract(pairs(before))
        self.deltas.update(pairs(packed))

    def flush(self, conn: sqlite3.Connection) -> None:
        changed = [(*pair, n) for pair, n in self.deltas.items() if n]
        self.deltas.clear()
        conn.executemany(
            "INSERT INTO facet_totals (filter_kind, filter_value, facet, value, n) VALUES (?,?,?,?,?)"
            " ON CONFLICT (filter_kind, filter_value, facet, value) DO UPDATE SET n = n + excluded.n", changed)
        conn.executemany(
            "DELETE FROM facet_totals WHERE filter_kind = ? AND filter_value = ? AND facet = ? AND value = ? AND n <= 0",
            [row[:4] for row in changed if row[4] < 0])


def rebuild(conn: sqlite3.Connection, chunk: int = 10_000) -> None:
    """Both tables from `listings` and `listing_terms` (inside the caller's transaction), streamed:
    both read in rid order side by side, so memory stays flat however many listings there are."""
    conn.execute("DELETE FROM listing_facets")
    conn.execute("DELETE FROM facet_totals")
    tables = FacetTables()
    terms = conn.execute("SELECT rid, kind, value FROM listing_terms ORDER BY rid")
    pending = terms.fetchone()
    rows: list[tuple[int, str]] = []
    for rid, site, vendor, origin in conn.execute("SELECT rid, site, vendor_lc, origin FROM listings ORDER BY rid"):
        own: list[tuple[str, str]] = []
        while pending is not None and pending[0] <= rid:
            if pending[0] == rid:
                own.append((pending[1], pending[2]))
            pending = terms.fetchone()
        rows.append((rid, facet_tokens(site, vendor, origin, own)))
        if len(rows) >= chunk:
            tables.insert(conn, rows)
            rows = []
    tables.insert(conn, rows)
    tables.flush(conn)


def count_tokens(packed_rows: Iterable[Sequence[Any]]) -> Counter[str]:
    """Facet tokens of the given listing_facets rows: one C-level Counter over one joined string."""
    joined = _TOKENS.join(row[0] for row in packed_rows if row[0])
    return Counter(joined.split(_TOKENS)) if joined else Counter()


def decoded_counts(tokens: Counter[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for token, n in tokens.items():
        facet, value = decode(token)
        out.setdefault(facet, {})[value] = n
    return out


def stored_filter(read: Read, query: SearchQuery, vocabulary: Vocabulary) -> tuple[str, str] | None:
    """The facet_totals filter (kind, value) holding the search's total and facet counts: no
    filter, or one substance/control/class/site/origin filter alone (sqlite_query.one_filter)."""
    found = one_filter(query, vocabulary)
    if found is None:
        return None
    kind, values = found
    if len(values) > 1:  # a substance's synonyms: one key only when at most one of them is stored
        marks = ",".join("?" * len(values))
        stored = read("SELECT filter_value FROM facet_totals WHERE filter_kind = ? AND facet = '' AND value = ''"  # noqa: S608 - only ? placeholders are interpolated
                      f" AND filter_value IN ({marks})", [kind, *values])
        if len(stored) > 1:
            return None
        values = [stored[0][0]] if stored else values
    return kind, values[0]


def stored_totals(read: Read, key: tuple[str, str]) -> tuple[int, int]:
    """(listings the filter selects, all listings)."""
    rows = read("SELECT filter_kind, filter_value, n FROM facet_totals WHERE facet = '' AND value = ''"
                " AND (filter_kind = '' OR (filter_kind = ? AND filter_value = ?))", key)
    by_filter = {(kind, value): n for kind, value, n in rows}
    return by_filter.get(key, 0), by_filter.get(("", ""), 0)
