"""Per-run stats: `$TRAWL_HOME/runs/<run_id>/stats.json`, written at start, every few
seconds while running (a SIGKILLed run still shows how far it got) and at close."""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import MemoryStatsCollector
from twisted.internet import task

from core.clock import utc_now_iso

STATS_FILE = "stats.json"
logger = logging.getLogger(__name__)


class TrawlStatsCollector(MemoryStatsCollector):
    """Scrapy's in-memory stats without the Python-level __getattribute__ Scrapy (2.13+) puts on
    every attribute read of the collector, its own `self._stats` included, to warn about a
    `spider` argument nobody of ours passes: ~2% of a crawl process's CPU (STATS_CLASS)."""

    __getattribute__ = object.__getattribute__


def _now() -> str:
    return utc_now_iso()


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a run from Scrapy's flat stats dict."""
    drops = {k.split("/", 1)[1]: v for k, v in raw.items() if k.startswith("item_dropped_reasons/")}
    # errors = requests that finally failed (after retries and mirror rotation), by kind;
    # statuses that were retried successfully are in http_statuses, not here
    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for key, value in raw.items():
        if key.startswith("trawl/errors/"):
            errors[key.split("/", 2)[2]] = value
        elif key.startswith("spider_exceptions/"):
            errors[key] = value
        elif key.startswith("downloader/response_status_count/"):
            statuses[key.rsplit("/", 1)[1]] = value
    missing = {k.split("/", 2)[2]: v for k, v in raw.items() if k.startswith("trawl/fields_missing/")}
    mirrors = {k.split("/", 2)[2]: v for k, v in raw.items() if k.startswith("trawl/mirror_pages/")}
    return {
        "pages": raw.get("response_received_count", 0),
        "bytes": raw.get("downloader/response_bytes", 0),
        "items": raw.get("item_scraped_count", 0),
        "listings": raw.get("trawl/stored/listings", 0),
        "vendors_stored": raw.get("trawl/stored/vendors", 0),
        "snapshots": raw.get("trawl/stored/snapshots", 0),
        "unchanged": raw.get("trawl/listings/unchanged", 0),
        "drops": sum(drops.values()),
        "drops_by_reason": drops,
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "http_statuses": statuses,
        "retries": raw.get("retry/count", 0),
        "fields_missing": missing,  # "listing/price": pages whose configured selector matched nothing
        "gate_hits": raw.get("trawl/gate_hits", 0),
        "rate_limited": raw.get("trawl/rate_limited/429", 0),
        "replayed": raw.get("trawl/frontier/replayed", 0),
        "mirrors": mirrors,  # pages served per mirror
        "mirror_rotations": raw.get("trawl/mirror_rotations", 0),
        "paused_reason": raw.get("trawl/paused_reason"),
    }


def whole_run(earlier: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Scrapy's flat stats of all segments of a run: counters added, maxima kept."""
    out = {k: v for k, v in earlier.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key, value in current.items():
        before = out.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or before is None:
            out[key] = value
        elif key.endswith("/max"):
            out[key] = max(before, value)
        elif not key.endswith(("/startup", "_time")):
            out[key] = before + value
        else:
            out[key] = value
    return out


def write_stats(run_dir: Path, record: dict[str, Any]) -> None:
    tmp = run_dir / f".{STATS_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, run_dir / STATS_FILE)


def read_stats(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / STATS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def event_loop_name() -> str:
    """The asyncio loop under the crawl's reactor (crawl.event_loop), e.g. "uvloop.Loop": a
    throughput figure is read knowing which loop it ran on."""
    from twisted.internet import reactor

    loop = getattr(reactor, "_asyncioEventloop", None)  # where Scrapy's own log line reads it
    return "" if loop is None else f"{type(loop).__module__}.{type(loop).__name__}"


@dataclass(frozen=True)
class RunStatsConfig:
    run_id: str
    run_dir: Path
    site: str
    interval: float
    clock: str


class RunStatsExtension:
    def __init__(self, config: RunStatsConfig, crawler: Any) -> None:
        self.config, self.crawler = config, crawler
        self.started = time.monotonic()
        self.spider_opened_at: float | None = None
        previous = read_stats(config.run_dir) or {}
        self.base = {"run_id": config.run_id, "site": config.site, "started_at": previous.get("started_at") or _now(),
                     "clock": previous.get("clock") or config.clock, "pid": os.getpid(),
                     "resumed": previous.get("resumed", -1) + 1 if previous else 0,
                     "previous_duration_s": previous.get("duration_s", 0.0) if previous else 0.0,
                     "event_loop": event_loop_name()}
        # a resumed run reports the whole run: earlier segments' counters (as their last
        # stats write left them) plus this segment's
        self.earlier: dict[str, Any] = (previous.get("stats") or {}) if previous else {}
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> RunStatsExtension:
        s = crawler.settings
        if not s.get("TRAWL_RUN_DIR"):
            raise NotConfigured("no TRAWL_RUN_DIR")
        config = RunStatsConfig(s.get("TRAWL_RUN_ID", ""), Path(s.get("TRAWL_RUN_DIR")), s.get("TRAWL_SITE", ""),
                                s.getfloat("TRAWL_STATS_INTERVAL", 2.0), s.get("TRAWL_CLOCK", ""))
        ext = cls(config, crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def record(self, status: str, reason: str | None = None) -> dict[str, Any]:
        raw = whole_run(self.earlier, self.crawler.stats.get_stats())
        duration = round(float(self.base["previous_duration_s"]) + time.monotonic() - self.started, 3)
        # crawl_s: spider open to now, without building components (loading reference lists...)
        crawl_s = round(time.monotonic() - self.spider_opened_at, 3) if self.spider_opened_at is not None else 0.0
        out = {**self.base, "status": status, "finish_reason": reason, "updated_at": _now(), "duration_s": duration, "crawl_s": crawl_s,
               **summarise(raw), "stats": {k: v for k, v in raw.items()}}
        frontier = getattr(self.crawler.spider, "frontier", None)
        if frontier is not None:
            out["frontier"] = frontier.counts()
        return out

    def response_received(self, response: Any, request: Any, spider: Any = None) -> None:
        mirror = request.meta.get("trawl_mirror")
        if mirror:
            self.crawler.stats.inc_value(f"trawl/mirror_pages/{mirror}")

    def opened(self, spider: Any = None) -> None:
        self.spider_opened_at = time.monotonic()
        logger.info("event loop: %s", self.base["event_loop"] or "none (not an asyncio reactor)")
        write_stats(self.config.run_dir, self.record("running"))
        self.loop = task.LoopingCall(self.write_running)
        self.loop.start(self.config.interval, now=False)

    def write_running(self) -> None:
        try:
            write_stats(self.config.run_dir, self.record("running"))
        except OSError as exc:  # disk full, run dir gone read-only: stop the crawl, say why
            from crawler.engine.runstatus import stop_on_local_failure

            if not stop_on_local_failure(self.crawler, exc):
                raise
            if self.loop is not None and self.loop.running:
                self.loop.stop()

    def closed(self, spider: Any = None, reason: str = "finished") -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        status = {"finished": "finished", "site_paused": "paused", "closespider_pagecount": "budget_reached"}.get(reason, reason)
        record = self.record(status, reason)
        record["finished_at"] = _now()
        self.crawler.trawl_result = record  # first: a full disk must not make the run look "never started"
        write_stats(self.config.run_dir, record)
