"""Run a crawl of one site: run ids, run dirs, resume, and the list of past runs.

A run lives in `$TRAWL_HOME/runs/<run_id>/`: stats.json, frontier.sqlite, warc/ (written
by the evidence middleware).  Twisted's reactor runs once per process, so `run_crawl`
is called once per process (the CLI, or a subprocess in tests and the scheduler).
"""
from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.clock import iso_z, utc_now_iso
from core.config import load_config
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from core.process import pid_alive
from crawler.engine import logsetup
from crawler.engine.frontier import GROUP_COMMIT_SECONDS, Frontier
from crawler.engine.logsetup import LogOptions
from crawler.engine.runstats import read_stats, summarise, write_stats
from crawler.engine.runstatus import (
    CrawlFailed,
    CrawlPaused,
    describe,
    exit_code_for,
    is_local_failure,
    settle_status,
)
from crawler.evidence.recover import evidence_left_open
from crawler.sitedef.siteconfig import SiteConfig, load_site
from pipeline.runalerts import alert_run_end, check_watch_rules

FRONTIER_FILE = "frontier.sqlite"


@dataclass
class RunResult:
    run_id: str
    site: str
    run_dir: Path
    status: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.status)

    def to_dict(self) -> dict[str, Any]:
        headline = {k: v for k, v in self.stats.items() if k != "stats"}
        return {**headline, "run_id": self.run_id, "site": self.site, "run_dir": str(self.run_dir),
                "status": self.status, "exit_code": self.exit_code}

    def summary_line(self) -> str:
        s = self.stats
        drops = ", ".join(f"{k}={v}" for k, v in sorted(s.get("drops_by_reason", {}).items())) or "none"
        missing = ", ".join(f"{k}={v}" for k, v in sorted(s.get("fields_missing", {}).items()))
        return (f"{self.site}: {self.status} run {self.run_id}: {s.get('pages', 0)} pages, "
                f"{s.get('listings', 0)} listings, "
                f"{s.get('vendors_stored', 0)} vendor writes, {s.get('unchanged', 0)} unchanged, drops {drops}, "
                f"{s.get('errors', 0)} errors, {s.get('gate_hits', 0)} gate hits, {s.get('duration_s', 0):.1f}s"
                + (f"; selectors matched nothing: {missing}" if missing else "")
                + (f" (paused: {s['paused_reason']})" if s.get("paused_reason") else "")
                + (f" ({s['failure']})" if s.get("failure") else "")
                + (f" ({s['degraded']})" if s.get("degraded") else ""))


def runs_dir() -> Path:
    """$TRAWL_HOME/runs; a new run creates it (run_crawl), listing never does."""
    return trawl_home() / "runs"


