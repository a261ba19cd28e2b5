"""In `render: browser` mode Chromium follows redirects itself: the navigation guard of
crawler.net.browser keeps the main frame on the site's mirrors. A real `trawl crawl` of a
loopback site in Chromium whose item pages send the browser to another loopback server,
by a 302 and by a script's `location = ...`."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from crawler.net.browser import chromium_executable
from tests.crawler.conftest import crawl_env, trawl
from tests.crawler.loopback_site import LoopbackSite, html

pytestmark = pytest.mark.browser

HOPPER_YAML = """\
name: hopper
kind: vendor-shop
network: clearnet
render: browser
mirrors: ["${HOPPER_URL}"]
start_urls: [/]
throttle: {concurrency: 2, delay: 0, retries: 0}
navigation:
  listing_links: "a.item::attr(href)"
listing:
  url_pattern: '^/item/\\d+$'
  id_from_url: '^/item/(\\d+)'
  fields:
    title: "h1"
"""


@pytest.fixture
def hopper() -> Iterator[tuple[LoopbackSite, LoopbackSite]]:
    exe = chromium_executable()
    if not exe or not os.path.exists(exe):
        pytest.skip("no Chromium: set TRAWL_CHROMIUM or run `playwright install chromium`")

    async def other(request: web.Request) -> web.StreamResponse:
        return html(f"<h1>Elsewhere {request.path}</h1>")

    elsewhere = LoopbackSite(other)

    async def hopper_pages(request: web.Request) -> web.StreamResponse:
        if request.path == "/":
            return html("".join(f"<a class='item' href='/item/{n}'>{n}</a>" for n in (1, 2, 4)))
        if request.path == "/item/1":  # a server redirect to another host (another port)
            raise web.HTTPFound(f"{elsewhere.url}/item/9")
        if request.path == "/item/2":  # a script sends the browser there once the page is in
            return html(f"<h1>Item 2</h1><script>location = '{elsewhere.url}/item/8';</script>")
        return html(f"<h1>Item {request.path.rsplit('/', 1)[1]}</h1>")

    site = LoopbackSite(hopper_pages)
    with elsewhere, site:
        yield site, elsewhere


def test_browser_does_not_follow_offsite_navigations(
        hopper: tuple[LoopbackSite, LoopbackSite], tmp_path: Path) -> None:
    site, elsewhere = hopper
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "hopper.yaml").write_text(HOPPER_YAML)
    env = crawl_env(tmp_path / "home", {"HOPPER_URL": site.url, "TRAWL_SITES_DIR": str(sites)})
    run = trawl(["crawl", "hopper", "--json"], env, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    raw = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    assert raw.get("playwright/page_count", 0) >= 4  # rendered in Chromium, not plain HTTP
    assert elsewhere.requests == []  # neither the 302 nor the script reached the other host
    assert raw.get("trawl/redirects/offsite") == 2
    assert "/item/1" in site.paths()
    assert summary["status"] == "finished"
    # item 4 only: items 1 and 2 are finished as off-site (the script's navigation, refused,
    # ends the page's own load too), neither an error nor a reason to rotate mirrors
    assert summary["listings"] == 1
    assert summary["errors"] == 0 and summary["mirror_rotations"] == 0
