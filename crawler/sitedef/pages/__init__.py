"""Page objects: turn one fetched page into a typed raw item (core.items.RawListing/RawVendor).

`SelectorPage` (base.py) reads the YAML selectors; a site whose pages need more than
selectors names a small subclass in its YAML (`listing.page_object`), which overrides only
the fields it must compute (`field_<name>` methods).  Spiders never extract anything.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Literal

from core.items import Fetch, RawListing, RawVendor
from crawler.sitedef.pages.base import PageInput, PageResult, SelectorPage

if TYPE_CHECKING:
    from crawler.sitedef.siteconfig import PageSpec, SiteConfig


def resolve_page_object(path: str, source: str = "") -> type[SelectorPage]:
    """The class a YAML `page_object` names: `package.module.Class` (importable code) or
    `module:Class` (`module.py` beside the site YAMLs, crawler.sitedef.pages.local);
    `source` is the YAML that names it, whose folder is searched first."""
    if ":" in path:
        from crawler.sitedef.pages.local import load_local_class

        cls = load_local_class(path, source)
    else:
        module_name, _, attr = path.rpartition(".")
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, SelectorPage)):
        raise TypeError(f"{path} is not a subclass of crawler.sitedef.pages.base.SelectorPage")
    return cls


def page_object_class(spec: PageSpec) -> type[SelectorPage]:
    """The page object a page kind of a site YAML names, or the plain YAML-driven one."""
    return resolve_page_object(spec.page_object, spec.source) if spec.page_object else SelectorPage


def read_item(site: SiteConfig, page: PageInput, kind: Literal["listing", "vendor"],
              fetch: Fetch | None = None) -> RawListing | RawVendor:
    """One page (fetched now or saved earlier) read as a `kind` item of `site`, through the
    page object its YAML names: what the crawler does, for callers without a crawl."""
    spec = site.listing if kind == "listing" else site.vendor
    if spec is None:
        raise ValueError(f"{site.source or site.name}: the site has no {kind} section")
    return page_object_class(spec)(page, spec, site, snippets=False).to_item(kind, fetch)


__all__ = ["PageInput", "PageResult", "SelectorPage", "page_object_class", "read_item", "resolve_page_object"]
