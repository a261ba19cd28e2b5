"""Where trawl keeps its data: $TRAWL_HOME (default ./trawl-data)."""
from __future__ import annotations

import os
from pathlib import Path


def trawl_home(create: bool = True) -> Path:
    home = Path(os.environ.get("TRAWL_HOME") or "trawl-data").expanduser().resolve()
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home
