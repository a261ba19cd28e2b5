"""Field selectors and page markers as written in site YAML, compiled and evaluated.

Selector forms (docs/sites.md):
  "h1.title"                      CSS; an element gives its whole visible text
  "span.price::text", "a::attr(href)"   CSS pseudo-elements as in Scrapy/parsel
  "xpath://td[1]/text()"          XPath
  ["div.a", "div.b"]              alternatives, first that matches wins
  {select: ..., re: '...', many: true, join: "\\n", from: url}   with post-processing
  {select: ..., default: USD}, {default: USD}   a literal when nothing matches (or always)
Markers (gates, login): "text:..." (default), "css:...", "xpath:...", "url:REGEX", "status:429".
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from lxml import etree
from parsel import Selector

from crawler.sitedef.csspath import ATTRIBUTE_LED
from crawler.sitedef.saferegex import UserRegex, UserRegexError, compile_user_regex

_SPACE = re.compile(r"\s+")
_PSEUDO = re.compile(r"\s*(\*?::(text|attr\([^)]*\)))\s*$")
SELECTOR_KEYS = ("select", "re", "many", "join", "from", "default")


class SelectorSyntaxError(ValueError):
    pass


class ExtractionBudgetExceeded(RuntimeError):
    """A page took longer than its extraction budget (site YAML `throttle.extract_budget`).

    Extraction runs on the reactor thread: a hostile page (a huge DOM, thousands of
    fields' worth of matches) must not stall every other request.  The budget is checked
    between steps (fields, link selectors), so one step is bounded by the page size cap
    and the linear-time regex engine, and the whole page by this budget."""

    def __init__(self, step: str) -> None:
        super().__init__(f"extraction budget exceeded at {step}")
        self.step = step


def check_deadline(deadline: float | None, step: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ExtractionBudgetExceeded(step)


def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Expression:
    kind: str  # "css" | "xpath"
    expr: str

    @property
    def xpath(self) -> str:
        # parsel's translation, with class steps reached by attribute (crawler.sitedef.csspath)
        return ATTRIBUTE_LED.css_to_xpath(self.expr) if self.kind == "css" else self.expr

    @property
    def element_expr(self) -> Expression:
        """The same selection without ::text/::attr, to show the element it came from."""
        if self.kind == "css":
            return Expression("css", _PSEUDO.sub("", self.expr) or self.expr)
        stripped = re.sub(r"/?/(text\(\)|@[\w:-]+)$", "", self.expr)  # "//text()" too
        return Expression("xpath", stripped or self.expr)


@dataclass(frozen=True)
class FieldSelector:
    alternatives: tuple[Expression, ...]
    regex: UserRegex | None = None
    many: bool = False
    join: str | None = None
    source: str = "page"  # "page" | "url"
    where: str = ""  # file:line, for messages
    default: str | None = None  # the value when nothing matches ({default: USD} alone: a literal)

    def describe(self) -> str:
        parts = [f"{a.kind}:{a.expr}" for a in self.alternatives] or (["(url)"] if self.source == "url" else [])
        described = " | ".join(parts) + (f" re:{self.regex.pattern}" if self.regex else "")
        return (described + f" default:{self.default}").strip() if self.default is not None else described


@dataclass
class Extracted:
    value: Any  # str, list[str] or None
    snippets: list[str]
    selector: str


def parse_expression(text: str) -> Expression:
    text = text.strip()
    if text.startswith("xpath:"):
        expr = Expression("xpath", text[len("xpath:"):].strip())
    else:
        expr = Expression("css", text.removeprefix("css:").strip())
    if not expr.expr:
        raise SelectorSyntaxError("empty selector")
    try:
        probe = Selector(text="<html><body></body></html>")
        probe.css(expr.expr) if expr.kind == "css" else probe.xpath(expr.expr)
    except Exception as exc:  # noqa: BLE001 - parsel raises several types for bad syntax
        raise SelectorSyntaxError(f"bad {expr.kind.upper()} selector {expr.expr!r}: {str(exc).splitlines()[0]}") from None
    return expr


def compile_selector(value: Any, *, many: bool = False, where: str = "") -> FieldSelector:
    if isinstance(value, (str, list)):
        value = {"select": value}
    if not isinstance(value, dict):
        raise SelectorSyntaxError(f"expected a selector string, list or mapping, got {type(value).__name__}")
    unknown = [k for k in value if k not in SELECTOR_KEYS]
    if unknown:
        raise SelectorSyntaxError(f"unknown selector key {unknown[0]!r} (known: {', '.join(SELECTOR_KEYS)})")
    source = value.get("from", "page")
    if source not in ("page", "url"):
        raise SelectorSyntaxError(f"from: must be page or url, got {source!r}")
    raw = value.get("select")
    raw_list = [raw] if isinstance(raw, str) else raw
    default = value.get("default")
    if default is not None and not isinstance(default, (str, int, float)):
        raise SelectorSyntaxError("default: expected a literal value such as USD")
    if source == "page" and not raw_list and default is None:
        raise SelectorSyntaxError("missing 'select' (or a literal 'default')")
    if raw_list is not None and not (isinstance(raw_list, list) and all(isinstance(x, str) for x in raw_list)):
        raise SelectorSyntaxError("'select' must be a string or a list of strings")
    regex = None
    if value.get("re") is not None:
        try:
            regex = compile_user_regex(str(value["re"]))
        except UserRegexError as exc:
            raise SelectorSyntaxError(f"bad regular expression {value['re']!r}: {exc}") from None
    if source == "url" and regex is None:
        raise SelectorSyntaxError("from: url needs a 're' to cut the value out of the URL")
    for flag in ("many",):
        if flag in value and not isinstance(value[flag], bool):
            raise SelectorSyntaxError(f"{flag}: expected true or false")
    join = value.get("join")
    if join is not None and not isinstance(join, str):
        raise SelectorSyntaxError("join: expected a string")
    return FieldSelector(
        alternatives=tuple(parse_expression(x) for x in (raw_list or [])), regex=regex,
        many=bool(value.get("many", many)), join=join, source=source, where=where,
        default=None if default is None else str(default),
    )


def _node_text(node: Selector) -> str:
    if isinstance(node.root, str):
        return node.root
    return normalise_space(" ".join(node.xpath(".//text()").getall()))


def _snippet(html: str, limit: int = 400) -> str:
    html = normalise_space(html)
    return html if len(html) <= limit else html[: limit - 3] + "..."


def _apply_regex(regex: UserRegex | None, values: list[str]) -> list[str]:
    if regex is None:
        return values
    out = []
    for value in values:
        match = regex.search(value)
        if match:
            # several groups are joined: "(1 kg).*(US\$ 9.00)" -> "1 kg US$ 9.00"
            groups = [g for g in match.groups() if g]
            out.append(" ".join(groups) if regex.groups else match.group(0))
    return out


def _select(sel: Selector, expr: Expression) -> list[Selector]:
    return list(sel.css(expr.expr) if expr.kind == "css" else sel.xpath(expr.expr))


_XPATH_NAMESPACES = {"re": "http://exslt.org/regular-expressions"}  # as parsel offers
# parsel maps set: too, but only into queries that use it: with libxml2 2.13+ every
# registration of an EXSLT namespace adds an entry to an error log that never clears
_SET_NAMESPACE = {"set": "http://exslt.org/sets"}
_TEXT_NODES = etree.XPath(".//text()", smart_strings=False)


@lru_cache(maxsize=4096)
def _compiled(expr: Expression) -> etree.XPath:
    query = expr.xpath
    namespaces = _XPATH_NAMESPACES | _SET_NAMESPACE if "set:" in query else _XPATH_NAMESPACES
    return etree.XPath(query, namespaces=namespaces, smart_strings=False)


def precompile(site: Any) -> int:
    """Compile now every css/xpath selector (fields, links, markers) a loaded site holds, and
    return how many: a process that extracts pages (a crawl, a processing worker, the crawl's
    runner at close) pays the CSS translation and libxml2's compile at start-up, not on its
    first pages (~2 ms on a testbed site's first listing page, in the crawl's first moments or
    in its close).  Compiling what is never used costs only memory (a few kB each)."""
    seen: set[int] = set()
    count = 0

    def visit(value: Any) -> None:
        nonlocal count
        if id(value) in seen or isinstance(value, (str, bytes, int, float, bool, type(None))):
            return
        seen.add(id(value))
        if isinstance(value, Expression):
            _compiled(value)
            count += 1
        elif isinstance(value, Marker):
            if value.kind in ("css", "xpath"):
                _compiled(value.expression)
                count += 1
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                visit(getattr(value, field.name))
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                visit(item)

    visit(site)
    return count


def _raw_values(sel: Selector, expr: Expression) -> list[str]:
    """Each selected node's text, as `_node_text` of parsel's nodes gives it.

    A crawl evaluates ~15 selectors per page: running the compiled XPath on the lxml tree
    directly skips parsel's per-node wrappers, about a third of extraction time.  Results
    parsel would give differently (numbers, booleans, a non-tree root) take parsel's path."""
    root = sel.root
    if isinstance(root, etree._Element):
        result = _compiled(expr)(root)
        if isinstance(result, list):
            out = []
            for node in result:
                if isinstance(node, str):
                    out.append(node)
                elif isinstance(node, etree._Element):
                    # .//text() without smart strings is a list of str; the stubs type every XPath result
                    out.append(normalise_space(" ".join(_TEXT_NODES(node))))  # type: ignore[arg-type]
                else:
                    break
            else:
                return out
    return [_node_text(n) for n in _select(sel, expr)]


def evaluate(selector: FieldSelector, sel: Selector, url: str = "", *, snippets: bool = True) -> Extracted:
    """Run one field selector on a page; values are whitespace-normalised strings.

    `snippets=False` skips the HTML each value came from (a second query per field)."""
    if selector.source == "url":
        values = _apply_regex(selector.regex, [url])
        if not values and selector.default is not None:
            return Extracted(_shape(selector, [selector.default]), [], selector.describe())
        return Extracted(_shape(selector, values), [url] if values else [], selector.describe())
    for expr in selector.alternatives:
        raw = _raw_values(sel, expr)
        values = [v for v in (normalise_space(t) if selector.join is None else t.strip() for t in raw) if v]
        values = _apply_regex(selector.regex, values)
        if not values:
            continue
        if not snippets:
            return Extracted(_shape(selector, values), [], f"{expr.kind}:{expr.expr}")
        elements = [n for n in _select(sel, expr.element_expr) if not isinstance(n.root, str)]
        found = [_snippet(n.get()) for n in elements[: 3 if selector.many else 1]]
        return Extracted(_shape(selector, values), found, f"{expr.kind}:{expr.expr}")
    if selector.default is not None:  # the site's literal default (e.g. the currency all its prices are in)
        return Extracted(_shape(selector, [selector.default]), [], selector.describe())
    return Extracted(None, [], selector.describe())


def _shape(selector: FieldSelector, values: list[str]) -> Any:
    if not values:
        return None
    if selector.join is not None:
        return selector.join.join(values)
    return values if selector.many else values[0]


# --- markers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Marker:
    kind: str  # text | css | xpath | url | status
    value: str
    pattern: UserRegex | None = None

    def matches(self, *, text: str, sel: Selector | None, url: str, status: int) -> bool:
        if self.kind == "status":
            return str(status) == self.value
        if self.kind == "url":
            return bool(self.pattern and self.pattern.search(url))
        if self.kind == "text":
            return self.value.casefold() in text.casefold()
        if sel is None:
            return False
        return _tree_has(sel, self.expression)

    @cached_property
    def expression(self) -> Expression:
        """A css or xpath marker's selector (made once: markers are checked on every page)."""
        return Expression(self.kind, self.value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def _tree_has(sel: Selector, expr: Expression) -> bool:
    """Whether `expr` selects anything: the compiled XPath on the lxml tree, since gate
    markers are checked on every page and parsel's `.css()` costs a translation lookup and a
    wrapper per node; parsel's own answer where the tree path would differ (an XPath giving a
    number or a boolean is a one-item, so truthy, SelectorList there)."""
    root = sel.root
    if isinstance(root, etree._Element):
        result = _compiled(expr)(root)
        if isinstance(result, list):
            return bool(result)
    return bool(_select(sel, expr))


def compile_marker(text: str) -> Marker:
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("text", "css", "xpath", "url", "status"):
        return Marker("text", text)
    rest = rest.strip()
    if kind in ("css", "xpath"):
        parse_expression(rest if kind == "css" else f"xpath:{rest}")
    if kind == "url":
        try:
            return Marker("url", rest, compile_user_regex(rest))
        except UserRegexError as exc:
            raise SelectorSyntaxError(f"bad url marker regex {rest!r}: {exc}") from None
    if kind == "status" and not rest.isdigit():
        raise SelectorSyntaxError(f"status marker needs a number, got {rest!r}")
    return Marker(kind, rest)
