"""The fast value path (`_raw_values`: compiled XPath straight on the lxml tree) gives what
the plain parsel path gives (`_node_text` of each `_select` node), for every selector of
every site YAML on testbed pages, real market pages and a table of markup edge cases.
`evaluate(..., snippets=False)` must give the value `evaluate(...)` gives."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from parsel import Selector
from scrapy.http import HtmlResponse

from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import (
    Expression,
    FieldSelector,
    _compiled,
    _node_text,
    _raw_values,
    _select,
    compile_selector,
    evaluate,
    parse_expression,
)
from crawler.sitedef.siteconfig import SiteConfig, list_site_names, load_site, load_site_file
from testbed.server import run_testbed
from tests.conftest import REAL_DATA
from tests.testbed.socks_http import OnionSession
from tests.testbed.test_nightshade import _hidden_fields, logged_in

DATA = Path(__file__).parent / "data"
NAV_ATTRIBUTES = ("categories", "pagination", "load_more", "listing_links", "vendor_links")


# --- the selectors -------------------------------------------------------------------

@dataclass(frozen=True)
class SiteSelector:
    site: str
    path: str  # e.g. "listing.title", "navigation.categories"
    selector: FieldSelector


def page_selectors(site: SiteConfig) -> list[SiteSelector]:
    """Every selector of a site that reads the page (from: url ones never touch it)."""
    found: list[tuple[str, FieldSelector | None]] = []
    for section, spec in (("listing", site.listing), ("vendor", site.vendor)):
        if spec is not None:
            found += [(f"{section}.{name}", selector) for name, selector in spec.fields.items()]
    found += [(f"navigation.{name}", getattr(site.navigation, name)) for name in NAV_ATTRIBUTES]
    found += [(f"gates.{gate.name}.pass_link", gate.pass_link) for gate in site.gates]
    return [SiteSelector(site.name, path, s) for path, s in found if s is not None and s.source == "page"]


def expressions(selectors: list[SiteSelector]) -> list[tuple[str, Expression]]:
    out: dict[tuple[str, Expression], None] = {}
    for s in selectors:
        for expr in s.selector.alternatives:
            out[(s.path, expr)] = None
    return list(out)


SHIPPED_SITES: dict[str, SiteConfig] = {name: load_site(name, env={}) for name in list_site_names()}
# the layouts written for the real Dream and Empire pages (see test_real_pages.py)
MARKET_SITES: dict[str, SiteConfig] = {name: load_site_file(DATA / f"{name}.yaml", env={}) for name in ("dream", "empire")}
ALL_SELECTORS: list[SiteSelector] = [s for site in (*SHIPPED_SITES.values(), *MARKET_SITES.values()) for s in page_selectors(site)]
ALL_EXPRESSIONS: list[tuple[str, Expression]] = expressions(ALL_SELECTORS)


def expr_id(expr: Expression) -> str:
    return f"{expr.kind}:{expr.expr}"


# --- comparing the two paths ---------------------------------------------------------

def reference_values(sel: Selector, expr: Expression) -> list[str]:
    return [_node_text(node) for node in _select(sel, expr)]


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """A value or the exception type, so a path that fails where the other works is a mismatch."""
    try:
        return "value", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return "error", type(exc).__name__


def selector_flavours(url: str, body: bytes) -> list[tuple[str, Selector]]:
    """parsel on the text, Scrapy's response.selector, and `page_selector` (lxml's plain
    element classes), which is what the crawler and the workers pass."""
    text = body.decode("utf-8", errors="replace")
    return [("parsel", Selector(text=text)),
            ("scrapy", HtmlResponse(url=url, body=body, encoding="utf-8").selector),
            ("trawl", page_selector(text))]


@dataclass(frozen=True)
class Page:
    url: str
    body: bytes

    @functools.cached_property
    def flavours(self) -> list[tuple[str, Selector]]:
        return selector_flavours(self.url, self.body)


Pages = dict[str, Page]  # by "site/label" or "market/relative path"


def fast_path_mismatches(pages: Pages, expr: Expression, flavours: tuple[str, ...] = ("parsel", "scrapy", "trawl")) -> list[str]:
    out = []
    for name, page in pages.items():
        for flavour, sel in page.flavours:
            if flavour not in flavours:
                continue
            fast, reference = outcome(_raw_values, sel, expr), outcome(reference_values, sel, expr)
            if fast != reference:
                out.append(f"{name} ({flavour}): fast={fast!r} reference={reference!r}")
    return out


def evaluate_mismatches(pages: Pages, selector: FieldSelector,
                        flavours: tuple[str, ...] = ("parsel", "scrapy", "trawl")) -> list[str]:
    """`snippets=False` changes nothing but the snippets; snippets exist whenever a value does."""
    out = []
    for name, page in pages.items():
        for flavour, sel in page.flavours:
            if flavour not in flavours:
                continue
            full, quick = evaluate(selector, sel, page.url), evaluate(selector, sel, page.url, snippets=False)
            if (quick.value, quick.selector, quick.snippets) != (full.value, full.selector, []):
                out.append(f"{name} ({flavour}): without snippets {quick!r}, with {full!r}")
            elif full.value is not None and not (full.snippets and all(full.snippets)):
                out.append(f"{name} ({flavour}): value {full.value!r} but no snippet")
    return out


def pages_of(pages: Pages, prefix: str) -> Pages:
    return {name: page for name, page in pages.items() if name.startswith(f"{prefix}/")}


# --- testbed pages -------------------------------------------------------------------

TESTBED_PAGES: dict[str, tuple[str, ...]] = {
    "nightshade": ("gate", "login", "home", "category", "listing-first", "listing-last", "vendor-first", "vendor-last"),
    "vortex": ("home", "category", "listing-first", "listing-last", "feedback", "vendor-first", "vendor-last"),
    "rcshop": ("home", "listing-first"),  # the JS shell: every selector finds nothing
    "chemtrade": ("home", "products", "category", "listing-first", "listing-last", "vendor-first"),
    "pillhub": ("home", "category", "listing-first", "listing-last", "listing-gbp"),
}


def paths_on_testbed(tb: Any, site: str) -> dict[str, str]:
    truth, vendors = tb.truth(site), tb.vendor_truth(site)
    category = truth[0]["category"]
    paths = {
        "home": "/", "products": "/products", "listing-first": truth[0]["url"], "listing-last": truth[-1]["url"],
        "category": f"/c/{category}" if site == "vortex" else f"/category/{category}",
        "feedback": truth[0]["url"] + "/feedback", "listing-gbp": truth[0]["url"] + "?cur=GBP",
    }
    if vendors:
        paths |= {"vendor-first": vendors[0]["url"], "vendor-last": vendors[-1]["url"]}
    return paths


def fetch_testbed_pages() -> Pages:
    import urllib.request

    pages: Pages = {}
    with run_testbed(rate_limit=False, faults=False) as tb:
        onion_sessions = {"nightshade": logged_in(tb), "vortex": OnionSession(tb.socks_port, tb.sites["vortex"].onion)}
        for site, labels in TESTBED_PAGES.items():
            base = tb.sites[site].base_url.rstrip("/")
            paths = paths_on_testbed(tb, site)
            for label in labels:
                if label in ("gate", "login"):
                    continue
                url = base + paths[label]
                if site in onion_sessions:
                    response = onion_sessions[site].get(paths[label])
                    assert response.status == 200, url
                    body = response.body
                else:
                    with urllib.request.urlopen(url, timeout=10) as answer:
                        body = answer.read()
                pages[f"{site}/{label}"] = Page(url, body)
        # what a crawler sees before passing nightshade's DDoS guard and its login
        guest = OnionSession(tb.socks_port, tb.sites["nightshade"].onion)
        gate = guest.get("/login")
        assert "DDoS protection by NightGuard" in gate.text
        guest.post("/ddos-guard/verify", _hidden_fields(gate.text))
        login = guest.get("/login")
        assert 'name="password"' in login.text
        base = tb.sites["nightshade"].base_url.rstrip("/")
        pages["nightshade/gate"] = Page(base + "/login", gate.body)
        pages["nightshade/login"] = Page(base + "/login", login.body)
    assert len(pages) == sum(len(labels) for labels in TESTBED_PAGES.values())
    return pages


@pytest.fixture(scope="module")
def testbed_pages() -> Pages:
    return fetch_testbed_pages()


TESTBED_SITES = [site for site in TESTBED_PAGES if site in SHIPPED_SITES]


@pytest.mark.parametrize(("site", "expr"), [pytest.param(site, expr, id=f"{site}/{path}/{expr_id(expr)}")
                                            for site in TESTBED_SITES
                                            for path, expr in expressions(page_selectors(SHIPPED_SITES[site]))])
def test_fast_path_matches_parsel_on_testbed_pages(testbed_pages: Pages, site: str, expr: Expression) -> None:
    assert fast_path_mismatches(pages_of(testbed_pages, site), expr) == []


@pytest.mark.parametrize(("site", "selector"), [pytest.param(site, s.selector, id=f"{site}/{s.path}")
                                                for site in TESTBED_SITES for s in page_selectors(SHIPPED_SITES[site])])
def test_evaluate_without_snippets_gives_same_value_on_testbed_pages(testbed_pages: Pages, site: str,
                                                                     selector: FieldSelector) -> None:
    assert evaluate_mismatches(pages_of(testbed_pages, site), selector) == []


@pytest.mark.parametrize("name", [f"{site}/{label}" for site, labels in TESTBED_PAGES.items() for label in labels])
def test_every_site_expression_matches_on_testbed_page(testbed_pages: Pages, name: str) -> None:
    """Other sites' selectors too: foreign markup is what a site redesign looks like."""
    assert [m for _, expr in ALL_EXPRESSIONS for m in fast_path_mismatches({name: testbed_pages[name]}, expr)] == []


