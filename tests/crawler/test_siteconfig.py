"""Site YAML validation: every problem names file, line and field; lookup by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import TrawlError
from crawler.sitedef.pages import PageInput, SelectorPage
from crawler.sitedef.siteconfig import SiteConfigError, find_site_file, load_site, load_site_file

MINIMAL = """\
name: demo
kind: vendor-shop
network: clearnet
mirrors: [http://127.0.0.1:9]
start_urls: [/]
navigation:
  listing_links: "a.item::attr(href)"
listing:
  url_pattern: '^/item/'
  fields:
    native_id: {from: url, re: '/item/(\\d+)'}
    title: "h1"
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SiteConfigError) as info:
        load_site_file(path, env={})
    assert isinstance(info.value, TrawlError)
    return info.value.problems


@pytest.mark.parametrize("site", ["nightshade", "vortex", "rcshop", "chemtrade", "pillhub"])
def test_shipped_sites_load(site: str) -> None:
    config = load_site(site, env={})
    assert config.name == site and config.mirrors and config.listing.fields
    assert (config.network == "tor") == (site in ("nightshade", "vortex"))


def test_minimal_site_loads(tmp_path: Path) -> None:
    site = load_site_file(write(tmp_path, MINIMAL), env={})
    assert site.throttle.concurrency == 4 and site.render == "http"
    assert site.url_allowed("/item/1") and site.url_allowed("/logout") is not False


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("  url_pattern:", "  url_patern: x\n  url_pattern:"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:9: listing.url_patern: unknown key")
    assert "did you mean 'url_pattern'" in problem


def test_bad_selector_regex_and_values(tmp_path: Path) -> None:
    text = (MINIMAL.replace('title: "h1"', 'title: "h1[["\n    price: {select: "span", re: "(unclosed"}\n    colour: "b"')
            .replace("network: clearnet", "network: darkweb"))
    found = problems(write(tmp_path, text))
    assert any(":3: network: must be one of tor, clearnet" in p for p in found), found
    assert any(":12: listing.fields.title: bad CSS selector" in p for p in found), found
    assert any(":13: listing.fields.price: bad regular expression" in p for p in found), found
    assert any(":14: listing.fields.colour: unknown field" in p for p in found), found


def test_env_expansion_and_missing_variable(tmp_path: Path) -> None:
    text = MINIMAL.replace("[http://127.0.0.1:9]", "[\"${SHOP_URL}\"]").replace("start_urls: [/]", "start_urls: ['${START:-/shop}']")
    path = write(tmp_path, text)
    site = load_site_file(path, env={"SHOP_URL": "http://127.0.0.1:8000"})
    assert site.mirrors == ("http://127.0.0.1:8000",) and site.start_urls == ("/shop",)
    problem = problems(path)[0]
    assert problem.startswith(f"{path}:4: mirrors[0]: environment variable SHOP_URL is not set")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    (problem,) = problems(write(tmp_path, MINIMAL + "listing: [unclosed\n"))
    assert problem.startswith(f"{tmp_path / 'demo.yaml'}:") and "(syntax)" in problem


def test_gate_rules(tmp_path: Path) -> None:
    text = MINIMAL + "gates:\n  - name: queue\n    type: wait\n    markers: ['text:please wait']\n"
    (problem,) = problems(write(tmp_path, text))
    assert ":14: gates[0]: a 'wait' gate needs pass_form" in problem


def test_onion_mirror_needs_tor(tmp_path: Path) -> None:
    text = MINIMAL.replace("http://127.0.0.1:9", "http://abc.onion")
    (problem,) = problems(write(tmp_path, text))
    assert "mirrors[0]: an .onion mirror needs network: tor" in problem


def test_page_object_must_resolve(tmp_path: Path) -> None:
    text = MINIMAL.replace("  fields:", "  page_object: crawler.sitedef.pages.nosuch.Page\n  fields:")
    (problem,) = problems(write(tmp_path, text))
    assert "listing.page_object: cannot load crawler.sitedef.pages.nosuch.Page" in problem


def test_search_path_prefers_trawl_sites_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trawl_home: Path) -> None:
    own = tmp_path / "mine"
    own.mkdir()
    write(own, MINIMAL.replace("name: demo", "name: pillhub"), "pillhub.yaml")
    monkeypatch.setenv("TRAWL_SITES_DIR", str(own))
    assert find_site_file("pillhub") == own / "pillhub.yaml"
    assert find_site_file("vortex").parent.name == "sites"
    with pytest.raises(TrawlError, match=r"site 'nosuch': no nosuch\.yaml"):
        find_site_file("nosuch")
    write(own, MINIMAL, "other.yaml")
    with pytest.raises(SiteConfigError, match="defines site 'demo', expected 'other'"):
        load_site("other", env={})


def test_selector_page_extracts_with_snippets(tmp_path: Path) -> None:
    site = load_site_file(write(tmp_path, MINIMAL.replace('title: "h1"', (
        'title: "h1"\n    price: {select: "xpath://td[@class=\'p\']/text()", re: "([\\\\d.]+) EUR"}\n'
        '    price_tiers: "li.tier"\n    description: {select: "div.d::text", join: "\\n"}\n'
        '    vendor: ["span.nothing", "span.seller"]'))), env={})
    html = ("<html><body><h1> Blue  <b>pills</b> </h1><table><tr><td class='p'>12.50 EUR</td></tr></table>"
            "<ul><li class='tier'>10 x</li><li class='tier'>20 x</li></ul><div class='d'>line one\nline two</div>"
            "<span class='seller'>Bob</span></body></html>")
    result = SelectorPage(PageInput("http://127.0.0.1:9/item/42", html), site.listing, site).extract()
    assert result.fields == {"native_id": "42", "title": "Blue pills", "price": "12.50", "price_tiers": ["10 x", "20 x"],
                             "description": "line one\nline two", "vendor": "Bob"}
    assert result.snippets["price"] == ["<td class=\"p\">12.50 EUR</td>"]
    assert result.selectors["vendor"] == "css:span.seller" and result.missing == []


def test_links_a_monitor_never_follows() -> None:
    from crawler.engine.spider import ALWAYS_DENY

    for path in ("/logout", "/index/logout", "/account/sign-out", "/cart", "/order/1", "/listing/1/buy", "/messages/new"):
        assert ALWAYS_DENY.search(path), path
    for path in ("/cartridge-refill", "/orders-of-magnitude", "/product/buy-xanax-online", "/listing/1"):
        assert not ALWAYS_DENY.search(path), path
