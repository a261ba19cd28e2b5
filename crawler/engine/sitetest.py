"""`trawl sites test FILE URL`: fetch one page the way a crawl would and show each field
next to the HTML it came from, so a selector can be fixed by looking, not guessing."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import scrapy

from core.errors import TrawlError
from crawler.engine.frontier import page_key
from crawler.sitedef.pages import PageInput, PageResult, SelectorPage, resolve_page_object
from crawler.sitedef.pages.grid import Card
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import evaluate
from crawler.sitedef.siteconfig import SiteConfig


def classify(site: SiteConfig, url: str) -> str:
    key = page_key(url) if "://" in url else url
    if site.listing.url_pattern is not None and site.listing.url_pattern.search(key):
        return "listing"
    if site.vendor and site.vendor.url_pattern is not None and site.vendor.url_pattern.search(key):
        return "vendor"
    return "nav"


def extract_cards(site: SiteConfig, page: PageInput, kind: str | None = None) -> list[Card] | None:
    """Every card of a grid page (site YAML `grid`), None when the page is not read as one."""
    from crawler.sitedef.pages.grid import GridPage, is_grid_page

    if site.grid is None or kind in ("listing", "vendor"):
        return None
    sel = page_selector(page.text)
    if kind != "grid" and (classify(site, page.url) != "nav" or not is_grid_page(site, page_key(page.url) if "://" in page.url else page.url, sel)):
        return None
    return GridPage(PageInput(url=page.url, text=page.text, status=page.status, selector=sel), site).cards()


def render_cards(cards: list[Card]) -> str:
    lines = [f"grid page: {len(cards)} card(s)"]
    for card in cards:
        lines.append("")
        lines.append(f"card {card.number}: id {card.native_id or '(none)'} -> {card.link or '(no link)'}")
        for name, value in card.result.fields.items():
            if name == "extra" and isinstance(value, dict):
                for key, extra in value.items():
                    lines.append(f"  extra.{key:<10} {textwrap.shorten(str(extra), 44, placeholder='…'):<44} "
                                 f"{card.result.selectors.get('extra.' + key, '')}")
                continue
            shown = value if not isinstance(value, list) else " | ".join(value)
            shown = "(MISSING)" if value in (None, "", []) else textwrap.shorten(str(shown), 44, placeholder="…")
            lines.append(f"  {name:<16} {shown:<44} {card.result.selectors.get(name, '')}")
        lines.extend(f"  NOTE: {note}" for note in card.notes)
        if card.result.missing:
            lines.append(f"  missing fields: {', '.join(card.result.missing)}")
    return "\n".join(lines)


def extract_page(site: SiteConfig, page: PageInput, kind: str | None = None) -> tuple[str, PageResult | None, dict[str, list[str]]]:
    """(kind, fields of a listing/vendor page, navigation links found)."""

    kind = kind or classify(site, page.url)
    result = None
    spec = site.listing if kind == "listing" else site.vendor if kind == "vendor" else None
    if spec is not None:
        cls = resolve_page_object(spec.page_object, spec.source) if spec.page_object else SelectorPage
        result = cls(page, spec, site).extract()
    sel = page_selector(page.text)
    links: dict[str, list[str]] = {}
    for name in ("categories", "pagination", "load_more", "listing_links", "vendor_links"):
        selector = getattr(site.navigation, name)
        if selector is not None:
            value = evaluate(selector, sel, page.url).value or []
            links[name] = value if isinstance(value, list) else [value]
    return kind, result, links


class _OnePageSpider(scrapy.Spider):
    name = "trawl-site-test"

    def __init__(self, url: str, sink: dict[str, Any], site: SiteConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url, self.sink, self.site = url, sink, site

    async def start(self) -> Any:
        meta: dict[str, Any] = {"trawl_mirror": "/".join(self.url.split("/", 3)[:3])}
        if self.site.render == "browser":
            from crawler.net.browser import playwright_request_meta

            meta.update(playwright_request_meta(self.site))
        yield scrapy.Request(self.url, callback=self.parse, errback=self.failed, dont_filter=True, meta=meta)

    def parse(self, response: Any) -> None:
        self.sink["page"] = PageInput.from_response(response)

    def failed(self, failure: Any) -> None:
        self.sink["error"] = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"


def saved_page(path: Path, record_url: str = "") -> PageInput:
    """A page from a saved file: a WARC/WACZ (its first page, or the record for `record_url`)
    or an HTML file (read as `record_url` when given, so url patterns classify it)."""
    from crawler.engine.ingest_sources import read_wacz, read_warc, sniff

    kind = sniff(path)  # anything but HTML/WARC/WACZ is a one-line error, never read as HTML
    if kind == "html":
        return PageInput(url=record_url or f"file://{path.resolve()}",
                         text=path.read_text(encoding="utf-8", errors="replace"))
    pages = [p for p in (read_warc(path) if kind == "warc" else read_wacz(path)) if p.is_page]
    if record_url:
        wanted = [p for p in pages if p.url == record_url]
        if not wanted:
            raise TrawlError(f"{path}: no response record for {record_url} ({len(pages)} pages in the file)")
        pages = wanted
    if not pages:
        raise TrawlError(f"{path}: no HTML response record in this {kind.upper()}")
    page = pages[0]
    return PageInput(url=page.url, text=page.text, status=page.status)


def fetch_page(site: SiteConfig, url: str, record_url: str = "") -> PageInput:
    """One request with the site's own network settings (Tor, browser, session cookies);
    a saved file (HTML, WARC, WACZ) is read instead, with no network."""
    path = Path(url)
    if "://" not in url and path.is_file():
        return saved_page(path, record_url)
    if url.startswith("/"):
        url = site.mirrors[0] + url
    from scrapy.crawler import CrawlerProcess

    from crawler.engine.settings import DOWNLOADER_MIDDLEWARES, network_settings, site_settings, with_console_settings

    settings: dict[str, Any] = {
        **site_settings(site), **network_settings(site), "LOG_LEVEL": "ERROR", "CLOSESPIDER_PAGECOUNT": 0,
        "RETRY_TIMES": 1, "LOG_INSTALL_ROOT_HANDLER": False,
        "DOWNLOADER_MIDDLEWARES": {k: v for k, v in DOWNLOADER_MIDDLEWARES.items()
                                   if "evidence" not in k and "Frontier" not in k},
    }
    settings = with_console_settings(settings)  # no remote-control/telnet listener (TRAWL_REMOTE_CONTROL=1 allows)
    sink: dict[str, Any] = {}
    process = CrawlerProcess(settings)
    process.crawl(_OnePageSpider, url=url, sink=sink, site=site)
    process.start()
    if "page" not in sink:
        raise TrawlError(f"{url}: fetch failed: {sink.get('error', 'no response')}")
    return sink["page"]


def render_report(site: SiteConfig, page: PageInput, kind: str, result: PageResult | None, links: dict[str, list[str]]) -> str:
    from crawler.engine.session import detect_gate, login_needed

    lines = [f"site {site.name} ({site.source}) — {page.url} — HTTP {page.status} — page kind: {kind}"]
    gate = detect_gate(site, text=page.text, url=page.url, status=page.status)
    if gate is not None:
        lines.append(f"NOTE: this is the {gate.type} gate '{gate.name}', not the page itself: run a short crawl "
                     f"(trawl crawl {site.name} --budget 5) or import cookies, so the saved session passes it")
    elif site.login and login_needed(site.login, text=page.text, url=page.url, status=page.status):
        lines.append(f"NOTE: this is the login page: run a short crawl (trawl crawl {site.name} --budget 5) to log in first")
    if result is not None:
        lines.append("")
        lines.append(f"{'field':<16} {'value':<44} from")
        lines.append("-" * 100)
        for name, value in result.fields.items():
            shown = value if not isinstance(value, list) else " | ".join(value)
            shown = "(MISSING)" if value in (None, "", []) else textwrap.shorten(str(shown), 44, placeholder="…")
            snippet = (result.snippets.get(name) or [""])[0]
            lines.append(f"{name:<16} {shown:<44} {result.selectors.get(name, '')}")
            if snippet:
                lines.append(f"{'':<16} {'':<44} {textwrap.shorten(snippet, 160, placeholder='…')}")
        if result.missing:
            lines.append("")
            lines.append(f"missing fields: {', '.join(result.missing)}")
    for name, values in links.items():
        lines.append(f"{name}: {len(values)} link(s)" + (f", e.g. {values[0]}" if values else ""))
    return "\n".join(lines)
