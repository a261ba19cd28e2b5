"""SQLite schema of the embedded backend (one file, WAL, FTS5)."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from core.errors import TrawlError
from core.sqlite_wal import enter_wal
from index.sqlite_facets import FACET_DDL, rebuild

SCHEMA_VERSION = 9

# Listing filters run on plain columns plus `listing_terms` (one row per
# substance/class/control/destination) so every filter is an indexed lookup.
# Snapshots are stored as columns only: they are scalar, and the covering index
# `snapshots_trend` lets the price trend read values straight from the index.
# Clustered on (crawled_at, listing_id), which is the snapshot id (listing_id@crawled_at)
# in an order crawls append to: the big b-tree grows at its right edge instead of
# taking random inserts, which is what keeps bulk indexing fast at a million rows.
# the layout upgrade 4 rebuilt (kept as it was: later upgrades add to it)
_SNAPSHOT_FIELDS_V4 = (
    "listing_id, crawled_at, site, run_id, price_amount, price_currency, price_usd, usd_per_unit,"
    " quantity_unit, stock, feedback_count, substance, substance_lc, vendor_id, origin, content_hash"
)
_SNAPSHOTS_TABLE_V4 = """CREATE TABLE IF NOT EXISTS snapshots (
    listing_id TEXT NOT NULL, crawled_at TEXT NOT NULL, site TEXT NOT NULL, run_id TEXT,
    price_amount REAL, price_currency TEXT, price_usd REAL, usd_per_unit REAL, quantity_unit TEXT,
    stock INTEGER, feedback_count INTEGER, substance TEXT, substance_lc TEXT,
    vendor_id TEXT, origin TEXT, content_hash TEXT,
    PRIMARY KEY (crawled_at, listing_id)
) WITHOUT ROWID"""
SNAPSHOT_FIELDS = _SNAPSHOT_FIELDS_V4 + ", extraction_version"
SNAPSHOTS_TABLE = _SNAPSHOTS_TABLE_V4.replace(
    "content_hash TEXT,\n", "content_hash TEXT, extraction_version TEXT NOT NULL DEFAULT '',\n")
# earlier extractions of a capture that `trawl reprocess` replaced (Snapshot.superseded): history
# and exports read them, trends never do (they read `snapshots` only)
SNAPSHOT_VERSIONS_TABLE = SNAPSHOTS_TABLE.replace("TABLE IF NOT EXISTS snapshots", "TABLE IF NOT EXISTS snapshot_versions").replace(
    "PRIMARY KEY (crawled_at, listing_id)", "PRIMARY KEY (listing_id, crawled_at, extraction_version)")
SNAPSHOT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS snapshots_trend"
    " ON snapshots(substance_lc, quantity_unit, crawled_at, usd_per_unit, site, origin)",
    "CREATE INDEX IF NOT EXISTS snapshots_listing ON snapshots(listing_id, crawled_at)",
    # prices sorted within (substance, unit, month): monthly quantiles by rank (sqlite_trends.RankedValues)
    "CREATE INDEX IF NOT EXISTS snapshots_month"
    " ON snapshots(substance_lc, quantity_unit, substr(crawled_at, 1, 7), usd_per_unit)",
]

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
    rid INTEGER PRIMARY KEY,
    listing_id TEXT NOT NULL UNIQUE,
    site TEXT, market_kind TEXT, vendor_lc TEXT, vendor_id TEXT, title TEXT,
    price_usd REAL, usd_per_unit REAL, quantity_unit TEXT, origin TEXT,
    ships_worldwide INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT, last_seen TEXT, crawled_at TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS listings_site ON listings(site);
CREATE INDEX IF NOT EXISTS listings_vendor ON listings(vendor_lc);
CREATE INDEX IF NOT EXISTS listings_last_seen ON listings(last_seen);
CREATE INDEX IF NOT EXISTS listings_origin ON listings(origin);
CREATE TABLE IF NOT EXISTS listing_terms (rid INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS listing_terms_lookup ON listing_terms(kind, value, rid);
CREATE INDEX IF NOT EXISTS listing_terms_rid ON listing_terms(rid, kind, value);
CREATE VIRTUAL TABLE IF NOT EXISTS listings_fts USING fts5(
    title, description, vendor, substances, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS vendors (
    vendor_id TEXT PRIMARY KEY, site TEXT, name_lc TEXT, first_seen TEXT, last_seen TEXT, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vendors_name ON vendors(name_lc);
CREATE TABLE IF NOT EXISTS candidates (
    token TEXT PRIMARY KEY, site TEXT, first_seen TEXT, last_seen TEXT, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidate_listings (
    token TEXT NOT NULL, listing_id TEXT NOT NULL, PRIMARY KEY (token, listing_id)
) WITHOUT ROWID;
""" + FACET_DDL


