"""trawl's Scrapy settings: defaults, profiles and the per-site settings built from a SiteConfig.

This is the ONE place Scrapy settings live; their values come from core.defaults (the one
defaults module) and user-facing keys from core.config (defaults, trawl.toml, TRAWL_* env).  Components read what they need
once in `from_crawler` (into a small dataclass) and raise NotConfigured when switched off.
Network parts (Tor, browser, evidence, Redis) come from their modules by contract:
`crawler.net.tor.tor_settings`, `crawler.net.browser.browser_settings`, `crawler.evidence.writer`,
`crawler.engine.distributed.redis_settings`; a part that is not installed yet is simply left out,
except Tor, without which a tor site must not be crawled at all.

Scrapy's consoles are off in every crawl: RemoteControl (an HTTP endpoint that executes
Python in the crawl process, with a token in a job file left behind by a SIGKILL) and the
telnet console.  `TRAWL_REMOTE_CONTROL=1` turns both back on, for debugging on a trusted
machine only.  Logging is configured by crawler.engine.logsetup, not by LOG_LEVEL here.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from core.config import load_config
from core.defaults import SCRAPY_DEFAULTS
from core.errors import TrawlError
from crawler.sitedef.siteconfig import SiteConfig

USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"  # Tor Browser's UA

BASE: dict[str, Any] = {
    "BOT_NAME": "trawl",
    "USER_AGENT": USER_AGENT,
    "ROBOTSTXT_OBEY": False,  # a monitor reads what a visitor reads; deny rules live in the site YAML
    "COOKIES_ENABLED": True,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "INFO",  # run.py sets it to the level the handlers of crawler.engine.logsetup need
    "RETRY_ENABLED": True,
    # 429 is not here: PoliteRetryMiddleware waits the Retry-After the site asks for
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
    "HTTPERROR_ALLOWED_CODES": [],
    "REDIRECT_ENABLED": True,
    "METAREFRESH_ENABLED": False,  # meta-refresh gates are passed explicitly, per site YAML
    "DOWNLOAD_MAXSIZE": 20 * 2**20,
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    "STATS_CLASS": "crawler.engine.runstats.TrawlStatsCollector",
    "TRAWL_EVIDENCE_ENABLED": SCRAPY_DEFAULTS["TRAWL_EVIDENCE_ENABLED"],
    "TRAWL_MAX_RATE_LIMITED": SCRAPY_DEFAULTS["TRAWL_MAX_RATE_LIMITED"],
    # Scrapy reads a callback's source on every response to warn about `return value` in
    # generators; for bound methods its cache never hits (a fresh object each time), and it
    # cost ~1.5 ms a page.  The spider is ours and has no such return.
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
    # Scrapy starts this many asyncio tasks for EVERY response with output; our stages are
    # synchronous, so 100 (the default) only buys task overhead (~2 ms a page).
    "CONCURRENT_ITEMS": 8,
    # stored items are written per batch (one transaction / one bulk request), see pipeline.store
    "TRAWL_STORE_BATCH": SCRAPY_DEFAULTS["TRAWL_STORE_BATCH"],
    "TRAWL_STORE_BATCH_SECONDS": SCRAPY_DEFAULTS["TRAWL_STORE_BATCH_SECONDS"],
}

# Scrapy's own retry and cookie middlewares are replaced by ours (same slots).
DOWNLOADER_MIDDLEWARES: dict[str, int | None] = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    # first: an off-site redirect (even to an onion from a clear-web site) is counted as such
    "crawler.engine.middlewares.SiteRedirectGuardMiddleware": 5,  # redirects only to the site's mirrors
    "crawler.net.tor.OnionGuardMiddleware": 10,  # always on: refuses .onion outside tor sites
    "crawler.engine.middlewares.FrontierReplayMiddleware": 20,
    "crawler.engine.middlewares.GateWaitMiddleware": 30,
    "crawler.engine.middlewares.PoliteRetryMiddleware": 550,
    "crawler.engine.session.SessionCookiesMiddleware": 700,
    "crawler.evidence.middleware.WarcEvidenceMiddleware": 950,
    # off: the spider follows only its site's mirrors (TrawlSpider.follow) and no site asks for
    # HTTP auth; each enabled middleware is a call per request (these two and the three spider
    # middlewares below: 7.25 -> 6.83 ms CPU a page in the crawl process, bench/crawl.py A/B)
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
}

# Scrapy spider middlewares whose work the spider does itself: depth (navigation.max_depth,
# trawl_depth), URL length (TrawlSpider.follow); the meta-copy check is a developer's warning.
# Each wraps every page's output in one more async generator.
SPIDER_MIDDLEWARES: dict[str, int | None] = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}

# one Scrapy item pipeline: the adapter over pipeline.Pipeline (validate, unchanged, parse,
# enrich, store), which owns the index, the frontier marks and the batch timer
ITEM_PIPELINES: dict[str, int] = {
    "crawler.engine.itempipeline.TrawlItemPipeline": 300,
}

EXTENSIONS: dict[str, int | None] = {
    "crawler.engine.runstats.RunStatsExtension": 100,
    "crawler.engine.runstatus.LocalFailureGuard": 110,
    "crawler.engine.progress.ProgressExtension": 120,  # NotConfigured unless TRAWL_PROGRESS
}

# Scrapy extensions that open a listener in the crawl process; off unless TRAWL_REMOTE_CONTROL=1.
CONSOLE_EXTENSIONS = ("scrapy.extensions.remote_control.RemoteControl", "scrapy.extensions.telnet.TelnetConsole")


def console_settings() -> dict[str, Any]:
    """Settings that keep Scrapy's remote-control and telnet consoles off (or, with
    TRAWL_REMOTE_CONTROL=1, on).  Every CrawlerProcess of trawl merges them in."""
    enabled = load_config().crawl_remote_control
    return {"REMOTE_CONTROL_ENABLED": enabled, "TELNETCONSOLE_ENABLED": enabled,
            "EXTENSIONS": {} if enabled else {name: None for name in CONSOLE_EXTENSIONS}}

# Profiles: named overrides for the environment a crawl runs in (TRAWL_PROFILE).
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    # the local testbed: no artificial delays beyond what the site YAML asks for
    # (small store batches: kill-and-resume tests stop crawls of a few dozen listings midway)
    "test": {"TRAWL_EVIDENCE_FSYNC": False, "TRAWL_STORE_BATCH": 10,
             # a killed test worker stays "busy" in Redis: its peers need not wait for it long
             "TRAWL_REDIS_LINGER": 5.0},
    "production": {"DOWNLOAD_DELAY_JITTER": 0.5, "AUTOTHROTTLE_DEBUG": False},
}


# crawl.event_loop -> Scrapy's ASYNCIO_EVENT_LOOP (None: asyncio's own loop).  The crawl process
# spends half its CPU in Scrapy, Twisted and the loop: on uvloop a fast testbed crawl (one
# worker) took 6.4-7.1 -> 5.9-6.3 ms/page and ran 2-14% faster (docs/architecture.md).
EVENT_LOOPS = {"uvloop": "uvloop.Loop", "asyncio": None}


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def event_loop_setting(choice: str) -> str | None:
    """ASYNCIO_EVENT_LOOP for `crawl.event_loop` (auto, uvloop or asyncio).

    >>> event_loop_setting("asyncio") is None
    True
    """
    if choice not in ("auto", *EVENT_LOOPS):
        raise TrawlError(f"crawl.event_loop = {choice!r}: expected auto, uvloop or asyncio")
    if choice == "asyncio":
        return None
    if _optional("uvloop") is None:
        if choice == "uvloop":
            raise TrawlError("crawl.event_loop = uvloop, but uvloop is not installed (pip install uvloop; "
                             "auto or asyncio run on asyncio's own loop)")
        return None
    return EVENT_LOOPS["uvloop"]


def site_settings(site: SiteConfig) -> dict[str, Any]:
    """Throttling, retries, budget and timeouts a site YAML asks for."""
    t = site.throttle
    return {
        "TRAWL_SITE": site.name,
        "TRAWL_NETWORK": site.network,
        "CONCURRENT_REQUESTS": t.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": t.concurrency,
        "DOWNLOAD_DELAY": t.delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "AUTOTHROTTLE_ENABLED": t.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(t.delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(t.retry_after_max, 10.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": t.autothrottle_target,
        "RETRY_TIMES": t.retries,
        "TRAWL_RETRY_BACKOFF": t.backoff,
        "TRAWL_RETRY_AFTER_MAX": t.retry_after_max,
        "CLOSESPIDER_PAGECOUNT": t.page_budget,
        "DOWNLOAD_TIMEOUT": t.timeout,
    }


def _pinned_tor_instance(site: str, config: Any) -> Any:
    """The pool instance `site` is pinned to (crawler.net.torpool), None without a pool."""
    from core.home import trawl_home
    from crawler.net.torpool import instance_for, pool_instances

    instances = pool_instances(config.tor_pool, trawl_home())
    return instance_for(site, instances) if instances else None


def network_settings(site: SiteConfig, socks_url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    config = load_config()
    socks = socks_url or config.tor_socks or None
    if site.network == "tor":
        from crawler.net.tor import tor_settings

        pinned = None if socks_url else _pinned_tor_instance(site.name, config)
        if pinned is not None:  # a Tor pool: this site's own client, and NEWNYM on that one only
            socks = pinned.socks_url
            out.update({"TRAWL_TOR_INSTANCE": pinned.name, "TRAWL_TOR_CONTROL": pinned.control,
                        "TRAWL_TOR_CONTROL_COOKIE": pinned.cookie})
        out.update(tor_settings(socks, isolation=site.name))
    else:
        out["TRAWL_NETWORK"] = "clearnet"
    if site.render == "browser":
        browser = _optional("crawler.net.browser")
        if browser is None:
            raise TrawlError(f"{site.source}: render: browser needs crawler.net.browser (scrapy-playwright), "
                             "which is not installed")
        out.update(browser.browser_settings(site, socks_url=socks if site.network == "tor" else None))
    redis_url = config.redis_url
    if redis_url:
        distributed = _optional("crawler.engine.distributed")
        if distributed is None:
            raise TrawlError("TRAWL_REDIS_URL is set but crawler.engine.distributed is not installed")
        out.update(distributed.redis_settings(redis_url, site=site.name))
    return out


def _merge_dicts(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def build_settings(site: SiteConfig, *, run_id: str, run_dir: Path, home: Path,
                   page_budget: int | None = None, profile: str | None = None) -> dict[str, Any]:
    profile = profile or load_config().crawl_profile
    if profile not in PROFILES:
        raise TrawlError(f"TRAWL_PROFILE={profile!r}: unknown profile (known: {', '.join(PROFILES)})")
    settings: dict[str, Any] = {
        **BASE,
        "DOWNLOADER_MIDDLEWARES": dict(DOWNLOADER_MIDDLEWARES),
        "SPIDER_MIDDLEWARES": dict(SPIDER_MIDDLEWARES),
        "ITEM_PIPELINES": dict(ITEM_PIPELINES),
        "EXTENSIONS": dict(EXTENSIONS),
        "TRAWL_RUN_ID": run_id,
        "TRAWL_RUN_DIR": str(run_dir),
        "TRAWL_HOME": str(home),
    }
    if _optional("crawler.evidence.writer") is None:
        settings["DOWNLOADER_MIDDLEWARES"].pop("crawler.evidence.middleware.WarcEvidenceMiddleware")
    settings = _merge_dicts(settings, site_settings(site))
    settings = _merge_dicts(settings, network_settings(site))
    settings = _merge_dicts(settings, PROFILES[profile])
    settings = with_console_settings(settings)
    settings["ASYNCIO_EVENT_LOOP"] = event_loop_setting(load_config().crawl_event_loop)
    if page_budget is not None:
        settings["CLOSESPIDER_PAGECOUNT"] = page_budget
    return settings


def with_console_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with Scrapy's consoles switched off (see console_settings), and every
    component switched off left out of Scrapy's base lists (see leave_out_switched_off)."""
    return leave_out_switched_off(_merge_dicts(settings, console_settings()))


