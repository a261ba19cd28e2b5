"""`trawl reprocess --workers N`: a reprocess's pages read and its items processed by N
processes (crawler/engine/reprocess.py is the one-process path; docs/reprocess.md).

For each source run in turn the command's process lists the run's records by its manifest and
the workers read them back from the WARCs and extract the pages (`read`: a few records per
request, two requests out per worker, results put back in manifest order).  The command's
process merges grid cards with their pages as a one-process reprocess does, then each item
goes to the worker its id names (a listing's id, a vendor page's name), so every capture of one
listing is compared and written by one process, in capture order, as it would be in one.
Each worker has its own index connection and batch writer; the index merges what two
workers write about the same vendor inside its write transaction.  On a grid site a run's
cards are laid over the page fields the index holds, which the run before may have rewritten:
the command's process waits for every worker's writes before it reads the next run.

Workers are started with `spawn` (a fresh interpreter: an open SQLite connection must not be
carried across a fork) and each loads the reference lists, about a second of CPU: worth it for
an archive of thousands of pages, not for one small run.  A worker that fails or dies fails the
reprocess (status "failed" in its stats.json); what was written stays, and running the same
reprocess again writes only what still differs."""
from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import traceback
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from core.items import RawItem, RawListing

logger = logging.getLogger(__name__)

CHUNK = 64  # items per message: one pickle and one pipe write per chunk, not per item
READ_CHUNK = 8  # WARC records per read request; two requests out per worker, so none waits idle
START_TIMEOUT = 600.0  # a loaded machine imports and loads the reference lists slowly


@dataclass(frozen=True)
class PoolSpec:
    """What a worker needs to rebuild the reading process's setup (no live objects cross)."""

    site_source: str  # the site YAML file the reprocess loaded
    site_name: str
    version: str  # the extraction version the reading process stamps: a worker must compute the same
    dry_run: bool


def shard_key(item: RawItem) -> str:
    """The id that decides an item's worker: every capture of a listing (or a vendor's page)
    goes to the same process.

    >>> shard_key(RawListing("s", "darknet", "http://m/l/7", {"native_id": "7"}))
    's:7'
    """
    if isinstance(item, RawListing):
        return item.listing_id
    return f"{item.site}:vendor:{item.text('name').lower()}"


def worker_main(spec: PoolSpec, inbox: Any, outbox: Any) -> None:
    """Read pages and process items from `inbox` until told to close; answer on `outbox`."""
    try:
        from crawler.engine.offline import OfflineReader
        from crawler.engine.reprocess import Reprocessor, ReprocessResult, frontier_kinds, saved_page
        from crawler.sitedef.siteconfig import load_site, load_site_file
        from index import open_index
        from pipeline.processor import warm_up
        from pipeline.stats import Tally
        from pipeline.store import BatchWriter
        from pipeline.version import extraction_version

        site = load_site_file(spec.site_source) if spec.site_source else load_site(spec.site_name)
        version = extraction_version(site)
        if version != spec.version:
            raise TrawlError(f"site {site.name}: its YAML, page objects or lists changed after the reprocess "
                             f"started (extraction version {version}, the reprocess stamps {spec.version})")
        warm_up()
        index = open_index()
        stats = Tally()
        result = ReprocessResult(site=site.name, version=version, dry_run=spec.dry_run)
        writer = None if spec.dry_run else BatchWriter(index, stats, size=200, seconds=3600)
        reprocessor = Reprocessor(site, index, result, stats, writer)
        reader = OfflineReader(site, stats)
        kinds: dict[Path, dict[str, str]] = {}
        messages = _receive_in_background(inbox)
        outbox.send(("ready", None))
        while True:
            kind, payload = messages.get()
            if kind == "read":
                ticket, refs = payload
                read = []
                for ref in refs:
                    if ref.run_dir not in kinds:
                        kinds[ref.run_dir] = frontier_kinds(ref.run_dir)
                    saved = saved_page(ref, kinds[ref.run_dir])
                    read.append(None if saved is None else reader.read(saved))
                outbox.send(("read", (ticket, read)))
            elif kind == "items":
                for item, source, when in payload:
                    reprocessor.process(item, source, when)
            elif kind == "flush":
                if writer is not None:
                    writer.flush()
                outbox.send(("flushed", None))
            elif kind == "close":
                if writer is not None:
                    writer.flush()
                index.close()
                outbox.send(("result", (result, dict(stats.values))))
                return
            else:  # "eof": the reprocess is gone
                return
    except Exception as exc:  # noqa: BLE001 - the reading process names it and fails the reprocess
        detail = str(exc) if isinstance(exc, TrawlError) else traceback.format_exc(limit=8)
        try:
            outbox.send(("error", detail))
        except (OSError, ValueError):
            pass
        raise SystemExit(1) from None


def _receive_in_background(inbox: Any) -> queue.SimpleQueue[tuple[str, Any]]:
    """The worker's messages, taken off the pipe by a thread as they come: the reprocess never
    waits to send a worker that is itself waiting to send it a read (no deadlock on full pipes)."""
    messages: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def receive() -> None:
        while True:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                messages.put(("eof", None))
                return
            messages.put(message)
            if message[0] == "close":
                return

    threading.Thread(target=receive, name="trawl-reprocess-inbox", daemon=True).start()
    return messages


