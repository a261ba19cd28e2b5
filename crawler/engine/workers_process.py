"""The processing worker's process: the loop each worker of a local pool runs
(crawler.engine.workers starts it with `spawn` and talks to it over two pipes).

It takes lists of jobs from one pipe (a thread drains it at once, so the crawl never blocks
on a send), runs them through its `JobRunner`, acks each written batch on the other pipe,
and reports how many jobs it has processed while its queue runs low, so the pool tops it up.
"""
from __future__ import annotations

import queue
import threading
import time
from multiprocessing.connection import Connection

from crawler.engine.workers_job import Ack, JobRunner, PageJob, WorkerSpec

STOP = None  # the message that tells a worker to write what it holds and exit
READY = "ready"  # a worker's first message: lists loaded, index open
QUEUE_DEPTH = 32  # jobs the pool lets a worker hold unprocessed while the crawl runs
REPORT_BELOW = QUEUE_DEPTH // 2  # a worker reports its count after a job while it holds fewer


def worker_main(spec: WorkerSpec, jobs: Connection, results: Connection) -> None:
    """A worker's life: take jobs, process them, ack each written batch; exit on STOP or EOF."""
    inbox: queue.Queue[PageJob | None] = queue.Queue()

    def receive() -> None:  # drains the pipe at once, so the crawl never blocks on a send
        while True:
            try:
                message = jobs.recv()
            except (EOFError, OSError):
                inbox.put(STOP)
                return
            for job in message if isinstance(message, list) else [message]:
                inbox.put(job)

    threading.Thread(target=receive, name="trawl-worker-recv", daemon=True).start()
    runner = JobRunner(spec, freeze_heap=True)  # lists and matchers loaded: later full collections skip them
    results.send(READY)
    started = 0.0
    processed = 0
    try:
        while True:
            timeout = None if not len(runner) else max(0.0, started + spec.batch_seconds - time.monotonic())
            try:
                job = inbox.get(timeout=timeout)
            except queue.Empty:
                _send(results, runner.flush())  # the open batch is old enough
                continue
            if job is STOP:
                _send(results, runner.flush())
                return
            if not len(runner):
                started = time.monotonic()
            runner.run(job)
            processed += 1
            if inbox.qsize() < REPORT_BELOW:
                results.send(processed)  # running low: the pool tops the queue up
            if len(runner) >= spec.batch_size or time.monotonic() - started >= spec.batch_seconds:
                _send(results, runner.flush())
    finally:
        runner.close()


def _send(results: Connection, ack: Ack | None) -> None:
    if ack is not None:
        results.send(ack)
