"""Item pipeline stages: small, one concern each (validate, unchanged, parse, enrich, store).

An item is the dict the spider yields: {"type": "listing"|"vendor", "site", "url", "key",
"mirror", "fields": raw page-object fields, "evidence", ...}; stages add to it.  Every drop
names its reason and is counted as `item_dropped_reasons/<reason>` in the run stats.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from scrapy.exceptions import DropItem


class Drop(DropItem):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class Stage:
    """Base: keeps the crawler (stats, settings, spider) and counts named drops."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.clock = crawler.settings.get("TRAWL_CLOCK") or datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    @classmethod
    def from_crawler(cls, crawler: Any) -> Stage:
        return cls(crawler)

    def drop(self, item: dict[str, Any], reason: str, message: str) -> None:
        self.stats.inc_value(f"item_dropped_reasons/{reason}")
        frontier = getattr(self.crawler.spider, "frontier", None)
        if frontier is not None and item.get("key"):
            frontier.done(item["key"])  # the page was handled: its drop is recorded, not retried
        raise Drop(reason, f"{message} ({item.get('url')})")
