"""How a crawl ended, told honestly: exit codes, "every page failed", and local failures.

Exit codes of `trawl crawl` (also used by the scheduler and the demo):

    0  finished (or stopped at its page budget)
    2  user error: unknown site, invalid YAML, bad option
    3  paused: a gate/captcha or a failed login waits for a human
    4  failed: network/proxy down (every page failed), a local failure (disk full, run
       dir not writable), or the crawl could not start
    5  degraded: the crawl finished, but the index was unavailable: records were spooled
       (`trawl index flush` writes them once it is back) or unchanged-page checks skipped
  130  interrupted (Ctrl-C / SIGTERM): `trawl crawl SITE --resume` continues it

A *local* failure is one of ours, not the site's: ENOSPC or EACCES on our own files, a
read-only or full SQLite database.  Retrying another mirror cannot help and would mark
a healthy site as failing, so the crawl stops at once, keeps what it stored, and says so.
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from typing import Any

from core.errors import TrawlError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_FAILED = 4
EXIT_DEGRADED = 5  # index unavailable: records spooled, reads degraded
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 finished (or page budget reached); 2 user error (unknown site, invalid "
    "YAML, bad option); 3 paused at a gate/captcha/login, waiting for a human; 4 failed "
    "(proxy/network down so every page failed, disk full or run dir not writable, could not "
    "start); 5 degraded (finished, but the index was unavailable: records spooled for `trawl index flush`); "
    "130 interrupted."
)

LOCAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.EMFILE, errno.ENFILE})
# primary SQLite result codes that mean "our database file", not the site
SQLITE_LOCAL_CODES = frozenset({3, 8, 10, 13, 14})  # PERM, READONLY, IOERR, FULL, CANTOPEN
LOCAL_ERROR_REASON = "local_error"


_local_failure_seen = False


def local_failure_seen() -> bool:
    """Whether this process already stopped a crawl on a local failure."""
    return _local_failure_seen


class CrawlFailed(TrawlError):
    """The crawl could not start or failed for a reason that is not the user's input."""

    exit_code = EXIT_FAILED


class CrawlPaused(TrawlError):
    """The site waits for a human (captcha solved, cookies imported, then unpaused)."""

    exit_code = EXIT_PAUSED


def is_local_failure(exc: BaseException | None) -> bool:
    """True for errors of this machine's own storage, never for network errors."""
    if exc is None:
        return False
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in SQLITE_LOCAL_CODES
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError | TimeoutError):
        return exc.errno in LOCAL_ERRNOS
    return False


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def stop_on_local_failure(crawler: Any, exc: BaseException | None) -> bool:
    """If `exc` is a local failure: record it, stop the crawl (once) and return True.

    Called by the spider's errback for every failed request (a downloader middleware
    writing the WARC or the frontier may have raised) and by LocalFailureGuard (item
    pipeline, spider callbacks).  The first failure of the run is kept in the stats."""
    global _local_failure_seen
    if exc is not None and crawler.stats.get_value("trawl/first_error") is None:
        # every request failure passes here: the first one explains an "every page failed"
        first_line = (describe(exc).strip().splitlines() or [type(exc).__name__])[0]
        crawler.stats.set_value("trawl/first_error", first_line[:300])
    if exc is None or not is_local_failure(exc):
        return False
    _local_failure_seen = True
    stats = crawler.stats
    if stats.get_value("trawl/local_error") is None:
        message = describe(exc)
        stats.set_value("trawl/local_error", message)
        logger.error("local failure, stopping the crawl: %s (not the site's fault: no mirror rotated; "
                     "what was stored is kept; fix it, then resume with --resume)", message)
        spider = getattr(crawler, "spider", None)
        engine = getattr(crawler, "engine", None)
        if spider is not None and engine is not None:
            engine.close_spider(spider, LOCAL_ERROR_REASON)
    stats.inc_value("trawl/local_error_count")
    return True


class LocalFailureGuard:
    """Stops the crawl on a local failure raised in a spider callback or an item stage."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> LocalFailureGuard:
        from scrapy import signals  # here: the CLI imports this module for its exit codes

        guard = cls(crawler)
        crawler.signals.connect(guard.item_error, signal=signals.item_error)
        crawler.signals.connect(guard.spider_error, signal=signals.spider_error)
        return guard

    def item_error(self, item: Any = None, response: Any = None, spider: Any = None, failure: Any = None) -> None:
        stop_on_local_failure(self.crawler, getattr(failure, "value", None))

    def spider_error(self, failure: Any = None, response: Any = None, spider: Any = None) -> None:
        stop_on_local_failure(self.crawler, getattr(failure, "value", None))


def ok_responses(raw: dict[str, Any]) -> int:
    """Responses with a 2xx/3xx status in Scrapy's raw stats."""
    prefix = "downloader/response_status_count/"
    return sum(int(n) for key, n in raw.items() if key.startswith(prefix) and key[len(prefix):][:1] in ("2", "3"))


def settle_status(record: dict[str, Any], segment: dict[str, Any] | None = None) -> None:
    """Turn the close reason into an honest status (in place): a crawl that stopped on a
    local failure, or where every page failed, is 'failed', with `failure` saying why; one
    that finished while the index was unavailable is 'degraded', with `degraded` saying why.

    `segment` is Scrapy's raw stats of this process only: a resumed run whose earlier
    segments fetched pages still failed if nothing was fetched now (default: the record's)."""
    status = record.get("status")
    raw = segment if segment is not None else (record.get("stats") or {})
    local = raw.get("trawl/local_error") or (record.get("stats") or {}).get("trawl/local_error")
    errors = sum(int(v) for k, v in raw.items() if k.startswith("trawl/errors/")) if raw else record.get("errors", 0)
    if record.get("finish_reason") == LOCAL_ERROR_REASON or local:
        record["status"] = "failed"
        record["failure"] = f"local failure: {local or 'see the log'}"
    elif status in ("finished", "budget_reached") and errors and not ok_responses(raw):
        kinds = ", ".join(f"{k}={v}" for k, v in sorted((record.get("errors_by_kind") or {}).items()))
        first = raw.get("trawl/first_error")
        record["status"] = "failed"
        record["failure"] = (f"every page failed ({kinds or errors}"
                             + (f"; first: {first}" if first else "")
                             + "): is the site, the proxy or the browser down?")
    if record.get("status") in ("finished", "budget_reached"):
        # whole-run stats: a resumed run whose first segment spooled is still degraded
        degraded = index_degradation(record.get("stats") or raw)
        if degraded:
            record["status"] = "degraded"
            record["degraded"] = degraded


def index_degradation(stats: dict[str, Any]) -> str | None:
    """Why a run is degraded, from its flat stats: records spooled, index reads that failed."""
    spooled = int(stats.get("trawl/stored/spooled") or 0)
    reads = int(stats.get("trawl/index/degraded_reads") or 0)
    if not spooled and not reads:
        return None
    parts = ([f"{spooled} records spooled (run `trawl index flush` once the index is back)"] if spooled else []) \
        + ([f"{reads} index reads skipped (pages treated as changed)"] if reads else [])
    return "index unavailable: " + ", ".join(parts)


def exit_code_for(status: str) -> int:
    if status in ("finished", "budget_reached"):
        return EXIT_OK
    if status == "paused":
        return EXIT_PAUSED
    if status == "degraded":  # finished, but the index was unavailable (index_degradation)
        return EXIT_DEGRADED
    if status in ("shutdown", "interrupted"):
        return EXIT_INTERRUPTED
    if status == "login_refused":  # the site YAML must change (login by GET): the user's to fix
        return EXIT_USAGE
    return EXIT_FAILED
