"""The pipeline as one object: raw item → validate → unchanged? → parse → enrich → records.

`Processor.process(raw)` runs the stages over one `core.items.RawListing`/`RawVendor` and
returns what it produced (`Processed`: the records, or the named reason it was dropped);
`Pipeline` adds the batched write (pipeline.store.BatchWriter).  Neither knows Scrapy: the
crawler drives them through crawler/engine/itempipeline.py, and a reprocess or an ingest
command can call them with an index, a clock and a counter of their own.

Counters (`StatsCounter.inc_value`), as the run summary reads them:
`item_dropped_reasons/<reason>`, `trawl/listings/new|changed|unchanged`,
`trawl/parse_errors/<field>`, `trawl/alerts/new_substance`, `trawl/index/degraded_reads`
(pipeline.unchanged), and from the store
`trawl/stored/<kind>`, `trawl/store/batches`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.alerts import AlertSink
from core.clock import utc_now_iso
from core.items import RawItem, RawListing, RawVendor
from index.api import IndexBackend
from pipeline import enrich, parse
from pipeline.alerts import NewSubstanceAlerts, WatchAlerts
from pipeline.stats import StatsCounter, Tally
from pipeline.store import BatchHooks, BatchWriter, PageRecords, listing_records, unchanged_listing, vendor_records
from pipeline.unchanged import IndexReads, Novelty, check_unchanged
from pipeline.validate import Drop, validate
from pipeline.watch import WatchRules, load_watch_rules


def warm_up() -> None:
    """Load rate tables, place names, substance lists and PGP support before the first page."""
    parse.warm_up()
    enrich.warm_up()


@dataclass
class Processed:
    """One raw item's outcome: its records, or why it was dropped."""

    raw: RawItem
    records: PageRecords = field(default_factory=PageRecords)
    drop: Drop | None = None
    novelty: Novelty | None = None  # listings only
    parse_errors: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> bool:
        return self.drop is not None


class Processor:
    """Stages over one raw item at a time.

    index: read for unchanged pages and known substance tokens (writes are the store's);
    clock: the crawl's time (ISO-8601 UTC) stamped on every record, default now;
    run_id: the crawl run the evidence belongs to; alerts: the new-substance sink
    (None: the JSON-lines log under $TRAWL_HOME); watch: the watch rules (None: the
    configured watch.yaml, pipeline.watch), checked on new and changed listings."""

    def __init__(self, index: IndexBackend, *, clock: str | None = None, run_id: str = "",
                 stats: StatsCounter | None = None, alerts: AlertSink | None = None,
                 watch: WatchRules | None = None) -> None:
        warm_up()
        self.index = index
        self.clock = clock or utc_now_iso(seconds=False)
        self.run_id = run_id
        self.stats: StatsCounter = stats if stats is not None else Tally()
        self.reads = IndexReads(index, self.stats)  # an unavailable index degrades these reads, never drops the item
        self.alerts = NewSubstanceAlerts(index, self.stats, alerts, reads=self.reads)
        rules = watch if watch is not None else load_watch_rules()
        self.watch = WatchAlerts(index, self.stats, alerts, self.reads, rules)

    def process(self, raw: RawItem, clock: str | None = None) -> Processed:
        """`clock`: this item's own time (a saved page's capture time), default the processor's."""
        when = clock or self.clock
        try:
            validate(raw)
        except Drop as drop:
            self.stats.inc_value(f"item_dropped_reasons/{drop.reason}")
            return Processed(raw, drop=drop)
        result = self._listing(raw, when) if isinstance(raw, RawListing) else self._vendor(raw, when)
        self.alerts.seen(result.records.candidates)
        self.watch.check(result.records, result.novelty)
        return result

    def _listing(self, raw: RawListing, when: str) -> Processed:
        seen = check_unchanged(raw, self.index, self.reads)
        self.stats.inc_value(f"trawl/listings/{seen.novelty}")
        if seen.stored is not None:  # unchanged: the stored record, seen again (no parse, no enrich)
            listing = unchanged_listing(raw, seen.stored, when)
            records = listing_records(raw, listing, [], run_id=self.run_id, when=when)
            return Processed(raw, records, novelty=seen.novelty)
        listing = parse.parse_listing(raw, when)
        self._count_parse_errors(listing.parse_errors)
        candidates = enrich.enrich_listing(raw, listing, when)
        self.alerts.check(candidates)
        records = listing_records(raw, listing, candidates, run_id=self.run_id, when=when)
        return Processed(raw, records, novelty=seen.novelty, parse_errors=listing.parse_errors)

    def _vendor(self, raw: RawVendor, when: str) -> Processed:
        vendor, errors = parse.parse_vendor(raw, when)
        self._count_parse_errors(errors)
        # an unreadable PGP key is reported with the parse errors, not counted among them
        errors = errors + enrich.enrich_vendor(raw, vendor)
        return Processed(raw, vendor_records(raw, vendor, run_id=self.run_id), parse_errors=errors)

    def _count_parse_errors(self, errors: list[str]) -> None:
        for error in errors:
            self.stats.inc_value(f"trawl/parse_errors/{error.split(':', 1)[0]}")


class Pipeline:
    """A `Processor` whose records go to the index in batches (pipeline.store.BatchWriter).

    `hooks.after_write(keys)` is told which pages (`raw.fetch.key`) a written batch held:
    the crawler marks them done in its frontier there, and nowhere earlier."""

    def __init__(self, index: IndexBackend, *, clock: str | None = None, run_id: str = "",
                 stats: StatsCounter | None = None, alerts: AlertSink | None = None,
                 batch_size: int = 50, batch_seconds: float = 1.0, hooks: BatchHooks | None = None) -> None:
        self.processor = Processor(index, clock=clock, run_id=run_id, stats=stats, alerts=alerts)
        self.writer = BatchWriter(index, self.processor.stats, size=batch_size, seconds=batch_seconds, hooks=hooks)

    @property
    def stats(self) -> StatsCounter:
        return self.processor.stats

    def handle(self, raw: RawItem, clock: str | None = None) -> Processed:
        """Process one item and buffer its records (a dropped item buffers nothing)."""
        result = self.processor.process(raw, clock)
        if not result.dropped:
            self.writer.add(result.records, raw.fetch.key)
        return result

    def flush(self) -> None:
        self.writer.flush()
