"""Switching a SQLite file to WAL mode when other processes may open it at the same moment."""
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
