"""The embedded default backend: one SQLite file under $TRAWL_HOME.

WAL mode, one transaction per `write()` call (a crash loses at most the batch
in flight, never half of it), FTS5 with BM25 for text, and upserts that follow
index/merge.py so re-indexing the same crawl changes nothing.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from core.errors import TrawlError
from core.records import CandidateSubstance, Listing, Records, Snapshot, Vendor, from_dict, to_dict
from core.sqlite_wal import begin_immediate
from core.timeutil import bound_from, bound_to
from core.vocabulary import Vocabulary
from index import merge
from index.api import IndexBackend, SearchHit, SearchQuery, SearchResult, TrendQuery, TrendRow
from index.query_checks import check_paging
from index.sqlite_facets import FacetTables, facet_tokens, stored_filter, stored_totals
from index.sqlite_query import build_search, has_text_terms, listing_filters, order_by, scan_in_order
from index.sqlite_schema import BUSY_TIMEOUT, SNAPSHOT_FIELDS, connect, migrate

logger = logging.getLogger(__name__)

R = TypeVar("R", Listing, Vendor)

# one-filter searches whose rows are all read from listing_terms (index, no table read)
_TERM_FILTERS = ("substance", "control", "class")
_CHUNK = 500  # SQLite's default limit on bound parameters is generous, but keep IN lists short
_SNAPSHOT_COLUMNS = SNAPSHOT_FIELDS
_SNAPSHOT_VALUES = ",".join("?" * len(SNAPSHOT_FIELDS.split(",")))


def _plain(record: Any) -> dict[str, Any]:
    """dataclasses.asdict() for our records, without its deep copies (a third of the bulk-write time)."""
    if isinstance(record, Listing):
        d = dict(record.__dict__)
        d["substances"] = [dict(s.__dict__) for s in record.substances]
        d["mentioned_substances"] = [dict(s.__dict__) for s in record.mentioned_substances]
        d["shipping_options"] = [dict(o.__dict__) for o in record.shipping_options]
        d["evidence"] = dict(record.evidence.__dict__)
        return d
    return to_dict(record)


def _dumps(record: Any) -> str:
    return json.dumps(_plain(record), ensure_ascii=False, separators=(",", ":"))


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def snapshot_row(s: Snapshot) -> tuple[Any, ...]:
    return (
        s.listing_id, s.crawled_at, s.site, s.run_id, s.price_amount, s.price_currency,
        s.price_usd, s.usd_per_unit, s.quantity_unit, s.stock, s.feedback_count, s.substance,
        s.substance.lower() if s.substance else None, s.vendor_id, s.origin, s.content_hash, s.extraction_version,
    )


def snapshot_from_row(row: Sequence[Any]) -> Snapshot:
    """A row of SNAPSHOT_FIELDS, optionally followed by a `superseded` flag (snapshot_versions)."""
    return Snapshot(
        listing_id=row[0], crawled_at=row[1], site=row[2], run_id=row[3] or "", price_amount=row[4],
        price_currency=row[5], price_usd=row[6], usd_per_unit=row[7], quantity_unit=row[8], stock=row[9],
        feedback_count=row[10], substance=row[11], vendor_id=row[13], origin=row[14], content_hash=row[15] or "",
        extraction_version=row[16] or "", superseded=bool(row[17]) if len(row) > 17 else False,
    )


def all_snapshots_sql(where: str = "") -> str:
    """Current and superseded snapshots (SNAPSHOT_FIELDS + superseded) under one `where` on alias s;
    its parameters are needed twice."""
    return (f"SELECT {SNAPSHOT_FIELDS}, 0 AS superseded FROM snapshots s{where}"  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            f" UNION ALL SELECT {SNAPSHOT_FIELDS}, 1 FROM snapshot_versions s{where}")


def _listing_terms(listing: Listing) -> list[tuple[str, str]]:
    terms: set[tuple[str, str]] = set()
    for ref in listing.substances:
        terms.add(("substance", ref.name.lower()))
        if ref.substance_class:
            terms.add(("class", ref.substance_class.lower()))
        terms.update(("control", c.lower()) for c in ref.controls)
    # mentioned names get their own term kind: a substance filter (offered) never sees them
    terms.update(("mentioned", ref.name.lower()) for ref in listing.mentioned_substances)
    terms.update(("dest", d) for d in listing.destinations)
    terms.update(("dest_ex", d) for d in listing.destinations_excluded)
    return sorted(terms)


def fts_substances(listing: Listing) -> str:
    """What full text sees of substances: names and classes (ES copies the same fields)."""
    parts = []
    for ref in listing.substances:
        parts.append(ref.name)
        if ref.substance_class:
            parts.append(ref.substance_class)
    return " ".join(parts)


class SqliteBackend(IndexBackend):
    name = "sqlite"

    def __init__(self, path: str | Path, vocabulary: Vocabulary | None = None) -> None:
        self.path = Path(path)
        self.vocabulary = vocabulary or Vocabulary.empty()
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = connect(str(path))
        self._lock = threading.RLock()  # one connection shared by threads (crawler pipeline + scheduler)
        migrate(self._conn)

    # -- plumbing -----------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise TrawlError(f"index {self.path} is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self.conn
            begin_immediate(conn, BUSY_TIMEOUT)  # workers write the same file
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self, *, tidy: bool = True) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    if tidy:  # (3-5 ms after a batch of writes on a new file)
                        self._conn.execute("PRAGMA optimize")
                except sqlite3.OperationalError as exc:
                    # statistics only, best effort: with several writers (processing workers) its
                    # ANALYZE upgrades a read to a write and SQLite answers "locked" at once, no
                    # busy wait; everything written is already committed
                    logger.debug("index %s: PRAGMA optimize skipped at close (%s)", self.path, exc)
                finally:
                    self._conn.close()
                    self._conn = None

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    # -- writes -------------------------------------------------------------
    def write(self, records: Records) -> dict[str, int]:
        batch = merge.normalise(records)
        with self._transaction() as conn:
            self._upsert_listings(conn, batch.listings)
            # snapshots are immutable facts keyed by listing@time: last write wins, same content;
            # an extraction a reprocess replaced moves beside them (Snapshot.superseded)
            conn.executemany(
                f"INSERT OR REPLACE INTO snapshots ({_SNAPSHOT_COLUMNS}) VALUES ({_SNAPSHOT_VALUES})",  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
                [snapshot_row(s) for s in batch.snapshots if not s.superseded],
            )
            superseded = [snapshot_row(s) for s in batch.snapshots if s.superseded]
            if superseded:
                conn.executemany(
                    f"INSERT OR IGNORE INTO snapshot_versions ({_SNAPSHOT_COLUMNS}) VALUES ({_SNAPSHOT_VALUES})",  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
                    superseded,
                )
            self._upsert_vendors(conn, batch.vendors)
            self._upsert_candidates(conn, batch.candidates)
        return batch.counts()

    def _existing_docs(self, conn: sqlite3.Connection, table: str, key: str, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            rows = conn.execute(f"SELECT {key}, doc FROM {table} WHERE {key} IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            found.update(rows)
        return found

    def _merged_with_stored(self, conn: sqlite3.Connection, table: str, key: str, cls: type[R], records: list[R],
                            merge_fn: Callable[[R | None, R], R]) -> tuple[dict[str, R], dict[str, R]]:
        """(stored, merged): each record merged into its stored version by id, in input order."""
        existing = self._existing_docs(conn, table, key, list({getattr(r, key) for r in records}))
        before = {k: from_dict(cls, json.loads(v)) for k, v in existing.items()}
        merged: dict[str, R] = dict(before)
        for record in records:
            merged[getattr(record, key)] = merge_fn(merged.get(getattr(record, key)), record)
        return before, merged

    def _upsert_listings(self, conn: sqlite3.Connection, listings: list[Listing]) -> None:
        if not listings:
            return
        before, merged = self._merged_with_stored(conn, "listings", "listing_id", Listing, listings, merge.merge_listing)
        fresh: list[Listing] = []
        facets = FacetTables()  # facet counts change in this same transaction
        for listing_id, listing in merged.items():
            if before.get(listing_id) == listing:
                continue  # unchanged: re-indexing the same crawl touches nothing
            if listing_id in before:
                self._update_listing(conn, listing, facets)
            else:
                fresh.append(listing)
        if fresh:
            self._insert_listings(conn, fresh, facets)
        facets.flush(conn)

    @staticmethod
    def _columns(x: Listing) -> tuple[Any, ...]:
        return (
            x.site.lower(), x.market_kind.lower(), x.vendor.lower() if x.vendor else None,
            x.vendor_id.lower() if x.vendor_id else None, x.title, x.price_usd, x.usd_per_unit, x.quantity_unit,
            x.origin, int(bool(x.ships_worldwide)), x.first_seen or None, x.last_seen or None, x.crawled_at or None,
            _dumps(x),
        )

    @staticmethod
    def _facets(columns: tuple[Any, ...], terms: list[tuple[str, str]]) -> str:
        return facet_tokens(columns[0], columns[2], columns[8], terms)  # site, vendor_lc, origin as stored

    def _insert_listings(self, conn: sqlite3.Connection, listings: list[Listing], facets: FacetTables) -> None:
        # rids are assigned here (safe: we hold the write lock) so the three inserts can each be one executemany
        first = conn.execute("SELECT coalesce(max(rid), 0) + 1 FROM listings").fetchone()[0]
        rows: list[tuple[Any, ...]] = []
        terms: list[tuple[int, str, str]] = []
        texts: list[tuple[Any, ...]] = []
        packed: list[tuple[int, str]] = []
        for rid, x in enumerate(listings, start=first):
            columns, listing_terms = self._columns(x), _listing_terms(x)
            rows.append((*columns, x.listing_id, rid))
            terms.extend((rid, kind, value) for kind, value in listing_terms)
            texts.append((rid, x.title, x.description, x.vendor or "", fts_substances(x)))
            packed.append((rid, self._facets(columns, listing_terms)))
        conn.executemany(
            "INSERT INTO listings (site, market_kind, vendor_lc, vendor_id, title, price_usd, usd_per_unit,"
            " quantity_unit, origin, ships_worldwide, first_seen, last_seen, crawled_at, doc, listing_id, rid)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.executemany("INSERT INTO listing_terms (rid, kind, value) VALUES (?,?,?)", terms)
        conn.executemany("INSERT INTO listings_fts (rowid, title, description, vendor, substances) VALUES (?,?,?,?,?)", texts)
        facets.insert(conn, packed)

    def _update_listing(self, conn: sqlite3.Connection, x: Listing, facets: FacetTables) -> None:
        rid = conn.execute("SELECT rid FROM listings WHERE listing_id = ?", (x.listing_id,)).fetchone()[0]
        columns, listing_terms = self._columns(x), _listing_terms(x)
        conn.execute(
            "UPDATE listings SET site=?, market_kind=?, vendor_lc=?, vendor_id=?, title=?, price_usd=?,"
            " usd_per_unit=?, quantity_unit=?, origin=?, ships_worldwide=?, first_seen=?, last_seen=?,"
            " crawled_at=?, doc=? WHERE rid=?",
            (*columns, rid),
        )
        conn.execute("DELETE FROM listing_terms WHERE rid = ?", (rid,))
        conn.execute("DELETE FROM listings_fts WHERE rowid = ?", (rid,))
        conn.executemany(
            "INSERT INTO listing_terms (rid, kind, value) VALUES (?,?,?)",
            [(rid, kind, value) for kind, value in listing_terms],
        )
        facets.update(conn, rid, self._facets(columns, listing_terms))
        conn.execute(
            "INSERT INTO listings_fts (rowid, title, description, vendor, substances) VALUES (?,?,?,?,?)",
            (rid, x.title, x.description, x.vendor or "", fts_substances(x)),
        )

    def _upsert_vendors(self, conn: sqlite3.Connection, vendors: list[Vendor]) -> None:
        if not vendors:
            return
        before, merged = self._merged_with_stored(conn, "vendors", "vendor_id", Vendor, vendors, merge.merge_vendor)
        conn.executemany(
            "INSERT OR REPLACE INTO vendors (vendor_id, site, name_lc, first_seen, last_seen, doc) VALUES (?,?,?,?,?,?)",
            [
                (v.vendor_id, v.site, v.name.lower(), v.first_seen, v.last_seen, _dumps(v))
                for k, v in merged.items()
                if before.get(k) != v
            ],
        )

    def _upsert_candidates(self, conn: sqlite3.Connection, candidates: list[CandidateSubstance]) -> None:
        for candidate in candidates:
            row = conn.execute("SELECT doc FROM candidates WHERE token = ?", (candidate.token,)).fetchone()
            existing = from_dict(CandidateSubstance, json.loads(row[0])) if row else None
            known = {r[0] for r in conn.execute("SELECT listing_id FROM candidate_listings WHERE token = ?", (candidate.token,))}
            record, seen = merge.merge_candidate(existing, known, candidate)
            if record == existing:
                continue
            conn.execute(
                "INSERT OR REPLACE INTO candidates (token, site, first_seen, last_seen, doc) VALUES (?,?,?,?,?)",
                (record.token, record.site, record.first_seen, record.last_seen, _dumps(record)),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO candidate_listings (token, listing_id) VALUES (?,?)",
                [(record.token, i) for i in sorted(seen - known)],
            )

    # -- reads --------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise TrawlError(f"index query failed on {self.path}: {exc}") from exc

    def get_listing(self, listing_id: str) -> Listing | None:
        rows = self._query("SELECT doc FROM listings WHERE listing_id = ?", (listing_id,))
        return from_dict(Listing, json.loads(rows[0][0])) if rows else None

    def facet_filter(self, query: SearchQuery) -> tuple[str, str] | None:
        """The facet_totals filter (kind, value) holding this search's total and facet counts, if any."""
        return stored_filter(self._query, query, self.vocabulary)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads that see one state of the file (a read transaction on the shared connection)."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    def search(self, query: SearchQuery) -> SearchResult:
        check_paging(query)
        with self._snapshot():
            key = self.facet_filter(query)
            scan: str | None = None
            if key is not None:  # the count of a broad filter without counting its rows
                total, listings = stored_totals(self._query, key)
                if key[0] in _TERM_FILTERS and scan_in_order(query, total, listings):
                    scan = "listings_last_seen"
            else:
                count_sql, params, _ = build_search(query, "count(*)", self.vocabulary)
                total = self._query(count_sql, params)[0][0]
            # the page's rows first, then the documents of those rows only: sorting thousands of
            # matches with their documents cost more than the search (3.4k hits: 46 -> 16 ms)
            select = ("l.rid, -bm25(listings_fts, 10.0, 1.0, 3.0, 5.0) AS score, snippet(listings_fts, -1, '[', ']', '…', 16)"
                      if has_text_terms(query) else "l.rid, 0.0 AS score, ''")
            sql, params, has_text = build_search(query, select, self.vocabulary, scan)
            page = self._query(f"{sql} ORDER BY {order_by(query, has_text)} LIMIT ? OFFSET ?",
                               [*params, query.limit, query.offset])
            rids = [row[0] for row in page]
            docs = dict(self._query(f"SELECT rid, doc FROM listings WHERE rid IN ({','.join('?' * len(rids))})",  # noqa: S608 - only ? placeholders are interpolated
                                    rids)) if rids else {}
        hits = [SearchHit(listing=from_dict(Listing, json.loads(docs[rid])), score=score, highlight=highlight)
                for rid, score, highlight in page]
        return SearchResult(total=total, hits=hits)

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """Rows of a long read without holding the shared connection: WAL lets a second reader run."""
        if str(self.path) == ":memory:":
            yield from self._query(sql, params)
            return
        reader = sqlite3.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro", uri=True, check_same_thread=False, timeout=30.0)
        try:
            cursor = reader.execute(sql, params)
            while batch := cursor.fetchmany(1000):
                yield from batch
        except sqlite3.OperationalError as exc:
            raise TrawlError(f"index query failed on {self.path}: {exc}") from exc
        finally:
            reader.close()

    def iter_listings(self, query: SearchQuery | None = None) -> Iterator[Listing]:
        """Every listing the query matches, in its sort order; limit/offset are ignored (exports)."""
        params: list[Any]
        if query is None:
            sql, params, order = "SELECT l.doc FROM listings l", [], "l.listing_id ASC"
        else:
            has_text = has_text_terms(query)
            select = "l.doc, -bm25(listings_fts, 10.0, 1.0, 3.0, 5.0) AS score" if has_text else "l.doc"
            sql, params, has_text = build_search(query, select, self.vocabulary)
            order = order_by(query, has_text)
        for row in self._stream(f"{sql} ORDER BY {order}", params):
            yield from_dict(Listing, json.loads(row[0]))

    def iter_snapshots(self, query: SearchQuery | None = None) -> Iterator[Snapshot]:
        """Snapshots of the listings the query selects, oldest first; crawled_from/to bound the crawl time.
        Superseded extractions of a capture (`trawl reprocess`) come just before the current one."""
        clauses: list[str] = []
        params: list[Any] = []
        if query is not None:
            listing_clauses, _ = listing_filters(query, self.vocabulary)
            if listing_clauses or has_text_terms(query):
                sub_sql, sub_params, _ = build_search(query, "l.listing_id", self.vocabulary)
                clauses.append(f"s.listing_id IN ({sub_sql})")
                params += sub_params
            low = bound_from(query.crawled_from, "crawled_from")
            high = bound_to(query.crawled_to, "crawled_to")
            if low:
                clauses.append("s.crawled_at >= ?")
                params.append(low)
            if high:
                clauses.append("s.crawled_at <= ?")
                params.append(high)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"{all_snapshots_sql(where)} ORDER BY crawled_at, listing_id, superseded DESC"
        for row in self._stream(sql, params + params):
            yield snapshot_from_row(row)

    def vendors(self, name: str | None = None) -> list[Vendor]:
        if name:
            key = name.strip().lower()
            rows = self._query("SELECT doc FROM vendors WHERE name_lc = ? OR vendor_id = ? ORDER BY vendor_id", (key, key))
        else:
            rows = self._query("SELECT doc FROM vendors ORDER BY vendor_id")
        return [from_dict(Vendor, json.loads(r[0])) for r in rows]

    def candidates(self, since: str | None = None) -> list[CandidateSubstance]:
        low = bound_from(since, "since")
        rows = self._query(
            "SELECT doc FROM candidates WHERE ? IS NULL OR first_seen >= ? ORDER BY first_seen, token", (low, low)
        )
        return [from_dict(CandidateSubstance, json.loads(r[0])) for r in rows]

    def counts(self) -> dict[str, int]:
        return {
            table: self._query(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
            for table in ("listings", "snapshots", "vendors", "candidates")
        }

    def trends(self, query: TrendQuery) -> list[TrendRow]:
        from index.sqlite_trends import sqlite_trends

        with self._lock:
            return sqlite_trends(self.conn, query, self.vocabulary)

    def integrity_check(self) -> str:
        return self._query("PRAGMA integrity_check")[0][0]
