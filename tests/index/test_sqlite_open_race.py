"""Two processes opening the same new SQLite index at the same moment (processing workers, two
`trawl process` consumers, two scheduled crawls on a fresh home) both get it: the switch to
WAL mode waits for the other process instead of failing with "database is locked"."""
from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path
from typing import Any

ROUNDS = 12
REPO = str(Path(__file__).resolve().parents[2])


def _open_each(paths: list[str], barrier: Any, results: Any) -> None:
    sys.path.insert(0, REPO)
    from index.sqlite_schema import SCHEMA_VERSION, connect, migrate

    for path in paths:
        barrier.wait(timeout=60)  # both processes reach this file together
        try:
            conn = connect(path)
            version = migrate(conn)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            conn.close()
            results.put(("ok", version == SCHEMA_VERSION, mode))
        except Exception as exc:  # noqa: BLE001 - any failure is reported as the test's message
            results.put((f"{type(exc).__name__}: {exc}", False, ""))


def test_two_processes_open_a_new_index_together(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    paths = [str(tmp_path / f"index-{n}.sqlite") for n in range(ROUNDS)]
    processes = [context.Process(target=_open_each, args=(paths, barrier, results)) for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for process in processes:
        process.join(timeout=30)
    failures = [o for o in outcomes if o[0] != "ok"]
    assert not failures, failures[:3]
    assert all(current and mode == "wal" for _, current, mode in outcomes)