def test_testbed_pages_exercise_the_selectors(testbed_pages: Pages) -> None:
    """Guards the comparisons above against all being empty-equals-empty."""
    found = {name: sum(bool(_raw_values(page.flavours[0][1], expr))
                       for _, expr in expressions(page_selectors(SHIPPED_SITES[name.split("/")[0]])))
             for name, page in testbed_pages.items()}
    assert all(found[f"{site}/listing-first"] >= 5 for site in TESTBED_SITES if site != "rcshop"), found
    assert found["nightshade/vendor-first"] >= 5 and found["vortex/vendor-first"] >= 5, found


# --- real market pages (../shared/real-data, never copied into the repo) --------------

REAL_PAGES_DIR = REAL_DATA / "msc-darkweb-scraping" / "tests"
REAL_MARKETS = {"dream": "dream/html_files", "empire": "empire/html_files", "darkfail": "html_files"}


def real_page_names() -> list[str]:
    """"market/path" for every saved page; empty when the real data is absent."""
    out = []
    for market, folder in REAL_MARKETS.items():
        directory = REAL_PAGES_DIR / folder
        if directory.is_dir():
            files = directory.rglob("*") if market != "darkfail" else directory.glob("*")
            out += [f"{market}/{p.relative_to(directory)}" for p in sorted(files) if p.is_file()]
    return out


