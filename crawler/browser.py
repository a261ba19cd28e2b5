"""Chromium rendering (scrapy-playwright) for `render: browser` sites.

Only browser sites get these settings: a plain-HTTP site never starts a browser.
Requests that should be rendered carry `playwright_request_meta()`; other requests of
the same crawl (robots.txt, JSON) go through the normal handler, which for a tor site
is the SOCKS handler (`TorPlaywrightDownloadHandler`), never a direct connection.

Tor + browser: Chromium gets `proxy={"server": "socks5://host:port"}` (Chromium sends
hostnames to a SOCKS5 proxy, i.e. remote DNS) and `--host-resolver-rules=MAP * ~NOTFOUND
, EXCLUDE <proxy host>` so it cannot resolve any name locally even by mistake. Chromium
does not support SOCKS5 username/password, so browser sites get no per-site stream
isolation.

Screenshots: a `screenshot` PageMethod runs after the wait; its PNG bytes come back in
the PageMethod's `result`, which the evidence middleware stores as a WARC `resource`
record. The page itself is never handed to the spider (`playwright_include_page`
stays False), so scrapy-playwright closes every page itself.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler.tor import TorDownloadHandler, parse_socks_url, resolve_socks_url, tor_settings

PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
TOR_PLAYWRIGHT_HANDLER = "crawler.browser.TorPlaywrightDownloadHandler"
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
)
NO_LOCAL_DNS_RULE = "MAP * ~NOTFOUND"


class TorPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler, TorDownloadHandler):
    """Playwright for rendered requests; the SOCKS handler (not direct HTTP) for the rest.

    MRO: ScrapyPlaywrightDownloadHandler's non-playwright branch calls super(), which
    resolves to TorDownloadHandler.download_request."""


def chromium_executable() -> str | None:
    """TRAWL_CHROMIUM, else the system Chromium, else None (Playwright's own download)."""
    configured = os.environ.get("TRAWL_CHROMIUM")
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
        # like Scrapy's own handler, no CA check: onion services are authenticated by
        # their address and mostly serve self-signed certificates
        "PLAYWRIGHT_CONTEXTS": {"default": {"ignore_https_errors": True}},
    }
    if tor:
        settings |= tor_settings(url, isolation=getattr(site, "name", None))
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
