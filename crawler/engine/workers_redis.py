"""Distributed page processing: the crawl feeds processing jobs to a Redis stream, and
`trawl process` processes on any machine that can read the evidence store take them.

Why a stream with a consumer group (and not a list with BRPOPLPUSH): the group keeps, per
consumer, the jobs it has read but not acknowledged (the pending entries list), with the
time since each was delivered, so a job held by a consumer that died is found and taken
over by any other with XAUTOCLAIM, without a per-consumer list someone has to watch.

The protocol (keys under `trawl:process`, see `stream_keys`):
- the crawl XADDs one entry per job to `<prefix>:jobs` (the job and the `WorkerSpec` of its
  run, pickled: the Redis server must be one you trust, as for the shared frontier of
  crawler.engine.distributed);
- a `trawl process` consumer reads jobs (XREADGROUP, group `trawl-process`), processes a
  batch (crawler.engine.workers_job.JobRunner), commits it to the index, then XADDs the
  batch's ack (job numbers, frontier keys, counters) to its run's `<prefix>:acks:<run_id>`,
  and only then XACKs (and deletes) the job entries;
- a consumer killed before its XACK leaves the jobs pending; another consumer claims those
  idle longer than `claim_idle` seconds (XAUTOCLAIM) and processes them again.  That second
  write stores the same records (a snapshot is keyed by listing and crawl time, the listing
  by its id), so nothing is stored twice;
- the crawl reads its acks stream to mark pages done and add the counters to its stats, as
  with the local pool; pages whose ack never came stay unfinished for `--resume`.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pickle  # jobs travel through a trusted Redis, as the shared frontier's requests do
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.engine.workers import POLL_SECONDS, PoolHooks
from crawler.engine.workers_job import Ack, JobRunner, PageJob, WorkerSpec

logger = logging.getLogger(__name__)

PREFIX = "trawl:process"
GROUP = "trawl-process"
ACKS_TTL_SECONDS = 7 * 24 * 3600


def jobs_key(prefix: str = PREFIX) -> str:
    return f"{prefix}:jobs"


def acks_key(run_id: str, prefix: str = PREFIX) -> str:
    return f"{prefix}:acks:{run_id}"


def connect(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def ensure_group(client: Any, prefix: str = PREFIX) -> None:
    import redis

    try:
        client.xgroup_create(jobs_key(prefix), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


# --- the crawl's side --------------------------------------------------------------------
class RedisFeed:
    """Same interface as crawler.engine.workers.WorkerPool, feeding `trawl process` consumers."""

    def __init__(self, spec: WorkerSpec, url: str, hooks: PoolHooks, *, max_backlog: int = 0,
                 prefix: str = PREFIX, wait_seconds: float = 600.0) -> None:
        self.spec, self.hooks, self.prefix = spec, hooks, prefix
        self.client = connect(url)
        self.max_backlog = max_backlog or 4 * max(1, spec.batch_size)
        self.wait_seconds = wait_seconds
        self.size = 0  # no local processes
        # job numbers unique to this crawl session: a resumed run may get acks of jobs its
        # killed predecessor handed out (their pages are done; their numbers are not ours)
        self.seq = secrets.randbits(40) << 20
        self.pending: list[PageJob] = []  # recorded, not yet in the stream (until the evidence barrier)
        self.outstanding: set[int] = set()  # in the stream, not yet acked
        self.last_ack = "0-0"
        self.paused = False
        self.closed = False

    @property
    def pids(self) -> list[int]:
        return []

    @property
    def backlog(self) -> int:
        return len(self.pending) + len(self.outstanding)

    def start(self) -> None:
        ensure_group(self.client, self.prefix)
        self.client.delete(acks_key(self.spec.run_id, self.prefix))  # a resumed run starts its acks afresh

    def submit(self, job: PageJob) -> None:
        self.seq += 1
        job.seq = self.seq
        self.pending.append(job)
        self.hooks.counters({"trawl/workers/submitted": 1})
        if not self.paused and self.backlog >= self.max_backlog:
            self.paused = True
            self.hooks.counters({"trawl/workers/backpressure_pauses": 1})
            self.hooks.pause(True)

    def poll(self) -> None:
        if self.pending:
            self.hooks.before_handout()  # evidence durable before any consumer can read it
            pipe = self.client.pipeline(transaction=False)
            for job in self.pending:
                # without the page copy: the consumer reads the record from the evidence store
                pipe.xadd(jobs_key(self.prefix), {"job": pickle.dumps((self.spec, dataclasses.replace(job, page=None)))})
                self.outstanding.add(job.seq)
            pipe.execute()
            self.pending.clear()
        self._read_acks()
        if self.paused and self.backlog <= self.max_backlog // 2:
            self.paused = False
            self.hooks.pause(False)

    def _read_acks(self) -> None:
        while True:
            reply = self.client.xread({acks_key(self.spec.run_id, self.prefix): self.last_ack}, count=500)
            if not reply:
                return
            for entry_id, fields in reply[0][1]:
                self.last_ack = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                ack: Ack = pickle.loads(fields[b"ack"])  # noqa: S301 - written by our consumers
                if ack.keys:  # committed, whoever handed them out (this session or a killed one)
                    self.hooks.pages_done(ack.keys)
                if ack.pages_read:
                    self.hooks.pages_read(ack.pages_read)
                fresh = [seq for seq in ack.seqs if seq in self.outstanding]
                if fresh:  # not counted twice: a job a dead consumer held is processed again
                    self.outstanding.difference_update(fresh)
                    self.hooks.counters(ack.counters)

    def close(self, timeout: float = 0.0) -> None:
        """Wait for the consumers to ack every job (up to `wait_seconds`); the rest stay unfinished."""
        if self.closed:
            return
        self.closed = True
        deadline = time.monotonic() + self.wait_seconds
        told = 0.0
        while self.backlog and time.monotonic() < deadline:
            self.poll()
            if self.backlog and time.monotonic() - told > 30:
                told = time.monotonic()
                logger.warning("waiting for %d processing job(s) in Redis (is `trawl process` running?)",
                               self.backlog)
            time.sleep(POLL_SECONDS)
        if self.backlog:
            logger.error("%d processing job(s) not acked after %.0fs: their pages stay unfinished (--resume)",
                         self.backlog, self.wait_seconds)
        self.client.expire(acks_key(self.spec.run_id, self.prefix), ACKS_TTL_SECONDS)
        self.client.close()


# --- the consumer: `trawl process` -----------------------------------------------------------
@dataclass
class Held:
    """One run's runner and the stream entries its open batch came from."""

    runner: JobRunner
    entry_ids: list[bytes] = field(default_factory=list)
    started: float = 0.0