REAL_PAGE_NAMES = real_page_names()
ABSENT = pytest.param(None, None, id="real-data-absent")  # the real_data_dir fixture skips it with the reason


def real_page_body(name: str) -> bytes:
    market, relative = name.split("/", 1)
    return (REAL_PAGES_DIR / REAL_MARKETS[market] / relative).read_bytes()


@pytest.fixture(scope="module")
def real_pages(real_data_dir: Path) -> Pages:
    return {name: Page(f"http://{name.replace('/', '.onion/', 1)}", real_page_body(name)) for name in REAL_PAGE_NAMES}


MARKETS_WITH_PAGES = [m for m in MARKET_SITES if any(n.startswith(f"{m}/") for n in REAL_PAGE_NAMES)]


@pytest.mark.parametrize(("market", "expr"), [pytest.param(market, expr, id=f"{market}/{path}/{expr_id(expr)}")
                                              for market in MARKETS_WITH_PAGES
                                              for path, expr in expressions(page_selectors(MARKET_SITES[market]))] or [ABSENT])
def test_fast_path_matches_parsel_on_real_pages(real_pages: Pages, market: str, expr: Expression) -> None:
    assert fast_path_mismatches(pages_of(real_pages, market), expr) == []


@pytest.mark.parametrize(("market", "selector"), [pytest.param(market, s.selector, id=f"{market}/{s.path}")
                                                  for market in MARKETS_WITH_PAGES
                                                  for s in page_selectors(MARKET_SITES[market])] or [ABSENT])
