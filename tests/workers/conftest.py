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


def pillhub_spec(home: Path, **batch: Any) -> Any:
    """The worker spec the pool tests start real workers with (pillhub, the test clock)."""
    from crawler.engine.workers_job import WorkerSpec

    return WorkerSpec(site_name="pillhub", site_source="", run_id="r1", clock=CLOCK, home=str(home), **batch)


def card_job(number: int) -> Any:
    """A processing job of one already-read pillhub card (no page to read back): what the
    pool tests feed real worker processes."""
    from core.items import Fetch, RawListing
    from crawler.engine.workers_job import PageJob

    item = RawListing(site="pillhub", market_kind="clearweb", url=f"http://shop.test/product/{number}",
                      fields={"native_id": str(number), "title": f"Alprazolam 2mg x{number}", "price": "$12.50"},
                      fetch=Fetch(mirror="http://shop.test"))
    return PageJob(key=f"/product/{number}", kind="cards", items=[item])


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


def worker_pids(crawl_pid: int) -> list[int]:
    """The processing workers a crawl process started (spawned children running worker_main)."""
    found = []
    for task in Path(f"/proc/{crawl_pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(pid))
    return sorted(set(found))


def stored_count(home: Path) -> int:
    import sqlite3

    db = home / "index.sqlite"
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0])
    except sqlite3.Error:
        return 0
