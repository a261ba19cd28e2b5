"""Unchanged-page detection: a content hash of the extracted fields (`RawPage.fields_hash`).

When a listing's hash equals the stored one, parse and enrich are skipped and the stored
record is reused (a snapshot is still written: every crawl adds a point to price history)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.items import RawListing
from core.records import Listing
from index.api import IndexBackend

Novelty = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class Seen:
    """What the index already holds for a listing page: counted as `trawl/listings/<novelty>`."""

    novelty: Novelty
    stored: Listing | None = None  # the stored record, when the page is unchanged


def check_unchanged(raw: RawListing, index: IndexBackend) -> Seen:
    existing = index.get_listing(raw.listing_id)
    if existing is None:
        return Seen("new")
    if existing.content_hash == raw.fields_hash:
        return Seen("unchanged", existing)
    return Seen("changed")
