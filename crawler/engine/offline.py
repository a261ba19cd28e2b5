"""Saved pages read as a crawl reads them, with no network: the one road from stored bytes to records.

`trawl ingest` (saved WARCs, mirrors, HTML files), `trawl reprocess` (a run's own evidence)
and the processing workers (pages the crawl preserved) all hand pages here.  A page is
classified with the site YAML as the spider would (listing / vendor / grid / nav), read by
the same page objects, and a grid card is merged with its own listing page when both are
in the same batch (the page's fields win, `field_sources` says which came from where), as
`follow_listings` does in a crawl.  Gate, login and error pages yield nothing and are
counted by reason.

`process_pages` then runs the items through `pipeline.Pipeline`, each stamped with the time
its page was captured (not the time of the reprocess), so a reprocess of last month's run
dates its snapshots last month.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.alerts import AlertSink
from core.clock import utc_now_iso
from core.items import Fetch, RawItem, RawListing
from core.records import Evidence
from crawler.engine import session
from crawler.engine.frontier import page_key
from crawler.evidence.reader import ArchivedPage
from crawler.sitedef.pages import PageInput, page_object_class
from crawler.sitedef.pages.grid import GridPage, card_over_stored_page, is_grid_page, merge_card
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.siteconfig import SiteConfig
from index.api import IndexBackend
from pipeline.stats import StatsCounter

# skipped pages, by reason (the summary and the stats name them)
SKIP_NOT_PAGE = "not_a_page"  # image, script, font... or an empty body
SKIP_HTTP_ERROR = "http_error"  # 4xx/5xx: the market's error page, not its data
SKIP_GATE = "gate"  # DDoS guard, captcha or queue page
SKIP_LOGIN = "login"  # the login form instead of the page
SKIP_NAV = "navigation"  # category/index page with no listing data (its links were followed)
SKIP_EMPTY = "no_items"  # a listing/vendor/grid page that gave no item


@dataclass
class SavedPage:
    """One page to read: the archived response and the evidence that cites it."""

    page: ArchivedPage
    evidence: Evidence
    mirror: str = ""  # base URL the page was served from ("" = from the URL itself)
    kind_hint: str = ""  # "listing" | "vendor" when known (a run's frontier knows it)


@dataclass
class PageItems:
    kind: str  # listing | vendor | grid | nav | skipped
    items: list[RawItem] = field(default_factory=list)
    skipped: str = ""  # the reason, when kind == "skipped" or nothing came of the page
    captured_at: str = ""


def classify(site: SiteConfig, url: str, hint: str = "") -> str:
    """listing / vendor / nav for a page URL, by the YAML's url patterns (as the spider does)."""
    key = page_key(url) if "://" in url else url
    if site.listing.url_pattern is not None and site.listing.url_pattern.search(key):
        return "listing"
    if site.vendor and site.vendor.url_pattern is not None and site.vendor.url_pattern.search(key):
        return "vendor"
    if hint in ("listing", "vendor") and (site.listing.url_pattern is None or hint == "vendor"):
        return hint
    return "nav"


