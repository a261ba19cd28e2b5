"""At a crawl's close the crawl process, idle by then, processes the later two thirds of the
jobs each worker has not started (GIVE_BACK), with a runner of its own: every job is still
committed exactly once, by one of them.  A real pool, a real worker process, a real index."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import crawler.engine.workers as workers
from crawler.engine.workers import PoolHooks, WorkerPool
from crawler.engine.workers_job import CPU_MS
from crawler.engine.workers_process import STOP, Inbox
from tests.workers.conftest import card_job, pillhub_spec, stored_listings

JOBS = 60


def _close_with_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, help_at_close: bool,
                     on_counters: Callable[[WorkerPool, dict[str, int]], None] | None = None,
                     ) -> tuple[WorkerPool, list[str], Counter[str]]:
    """Submit JOBS jobs and close the pool at once; `on_counters` sees each counter update."""
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    # every job goes out at close at once, so the worker holds many it has not started
    monkeypatch.setattr(workers, "CLOSING_QUEUE_DEPTH", 10**6)
    done: list[str] = []
    counters: Counter[str] = Counter()

    def count(update: dict[str, int]) -> None:
        counters.update(update)
        if on_counters is not None:
            on_counters(pool, update)

    pool = WorkerPool(pillhub_spec(tmp_path), 1, PoolHooks(pages_done=done.extend, counters=count),
                      help_at_close=help_at_close)
    pool.start()
    assert (pool.local is not None) == help_at_close  # loaded at start, beside the worker
    try:
        for number in range(JOBS):
            pool.submit(card_job(number))
    finally:
        pool.close()
    assert pool.local is None and not pool.returned and not pool.abandoned
    return pool, done, counters


def test_the_crawl_process_takes_two_thirds_of_what_the_worker_has_not_started(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _, done, counters = _close_with_jobs(tmp_path, monkeypatch, help_at_close=True)
    assert sorted(done) == sorted(f"/product/{n}" for n in range(JOBS))  # each page done once
    at_close = counters["trawl/workers/jobs_processed_at_close"]
    # the worker had started none or a few of the 60 when the request came: two thirds came back
    assert JOBS // 3 <= at_close <= 2 * JOBS // 3, at_close
    assert counters["trawl/workers/jobs"] == JOBS  # the runners' own count, both of them
    assert counters[CPU_MS] > 0  # the worker's CPU; the crawl process's is not added to it
    listings = stored_listings(tmp_path, "pillhub")
    assert sorted(listings) == sorted(f"pillhub:{n}" for n in range(JOBS))


def test_without_help_the_worker_processes_every_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, done, counters = _close_with_jobs(tmp_path, monkeypatch, help_at_close=False)
    assert sorted(done) == sorted(f"/product/{n}" for n in range(JOBS))
    assert counters["trawl/workers/jobs_processed_at_close"] == 0
    assert len(stored_listings(tmp_path, "pillhub")) == JOBS


def test_an_inbox_gives_back_its_later_two_thirds_never_past_a_stop() -> None:
    inbox = Inbox()
    jobs = [card_job(n) for n in range(7)]
    for job in jobs:
        inbox.put(job)
    assert inbox.give_back() == jobs[3:]  # 7 waiting: the last 4, in order
    assert inbox.qsize() == 3 and inbox.get() is jobs[0]
    inbox.put(STOP)
    inbox.put(jobs[5])
    assert inbox.give_back() == []  # one job after the STOP: two thirds of one is none
    assert [inbox.get(timeout=0) for _ in range(inbox.qsize())] == [jobs[1], jobs[2], STOP, jobs[5]]


def test_kill_9_of_the_worker_while_the_crawl_process_helps_loses_nothing(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker dies once it has given jobs back: the crawl process still commits those, a new
    worker takes what the dead one held (its unwritten batch is written again), nothing is lost."""
    import os
    import signal

    killed: list[int] = []

    def kill_once(pool: WorkerPool, update: dict[str, int]) -> None:
        if "trawl/workers/jobs_processed_at_close" in update and not killed:
            killed.append(pool.slots[0].process.pid)  # mid-way through the jobs given back
            os.kill(killed[0], signal.SIGKILL)

    pool, done, counters = _close_with_jobs(tmp_path, monkeypatch, help_at_close=True, on_counters=kill_once)
    assert killed and pool.restarts == 1 and pool.slots[0].process.pid != killed[0]
    assert set(done) == {f"/product/{n}" for n in range(JOBS)}
    assert counters["trawl/workers/jobs_processed_at_close"] >= JOBS // 3
    assert sorted(stored_listings(tmp_path, "pillhub")) == sorted(f"pillhub:{n}" for n in range(JOBS))
