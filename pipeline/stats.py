"""The counters the pipeline keeps: anything with Scrapy's `inc_value(key, count)`.

In a crawl it is Scrapy's stats collector (the names land in the run's stats.json); a
reprocess or an ingest can pass a `Tally` and read it afterwards."""
from __future__ import annotations

from collections import Counter
from typing import Protocol


class StatsCounter(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


class Tally:
    """A plain counter with the collector's interface (`get_value` as Scrapy's)."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count

    def get_value(self, key: str, default: int | None = None) -> int | None:
        return self.values.get(key, default)
