"""One parsed tree per page: parsel's Selector over lxml's own HTML element classes.

`Selector(text=...)` parses HTML with `lxml.html.HTMLParser`, whose element class lookup is
Python code run for every element object lxml hands out (each XPath result, each step of
`iter()`, each node of a selector's result): ~0.5 us an element against ~0.1 us with lxml's
plain `etree.HTMLParser`.  The document libxml2 builds is the same (same parser, same options,
parsel's own `create_root_node` preparing the text); only the Python class of the elements
differs, and nothing in trawl uses `lxml.html`'s element methods.  Measured over whole crawls
(4 testbed sites, 8 alternating rounds): the processing worker 2.56 -> 2.38 ms of CPU a page,
the crawl process 3.30 -> 3.24 (docs/architecture.md, throughput).

Text parsel would not read as HTML (a JSON object or array, an XML declaration) still gets
parsel's own `Selector(text=...)`, so type detection stays parsel's."""
from __future__ import annotations

import re

from lxml import etree
from parsel import Selector
from parsel.selector import create_root_node

EMPTY_PAGE = "<html></html>"
# parsel reads these as XML or JSON, not HTML (its _XML_DECLARATION and JSON detection)
_NOT_PLAIN_HTML = re.compile(r"[\s\ufeff]*(<\?xml\s|[\[{])")


def page_selector(text: str) -> Selector:
    """The page's tree as parsel's `Selector(text=text or EMPTY_PAGE)` would give it.

    >>> page_selector("<p class='x'>one</p>").css("p.x::text").get()
    'one'
    >>> page_selector('{"a": 1}').type, page_selector("").type
    ('json', 'html')
    """
    text = text or EMPTY_PAGE
    if _NOT_PLAIN_HTML.match(text):
        return Selector(text=text)
    return Selector(root=create_root_node(text, etree.HTMLParser), type="html")
