"""Chromium rendering (scrapy-playwright) for `render: browser` sites.

Only browser sites get these settings: a plain-HTTP site never starts a browser.
Requests that should be rendered carry `playwright_request_meta()`; other requests of
the same crawl (robots.txt, JSON) go through the normal handler, which for a tor site
is the SOCKS handler (`TorPlaywrightDownloadHandler`), never a direct connection.

Tor + browser: Chromium gets `proxy={"server": "socks5://host:port"}` (Chromium sends
hostnames to a SOCKS5 proxy, i.e. remote DNS) and `--host-resolver-rules=MAP * ~NOTFOUND
, EXCLUDE <proxy host>` so it cannot resolve any name locally even by mistake. Chromium
does not support SOCKS5 username/password, so browser sites get no per-site stream
isolation. Clear-web browser sites get resolver rules that map `.onion`, `.i2p` and
`.exit` names to ~NOTFOUND: a hidden-service link on a clear-web page never reaches DNS.

Every browser: WebRTC may not send UDP that bypasses the proxy
(`--webrtc-ip-handling-policy=disable_non_proxied_udp`; the `force-` spelling is what
older builds read) and its JavaScript API is removed by an init script; V8's heap is
capped. For tor sites Chromium runs in a network namespace in which only the SOCKS port
is reachable (crawler.net.browser_netns; TRAWL_BROWSER_NETNS=auto|require|off).
crawler.net.browser_guard holds the request-level guards (hidden-service requests,
response/DOM size, renderer memory) that `TrawlPlaywrightDownloadHandler` applies.
`NavigationGuard` applies the HTTP redirect guard's rule (`SiteConfig.redirect_allowed`) to
the main frame: an off-site 302 or script navigation is refused and counted as
trawl/redirects/offsite.

Screenshots: a `screenshot` PageMethod runs after the wait; its PNG bytes come back in
the PageMethod's `result`, which the evidence middleware stores as a WARC `resource`
record. The page itself is never handed to the spider (`playwright_include_page`
stays False), so scrapy-playwright closes every page itself.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from core.config import load_config
from crawler.net.browser_guard import (
    BLOCKED_STAT,
    DROP_STAT,
    WEBRTC_OFF_SCRIPT,
    MemoryWatchdog,
    PageWatch,
    RenderDropped,
    RenderLimits,
    blocked_suffix,
)
from crawler.net.browser_netns import confine
from crawler.net.offsite import OffsiteRedirect
from crawler.net.tor import TorDownloadHandler, parse_socks_url, resolve_socks_url, tor_settings

PLAYWRIGHT_HANDLER = "crawler.net.browser.TrawlPlaywrightDownloadHandler"
TOR_PLAYWRIGHT_HANDLER = "crawler.net.browser.TorPlaywrightDownloadHandler"
SYSTEM_CHROMIUM = "/usr/bin/chromium"
# Debian's /usr/bin/chromium is a shell wrapper that sources /etc/chromium.d/, which turns
# on remote extensions and Google API keys: the browser then phones update.googleapis.com
# and accounts.google.com. The binary it wraps runs with our flags only.
SYSTEM_CHROMIUM_BINARY = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    # no update checks, safe-browsing lists, sync or metrics: the crawl is the only traffic
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # ...but Chromium still asks Google for account cookies (ListAccounts) and component
    # updates. Pointing those services at reserved .invalid names (RFC 2606) means a
    # monitoring browser never contacts Google, with or without a proxy.
    "--gaia-url=http://gaia.invalid",
    "--google-apis-url=http://apis.invalid",
    "--lso-url=http://lso.invalid",
    "--component-updater=url-source=http://update.invalid",
    # WebRTC: no UDP outside the proxy (i.e. none through SOCKS): no STUN/TURN from the
    # host's address, no host candidates, hence no mDNS either
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # no QUIC: it is UDP, which a SOCKS5 proxy does not carry, so any QUIC attempt would
    # leave beside the proxy. (Chromium's UDP connect() to 2001:4860:4860::8888 port 443 is
    # its IPv6 reachability probe: a connect sends nothing, and the leak tests say so.)
    "--disable-quic",
    # a script cannot grow V8's heap without bound (the DOM is bounded by the watchdog)
    "--js-flags=--max-old-space-size=512",
)
NO_LOCAL_DNS_RULE = "MAP * ~NOTFOUND"
NO_HIDDEN_SERVICE_DNS_RULE = "MAP *.onion ~NOTFOUND , MAP *.i2p ~NOTFOUND , MAP *.exit ~NOTFOUND"
CDP_TIMEOUT = 20.0  # seconds for a DevTools command of ours: generous under load
DOM_LENGTH_JS = "document.documentElement ? document.documentElement.outerHTML.length : 0"


class _QuietDrops(logging.Filter):
    """scrapy-playwright logs every failed page as a warning with a traceback; a page the
    guards dropped is counted (item_dropped_reasons/browser_*), not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], RenderDropped))


