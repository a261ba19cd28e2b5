"""Two processes writing the same SQLite index (processing workers, the crawl process at close):
`core.sqlite_wal.begin_immediate` waits for the other process's write transaction in short
steps instead of SQLite's busy handler, and behaves as BEGIN IMMEDIATE otherwise.  A real
second process holds the lock; no timing is asserted."""
from __future__ import annotations

import multiprocessing
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from core.sqlite_wal import begin_immediate
from index.sqlite_schema import BUSY_TIMEOUT, connect, migrate

REPO = str(Path(__file__).resolve().parents[2])


def _hold_write_lock(path: str, locked: Any, release: Any) -> None:
    """Another process: open a write transaction, say so, keep it until told, then commit."""
    sys.path.insert(0, REPO)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO runs_seen VALUES ('held')")
    locked.set()
    release.wait(timeout=60)
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture
def index_file(tmp_path: Path) -> str:
    path = str(tmp_path / "index.sqlite")
    conn = connect(path)
    migrate(conn)
    conn.execute("CREATE TABLE runs_seen (name TEXT)")
    conn.close()
    return path


def _holder(path: str) -> tuple[Any, Any, Any]:
    context = multiprocessing.get_context("spawn")
    locked, release = context.Event(), context.Event()
    process = context.Process(target=_hold_write_lock, args=(path, locked, release), daemon=True)
    process.start()
    assert locked.wait(timeout=60), "the holding process did not start"
    return process, locked, release


def test_waits_for_the_other_process_and_then_writes(index_file: str) -> None:
    process, _, release = _holder(index_file)
    conn = connect(index_file)
    try:
        # the holder lets go only once we are waiting (a timer in this process)
        import threading

        threading.Timer(0.05, release.set).start()
        begin_immediate(conn, BUSY_TIMEOUT)
        conn.execute("INSERT INTO runs_seen VALUES ('ours')")
        conn.execute("COMMIT")
        names = sorted(row[0] for row in conn.execute("SELECT name FROM runs_seen"))
        assert names == ["held", "ours"]  # the other transaction committed first, then ours
        # the connection waits for other statements as before
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == round(BUSY_TIMEOUT * 1000)
    finally:
        release.set()
        process.join(timeout=30)
        conn.close()


def test_gives_up_after_its_timeout_with_sqlites_error(index_file: str) -> None:
    process, _, release = _holder(index_file)
    conn = connect(index_file)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            begin_immediate(conn, 0.05)
        assert not conn.in_transaction
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 50  # restored, as asked
    finally:
        release.set()
        process.join(timeout=30)
        conn.close()


def test_without_another_writer_it_is_begin_immediate(index_file: str) -> None:
    conn = connect(index_file)
    try:
        begin_immediate(conn, BUSY_TIMEOUT)
        assert conn.in_transaction
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
            begin_immediate(conn, BUSY_TIMEOUT)  # not "busy": raised at once, as it is
    finally:
        conn.close()
