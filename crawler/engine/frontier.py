"""A persistent crawl frontier that survives SIGKILL (SQLite in the run dir).

Scrapy's JOBDIR writes queue metadata only at close, so a killed crawl loses it.  Here
every request is written `pending` (committed) before Scrapy sees it, a page's body is
kept once downloaded (`fetched`: where its WARC record is, or the body itself when the crawl
keeps no evidence), and it becomes `done` only after its items are committed
to the index.  Resume re-enqueues everything not done; fetched pages are replayed from what
was kept instead of being downloaded again, and done pages are never requested.
Keys are mirror-independent (canonical path + query), so a resumed crawl may use another mirror.

Group commit (`group_commit` seconds, the crawl's is `GROUP_COMMIT_SECONDS`): writes go into
one open transaction, committed by the first write after that long (and by `commit()`, which
the spider calls on a timer and at close; a claim commits at once).  A transaction per write
cost ~30-40 us each, three a page (~3% of the crawl process's CPU).  A kill loses at most the
last uncommitted writes, and what is on disk is always a prefix of what was written (one
connection, in order): a page is never `done` on disk while a link it gave is missing, so
`--resume` redoes what was lost instead of skipping it.

In distributed mode a worker writes to its own frontier every page it discovers, but the
shared Redis queue decides who fetches it; a page this worker took from the queue is
`claimed` as it is taken (crawler.engine.distributed; a page taken but not yet claimed when the
worker died waits in the worker's processing list in Redis, see `worker_id`).  A resumed
worker redoes what it had claimed, fetched or failed itself, and offers its pending pages to the shared queue again, whose
dupefilter drops those that reached it before the kill (queued, or done by another worker).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

from core.sqlite_wal import enter_wal

logger = logging.getLogger(__name__)

PENDING, CLAIMED, FETCHED, DONE, FAILED = "pending", "claimed", "fetched", "done", "failed"
GROUP_COMMIT_SECONDS = 0.1  # a crawl's frontier: see "Group commit" above

_SCHEMA = """
CREATE TABLE IF NOT EXISTS frontier (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    body BLOB,
    body_url TEXT,
    body_ref TEXT,
    mirror TEXT,
    error TEXT,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS frontier_status ON frontier(status, seq);
CREATE TABLE IF NOT EXISTS frontier_info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@lru_cache(maxsize=65536)  # a nav page links the same URLs as its neighbours
def page_key(url: str) -> str:
    """Mirror-independent identity of a page: canonical path and sorted query, no host."""
    canon = urlsplit(canonicalize_url(url))
    return canon.path + (f"?{canon.query}" if canon.query else "")


@dataclass(frozen=True)
class StoredPage:
    """A fetched page kept for replay: its body, or where its evidence record is (JSON of
    run_id, warc_file, warc_offset; read back by the caller)."""

    url: str
    body: bytes | None = None
    ref: dict[str, Any] | None = None


@dataclass
class Entry:
    key: str
    kind: str
    depth: int
    status: str
    meta: dict[str, Any]


class Frontier:
    def __init__(self, path: Path, group_commit: float = 0.0) -> None:
        self.path = path
        self.group_commit = group_commit  # 0: every write is its own transaction
        self._opened_at = 0.0  # when the open transaction began
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: Scrapy runs everything on the reactor thread, but
        # pipelines may be driven from deferToThread in future; the lock keeps it safe.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        enter_wal(self._conn, 5.0)  # sqlite3's default busy timeout
        self._conn.execute("PRAGMA synchronous=NORMAL")  # SIGKILL-safe; only power loss could drop the tail
        self._conn.executescript(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(frontier)")}
        if "body_ref" not in columns:  # a frontier written before bodies were kept as references
            self._conn.execute("ALTER TABLE frontier ADD COLUMN body_ref TEXT")
        self._lock = threading.Lock()
        self._seq = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM frontier").fetchone()[0]
        # every page links the same menus and neighbours: answer "already known" from
        # memory instead of an INSERT per link (keys are short; 1M pages ~ 100 MB)
        self._known = {row[0] for row in self._conn.execute("SELECT key FROM frontier")}
        # pages kept for replay: every listing request asks, almost always about a page not
        # kept.  A key here may have lost its body since (the query then says so); a kept page
        # is always here
        self._stored = {row[0] for row in self._conn.execute(
            "SELECT key FROM frontier WHERE status=? AND (body IS NOT NULL OR body_ref IS NOT NULL)", (FETCHED,))}

    def close(self) -> None:
        with self._lock:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
            except sqlite3.Error as exc:  # a full disk at the end: the file keeps its last committed prefix
                logger.error("frontier %s: its last writes could not be committed (%s); "
                             "--resume fetches those pages again", self.path, exc)
            finally:
                self._conn.close()

    def commit(self) -> None:
        """Commit the open group of writes, if any."""
        with self._lock:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def _write(self, sql: str, params: Any, many: bool = False, at_once: bool = False) -> sqlite3.Cursor:
        """Run one write in the open group (see the module doc); call with the lock held.
        Without group commit a write is its own transaction (`many`: one for all its rows)."""
        if self.group_commit <= 0:
            if not many:
                return self._conn.execute(sql, params)
            self._conn.execute("BEGIN")
            cursor = self._conn.executemany(sql, params)
            self._conn.execute("COMMIT")
            return cursor
        now = time.monotonic()
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")
            self._opened_at = now
        cursor = self._conn.executemany(sql, params) if many else self._conn.execute(sql, params)
        if at_once or now - self._opened_at >= self.group_commit:
            self._conn.execute("COMMIT")
        return cursor

    @property
    def worker_id(self) -> str:
        """This run's identity towards a shared queue, the same after a restart (`--resume`):
        Redis keeps the pages a worker has taken but not yet claimed under it."""
        with self._lock:
            # committed at once: Redis keeps this worker's taken pages under it
            self._write("INSERT OR IGNORE INTO frontier_info(name, value) VALUES ('worker_id', ?)",
                        (uuid.uuid4().hex,), at_once=True)
            row = self._conn.execute("SELECT value FROM frontier_info WHERE name='worker_id'").fetchone()
        return str(row[0])

    def add(self, key: str, kind: str, depth: int = 0, meta: dict[str, Any] | None = None) -> bool:
        """Record a request as pending; False if the page is already known to this run."""
        if key in self._known:
            return False
        with self._lock:
            self._seq += 1
            cur = self._write(
                "INSERT OR IGNORE INTO frontier(key, kind, depth, status, meta, seq) VALUES (?,?,?,?,?,?)",
                (key, kind, depth, PENDING, json.dumps(meta or {}), self._seq),
            )
            self._known.add(key)
            return cur.rowcount == 1

    def status(self, key: str) -> str | None:
        row = self._conn.execute("SELECT status FROM frontier WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def claim(self, key: str, kind: str, depth: int = 0) -> None:
        """This worker took the page from a shared queue (distributed mode); the page may
        have been discovered by another worker, so it may be new to this frontier."""
        with self._lock:
            self._seq += 1
            # committed at once: the shared queue forgets the page once it is claimed here
            self._write(
                "INSERT INTO frontier(key, kind, depth, status, meta, seq) VALUES (?,?,?,?,'{}',?)"
                " ON CONFLICT(key) DO UPDATE SET status=excluded.status WHERE status=?",
                (key, kind, depth, CLAIMED, self._seq, PENDING), at_once=True,
            )
            self._known.add(key)

    def store_body(self, key: str, url: str, body: bytes, mirror: str = "", ref: dict[str, Any] | None = None) -> None:
        """The page was fetched: keep `ref` (where its evidence record is) if given, else the body.

        With evidence on the body is already in the run's WARC: a second copy here cost a
        write of every listing page into this file (~2% of a fast crawl's CPU) and its disk."""
        with self._lock:
            cursor = self._write(
                "UPDATE frontier SET status=?, body=?, body_ref=?, body_url=?, mirror=?"
                " WHERE key=? AND status IN (?, ?, ?)",
                (FETCHED, None if ref else body, json.dumps(ref) if ref else None, url, mirror,
                 key, PENDING, CLAIMED, FAILED),
            )
            if cursor.rowcount == 1:
                self._stored.add(key)

    def stored_page(self, key: str) -> StoredPage | None:
        if key not in self._stored:
            return None
        row = self._conn.execute(
            "SELECT body_url, body, body_ref FROM frontier WHERE key=? AND status=?"
            " AND (body IS NOT NULL OR body_ref IS NOT NULL)", (key, FETCHED)).fetchone()
        if row is None:
            return None
        return StoredPage(row[0], None if row[1] is None else bytes(row[1]), json.loads(row[2]) if row[2] else None)

    def forget_body(self, key: str) -> None:
        """A stored body turned out unusable (gate page): fetch it again next time."""
        with self._lock:
            self._write("UPDATE frontier SET status=?, body=NULL, body_ref=NULL WHERE key=? AND status=?",
                        (PENDING, key, FETCHED))
            self._stored.discard(key)

    def done(self, key: str) -> None:
        self.done_many([key])

    def done_many(self, keys: list[str]) -> None:
        """Pages finished (a whole stored batch in one transaction); the body is no longer
        needed once the page's items are in the index."""
        sql = "UPDATE frontier SET status=?, body=NULL, body_ref=NULL, error=NULL WHERE key=?"
        with self._lock:
            self._stored.difference_update(keys)
            self._write(sql, [(DONE, key) for key in keys], many=True)

    def failed(self, key: str, error: str) -> None:
        with self._lock:
            self._write("UPDATE frontier SET status=?, error=? WHERE key=? AND status!=?", (FAILED, error[:500], key, DONE))
            self._stored.discard(key)

    def unfinished(self) -> Iterator[Entry]:
        rows = self._conn.execute(
            "SELECT key, kind, depth, status, meta FROM frontier WHERE status!=? ORDER BY seq", (DONE,)
        ).fetchall()
        for key, kind, depth, status, meta in rows:
            yield Entry(key, kind, depth, status, json.loads(meta))

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT status, COUNT(*) FROM frontier GROUP BY status").fetchall()
        return {status: n for status, n in rows}
