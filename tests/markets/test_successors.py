"""Successor markets from the vendor identities in a real SQLite index."""
from __future__ import annotations

from pathlib import Path

from core.records import Records, Vendor
from crawler.engine.markets import get_market
from crawler.engine.markets_runs import record_run
from crawler.engine.markets_successors import find_successors
from crawler.sitedef.siteconfig import load_site
from tests.markets.conftest import write_site
from tests.markets.test_registry import A, run

FP = "0123456789ABCDEF0123456789ABCDEF01234567"


def vendor(site: str, name: str, seen: str, fps: list[str] | None = None) -> Vendor:
    return Vendor(vendor_id=f"{site}:{name.lower()}", site=site, name=name, pgp_fingerprints=fps or [],
                  first_seen=seen, last_seen=seen)


def test_vendors_that_moved_name_the_successor(sites_dir: Path, trawl_home: Path) -> None:
    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(trawl_home / "index.sqlite")
    try:
        backend.write(Records(vendors=[
            vendor("oldmkt", "IceQueen", "2026-01-01T00:00:00Z", [FP]), vendor("oldmkt", "DrFeelgood", "2026-01-01T00:00:00Z"),
            vendor("newmkt", "Ice_Queen2", "2099-01-01T00:00:00Z", [FP]),  # renamed, same key: strong
            vendor("newmkt", "drfeelgood", "2099-01-01T00:00:00Z"),  # same name: weak
            vendor("other", "Stranger", "2099-01-01T00:00:00Z"),
            vendor("stale", "DrFeelgood", "2000-01-01T00:00:00Z"),  # last seen before the market went away
        ]))
    finally:
        backend.close()
    write_site(sites_dir, "oldmkt", [A])
    site = load_site("oldmkt")
    record_run(site, run(1, ok=True))
    record_run(site, {**run(2, ok=True, status="market_seized"), "stats": {
        "downloader/response_status_count/200": 1, "trawl/market/seized": "seized by the FBI"}})
    market = get_market("oldmkt")
    assert market is not None and market.status == "seized"
    assert [(s.site, s.vendors, s.strong) for s in market.successors] == [("newmkt", ["Ice_Queen2", "drfeelgood"], 1)]


def test_find_successors_ignores_the_market_itself() -> None:
    vendors = [vendor("a", "Same", "2026-02-01T00:00:00Z"), vendor("a", "Other", "2026-02-01T00:00:00Z")]
    assert find_successors("a", "2026-01-01T00:00:00Z", vendors) == []
