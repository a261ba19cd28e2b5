"""The spider's grid steps: a category/search page of listing cards (crawler.sitedef.pages.grid).

Each card becomes a raw listing, or a request for its listing page carrying the card (merged
there, detail fields win) as the site's `follow_listings` decides; a card whose page could
not be read is stored as the card showed it.  Functions of the spider (crawler/engine/spider.py),
kept apart so its navigation core stays short.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from parsel import Selector
from scrapy.http import Request, Response

from core.items import Fetch, RawListing
from crawler.sitedef.pages import PageInput
from crawler.sitedef.pages.grid import GridPage, card_over_stored_page, merge_card

if TYPE_CHECKING:
    from crawler.engine.spider import TrawlSpider


def read_grid(spider: TrawlSpider, response: Response, sel: Selector, depth: int, deadline: float | None) -> list[Any]:
    """One raw listing per card, or a request for the card's listing page (carrying the
    card, merged there) as `follow_listings` decides.  Only the last card item carries
    the page's frontier key: the page is done once every card before it is stored."""
    stats = spider.crawler.stats
    fetch = dataclasses.replace(spider.fetch_of(response), key="")
    page = GridPage(PageInput.from_response(response, sel), spider.site, snippets=False, deadline=deadline)
    requests: list[Request] = []
    items: list[RawListing] = []
    for card, item in page.to_items(fetch):
        stats.inc_value("trawl/grid/cards")
        native = item.native_id
        if native and (native in spider.pages_read or native in spider.pages_requested):
            stats.inc_value("trawl/grid/cards_merged_elsewhere")  # its page is read (or asked for) in this run
            continue
        stored = stored_listing(spider, item.listing_id) if native else None
        if card.link and native and follow_card(spider, item, stored):
            request = spider.follow(response, card.link, "listing", depth + 1)
            if request is not None:
                request.meta["trawl_card"] = {"fields": item.fields, "hash": item.card_hash}
                spider.pages_requested.add(native)
                requests.append(request)
                stats.inc_value("trawl/grid/pages_followed")
                continue
        elif card.link:
            spider.judged_urls.add(card.link)  # follow_listings said no: not as a plain link either
        if stored is not None and stored.page_fields:
            item = card_over_stored_page(item, stored.page_fields, stored.page_crawled_at)
        items.append(item)
    for name in (name for card_item in items for name in card_item.missing):
        stats.inc_value(f"trawl/fields_missing/card/{name}")
    if items:
        items[-1].fetch = dataclasses.replace(items[-1].fetch, key=response.meta["trawl_key"])
    return [*requests, *items]


def follow_card(spider: TrawlSpider, card: RawListing, stored: Any) -> bool:
    mode = spider.site.follow_listings
    if mode == "always":
        return True
    if mode == "never":
        return False
    if stored is None:
        return True  # new
    return mode == "changed" and stored.card_hash != card.card_hash


def stored_listing(spider: TrawlSpider, listing_id: str) -> Any:
    """The stored record (follow_listings new/changed), None when unknown or not asked."""
    if spider.site.follow_listings not in ("new", "changed"):
        return None
    if spider._index is None:
        from index import open_index

        spider._index = open_index()
    try:
        return spider._index.get_listing(listing_id)
    except Exception as exc:  # noqa: BLE001 - an unreadable index only costs a page fetch
        spider.crawler.stats.inc_value("trawl/index/degraded_reads")
        spider.logger.warning("grid: index unreadable (%s); following the card's page", exc)
        return None


def with_card(spider: TrawlSpider, item: RawListing, card: dict[str, Any] | None) -> RawListing:
    if item.native_id:
        spider.pages_read.add(item.native_id)
    if not card:
        item.page_fields = dict(item.fields)  # remembered for crawls that will see only the card
        return item
    return merge_card(item, card.get("fields") or {}, card.get("hash", ""))


def card_alone(spider: TrawlSpider, request: Request) -> Iterator[RawListing]:
    """A card whose listing page could not be read is stored as the card showed it."""
    card = request.meta.get("trawl_card")
    if card and card.get("fields"):
        spider.crawler.stats.inc_value("trawl/grid/cards_page_failed")
        yield RawListing(site=spider.site.name, market_kind=spider.site.kind, url=request.url,
                         fields=dict(card["fields"]), fetch=Fetch(mirror=request.meta.get("trawl_mirror", "")),
                         source="card", card_hash=card.get("hash", ""),
                         field_sources={name: "card" for name in card["fields"]})