# the component settings Scrapy merges with a `<name>_BASE` dict of its own defaults
COMPONENT_SETTINGS = ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS")


def leave_out_switched_off(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with each Scrapy default component it switches off (`path: None`) removed
    from Scrapy's `<name>_BASE` dict instead: the same components run, but none is imported.

    Scrapy imports every class named in `DOWNLOADER_MIDDLEWARES` & co. to normalise its path,
    a switched-off one too: the remote console pulls in aiohttp and the cookie middleware
    tldextract, ~0.2 s of every crawl process's start (6-7% of a testbed crawl's wall time).
    A path Scrapy's defaults do not name literally (an alias of one) stays as it was.

    >>> out = leave_out_switched_off({"EXTENSIONS": {"scrapy.extensions.telnet.TelnetConsole": None, "my.Ext": 5}})
    >>> out["EXTENSIONS"], "scrapy.extensions.telnet.TelnetConsole" in out["EXTENSIONS_BASE"]
    ({'my.Ext': 5}, False)
    """
    from scrapy.settings import default_settings

    out = dict(settings)
    for name in COMPONENT_SETTINGS:
        ours: dict[Any, Any] = out.get(name) or {}
        base: dict[Any, Any] = out.get(f"{name}_BASE") or getattr(default_settings, f"{name}_BASE")
        off = {key for key, value in ours.items() if value is None and key in base}
        if off:
            out[f"{name}_BASE"] = {key: value for key, value in base.items() if key not in off}
            out[name] = {key: value for key, value in ours.items() if key not in off}
    return out

# --- crawler-net section (network/evidence/scale-out knobs may be added below) ---------
# Tor circuit renewal: NotConfigured (off) unless TRAWL_TOR_CONTROL is set.
EXTENSIONS["crawler.net.tor.CircuitRenewalExtension"] = 200
# bench/crawl.py: the site's concurrency, no politeness delay (logs are quiet by default).
PROFILES["bench"] = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                     "TRAWL_EVIDENCE_FSYNC": True}
