"""The Scrapy side of the processing pipeline: one item pipeline that hands each raw item
the spider yields to `pipeline.Pipeline`, and owns what only a crawl has.

- the index: opened (and migrated) when the spider opens, so a bad one fails before
  anything is fetched; closed when it closes, after the last batch.  Batches an earlier
  run spooled (Elasticsearch was down) are replayed there, and counted in the stats
  (`trawl/index/replayed_batches|records`);
- the frontier: a page is done only after the batch holding its items is written, so a
  crawl killed with items still buffered replays those pages on `--resume`; a dropped
  item's page (its drop is recorded, not retried) is done after the records buffered
  before it, since a grid page's other cards share its key;
- the evidence barrier (`make_evidence_durable`) before every write: the manifest lines of
  the records a batch cites are on disk before the index refers to them;
- a reactor timer that writes a batch `TRAWL_STORE_BATCH_SECONDS` after its first item,
  so a slow site does not leave its last items unwritten until the next one arrives.

With `TRAWL_WORKERS` > 0 the spider yields `PageJob`s (and grid cards) and this pipeline
hands them to a pool of processing workers (crawler.engine.workers) instead: the pool's
acks mark pages done and add the workers' counters to the run's stats, and the pool pauses
the engine while its backlog is full.  The crawl then waits for the pool at close.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from scrapy.exceptions import DropItem

from core.clock import utc_now_iso
from core.config import load_config
from core.errors import TrawlError
from core.items import RawListing, RawVendor
from core.process import freeze_startup_heap
from crawler.engine.workers_job import PageJob
from crawler.evidence.writer import make_evidence_durable, start_evidence_barrier
from index import open_index
from index.api import IndexBackend
from pipeline import BatchHooks, Pipeline
from pipeline.version import extraction_version

if TYPE_CHECKING:
    from crawler.engine.workers import Barrier

logger = logging.getLogger(__name__)

PIPELINE_PATH = "crawler.engine.itempipeline.TrawlItemPipeline"


class PageFrontier(Protocol):
    """What the item pipeline asks of the spider's frontier (local or Redis-backed)."""

    def done(self, key: str) -> None: ...

    def done_many(self, keys: list[str]) -> None: ...


CRAWL_REFRESH_INTERVAL = "30s"


@dataclass(frozen=True)
class StoreSettings:
    """The crawl settings the pipeline reads, once (defaults live in crawler.engine.settings)."""

    run_id: str
    clock: str  # the crawl's time stamp on every record (TRAWL_CLOCK; run.py sets it)
    batch_size: int
    batch_seconds: float
    workers: int = 0  # processing worker processes (0: process items here)
    help_at_close: bool = True  # crawl.workers_help_at_close (crawler.engine.workers)
    # freeze the start-up heap out of the collector's view (core.process.freeze_startup_heap):
    # only where the process is this crawl's own (crawler.engine.run), never in a test's process
    freeze_heap: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> StoreSettings:
        return cls(run_id=settings.get("TRAWL_RUN_ID", ""),
                   clock=settings.get("TRAWL_CLOCK") or utc_now_iso(seconds=False),
                   batch_size=max(1, settings.getint("TRAWL_STORE_BATCH")),
                   batch_seconds=settings.getfloat("TRAWL_STORE_BATCH_SECONDS"),
                   workers=settings.getint("TRAWL_WORKERS", 0),
                   help_at_close=settings.getbool("TRAWL_WORKERS_HELP_AT_CLOSE", load_config().crawl_workers_help_at_close),
                   freeze_heap=settings.getbool("TRAWL_FREEZE_HEAP", False))


