"""Store: build index records from a parsed item, write them as one unit, then mark the
page done in the frontier (the order that makes SIGKILL-and-resume lose nothing)."""
from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urljoin

from crawler.stages import Stage
from enrich.alerts import alert_new_candidates
from index import open_index
from index.api import IndexBackend
from index.model import Evidence, Listing, Vendor, snapshot_of


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


class StoreStage(Stage):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.run_id = crawler.settings.get("TRAWL_RUN_ID", "")
        self.known_tokens: set[str] | None = None

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
        backend = getattr(self.crawler, "_trawl_index", None)
        if backend is not None:
            backend.close()
            self.crawler._trawl_index = None

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        backend = index_for(self.crawler)
        if item["type"] == "listing":
            self.alert_new_candidates(backend, item.get("candidates", []))
            counts = self._store_listing(backend, item)
        else:
            counts = self._store_vendor(backend, item)
        for kind, n in counts.items():
            self.stats.inc_value(f"trawl/stored/{kind}", n)
        if self.known_tokens is not None:
            self.known_tokens.update(c.token for c in item.get("candidates", []))
        frontier = getattr(self.crawler.spider, "frontier", None)
        if frontier is not None:
            frontier.done(item["key"])
        return item

    def _store_listing(self, backend: IndexBackend, item: dict[str, Any]) -> dict[str, int]:
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
        return backend.write(listings=[listing], snapshots=[snapshot_of(listing, self.run_id)], vendors=vendors,
                             candidates=item.get("candidates", []))

    def _store_vendor(self, backend: IndexBackend, item: dict[str, Any]) -> dict[str, int]:
        vendor: Vendor = item["vendor_record"]
        vendor.evidence = evidence_of(item, self.run_id)
        return backend.write(vendors=[vendor])
