"""Unchanged-page detection: a content hash of the extracted fields.

When a listing's hash equals the stored one, parse and enrich are skipped and the stored
record is reused (a snapshot is still written: every crawl adds a point to price history)."""
from __future__ import annotations

from typing import Any

from core.records import content_hash
from pipeline import Stage
from pipeline.store import index_for


def fields_hash(item: dict[str, Any]) -> str:
    return content_hash({"type": item["type"], "site": item["site"], "fields": item["fields"]})


class UnchangedStage(Stage):
    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        item["content_hash"] = fields_hash(item)
        if item["type"] != "listing":
            return item
        listing_id = f"{item['site']}:{item['fields']['native_id']}"
        existing = index_for(self.crawler).get_listing(listing_id)
        if existing is not None and existing.content_hash == item["content_hash"]:
            item["unchanged"] = existing
            self.stats.inc_value("trawl/listings/unchanged")
        elif existing is not None:
            self.stats.inc_value("trawl/listings/changed")
        else:
            self.stats.inc_value("trawl/listings/new")
        return item
