"""A live progress line on stderr while a crawl runs (only on a terminal).

    nightshade ━━━━━━━╺━━━━━━━━━  84/1000 pages · 41 listings · 0 errors · 9.8 pages/s · ETA ≤ 1:33

`trawl crawl` enables it (TRAWL_PROGRESS) when stderr is a TTY and neither --json nor
--quiet was given; the ETA is against the page budget, so it is an upper bound.
Log records printed meanwhile appear above the line (rich redirects sys.stderr).
"""
from __future__ import annotations

import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawler.engine.runstats import summarise

REFRESH_SECONDS = 0.5


def format_eta(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(stats: dict[str, Any], elapsed: float, budget: int) -> str:
    """The figures of the line, from Scrapy's raw stats."""
    headline = summarise(stats)
    pages, listings, errors = headline["pages"], headline["listings"], headline["errors"]
    rate = pages / elapsed if elapsed > 0 else 0.0
    parts = [f"{pages}/{budget} pages" if budget else f"{pages} pages", f"{listings} listings",
             f"{errors} error{'s' if errors != 1 else ''}", f"{rate:.1f} pages/s"]
    if budget and rate > 0 and pages < budget:
        parts.append(f"ETA ≤ {format_eta((budget - pages) / rate)}")
    return " · ".join(parts)


class ProgressExtension:
    def __init__(self, crawler: Any, budget: int) -> None:
        self.crawler, self.budget = crawler, budget
        self.progress: Any = None
        self.task_id: Any = None
        self.loop: task.LoopingCall | None = None
        self.opened_at = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProgressExtension:
        if not crawler.settings.getbool("TRAWL_PROGRESS"):
            raise NotConfigured  # no message: Scrapy would log one as a warning
        ext = cls(crawler, crawler.settings.getint("CLOSESPIDER_PAGECOUNT"))
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.closed, signal=signals.engine_stopped)
        return ext

    def opened(self, spider: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        columns: list[Any] = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
        if self.budget:
            columns.append(BarColumn(bar_width=20))
        columns.append(TextColumn("{task.fields[line]}"))
        self.progress = Progress(*columns, console=Console(stderr=True), transient=True, auto_refresh=False,
                                 redirect_stdout=False)
        self.progress.start()
        self.task_id = self.progress.add_task(self.crawler.settings.get("TRAWL_SITE", "crawl"),
                                              total=self.budget or None, line="starting")
        self.opened_at = time.monotonic()
        self.loop = task.LoopingCall(self.refresh)
        self.loop.start(REFRESH_SECONDS, now=True)

    def refresh(self) -> None:
        if self.progress is None:
            return
        stats = self.crawler.stats.get_stats()
        line = progress_text(stats, time.monotonic() - self.opened_at, self.budget)
        self.progress.update(self.task_id, completed=stats.get("response_received_count", 0), line=line)
        self.progress.refresh()

    def closed(self, spider: Any = None, reason: str = "") -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.progress is not None:
            self.refresh()  # the final figures, then the line goes (transient)
            self.progress.stop()
            self.progress = None
