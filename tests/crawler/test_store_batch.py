"""The store writes items per batch and marks their pages done only after the write.

Items go through the real pipeline (validate, unchanged, parse, enrich, store) into a real
SQLite index; the frontier is a real one, so "done" means what --resume reads.  The batch
rules are tested on `pipeline.Pipeline` with the frontier wired as the crawler wires it
(`BatchHooks.after_write`); what only a crawl has (closing the index, drops marking pages
done) on the Scrapy adapter, crawler/engine/itempipeline.py, with a real TrawlSpider."""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from core.errors import TrawlError
from core.items import EvidenceRef, Fetch, RawListing, RawVendor
from core.records import Vendor
from crawler.engine.frontier import Frontier, page_key
from crawler.engine.itempipeline import DroppedItem, TrawlItemPipeline
from crawler.engine.settings import BASE
from crawler.engine.spider import TrawlSpider
from crawler.sitedef.siteconfig import load_site
from index import open_index
from index.api import IndexBackend, SearchQuery
from index.sqlite_backend import SqliteBackend
from pipeline import BatchHooks, Pipeline, Processed, Tally

SITE, KIND = "nightshade", "darknet-market"
MIRROR = "http://lk2r3qhkh2nlbtkwndg45jtuowgav2t4dbaj4fknxqomeu5nt2hai4qd.onion"
CLOCK = "2024-05-01T12:00:00Z"
NEVER = 3600.0  # batch seconds that no test outlives


# --- raw items, as the spider's page objects yield them ------------------------------------

def fetch_of(path: str) -> tuple[str, Fetch]:
    url = MIRROR + path
    body = f"<html><body>{path}</body></html>".encode()
    evidence = EvidenceRef(warc_file="warc/run-1.warc.gz", warc_offset=len(path) * 1000,
                           payload_sha256=hashlib.sha256(body).hexdigest())
    return url, Fetch(key=page_key(url), mirror=MIRROR, proxy="socks5h://127.0.0.1:9050", evidence=evidence,
                      page_sha256=hashlib.sha256(body).hexdigest())


def raw_listing(native_id: int, vendor: str = "DutchGold", **overrides: Any) -> RawListing:
    url, fetch = fetch_of(f"/listing/{native_id}")
    fields = {
        "native_id": str(native_id), "title": f"Mephedrone 4-MMC crystal {native_id}g", "vendor": vendor,
        "vendor_url": f"/vendor/{vendor}", "feedback_count": "(12)", "price": f"${native_id * 10:,.2f}",
        "ships_from": "Netherlands", "ships_to": "Worldwide", "escrow": "Escrow Yes", "stock": "25",
        "price_tiers": ["1 g $10.00", "5 g $40.00"], "shipping_options": ["Standard (5-10 days) +$5.00"],
        "description": "Pure crystal. Contact wickr: dutchgold_nl", **overrides,
    }
    return RawListing(site=SITE, market_kind=KIND, url=url, fields=fields, fetch=fetch)


def raw_vendor(name: str = "DutchGold") -> RawVendor:
    url, fetch = fetch_of(f"/vendor/{name}")
    return RawVendor(site=SITE, market_kind=KIND, url=url, fetch=fetch, fields={
        "name": name, "sales": "(1,204)", "rating": "4.92", "joined": "01/02/2023", "pgp_key": "",
        "aliases": ["dutch_gold, DG-NL"], "identifiers_text": "BTC: bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    })


def fetched(frontier: Frontier, raw: RawListing | RawVendor) -> None:
    """Registered in the frontier and fetched (body kept), as the spider leaves a page."""
    frontier.add(raw.fetch.key, raw.kind)
    frontier.store_body(raw.fetch.key, raw.url, b"<html></html>", mirror=MIRROR)


# --- the pipeline, wired to a frontier as the crawler wires it ------------------------------

@dataclass
class Harness:
    pipeline: Pipeline
    index: SqliteBackend
    frontier: Frontier
    stats: Tally

    def processed(self, raw: RawListing | RawVendor) -> Processed:
        """Fetched, then through the stages before the store (nothing buffered yet)."""
        fetched(self.frontier, raw)
        return self.pipeline.processor.process(raw)

    def store(self, result: Processed) -> None:
        self.pipeline.writer.add(result.records, result.raw.fetch.key)

    def stat(self, name: str) -> int | None:
        return self.stats.get_value(name)

    def statuses(self, items: list[Processed]) -> list[str | None]:
        return [self.frontier.status(item.raw.fetch.key) for item in items]


MakeHarness = Callable[..., Harness]


@pytest.fixture
def harnesses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeHarness]:
    """make(batch, seconds, name) -> a Harness over its own index and frontier."""
    made: list[Harness] = []
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)

    def make(batch: int, seconds: float, name: str = "run") -> Harness:
        home = tmp_path / name
        home.mkdir()
        monkeypatch.setenv("TRAWL_HOME", str(home))  # where stored_listing_ids() reads
        index, frontier, stats = SqliteBackend(home / "index.sqlite"), Frontier(home / "f.sqlite"), Tally()
        pipeline = Pipeline(index, clock=CLOCK, run_id="run-1", stats=stats, batch_size=batch, batch_seconds=seconds,
                            hooks=BatchHooks(after_write=frontier.done_many))
        harness = Harness(pipeline, index, frontier, stats)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.index.close()
        harness.frontier.close()