class DroppedItem(DropItem):
    """A raw item the pipeline refused; `reason` is the `item_dropped_reasons/<reason>` name."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TrawlItemPipeline:
    def __init__(self, crawler: Any, settings: StoreSettings) -> None:
        self.crawler, self.settings = crawler, settings
        self.index: IndexBackend | None = None
        self.pipeline: Pipeline | None = None
        self.frontier: PageFrontier | None = None
        self._timer: Any = None
        self.pool: Any = None  # crawler.engine.workers.WorkerPool in worker mode
        self._poller: Any = None
        self._cpu_at_open = 0.0
        self._bulk = contextlib.ExitStack()  # the index's bulk mode for the crawl (ES: refresh slowed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> TrawlItemPipeline:
        return cls(crawler, StoreSettings.from_settings(crawler.settings))

    def open_spider(self, spider: Any = None) -> None:
        from crawler.engine.workers_job import cpu_seconds

        self.frontier = getattr(self.crawler.spider, "frontier", None)
        site = getattr(self.crawler.spider, "site", None)
        if site is not None:  # stamps come from the site this crawl loaded, hashed now, not on the first item
            extraction_version(site)
        self.index = open_index()  # open (and migrate) before fetching: a bad index fails early
        self._replay_spool(self.index)
        # ES refreshes every 30 s instead of every second while the crawl writes (restored at close,
        # and by the next open if this process is killed); others still see its progress
        self._bulk.enter_context(self.index.bulk_mode(CRAWL_REFRESH_INTERVAL))
        if self.settings.workers > 0:
            self._start_pool()
        else:
            hooks = BatchHooks(opened=self._schedule_flush, closing=self._cancel_timer,
                               before_write=self._make_evidence_durable, after_write=self._pages_done)
            # the Processor loads rate tables and substance lists here, before the first request
            self.pipeline = Pipeline(self.index, clock=self.settings.clock, run_id=self.settings.run_id,
                                     stats=self.crawler.stats, batch_size=self.settings.batch_size,
                                     batch_seconds=self.settings.batch_seconds, hooks=hooks)
        if self.settings.freeze_heap:
            freeze_startup_heap()  # the lists, site and Scrapy's machinery live as long as the crawl
        self._cpu_at_open = cpu_seconds()  # after start-up, as the workers count theirs

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.pool is not None and isinstance(item, (PageJob, RawListing, RawVendor)):
            # a card whose page failed comes as a raw item: a job of its own
            job = item if isinstance(item, PageJob) else PageJob(key=item.fetch.key, kind="cards", items=[item])
            self.pool.submit(job)
            return item
        if not isinstance(item, (RawListing, RawVendor)):
            raise TypeError(f"the trawl item pipeline takes core.items.RawListing/RawVendor, got {type(item).__name__}")
        if self.pipeline is None:
            raise RuntimeError("TrawlItemPipeline.process_item before open_spider")
        result = self.pipeline.handle(item)
        if result.drop is not None:
            if item.fetch.key:
                # the page was handled: its drop is recorded, not retried; done after the records
                # buffered before it are written (a grid page's other cards share its key)
                self.pipeline.writer.finish_page(item.fetch.key)
            raise DroppedItem(result.drop.reason, str(result.drop))
        return item

    def close_spider(self, spider: Any = None) -> None:
        from crawler.engine.workers_job import cpu_seconds

        try:
            if self.pool is not None:
                # our connection closes first: SQLite checkpoints its WAL (the workers' writes)
                # in the last connection to close, 8-10 ms per testbed crawl; a worker does
                # that after its last ack, which the crawl does not wait for
                self._close_index()
                self._stop_pool()
            if self.pipeline is not None:
                self.pipeline.flush()
        finally:
            # the crawl process's own CPU from open to close (workers add trawl/workers/cpu_ms)
            self.crawler.stats.set_value("trawl/crawl_cpu_ms", round(1000 * (cpu_seconds() - self._cpu_at_open)))
            self._cancel_timer()
            self._close_index()

    def _close_index(self) -> None:
        self._bulk.close()
        if self.index is not None:
            self.index.close()
            self.index = None

    # --- worker mode ----------------------------------------------------------------------
    def _start_pool(self) -> None:
        from twisted.internet import task

        from crawler.engine.workers import POLL_SECONDS, PoolHooks, WorkerPool
        from crawler.engine.workers_job import WorkerSpec

        spider, crawler = self.crawler.spider, self.crawler
        s = crawler.settings
        spec = WorkerSpec(site_name=spider.site.name, site_source=spider.site.source or "", run_id=self.settings.run_id,
                          clock=self.settings.clock, home=str(s.get("TRAWL_HOME") or ""),
                          batch_size=self.settings.batch_size, batch_seconds=self.settings.batch_seconds)
        hooks = PoolHooks(pages_done=self._pages_done, counters=self._add_counters,
                          before_handout=self._make_evidence_durable, start_barrier=self._start_evidence_barrier,
                          pages_read=lambda ids: spider.pages_read.update(ids), pause=self._pause_engine,
                          nothing_to_fetch=self._nothing_to_fetch)
        config = load_config()
        feed = config.crawl_workers_feed
        if feed == "redis" or feed.startswith(("redis://", "rediss://", "unix://")):
            from crawler.engine.workers_redis import RedisFeed

            url = config.redis_url if feed == "redis" else feed
            if not url:
                raise TrawlError("crawl.workers_feed = redis needs redis.url (TRAWL_REDIS_URL)")
            self.pool = RedisFeed(spec, url, hooks)
        elif config.crawl_workers_feed == "local":
            self.pool = WorkerPool(spec, self.settings.workers, hooks, help_at_close=self.settings.help_at_close)
        else:
            raise TrawlError(f"crawl.workers_feed = {feed!r}: expected local, redis or a redis:// URL")
        self.pool.start()
        logger.info("processing via %s: %d worker process(es) %s", feed.split("://")[0], self.pool.size,
                    self.pool.pids)
        self._poller = task.LoopingCall(self._poll_pool)
        self._poller.start(POLL_SECONDS, now=False)

    def _poll_pool(self) -> None:
        try:
            self.pool.poll()
        except Exception:  # logged; the pages stay unfinished and resume replays them
            logger.exception("processing workers: poll failed")
            self.crawler.stats.inc_value("trawl/errors/workers")

    def _stop_pool(self) -> None:
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        pool, self.pool = self.pool, None
        pool.close()
        self.crawler.stats.set_value("trawl/workers/count", pool.size)

    def _add_counters(self, counters: dict[str, int]) -> None:
        for name, value in counters.items():
            self.crawler.stats.inc_value(name, value)

    def _nothing_to_fetch(self) -> bool:
        from scrapy.core.scheduler import Scheduler

        scheduler = getattr(self.crawler.engine, "scheduler", None)
        # Scrapy's own in-memory scheduler only: the shared one (distributed) would ask Redis
        return type(scheduler) is Scheduler and not scheduler.has_pending_requests()

    def _pause_engine(self, paused: bool) -> None:
        engine = self.crawler.engine
        if paused:
            engine.pause()
            return
        engine.unpause()
        slot = getattr(engine, "_slot", None)  # wake the scheduler now, not at its next heartbeat
        if slot is not None:
            slot.nextcall.schedule()

    def _replay_spool(self, index: IndexBackend) -> None:
        replay = getattr(index, "replay_spool", None)  # backends that spool (Elasticsearch)
        report = replay() if replay is not None else None
        if report is not None:
            self.crawler.stats.inc_value("trawl/index/replayed_batches", report.batches)
            self.crawler.stats.inc_value("trawl/index/replayed_records", report.records)

    # --- batch hooks ------------------------------------------------------------------
    def _make_evidence_durable(self) -> None:
        make_evidence_durable(self.crawler)  # the records this batch cites are chained first

    def _start_evidence_barrier(self) -> Barrier:
        from twisted.internet import reactor

        from crawler.engine.workers import Barrier

        return Barrier(start_evidence_barrier(self.crawler), reactor.callFromThread)

    def _pages_done(self, keys: list[str]) -> None:
        if self.frontier is not None:
            self.frontier.done_many(keys)

    def _schedule_flush(self) -> None:
        # only a reactor that is already installed: importing one here would install the default
        reactor = sys.modules.get("twisted.internet.reactor")
        if self._timer is None and reactor is not None and reactor.running:
            self._timer = reactor.callLater(self.settings.batch_seconds, self._flush_from_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _flush_from_timer(self) -> None:
        self._timer = None
        try:
            if self.pipeline is not None:
                self.pipeline.flush()
        except Exception:  # logged; the pages stay unfinished and resume replays them
            logger.exception("writing a batch of stored items failed")
            self.crawler.stats.inc_value("trawl/errors/store")
