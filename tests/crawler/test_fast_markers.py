"""Page markers (gates, login, banners) answer through the compiled XPath on the lxml tree
(`selectors._tree_has`); the plain reference is parsel's `bool(sel.css(...))` /
`bool(sel.xpath(...))`.  Every css/xpath marker of every site YAML, and a table of awkward
ones, on the testbed pages and the saved real market pages (../shared, when present), on
each tree flavour a page reaches them with."""
from __future__ import annotations

import pytest
from parsel import Selector

from crawler.sitedef.selectors import Marker, compile_marker
from crawler.sitedef.siteconfig import SiteConfig
from tests.crawler.test_fast_selectors import (
    MARKET_SITES,
    REAL_PAGE_NAMES,
    SHIPPED_SITES,
    Page,
    Pages,
    real_page_body,
    testbed_pages,  # noqa: F401 - the module fixture, shared
)

AWKWARD = ["css:form#guardForm", "css:img.captcha", "css:a::attr(href)", "css:title::text", "css:nothing-here",
           "css:input[name=captcha]", "xpath://form[@id='login']", "xpath:count(//form) > 5", "xpath:count(//nothing)",
           "xpath:boolean(//nothing)", "xpath://a/@href", "xpath://title/text()", "xpath:string(//title)",
           "css:*", "xpath:/html"]


def site_markers(site: SiteConfig) -> list[Marker]:
    found = [m for gate in site.gates for m in gate.markers]
    if site.login:
        found += [*site.login.needed_markers, *site.login.success_markers]
    return [m for m in found if m.kind in ("css", "xpath")]


SITE_MARKERS = [m for site in (*SHIPPED_SITES.values(), *MARKET_SITES.values()) for m in site_markers(site)]
MARKERS = list(dict.fromkeys(SITE_MARKERS + [compile_marker(text) for text in AWKWARD]))


def reference(marker: Marker, sel: Selector) -> bool:
    return bool(sel.css(marker.value) if marker.kind == "css" else sel.xpath(marker.value))


def mismatches(pages: Pages) -> list[str]:
    out = []
    for name, page in pages.items():
        for flavour, sel in page.flavours:
            for marker in MARKERS:
                fast = marker.matches(text="", sel=sel, url=page.url, status=200)
                if fast != reference(marker, sel):
                    out.append(f"{name} ({flavour}) {marker}: fast={fast}")
    return out


def test_site_markers_were_collected() -> None:
    assert len(SITE_MARKERS) >= 5, SITE_MARKERS  # nightshade's gates and login


def test_markers_answer_as_parsel_on_testbed_pages(testbed_pages: Pages) -> None:  # noqa: F811
    assert mismatches(testbed_pages) == []
    # both answers occur: a gate page matches its markers, a listing does not
    gate = testbed_pages["nightshade/gate"].flavours[-1][1]
    assert compile_marker("css:form#guardForm").matches(text="", sel=gate, url="", status=200)
    listing = testbed_pages["nightshade/listing-first"].flavours[-1][1]
    assert not compile_marker("css:form#guardForm").matches(text="", sel=listing, url="", status=200)


@pytest.mark.parametrize("name", REAL_PAGE_NAMES or [pytest.param(None, id="real-data-absent")])
def test_markers_answer_as_parsel_on_real_pages(real_data_dir: object, name: str) -> None:
    page = Page(f"http://{name.replace('/', '.onion/', 1)}", real_page_body(name))
    assert mismatches({name: page}) == []
