"""Page objects: turn one fetched page into raw fields.

`SelectorPage` (base.py) reads the YAML selectors; a site whose pages need more than
selectors names a small subclass in its YAML (`listing.page_object`), which overrides only
the fields it must compute (`field_<name>` methods).  Spiders never extract anything.
"""
from __future__ import annotations

import importlib

from crawler.sitedef.pages.base import PageInput, PageResult, SelectorPage


def resolve_page_object(path: str) -> type[SelectorPage]:
    module_name, _, attr = path.rpartition(".")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, SelectorPage)):
        raise TypeError(f"{path} is not a subclass of crawler.sitedef.pages.base.SelectorPage")
    return cls


__all__ = ["PageInput", "PageResult", "SelectorPage", "resolve_page_object"]
