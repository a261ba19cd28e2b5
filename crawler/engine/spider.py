"""TrawlSpider: the one spider for every site.  It only navigates; what a page *means*
comes from the site YAML and page objects, what happens to the data from the pipeline.

Flow per response: gate? (captcha → pause the site; wait → pass it) → login needed? (log
in, then come back) → listing or vendor page (page object → core.items.RawListing /
RawVendor, handed to crawler/engine/itempipeline.py) → links to follow
(categories, pagination, "load more", listing and vendor links).  Each followed page is
first written to the persistent frontier; a page is done when its items are stored.
It never follows logout links and never submits any form but login and gate forms.
Gate and login steps live in crawler/engine/spider_gates.py, grid (card) steps in
crawler/engine/spider_grid.py.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.response import get_base_url
from twisted.python.failure import Failure

from core import redact
from core.items import EvidenceRef, Fetch, RawListing, RawVendor
from crawler.engine import markets_banners, session, spider_gates, spider_grid, workers_job
from crawler.engine.frontier import PENDING, Frontier, page_key
from crawler.engine.hrefs import join_href
from crawler.engine.runstatus import stop_on_local_failure
from crawler.evidence.middleware import received_sha256
from crawler.net.offsite import OffsiteRedirect
from crawler.sitedef.pages import PageInput, SelectorPage, page_object_class
from crawler.sitedef.pages.grid import is_grid_page
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import (
    ExtractionBudgetExceeded,
    FieldSelector,
    check_deadline,
    evaluate,
    precompile,
)
from crawler.sitedef.siteconfig import PageSpec, SiteConfig

logger = logging.getLogger(__name__)

# never followed whatever the YAML says: a monitor must not end its own session or act
ALWAYS_DENY = re.compile(
    r"(^|/)(log-?out|sign-?out|log-?off|buy|order|checkout|cart|basket|messages/new|compose|withdraw|deposit)([/?#.]|$)",
    re.I)
MAX_URL_LENGTH = 2083
NAV_SELECTORS = ("categories", "pagination", "load_more", "listing_links", "vendor_links")


class TrawlSpider(scrapy.Spider):
    name = "trawl"

    def __init__(self, site: SiteConfig, frontier: Frontier, run_id: str = "", resume: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site, self.frontier, self.run_id, self.resume = site, frontier, run_id, resume
        self.mirror_index = 0
        # absolute URLs already judged (offsite, denied, or known to the frontier): every
        # page repeats the same menus and neighbours, so most links are seen many times
        self.judged_urls: set[str] = set()
        self.login_attempts = 0
        self.paused = False
        # grid sites: ids whose listing page was read in this run, or is requested for a card
        self.pages_read: set[str] = set()
        self.pages_requested: set[str] = set()
        self._index: Any = None  # opened on the first grid page when follow_listings needs the index
        self._frontier_commits: Any = None  # a LoopingCall while the crawl runs (group commit)
        self.handoff = False  # pages go to processing workers (TRAWL_WORKERS > 0; set in from_crawler)
        self.listing_page = page_object_class(site.listing)
        self.vendor_page = page_object_class(site.vendor) if site.vendor else SelectorPage
        precompile(site)  # at start-up, not on the first pages, which nothing else overlaps
        if site.login:
            # login fields are redacted from every URL, header and log line (a GET form
            # puts them in the URL); the password itself is registered when it is loaded
            redact.register_secret_fields(site.login.username_field, site.login.password_field)
            redact.install_log_filter()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> TrawlSpider:
        spider: TrawlSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.handoff = crawler.settings.getint("TRAWL_WORKERS", 0) > 0
        crawler.signals.connect(spider._commit_frontier_regularly, signal=scrapy.signals.spider_opened)
        return spider

    def _commit_frontier_regularly(self) -> None:
        # a frontier with group commit (crawler/engine/frontier.py) commits on its next write
        # once its group is old enough; this commits it in a quiet spell (slow onion) too
        if self.frontier.group_commit > 0:
            from twisted.internet.task import LoopingCall

            self._frontier_commits = LoopingCall(self._commit_frontier)
            self._frontier_commits.start(self.frontier.group_commit, now=False)

    def _commit_frontier(self) -> None:
        try:
            self.frontier.commit()
        except Exception as exc:  # a full disk: the crawl stops as for any local failure
            if not stop_on_local_failure(self.crawler, exc):
                raise

    # --- requests --------------------------------------------------------------------
    @property
    def mirror(self) -> str:
        return self.site.mirrors[self.mirror_index % len(self.site.mirrors)]

    def make_request(self, key: str, kind: str, depth: int, *, tries: int = 0, **meta: Any) -> Request:
        meta = {"trawl_key": key, "trawl_kind": kind, "trawl_depth": depth, "trawl_mirror": self.mirror,
                "trawl_mirror_tries": tries, **meta}
        if self.site.render == "browser":
            from crawler.net.browser import playwright_request_meta

            for name, value in playwright_request_meta(self.site).items():
                meta.setdefault(name, value)
        return Request(self.mirror + key, callback=self.parse, errback=self.failed, meta=meta, dont_filter=True)

    async def start(self) -> Any:  # Scrapy ≥ 2.13
        if self.site.login:
            # again: Scrapy replaces its root log handler after the spider is created
            redact.install_log_filter()
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[Request]:
        if self.resume:
            entries = list(self.frontier.unfinished())
            self.logger.info("resume: %d unfinished pages re-enqueued", len(entries))
            shared = bool(self.crawler.settings.get("TRAWL_REDIS_PREFIX"))
            for entry in entries:
                if shared and entry.status == PENDING:
                    # found here but maybe never offered to the shared queue (killed in
                    # between): the shared dupefilter drops it if it was
                    yield self.make_request(entry.key, entry.kind, entry.depth)
                else:
                    # this worker's own page (taken, fetched or failed): it redoes it itself
                    yield self.make_request(entry.key, entry.kind, entry.depth, trawl_resumed=True)
            if entries and not shared:
                return
        for url in self.site.start_urls:
            key = page_key(url if "://" in url else self.mirror + "/" + url.lstrip("/"))
            self.frontier.add(key, "start", 0)
            yield self.make_request(key, "start", 0)

    def follow(self, response: Response, href: str, kind: str, depth: int, base: str | None = None) -> Request | None:
        """A request for the page `href` points to, if it is to be fetched; `base` is
        `base_url(response)` (the caller's, once for a page's many links)."""
        url = join_href(base_url(response) if base is None else base, href)
        if url in self.judged_urls:
            return None
        if len(url) > MAX_URL_LENGTH:  # a trap growing its URLs (Scrapy's URLLENGTH_LIMIT, whose middleware is off)
            self.judged_urls.add(url)
            self.crawler.stats.inc_value("trawl/links/too_long")
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or ALWAYS_DENY.search(parts.path):
            self.judged_urls.add(url)
            self.crawler.stats.inc_value("trawl/links/never_followed")
            return None
        if f"{parts.scheme}://{parts.netloc}" not in self.site.mirrors:
            self.judged_urls.add(url)
            self.crawler.stats.inc_value("trawl/links/offsite")
            return None
        key = page_key(url)
        if not self.site.url_allowed(key):
            self.judged_urls.add(url)
            self.crawler.stats.inc_value("trawl/links/denied")
            return None
        kind = self.classify(key, kind)
        if kind == "nav" and depth > self.site.navigation.max_depth:
            # not remembered: the same link may turn up again nearer the start
            self.crawler.stats.inc_value("trawl/links/too_deep")
            return None
        self.judged_urls.add(url)
        if not self.frontier.add(key, kind, depth):
            return None
        return self.make_request(key, kind, depth)

    def classify(self, key: str, hint: str) -> str:
        if self.site.listing.url_pattern is not None and self.site.listing.url_pattern.search(key):
            return "listing"
        if self.site.vendor and self.site.vendor.url_pattern is not None and self.site.vendor.url_pattern.search(key):
            return "vendor"
        if hint in ("listing", "vendor") and (self.site.listing.url_pattern is None or hint == "vendor"):
            return hint
        return "nav"

    # --- responses -------------------------------------------------------------------
    def parse(self, response: Response, **_: Any) -> Iterator[Any]:
        if self.paused:
            return
        budget = self.site.throttle.extract_budget
        deadline = time.monotonic() + budget if budget > 0 else None
        try:
            # read the whole page before yielding: Scrapy runs other work between yields,
            # and the budget is for this page's own time on the reactor thread
            output = self.read_page(response, deadline)
        except ExtractionBudgetExceeded as exc:
            key = response.meta["trawl_key"]
            self.crawler.stats.inc_value("item_dropped_reasons/extraction_budget")
            self.logger.warning("page %s dropped: %s (throttle.extract_budget: %gs)", key, exc, budget)
            self.frontier.forget_body(key)
            self.frontier.done(key)  # recorded as a drop, not retried: the page would do it again
            return
        yield from output

    def read_page(self, response: Response, deadline: float | None) -> list[Any]:
        """Requests and the item one response gives (gate/login handling, fields, links)."""
        meta = response.meta
        key, kind, depth = meta["trawl_key"], meta["trawl_kind"], meta["trawl_depth"]
        text = response.text if hasattr(response, "text") else ""
        # one parsed tree per page, shared by gate/login detection, fields and links
        sel = page_selector(text)
        gate = session.detect_gate(self.site, text=text, url=response.url, status=response.status, sel=sel)
        if gate is not None:
            self.frontier.forget_body(key)
            return list(spider_gates.handle_gate(self, gate, response))
        if markets_banners.on_page(self, text=text, url=response.url, status=response.status, sel=sel, kind=kind):
            self.frontier.forget_body(key)  # a seizure banner: the crawl stops (crawler/engine/markets_banners.py)
            return []
        login = self.site.login
        if login and session.login_needed(login, text=text, url=response.url, status=response.status, sel=sel):
            self.frontier.forget_body(key)
            return list(spider_gates.handle_login(self, response))
        if meta.get("trawl_login_submitted"):
            self.login_attempts = 0
            self.crawler.stats.inc_value("trawl/login/success")
            if login and login.success_markers and not any(
                    m.matches(text=text, sel=sel, url=response.url, status=response.status)
                    for m in login.success_markers):
                self.logger.warning("logged in, but no success marker on %s: check login.success_markers", response.url)
        if meta.get("trawl_after_gate") and page_key(response.url) != key:
            # the gate/login sent us somewhere else: ask again for the page we wanted (the meta
            # first: most responses follow no gate, and canonicalising a URL page_key has not
            # seen costs ~16 us on the crawl's thread)
            return [self.make_request(key, kind, depth)]
        check_deadline(deadline, "gate and login markers")
        item: RawListing | RawVendor | None = None
        cards: list[Any] = []
        if self.handoff and (kind == "listing" or (kind == "vendor" and self.site.vendor)):
            # processing workers extract it from the evidence (crawler/engine/workers.py)
            return [*self.links(response, sel, depth, deadline), workers_job.page_job(response, kind)]
        if kind == "listing":
            item = self.extract(response, sel, self.site.listing, self.listing_page, "listing", deadline)
            if self.site.grid is not None:
                item = spider_grid.with_card(self, cast(RawListing, item), meta.get("trawl_card"))
        elif kind == "vendor" and self.site.vendor:
            item = self.extract(response, sel, self.site.vendor, self.vendor_page, "vendor", deadline)
        elif self.site.grid is not None and is_grid_page(self.site, key, sel):
            # before the links: a card whose page is not to be fetched must not be followed as a link either
            cards = spider_grid.read_grid(self, response, sel, depth, deadline)
            cards = workers_job.cards_job(cards, key) if self.handoff else cards
        output: list[Any] = cards + list(self.links(response, sel, depth, deadline))
        if item is not None:
            output.append(item)  # the store stage marks the page done once the item is committed
        elif not any(isinstance(c, (RawListing, workers_job.PageJob)) for c in cards):
            self.frontier.done(key)
        return output

    # --- grid pages ----------------------------------------------------------------------
    def closed(self, reason: str) -> None:
        if self._frontier_commits is not None and self._frontier_commits.running:
            self._frontier_commits.stop()
        self._commit_frontier()
        if self._index is not None:
            self._index.close()
            self._index = None

    def links(self, response: Response, sel: Selector, depth: int, deadline: float | None = None) -> Iterator[Request]:
        nav = self.site.navigation
        base = base_url(response)
        for name in NAV_SELECTORS:
            selector: FieldSelector | None = getattr(nav, name)
            if selector is None:
                continue
            check_deadline(deadline, f"navigation.{name}")
            hint = {"listing_links": "listing", "vendor_links": "vendor"}.get(name, "nav")
            values = evaluate(selector, sel, response.url, snippets=False).value or []
            for number, href in enumerate(values if isinstance(values, list) else [values]):
                if number % 256 == 255:
                    check_deadline(deadline, f"navigation.{name} links")
                request = self.follow(response, href, hint, depth + 1, base)
                if request is not None:
                    yield request

    def fetch_of(self, response: Response) -> Fetch:
        # set by the WARC middleware (crawler.evidence); none when evidence is off
        evidence = response.meta.get("trawl_evidence") or EvidenceRef()
        return Fetch(key=response.meta["trawl_key"], mirror=response.meta.get("trawl_mirror", self.mirror),
                     proxy=response.meta.get("trawl_proxy", ""), evidence=evidence,
                     page_sha256=received_sha256(response, evidence), replayed="replayed" in response.flags)

    def extract(self, response: Response, sel: Selector, spec: PageSpec, page_cls: type[SelectorPage],
                kind: Literal["listing", "vendor"], deadline: float | None = None) -> RawListing | RawVendor:
        fetch = self.fetch_of(response)
        item = page_cls(PageInput.from_response(response, sel), spec, self.site, snippets=False,
                        deadline=deadline).to_item(kind, fetch)
        for name in item.missing:
            self.crawler.stats.inc_value(f"trawl/fields_missing/{kind}/{name}")
        return item

    # --- gates and login ---------------------------------------------------------------
    def carry(self, response: Response) -> dict[str, Any]:
        keep = ("trawl_key", "trawl_kind", "trawl_depth", "trawl_mirror", "trawl_mirror_tries", "playwright", "trawl_card")
        return {k: response.meta[k] for k in keep if k in response.meta}

    def stop(self, reason: str, close_reason: str) -> None:
        """End the crawl for a reason a person must fix in the YAML (no pause file)."""
        if self.paused:
            return
        self.paused = True
        self.crawler.stats.set_value("trawl/paused_reason", reason)
        self.logger.error("stopping site %s: %s", self.site.name, reason)
        self.crawler.engine.close_spider(self, close_reason)

    def pause(self, reason: str, url: str) -> None:
        if self.paused:
            return
        self.paused = True
        self.crawler.stats.set_value("trawl/paused_reason", reason)
        session.pause_site(self.site.name, reason, url=url, run_id=self.run_id)
        self.logger.warning("pausing site %s: %s", self.site.name, reason)
        self.crawler.engine.close_spider(self, "site_paused")

    # --- failures: rotate mirrors ----------------------------------------------------------
    def failed(self, failure: Failure) -> Iterator[Request | RawListing]:
        if stop_on_local_failure(self.crawler, failure.value):
            return  # our disk/files failed, not the site: no error counted, no mirror rotated
        request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        key, tries = meta.get("trawl_key"), meta.get("trawl_mirror_tries", 0)
        if isinstance(failure.value, OffsiteRedirect):
            if key is not None:  # counted by the guard; the page leads elsewhere: it is finished
                self.frontier.done(key)
            return
        kind = type(failure.value).__name__
        status = getattr(getattr(failure.value, "response", None), "status", None)
        self.crawler.stats.inc_value(f"trawl/errors/{kind}" + (f"/{status}" if status else ""))
        if status is None:  # never reached the mirror (the lifecycle registry counts its mirrors dead)
            self.crawler.stats.inc_value(f"trawl/mirror_unreachable/{meta.get('trawl_mirror')}")
        if key is None or self.paused:
            return
        if status is not None and 400 <= status < 500:
            # a 404/410 page is finished (a vanished listing): nothing to store, nothing to retry
            self.frontier.done(key)
            yield from spider_grid.card_alone(self, request)
            return
        if tries + 1 < len(self.site.mirrors):
            if meta.get("trawl_mirror") == self.mirror:
                self.mirror_index += 1
                self.crawler.stats.inc_value("trawl/mirror_rotations")
                self.logger.warning("mirror %s failed (%s); rotating to %s", meta.get("trawl_mirror"), kind, self.mirror)
            yield self.make_request(key, meta["trawl_kind"], meta["trawl_depth"], tries=tries + 1)
            return
        self.frontier.failed(key, f"{kind} {status or ''}".strip())
        yield from spider_grid.card_alone(self, request)


def base_url(response: Response) -> str:
    """What Scrapy's `response.urljoin` joins against: the page's <base href> or its URL.
    Resolving with it (crawler/engine/hrefs.py remembers site-rooted hrefs) is urljoin's answer."""
    return get_base_url(response) if isinstance(response, TextResponse) else response.url
