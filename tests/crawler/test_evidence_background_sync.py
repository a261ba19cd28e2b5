"""The evidence barrier with its fsyncs on a thread: manifest lines reach the disk in chain
order and only once their WARC bytes were synced; a round of jobs goes out only after its
barrier, and a failed barrier puts the round back first in line."""
from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from crawler.engine.workers import Barrier, PoolHooks, Slot, WorkerPool
from crawler.engine.workers_job import PageJob, WorkerSpec
from crawler.evidence.verify import verify_run
from tests.crawler.evidence_util import exchange, writer_for


def _seqs_on_disk(run_dir: Path) -> list[int]:
    """The seqs of the manifest's complete lines: a later sync may be writing its lines on its
    thread while this reads, and a line it has half written is not on disk yet."""
    data = (run_dir / "manifest.jsonl").read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line)["seq"] for line in complete.splitlines()]


@pytest.mark.parametrize("max_bytes", [100 * 2**20, 1500], ids=["one-warc", "rotating"])
def test_background_syncs_write_the_lines_they_took_in_chain_order(tmp_path: Path, max_bytes: int) -> None:
    writer = writer_for(tmp_path, "run-bg", max_bytes=max_bytes)
    writer.sync_interval = 3600.0  # only the calls below sync
    assert writer.sync_in_background() is None  # nothing pending
    for i in range(3):
        exchange(writer, f"http://shop.example/p/{i}", b"<h1>page</h1>" * 40)
    first, taken = writer.sync_in_background(), writer.seq
    for i in range(3, 5):  # chained after the call: not that sync's lines
        exchange(writer, f"http://shop.example/p/{i}", b"<h1>page</h1>" * 40)
    second, taken_later = writer.sync_in_background(), writer.seq
    assert first is not None and second is not None and taken_later > taken
    first.result(timeout=30)
    assert _seqs_on_disk(writer.run_dir)[:taken] == list(range(taken))
    second.result(timeout=30)
    assert _seqs_on_disk(writer.run_dir) == list(range(taken_later))
    exchange(writer, "http://shop.example/p/5", b"<h1>last</h1>")
    assert writer.sync_in_background() is not second  # a new sync for the new lines
    writer.sync()  # waits for it, then has nothing left to write
    assert _seqs_on_disk(writer.run_dir) == list(range(writer.seq))
    writer.close()
    if max_bytes < 2**20:
        assert len(list((writer.run_dir / "warc").iterdir())) > 1
    report = verify_run(writer.run_dir, home=tmp_path, check_index=False)
    assert report.ok, report


def _pool_with_one_live_slot(hooks: PoolHooks) -> tuple[WorkerPool, Any, Any]:
    """A pool whose one slot is a live process that takes nothing (the pipe is ours to read)."""
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=time.sleep, args=(60,), daemon=True)
    process.start()
    receive, send = context.Pipe(duplex=False)
    pool = WorkerPool(WorkerSpec("site", "", "run", "2026-01-01T00:00:00Z", ""), 1, hooks)
    pool.slots = [Slot(0, process, send, receive)]
    return pool, process, receive


def test_a_round_goes_out_after_its_barrier_and_comes_back_when_it_fails() -> None:
    counters: dict[str, int] = {}
    futures: list[Future[None]] = []

    def start_barrier() -> Barrier:
        futures.append(Future())
        return Barrier([futures[-1]], notify=lambda callback: callback())

    hooks = PoolHooks(pages_done=lambda keys: None,
                      counters=lambda c: counters.update({k: counters.get(k, 0) + v for k, v in c.items()}),
                      start_barrier=start_barrier)
    pool, process, receive = _pool_with_one_live_slot(hooks)
    try:
        for n in range(3):
            pool.submit(PageJob(key=f"k{n}", kind="listing"))
        assert len(futures) == 1 and not receive.poll(0.2)  # assigned, held until the sync is done
        futures[0].set_exception(OSError("No space left on device"))
        assert counters.get("trawl/workers/barrier_failures") == 1
        assert [job.key for job in pool.pending] == ["k0", "k1", "k2"] and not pool.slots[0].inflight
        assert not receive.poll(0.2)

        pool._handed_out_at = 0.0  # the next round now, not after the hand-out interval
        pool.poll()  # a new round, a new barrier
        assert len(futures) == 2 and not receive.poll(0.2)
        futures[1].set_result(None)
        assert [job.key for job in receive.recv()] == ["k0", "k1", "k2"]
        assert sorted(pool.slots[0].inflight) == [1, 2, 3] and not pool.pending
    finally:
        process.kill()
        process.join(10)


def test_the_sync_interval_runs_from_the_first_record_not_from_start_up(tmp_path: Path) -> None:
    """A crawl opens its writer a second or more before its first response: that first record
    is not synced at once (two fsyncs on the reactor) but within the interval, like any other."""
    writer = writer_for(tmp_path, "run-first")
    writer.sync_interval = 0.2
    time.sleep(0.3)  # start-up longer than the interval
    exchange(writer, "http://shop.example/p/0", b"<h1>page</h1>")
    assert writer.pending == 3  # warcinfo, request, response: not synced yet
    time.sleep(0.25)
    exchange(writer, "http://shop.example/p/1", b"<h1>page</h1>")
    assert writer.pending == 0  # the interval passed since the first record: synced
    assert _seqs_on_disk(writer.run_dir) == list(range(writer.seq))
    writer.close()
