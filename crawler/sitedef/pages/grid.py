"""Grid pages: one page (a category, a search result, a shop front) showing many listings
as cards.  `GridPage` selects each card with the YAML's `grid.items` and reads it with the
card's own selectors (relative to the card, through the card's page object), so one
request gives 25-100 listings; each card becomes one `core.items.RawListing` with
`source="card"`.

A card's id comes from `fields.native_id`, else from its link (`grid.link`, default the
first link in the card that matches `listing.url_pattern`, else its first link) cut with
`grid.id_from_link` or `listing.id_from_url`.  The card's URL is that link made absolute
(the listing page's URL, so the card and its page are one record), else the grid's.

`merge_card()` joins a card with the listing page fetched for it: the page's values win,
the card fills what the page does not show, and `field_sources` says which came from where.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from core.items import Fetch, RawListing
from crawler.sitedef.pages.base import PageInput, PageResult, SelectorPage
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import _raw_values, check_deadline, evaluate

if TYPE_CHECKING:
    from crawler.sitedef.siteconfig import GridSpec, SiteConfig

MAX_CARDS = 500  # per page: a grid shows 25-100; a hostile page cannot make thousands of items


@dataclass
class Card:
    """One card as read: its fields (with snippets/selectors for `trawl sites test`) and link."""

    number: int  # 1-based position on the page
    result: PageResult
    link: str | None = None  # absolute URL of the card's listing page
    notes: list[str] = field(default_factory=list)

    @property
    def native_id(self) -> str:
        return str(self.result.fields.get("native_id") or "").strip()


def card_nodes(grid: GridSpec, sel: Selector) -> list[Selector]:
    """The card elements, by the first `items` alternative that selects any."""
    for expr in grid.items.alternatives:
        nodes = [n for n in (sel.css(expr.expr) if expr.kind == "css" else sel.xpath(expr.expr))
                 if not isinstance(n.root, str)]
        if nodes:
            return nodes[:MAX_CARDS]
    return []


def is_grid_page(site: SiteConfig, path: str, sel: Selector) -> bool:
    """A page is read as a grid when the YAML has one, the page matches `grid.url_pattern`
    (when given) and at least one card is on it."""
    grid = site.grid
    if grid is None:
        return False
    if grid.url_pattern is not None:
        return bool(grid.url_pattern.search(path))
    return any(_raw_values(sel, expr) for expr in grid.items.alternatives)


class GridPage:
    def __init__(self, page: PageInput, site: SiteConfig, *, snippets: bool = True,
                 deadline: float | None = None) -> None:
        if site.grid is None:
            raise ValueError(f"{site.source or site.name}: the site has no grid section")
        from crawler.sitedef.pages import page_object_class  # the card may name its own page object

        self.page, self.site, self.grid = page, site, site.grid
        self.snippets, self.deadline = snippets, deadline
        self.sel = page.selector if page.selector is not None else page_selector(page.text)
        self.card_class: type[SelectorPage] = page_object_class(self.grid.card)

    def cards(self) -> list[Card]:
        out = []
        for number, node in enumerate(card_nodes(self.grid, self.sel), start=1):
            check_deadline(self.deadline, f"grid card {number}")
            card_input = PageInput(url=self.page.url, text="", status=self.page.status, selector=node)
            result = self.card_class(card_input, self.grid.card, self.site, snippets=self.snippets).extract()
            card = Card(number, result, link=self._link(node))
            if not card.native_id and card.link:
                self._id_from_link(card)
            if not card.native_id:
                card.notes.append("no id: give grid.fields.native_id, or a link that id_from_link matches")
            out.append(card)
        return out

    def _link(self, node: Selector) -> str | None:
        if self.grid.link is not None:
            value = evaluate(self.grid.link, node, self.page.url, snippets=False).value
            href = value[0] if isinstance(value, list) else value
        else:
            hrefs = [h for h in node.css("a::attr(href)").getall() if h.strip()]
            pattern = self.site.listing.url_pattern
            matching = [h for h in hrefs if pattern is not None and pattern.search(_path(urljoin(self.page.url, h)))]
            chosen = matching or hrefs
            href = chosen[0] if chosen else None
        return urljoin(self.page.url, href.strip()) if href else None

    def _id_from_link(self, card: Card) -> None:
        pattern = self.grid.id_from_link or self.site.listing.id_from_url
        if pattern is None or card.link is None:
            return
        match = pattern.search(_path(card.link))
        if match:
            card.result.fields["native_id"] = match.group(1) if pattern.groups else match.group(0)
            card.result.snippets["native_id"] = [card.link]
            card.result.selectors["native_id"] = f"id from link re:{pattern.pattern}"
            card.result.missing = [n for n in card.result.missing if n != "native_id"]

    def to_items(self, fetch: Fetch | None = None) -> list[tuple[Card, RawListing]]:
        """Every card as a raw listing (its `fetch` is the grid page's)."""
        items = []
        for card in self.cards():
            items.append((card, card_item(self.site, card, self.page.url, fetch or Fetch())))
        return items


def card_item(site: SiteConfig, card: Card, grid_url: str, fetch: Fetch) -> RawListing:
    spec = site.grid.card if site.grid else site.listing
    item = RawListing(site=site.name, market_kind=site.kind, url=card.link or grid_url, fields=dict(card.result.fields),
                      required=tuple(spec.required), missing=tuple(card.result.missing), fetch=fetch, source="card",
                      field_sources={name: "card" for name, value in card.result.fields.items() if _present(value)})
    item.card_hash = item.fields_hash
    return item


def card_over_stored_page(card: RawListing, page_fields: dict[str, Any], page_crawled_at: str) -> RawListing:
    """A card seen alone, over the listing page read in an earlier crawl: the card's values
    are the current ones and win; what only the page shows is kept, marked `page@<time>`."""
    fields = dict(card.fields)
    sources = dict(card.field_sources)
    for name, value in page_fields.items():
        if not _present(fields.get(name)) and _present(value):
            fields[name] = value
            sources[name] = f"page@{page_crawled_at}" if page_crawled_at else "page"
    item = RawListing(site=card.site, market_kind=card.market_kind, url=card.url, fields=fields, required=card.required,
                      missing=tuple(n for n in card.missing if not _present(fields.get(n))), fetch=card.fetch,
                      source="card", field_sources=dict(sorted(sources.items())), card_hash=card.card_hash,
                      page_fields=dict(page_fields), page_crawled_at=page_crawled_at)
    return item


def merge_card(page: RawListing, card_fields: dict[str, Any], card_hash: str = "") -> RawListing:
    """The listing page's item with the card's values where the page shows none (one crawl)."""
    fields = dict(page.fields)
    sources = {name: "page" for name, value in fields.items() if _present(value)}
    for name, value in card_fields.items():
        if name == "extra" and isinstance(value, dict):
            own = fields.get("extra") if isinstance(fields.get("extra"), dict) else {}
            merged = {**value, **{k: v for k, v in (own or {}).items() if _present(v)}}
            if merged:
                fields["extra"] = merged
                sources["extra"] = "page" if own else "card"
        elif not _present(fields.get(name)) and _present(value):
            fields[name] = value
            sources[name] = "card"
    missing = tuple(name for name in page.missing if not _present(fields.get(name)))
    return RawListing(site=page.site, market_kind=page.market_kind, url=page.url, fields=fields, required=page.required,
                      missing=missing, fetch=page.fetch, source="page", field_sources=dict(sorted(sources.items())),
                      card_hash=card_hash, page_fields=dict(page.fields))


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