def stored_listing_ids() -> list[str]:
    """Read through a separate connection: only committed rows count."""
    with open_index() as reader:
        return sorted(hit.listing.listing_id for hit in reader.search(SearchQuery(site=SITE, limit=100)).hits)


def stored_vendor(name: str) -> Vendor:
    with open_index() as reader:
        found = reader.vendors(name)
    assert len(found) == 1, found
    return found[0]


# --- batching ------------------------------------------------------------------------------

def test_items_wait_for_a_full_batch_then_are_written_and_their_pages_done(harnesses: MakeHarness) -> None:
    p = harnesses(batch=3, seconds=NEVER)
    items = [p.processed(raw_listing(n)) for n in (1, 2, 3)]
    assert [item.novelty for item in items] == ["new"] * 3 and p.stat("trawl/listings/new") == 3

    for item in items[:2]:
        p.store(item)
    assert stored_listing_ids() == []
    assert p.statuses(items) == ["fetched"] * 3
    assert p.stat("trawl/store/batches") is None

    p.store(items[2])
    assert stored_listing_ids() == ["nightshade:1", "nightshade:2", "nightshade:3"]
    with open_index() as reader:
        listing = reader.get_listing("nightshade:2")
    assert listing is not None and listing.vendor_id == "nightshade:dutchgold" and listing.price_usd == 20.0
    assert listing.evidence.warc_file == "warc/run-1.warc.gz" and listing.evidence.mirror == MIRROR
    assert listing.evidence.run_id == "run-1" and listing.evidence.proxy == "socks5h://127.0.0.1:9050"
    assert p.statuses(items) == ["done"] * 3
    assert p.frontier.stored_page(items[0].raw.fetch.key) is None  # done pages drop their replay copy
    assert p.stat("trawl/stored/listings") == 3 and p.stat("trawl/stored/snapshots") == 3
    assert p.stat("trawl/store/batches") == 1


@pytest.mark.parametrize("order", ["listing-first", "vendor-first"])
def test_vendor_and_its_listing_in_one_batch_store_what_two_batches_store(harnesses: MakeHarness, order: str) -> None:
    def run(batch: int, name: str) -> Vendor:
        p = harnesses(batch=batch, seconds=NEVER, name=name)
        raws: list[RawListing | RawVendor] = [raw_listing(7), raw_vendor()]
        items = [p.processed(raw) for raw in (raws if order == "listing-first" else raws[::-1])]
        for item in items:
            p.store(item)
        assert p.stat("trawl/store/batches") == 2 // batch
        assert p.statuses(items) == ["done", "done"]
        return stored_vendor("DutchGold")

    together = run(batch=2, name="one-batch")
    apart = run(batch=1, name="two-batches")
    assert together == apart
    # merged: the profile from the vendor page, the URL the listing links to
    assert (together.sales, together.rating, together.joined) == (1204, 4.92, "2023-02-01")
    assert together.url == MIRROR + "/vendor/DutchGold" and together.aliases == ["dutch_gold", "DG-NL"]
    assert together.identifiers.get("btc") == ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]


def make_index_read_only(index: IndexBackend) -> type[Exception]:
    # what a read-only mount does to the index: reads work, writes fail
    assert isinstance(index, SqliteBackend)
    index.conn.execute("PRAGMA query_only=ON")
    return sqlite3.OperationalError


def close_index(index: IndexBackend) -> type[Exception]:
    index.close()
    return TrawlError


@pytest.mark.parametrize("break_index", [make_index_read_only, close_index], ids=["read-only", "closed"])
def test_a_failed_write_leaves_the_batch_pages_unfinished_for_resume(
        harnesses: MakeHarness, break_index: Callable[[IndexBackend], type[Exception]]) -> None:
    p = harnesses(batch=2, seconds=NEVER)
    items = [p.processed(raw_listing(n)) for n in (8, 9)]
    p.store(items[0])
    expected = break_index(p.index)

    with pytest.raises(expected):
        p.store(items[1])

    assert p.statuses(items) == ["fetched", "fetched"]
    assert {entry.key for entry in p.frontier.unfinished()} == {item.raw.fetch.key for item in items}
    assert p.stat("trawl/store/batches") is None and p.stat("trawl/stored/listings") is None
    assert stored_listing_ids() == []


def test_zero_batch_seconds_writes_each_item_in_the_call_that_brings_it(harnesses: MakeHarness) -> None:
    p = harnesses(batch=50, seconds=0)
    items = [p.processed(raw_listing(n)) for n in (11, 12)]

    p.store(items[0])
    assert stored_listing_ids() == ["nightshade:11"] and p.statuses(items) == ["done", "fetched"]
    p.store(items[1])
    assert stored_listing_ids() == ["nightshade:11", "nightshade:12"] and p.statuses(items) == ["done", "done"]
    assert p.stat("trawl/store/batches") == 2


