"""Redirects are followed only to the site's own mirrors (or its `redirect_domains`): a
real crawl of a loopback site whose pages redirect to another loopback server."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.crawler.conftest import crawl_env, trawl
from tests.crawler.loopback_site import LoopbackSite, html

HOPPER_YAML = """\
name: hopper
kind: vendor-shop
network: clearnet
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


def _servers() -> tuple[LoopbackSite, LoopbackSite]:
    async def other(request: web.Request) -> web.StreamResponse:
        return html(f"<h1>Elsewhere {request.path}</h1>")

    elsewhere = LoopbackSite(other)

    async def hopper(request: web.Request) -> web.StreamResponse:
        other_port = elsewhere.url.rsplit(":", 1)[1]
        if request.path == "/":
            return html("".join(f"<a class='item' href='/item/{n}'>{n}</a>" for n in (1, 2, 4, 5, 6)))
        if request.path == "/item/1":  # another host entirely (another port on loopback)
            raise web.HTTPFound(f"{elsewhere.url}/item/9")
        if request.path == "/item/2":  # the same site: followed
            raise web.HTTPFound("/item/3")
        if request.path == "/item/5":  # a host the YAML may list under redirect_domains
            raise web.HTTPFound(f"http://localhost:{other_port}/item/7")
        if request.path == "/item/6":  # an onion: off-site, whatever the network
            raise web.HTTPFound(f"http://{'x' * 56}.onion/item/8")
        return html(f"<h1>Item {request.path.rsplit('/', 1)[1]}</h1>")

    return LoopbackSite(hopper), elsewhere


@pytest.fixture
def hopper(tmp_path: Path) -> Iterator[tuple[LoopbackSite, LoopbackSite, Path]]:
    site, elsewhere = _servers()
    with elsewhere, site:
        yield site, elsewhere, tmp_path


def _crawl(tmp_path: Path, site: LoopbackSite, yaml_text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sites = tmp_path / "sites"
    sites.mkdir(exist_ok=True)
    (sites / "hopper.yaml").write_text(yaml_text)
    env = crawl_env(tmp_path / "home", {"HOPPER_URL": site.url, "TRAWL_SITES_DIR": str(sites)})
    run = trawl(["crawl", "hopper", "--json"], env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    raw = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    return summary, raw


def test_offsite_redirects_are_not_followed(hopper: tuple[LoopbackSite, LoopbackSite, Path]) -> None:
    site, elsewhere, tmp_path = hopper
    summary, raw = _crawl(tmp_path, site, HOPPER_YAML)
    assert elsewhere.requests == []  # neither 127.0.0.1:<other port> nor localhost was contacted
    assert raw.get("trawl/redirects/offsite") == 3
    assert "/item/3" in site.paths()  # the on-site redirect was followed
    assert summary["status"] == "finished"
    assert summary["listings"] == 2  # items 2 (-> 3) and 4
    assert summary["errors"] == 0 and summary["mirror_rotations"] == 0


def test_redirect_domains_allow_a_named_host(hopper: tuple[LoopbackSite, LoopbackSite, Path]) -> None:
    site, elsewhere, tmp_path = hopper
    summary, raw = _crawl(tmp_path, site, HOPPER_YAML + "redirect_domains: [localhost]\n")
    assert elsewhere.paths() == ["/item/7"]  # allowed by name; 127.0.0.1:<other port> still is not
    assert raw.get("trawl/redirects/offsite") == 2
    assert summary["listings"] == 3


def test_redirect_allowed_rules() -> None:
    from crawler.sitedef.siteconfig import SiteConfig

    site = SiteConfig.__new__(SiteConfig)
    object.__setattr__(site, "mirrors", ("http://abc.onion", "https://shop.example:8443"))
    object.__setattr__(site, "redirect_domains", ("cdn.example",))
    assert site.redirect_allowed("http://abc.onion/x")
    assert site.redirect_allowed("https://abc.onion/x")  # same host, default ports: an upgrade
    assert not site.redirect_allowed("http://abd.onion/x")
    assert not site.redirect_allowed("http://abc.onion.evil.onion/x")
    assert site.redirect_allowed("https://shop.example:8443/a")
    assert not site.redirect_allowed("https://shop.example:9443/a")
    assert site.redirect_allowed("https://img.cdn.example/a.png")
    assert not site.redirect_allowed("https://notcdn.example/a.png")
    assert not site.redirect_allowed("http://abc.onion:bad/x")
