"""Alerts the pipeline raises: new substances, watched listings, vendors on a new market.

New substances: one alert per token the index has never seen.
The tokens the index knows are read once, on the first candidate of a crawl, then kept up
to date with every candidate the pipeline passes on; the sink keeps its own log of alerted
tokens too (enrich.alerts), so a killed and resumed crawl does not alert twice.
Watch rules (pipeline.watch): `WatchAlerts` below; the end-of-crawl alerts (run health,
price moves) are in pipeline.runalerts."""
from __future__ import annotations

from collections.abc import Iterable

from core.alerts import VENDOR_NEW_MARKET, WATCH_LISTING, AlertEvent, AlertSink, JsonlSink, now_utc
from core.records import CandidateSubstance, Listing, Records, Vendor
from core.vocabulary import name_key
from enrich.alerts import alert_new_candidates
from index.api import IndexBackend
from pipeline.stats import StatsCounter
from pipeline.unchanged import IndexReads
from pipeline.watch import WatchRules

ALERT_STAT = "trawl/alerts/new_substance"


class NewSubstanceAlerts:
    def __init__(self, index: IndexBackend, stats: StatsCounter, sink: AlertSink | None = None,
                 reads: IndexReads | None = None) -> None:
        self.index, self.stats, self.sink = index, stats, sink  # sink None: the JSON-lines log under $TRAWL_HOME
        self.reads = reads or IndexReads(index, stats)
        self.known_tokens: set[str] | None = None

    def check(self, candidates: list[CandidateSubstance]) -> None:
        """Alerts the candidates whose token is new, counting the alerts raised."""
        if not candidates:
            return
        if self.known_tokens is None:
            nothing: list[CandidateSubstance] = []
            stored, ok = self.reads.read("reading known substance tokens", lambda: self.index.candidates(), nothing)
            if not ok:
                # unknown which tokens are new: alerting all would flood, so none is alerted while
                # the index is unavailable (counted as a degraded read; the records are spooled)
                return
            self.known_tokens = {c.token for c in stored}
        fresh = [c for c in candidates if c.token not in self.known_tokens]
        if fresh:
            events = alert_new_candidates(fresh, known_tokens=self.known_tokens, sink=self.sink)
            self.stats.inc_value(ALERT_STAT, len(events))

    def seen(self, candidates: Iterable[CandidateSubstance]) -> None:
        """Remember tokens passed on to the store (once the index is read: before, it knows them)."""
        if self.known_tokens is not None:
            self.known_tokens.update(c.token for c in candidates)


class WatchAlerts:
    """One alert per new or changed listing that meets a watch rule, and one per vendor seen
    on a market other than those the index knows it from (pipeline.watch for the rules).

    Each alert carries a dedupe key (listing and content hash; vendor and market): a listing
    re-processed after a killed crawl is logged at most once more, and delivered once."""

    def __init__(self, index: IndexBackend, stats: StatsCounter, sink: AlertSink | None, reads: IndexReads,
                 rules: WatchRules) -> None:
        self.index, self.stats, self.reads, self.rules = index, stats, reads, rules
        self.sink: AlertSink = sink or JsonlSink()
        self.logged: dict[str, set[str]] = {}  # kind -> dedupe keys already in the log
        self.vendor_sites: dict[str, set[str]] | None = None  # identity key -> markets it is known on

    def check(self, records: Records, novelty: str | None) -> None:
        if novelty in ("new", "changed") and not self.rules.empty:
            for listing in records.listings:
                self._listing(listing, novelty)
        if self.rules.new_market_vendors != "off":
            for vendor in records.vendors:
                self._vendor(vendor)

    def _listing(self, listing: Listing, novelty: str) -> None:
        hits = self.rules.matches(listing)
        if not hits:
            return
        matched = ", ".join(f"{rule} {value}" for rule, value in hits)
        price = f" at ${listing.usd_per_unit:.2f}/{listing.quantity_unit}" if listing.usd_per_unit else ""
        self._emit(AlertEvent(
            kind=WATCH_LISTING, time=now_utc(),
            summary=f"{novelty} listing on {listing.site} ({matched}): {listing.title[:120]}{price}",
            data={"site": listing.site, "listing_id": listing.listing_id, "title": listing.title, "url": listing.url,
                  "vendor": listing.vendor, "origin": listing.origin, "price_usd": listing.price_usd,
                  "usd_per_unit": listing.usd_per_unit, "quantity_unit": listing.quantity_unit,
                  "substances": [s.name for s in listing.substances], "novelty": novelty,
                  "rules": [{"rule": rule, "value": value} for rule, value in hits],
                  "rule": hits[0][0], "crawled_at": listing.crawled_at,
                  "dedupe_key": f"{WATCH_LISTING}:{listing.listing_id}:{listing.content_hash}"}))

    def _vendor(self, vendor: Vendor) -> None:
        if self.rules.new_market_vendors == "watched" and not self.rules.watches_vendor(vendor.name):
            return
        known = self._known_vendor_sites()
        if known is None:
            return  # index unavailable: which markets know the vendor is unknown, so no alert
        identities = [f"name:{name_key(vendor.name)}"] + [f"pgp:{fp.upper()}" for fp in vendor.pgp_fingerprints]
        elsewhere = sorted({site for key in identities for site in known.get(key, set()) if site != vendor.site})
        here = any(vendor.site in known.get(key, set()) for key in identities)
        for key in identities:
            known.setdefault(key, set()).add(vendor.site)
        if not elsewhere or here:
            return
        self._emit(AlertEvent(
            kind=VENDOR_NEW_MARKET, time=now_utc(),
            summary=f"vendor {vendor.name!r} (known on {', '.join(elsewhere)}) seen on a new market: {vendor.site}",
            data={"site": vendor.site, "vendor": vendor.name, "vendor_id": vendor.vendor_id,
                  "known_on": elsewhere, "url": vendor.url, "rule": "new_market_vendors",
                  "pgp_fingerprints": list(vendor.pgp_fingerprints),
                  "dedupe_key": f"{VENDOR_NEW_MARKET}:{name_key(vendor.name)}:{vendor.site}"}))

    def _known_vendor_sites(self) -> dict[str, set[str]] | None:
        if self.vendor_sites is None:
            nothing: list[Vendor] = []
            stored, ok = self.reads.read("reading known vendors", lambda: self.index.vendors(), nothing)
            if not ok:
                return None
            self.vendor_sites = {}
            for vendor in stored:
                for key in [f"name:{name_key(vendor.name)}"] + [f"pgp:{fp.upper()}" for fp in vendor.pgp_fingerprints]:
                    self.vendor_sites.setdefault(key, set()).add(vendor.site)
        return self.vendor_sites

    def _emit(self, event: AlertEvent) -> None:
        key = event.dedupe_key or ""
        logged = self.logged.get(event.kind)
        if logged is None:
            logged = self.sink.recorded(event.kind, "dedupe_key") if isinstance(self.sink, JsonlSink) else set()
            self.logged[event.kind] = logged
        if key in logged:
            return
        logged.add(key)
        self.sink.emit(event)
        self.stats.inc_value(f"trawl/alerts/{event.kind}")
