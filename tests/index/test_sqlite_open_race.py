"""Two processes opening the same new SQLite file at the same moment (processing workers on a
new index, two crawls ending together on a new home, two schedulers) both get it: the switch
to WAL mode (core.sqlite_wal.enter_wal) waits for the other process instead of failing with
"database is locked"."""
from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROUNDS = 12
REPO = str(Path(__file__).resolve().parents[2])


def _open(kind: str, path: str) -> tuple[bool, str]:
    """Open the file as the product does; (schema ready, journal mode)."""
    if kind == "index":
        from index.sqlite_schema import SCHEMA_VERSION, connect, migrate

        conn = connect(path)
        current = migrate(conn) == SCHEMA_VERSION
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.close()
        return current, mode
    from crawler.engine.markets import connect as registry  # the lifecycle registry in $TRAWL_HOME

    os.environ["TRAWL_HOME"] = path
    with registry(write=True) as db:
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        return tables > 0, db.execute("PRAGMA journal_mode").fetchone()[0]


def _open_each(kind: str, paths: list[str], barrier: Any, results: Any) -> None:
    sys.path.insert(0, REPO)
    for path in paths:
        barrier.wait(timeout=60)  # both processes reach this file together
        try:
            results.put(("ok", *_open(kind, path)))
        except Exception as exc:  # noqa: BLE001 - any failure is reported as the test's message
            results.put((f"{type(exc).__name__}: {exc}", False, ""))


@pytest.mark.parametrize("kind", ["index", "registry"])
def test_two_processes_open_a_new_file_together(tmp_path: Path, kind: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    paths = [str(tmp_path / f"{kind}-{n}.sqlite") if kind == "index" else str(tmp_path / f"home-{n}")
             for n in range(ROUNDS)]
    processes = [context.Process(target=_open_each, args=(kind, paths, barrier, results)) for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for process in processes:
        process.join(timeout=30)
    failures = [o for o in outcomes if o[0] != "ok"]
    assert not failures, failures[:3]
    assert all(current and mode == "wal" for _, current, mode in outcomes)