class Consumer:
    """Takes jobs from the stream, processes them in batches, acks them after each commit."""

    def __init__(self, url: str, *, name: str = "", batch_size: int = 50, batch_seconds: float = 1.0,
                 claim_idle: float = 60.0, prefix: str = PREFIX, home: str = "",
                 log: Callable[[str], None] = logger.info) -> None:
        self.client = connect(url)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.batch_size, self.batch_seconds = max(1, batch_size), batch_seconds
        self.claim_idle_ms = int(claim_idle * 1000)
        self.prefix, self.home, self.log = prefix, home, log
        self.held: dict[tuple[str, str, str], Held] = {}
        self.processed = 0
        self.claimed = 0
        self._heap_frozen = False

    def _runner(self, spec: WorkerSpec) -> Held:
        key = (spec.site_name, spec.run_id, spec.clock)
        if key not in self.held:
            from dataclasses import replace

            from core.home import trawl_home

            # this machine's view of the evidence store and of the site YAML
            local = replace(spec, home=self.home or str(trawl_home()),
                            site_source=spec.site_source if spec.site_source and os.path.isfile(spec.site_source) else "")
            # the heap is frozen once, when the first runner has loaded the reference lists (kept
            # for the process's life); later runners come and go with their runs and stay collectable
            self.held[key] = Held(JobRunner(local, freeze_heap=not self._heap_frozen))
            self._heap_frozen = True
        return self.held[key]

    def _take(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, fields in entries:
            if not fields or b"job" not in fields:
                self.client.xack(jobs_key(self.prefix), GROUP, entry_id)  # deleted meanwhile
                continue
            spec, job = pickle.loads(fields[b"job"])  # noqa: S301 - written by our crawls
            held = self._runner(spec)
            if not held.entry_ids:
                held.started = time.monotonic()
            held.runner.run(job)
            held.entry_ids.append(entry_id)
            self.processed += 1
            if len(held.entry_ids) >= self.batch_size:
                self._commit(spec.run_id, held)

    def _commit(self, run_id: str, held: Held) -> None:
        ack = held.runner.flush()  # the index write: only then is anything acked
        if ack is not None:
            self.client.xadd(acks_key(run_id, self.prefix), {"ack": pickle.dumps(ack)})
        if held.entry_ids:
            pipe = self.client.pipeline(transaction=True)
            pipe.xack(jobs_key(self.prefix), GROUP, *held.entry_ids)
            pipe.xdel(jobs_key(self.prefix), *held.entry_ids)
            pipe.execute()
        held.entry_ids = []

    def commit_all(self, *, old_only: bool = False) -> None:
        now = time.monotonic()
        for (_, run_id, _), held in self.held.items():
            if held.entry_ids and (not old_only or now - held.started >= self.batch_seconds):
                self._commit(run_id, held)

    def step(self, block_ms: int = 1000) -> int:
        """One round: take over stale jobs of dead consumers, read new ones, commit what is due."""
        ensure_group(self.client, self.prefix)
        reply = self.client.xautoclaim(jobs_key(self.prefix), GROUP, self.name, self.claim_idle_ms,
                                       start_id="0-0", count=self.batch_size)
        stale = reply[1] if reply else []
        if stale:
            self.claimed += len(stale)
            self.log(f"took over {len(stale)} job(s) a stopped consumer held")
            self._take(stale)
        has_open = any(held.entry_ids for held in self.held.values())
        read = self.client.xreadgroup(GROUP, self.name, {jobs_key(self.prefix): ">"}, count=self.batch_size,
                                      block=min(block_ms, int(self.batch_seconds * 1000)) if has_open else block_ms)
        entries = read[0][1] if read else []
        self._take(entries)
        self.commit_all(old_only=bool(entries))
        return len(stale) + len(entries)

    def run(self, idle_exit: float = 0.0) -> None:
        """Until stopped (or `idle_exit` seconds with nothing to do, when > 0)."""
        idle_since = time.monotonic()
        try:
            while True:
                if self.step():
                    idle_since = time.monotonic()
                elif idle_exit and time.monotonic() - idle_since >= idle_exit:
                    return
        finally:
            self.commit_all()
            for held in self.held.values():
                held.runner.close()
            self.client.close()
