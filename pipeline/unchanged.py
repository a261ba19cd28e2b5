"""Unchanged-page detection: a content hash of the extracted fields (`RawPage.fields_hash`).

When a listing's hash equals the stored one and the stored record was extracted by the
current extraction version (pipeline/version.py), parse and enrich are skipped and the stored
record is reused (a snapshot is still written: every crawl adds a point to price history).

The check only saves work, so it must never cost an item: when the index cannot be read
(Elasticsearch down, or a URL that is not Elasticsearch) the page is treated as changed,
parsed in full and written (the backend spools what it cannot index), and the read is
counted as `trawl/index/degraded_reads`; the run then ends "degraded" (exit 5).  After a
failed read the index is not asked again for `retry_after` seconds, so a dead server costs
one connection attempt per interval, not one per page."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from core.errors import TrawlError
from core.items import RawListing
from core.records import Listing
from index.api import IndexBackend
from pipeline.stats import StatsCounter, Tally
from pipeline.version import site_version

Novelty = Literal["new", "changed", "unchanged"]
DEGRADED_READS = "trawl/index/degraded_reads"
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seen:
    """What the index already holds for a listing page: counted as `trawl/listings/<novelty>`."""

    novelty: Novelty
    stored: Listing | None = None  # the stored record, when the page is unchanged
    degraded: bool = False  # the index could not be read: "changed" is an assumption


class IndexReads:
    """Reads that only optimise, degraded to a fallback while the index is unavailable."""

    def __init__(self, index: IndexBackend, stats: StatsCounter | None = None, *, retry_after: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.index = index
        self.stats: StatsCounter = stats if stats is not None else Tally()
        self.retry_after = retry_after
        self.monotonic = monotonic
        self.down_until: float | None = None
        self.failures = 0

    def read(self, what: str, fn: Callable[[], T], fallback: T) -> tuple[T, bool]:
        """(fn(), True), or (fallback, False) counted as a degraded read when the index is unavailable."""
        if self.down_until is not None and self.monotonic() < self.down_until:
            self.stats.inc_value(DEGRADED_READS)
            return fallback, False
        try:
            value = fn()
        except TrawlError as exc:  # the backends' one-line "unreachable"/"not Elasticsearch" errors
            self.failures += 1
            self.down_until = self.monotonic() + self.retry_after
            self.stats.inc_value(DEGRADED_READS)
            log.warning("index unavailable while %s, carrying on without it (pages treated as changed, "
                        "writes spooled; retry in %.0fs): %s", what, self.retry_after, exc)
            return fallback, False
        if self.down_until is not None:
            log.warning("index readable again (after %d failed reads)", self.failures)
            self.down_until = None
        return value, True


def check_unchanged(raw: RawListing, index: IndexBackend, reads: IndexReads | None = None) -> Seen:
    reads = reads or IndexReads(index)
    existing, ok = reads.read("checking for an unchanged page", lambda: index.get_listing(raw.listing_id), None)
    if not ok:
        return Seen("changed", degraded=True)
    if existing is None:
        return Seen("new")
    # same raw fields read by another site YAML, parser or list version: parsed again
    if existing.content_hash == raw.fields_hash and existing.extraction_version == site_version(raw.site):
        return Seen("unchanged", existing)
    return Seen("changed")
