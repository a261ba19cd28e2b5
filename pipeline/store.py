"""Store: build index records from parsed items, write them in batches, then mark the
pages done in the frontier (the order that makes SIGKILL-and-resume lose nothing).

Items are buffered and written as one `write()` per batch (TRAWL_STORE_BATCH items, or
TRAWL_STORE_BATCH_SECONDS after the first buffered one, and at close): one SQLite
transaction or one Elasticsearch bulk request instead of one per listing.  A page is
marked done only after the batch holding its items is written, so a crawl killed with
items still buffered replays those pages from their stored bodies on `--resume`."""
from __future__ import annotations

import dataclasses
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from core.records import Evidence, Listing, Vendor, snapshot_of
from crawler.evidence.writer import make_evidence_durable
from enrich.alerts import alert_new_candidates
from index import open_index
from index.api import IndexBackend
from pipeline import Stage

logger = logging.getLogger(__name__)


def index_for(crawler: Any) -> IndexBackend:
    """One index connection per crawl, shared by the stages that read or write it."""
    backend = getattr(crawler, "_trawl_index", None)
    if backend is None:
        backend = open_index()
        crawler._trawl_index = backend
    return backend


def vendor_url(item: dict[str, Any]) -> str:
    href = item["fields"].get("vendor_url")
    return urljoin(item["url"], href) if isinstance(href, str) and href else ""


def evidence_of(item: dict[str, Any], run_id: str) -> Evidence:
    raw = item.get("evidence") or {}
    names = {f.name for f in dataclasses.fields(Evidence)}
    evidence = Evidence(**{k: v for k, v in raw.items() if k in names})
    evidence.run_id = evidence.run_id or run_id
    evidence.mirror = evidence.mirror or item.get("mirror", "")
    evidence.proxy = evidence.proxy or item.get("proxy", "")
    return evidence


@dataclass
class Batch:
    """Records waiting for one write, and the frontier pages they complete."""

    listings: list[Listing] = field(default_factory=list)
    snapshots: list[Any] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)
    candidates: list[Any] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    started: float = 0.0

    def __len__(self) -> int:
        return len(self.keys)


class StoreStage(Stage):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.run_id = crawler.settings.get("TRAWL_RUN_ID", "")
        self.known_tokens: set[str] | None = None
        self.batch_size = max(1, crawler.settings.getint("TRAWL_STORE_BATCH"))
        self.batch_seconds = crawler.settings.getfloat("TRAWL_STORE_BATCH_SECONDS")
        self.batch = Batch()
        self._timer: Any = None

    def open_spider(self, spider: Any = None) -> None:
        index_for(self.crawler)  # open (and migrate) the index before fetching: a bad one fails early

    def alert_new_candidates(self, backend: IndexBackend, candidates: list[Any]) -> None:
        """Early warning: one alert per substance-like token the index has never seen."""
        if not candidates:
            return
        if self.known_tokens is None:
            self.known_tokens = {c.token for c in backend.candidates()}
        fresh = [c for c in candidates if c.token not in self.known_tokens]
        if fresh:
            events = alert_new_candidates(fresh, known_tokens=self.known_tokens)
            self.stats.inc_value("trawl/alerts/new_substance", len(events))

    def close_spider(self, spider: Any = None) -> None:
        try:
            self.flush()
        finally:
            backend = getattr(self.crawler, "_trawl_index", None)
            if backend is not None:
                backend.close()
                self.crawler._trawl_index = None

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        backend = index_for(self.crawler)
        if not self.batch:
            self.batch.started = time.monotonic()
            self._schedule_flush()
        if item["type"] == "listing":
            self.alert_new_candidates(backend, item.get("candidates", []))
            self._store_listing(item)
        else:
            self._store_vendor(item)
        if self.known_tokens is not None:
            self.known_tokens.update(c.token for c in item.get("candidates", []))
        self.batch.keys.append(item["key"])
        if len(self.batch) >= self.batch_size or time.monotonic() - self.batch.started >= self.batch_seconds:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered records as one unit, then mark their pages done."""
        batch, self.batch = self.batch, Batch()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if not batch:
            return
        make_evidence_durable(self.crawler)  # the records these items cite are chained first
        counts = index_for(self.crawler).write(listings=batch.listings, snapshots=batch.snapshots,
                                               vendors=batch.vendors, candidates=batch.candidates)
        for kind, n in counts.items():
            self.stats.inc_value(f"trawl/stored/{kind}", n)
        self.stats.inc_value("trawl/store/batches")
        frontier = getattr(self.crawler.spider, "frontier", None)
        if frontier is not None:
            frontier.done_many(batch.keys)

    def _schedule_flush(self) -> None:
        """A slow site must not leave its last items unwritten until the next one arrives."""
        # only a reactor that is already installed: importing one here would install the default
        reactor = sys.modules.get("twisted.internet.reactor")
        if self._timer is None and reactor is not None and reactor.running:
            self._timer = reactor.callLater(self.batch_seconds, self._flush_from_timer)

    def _flush_from_timer(self) -> None:
        self._timer = None
        try:
            self.flush()
        except Exception:  # logged; the pages stay unfinished and resume replays them
            logger.exception("writing a batch of stored items failed")
            self.stats.inc_value("trawl/errors/store")

    def _store_listing(self, item: dict[str, Any]) -> None:
        evidence = evidence_of(item, self.run_id)
        unchanged: Listing | None = item.get("unchanged")
        if unchanged is not None:
            listing = dataclasses.replace(unchanged, url=item["url"], crawled_at=self.clock, last_seen=self.clock, evidence=evidence)
        else:
            listing = item["listing"]
            listing.evidence = evidence
        listing.first_seen = listing.first_seen or self.clock
        vendors = []
        if listing.vendor and listing.vendor_id:
            vendors.append(Vendor(vendor_id=listing.vendor_id, site=listing.site, name=listing.vendor,
                                  url=vendor_url(item), first_seen=self.clock, last_seen=self.clock, evidence=evidence))
        self.batch.listings.append(listing)
        self.batch.snapshots.append(snapshot_of(listing, self.run_id))
        self.batch.vendors.extend(vendors)
        self.batch.candidates.extend(item.get("candidates", []))

    def _store_vendor(self, item: dict[str, Any]) -> None:
        vendor: Vendor = item["vendor_record"]
        vendor.evidence = evidence_of(item, self.run_id)
        self.batch.vendors.append(vendor)
