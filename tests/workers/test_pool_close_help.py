"""At a crawl's close the crawl process, idle by then, keeps its share of the jobs no worker has
started (those not handed out yet, and the later ones each worker gives back: GIVE_BACK) and
processes them with a runner of its own: every job is still committed exactly once, by one of
them.  A real pool, a real worker process, a real index."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import crawler.engine.workers as workers
from crawler.engine.workers import PoolHooks, WorkerPool
from crawler.engine.workers_job import CPU_MS
from crawler.engine.workers_process import RECORDS_PER_JOB, STOP, Inbox
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


def test_the_crawl_process_takes_about_half_of_what_no_worker_has_started(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _, done, counters = _close_with_jobs(tmp_path, monkeypatch, help_at_close=True)
    assert sorted(done) == sorted(f"/product/{n}" for n in range(JOBS))  # each page done once
    at_close = counters["trawl/workers/jobs_processed_at_close"]
    # none of the 60 was handed out when the pool closed: the crawl process kept its half and
    # handed the worker the other (the worker may have given back a few of those)
    assert JOBS // 2 <= at_close <= 2 * JOBS // 3, at_close
    assert counters["trawl/workers/jobs"] == JOBS  # the runners' own count, both of them
    assert counters[CPU_MS] > 0  # the worker's CPU; the crawl process's is not added to it
    listings = stored_listings(tmp_path, "pillhub")
    assert sorted(listings) == sorted(f"pillhub:{n}" for n in range(JOBS))


def test_without_help_the_worker_processes_every_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, done, counters = _close_with_jobs(tmp_path, monkeypatch, help_at_close=False)
    assert sorted(done) == sorted(f"/product/{n}" for n in range(JOBS))
    assert counters["trawl/workers/jobs_processed_at_close"] == 0
    assert len(stored_listings(tmp_path, "pillhub")) == JOBS


def test_an_inbox_gives_back_its_later_share_never_past_a_stop() -> None:
    inbox = Inbox()
    jobs = [card_job(n) for n in range(7)]
    for job in jobs:
        inbox.put(job)
    # 7 waiting, the crawl process keeps 1, one worker: (7 - 1) // 2 = 3 come back, the last ones
    assert inbox.give_back(kept=1, parts=2) == jobs[4:]
    assert inbox.qsize() == 4 and inbox.get() is jobs[0]
    # the batch the worker has still to write counts as jobs it has to do
    assert inbox.give_back(kept=0, parts=2, unwritten=2 * RECORDS_PER_JOB) == jobs[2:4]
    assert inbox.give_back(kept=5, parts=2) == []  # the crawl process keeps more than the worker holds
    inbox.put(STOP)
    inbox.put(jobs[5])
    # only what follows a STOP can come back, however much the worker has to write
    assert inbox.give_back(kept=0, parts=2, unwritten=10 * RECORDS_PER_JOB) == [jobs[5]]
    assert [inbox.get(timeout=0) for _ in range(inbox.qsize())] == [jobs[1], STOP]


def test_help_at_close_keeps_the_jobs_not_handed_out_and_asks_at_once(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs not handed out when the pool closes are not sent through a barrier first: with the
    worker holding none, the crawl process keeps its half of them and hands out the rest."""
    barriers: list[str] = []
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    done: list[str] = []
    counters: Counter[str] = Counter()
    hooks = PoolHooks(pages_done=done.extend, counters=counters.update,
                      before_handout=lambda: barriers.append("sync"))
    pool = WorkerPool(pillhub_spec(tmp_path), 1, hooks, help_at_close=True)
    pool.start()
    try:
        for number in range(10):
            pool.submit(card_job(number))
        assert len(pool.pending) == 10 and not pool.slots[0].inflight  # no poll yet: none handed out
    finally:
        pool.close()
    assert counters["trawl/workers/jobs_processed_at_close"] >= 5
    assert sorted(done) == sorted(f"/product/{n}" for n in range(10))
    # one barrier for the five handed out, one before the crawl process's own commit
    assert barriers == ["sync", "sync"]
    assert sorted(stored_listings(tmp_path, "pillhub")) == sorted(f"pillhub:{n}" for n in range(10))


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


def test_a_worker_writes_its_open_batch_when_asked_to_give_back(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A real worker process, spoken to over its pipes as the pool does: at GIVE_BACK it answers,
    then writes the batch it holds before its next job, not at the STOP (where the crawl
    process's own commit would meet it)."""
    import multiprocessing

    from crawler.engine.workers_job import Ack
    from crawler.engine.workers_process import GIVE_BACK, READY, RETURNED, worker_main

    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))
    context = multiprocessing.get_context("spawn")
    job_recv, job_send = context.Pipe(duplex=False)
    result_recv, result_send = context.Pipe(duplex=False)
    spec = pillhub_spec(tmp_path, batch_size=1000, batch_seconds=600.0)  # no batch is full or old
    process = context.Process(target=worker_main, args=(spec, job_recv, result_send), daemon=True)
    process.start()
    job_recv.close()
    result_send.close()
    try:
        assert result_recv.poll(120) and result_recv.recv() == READY
        jobs = [card_job(n) for n in range(4)]
        for seq, job in enumerate(jobs, 1):
            job.seq = seq
        job_send.send(jobs)
        processed = 0
        while processed < len(jobs):  # it reports its count after each job while its queue is short
            assert result_recv.poll(60), "the worker reported nothing"
            message = result_recv.recv()
            assert not isinstance(message, Ack), "a batch written before it was asked"
            processed = message if isinstance(message, int) else processed
        job_send.send((GIVE_BACK, 0, 2))
        answers = []
        while not any(isinstance(m, Ack) for m in answers):
            assert result_recv.poll(60), f"no ack after GIVE_BACK (got {answers})"
            answers.append(result_recv.recv())
        assert answers[0] == (RETURNED, [])  # nothing unstarted to give back
        ack = next(m for m in answers if isinstance(m, Ack))
        assert sorted(ack.seqs) == [1, 2, 3, 4]  # the open batch, committed without a STOP
        assert sorted(stored_listings(tmp_path, "pillhub")) == sorted(f"pillhub:{n}" for n in range(4))
        job_send.send(STOP)
        process.join(timeout=60)
        assert process.exitcode == 0
    finally:
        if process.is_alive():
            process.kill()