class ReprocessPool:
    """N worker processes, one pipe pair each; items go out in chunks by `shard_key`."""

    def __init__(self, spec: PoolSpec, size: int) -> None:
        self.spec, self.size = spec, max(1, size)
        self.context: Any = multiprocessing.get_context("spawn")
        self.workers: list[tuple[Any, Any, Any]] = []  # (process, inbox to it, outbox from it)
        self.buffers: list[list[tuple[RawItem, Any, str]]] = [[] for _ in range(self.size)]

    def __enter__(self) -> ReprocessPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from core.process import spawn_with_pipes

        for number in range(self.size):
            self.workers.append(spawn_with_pipes(self.context, worker_main, self.spec, f"trawl-reprocess-{number}"))
        for number in range(self.size):
            self._expect(number, "ready", START_TIMEOUT)

    def read(self, refs: list[Any]) -> list[Any]:
        """The pages `refs` (crawler.evidence.reader.RecordRef) name, read and extracted by the
        workers (OfflineReader), in the order given; records that hold no page are left out."""
        from multiprocessing.connection import wait

        self._send_buffers()  # items first: a worker takes its messages in order
        chunks = [refs[i:i + READ_CHUNK] for i in range(0, len(refs), READ_CHUNK)]
        results: list[list[Any] | None] = [None] * len(chunks)
        waiting, next_chunk = 0, 0
        owner = {outbox: number for number, (_, _, outbox) in enumerate(self.workers)}
        for _ in range(2):  # two requests per worker: one being read, one waiting
            for number in range(self.size):
                if next_chunk < len(chunks):
                    self._send(number, ("read", (next_chunk, chunks[next_chunk])))
                    next_chunk, waiting = next_chunk + 1, waiting + 1
        while waiting:
            for outbox in wait(list(owner)):
                number = owner[outbox]
                ticket, read = self._expect(number, "read", None)
                results[ticket] = read
                waiting -= 1
                if next_chunk < len(chunks):
                    self._send(number, ("read", (next_chunk, chunks[next_chunk])))
                    next_chunk, waiting = next_chunk + 1, waiting + 1
        return [page for chunk in results for page in chunk or () if page is not None]

    def submit(self, item: RawItem, source: Any, when: str) -> None:
        number = zlib.crc32(shard_key(item).encode("utf-8")) % self.size
        buffer = self.buffers[number]
        buffer.append((item, source, when))
        if len(buffer) >= CHUNK:
            self._send(number, ("items", buffer))
            self.buffers[number] = []

    def flush(self) -> None:
        """Return once every item submitted so far is written (or, dry run, compared)."""
        self._send_buffers()
        for number in range(self.size):
            self._send(number, ("flush", None))
        for number in range(self.size):
            self._expect(number, "flushed", None)

    def close(self) -> list[tuple[Any, dict[str, int]]]:
        """Every worker's (ReprocessResult, stats) once it has written everything and exited."""
        self._send_buffers()
        for number in range(self.size):
            self._send(number, ("close", None))
        results = [self._expect(number, "result", None) for number in range(self.size)]
        for process, _, _ in self.workers:
            process.join(timeout=30)
        return results

    def stop(self) -> None:
        for process, inbox, outbox in self.workers:
            inbox.close()
            outbox.close()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        self.workers = []

    def _send_buffers(self) -> None:
        for number, buffer in enumerate(self.buffers):
            if buffer:
                self._send(number, ("items", buffer))
                self.buffers[number] = []

    def _send(self, number: int, message: tuple[str, Any]) -> None:
        inbox = self.workers[number][1]
        try:
            inbox.send(message)
        except (OSError, ValueError):  # a dead worker's pipe: its last message may say why
            raise TrawlError(self._why_gone(number)) from None

    def _expect(self, number: int, wanted: str, timeout: float | None) -> Any:
        outbox = self.workers[number][2]
        try:
            if timeout is not None and not outbox.poll(timeout):
                raise TrawlError(f"reprocess worker {number}: no answer after {timeout:.0f}s")
            kind, payload = outbox.recv()
        except (EOFError, OSError):
            raise TrawlError(self._died(number)) from None
        if kind == "error":
            raise TrawlError(f"reprocess worker {number} failed: {payload}")
        if kind != wanted:
            raise TrawlError(f"reprocess worker {number}: expected {wanted!r}, got {kind!r}")
        return payload

    def _why_gone(self, number: int) -> str:
        """A worker that can no longer be sent to: its error if it sent one, else its exit code."""
        outbox = self.workers[number][2]
        try:
            while outbox.poll(1.0):  # answers it sent before it went (reads, then maybe its error)
                kind, payload = outbox.recv()
                if kind == "error":
                    return f"reprocess worker {number} failed: {payload}"
        except (EOFError, OSError):
            pass
        return self._died(number)

    def _died(self, number: int) -> str:
        process = self.workers[number][0]
        process.join(timeout=5)
        return (f"reprocess worker {number} died (exit code {process.exitcode}); what was written stays: "
                f"run the same reprocess again (or with --workers 0)")


def site_source(site: Any) -> str:
    """The YAML file a worker loads the site from: the one the reprocess loaded."""
    source = str(getattr(site, "source", "") or "")
    return source if source and Path(source).is_file() else ""