logging.getLogger("scrapy-playwright").addFilter(_QuietDrops())
logger = logging.getLogger(__name__)
OFFSITE_STAT = "trawl/redirects/offsite"  # the name the HTTP-mode redirect guard counts under


class NavigationGuard:
    """Chromium's half of the redirect guard (crawler.engine.middlewares.SiteRedirectGuardMiddleware):
    the main frame may navigate only to the site's mirrors or `redirect_domains`.

    Chromium follows a 302 itself and Playwright's routing never sees the hop ("the handler
    will only be called for the first url if the response is a redirect"), so this uses its
    own CDP session with Fetch interception of documents, which pauses every hop. An
    off-site hop of the page's own navigation fails with ERR_BLOCKED_BY_CLIENT (the page
    then ends as OffsiteRedirect: finished, no mirror rotated); a script's `location = ...`
    is failed with ERR_ABORTED (no error page is committed; a page whose own load it
    interrupts also ends as OffsiteRedirect)."""

    def __init__(self, page: Any, site: Any, request_url: str, stats: Any) -> None:
        self.page, self.site, self.stats = page, site, stats
        self.own_netloc = urlsplit(request_url).netloc
        self.offsite: str | None = None
        self.session: Any = None
        self.main_frame = ""
        self._deciding: set[asyncio.Future[None]] = set()
        self.loaded = False  # the page's own load event fired

    async def attach(self) -> None:
        self.page.once("load", self._on_load)
        session = self.session = await self.page.context.new_cdp_session(self.page)
        tree = await session.send("Page.getFrameTree")
        self.main_frame = tree["frameTree"]["frame"]["id"]
        session.on("Fetch.requestPaused", self._on_paused)
        await session.send("Fetch.enable", {"patterns": [
            {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}]})

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc == self.own_netloc:
            return True
        return bool(self.site.redirect_allowed(url))

    def _on_paused(self, event: dict[str, Any]) -> None:
        decision = asyncio.ensure_future(self._decide(event))
        self._deciding.add(decision)  # a reference until it is done: tasks are weakly held
        decision.add_done_callback(self._deciding.discard)

    async def _decide(self, event: dict[str, Any]) -> None:
        url = str((event.get("request") or {}).get("url", ""))
        params: dict[str, Any] = {"requestId": event["requestId"]}
        hop = bool(event.get("redirectedRequestId"))  # a server redirect, not a script
        if event.get("frameId") != self.main_frame or self.allowed(url):
            command = "Fetch.continueRequest"
        else:
            command = "Fetch.failRequest"
            params["errorReason"] = "BlockedByClient" if hop else "Aborted"
            self.offsite = self.offsite or url
            self.stats.inc_value(OFFSITE_STAT)
            logger.warning("browser: not following a navigation to another host (%s): not a mirror of %s",
                           urlsplit(url).netloc, getattr(self.site, "name", "?"))
        with contextlib.suppress(Exception):  # the page may be closing: nothing left to let through
            await asyncio.wait_for(self.session.send(command, params), CDP_TIMEOUT)
        if command == "Fetch.failRequest" and not hop and not self.loaded:
            # a script's navigation refused while the page's own load was still running: that
            # load never completes, and Page.goto would wait out its whole navigation timeout
            # (30 s) before the page ends as off-site; closing the page ends it now
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.page.close(), CDP_TIMEOUT)

    def _on_load(self, *_: Any) -> None:
        self.loaded = True


class TrawlPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright plus crawler.net.browser_guard: WebRTC removed in every context,
    hidden-service requests aborted, oversize responses/DOMs and runaway renderers
    dropped with a counted reason."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._tor = crawler.settings.get("TRAWL_NETWORK") == "tor"
        self._limits = RenderLimits.from_settings(crawler.settings)
        self._watchdog = MemoryWatchdog.shared(self._limits, crawler.stats)
        self._watching = False
        self._watches: dict[int, PageWatch] = {}
        self._guards: dict[int, NavigationGuard] = {}
        if self._tor:  # 1: Chromium runs in a namespace where only the proxy is reachable
            self.stats.set_value("trawl/browser/netns", int(crawler.settings.getbool("TRAWL_BROWSER_CONFINED")))
        self._user_abort: Any = getattr(self, "abort_request", None)  # PLAYWRIGHT_ABORT_REQUEST, honoured too
        self.abort_request = self._abort_request

    async def _abort_request(self, playwright_request: Any) -> bool:
        suffix = blocked_suffix(playwright_request.url, self._tor)
        if suffix:
            self.stats.inc_value(BLOCKED_STAT + suffix)
            return True
        if self._user_abort is None:
            return False
        verdict = self._user_abort(playwright_request)
        return bool(await verdict) if hasattr(verdict, "__await__") else bool(verdict)

    async def _maybe_launch_browser(self) -> None:
        await super()._maybe_launch_browser()
        if not self._watching:
            self._watching = True
            self._watchdog.start()

    async def _create_browser_context(self, name: str, context_kwargs: dict | None,
                                      spider: Any = None) -> Any:
        # like Scrapy's own handler, no CA check: onion services are authenticated by
        # their address and mostly serve self-signed certificates. (Set here, not as a
        # PLAYWRIGHT_CONTEXTS startup context: that made each scheme's handler launch a
        # browser of its own at start, two Chromiums for one crawl.)
        context_kwargs = {"ignore_https_errors": True, **(context_kwargs or {})}
        wrapper = await super()._create_browser_context(name, context_kwargs, spider)
        await wrapper.context.add_init_script(WEBRTC_OFF_SCRIPT)
        return wrapper

    async def _create_page(self, request: Request, spider: Any) -> Any:
        page = await super()._create_page(request, spider)
        limit = min(int(request.meta.get("download_maxsize") or self._limits.max_response_bytes),
                    self._limits.max_response_bytes)
        watch = PageWatch(page, limit, kills_at_start=self._watchdog.kills)
        self._watches[id(request)] = watch
        try:  # a renderer busy with another hostile page may not answer: do not wait on it
            await asyncio.wait_for(watch.attach(), CDP_TIMEOUT)
        except (asyncio.TimeoutError, PlaywrightError):
            self.stats.inc_value("trawl/browser/watch_unavailable")
        site = getattr(spider, "site", None)
        if getattr(site, "redirect_allowed", None) is not None:
            guard = NavigationGuard(page, site, request.url, self.stats)
            self._guards[id(request)] = guard
            try:
                await asyncio.wait_for(guard.attach(), CDP_TIMEOUT)
            except (asyncio.TimeoutError, PlaywrightError):
                self.stats.inc_value("trawl/browser/redirect_guard_unavailable")
        return page

    async def _apply_page_methods(self, page: Any, request: Request, spider: Any) -> None:
        await super()._apply_page_methods(page, request, spider)
        try:
            length = int(await asyncio.wait_for(page.evaluate(DOM_LENGTH_JS), CDP_TIMEOUT) or 0)
        except asyncio.TimeoutError:
            raise RenderDropped("render_timeout", request.url, "DOM size check") from None
        if length > self._limits.max_dom_chars:
            raise RenderDropped("dom_too_large", request.url, f"{length} characters")

    async def _download_request_with_retry(self, request: Request, spider: Any) -> Response:
        try:
            response = await super()._download_request_with_retry(request, spider)
        except RenderDropped as exc:
            raise self._count(exc) from None
        except Exception as exc:
            guard = self._guards.get(id(request))
            if guard is not None and guard.offsite is not None:  # counted by the guard
                raise OffsiteRedirect(f"redirect to {urlsplit(guard.offsite).netloc} is off-site") from None
            reason = self._drop_reason(self._watches.get(id(request)))
            if reason is None:
                raise
            raise self._count(RenderDropped(reason, request.url)) from exc
        finally:
            watch = self._watches.pop(id(request), None)
            self._guards.pop(id(request), None)
        reason = self._drop_reason(watch)
        if reason is not None:  # a subresource went over the limit while the page loaded
            raise self._count(RenderDropped(reason, request.url))
        return response

    def _drop_reason(self, watch: PageWatch | None) -> str | None:
        if watch is None:
            return None
        if watch.violation:
            return watch.violation
        if watch.crashed:
            return "renderer_memory" if self._watchdog.kills > watch.kills_at_start else "renderer_crashed"
        return None

    def _count(self, exc: RenderDropped) -> RenderDropped:
        self.stats.inc_value(DROP_STAT + exc.reason)
        return exc

    async def _close(self) -> None:
        if self._watching:
            self._watching = False
            await self._watchdog.stop()
        await super()._close()


