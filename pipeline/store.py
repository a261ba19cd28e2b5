"""Store: build index records from a parsed page, and write them in batches.

Records are buffered and written as one `IndexBackend.write()` per batch (`size` items, or
`seconds` after the first buffered one, and at close): one SQLite transaction or one
Elasticsearch bulk request instead of one per listing.  The batch remembers the frontier
keys of its pages; `BatchHooks.after_write` gets them only once the write returned, so a
crawl killed with items still buffered replays those pages from their stored bodies on
`--resume`.  A failed write raises and calls no hook: its pages stay unfinished."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from core.items import RawListing, RawPage, RawVendor
from core.records import CandidateSubstance, Evidence, Listing, Records, Vendor, snapshot_of
from index.api import IndexBackend
from pipeline.stats import StatsCounter
from pipeline.version import site_version

VERSION_STAT = "trawl/extraction_versions/"  # + version: listings and vendors written with it (`trawl runs`)


def vendor_url(raw: RawListing) -> str:
    href = raw.fields.get("vendor_url")
    return urljoin(raw.url, href) if isinstance(href, str) and href else ""


def evidence_of(raw: RawPage, run_id: str) -> Evidence:
    """The page's evidence reference, completed with the crawl's run and how it was fetched."""
    evidence = dataclasses.replace(raw.fetch.evidence)
    evidence.run_id = evidence.run_id or run_id
    evidence.mirror = evidence.mirror or raw.fetch.mirror
    evidence.proxy = evidence.proxy or raw.fetch.proxy
    return evidence


PageRecords = Records  # what one page adds to the index: the one batch type, core.records.Records


def listing_records(raw: RawListing, listing: Listing, candidates: list[CandidateSubstance], *,
                    run_id: str, when: str) -> PageRecords:
    """The listing (with its evidence), its snapshot, its vendor as the listing names it.

    A listing parsed now is stamped with the site's current extraction version; a stored
    record reused unchanged (`unchanged_listing`) keeps the version that produced it."""
    listing.evidence = evidence_of(raw, run_id)
    if not listing.extraction_version:
        listing.extraction_version = site_version(raw.site)
    listing.first_seen = listing.first_seen or when
    vendors = []
    if listing.vendor and listing.vendor_id:
        vendors.append(Vendor(vendor_id=listing.vendor_id, site=listing.site, name=listing.vendor,
                              url=vendor_url(raw), first_seen=when, last_seen=when, evidence=listing.evidence,
                              extraction_version=listing.extraction_version))
    return PageRecords([listing], [snapshot_of(listing, run_id)], vendors, list(candidates))


def unchanged_listing(raw: RawListing, stored: Listing, when: str) -> Listing:
    """The stored record seen again: same content, this crawl's URL and times."""
    return dataclasses.replace(stored, url=raw.url, crawled_at=when, last_seen=when)


def vendor_records(raw: RawVendor, vendor: Vendor, *, run_id: str) -> PageRecords:
    vendor.evidence = evidence_of(raw, run_id)
    vendor.extraction_version = vendor.extraction_version or site_version(raw.site)
    return PageRecords(vendors=[vendor])


def _nothing() -> None:
    pass


def _no_keys(keys: list[str]) -> None:
    pass


@dataclass
class BatchHooks:
    """What the caller does around a batch (the crawler: timers, evidence, frontier)."""

    opened: Callable[[], None] = _nothing  # the first item of a new batch arrived
    closing: Callable[[], None] = _nothing  # a flush starts (whether or not anything is buffered)
    before_write: Callable[[], None] = _nothing  # records are about to be written; raising aborts
    after_write: Callable[[list[str]], None] = _no_keys  # written: the keys of the pages they came from


@dataclass
class Batch:
    """Records waiting for one write, and the page keys they complete."""

    records: PageRecords = field(default_factory=PageRecords)
    keys: list[str] = field(default_factory=list)
    started: float = 0.0

    def __len__(self) -> int:
        return len(self.keys)


class BatchWriter:
    """Buffers page records and writes them through `index` in batches (see module doc)."""

    def __init__(self, index: IndexBackend, stats: StatsCounter, *, size: int, seconds: float,
                 hooks: BatchHooks | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.index, self.stats = index, stats
        self.size, self.seconds = max(1, size), seconds
        self.hooks = hooks or BatchHooks()
        self.monotonic = monotonic
        self.batch = Batch()

    def __len__(self) -> int:
        return len(self.batch)

    def add(self, records: PageRecords, key: str) -> None:
        """Buffer one page's records; writes the batch when it is full or old enough."""
        if not self.batch:
            self.batch.started = self.monotonic()
            self.hooks.opened()
        self.batch.records.extend(records)
        self.batch.keys.append(key)
        if len(self.batch) >= self.size or self.monotonic() - self.batch.started >= self.seconds:
            self.flush()

    def finish_page(self, key: str) -> None:
        """A page that adds no records (its item was dropped) is done once everything buffered
        before it is written: a grid page's earlier cards may still sit in this batch under the
        same key, and marking the page done now would let a kill lose them on resume."""
        if self.batch:
            self.batch.keys.append(key)
        elif key:
            self.hooks.after_write([key])

    def flush(self) -> None:
        """Write the buffered records as one unit, then hand their page keys to `after_write`."""
        batch, self.batch = self.batch, Batch()
        self.hooks.closing()
        if not batch:
            return
        self.hooks.before_write()
        records = batch.records
        counts = self.index.write(records)
        for kind, n in counts.items():
            self.stats.inc_value(f"trawl/stored/{kind}", n)
        for version in [x.extraction_version for x in records.listings] + [v.extraction_version for v in records.vendors]:
            self.stats.inc_value(VERSION_STAT + (version or "unversioned"))
        self.stats.inc_value("trawl/store/batches")
        self.hooks.after_write([key for key in batch.keys if key])
