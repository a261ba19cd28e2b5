"""`join_href` (the crawl's remembered urljoin) against the plain reference, `urllib.parse.urljoin`:
every href of the testbed pages and of the saved real market pages (../shared, when present),
a table of awkward hrefs, and generated bases and hrefs."""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parsel import Selector

from crawler.engine.hrefs import join_href
from tests.crawler.test_fast_selectors import (
    REAL_PAGE_NAMES,
    Pages,
    real_page_body,
    testbed_pages,  # noqa: F401 - the module fixture, shared
)

BASES = ["http://m.onion/", "http://m.onion/c/drugs?page=2#top", "https://Shop.Example:8443/a/b/c.html;p?q=1",
         "http://m.onion", "http://user:pw@m.onion/x/", "http://[::1]:8080/a/", "file:///srv/mirror/index.html",
         "about:blank", "", "/relative/base", "http://m.onion/a/./b/../c/"]
HREFS = ["/listing/42", "//[", "/[", "http://[x/", "/listing/42?ref=cat#reviews", "/a/../b", "/./x", "/", "/?", "/#", "/;p", "/a//b",
         "/%2e%2e/x", "/\t/evil.onion/x", "/\n/x", "/ x ", "/listing/42 ", "//other.onion/x", "///x",
         "listing/42", "../up", "?page=3", "#frag", "", " /lead-space", "\\/x", "/a\\b", "http://other.onion/",
         "javascript:void(0)", "mailto:a@b", "/ü/é?q=ß", "/\t/", "/\n/", "/\r\n/x", "/\t"]


def outcome(join: Callable[[str, str], str], base: str, href: str) -> tuple[str, str]:
    """The joined URL, or the error's type: a malformed href ("//[") fails the same way."""
    try:
        return "url", join(base, href)
    except ValueError as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize("href", HREFS, ids=repr)
@pytest.mark.parametrize("base", BASES, ids=repr)
def test_join_href_equals_urljoin(base: str, href: str) -> None:
    assert outcome(join_href, base, href) == outcome(urljoin, base, href)


def mismatches_on(pages: dict[str, tuple[str, bytes]]) -> tuple[list[str], int]:
    """Every href of the pages against urljoin, with the page's URL and a deeper base; and how
    many hrefs were site-rooted (the remembered path)."""
    out, rooted = [], 0
    for name, (url, body) in pages.items():
        for href in Selector(text=body.decode("utf-8", errors="replace")).xpath("//@href").getall():
            for base in (url, url + "/sub/page?x=1"):
                if outcome(join_href, base, href) != outcome(urljoin, base, href):
                    out.append(f"{name}: {base!r} + {href!r}")
            rooted += href.startswith("/") and not href.startswith("//")
    return out, rooted


def test_join_href_equals_urljoin_on_every_href_of_testbed_pages(testbed_pages: Pages) -> None:  # noqa: F811
    found, rooted = mismatches_on({name: (page.url, page.body) for name, page in testbed_pages.items()})
    assert found == [] and rooted > 300, (found, rooted)  # the remembered path is the one exercised


def test_join_href_equals_urljoin_on_every_href_of_real_pages(real_data_dir: object) -> None:
    pages = {name: (f"http://{name.replace('/', '.onion/', 1)}", real_page_body(name)) for name in REAL_PAGE_NAMES}
    found, rooted = mismatches_on(pages)
    assert found == [] and rooted > 300, (found, rooted)


URL_CHARS = st.sampled_from(list("abc/./..?#;=%:@[]\\ \t\n\r") + ["..", "//", "é"])


@settings(max_examples=1500, deadline=None)
@given(scheme=st.sampled_from(["http", "https", "HTTP", "ftp", "data", ""]),
       host=st.sampled_from(["m.onion", "M.Onion:81", "", "u@h", "[::1]"]),
       base_path=st.lists(URL_CHARS, max_size=8).map("".join),
       href=st.lists(URL_CHARS, max_size=10).map(lambda parts: "/" + "".join(parts)))
def test_join_href_equals_urljoin_generated(scheme: str, host: str, base_path: str, href: str) -> None:
    base = f"{scheme}://{host}/{base_path}" if scheme else f"//{host}/{base_path}"
    assert outcome(join_href, base, href) == outcome(urljoin, base, href)