def new_run_id(site: str, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{site}-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


def _normalise_clock(clock: str | None) -> str | None:
    if not clock:
        return None
    try:
        parsed = datetime.fromisoformat(clock.replace("Z", "+00:00"))
    except ValueError:
        raise TrawlError(f"--clock {clock!r}: expected an ISO-8601 time like 2026-08-03T12:00:00Z") from None
    return iso_z(parsed, seconds=False)  # a naive time is UTC


def resumable_run(site: str) -> Path:
    """The newest run of `site` with unfinished pages in its frontier."""
    candidates = sorted((p for p in runs_dir().glob(f"{site}-*") if p.is_dir()), reverse=True)
    for run_dir in candidates:
        stats = read_stats(run_dir) or {}
        if str(stats.get("kind") or "crawl") != "crawl":
            continue  # an ingest or reprocess run of the site: nothing a crawl could resume
        if evidence_left_open(run_dir) and not (stats.get("status") == "running" and pid_alive(stats.get("pid"))):
            return run_dir  # killed before its first page, or before its evidence was closed
        if not (run_dir / FRONTIER_FILE).is_file():
            continue
        frontier = Frontier(run_dir / FRONTIER_FILE)
        try:
            counts = frontier.counts()
        finally:
            frontier.close()
        if load_config().redis_url:
            # a worker sharing a Redis queue leaves pages other workers fetched "pending":
            # what counts is whether this worker's own run was cut short
            if (read_stats(run_dir) or {}).get("status") not in ("finished", "paused", "degraded") \
                    or any(n for status, n in counts.items() if status not in ("done", "pending")):
                return run_dir
        elif any(n for status, n in counts.items() if status != "done"):
            return run_dir
    raise TrawlError(f"site {site!r}: no interrupted run to resume in {runs_dir()} "
                     f"(start one with: trawl crawl {site})")


def run_crawl(site_name: str, *, resume: bool = False, clock: str | None = None, page_budget: int | None = None,
              day: int | None = None, site: SiteConfig | None = None, log: LogOptions | None = None,
              progress: bool = False, workers: int | None = None) -> RunResult:
    """Crawl one site in this process; returns when the crawl has ended (see RunResult.status
    and .exit_code).  Raises CrawlPaused if the site waits for a human, CrawlFailed if the
    crawl could not start, TrawlError for what the user can fix.

    `log` sets what is logged where (default: warnings on stderr, or $TRAWL_LOG_LEVEL);
    `progress` shows a live line on stderr (callers enable it only on a terminal).
    `workers`: page-processing worker processes (None: the `crawl.workers` key; see
    crawler/engine/workers.py).
    `day` is accepted for testbed-driven callers and recorded in the stats; the testbed day
    itself is chosen by the server, not by the crawler."""
    from crawler.engine.markets import with_registry_mirrors
    from crawler.engine.session import paused_reason

    site = with_registry_mirrors(site or load_site(site_name))  # + verified mirrors (lifecycle registry), no clone
    logsetup.install(log or LogOptions(level_override=load_config().log_level or None),
                     secrets=logsetup.site_secrets(site))
    check_watch_rules()  # an invalid watch.yaml stops the crawl here with FILE:LINE, not in a worker
    reason = paused_reason(site.name)
    if reason:
        raise CrawlPaused(f"site {site.name!r} is paused: {reason} (after fixing it: trawl sites unpause {site.name})")
    clock = _normalise_clock(clock)
    home = ensure_home()  # the explicit step: a crawl writes runs, evidence and the index here
    run_dir: Path | None = None
    try:
        if resume:
            run_dir = resumable_run(site.name)
            run_id = run_dir.name
            previous = read_stats(run_dir) or {}
            clock = clock or previous.get("clock")
        else:
            run_id = new_run_id(site.name)
            run_dir = runs_dir() / run_id
            # the run dir appears with its stats in it ("running", pid, clock): a run killed
            # at any moment before its spider opens is resumable and keeps its clock
            staging = runs_dir() / f".{run_id}.new"
            staging.mkdir(parents=True)
            clock = clock or utc_now_iso()
            write_stats(staging, {"run_id": run_id, "site": site.name, "status": "running", "pid": os.getpid(),
                                  "clock": clock})
            staging.rename(run_dir)
        frontier = Frontier(run_dir / FRONTIER_FILE, group_commit=GROUP_COMMIT_SECONDS)
    except (OSError, sqlite3.Error) as exc:
        if not is_local_failure(exc):
            raise
        where = run_dir or runs_dir()
        raise CrawlFailed(f"crawl of {site.name} could not start: {describe(exc)} (run dir {where})") from None
    try:
        return _crawl(site, frontier, run_id=run_id, run_dir=run_dir, home=home, resume=resume, clock=clock,
                      page_budget=page_budget, day=day, progress=progress, workers=workers)
    finally:
        frontier.close()


class _Watch(logging.Handler):
    """Remembers whether the spider opened and the last error logged (for 'could not start')."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.opened = False
        self.last_error = ""
        self.last_exc: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last_error = record.getMessage().splitlines()[0] if record.getMessage() else self.last_error
        self.last_exc = record.exc_info[1] if record.exc_info else None
        if self.last_exc is not None:
            self.last_error += f" ({describe(self.last_exc)})"

    def spider_opened(self, spider: Any = None) -> None:
        self.opened = True


def _crawl(site: SiteConfig, frontier: Frontier, *, run_id: str, run_dir: Path, home: Path, resume: bool,
           clock: str | None, page_budget: int | None, day: int | None, progress: bool,
           workers: int | None = None) -> RunResult:
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from twisted.python.failure import Failure

    from crawler.engine.settings import build_settings
    from crawler.engine.spider import TrawlSpider

    settings = build_settings(site, run_id=run_id, run_dir=run_dir, home=home, page_budget=page_budget)
    settings["TRAWL_CLOCK"] = clock or utc_now_iso()
    # crawler.engine.logsetup owns the handlers; LOG_LEVEL only sets what Scrapy counts in log_count/*
    settings["LOG_INSTALL_ROOT_HANDLER"] = False
    settings["LOG_LEVEL"] = logging.getLevelName(logging.getLogger().level or logging.WARNING)
    settings["TRAWL_PROGRESS"] = progress
    settings["TRAWL_FREEZE_HEAP"] = True  # this process is this crawl's (see TrawlItemPipeline.open_spider)
    from crawler.engine.workers_config import evidence_on, resolve_workers

    settings["TRAWL_WORKERS"] = resolve_workers(workers, load_config().crawl_workers, evidence_on(settings))
    settings["TRAWL_WORKERS_HELP_AT_CLOSE"] = load_config().crawl_workers_help_at_close
    watch = _Watch()
    logging.getLogger().handlers.insert(0, watch)  # first: the console's redaction folds exc_info away
    try:
        process = CrawlerProcess(settings)
        logsetup.after_scrapy_logging()  # Scrapy's configure_logging reset our warnings hook and levels
        crawler = process.create_crawler(TrawlSpider)
        crawler.signals.connect(watch.spider_opened, signal=signals.spider_opened)
        crashed: list[BaseException] = []  # the crawl itself failed (e.g. a stage could not open)

        def keep_crash(failure: Failure) -> None:  # handled here: no "Unhandled error in Deferred"
            crashed.append(failure.value or RuntimeError(failure.getErrorMessage()))

        done: Any = process.crawl(crawler, site=site, frontier=frontier, run_id=run_id, resume=resume)
        done.addErrback(keep_crash)
        process.start()
    finally:
        logging.getLogger().removeHandler(watch)
    record: dict[str, Any] | None = getattr(crawler, "trawl_result", None)
    if crashed or (record is None and not watch.opened):
        # a component failed to start (the browser, the index, the proxy settings...)
        exc = crashed[0] if crashed else watch.last_exc
        why = describe(exc) if crashed and exc is not None else watch.last_error or "see the log (run with -v)"
        failed = {**(record or {"run_id": run_id, "site": site.name, "pid": os.getpid()}),
                  "status": "failed", "failure": f"could not start: {why}"}
        _try_write_stats(run_dir, failed)
        alert_run_end(failed)  # e.g. the index could not be opened
        if isinstance(exc, TrawlError) and not isinstance(exc, CrawlFailed):  # the user's file or setting: exit 2
            raise TrawlError(f"crawl of {site.name} could not start (run {run_id}): {exc}")
        raise CrawlFailed(f"crawl of {site.name} could not start (run {run_id}): {why}")
    if record is None:
        # the spider ran but its close could not be recorded (e.g. stats.json on a full disk)
        raw = crawler.stats.get_stats()
        record = {"run_id": run_id, "site": site.name, "status": str(raw.get("finish_reason", "failed")),
                  "finish_reason": raw.get("finish_reason"), **summarise(raw), "stats": dict(raw)}
    record["clock"] = settings["TRAWL_CLOCK"]
    if day is not None:
        record["testbed_day"] = day
    settle_status(record, segment=crawler.stats.get_stats())
    problem = _try_write_stats(run_dir, record)
    if problem and record.get("status") != "failed":
        record["status"] = "failed"
        record["failure"] = f"local failure: could not write {run_dir}/stats.json: {problem}"
    alert_run_end(record)  # degraded/failed/recovered, price moves of watched substances (never raises)
    from crawler.engine.markets_runs import record_run

    record_run(site, record)  # market lifecycle: up/down/seized, one alert per change (never raises)
    return RunResult(run_id=run_id, site=site.name, run_dir=run_dir, status=record.get("status", "unknown"),
                     stats=record)


def _try_write_stats(run_dir: Path, record: dict[str, Any]) -> str | None:
    try:
        write_stats(run_dir, record)
    except OSError as exc:
        logging.getLogger(__name__).error("could not write %s/stats.json: %s", run_dir, describe(exc))
        return describe(exc)
    return None


def list_runs(site: str | None = None) -> list[dict[str, Any]]:
    out = []
    for run_dir in sorted(runs_dir().iterdir() if runs_dir().is_dir() else (), reverse=True):
        if not run_dir.is_dir() or run_dir.name.startswith(".") or (site and not run_dir.name.startswith(f"{site}-")):
            continue
        # no stats yet: killed (or failed) before the spider opened; `--resume` picks it up
        stats = read_stats(run_dir) or {"run_id": run_dir.name, "status": "interrupted"}
        if stats.get("status") == "running" and not pid_alive(stats.get("pid")):
            stats["status"] = "interrupted"  # killed without closing: `trawl crawl SITE --resume`
        headline = {k: v for k, v in stats.items() if k != "stats"}
        headline.setdefault("run_id", run_dir.name)
        headline["run_dir"] = str(run_dir)
        out.append(headline)
    return out
