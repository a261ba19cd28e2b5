"""Page processing beside the crawl loop: a pool of worker processes fed with evidence references.

With `--workers N` (N > 0) the spider still fetches, writes evidence, passes gates, logs in
and follows links (and reads a grid page's cards, which `follow_listings` needs), but for a
listing or vendor page it yields a `PageJob` (crawler.engine.workers_job) instead of
extracting it; the item pipeline hands jobs to this pool.  A worker reads the page back from
the run's WARC, extracts it with the site's page objects, and parses, enriches and stores it
with its own index connection.

Nothing is lost when a worker dies (kill -9 included):
- a job is numbered and kept in the crawl process until the worker that took it acks the
  write that committed it; only then is its frontier key marked done.  A crawl killed with
  jobs in flight leaves those pages not done, and `--resume` takes them again;
- a worker that dies is started again (within the run) and the jobs it held are handed out
  again (at most `MAX_ATTEMPTS` times: a page that kills every worker is left for resume);
- the evidence barrier runs before any job is handed out: the WARC record and its manifest
  line are on disk before a worker reads them or the index cites them.  In a crawl its
  fsyncs run on a thread (`Barrier`): a round of jobs is assigned, then sent once they are
  done, while the reactor goes on fetching.

Each worker has its own pair of pipes (no shared queue: a process killed while holding a
shared queue's lock would wedge every other worker).  Workers are started with `spawn`:
the crawl process runs a Twisted reactor and threads, which must not be forked.

Backpressure: when more than `max_backlog` jobs wait or are in flight, the Scrapy engine is
paused (no new requests are scheduled; downloads already running finish) and unpaused once
the backlog is half as long.  Results are collected by a reactor timer (`POLL_SECONDS`).
"""
from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import deque
from typing import Any

from crawler.engine.workers_job import CPU_MS, Ack, JobRunner, PageJob, WorkerSpec
from crawler.engine.workers_process import GIVE_BACK, QUEUE_DEPTH, RETURNED, STOP, worker_main
from crawler.engine.workers_slots import Barrier, PoolHooks, Slot

