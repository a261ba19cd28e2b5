"""Where trawl keeps its data: $TRAWL_HOME (default ./trawl-data).

Finding the home never creates it (a reading command on a fresh machine leaves no
trace); code that is about to write there calls `ensure_home()` first.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.defaults import DEFAULT_HOME


def trawl_home(create: bool = False) -> Path:
    """$TRAWL_HOME as an absolute path.  `create=True` is `ensure_home()`."""
    home = home_from(os.environ.get("TRAWL_HOME"))
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home


def home_from(raw: str | None) -> Path:
    """The home a TRAWL_HOME value names (empty or None: the default)."""
    return Path(raw or DEFAULT_HOME).expanduser().resolve()


def ensure_home() -> Path:
    """$TRAWL_HOME, created if missing: the explicit step before writing anything there."""
    return trawl_home(create=True)


def configured_home(value: str | None) -> Path:
    """The home a crawl's TRAWL_HOME setting names, absolute; unset: `ensure_home()`."""
    return Path(value).resolve() if value else ensure_home()
