"""Rendering is bounded: the crawl's DOWNLOAD_MAXSIZE applies to what Chromium loads and
to the DOM it would store, and the Chromium process tree's memory stays bounded on a
50 MB page, gzip bombs and a script-built DOM; every dropped page is counted by reason."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.engine.settings import BASE
from crawler.net.browser import browser_settings, chromium_executable
from tests.crawler.browser_probes import MB, HostilePages, PeakMemory
from tests.crawler.net_crawl import run_net_spider

pytestmark = pytest.mark.browser

SITE = {"name": "clearshop", "render": "browser", "network": "clearnet"}
PEAK_BOUND = 1536 * MB  # generous: an unguarded Chromium went past 2.6 GB on /big here


@pytest.fixture(autouse=True)
def need_chromium() -> None:
    exe = chromium_executable()
    if not exe or not os.path.exists(exe):
        pytest.skip("no Chromium: set TRAWL_CHROMIUM or run `playwright install chromium`")


@pytest.fixture
def hostile() -> Iterator[HostilePages]:
    pages = HostilePages()
    yield pages
    pages.close()


def _render(tmp_path: Path, hostile: HostilePages, paths: list[str],
            extra: dict | None = None) -> tuple[list[str], dict, int]:
    settings = browser_settings(SimpleNamespace(**SITE)) | {
        "DOWNLOAD_MAXSIZE": BASE["DOWNLOAD_MAXSIZE"], "CONCURRENT_REQUESTS": 2,
        "RETRY_TIMES": 0} | (extra or {})
    with PeakMemory() as memory:
        result = run_net_spider(tmp_path, {
            "start_urls": [hostile.url(p) for p in paths], "follow_css": "a.none::attr(href)",
            "settings": settings, "browser": {"site": SITE}}, timeout=180)
    assert result.returncode == 0, result.log[-3000:]
    assert memory.samples > 10, "the memory sampler did not run"
    return [i["name"] for i in result.items], result.stats, memory.peak


def test_oversize_pages_and_bombs_are_dropped_with_chromium_bounded(
        tmp_path: Path, hostile: HostilePages) -> None:
    names, stats, peak = _render(tmp_path, hostile, ["/big", "/text-bomb", "/dom-bomb", "/plain"])
    assert names == ["Plain product"]  # the ordinary page still renders
    drops = {k.rsplit("/", 1)[1]: v for k, v in stats.items()
             if k.startswith("item_dropped_reasons/browser_")}
    # /big: its Content-Length is over the limit, closed before the body is read;
    # /dom-bomb: a 24 M character DOM from a tiny page, not stored
    assert drops.get("browser_response_too_large", 0) >= 1, drops
    assert drops.get("browser_dom_too_large") == 1, drops
    # /text-bomb (400 MB of inflated text): the renderer parses slower than the bytes
    # come, and grows ~40x their size: stopped at 20 MB or by the memory cap
    assert drops.get("browser_renderer_memory", 0) + drops["browser_response_too_large"] == 2
    assert sum(drops.values()) == 3, drops
    assert peak < PEAK_BOUND, f"Chromium tree peaked at {peak // MB} MB"


@pytest.mark.slow
def test_renderer_over_its_memory_cap_is_killed_and_the_page_dropped(
        tmp_path: Path, hostile: HostilePages) -> None:
    """Dense markup grows the renderer far faster than its bytes: with the size limit
    out of the way, the memory watchdog is what stops it."""
    names, stats, peak = _render(tmp_path, hostile, ["/bomb", "/plain"], {
        "DOWNLOAD_MAXSIZE": 0})
    assert names == ["Plain product"]
    assert stats.get("trawl/browser/renderer_killed/renderer_memory", 0) >= 1, stats
    assert stats.get("item_dropped_reasons/browser_renderer_memory") == 1, stats
    assert peak < PEAK_BOUND, f"Chromium tree peaked at {peak // MB} MB"


@pytest.mark.slow
def test_unguarded_chromium_is_not_bounded(tmp_path: Path, hostile: HostilePages) -> None:
    """The control: scrapy-playwright's own handler, no guards, the same 50 MB page."""
    _, stats, peak = _render(tmp_path, hostile, ["/big"], {
        "DOWNLOAD_HANDLERS": {s: "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
                              for s in ("http", "https")},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000})
    assert not [k for k in stats if k.startswith("item_dropped_reasons/browser_")]
    assert peak > PEAK_BOUND, f"Chromium tree peaked at {peak // MB} MB only"
