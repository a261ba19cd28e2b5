"""The worker pool's parts (crawler.engine.workers): a worker process's slot and the jobs it
holds, the evidence barrier a round of jobs waits for, and the hooks through which the crawl
takes results."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from crawler.engine.workers_job import PageJob


@dataclass
class Slot:
    """One worker process and the jobs it holds (sent, not yet acked)."""

    number: int
    process: Any
    jobs: Connection  # our sending end
    results: Connection  # our receiving end
    inflight: dict[int, PageJob] = field(default_factory=dict)
    ready: bool = False
    stopped: bool = False  # STOP sent: it takes no more jobs
    given_back: bool = False  # it answered the pool's GIVE_BACK (at close)
    handed: int = 0  # jobs sent to this process
    processed: int = 0  # jobs it reported processed (written or not)

    @property
    def queued(self) -> int:
        return self.handed - self.processed


class Barrier:
    """The background evidence syncs a round of jobs waits for (`PoolHooks.start_barrier`);
    `notify(callback)` runs the callback in the pool's thread (the crawl's reactor)."""

    def __init__(self, futures: list[Future[None]], notify: Callable[[Callable[[], None]], Any]) -> None:
        self.futures, self.notify = futures, notify
        self._left = len(futures)
        self._lock = threading.Lock()

    def done(self) -> bool:
        return all(future.done() for future in self.futures)

    def wait(self) -> None:
        """Block until done; raises a sync's error (the round must not go out)."""
        for future in self.futures:
            future.result()

    def on_done(self, callback: Callable[[], None]) -> None:
        if not self.futures:
            callback()
            return

        def one_done(_: Future[None]) -> None:
            with self._lock:
                self._left -= 1
                last = self._left == 0
            if last:
                self.notify(callback)

        for future in self.futures:
            future.add_done_callback(one_done)


@dataclass
class PoolHooks:
    """What the crawl does with results (the item pipeline wires these)."""

    pages_done: Callable[[list[str]], None]
    counters: Callable[[dict[str, int]], None]
    before_handout: Callable[[], None] = lambda: None  # the evidence barrier
    # the barrier without blocking: a round goes out once it is done (None: before_handout)
    start_barrier: Callable[[], Barrier] | None = None
    pages_read: Callable[[list[str]], None] = lambda ids: None
    pause: Callable[[bool], None] = lambda paused: None  # True: stop scheduling requests
    # True when no request waits to be fetched: the crawl's last pages are in flight, so a
    # job goes out at once instead of with the next round (the workers' backlog is the tail)
    nothing_to_fetch: Callable[[], bool] = lambda: False
