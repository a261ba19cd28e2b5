"""StoreStage writes items per batch and marks their pages done only after the write.

Items go through the real pipeline stages (validate, unchanged, parse, enrich) into a real
SQLite index; the frontier is a real one, so "done" means what --resume reads."""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from core.errors import TrawlError
from core.records import Vendor
from crawler.engine.frontier import Frontier, page_key
from crawler.engine.settings import BASE
from index import open_index
from index.api import SearchQuery
from pipeline.enrich import EnrichStage
from pipeline.parse import ParseStage
from pipeline.store import StoreStage
from pipeline.unchanged import UnchangedStage
from pipeline.validate import ValidateStage

SITE, KIND = "nightshade", "darknet-market"
MIRROR = "http://lk2r3qhkh2nlbtkwndg45jtuowgav2t4dbaj4fknxqomeu5nt2hai4qd.onion"
CLOCK = "2024-05-01T12:00:00Z"
NEVER = 3600.0  # TRAWL_STORE_BATCH_SECONDS that no test outlives


# --- raw items, as crawler/engine/spider.py extract() yields them ----------------------------

def raw_item(kind: str, path: str, fields: dict[str, Any]) -> dict[str, Any]:
    url = MIRROR + path
    body = f"<html><body>{path}</body></html>".encode()
    return {
        "type": kind, "site": SITE, "market_kind": KIND, "url": url, "key": page_key(url), "mirror": MIRROR,
        "fields": fields, "missing": [], "required": [],
        "evidence": {"warc_file": "warc/run-1.warc.gz", "warc_offset": len(path) * 1000,
                     "payload_sha256": hashlib.sha256(body).hexdigest()},
        "proxy": "socks5h://127.0.0.1:9050", "page_sha256": hashlib.sha256(body).hexdigest(), "replayed": False,
    }


def raw_listing(native_id: int, vendor: str = "DutchGold") -> dict[str, Any]:
    return raw_item("listing", f"/listing/{native_id}", {
        "native_id": str(native_id), "title": f"Mephedrone 4-MMC crystal {native_id}g", "vendor": vendor,
        "vendor_url": f"/vendor/{vendor}", "feedback_count": "(12)", "price": f"${native_id * 10:,.2f}",
        "ships_from": "Netherlands", "ships_to": "Worldwide", "escrow": "Escrow Yes", "stock": "25",
        "price_tiers": ["1 g $10.00", "5 g $40.00"], "shipping_options": ["Standard (5-10 days) +$5.00"],
        "description": "Pure crystal. Contact wickr: dutchgold_nl",
    })