def test_evaluate_without_snippets_gives_same_value_on_real_pages(real_pages: Pages, market: str,
                                                                  selector: FieldSelector) -> None:
    assert evaluate_mismatches(pages_of(real_pages, market), selector, flavours=("trawl",)) == []


def page_kind(name: str) -> str:
    """"dream/sellers/seller_3.html" -> "dream/sellers/seller": pages of one kind share a layout."""
    return re.sub(r"(_\d+)?(\.html)?$", "", name)


def cross_product_params() -> list[Any]:
    """The smallest page of each kind runs by default; the rest with `-m slow` (about 2 s more)."""
    smallest: dict[str, str] = {}
    for name in sorted(REAL_PAGE_NAMES, key=lambda n: len(real_page_body(n))):
        smallest.setdefault(page_kind(name), name)
    sample = set(smallest.values())
    return [pytest.param(name, id=name, marks=() if name in sample else pytest.mark.slow) for name in REAL_PAGE_NAMES] \
        or [pytest.param(None, id="real-data-absent")]


@pytest.mark.parametrize("name", cross_product_params())
def test_every_site_expression_matches_on_real_page(real_pages: Pages, name: str) -> None:
    # the page's own market selectors ran on every flavour above; the rest on what the
    # crawler and the workers pass (page_selector)
    market = name.split("/")[0]
    own = set(expressions(page_selectors(MARKET_SITES[market]))) if market in MARKET_SITES else set()
    page = {name: real_pages[name]}
    assert [m for pair in ALL_EXPRESSIONS if pair not in own
            for m in fast_path_mismatches(page, pair[1], flavours=("trawl",))] == []


def test_real_pages_were_found(real_data_dir: Path) -> None:
    """A moved folder must fail here, not silently leave the parametrised tests above empty."""
    assert {name.split("/")[0] for name in REAL_PAGE_NAMES} == set(REAL_MARKETS) and len(REAL_PAGE_NAMES) >= 50
    assert MARKETS_WITH_PAGES == list(MARKET_SITES)


# --- hand-written edge cases ---------------------------------------------------------

TABLE = "<table><tr><td>1 g</td><td>US$ 10</td></tr><tr><td>5 g</td><td>US$ 40</td></tr></table>"
LINKS = ('<ul><li class="tier-1"><a href="/listing/1" title="one">One</a></li>'
         '<li class="tier-22"><a href="/listing/2?x=1&amp;y=2">Two 5G</a></li>'
         '<li class="tier-x"><a>no href</a></li></ul>')

