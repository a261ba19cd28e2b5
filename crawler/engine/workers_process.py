"""The processing worker's process: the loop each worker of a local pool runs
(crawler.engine.workers starts it with `spawn` and talks to it over two pipes).

It takes lists of jobs from one pipe (a thread drains it at once, so the crawl never blocks
on a send), runs them through its `JobRunner`, acks each written batch on the other pipe,
and reports how many jobs it has processed while its queue runs low, so the pool tops it up.
At the crawl's close the pool may ask for a share of the jobs it has not started
(GIVE_BACK): the crawl process, idle by then, processes those itself (crawler.engine.workers),
while the worker finishes the rest and writes its open batch.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from crawler.engine.workers_job import Ack, JobRunner, PageJob, WorkerSpec

STOP = None  # the message that tells a worker to write what it holds and exit
READY = "ready"  # a worker's first message: lists loaded, index open
# (GIVE_BACK, kept, parts): the pool, which keeps `kept` jobs for the crawl process, asks for
# this worker's part of the unstarted ones (Inbox.give_back)
GIVE_BACK = "give-back"
RETURNED = "returned"  # ... and gets (RETURNED, [seq, ...]) back: those are the pool's again
QUEUE_DEPTH = 32  # jobs the pool lets a worker hold unprocessed while the crawl runs
REPORT_BELOW = QUEUE_DEPTH // 2  # a worker reports its count after a job while it holds fewer
# How long the processing thread may keep the GIL while the receiving thread waits for it
# (Python's default: 5 ms).  Reading one message takes the GIL two or three times, so the
# pool's last jobs and its GIVE_BACK reached a busy worker 10-40 ms late, the crawl's close
# waiting for it; the receiving thread wants the GIL only when a message arrives.
SWITCH_INTERVAL = 0.0005
# Writing this many records (a listing with its snapshot and terms) takes a worker about as long
# as processing one testbed page (~0.25 against ~2 ms): how GIVE_BACK weighs the open batch the
# worker still writes at close against the jobs it hands the crawl process
RECORDS_PER_JOB = 8


WRITE_NOW = "write-now"  # what Inbox.get answers, before any job, once write_now() was called


class Inbox:
    """The jobs received and not started, in order; the receiving thread may take the later
    ones back out (`give_back`) while the main thread takes from the front."""

    def __init__(self) -> None:
        self._items: deque[PageJob | None] = deque()
        self._ready = threading.Condition()
        self._write_now = False

    def put(self, item: PageJob | None) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def write_now(self) -> None:
        """Ask the main thread to write its open batch before its next job (even if it is
        waiting for one)."""
        with self._ready:
            self._write_now = True
            self._ready.notify()

    def get(self, timeout: float | None = None) -> PageJob | str | None:
        """WRITE_NOW if asked, else the next job (or STOP); raises queue.Empty after `timeout`
        seconds without either."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._write_now or bool(self._items), timeout):
                raise queue.Empty
            if self._write_now:
                self._write_now = False
                return WRITE_NOW
            return self._items.popleft()

    def qsize(self) -> int:
        return len(self._items)

    def give_back(self, kept: int, parts: int, unwritten: int = 0) -> list[PageJob]:
        """The later ones of the waiting jobs (never a STOP, nor anything queued before one),
        so that the crawl process, which keeps `kept` jobs already, and the `parts - 1` workers
        end at about the same time: (waiting + the time this worker needs to write its
        `unwritten` records, in jobs - kept) // parts of them.

        >>> inbox = Inbox()
        >>> for seq in range(9): inbox.put(seq)
        >>> inbox.give_back(kept=1, parts=2), inbox.qsize()
        ([5, 6, 7, 8], 5)
        >>> inbox.give_back(kept=0, parts=2, unwritten=3 * RECORDS_PER_JOB), inbox.qsize()
        ([1, 2, 3, 4], 1)
        """
        with self._ready:
            waiting = 0
            for item in reversed(self._items):
                if item is STOP:
                    break
                waiting += 1
            share = (waiting + unwritten // RECORDS_PER_JOB - kept) // max(1, parts)
            taken = [self._items.pop() for _ in range(min(waiting, max(0, share)))]
            return [job for job in reversed(taken) if job is not None]  # (none is: counted above)


def worker_main(spec: WorkerSpec, jobs: Connection, results: Connection) -> None:
    """A worker's life: take jobs, process them, ack each written batch; exit on STOP or EOF."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    inbox = Inbox()
    sending = threading.Lock()  # both threads send on `results`; a Connection is not thread-safe

    def send(message: Any) -> None:
        with sending:
            results.send(message)

    def receive() -> None:  # drains the pipe at once, so the crawl never blocks on a send
        while True:
            try:
                message = jobs.recv()
            except (EOFError, OSError):
                inbox.put(STOP)
                return
            if isinstance(message, tuple) and message[0] == GIVE_BACK:
                _, kept, parts = message
                unwritten = len(running[0]) if running else 0
                send((RETURNED, [job.seq for job in inbox.give_back(kept, parts, unwritten)]))
                # the open batch (on a short crawl most of its records) is written now, while the
                # crawl process works on what it was given, not at the STOP, where the crawl
                # process's own commit met it and one waited for the other (5-13 ms, testbed)
                inbox.write_now()
                continue
            for job in message if isinstance(message, list) else [message]:
                inbox.put(job)

    running: list[JobRunner] = []  # the runner, once loaded (the receiving thread reads its batch size)
    threading.Thread(target=receive, name="trawl-worker-recv", daemon=True).start()
    runner = JobRunner(spec, freeze_heap=True)  # lists and matchers loaded: later full collections skip them
    running.append(runner)
    send(READY)
    started = 0.0
    processed = 0
    try:
        while True:
            timeout = None if not len(runner) else max(0.0, started + spec.batch_seconds - time.monotonic())
            try:
                job = inbox.get(timeout=timeout)
            except queue.Empty:
                _send(send, runner.flush())  # the open batch is old enough
                continue
            if job is STOP or isinstance(job, str):  # the STOP, or WRITE_NOW
                _send(send, runner.flush())
                if job is STOP:
                    return
                continue
            if not len(runner):
                started = time.monotonic()
            runner.run(job)
            processed += 1
            if inbox.qsize() < REPORT_BELOW:
                send(processed)  # running low: the pool tops the queue up
            if len(runner) >= spec.batch_size or time.monotonic() - started >= spec.batch_seconds:
                _send(send, runner.flush())
    finally:
        runner.close()


def _send(send: Any, ack: Ack | None) -> None:
    if ack is not None:
        send(ack)
