"""`trawl reprocess`: re-extract stored evidence with the current site YAML, page objects,
parsers and lists, with no network at all (docs/reprocess.md).

A reprocess is a run of its own (`$TRAWL_HOME/runs/<run_id>/stats.json`, kind "reprocess",
its source runs named) that reads its source runs' pages back from their WARCs
(crawler.evidence.reader.run_pages), reads them as a crawl would (crawler.engine.offline:
the same classification, page objects and grid-card merge), and parses and enriches every
item again.  Each listing is then compared with what the index holds for the same capture
(the listing's snapshot of that source run):

- same values (snapshot fields, and the listing's own fields when its stored record is from
  that capture): nothing is written, whatever the extraction version: a version that reads
  the same values is no news, and the stored record keeps the version that first produced them;
- other values: the new listing, its snapshot (dated at the capture, not now, stamped with the
  current extraction version) and its vendor/candidates are written, and the stored snapshot
  is kept beside it as `superseded` (history and exports show both; trends count the current
  one only).  The listing record follows index/merge.py: it is replaced only when this
  capture is its latest;
- no stored snapshot for that capture (another index, or a capture never stored): written as new.

`dry_run` does all of it but writes nothing, and counts the changed fields.
"""
from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.items import RawItem, RawListing, RawVendor
from core.records import Records, Snapshot, Vendor, to_dict
from core.timeutil import norm_time
from crawler.engine.frontier import page_key
from crawler.engine.offline import OfflineReader, PageItems, SavedPage, merge_batch
from crawler.evidence.reader import RecordRef, read_run_record, run_records
from crawler.sitedef.siteconfig import SiteConfig
from index.api import IndexBackend
from index.history import MAX_HISTORY, listing_snapshots
from pipeline import enrich, parse
from pipeline.stats import StatsCounter, Tally
from pipeline.store import BatchWriter, listing_records, vendor_records
from pipeline.validate import Drop, validate
from pipeline.version import extraction_version

KIND = "reprocess"
FRONTIER_FILE = "frontier.sqlite"
# not values: where and when a record was seen, which version produced it, and a grid site's
# memory between crawls (page_fields, card_hash, field_sources: provenance, not values)
_LISTING_META = frozenset({"first_seen", "last_seen", "crawled_at", "evidence", "extraction_version", "url",
                           "page_fields", "page_crawled_at", "card_hash", "field_sources"})
_SNAPSHOT_META = frozenset({"listing_id", "crawled_at", "site", "run_id", "extraction_version", "superseded"})
_VENDOR_META = frozenset({"first_seen", "last_seen", "evidence", "extraction_version"})


@dataclass
class SourceRun:
    """A run whose evidence is re-read: its directory and the time its records were dated."""

    run_dir: Path
    kind: str  # crawl | ingest
    clock: str  # a crawl dates every record at its clock; "" = each page's capture time (ingest)

    @property
    def run_id(self) -> str:
        return self.run_dir.name


