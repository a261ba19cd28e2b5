"""The YAML-driven page object every site starts from.

`extract()` gives the fields with the snippets and selectors that produced them (what
`trawl sites test` reports); `to_item()` gives the typed raw item the pipeline takes
(`core.items.RawListing` / `RawVendor`), as web-poet's `ItemPage.to_item()` does."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urlsplit

from parsel import Selector

from core.items import Fetch, RawListing, RawVendor
from crawler.sitedef.pagetree import page_selector
from crawler.sitedef.selectors import (
    Extracted,
    FieldSelector,
    check_deadline,
    evaluate,
    normalise_space,
)

if TYPE_CHECKING:
    from crawler.sitedef.siteconfig import PageSpec, SiteConfig


@dataclass
class PageInput:
    """What a page object may look at: independent of Scrapy so `trawl sites test` and
    unit tests can feed it saved HTML."""

    url: str
    text: str
    status: int = 200
    # the response's already-parsed tree, so a page is parsed once per crawl, not per step
    selector: Selector | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_response(cls, response: Any, selector: Selector | None = None) -> PageInput:
        return cls(url=response.url, text=getattr(response, "text", ""), status=response.status, selector=selector)


@dataclass
class PageResult:
    fields: dict[str, Any]
    snippets: dict[str, list[str]] = field(default_factory=dict)
    selectors: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # configured fields that matched nothing


class SelectorPage:
    """Evaluates every configured selector; subclasses add `field_<name>()` methods.

    A `field_<name>` method returns the raw value (str, list[str] or None); a None return
    keeps whatever the YAML selector produced, so YAML stays the first place to fix a site."""

    def __init__(self, page: PageInput, spec: PageSpec, site: SiteConfig | None = None, *,
                 snippets: bool = True, deadline: float | None = None) -> None:
        self.page, self.spec, self.site = page, spec, site
        # time.monotonic() after which extraction stops (ExtractionBudgetExceeded)
        self.deadline = deadline
        # snippets serve `trawl sites test`; a crawl keeps WARC evidence instead
        self.snippets = snippets
        self.sel = page.selector if page.selector is not None else page_selector(page.text)

    # helpers for subclasses
    def css(self, query: str) -> Any:
        return self.sel.css(query)

    def xpath(self, query: str) -> Any:
        return self.sel.xpath(query)

    def text_of(self, query: str) -> str | None:
        nodes = self.sel.css(query)
        if not nodes:
            return None
        return normalise_space(" ".join(nodes[0].xpath(".//text()").getall())) or None

    @property
    def path(self) -> str:
        """URL path and query without scheme and host: what url patterns are written against."""
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def run(self, name: str, selector: FieldSelector) -> Extracted:
        return evaluate(selector, self.sel, self.path, snippets=self.snippets)

    def extract(self) -> PageResult:
        result = PageResult(fields={})
        for name, selector in self.spec.fields.items():
            check_deadline(self.deadline, f"field {name}")
            got = self.run(name, selector)
            result.fields[name] = got.value
            result.snippets[name] = got.snippets
            result.selectors[name] = got.selector
        if self.spec.id_from_url is not None and not result.fields.get("native_id"):
            match = self.spec.id_from_url.search(self.path)
            if match:
                result.fields["native_id"] = match.group(1) if self.spec.id_from_url.groups else match.group(0)
                result.snippets["native_id"] = [self.page.url]
                result.selectors["native_id"] = f"id_from_url re:{self.spec.id_from_url.pattern}"
        extra = {}
        for name, selector in self.spec.extra.items():
            check_deadline(self.deadline, f"extra {name}")
            got = self.run(f"extra.{name}", selector)
            if got.value not in (None, "", []):
                extra[name] = got.value if not isinstance(got.value, list) else " | ".join(got.value)
            result.snippets[f"extra.{name}"] = got.snippets
            result.selectors[f"extra.{name}"] = got.selector
        if extra:
            result.fields["extra"] = extra  # stored as Listing.extra
        for name in _field_methods(type(self)):
            check_deadline(self.deadline, f"{type(self).__name__}.{name}()")
            value = getattr(self, name)()
            if value is not None:
                key = name.removeprefix("field_")
                result.fields[key] = value
                result.selectors[key] = f"{type(self).__name__}.{name}()"
        result.missing = [n for n in self.spec.fields if result.fields.get(n) in (None, "", [])]
        return result

    @overload
    def to_item(self, kind: Literal["listing"], fetch: Fetch | None = None) -> RawListing: ...
    @overload
    def to_item(self, kind: Literal["vendor"], fetch: Fetch | None = None) -> RawVendor: ...
    @overload
    def to_item(self, kind: Literal["listing", "vendor"], fetch: Fetch | None = None) -> RawListing | RawVendor: ...

    def to_item(self, kind: Literal["listing", "vendor"], fetch: Fetch | None = None) -> RawListing | RawVendor:
        """The page read as a `kind` item of this page object's site; `fetch` is how the page
        was obtained (frontier key, mirror, evidence), which the page cannot tell."""
        if self.site is None:
            raise ValueError(f"{type(self).__name__}.to_item() needs the site the page belongs to")
        result = self.extract()
        item_class = RawListing if kind == "listing" else RawVendor
        return item_class(site=self.site.name, market_kind=self.site.kind, url=self.page.url, fields=result.fields,
                          required=tuple(self.spec.required), missing=tuple(result.missing), fetch=fetch or Fetch())


_FIELD_METHODS: dict[type, tuple[str, ...]] = {}


def _field_methods(cls: type) -> tuple[str, ...]:
    """The `field_<name>` methods of a page-object class, found once per class."""
    if cls not in _FIELD_METHODS:
        _FIELD_METHODS[cls] = tuple(sorted(name for name in dir(cls)
                                           if name.startswith("field_") and callable(getattr(cls, name))))
    return _FIELD_METHODS[cls]
