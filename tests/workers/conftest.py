"""Shared helpers of the processing-worker tests: crawls run as subprocesses against the testbed."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CLOCK = "2026-08-03T12:00:00Z"
# differ between two crawls of the same pages by design: which run and file cite them
RUN_BOUND = ("evidence", "run_id", "rid")


@pytest.fixture(scope="module")
def testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


def stored_listings(home: Path, site: str) -> dict[str, dict[str, Any]]:
    """Every stored listing of `site` by id, without what names its run or evidence file."""
    from index.api import SearchQuery
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(home / "index.sqlite")
    try:
        rows = list(backend.iter_listings(SearchQuery(site=site, limit=100_000)))
    finally:
        backend.close()
    return {row.listing_id: {k: v for k, v in dataclasses.asdict(row).items() if k not in RUN_BOUND} for row in rows}


def snapshot_count(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "index.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])