EDGE_CASES = [
    # (id, html, selector as written in YAML, what the reference gives: values | empty | error)
    ("comment-inside-element", '<p class="note">before<!-- hidden comment -->after</p>', "p.note", "values"),
    ("comment-between-text-nodes", "<p>a<!-- c -->b</p>", "xpath://p/text()", "values"),
    ("comment-nodes-selected", "<div><!-- one --><span>x</span><!-- two --></div>", "xpath://div/comment()", "error"),
    ("comment-only-element", '<span class="s"><!-- nothing --></span>', "span.s", "values"),
    ("nested-inline-tags", '<h1 class="t"><b>Mephedrone</b> <i>4-<u>MMC</u></i>5g</h1>', "h1.t", "values"),
    ("br-and-tails", '<td class="addr">Line one<br>Line two<br/>  Line three  </td>', "td.addr", "values"),
    ("br-and-tails-text", '<td class="addr">Line one<br>Line two<br/>  Line three  </td>', "td.addr::text", "values"),
    ("tail-outside-selection", '<div><span class="p">$10</span> tail text</div>', "span.p", "values"),
    ("nbsp", '<span class="price">US$&nbsp;12.50&#160;</span>', "span.price", "values"),
    ("nbsp-only", '<span class="s">&nbsp;</span>', "span.s", "values"),
    ("entities", '<p class="d">Tom &amp; Jerry &lt;3 &eacute;t&eacute; &#x2014; &#8364;5 &quot;q&quot;</p>', "p.d::text", "values"),
    ("attr-href", LINKS, "li a::attr(href)", "values"),
    ("attr-empty-value", '<a href="">x</a><a href=" /y ">y</a>', "a::attr(href)", "values"),
    ("attr-non-ascii", '<a title="Ünïcödé ✓ 東京">x</a>', "a::attr(title)", "values"),
    ("text-pseudo", '<div class="x">one<span>two</span>three</div>', "div.x::text", "values"),
    ("star-text-pseudo", '<div class="x">one<span>two<b>deep</b></span>three</div>', "div.x *::text", "values"),
    ("xpath-text", TABLE, "xpath://tr/td[1]/text()", "values"),
    ("xpath-attributes", LINKS, "xpath://a/@href", "values"),
    ("xpath-all-attributes", LINKS, "xpath://a/@*", "values"),
    ("xpath-re-test-attribute", LINKS, r"xpath://li[re:test(@class, '^tier-\d+$')]", "values"),
    ("xpath-re-test-text", LINKS, r"xpath://a[re:test(., '\d+\s*g', 'i')]/text()", "values"),
    ("xpath-re-replace-string", "<h1>a  b c</h1>", r"xpath:re:replace(string(//h1), '\s+', 'g', '-')", "values"),
    ("xpath-has-class", LINKS, "xpath://li[has-class('tier-22')]", "values"),
    ("xpath-count-number", LINKS, "xpath:count(//li)", "values"),
    ("xpath-sum-number", "<i>2</i><i>3.5</i>", "xpath:sum(//i)", "values"),
    ("xpath-boolean", LINKS, "xpath:boolean(//li)", "values"),
    ("xpath-string", "<h1> Title <b>x</b> </h1>", "xpath:string(//h1)", "values"),
    ("xpath-mixed-nodes", "<ul>\n <li> a </li>\n text <li>b</li></ul>", "xpath://ul/node()", "values"),
    ("xpath-union-nodes-and-attributes", LINKS, "xpath://a | //a/@href", "values"),
    ("xpath-namespace-axis", "<p>x</p>", "xpath://p/namespace::*", "values"),
    ("php-tag-becomes-comment", '<p class="c">a<?php echo 1 ?>b</p>', "p.c", "values"),
    ("script-and-style-text", '<div class="d">x<script>var a = "<b>";</script><style>.a{}</style>y</div>', "div.d", "values"),
    ("pre-keeps-newlines", '<pre class="pgp">-----BEGIN\n  line one\n\nline two\n</pre>', "pre.pgp::text", "values"),
    ("malformed-html", '<p class="m">unclosed <b>bold <i>both</p> after <p class="m">second', "p.m", "values"),
    ("table-without-tbody", TABLE, "xpath://table/tbody/tr/td", "empty"),
    ("empty-css", LINKS, "div.nothing-here", "empty"),
    ("empty-attr", LINKS, "a::attr(data-missing)", "empty"),
    ("empty-xpath-text", LINKS, "xpath://p[@id='x']/text()", "empty"),
    ("empty-document", "", "p", "empty"),
    ("non-ascii-text", "<h1>Мефедрон 3‑MMC — 5 г · 東京 · 💊</h1>", "h1", "values"),
    ("look-alike-letters", "<h1>m\u0435ph\u0435drone 5g</h1>", "xpath://h1/text()", "values"),
    ("right-to-left-and-zero-width", "<p>\u200bكوكايين\u200f 1g\u00ad</p>", "p", "values"),
]