class OfflineReader:
    """Reads saved pages of one site into raw items, as the spider reads fetched ones."""

    def __init__(self, site: SiteConfig, stats: StatsCounter) -> None:
        self.site, self.stats = site, stats
        self.listing_page = page_object_class(site.listing)
        self.vendor_page = page_object_class(site.vendor) if site.vendor else None

    def skip(self, reason: str, captured_at: str = "") -> PageItems:
        self.stats.inc_value(f"trawl/offline/skipped/{reason}")
        return PageItems("skipped", skipped=reason, captured_at=captured_at)

    def read(self, saved: SavedPage) -> PageItems:
        page, site = saved.page, self.site
        when = page.captured_at
        if not page.is_page or not page.body.strip():
            return self.skip(SKIP_NOT_PAGE, when)
        if page.status >= 400:
            return self.skip(SKIP_HTTP_ERROR, when)
        text = page.text
        sel = page_selector(text)
        if session.detect_gate(site, text=text, url=page.url, status=page.status, sel=sel) is not None:
            return self.skip(SKIP_GATE, when)
        if site.login and session.login_needed(site.login, text=text, url=page.url, status=page.status, sel=sel):
            return self.skip(SKIP_LOGIN, when)
        fetch = Fetch(key=page_key(page.url) if "://" in page.url else page.url,
                      mirror=saved.mirror or _origin(page.url), evidence=saved.evidence,
                      page_sha256=saved.evidence.payload_sha256 or page.payload_sha256)
        page_input = PageInput(url=page.url, text=text, status=page.status, selector=sel)
        kind = classify(site, page.url, saved.kind_hint)
        self.stats.inc_value(f"trawl/offline/pages/{kind}")
        if kind == "listing":
            item: RawItem = self.listing_page(page_input, site.listing, site, snippets=False).to_item("listing", fetch)
        elif kind == "vendor" and site.vendor is not None and self.vendor_page is not None:
            item = self.vendor_page(page_input, site.vendor, site, snippets=False).to_item("vendor", fetch)
        elif site.grid is not None and is_grid_page(site, fetch.key, sel):
            cards = [card for _, card in GridPage(page_input, site, snippets=False).to_items(fetch)]
            self.stats.inc_value("trawl/grid/cards", len(cards))
            return PageItems("grid", list(cards), captured_at=when) if cards else self.skip(SKIP_EMPTY, when)
        else:
            return self.skip(SKIP_NAV, when)
        for name in item.missing:
            self.stats.inc_value(f"trawl/fields_missing/{kind}/{name}")
        return PageItems(kind, [item], captured_at=when)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def merge_batch(read: list[PageItems], stored_page: Callable[[str], tuple[dict[str, Any], str] | None] | None = None,
                *, grid: bool = True) -> Iterator[tuple[RawItem, str]]:
    """(item, capture time) for a batch of read pages, in page order, each grid card merged
    into its own listing page captured the same UTC day (the page wins; `field_sources`
    says which field came from where; a card of another day stays a card).

    A card whose listing page is not in the batch is laid over the page fields an earlier
    crawl stored (`stored_page(listing_id)` -> (page_fields, crawled_at)), as a crawl does.
    A listing page remembers its own fields for later card-only crawls only on grid sites
    (`grid`), as the crawler does.

    >>> page = RawListing("s", "darknet", "http://m/l/7", {"native_id": "7", "title": "Page title"})
    >>> card = RawListing("s", "darknet", "http://m/l/7", {"native_id": "7", "title": "Card", "views": "9"},
    ...                   source="card")
    >>> [(i.fields["title"], i.fields.get("views"), i.field_sources.get("views")) for i, _ in
    ...  merge_batch([PageItems("grid", [card], captured_at="2017-06-01T10:00:00Z"),
    ...               PageItems("listing", [page], captured_at="2017-06-01T11:00:00Z")])]
    [('Page title', '9', 'card')]
    """
    def day_key(item: RawListing, captured_at: str) -> tuple[str, str]:
        return item.listing_id, captured_at[:10]

    first_page: dict[tuple[str, str], RawListing] = {}
    first_card: dict[tuple[str, str], RawListing] = {}
    for entry in read:
        for item in entry.items:
            if isinstance(item, RawListing) and item.native_id:
                seen = first_page if item.source == "page" else first_card
                seen.setdefault(day_key(item, entry.captured_at), item)
    for entry in read:
        for item in entry.items:
            if not isinstance(item, RawListing) or not item.native_id:
                yield item, entry.captured_at
                continue
            key = day_key(item, entry.captured_at)
            if item.source == "page":
                if first_page[key] is not item:
                    continue  # another copy of the same listing page that day adds nothing
                card = first_card.get(key)
                if card is not None:
                    yield merge_card(item, card.fields, card.card_hash), entry.captured_at
                elif grid:
                    yield dataclasses.replace(item, page_fields=dict(item.fields)), entry.captured_at
                else:
                    yield item, entry.captured_at
            elif key not in first_page:
                found = stored_page(item.listing_id) if stored_page is not None else None
                if found is not None and found[0]:
                    item = card_over_stored_page(item, found[0], found[1])
                yield item, entry.captured_at
            # else: the card was merged into its listing page


@dataclass
class OfflineResult:
    """What one offline batch gave: pages read, items stored, and what was skipped or dropped, by reason."""

    pages: int = 0
    listings: int = 0
    vendors: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    # each distinct listing stored and its novelty when first met (a card shown twice is one listing)
    listing_novelty: dict[str, str] = field(default_factory=dict)


def process_pages(site: SiteConfig, pages: Iterable[SavedPage], index: IndexBackend, *, run_id: str,
                  stats: StatsCounter | None = None, alerts: AlertSink | None = None,
                  batch_size: int = 200) -> OfflineResult:
    """Read `pages` of `site` and store what they hold, each item dated by its page's capture.

    Cards and listing pages merge within the batch, so a caller hands one capture (a run, a
    mirror directory, a WARC) at a time.  Items are stored in capture order, so a listing
    seen on several days gets a snapshot per day and its latest values last."""
    from pipeline.processor import Pipeline
    from pipeline.stats import Tally

    counter: StatsCounter = stats if stats is not None else Tally()
    reader = OfflineReader(site, counter)
    read = [reader.read(saved) for saved in pages]
    result = OfflineResult(pages=len(read))
    for entry in read:
        if entry.skipped:
            result.skipped[entry.skipped] = result.skipped.get(entry.skipped, 0) + 1

    def stored_page(listing_id: str) -> tuple[dict[str, Any], str] | None:
        try:
            stored = index.get_listing(listing_id)
        except Exception:  # noqa: BLE001 - an unreadable index costs only the overlay, as in a crawl
            return None
        return (stored.page_fields, stored.page_crawled_at) if stored is not None and stored.page_fields else None

    ordered = sorted(merge_batch(read, stored_page if site.grid is not None else None, grid=site.grid is not None),
                     key=lambda pair: pair[1])  # stable: page order within one capture time
    pipeline = Pipeline(index, run_id=run_id, stats=counter, alerts=alerts, batch_size=batch_size, batch_seconds=3600)
    for item, captured_at in ordered:
        outcome = pipeline.handle(item, clock=now_if_blank(captured_at))
        if outcome.dropped and outcome.drop is not None:
            result.dropped[outcome.drop.reason] = result.dropped.get(outcome.drop.reason, 0) + 1
        elif isinstance(item, RawListing):
            result.listings += 1
            novelty = outcome.novelty or ""
            if novelty in ("new", "changed", "unchanged"):
                setattr(result, novelty, getattr(result, novelty) + 1)
            result.listing_novelty.setdefault(item.listing_id, novelty)
        else:
            result.vendors += 1
    pipeline.flush()
    return result


def now_if_blank(captured_at: str) -> str:
    return captured_at or utc_now_iso(seconds=False)
