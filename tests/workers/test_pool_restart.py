"""The pool on its own (no crawl): a worker killed -9 while it holds unwritten jobs is replaced,
its jobs are handed to the new one, and every job ends committed and acked exactly once."""
from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from crawler.engine.workers import PoolHooks, WorkerPool
from tests.workers.conftest import card_job, pillhub_spec

JOBS = 12


def test_killed_worker_is_replaced_and_its_jobs_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    done: list[str] = []
    counters: dict[str, int] = {}

    def count(values: dict[str, int]) -> None:
        for name, value in values.items():
            counters[name] = counters.get(name, 0) + value

    # a batch is written only when full or at STOP: the worker holds every job when it is killed
    pool = WorkerPool(pillhub_spec(tmp_path, batch_size=1000, batch_seconds=3600), 1, PoolHooks(pages_done=done.extend, counters=count))
    pool.start()
    try:
        first = pool.pids[0]
        for number in range(JOBS):
            pool.submit(card_job(number))
        pool.poll()  # hands them out
        assert len(pool.slots[0].inflight) == JOBS
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while pool.restarts == 0:
            assert time.monotonic() < deadline
            pool.poll()
            time.sleep(0.02)
        assert pool.pids[0] != first
        assert len(pool.pending) + len(pool.slots[0].inflight) == JOBS  # handed out again, none lost
    finally:
        pool.close()
    assert sorted(done) == sorted(f"/product/{n}" for n in range(JOBS))
    assert counters["trawl/workers/restarts"] == 1
    assert counters["trawl/workers/jobs_handed_out_again"] == JOBS
    assert counters["trawl/workers/jobs"] == JOBS
    assert counters["trawl/listings/new"] == JOBS
    with sqlite3.connect(tmp_path / "index.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == JOBS
        assert conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == JOBS