@pytest.mark.parametrize(("html", "raw", "expect"), [pytest.param(html, raw, expect, id=f"{cid}/{raw}")
                                                    for cid, html, raw, expect in EDGE_CASES])
def test_fast_path_matches_parsel_on_edge_case(html: str, raw: str, expect: str) -> None:
    page = Page("http://edge.example/page", html.encode("utf-8"))
    expr = parse_expression(raw)
    assert fast_path_mismatches({"edge": page}, expr) == []
    # equal is only telling if the case selects what its name says
    kind, values = outcome(reference_values, page.flavours[0][1], expr)
    assert {"error": kind == "error", "empty": values == [], "values": kind == "value" and values != []}[expect], values


def test_fast_path_matches_parsel_on_a_non_tree_root() -> None:
    # parsel reads JSON-looking text as JSON: there is no lxml tree to run the XPath on
    sel = Selector(text='{"title": "x"}')
    assert not isinstance(sel.root, etree._Element)
    for raw in ("xpath://h1", "h1"):
        expr = parse_expression(raw)
        assert outcome(_raw_values, sel, expr) == outcome(reference_values, sel, expr), raw


@pytest.mark.parametrize("raw", ["xpath:count(//li)", "xpath:boolean(//li)", "xpath:string(//a)", "xpath://p/namespace::*"])
def test_non_node_results_take_parsels_path(raw: str) -> None:
    """The edge cases above only prove something if the fast path really fell back here."""
    sel = Selector(text=LINKS + "<p>x</p>")
    expr = parse_expression(raw)
    result = _compiled(expr)(sel.root)
    assert not isinstance(result, list) or any(not isinstance(n, (str, etree._Element)) for n in result)
    assert _raw_values(sel, expr) == reference_values(sel, expr)


def test_fast_path_knows_parsels_exslt_set_namespace() -> None:
    sel = Selector(text=LINKS)
    expr = parse_expression("xpath://li[set:distinct(a)]")  # accepted by the YAML check (parsel)
    assert outcome(_raw_values, sel, expr) == outcome(reference_values, sel, expr)


EDGE_FIELDS = [
    ("many-with-regex", LINKS, {"select": "li", "re": r"(\w+)$", "many": True}),
    ("join-keeps-newlines", '<pre class="pgp">-----BEGIN\n  line one\n</pre><pre class="pgp">two</pre>',
     {"select": "pre.pgp::text", "join": ""}),
    ("second-alternative-wins", LINKS, {"select": ["div.nothing", "li a::attr(href)"], "many": True}),
    ("text-pseudo-value", '<p class="d">a &amp; b<br>c</p>', "p.d::text"),
    ("xpath-text-value", TABLE, "xpath://tr/td[2]/text()"),
    ("xpath-attribute-value", LINKS, "xpath://a/@title"),
    ("nothing-found", LINKS, ["div.nothing", "xpath://p/text()"]),
    ("regex-rejects-every-value", LINKS, {"select": "li", "re": "never-there"}),
]


@pytest.mark.parametrize(("html", "raw"), [pytest.param(html, raw, id=cid) for cid, html, raw in EDGE_FIELDS])
def test_evaluate_without_snippets_gives_same_value_on_edge_case(html: str, raw: Any) -> None:
    page = Page("http://edge.example/page", html.encode("utf-8"))
    assert evaluate_mismatches({"edge": page}, compile_selector(raw)) == []