class TorPlaywrightDownloadHandler(TrawlPlaywrightDownloadHandler, TorDownloadHandler):
    """Playwright for rendered requests; the SOCKS handler (not direct HTTP) for the rest.

    MRO: ScrapyPlaywrightDownloadHandler's non-playwright branch calls super(), which
    resolves to TorDownloadHandler.download_request."""


def chromium_executable() -> str | None:
    """TRAWL_CHROMIUM, else the system Chromium, else None (Playwright's own download)."""
    configured = load_config().browser_chromium
    if configured:
        return configured
    for candidate in (SYSTEM_CHROMIUM_BINARY, SYSTEM_CHROMIUM):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium") or None


def launch_options(socks_url: str | None = None) -> dict[str, Any]:
    args = list(CHROMIUM_ARGS)
    options: dict[str, Any] = {"headless": True, "args": args}
    executable = chromium_executable()
    if executable:
        options["executable_path"] = executable
    if socks_url is not None:
        proxy = parse_socks_url(socks_url)  # rejects socks5:// (local DNS) and junk
        options["proxy"] = {"server": f"socks5://{proxy.host}:{proxy.port}"}
        args.append(f"--host-resolver-rules={NO_LOCAL_DNS_RULE} , EXCLUDE {proxy.host}")
    else:
        args.append(f"--host-resolver-rules={NO_HIDDEN_SERVICE_DNS_RULE}")
    return options


def browser_settings(site: Any, socks_url: str | None = None, *, max_contexts: int = 2,
                     max_pages_per_context: int = 4) -> dict[str, Any]:
    """Settings for a `render: browser` site ({} for any other site)."""
    if getattr(site, "render", "http") != "browser":
        return {}
    tor = getattr(site, "network", "clearnet") == "tor"
    url = resolve_socks_url(socks_url) if tor else None
    settings: dict[str, Any] = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(url),
        "PLAYWRIGHT_MAX_CONTEXTS": max_contexts,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max_pages_per_context,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
    }
    if tor:
        settings |= tor_settings(url, isolation=getattr(site, "name", None))
        proxy = parse_socks_url(str(url))
        settings["TRAWL_BROWSER_CONFINED"] = confine(settings["PLAYWRIGHT_LAUNCH_OPTIONS"],
                                                  proxy.host, proxy.port)
        handler = TOR_PLAYWRIGHT_HANDLER
    else:
        handler = PLAYWRIGHT_HANDLER
    settings["DOWNLOAD_HANDLERS"] = {"http": handler, "https": handler}
    return settings


def playwright_request_meta(site: Any, wait_for: str | None = None,
                            screenshot: bool = False) -> dict[str, Any]:
    """meta for a request the browser should render (empty for http-render sites)."""
    if getattr(site, "render", "http") != "browser":
        return {}
    selector = wait_for or getattr(site, "browser_wait_for", None)
    methods: list[PageMethod] = []
    if selector:
        methods.append(PageMethod("wait_for_selector", selector, state="attached"))
    if screenshot:
        methods.append(PageMethod("screenshot", full_page=True, type="png"))
    return {"playwright": True, "playwright_include_page": False,
            "playwright_page_methods": methods}