def raw_vendor(name: str = "DutchGold") -> dict[str, Any]:
    return raw_item("vendor", f"/vendor/{name}", {
        "name": name, "sales": "(1,204)", "rating": "4.92", "joined": "01/02/2023", "pgp_key": "",
        "aliases": ["dutch_gold, DG-NL"], "identifiers_text": "BTC: bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    })


# --- a crawler with the real stages ------------------------------------------------------

@dataclass
class Pipeline:
    crawler: Crawler
    frontier: Frontier
    upstream: list[Any]
    store: StoreStage

    def prepared(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Registered in the frontier and fetched (body kept), then through the stages before store."""
        self.frontier.add(raw["key"], raw["type"])
        self.frontier.store_body(raw["key"], raw["url"], b"<html></html>", mirror=MIRROR)
        item = raw
        for stage in self.upstream:
            item = stage.process_item(item)
        return item

    def stat(self, name: str) -> Any:
        return self.crawler.stats.get_value(name)

    def statuses(self, items: list[dict[str, Any]]) -> list[str | None]:
        return [self.frontier.status(item["key"]) for item in items]


MakePipeline = Callable[..., Pipeline]


@pytest.fixture
def pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePipeline]:
    """make(batch, seconds, name) -> a Pipeline over its own index and frontier."""
    made: list[Pipeline] = []

    def make(batch: int, seconds: float, name: str = "run") -> Pipeline:
        home = tmp_path / name
        home.mkdir()
        # the stages open the index from the environment, like a crawl does
        monkeypatch.setenv("TRAWL_HOME", str(home))
        monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
        crawler = get_crawler(settings_dict={**BASE, "TRAWL_STORE_BATCH": batch, "TRAWL_STORE_BATCH_SECONDS": seconds,
                                             "TRAWL_CLOCK": CLOCK, "TRAWL_RUN_ID": "run-1", "LOG_LEVEL": "WARNING"})
        frontier = Frontier(home / "f.sqlite")
        crawler.spider = SimpleNamespace(frontier=frontier)
        upstream = [stage(crawler) for stage in (ValidateStage, UnchangedStage, ParseStage, EnrichStage)]
        store = StoreStage(crawler)
        store.open_spider()
        pipeline = Pipeline(crawler, frontier, upstream, store)
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        backend = getattr(pipeline.crawler, "_trawl_index", None)
        if backend is not None:
            backend.close()
        pipeline.frontier.close()


def stored_listing_ids() -> list[str]:
    """Read through a separate connection: only committed rows count."""
    with open_index() as reader:
        return sorted(hit.listing.listing_id for hit in reader.search(SearchQuery(site=SITE, limit=100)).hits)


def stored_vendor(name: str) -> Vendor:
    with open_index() as reader:
        found = reader.vendors(name)
    assert len(found) == 1, found
    return found[0]


# --- tests -------------------------------------------------------------------------------

def test_items_wait_for_a_full_batch_then_are_written_and_their_pages_done(pipelines: MakePipeline) -> None:
    p = pipelines(batch=3, seconds=NEVER)
    items = [p.prepared(raw_listing(n)) for n in (1, 2, 3)]

    for item in items[:2]:
        assert p.store.process_item(item) is item
    assert stored_listing_ids() == []
    assert p.statuses(items) == ["fetched"] * 3
    assert p.stat("trawl/store/batches") is None

    p.store.process_item(items[2])
    assert stored_listing_ids() == ["nightshade:1", "nightshade:2", "nightshade:3"]
    with open_index() as reader:
        listing = reader.get_listing("nightshade:2")
    assert listing is not None and listing.vendor_id == "nightshade:dutchgold" and listing.price_usd == 20.0
    assert listing.evidence.warc_file == "warc/run-1.warc.gz" and listing.evidence.mirror == MIRROR
    assert p.statuses(items) == ["done"] * 3
    assert p.frontier.stored_body(items[0]["key"]) is None  # done pages drop their replay copy
    assert p.stat("trawl/stored/listings") == 3 and p.stat("trawl/stored/snapshots") == 3
    assert p.stat("trawl/store/batches") == 1


def test_close_spider_writes_the_partial_batch_and_closes_the_index(pipelines: MakePipeline) -> None:
    p = pipelines(batch=50, seconds=NEVER)
    items = [p.prepared(raw_listing(n)) for n in (4, 5)]
    for item in items:
        p.store.process_item(item)
    backend = p.crawler._trawl_index
    assert stored_listing_ids() == [] and p.statuses(items) == ["fetched", "fetched"]

    p.store.close_spider()

    assert stored_listing_ids() == ["nightshade:4", "nightshade:5"]
    assert p.statuses(items) == ["done", "done"]
    assert p.stat("trawl/stored/listings") == 2 and p.stat("trawl/store/batches") == 1
    assert p.crawler._trawl_index is None
    with pytest.raises(TrawlError, match="closed"):
        backend.counts()


@pytest.mark.parametrize("order", ["listing-first", "vendor-first"])
def test_vendor_and_its_listing_in_one_batch_store_what_two_batches_store(pipelines: MakePipeline, order: str) -> None:
    def run(batch: int, name: str) -> Vendor:
        p = pipelines(batch=batch, seconds=NEVER, name=name)
        raws = [raw_listing(7), raw_vendor()]
        items = [p.prepared(raw) for raw in (raws if order == "listing-first" else raws[::-1])]
        for item in items:
            p.store.process_item(item)
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


def make_index_read_only(p: Pipeline) -> type[Exception]:
    # what a read-only mount does to the index: reads work, writes fail
    p.crawler._trawl_index.conn.execute("PRAGMA query_only=ON")
    return sqlite3.OperationalError


def close_index(p: Pipeline) -> type[Exception]:
    p.crawler._trawl_index.close()
    return TrawlError


@pytest.mark.parametrize("break_index", [make_index_read_only, close_index], ids=["read-only", "closed"])
def test_a_failed_write_leaves_the_batch_pages_unfinished_for_resume(
        pipelines: MakePipeline, break_index: Callable[[Pipeline], type[Exception]]) -> None:
    p = pipelines(batch=2, seconds=NEVER)
    items = [p.prepared(raw_listing(n)) for n in (8, 9)]
    p.store.process_item(items[0])
    expected = break_index(p)

    with pytest.raises(expected):
        p.store.process_item(items[1])

    assert p.statuses(items) == ["fetched", "fetched"]
    assert {entry.key for entry in p.frontier.unfinished()} == {item["key"] for item in items}
    assert p.stat("trawl/store/batches") is None and p.stat("trawl/stored/listings") is None
    assert stored_listing_ids() == []


def test_a_failed_write_at_close_leaves_the_batch_pages_unfinished(pipelines: MakePipeline) -> None:
    p = pipelines(batch=50, seconds=NEVER)
    item = p.prepared(raw_listing(10))
    p.store.process_item(item)
    make_index_read_only(p)

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        p.store.close_spider()

    assert p.statuses([item]) == ["fetched"]
    assert p.crawler._trawl_index is None  # closed all the same
    assert stored_listing_ids() == []


def test_zero_batch_seconds_writes_each_item_in_the_call_that_brings_it(pipelines: MakePipeline) -> None:
    p = pipelines(batch=50, seconds=0)
    items = [p.prepared(raw_listing(n)) for n in (11, 12)]

    p.store.process_item(items[0])
    assert stored_listing_ids() == ["nightshade:11"] and p.statuses(items) == ["done", "fetched"]
    p.store.process_item(items[1])
    assert stored_listing_ids() == ["nightshade:11", "nightshade:12"] and p.statuses(items) == ["done", "done"]
    assert p.stat("trawl/store/batches") == 2


def test_an_old_batch_is_written_by_the_next_item_without_the_reactor(pipelines: MakePipeline) -> None:
    p = pipelines(batch=50, seconds=0.2)
    items = [p.prepared(raw_listing(n)) for n in (13, 14)]

    p.store.process_item(items[0])
    assert stored_listing_ids() == []
    time.sleep(0.25)  # the batch's age, not a timer (no reactor runs here), triggers the write
    p.store.process_item(items[1])

    assert stored_listing_ids() == ["nightshade:13", "nightshade:14"]
    assert p.statuses(items) == ["done", "done"]
    assert p.stat("trawl/store/batches") == 1 and p.stat("trawl/stored/listings") == 2