@dataclass
class ReprocessResult:
    site: str
    version: str
    run_id: str = ""  # "" for a dry run (nothing written, no run recorded)
    dry_run: bool = False
    source_runs: list[str] = field(default_factory=list)
    pages: int = 0
    listings: int = 0
    vendors: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    vendors_changed: int = 0
    superseded: Counter[str] = field(default_factory=Counter)  # version replaced -> snapshots
    fields_changed: Counter[str] = field(default_factory=Counter)  # field -> listings whose value changed
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "site": self.site, "run_id": self.run_id, "dry_run": self.dry_run,
                "extraction_version": self.version, "source_runs": self.source_runs, "pages": self.pages,
                "listings": self.listings, "vendors": self.vendors, "new": self.new, "changed": self.changed,
                "unchanged": self.unchanged, "vendors_changed": self.vendors_changed,
                "superseded_versions": dict(self.superseded), "fields_changed": dict(self.fields_changed),
                "skipped_by_reason": dict(self.skipped), "drops": sum(self.dropped.values()),
                "drops_by_reason": dict(self.dropped), "duration_s": round(self.duration_s, 3)}

    def add(self, other: ReprocessResult) -> None:
        """Count in what a worker process of the same reprocess counted (crawler.engine.reprocess_pool)."""
        for name in ("pages", "listings", "vendors", "new", "changed", "unchanged", "vendors_changed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("superseded", "fields_changed", "skipped", "dropped"):
            getattr(self, name).update(getattr(other, name))

    def summary_lines(self) -> list[str]:
        what = "dry run (nothing written)" if self.dry_run else f"reprocess run {self.run_id}"
        lines = [f"{self.site}: {what}: {len(self.source_runs)} source run(s), {self.pages} pages, "
                 f"{self.listings} listings ({self.changed} changed, {self.new} new, {self.unchanged} unchanged), "
                 f"{self.vendors_changed} of {self.vendors} vendors changed, extraction version {self.version}"]
        if self.fields_changed:
            verb = "would change" if self.dry_run else "changed"
            lines.append(f"  fields that {verb}: " + ", ".join(f"{name}={n}" for name, n in sorted(self.fields_changed.items())))
        if self.superseded:
            lines.append("  superseded versions: " + ", ".join(f"{v or 'unversioned'}={n}" for v, n in sorted(self.superseded.items())))
        if self.skipped or self.dropped:
            lines.append("  skipped: " + (", ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())) or "none")
                         + "; dropped: " + (", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"))
        return lines


# --- which runs ------------------------------------------------------------------------------

def _source_run(run_dir: Path) -> SourceRun | None:
    from crawler.engine.runstats import read_stats

    stats = read_stats(run_dir) or {}
    kind = str(stats.get("kind") or "crawl")
    if kind == KIND or not (run_dir / "manifest.jsonl").is_file():
        return None  # a reprocess has no evidence of its own; a run crawled with evidence off has none
    clock = norm_time(str(stats.get("clock") or ""), f"{run_dir}/stats.json clock") if kind == "crawl" else ""
    return SourceRun(run_dir, kind, clock)


def find_source_runs(runs_dir: Path, site: str, *, run_id: str | None = None, since: str | None = None) -> list[SourceRun]:
    """`run_id`'s run, or every run of `site` with evidence (crawls and ingests, oldest first,
    started at or after `since`), so the latest capture of a listing is re-read last."""
    from crawler.engine.runstats import read_stats

    if run_id:
        run_dir = runs_dir / run_id
        if not run_id or "/" in run_id or run_id.startswith(".") or not run_dir.is_dir():
            raise TrawlError(f"run {run_id!r}: no such run in {runs_dir} (see: trawl runs)")
        stats = read_stats(run_dir) or {}
        if stats.get("site") and stats["site"] != site:
            raise TrawlError(f"run {run_id}: a run of site {stats['site']!r}, not {site!r}")
        found = _source_run(run_dir)
        if found is None:
            raise TrawlError(f"run {run_id}: no evidence to re-read ({run_dir}/manifest.jsonl missing, or a reprocess run)")
        return [found]
    low = norm_time(since, "--since") if since else ""
    runs: list[tuple[str, SourceRun]] = []
    for run_dir in sorted(runs_dir.glob(f"{site}-*")) if runs_dir.is_dir() else []:
        stats = read_stats(run_dir) or {}
        if stats.get("site", site) != site:
            continue  # "pillhub-grid-..." is not a run of "pillhub"
        found = _source_run(run_dir)
        started = str(stats.get("clock") or stats.get("started_at") or "")
        if found is not None and (not low or norm_time(started or "", "started_at") >= low):
            runs.append((started, found))
    return [run for _, run in sorted(runs, key=lambda pair: pair[0])]


def frontier_kinds(run_dir: Path) -> dict[str, str]:
    """page key -> kind ("listing", "vendor", ...) as the run's frontier recorded it (read-only)."""
    path = run_dir / FRONTIER_FILE
    if not path.is_file():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, kind FROM frontier"))
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def saved_pages(run: SourceRun, home: Path) -> Iterator[SavedPage]:
    kinds = frontier_kinds(run.run_dir)
    for ref in run_records(run.run_dir, home):
        saved = saved_page(ref, kinds)
        if saved is not None:
            yield saved


def saved_page(ref: RecordRef, kinds: dict[str, str]) -> SavedPage | None:
    """The page a manifest entry names, with its kind as the run's frontier recorded it."""
    read = read_run_record(ref)
    if read is None:
        return None
    page, evidence = read
    key = page_key(page.url) if "://" in page.url else page.url
    return SavedPage(page, evidence, kind_hint=kinds.get(key, ""))


# --- comparing with what is stored -------------------------------------------------------------

def _values(record: Any, meta: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in to_dict(record).items() if k not in meta}


def changed_fields(old: Any, new: Any, meta: frozenset[str]) -> list[str]:
    """Names of the value fields that differ between two records of one kind.

    >>> a = Snapshot("s:1", "2026-01-01T00:00:00Z", "s", price_amount=5.0, extraction_version="v1")
    >>> changed_fields(a, dataclasses.replace(a, price_amount=6.0, extraction_version="v2"), _SNAPSHOT_META)
    ['price_amount']
    """
    before, after = _values(old, meta), _values(new, meta)
    return sorted(k for k in after if before.get(k) != after[k])


class Reprocessor:
    """Re-extracts one source run at a time into an index (or only counts, dry run)."""

    def __init__(self, site: SiteConfig, index: IndexBackend, result: ReprocessResult, stats: StatsCounter,
                 writer: BatchWriter | None) -> None:
        self.site, self.index, self.result, self.stats, self.writer = site, index, result, stats, writer
        self.version = result.version

    def run(self, source: SourceRun, home: Path) -> None:
        for item, when in self.read(source, home):
            self.process(item, source, when)

    def read(self, source: SourceRun, home: Path) -> list[tuple[RawItem, str]]:
        """A run's items as a crawl would have yielded them (grid cards merged), each with the
        time it is dated at, in capture order; pages and skips are counted here."""
        reader = OfflineReader(self.site, self.stats)
        return self.merged(source, [reader.read(saved) for saved in saved_pages(source, home)])

    def merged(self, source: SourceRun, read: list[PageItems]) -> list[tuple[RawItem, str]]:
        """`read` (a run's pages as read, in capture order) as items to process (see `read`)."""
        self.result.pages += len(read)
        for entry in read:
            if entry.skipped:
                self.result.skipped[entry.skipped] += 1
        stored_page = self._stored_page if self.site.grid is not None else None
        return [(item, source.clock or norm_time(captured_at or utc_now_iso(seconds=False), "capture time"))
                for item, captured_at in sorted(merge_batch(read, stored_page), key=lambda pair: pair[1])]

    def process(self, item: RawItem, source: SourceRun, when: str) -> None:
        """Validate, parse, enrich, compare with the stored capture and write one item."""
        try:
            validate(item)
        except Drop as drop:
            self.result.dropped[drop.reason] += 1
            self.stats.inc_value(f"item_dropped_reasons/{drop.reason}")
            return
        if isinstance(item, RawListing):
            if self.site.grid is None and item.page_fields:  # as a crawl stores a non-grid site's listing
                item = dataclasses.replace(item, page_fields={}, page_crawled_at="")
            self._listing(item, source, when)
        elif isinstance(item, RawVendor):
            self._vendor(item, source, when)

    def _stored_page(self, listing_id: str) -> tuple[dict[str, Any], str] | None:
        stored = self.index.get_listing(listing_id)
        return (stored.page_fields, stored.page_crawled_at) if stored is not None and stored.page_fields else None

    def _stored_snapshot(self, listing_id: str, source: SourceRun, when: str) -> Snapshot | None:
        """The current snapshot this capture stored: same time, else the source run's only one."""
        current = [s for s in listing_snapshots(self.index, listing_id, MAX_HISTORY) if not s.superseded]
        same_time = [s for s in current if s.crawled_at == when]
        if same_time:
            return same_time[-1]
        of_run = [s for s in current if s.run_id == source.run_id]
        return of_run[0] if len(of_run) == 1 else None

    def _listing(self, raw: RawListing, source: SourceRun, when: str) -> None:
        result = self.result
        result.listings += 1
        stored_snapshot = self._stored_snapshot(raw.listing_id, source, when)
        when = stored_snapshot.crawled_at if stored_snapshot is not None else when
        listing = parse.parse_listing(raw, when)
        candidates = enrich.enrich_listing(raw, listing, when)
        listing.extraction_version = self.version
        records = listing_records(raw, listing, candidates, run_id=source.run_id, when=when)
        snapshot = records.snapshots[0]
        if stored_snapshot is None:
            result.new += 1
            self.stats.inc_value("trawl/listings/new")
            self._write(records)
            return
        changed = changed_fields(stored_snapshot, snapshot, _SNAPSHOT_META)
        stored_listing = self.index.get_listing(raw.listing_id)
        if stored_listing is not None and stored_listing.crawled_at == when:
            changed = sorted(set(changed) | set(changed_fields(stored_listing, listing, _LISTING_META)))
        if not changed:
            result.unchanged += 1
            self.stats.inc_value("trawl/listings/unchanged")
            return
        result.changed += 1
        self.stats.inc_value("trawl/listings/changed")
        result.fields_changed.update(changed)
        result.superseded[stored_snapshot.extraction_version] += 1
        old = dataclasses.replace(stored_snapshot, superseded=True)
        self._write(Records(records.listings, [old, snapshot], records.vendors, records.candidates))

    def _vendor(self, raw: RawVendor, source: SourceRun, when: str) -> None:
        self.result.vendors += 1
        vendor, _ = parse.parse_vendor(raw, when)
        enrich.enrich_vendor(raw, vendor)
        vendor.extraction_version = self.version
        records = vendor_records(raw, vendor, run_id=source.run_id)
        stored = _stored_vendor(self.index, vendor)
        if stored is not None and not changed_fields(stored, vendor, _VENDOR_META):
            return
        self.result.vendors_changed += 1
        self._write(records)

    def _write(self, records: Records) -> None:
        if self.writer is not None:
            self.writer.add(records, "")


def _stored_vendor(index: IndexBackend, vendor: Vendor) -> Vendor | None:
    return next((v for v in index.vendors(vendor.vendor_id) if v.vendor_id == vendor.vendor_id), None)


def reprocess(site: SiteConfig, sources: list[SourceRun], index: IndexBackend, *, home: Path, runs_dir: Path,
              dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
              workers: int = 0) -> ReprocessResult:
    """Re-read `sources` of `site` into `index` (see module doc); records a run unless `dry_run`.
    `workers` > 0: that many processes read the pages back and parse, enrich, compare and write
    the items this one routes to them (crawler.engine.reprocess_pool); 0: this process does all."""
    from crawler.engine.run import new_run_id
    from crawler.engine.runstats import write_stats

    started = time.monotonic()
    result = ReprocessResult(site=site.name, version=extraction_version(site), dry_run=dry_run,
                             source_runs=[s.run_id for s in sources])
    stats = Tally()
    writer = None if dry_run else BatchWriter(index, stats, size=200, seconds=3600)
    base: dict[str, Any] = {}
    run_dir: Path | None = None
    if not dry_run:
        result.run_id = new_run_id(site.name)
        run_dir = runs_dir / result.run_id
        run_dir.mkdir(parents=True)
        base = {"kind": KIND, "run_id": result.run_id, "site": site.name, "started_at": utc_now_iso(),
                "pid": os.getpid(), "source_runs": result.source_runs, "extraction_version": result.version}
        write_stats(run_dir, {**base, "status": "running"})
    status = "failed"
    try:
        reprocessor = Reprocessor(site, index, result, stats, writer)
        if workers > 0:
            _with_workers(reprocessor, sources, home, workers, progress)
        else:
            for number, source in enumerate(sources, start=1):
                reprocessor.run(source, home)
                if writer is not None:
                    writer.flush()
                if progress is not None:
                    progress(number, len(sources))
        status = "finished"
    finally:
        result.duration_s = time.monotonic() - started
        if run_dir is not None:
            write_stats(run_dir, {**base, **result.to_dict(), "status": status, "finished_at": utc_now_iso(),
                                  "snapshots": stats.values.get("trawl/stored/snapshots", 0),
                                  "stats": dict(stats.values)})
    return result


def _with_workers(reader: Reprocessor, sources: list[SourceRun], home: Path, workers: int,
                  progress: Callable[[int, int], None] | None) -> None:
    """A pool of `workers` processes reads every run's pages and processes its items; `reader`
    merges each run's grid cards and hands out the items (crawler.engine.reprocess_pool)."""
    from crawler.engine.reprocess_pool import PoolSpec, ReprocessPool, site_source

    site, result = reader.site, reader.result
    spec = PoolSpec(site_source=site_source(site), site_name=site.name, version=result.version,
                    dry_run=result.dry_run)
    with ReprocessPool(spec, workers) as pool:
        for number, source in enumerate(sources, start=1):
            read = pool.read(list(run_records(source.run_dir, home)))
            for item, when in reader.merged(source, read):
                pool.submit(item, source, when)
            if site.grid is not None and number < len(sources):
                pool.flush()  # the next run's cards are laid over the page fields this one wrote
            if progress is not None:
                progress(number, len(sources))
        for counted, values in pool.close():
            result.add(counted)
            for key, count in values.items():
                reader.stats.inc_value(key, count)
