"""SIGKILL during bulk indexing loses nothing and duplicates nothing on rerun."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import iter_snapshot_batches

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("kill_writer.py")
N, BATCH = 20_000, 500


def run_child(db: Path, kill_after_batches: int | None) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(db), str(N), str(BATCH)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if kill_after_batches is not None and len(seen) >= kill_after_batches:
                proc.send_signal(signal.SIGKILL)  # mid-stream: the next batch is already being written
                break
    finally:
        proc.wait(timeout=120)
    return seen


def table_state(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "integrity": q("PRAGMA integrity_check"),
            "listings": q("SELECT count(*) FROM listings"),
            "distinct_listings": q("SELECT count(DISTINCT listing_id) FROM listings"),
            "fts_rows": q("SELECT count(*) FROM listings_fts"),
            "snapshots": q("SELECT count(*) FROM snapshots"),
            "distinct_snapshots": q("SELECT count(DISTINCT listing_id || '@' || crawled_at) FROM snapshots"),
            "terms": q("SELECT count(*) FROM listing_terms"),
            "distinct_terms": q("SELECT count(*) FROM (SELECT DISTINCT rid, kind, value FROM listing_terms)"),
        }
    finally:
        conn.close()


def test_sigkill_mid_bulk_then_rerun(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    partial = run_child(db, kill_after_batches=12)
    assert "done" not in partial and len(partial) >= 12
    after_kill = table_state(db)
    assert after_kill["integrity"] == "ok"
    # whole batches only: the count is a multiple of the batch size, at least what was acknowledged
    assert after_kill["snapshots"] % BATCH == 0 and after_kill["snapshots"] >= 12 * BATCH  # type: ignore[operator]
    assert after_kill["snapshots"] < N

    assert run_child(db, kill_after_batches=None)[-1] == "done"
    state = table_state(db)
    expected_listings = sum(len(r.listings) for r in iter_snapshot_batches(N, batch=BATCH))
    assert state == {
        "integrity": "ok", "listings": expected_listings, "distinct_listings": expected_listings,
        "fts_rows": expected_listings, "snapshots": N, "distinct_snapshots": N,
        "terms": state["distinct_terms"], "distinct_terms": state["distinct_terms"],
    }
    # and the content equals an uninterrupted run
    clean = SqliteBackend(tmp_path / "clean.sqlite")
    for records in iter_snapshot_batches(N, batch=BATCH):
        clean.write(records)
    rerun = SqliteBackend(db)
    assert list(rerun.iter_listings()) == list(clean.iter_listings())
    assert list(rerun.iter_snapshots()) == list(clean.iter_snapshots())
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO listings_fts(listings_fts) VALUES ('integrity-check')")  # raises if FTS is corrupt
    conn.close()
