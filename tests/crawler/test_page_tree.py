"""`page_selector` builds the tree parsel's `Selector(text=...)` builds, with lxml's plain
element classes instead of `lxml.html`'s (whose Python class lookup runs for every element
object handed out).  Compared by serialising whole pages: testbed pages, the saved real
market pages of ../shared when present, and the markup edge cases of test_fast_selectors.py.
Values of every site selector on these trees are compared in test_fast_selectors.py (the
"trawl" flavour)."""
from __future__ import annotations

import pytest
from lxml import etree
from parsel import Selector

from crawler.sitedef.pagetree import page_selector
from tests.crawler.test_fast_selectors import (
    EDGE_CASES,
    REAL_PAGE_NAMES,
    Pages,
    real_page_body,
    testbed_pages,  # noqa: F401 - the module fixture, shared
)


def test_page_selector_builds_parsels_tree(testbed_pages: Pages) -> None:  # noqa: F811
    bodies = {name: page.body for name, page in testbed_pages.items()}
    bodies |= {name: real_page_body(name) for name in REAL_PAGE_NAMES}  # none without ../shared
    bodies |= {f"edge/{cid}": html.encode() for cid, html, _, _ in EDGE_CASES}
    assert len(bodies) == len(testbed_pages) + len(REAL_PAGE_NAMES) + len(EDGE_CASES)
    for name, body in bodies.items():
        text = body.decode("utf-8", errors="replace")
        ours, parsels = page_selector(text), Selector(text=text or "<html></html>")
        assert (ours.type, ours.get()) == (parsels.type, parsels.get()), name
        assert type(ours.root) is etree._Element, name  # lxml's plain class: what makes it cheaper


@pytest.mark.parametrize("text", ['{"a": [1]}', "  [1, 2]", '<?xml version="1.0"?><a><b>x</b></a>',
                                  "\ufeff<?xml version='1.0'?><r/>", "", "   ", "plain words", "42", "<p>x</p>",
                                  "\x00<p>nul</p>", "<html><body><p>unclosed"],
                         ids=repr)
def test_page_selector_keeps_parsels_type_detection(text: str) -> None:
    ours, parsels = page_selector(text), Selector(text=text or "<html></html>")
    assert (ours.type, ours.get()) == (parsels.type, parsels.get())
