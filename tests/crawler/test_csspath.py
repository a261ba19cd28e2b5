"""Class and id steps reached by attribute (crawler/sitedef/csspath.py) against parsel's own translation,
the plain reference: the same elements in the same order for a table of class selectors and
combinators, on the tree the crawler builds and on parsel's; and where the rewrite applies.
(Every site selector on testbed and real market pages: tests/crawler/test_fast_selectors.py.)"""
from __future__ import annotations

import pytest
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.sitedef.csspath import ATTRIBUTE_LED
from crawler.sitedef.pagetree import page_selector

PARSEL = HTMLTranslator()
REWRITTEN = "/@class[contains("
REWRITTEN_ID = "/@id[. = "

SIBLINGS = ('<div class="row"><span class="a">1</span> text <span class="b">2</span>'
            '<span class="b">3</span><i class="b">4</i><span class="a b">5</span><b class="b">6</b></div>')
NESTED = ('<div class="outer"><div class="outer inner"><p class="x">1</p></div>'
          '<section class="inner"><p class="x y">2</p><p class="xy">no</p></section></div>')
LOOKALIKES = ('<ul><li class="price-old">10</li><li class="oldprice">11</li><li class="price">12</li>'
              '<li class="PRICE">13</li><li class="\tprice\n new ">14</li><li class="">15</li><li>16</li></ul>')
IDS = ('<div id="nav"><a id="nav2" href="/1">1</a><a id="NAV" href="/2">2</a><p id="nav x">3</p>'
       '<a id=" nav" href="/4">4</a></div><div class="x" id="nav"><a id="a" href="/5">5</a>'
       '<a id="b" href="/6">6</a><a id="b" class="x" href="/7">7</a></div>')
LIST = '<ul class="l"><li class="i">1</li><li class="i">2</li><li class="j">3</li><li class="i">4</li></ul>'

CASES = [
    # (html, css) ; every case selects something (checked), most of them with look-alikes it must not
    (LOOKALIKES, ".price"),
    (LOOKALIKES, "li.price"),
    (LOOKALIKES, "ul .price::text"),
    (LOOKALIKES, "*.price"),
    (LOOKALIKES, "li:not(.price)"),
    (LOOKALIKES, ".price:not(.new)"),
    (LOOKALIKES, "li.price.new"),
    (NESTED, ".outer .x"),
    (NESTED, ".outer > .x"),
    (NESTED, ".inner .x"),
    (NESTED, ".outer .inner > p.x::text"),
    (NESTED, ".outer:has(> .inner)"),
    (NESTED, ".inner:has(.y)"),
    (NESTED, "p:is(.x, .xy)"),
    (NESTED, ".x:is(.y, .z)"),
    (NESTED, ".outer, .x"),
    (SIBLINGS, ".a + .b"),
    (SIBLINGS, ".a + span.b"),
    (SIBLINGS, ".a ~ .b"),
    (SIBLINGS, ".a ~ span.b"),
    (SIBLINGS, ".row .a + .b::text"),
    (SIBLINGS, ".a:has(+ .b)"),
    (SIBLINGS, ".a:has(~ i.b)"),
    (SIBLINGS, ".b:first-child, .a:first-child"),
    (SIBLINGS, ".b:last-child"),
    (SIBLINGS, "span.b:first-of-type, i.b:last-of-type"),
    (SIBLINGS, ".row > .b:nth-child(3)"),
    (SIBLINGS, ".b:nth-child(odd)"),
    (SIBLINGS, ".b:nth-last-child(2)"),
    (SIBLINGS, "i.b:only-of-type, b.b:only-of-type"),
    (LIST, ".l > li.i:nth-of-type(2)"),
    (LIST, ".i:nth-child(2) + .j"),
    (LIST, ":scope .l > .i"),
    (LIST, ".i::attr(class)"),
    (LIST, ".l .i:empty, .l .i:not(:empty)"),
    (IDS, "#nav"),
    (IDS, "#nav a::attr(href)"),
    (IDS, "div#nav > a"),
    (IDS, "#nav.x a"),
    (IDS, ".x#nav a::text"),
    (IDS, "#b"),
    (IDS, "a#b.x"),
    (IDS, "#a + #b"),
    (IDS, "#a ~ #b"),
    (IDS, "#nav a:not(#b)"),
    (IDS, "#nav:first-child a, #nav2"),
    (IDS, "#nav:has(#a) a:last-child"),
    (IDS, r"#nav\ x"),
]


def nodes(root: etree._Element, xpath: str) -> list[object]:
    return list(etree.XPath(xpath)(root))  # type: ignore[arg-type]


@pytest.mark.parametrize(("html", "css"), CASES, ids=[css for _, css in CASES])
def test_same_elements_as_parsels_translation(html: str, css: str) -> None:
    ours, reference = ATTRIBUTE_LED.css_to_xpath(css), PARSEL.css_to_xpath(css)
    for root in (page_selector(html).root, Selector(text=html).root):
        expected = nodes(root, reference)
        assert expected, "the case must select something"
        assert nodes(root, ours) == expected


@pytest.mark.parametrize(("css", "rewritten"), [
    (".a", 1), ("span.a", 1), (".a span.b", 2), (".a .b .c::text", 3), ("a.b.c::attr(href)", 1),
    (".a:not(.b)", 1), ("p:is(.a, .b)", 0),  # (a step whose condition does not start with a class)
    (".a + .b", 1), (".a + .b .c", 2),  # the sibling step reads position(): left as it was
    (":scope > .a", 1), ("[class~=a]", 0), ("#x", 0), ("div", 0), (".a, .b", 2),
])
def test_where_the_class_rewrite_applies(css: str, rewritten: int) -> None:
    assert ATTRIBUTE_LED.css_to_xpath(css).count(REWRITTEN) == rewritten


@pytest.mark.parametrize(("css", "rewritten"), [
    ("#x", 1), ("div#x a", 1), ("#x .a", 1), ("#x #y", 2), ("#x.a", 1), (".a#x", 0),  # (class first)
    ("[id=x]", 0), ("#a + #b", 1), (":not(#x)", 0), ("#x:first-child", 1), ("p#x:nth-of-type(2)", 1), ("#x, #y", 2),
])
def test_where_the_id_rewrite_applies(css: str, rewritten: int) -> None:
    assert ATTRIBUTE_LED.css_to_xpath(css).count(REWRITTEN_ID) == rewritten


def test_a_positional_condition_keeps_cssselects_step() -> None:
    xpath = ATTRIBUTE_LED.css_to_xpath(".a + .b")
    assert xpath.endswith("/following-sibling::*[(@class and contains(@class, 'b') and contains(concat(' ', "
                          "normalize-space(@class), ' '), ' b ')) and (position() = 1)]")


def test_quotes_in_a_class_name() -> None:
    html = """<p class="it's">1</p><p class='say"hi"'>2</p><p class="its">3</p>"""
    for css in (r".it\'s", r'.say\"hi\"'):
        xpath = ATTRIBUTE_LED.css_to_xpath(css)
        assert REWRITTEN in xpath
        root = page_selector(html).root
        assert nodes(root, xpath) == nodes(root, PARSEL.css_to_xpath(css)) != []
