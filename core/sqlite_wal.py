"""SQLite files several processes open and write at the same moment: switching one to WAL mode,
and starting a write transaction without SQLite's coarse busy waits."""
from __future__ import annotations

import sqlite3
import time


def enter_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """`PRAGMA journal_mode=WAL` on `conn`, waiting up to `timeout` seconds for other processes.

    SQLite answers "database is locked" to this switch at once, without the busy handler, while
    another connection holds a file that is not in WAL mode yet: two processes opening a new
    file together failed in 49 of 60 tries (tests/index/test_sqlite_open_race.py). A file
    already in WAL mode never waits here. Any other error is raised as it is.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            contended = "locked" in str(exc) or "busy" in str(exc)
            if not contended or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


# SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25... ms between tries, so a writer
# that finds another process's transaction open waits for the next step of that ladder, up to
# 10 ms and more after the lock was released: at a crawl's close two processes commit their
# last batches at the same moment, and the second commit took 12-24 ms instead of 3-6 (testbed).
# Writers meet at BEGIN IMMEDIATE; there the wait is ours, in short steps.
RETRY_FIRST = 0.0002
RETRY_MAX = 0.002


def begin_immediate(conn: sqlite3.Connection, timeout: float) -> None:
    """`BEGIN IMMEDIATE` on `conn` (autocommit mode), waiting up to `timeout` seconds for another
    connection's write transaction, tried again every 0.2-2 ms instead of by SQLite's busy
    handler.  The connection's busy timeout is `timeout` again afterwards; any error but
    "busy" is raised as it is."""
    conn.execute("PRAGMA busy_timeout=0")  # busy: an error at once, not SQLite's ladder
    try:
        deadline = time.monotonic() + timeout
        pause = RETRY_FIRST
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)
    finally:
        conn.execute(f"PRAGMA busy_timeout={round(timeout * 1000)}")


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (or one of its extended codes); Python before 3.11 gives only the message."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc) or "busy" in str(exc)
    return bool(code & 0xFF == 5)  # SQLITE_BUSY
