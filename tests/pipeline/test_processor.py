"""Processor without a crawl: named drops, parse-error counters and what a vendor page stores,
against a real (in-memory) SQLite index."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.items import Fetch, RawListing, RawVendor
from index.sqlite_backend import SqliteBackend
from pipeline import Processor, Tally

CLOCK = "2026-11-30T00:00:00Z"


@pytest.fixture
def processor() -> Iterator[Processor]:
    index = SqliteBackend(":memory:")
    try:
        yield Processor(index, clock=CLOCK, run_id="run-7", stats=Tally())
    finally:
        index.close()


def listing(required: tuple[str, ...] = (), **fields: object) -> RawListing:
    base = {"native_id": "42", "title": "Ketamine 5g", "price": "$50"}
    return RawListing(site="vortex", market_kind="darknet-market", url="http://x.onion/listing/42",
                      fields={**base, **fields}, required=required, fetch=Fetch(key="/listing/42"))


@pytest.mark.parametrize(("raw", "reason"), [
    (listing(title=""), "missing_title"),
    (listing(native_id=None), "missing_native_id"),
    (listing(required=("price",), price=[]), "missing_price"),  # the YAML marks price required
    (listing(native_id="x" * 201), "bad_native_id"),
    (RawVendor(site="vortex", market_kind="darknet-market", url="http://x.onion/v/a", fields={"name": ""}),
     "missing_name"),
])
def test_a_dropped_item_names_its_reason_and_stores_nothing(processor: Processor, raw: RawListing, reason: str) -> None:
    result = processor.process(raw)

    assert result.drop is not None and result.drop.reason == reason and len(result.records) == 0
    stats = processor.stats
    assert isinstance(stats, Tally) and dict(stats.values) == {f"item_dropped_reasons/{reason}": 1}


def test_a_vendor_page_counts_what_it_could_not_read(processor: Processor) -> None:
    raw = RawVendor(site="vortex", market_kind="darknet-market", url="http://x.onion/vendor/Alice",
                    fields={"name": "Alice", "sales": "lots", "joined": "01/02/2023", "rating": "4.5 / 5"},
                    fetch=Fetch(key="/vendor/Alice", mirror="http://x.onion"))

    result = processor.process(raw)

    assert result.drop is None and result.novelty is None
    [vendor] = result.records.vendors
    assert (vendor.vendor_id, vendor.sales, vendor.joined, vendor.rating) == ("vortex:alice", None, "2023-02-01", 4.5)
    assert (vendor.evidence.run_id, vendor.evidence.mirror) == ("run-7", "http://x.onion")
    assert [e.split(":")[0] for e in result.parse_errors] == ["sales"]
    assert isinstance(processor.stats, Tally) and processor.stats.get_value("trawl/parse_errors/sales") == 1


@pytest.mark.parametrize(("ships_from", "ships_to", "origin", "destinations"), [
    ("OUR SHOP", None, "XX", []),  # stated, names no place: "XX" kept, the error counted
    ("MYPM", "Worldwide", "XX", []),
    ("Germany", "EU", "DE", ["AT", "BE"]),  # read: no error
], ids=["OUR SHOP", "MYPM / Worldwide", "Germany / EU"])
def test_a_stated_origin_no_place_reads_is_stored_as_unknown_not_dropped(
        processor: Processor, ships_from: str, ships_to: str | None, origin: str, destinations: list[str]) -> None:
    result = processor.process(listing(ships_from=ships_from, ships_to=ships_to))

    [stored] = result.records.listings
    assert stored.origin == origin
    assert all(code in stored.destinations for code in destinations)
    assert any(e.startswith("ships") for e in result.parse_errors) == (origin == "XX" and ships_to is None)


def test_an_item_is_dated_by_its_own_clock_when_given(processor: Processor) -> None:
    result = processor.process(listing(), clock="2017-06-01T10:00:00Z")

    [stored] = result.records.listings
    [snapshot] = result.records.snapshots
    assert stored.first_seen == "2017-06-01T10:00:00Z" and snapshot.crawled_at.startswith("2017-06-01")