def test_an_old_batch_is_written_by_the_next_item_without_the_reactor(harnesses: MakeHarness) -> None:
    p = harnesses(batch=50, seconds=0.2)
    items = [p.processed(raw_listing(n)) for n in (13, 14)]

    p.store(items[0])
    assert stored_listing_ids() == []
    time.sleep(0.25)  # the batch's age, not a timer (no reactor runs here), triggers the write
    p.store(items[1])

    assert stored_listing_ids() == ["nightshade:13", "nightshade:14"]
    assert p.statuses(items) == ["done", "done"]
    assert p.stat("trawl/store/batches") == 1 and p.stat("trawl/stored/listings") == 2


def test_an_unchanged_page_reuses_the_stored_record_and_adds_a_snapshot(harnesses: MakeHarness) -> None:
    p = harnesses(batch=1, seconds=NEVER)
    p.store(p.processed(raw_listing(15)))
    again = p.processed(raw_listing(15))
    changed = p.processed(raw_listing(15, title="Mephedrone 4-MMC crystal 16g"))

    assert again.novelty == "unchanged" and changed.novelty == "changed"
    assert again.records.listings[0].content_hash == raw_listing(15).fields_hash
    assert again.records.listings[0].substances == changed.records.listings[0].substances != []
    assert again.records.candidates == [] and len(again.records.snapshots) == 1
    assert (p.stat("trawl/listings/new"), p.stat("trawl/listings/unchanged"), p.stat("trawl/listings/changed")) == (1, 1, 1)


# --- the Scrapy adapter ----------------------------------------------------------------------

@dataclass
class Crawl:
    adapter: TrawlItemPipeline
    frontier: Frontier
    crawler: Any

    def fetched(self, raw: RawListing | RawVendor) -> RawListing | RawVendor:
        fetched(self.frontier, raw)
        return raw

    def status(self, raw: RawListing | RawVendor) -> str | None:
        return self.frontier.status(raw.fetch.key)


@pytest.fixture
def crawl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crawl]:
    """The item pipeline as Scrapy runs it: from_crawler, the spider's frontier, open_spider."""
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path))  # the adapter opens the index from the environment
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    crawler = get_crawler(settings_dict={**BASE, "TRAWL_STORE_BATCH": 50, "TRAWL_STORE_BATCH_SECONDS": NEVER,
                                         "TRAWL_CLOCK": CLOCK, "TRAWL_RUN_ID": "run-1", "LOG_LEVEL": "WARNING"})
    frontier = Frontier(tmp_path / "f.sqlite")
    crawler.spider = TrawlSpider(site=load_site("pillhub"), frontier=frontier)
    adapter = TrawlItemPipeline.from_crawler(crawler)
    adapter.open_spider()
    yield Crawl(adapter, frontier, crawler)
    if adapter.index is not None:
        adapter.index.close()
    frontier.close()


def test_close_spider_writes_the_partial_batch_and_closes_the_index(crawl: Crawl) -> None:
    items = [crawl.fetched(raw_listing(n)) for n in (4, 5)]
    for item in items:
        assert crawl.adapter.process_item(item) is item
    backend = crawl.adapter.index
    assert backend is not None
    assert stored_listing_ids() == [] and [crawl.status(i) for i in items] == ["fetched", "fetched"]

    crawl.adapter.close_spider()

    assert stored_listing_ids() == ["nightshade:4", "nightshade:5"]
    assert [crawl.status(i) for i in items] == ["done", "done"]
    stats = crawl.crawler.stats
    assert stats.get_value("trawl/stored/listings") == 2 and stats.get_value("trawl/store/batches") == 1
    assert crawl.adapter.index is None
    with pytest.raises(TrawlError, match="closed"):
        backend.counts()


def test_a_failed_write_at_close_leaves_the_batch_pages_unfinished(crawl: Crawl) -> None:
    item = crawl.fetched(raw_listing(10))
    crawl.adapter.process_item(item)
    assert crawl.adapter.index is not None
    make_index_read_only(crawl.adapter.index)

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        crawl.adapter.close_spider()

    assert crawl.status(item) == "fetched"
    assert crawl.adapter.index is None  # closed all the same
    assert stored_listing_ids() == []


def test_a_dropped_item_is_counted_by_reason_and_its_page_done_at_once(crawl: Crawl) -> None:
    untitled = crawl.fetched(raw_listing(20, title=""))
    kept = crawl.fetched(raw_listing(21))

    with pytest.raises(DroppedItem, match="missing_title") as dropped:
        crawl.adapter.process_item(untitled)
    crawl.adapter.process_item(kept)

    assert dropped.value.reason == "missing_title"
    assert crawl.crawler.stats.get_value("item_dropped_reasons/missing_title") == 1
    assert crawl.status(untitled) == "done" and crawl.status(kept) == "fetched"  # kept waits for its batch
