"""Table helper: rows interleaved with "@group" markers become parametrize cases whose ids
show the source group and the raw string ("empire: airmail - 8 days - USD + 5.00 / order")."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


def grouped(rows: Iterable[Any], default: str = "published") -> list[Any]:
    group, out = default, []
    for row in rows:
        if isinstance(row, str) and row.startswith("@"):
            group = row[1:]
            continue
        out.append(pytest.param(*row, id=f"{group}: {row[0]}"))
    return out


def plain_rows(rows: Iterable[Any]) -> list[Any]:
    """The rows without markers (for the benchmark's fallback corpus)."""
    return [r for r in rows if not (isinstance(r, str) and r.startswith("@"))]
