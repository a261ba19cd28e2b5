"""One listing's snapshots, oldest first: the price/stock history a listing page draws.

Every extraction version is kept: a capture `trawl reprocess` re-read with changed values has
its earlier snapshot (`superseded`) just before the current one.

`iter_snapshots(SearchQuery)` selects snapshots by listing *filters*; a listing page needs
them by listing id, which SQLite answers from its `snapshots_listing` index and
Elasticsearch from a term query on `listing_id`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import TrawlError
from core.records import Snapshot, from_dict
from index.api import IndexBackend

if TYPE_CHECKING:
    from index.es_backend import EsBackend
    from index.sqlite_backend import SqliteBackend

MAX_HISTORY = 10_000


def listing_snapshots(backend: IndexBackend, listing_id: str, limit: int = 1000) -> list[Snapshot]:
    """Up to `limit` snapshots of `listing_id`, oldest first (the most recent `limit` if there are more)."""
    if not 1 <= limit <= MAX_HISTORY:
        raise TrawlError(f"limit: {limit} is not in 1..{MAX_HISTORY}")
    if backend.name == "sqlite":
        return _sqlite_history(backend, listing_id, limit)  # type: ignore[arg-type]
    if backend.name == "elasticsearch":
        return _es_history(backend, listing_id, limit)  # type: ignore[arg-type]
    raise TrawlError(f"listing history: not supported by the {backend.name} backend")


def _sqlite_history(backend: SqliteBackend, listing_id: str, limit: int) -> list[Snapshot]:
    from index.sqlite_backend import all_snapshots_sql, snapshot_from_row

    # newest `limit` rows through the (listing_id, crawled_at) indexes, then put back in time order;
    # a capture's superseded extractions (trawl reprocess) sort before its current one
    sql = f"{all_snapshots_sql(' WHERE s.listing_id = ?')} ORDER BY crawled_at DESC, superseded LIMIT ?"
    rows = backend._query(sql, (listing_id, listing_id, limit))  # holds the connection lock: safe from any thread
    return [snapshot_from_row(row) for row in reversed(rows)]


def _es_history(backend: EsBackend, listing_id: str, limit: int) -> list[Snapshot]:
    backend._read()  # writes of this process become visible first, as for backend.search
    response = backend._call("reading snapshots", backend.client.search, index=backend.names.read_alias("snapshots"),
                             query={"term": {"listing_id": listing_id}}, size=limit,
                             sort=[{"crawled_at": {"order": "desc"}}])
    hits = response.get("hits", {}).get("hits", [])
    return [from_dict(Snapshot, hit["_source"]) for hit in reversed(hits)]