# upgrades from version N-1 to N (a fresh file gets DDL, which is always the latest); a callable
# step runs in the upgrade's transaction (data that SQL alone cannot derive)
Step = str | Callable[[sqlite3.Connection], None]
UPGRADES: dict[int, list[Step]] = {
    2: [  # the trend index now covers `substance` too, so price trends never touch the table
        "DROP INDEX IF EXISTS snapshots_trend",
        "CREATE INDEX snapshots_trend ON snapshots(substance_lc, quantity_unit, crawled_at, usd_per_unit, site, origin, substance)",
    ],
    3: [],  # (an intermediate layout, superseded by 4 before release)
    4: [  # snapshots clustered on (crawled_at, listing_id), WITHOUT ROWID: see SNAPSHOTS_TABLE
        "ALTER TABLE snapshots RENAME TO snapshots_old",
        "DROP INDEX IF EXISTS snapshots_trend",
        "DROP INDEX IF EXISTS snapshots_time",
        "DROP INDEX IF EXISTS snapshots_listing",
        _SNAPSHOTS_TABLE_V4,
        f"INSERT OR REPLACE INTO snapshots ({_SNAPSHOT_FIELDS_V4}) SELECT {_SNAPSHOT_FIELDS_V4} FROM snapshots_old",  # noqa: S608 - only our column names and ? placeholders are interpolated; values are bound
        "DROP TABLE snapshots_old",
        *SNAPSHOT_INDEXES,
    ],
    5: [  # trends group by substance_lc now, so the covering index no longer carries `substance`
        "DROP INDEX IF EXISTS snapshots_trend",
        SNAPSHOT_INDEXES[0],
    ],
    6: [SNAPSHOT_INDEXES[-1]],
    7: [  # extraction versions (pipeline/version.py); existing rows are unversioned ('')
        "ALTER TABLE snapshots ADD COLUMN extraction_version TEXT NOT NULL DEFAULT ''",
        SNAPSHOT_VERSIONS_TABLE,
    ],
    8: [  # search and facets at 50k listings: origin facet/filter, term lookups by listing
        "CREATE INDEX IF NOT EXISTS listings_origin ON listings(origin)",
        "DROP INDEX IF EXISTS listing_terms_rid",
        "CREATE INDEX listing_terms_rid ON listing_terms(rid, kind, value)",
    ],
    9: [  # facet counts at 1M snapshots (index/sqlite_facets.py): filled from the stored listings
        *(s for s in FACET_DDL.split(";\n") if s.strip()),
        rebuild,
    ],
}


BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's lock


def connect(path: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT)
        enter_wal(conn, BUSY_TIMEOUT)  # new file: waits for another process opening it too
    except sqlite3.Error as exc:
        raise TrawlError(f"cannot open index database {path}: {exc}") from exc
    # NORMAL is durable against process crashes in WAL mode (only an OS crash
    # can lose the last commits, never corrupt the file) and much faster than FULL.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Create or upgrade the schema; returns the version now in the file."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise TrawlError(
            f"index database has schema version {version}, newer than this trawl ({SCHEMA_VERSION}); upgrade trawl"
        )
    if version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while we waited for the write lock
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return SCHEMA_VERSION
            statements: list[Step]
            if version == 0:
                statements = [*(s for s in DDL.split(";\n") if s.strip()), SNAPSHOTS_TABLE, *SNAPSHOT_INDEXES,
                              SNAPSHOT_VERSIONS_TABLE]
            else:
                statements = [s for v in range(version + 1, SCHEMA_VERSION + 1) for s in UPGRADES[v]]
            for statement in statements:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
