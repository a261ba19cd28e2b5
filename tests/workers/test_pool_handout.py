"""When the pool hands jobs out: in rounds while the crawl has requests waiting, at once in its
tail (PoolHooks.nothing_to_fetch), so the workers hold little when the last page is in."""
from __future__ import annotations

from pathlib import Path

import pytest

import crawler.engine.workers as workers
from crawler.engine.workers import PoolHooks, WorkerPool
from tests.workers.conftest import card_job, pillhub_spec


def test_a_job_waits_for_the_next_round_unless_nothing_is_left_to_fetch(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    monkeypatch.setattr(workers, "HANDOUT_SECONDS", float("inf"))  # the next round never comes by itself
    done: list[str] = []
    tail = [False]
    pool = WorkerPool(pillhub_spec(tmp_path), 1, PoolHooks(pages_done=done.extend, counters=lambda counters: None,
                                         nothing_to_fetch=lambda: tail[0]))
    pool.start()
    try:
        pool.submit(card_job(0))
        pool.poll()
        assert [job.key for job in pool.pending] == ["/product/0"]  # requests wait: the job waits for a round
        tail[0] = True
        pool.poll()
        assert not pool.pending and pool.slots[0].handed == 1  # nothing left to fetch: out now
        tail[0] = False
        pool.submit(card_job(1))
        pool.poll()
        assert [job.key for job in pool.pending] == ["/product/1"]
    finally:
        pool.close()
    assert sorted(done) == ["/product/0", "/product/1"]  # closing hands out the rest
