"""BatchWriter and the frontier: a page is done only after everything it produced is written,
including a grid page whose last card was dropped while its earlier cards sit in the batch."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.records import Listing, Records
from index.sqlite_backend import SqliteBackend
from pipeline.stats import Tally
from pipeline.store import BatchHooks, BatchWriter


@pytest.fixture
def index() -> Iterator[SqliteBackend]:
    backend = SqliteBackend(":memory:")
    try:
        yield backend
    finally:
        backend.close()


def card(native_id: str) -> Records:
    listing = Listing(listing_id=f"hansa:{native_id}", site="hansa", market_kind="darknet-market",
                      url=f"http://h.onion/listing/{native_id}", title=f"card {native_id}",
                      crawled_at="2026-11-30T00:00:00Z")
    return Records(listings=[listing])


def writer_with_log(index: SqliteBackend) -> tuple[BatchWriter, list[list[str]]]:
    done: list[list[str]] = []
    hooks = BatchHooks(after_write=lambda keys: done.append(list(keys)))
    return BatchWriter(index, Tally(), size=100, seconds=3600.0, hooks=hooks), done


def test_dropped_last_card_waits_for_the_cards_buffered_before_it(index: SqliteBackend) -> None:
    writer, done = writer_with_log(index)
    writer.add(card("1"), "/category/7")
    writer.add(card("2"), "/category/7")
    writer.finish_page("/category/7")  # the page's last card was dropped
    assert done == []  # a kill now must replay the page: its two cards are not written yet
    assert index.get_listing("hansa:1") is None
    writer.flush()
    assert index.get_listing("hansa:1") is not None and index.get_listing("hansa:2") is not None
    assert done == [["/category/7", "/category/7", "/category/7"]]


def test_dropped_page_with_nothing_buffered_is_done_at_once(index: SqliteBackend) -> None:
    writer, done = writer_with_log(index)
    writer.finish_page("/listing/9")
    assert done == [["/listing/9"]]
    writer.flush()  # nothing buffered: nothing written, nothing marked twice
    assert done == [["/listing/9"]]