__all__ = ["POLL_SECONDS", "Barrier", "PoolHooks", "Slot", "WorkerPool"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# jobs go out in rounds, each after one evidence barrier (an fsync of the WARC and the
# manifest, on a thread during the crawl): at most every HANDOUT_SECONDS, on a submit or a
# poll, one round at a time through the barrier.  Longer rounds (0.25 s) left the worker
# idle while the crawl fetched and processed most pages after the last fetch (bench/crawl.py:
# 79 -> 94 pages/s with one worker); rounds every 10 or 50 ms measured slower than 25.
# Except in the crawl's tail (PoolHooks.nothing_to_fetch: no request waits): there a job goes
# out at once, since what a worker still holds when the last page is in is the time the crawl
# waits at close (a 34-page crawl waited ~35 ms for ~14 jobs and the last batch; every job at
# once cut that to ~20 ms but cost the crawl process ~0.2 ms a page in barriers and sends;
# bench A/B over 12 rounds: 214.8 -> 230.7 pages/s, crawl process 3.64 -> 3.40 ms/page).
HANDOUT_SECONDS = POLL_SECONDS / 2
MAX_ATTEMPTS = 3  # a job whose worker died this often is left for --resume
START_TIMEOUT = 600.0  # a loaded machine imports and loads the reference lists slowly
# Jobs a worker holds but has not processed yet (it reports how many it has processed, see
# crawler.engine.workers_process): at most QUEUE_DEPTH while the crawl runs,
# CLOSING_QUEUE_DEPTH once it hands out its last jobs (polled as acks come then).  Handing
# everything out at once split the last jobs evenly by count, not by work: on reprocess one
# worker finished 150-180 ms before the other.
CLOSING_QUEUE_DEPTH = 6


def _close_quietly(runner: JobRunner) -> None:
    try:
        runner.close(tidy=False)  # the workers' connections refresh the statistics
    except Exception:  # everything it wrote is committed: closing is upkeep
        logger.exception("closing the crawl process's processing runner failed")


# --- the crawl side ----------------------------------------------------------------------
class WorkerPool:
    """N worker processes; see the module doc."""

    def __init__(self, spec: WorkerSpec, size: int, hooks: PoolHooks, *, per_worker: int = 0,
                 max_backlog: int = 0, start_method: str = "spawn", help_at_close: bool = False) -> None:
        self.spec, self.size, self.hooks = spec, max(1, size), hooks
        # a worker acks once per written batch: two batches in flight, so it never waits for
        # the crawl's next round while its last batch is being acknowledged
        self.per_worker = per_worker or 2 * max(8, spec.batch_size)
        self.max_backlog = max_backlog or 2 * self.size * self.per_worker
        self.context: Any = multiprocessing.get_context(start_method)
        self.pending: deque[PageJob] = deque()
        self.slots: list[Slot] = []
        self.seq = 0
        self.paused = False
        self.restarts = 0
        self.abandoned: list[PageJob] = []
        self.closing = False
        self._handed_out_at = 0.0
        self._round: tuple[Barrier, dict[int, list[PageJob]]] | None = None  # assigned, not sent yet
        self.closed = False
        # help at close: the crawl process, idle once the last page is in, processes the later
        # two thirds of what each worker has not started (GIVE_BACK) with a runner of its own
        self.help_at_close = help_at_close
        self.local: JobRunner | None = None
        self.returned: deque[PageJob] = deque()

    # the pool's own counters (besides those the workers send)
    def _count(self, name: str, n: int = 1) -> None:
        self.hooks.counters({f"trawl/workers/{name}": n})

    def start(self, wait: bool = True) -> None:
        """Start the workers; with `wait`, return once each has loaded its lists and opened the
        index (as the in-process pipeline does before the first request), or raise if one died."""
        from core.errors import TrawlError

        self.slots = [self._spawn(number) for number in range(self.size)]
        if self.help_at_close:
            try:  # loads the lists while the workers load theirs
                self.local = JobRunner(self.spec)
            except Exception:
                self.close(timeout=5)
                raise
        deadline = time.monotonic() + START_TIMEOUT
        while wait and not all(slot.ready for slot in self.slots):
            for slot in self.slots:
                self._collect(slot)
                if not slot.ready and not slot.process.is_alive():
                    self.close(timeout=5)
                    raise TrawlError(f"processing worker {slot.number} could not start (exit "
                                     f"{slot.process.exitcode}; its error is above; --workers 0 processes in-process)")
            if time.monotonic() > deadline:
                self.close(timeout=5)
                raise TrawlError(f"processing workers not ready after {START_TIMEOUT:.0f}s")
            time.sleep(POLL_SECONDS / 5)

    def _spawn(self, number: int) -> Slot:
        from core.process import spawn_with_pipes

        process, job_send, result_recv = spawn_with_pipes(self.context, worker_main, self.spec, f"trawl-worker-{number}")
        return Slot(number, process, job_send, result_recv)

    @property
    def pids(self) -> list[int]:
        return [slot.process.pid for slot in self.slots]

    @property
    def backlog(self) -> int:
        return len(self.pending) + len(self.returned) + sum(len(slot.inflight) for slot in self.slots)

    def submit(self, job: PageJob) -> None:
        """Record a job (it is handed out on the next poll, after the evidence barrier)."""
        self.seq += 1
        job.seq = self.seq
        self.pending.append(job)
        self._count("submitted")
        if not self.paused and self.backlog >= self.max_backlog:
            self.paused = True
            self._count("backpressure_pauses")
            self.hooks.pause(True)
        if self.hooks.start_barrier is not None:
            self._hand_out()  # a barrier that does not block: no need to wait for the next poll

    def poll(self) -> None:
        """Collect acks, restart dead workers, hand out waiting jobs, lift backpressure."""
        self._finish_round()
        for slot in self.slots:
            self._collect(slot)
        for index, slot in enumerate(self.slots):
            if not slot.process.is_alive():
                self._collect(slot)  # an ack it sent before it died still counts
                if slot.inflight or not self.closing:  # (closing: a worker that finished is done)
                    self.slots[index] = self._replace(slot)
        self._hand_out()
        if self.paused and self.backlog <= self.max_backlog // 2:
            self.paused = False
            self.hooks.pause(False)

    def _collect(self, slot: Slot) -> None:
        try:
            while slot.results.poll():
                ack: Ack | str | int = slot.results.recv()
                if isinstance(ack, str):  # READY
                    slot.ready = True
                    continue
                if isinstance(ack, int):  # how many jobs it has processed
                    slot.processed = ack
                    continue
                if isinstance(ack, tuple) and ack[0] == RETURNED:  # given back at close: ours now
                    slot.given_back = True
                    for seq in ack[1]:
                        job = slot.inflight.pop(seq, None)
                        if job is not None:
                            slot.handed -= 1
                            self.returned.append(job)
                    continue
                for seq in ack.seqs:
                    slot.inflight.pop(seq, None)
                self._apply(ack)
        except (EOFError, OSError):
            pass  # died: poll() sees it and restarts it

    def _apply(self, ack: Ack) -> None:
        if ack.keys:
            self.hooks.pages_done(ack.keys)
        if ack.pages_read:
            self.hooks.pages_read(ack.pages_read)
        self.hooks.counters(ack.counters)

    def _process_returned(self) -> None:
        """Process the jobs kept or given back at close, here (committed once every worker has
        answered: `_close_local_when_done`)."""
        if self.local is None:  # (defensive: the runner closes only once nothing can come back)
            self.pending.extendleft(reversed(self.returned))
            self.returned.clear()
            return
        while self.returned:
            job = self.returned.popleft()
            try:
                self.local.run(job)
            except Exception:  # a job a worker would have died on: left for --resume, as there
                logger.exception("page %s: processing it in the crawl process at close failed; "
                                 "left unfinished for --resume", job.key)
                self.abandoned.append(job)
                self._count("jobs_abandoned")
                continue
            self._count("jobs_processed_at_close")

    def _close_local_when_done(self) -> None:
        """Once no worker can give jobs back (each has answered GIVE_BACK, or is dead holding
        none: a dead one holding jobs may still have its answer in the pipe, and is replaced
        and asked again), the runner commits what it processed (one batch, after the evidence
        barrier: it may hold jobs no worker was handed) and its index connection closes,
        before the workers close theirs, so the last to close (a worker, after its last ack,
        off the crawl's clock) checkpoints SQLite's WAL and refreshes its statistics."""
        if self.local is not None and not self.returned and all(
                slot.given_back or (not slot.process.is_alive() and not slot.inflight) for slot in self.slots):
            if len(self.local):
                self.hooks.before_handout()  # (started at close: by now mostly done)
                ack = self.local.flush()
                if ack is not None:
                    ack.counters.pop(CPU_MS, None)  # the crawl process's CPU: counted as the crawl's own
                    self._apply(ack)
            runner, self.local = self.local, None
            # the last connection to close checkpoints SQLite's WAL (3-5 ms on a testbed crawl);
            # when the workers closed theirs first that would be this one, on the crawl's clock
            threading.Thread(target=_close_quietly, args=(runner,), name="trawl-close-local-runner").start()

    def _keep_at_close(self) -> None:
        """Help at close: the crawl process keeps its share of the jobs no worker has started
        (the ones not handed out yet, the later ones first), hands any beyond it out, and asks
        each worker for its part of the rest (GIVE_BACK), so each ends with about as many.

        It asks at once: the jobs it keeps need no evidence barrier before the asking (one is
        started here, and awaited before the runner commits), and a round still waiting for
        its barrier is taken back.  Asking only after the last jobs were handed out, through
        a barrier, reached the worker 10-40 ms late on a testbed site."""
        if self._round is not None:
            _, rounds = self._round
            self._round = None
            self._take_back(rounds)
        live = [slot for slot in self.slots if not slot.stopped and slot.process.is_alive()]
        if live:
            unstarted = len(self.pending) + sum(max(0, slot.queued) for slot in live)
            beyond = len(self.pending) - unstarted // (len(live) + 1)
            if beyond > 0:
                self.hooks.before_handout()
                handed: dict[int, list[PageJob]] = {}
                for _ in range(beyond):
                    self._assign_next(live, handed)
                self._send(handed)
        self.returned.extend(self.pending)
        self.pending.clear()
        if self.returned and self.hooks.start_barrier is not None:
            self.hooks.start_barrier()  # their evidence's fsyncs, while the runner processes them

    def _replace(self, dead: Slot) -> Slot:
        code = dead.process.exitcode
        logger.warning("processing worker %d (pid %s) died (exit %s); restarting it, %d job(s) handed out again",
                       dead.number, dead.process.pid, code, len(dead.inflight))
        self.restarts += 1
        self._count("restarts")
        for conn in (dead.jobs, dead.results):
            conn.close()
        for job in sorted(dead.inflight.values(), key=lambda j: j.seq, reverse=True):
            job.attempts += 1
            if job.attempts >= MAX_ATTEMPTS:
                self.abandoned.append(job)
                self._count("jobs_abandoned")
                logger.error("page %s: %d workers died on it; left unfinished for --resume", job.key, job.attempts)
                continue
            self.pending.appendleft(job)
            self._count("jobs_handed_out_again")
        return self._spawn(dead.number)

    def _hand_out(self) -> None:
        if not self.pending or self.closed or self._round is not None:
            return
        if self.closing and self.local is not None:
            return  # helping at close: what is not handed out is the crawl process's (_keep_at_close)
        now = time.monotonic()
        if (not self.closing and len(self.pending) < self.per_worker // 2 and now - self._handed_out_at < HANDOUT_SECONDS
                and not self.hooks.nothing_to_fetch()):
            return
        depth = CLOSING_QUEUE_DEPTH if self.closing else QUEUE_DEPTH
        open_slots = [s for s in self.slots if not s.stopped and s.process.is_alive()]

        def takers() -> list[Slot]:
            return [s for s in open_slots if s.queued < depth and len(s.inflight) < self.per_worker]

        if not takers():
            return  # every worker has enough to do (no barrier needed yet)
        self._handed_out_at = now
        start_barrier = None if self.closing else self.hooks.start_barrier
        if start_barrier is None:
            self.hooks.before_handout()  # evidence on disk before a worker reads it or the index cites it
        # one message per worker and round (a list of jobs), not one per job
        rounds: dict[int, list[PageJob]] = {}
        while self.pending and (ready := takers()):
            self._assign_next(ready, rounds)
        if start_barrier is None:
            self._send(rounds)
            return
        try:
            barrier = start_barrier()
        except Exception:
            self._take_back(rounds)
            raise
        self._round = (barrier, rounds)
        barrier.on_done(self._round_ready)

    def _assign_next(self, slots: list[Slot], rounds: dict[int, list[PageJob]]) -> None:
        """The next waiting job to the emptiest of `slots`, into its list in `rounds` (sent later)."""
        slot = min(slots, key=lambda s: s.queued)
        job = self.pending.popleft()
        slot.inflight[job.seq] = job
        slot.handed += 1
        rounds.setdefault(slot.number, []).append(job)

    def _round_ready(self) -> None:
        """A round's barrier is done (called in the pool's thread): send it, hand out more."""
        try:
            self._finish_round()
            self._hand_out()
        except Exception:  # logged; the jobs wait in `pending` for the next round's barrier
            logger.exception("processing workers: evidence barrier failed")
            self._count("barrier_failures")

    def _finish_round(self, wait: bool = False) -> None:
        """Send the round whose barrier is done (with `wait`, once it is); a failed barrier
        puts its jobs back, first in line, and raises."""
        if self._round is None:
            return
        barrier, rounds = self._round
        if not wait and not barrier.done():
            return
        self._round = None
        try:
            barrier.wait()
        except Exception:
            self._take_back(rounds)
            raise
        self._send(rounds)

    def _send(self, rounds: dict[int, list[PageJob]]) -> None:
        for slot in self.slots:
            # a worker replaced meanwhile had its jobs put back in `pending`: not sent twice
            jobs = [job for job in rounds.get(slot.number, ()) if job.seq in slot.inflight]
            if jobs:
                try:
                    slot.jobs.send(jobs)
                except (OSError, ValueError):
                    pass  # dead: the next poll restarts it and hands its jobs out again

    def _take_back(self, rounds: dict[int, list[PageJob]]) -> None:
        taken = []
        for slot in self.slots:
            for job in rounds.get(slot.number, ()):
                if slot.inflight.pop(job.seq, None) is not None:
                    slot.handed -= 1
                    taken.append(job)
        self.pending.extendleft(sorted(taken, key=lambda job: job.seq, reverse=True))

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every job is committed (restarting dead workers); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.backlog:
            self.poll()
            if not self.backlog:
                break
            if deadline is not None and time.monotonic() > deadline:
                return False
            self._wait_for_acks(POLL_SECONDS / 5)
        return True

    def _wait_for_acks(self, timeout: float) -> None:
        """Sleep until a worker holding jobs sends something (or dies), at most `timeout`: the
        last ack of a crawl is taken when it comes, not up to 10 ms later."""
        from multiprocessing.connection import wait as wait_for

        ends = [slot.results for slot in self.slots if slot.inflight and not slot.results.closed]
        if ends:
            wait_for(ends, timeout)
        else:
            time.sleep(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Hand out every waiting job, then STOP each worker (it writes what it holds, acks and
        exits); a worker that dies meanwhile is replaced and its jobs handed out again."""
        if self.closed:
            return
        self.closing = True
        self.per_worker = 2**31  # the last jobs all go out; STOP follows them down each pipe
        try:
            if self.local is not None:
                self._keep_at_close()
            else:
                self._finish_round(wait=True)  # (the reactor is ours now: its notice cannot come)
            while True:
                self.poll()
                if self.local is not None:  # a dead worker's jobs, put back: ours too
                    self.returned.extend(self.pending)
                    self.pending.clear()
                for slot in self.slots:
                    if not slot.stopped and slot.process.is_alive() and not self.pending:
                        slot.stopped = True
                        try:
                            if self.local is not None:  # answered before the STOP is read
                                slot.jobs.send((GIVE_BACK, len(self.returned), len(self.slots) + 1))
                            slot.jobs.send(STOP)
                        except (OSError, ValueError):
                            pass  # died: the next poll replaces it if it held jobs
                if self.returned:
                    self._process_returned()
                self._close_local_when_done()
                # every job acked, the crawl process's own committed: done (the workers' own exit
                # is not waited for, see below)
                if self.local is None and not self.pending and not self.returned and all(
                        (s.stopped or not s.process.is_alive()) and not s.inflight for s in self.slots):
                    break
                self._wait_for_acks(POLL_SECONDS / 5)
        finally:
            self.closed = True
            if self.local is not None:  # not closed early: an error, or a worker that never answered
                self.local.close()
                self.local = None
            # a worker that acked everything is only tearing down its interpreter (~1 s with the
            # lists loaded): not on the crawl's clock, not waited for (a wait of 50 ms per
            # worker was a third of reprocess's tail); multiprocessing reaps daemons at exit
            for slot in self.slots:
                slot.process.join(0)
                for conn in (slot.jobs, slot.results):
                    conn.close()
