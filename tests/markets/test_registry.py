"""The lifecycle registry without a crawler: run records in, status and alerts out."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.engine.markets import MarketInfo, close_market, get_market, list_markets, run_history, usable_mirrors
from crawler.engine.markets_runs import classify_run, decide, listing_collapse, record_run
from crawler.sitedef.siteconfig import load_site
from tests.markets.conftest import alerts, write_site

A = "http://" + "a" * 56 + ".onion"
B = "http://" + "b" * 56 + ".onion"


def run(n: int, *, ok: bool, status: str = "finished", dead: tuple[str, ...] = (), pages: int = 5,
        listings: int = 30, **raw: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {f"trawl/mirror_unreachable/{m}": 3 for m in dead}
    stats.update(raw)
    record: dict[str, Any] = {"run_id": f"m-{n}", "status": status, "pages": pages if ok else 0,
                              "listings": listings if ok else 0, "unchanged": 0,
                              "mirrors": {A: pages} if ok else {}, "stats": stats}
    if ok:
        stats["downloader/response_status_count/200"] = pages
    else:
        stats["trawl/errors/SocksError"] = 3
        record["status"] = "failed"
        record["failure"] = "every page failed (SocksError=3): is the site, the proxy or the browser down?"
    return record


@pytest.fixture
def site(sites_dir: Path) -> Any:
    write_site(sites_dir, "mkt", [A, B])
    return load_site("mkt")


def test_three_failed_runs_then_back_raise_one_down_and_one_back(site: Any, trawl_home: Path) -> None:
    record_run(site, run(1, ok=True))
    assert get_market("mkt").status == "active"  # type: ignore[union-attr]
    for n in (2, 3):
        move = record_run(site, run(n, ok=False, dead=(A,)))  # one mirror dead, the other answered 5xx: not all dead
        assert move is not None and move.new == "active" and move.alert is None
    move = record_run(site, run(4, ok=False, dead=(A,)))
    assert move is not None and (move.old, move.new, move.alert) == ("active", "down", "market_down")
    record_run(site, run(5, ok=False, dead=(A, B)))  # still down: no second alert
    assert [a["data"]["status"] for a in alerts(trawl_home, "market_down")] == ["down"]
    back = record_run(site, run(6, ok=True))
    assert back is not None and (back.new, back.alert) == ("active", "market_back")
    record_run(site, run(7, ok=True))
    assert len(alerts(trawl_home, "market_back")) == 1
    down = alerts(trawl_home, "market_down")[0]["data"]
    assert down["site"] == "mkt" and "3 failed runs in a row" in down["reason"]
    market = get_market("mkt")
    assert isinstance(market, MarketInfo) and market.status == "active" and market.consecutive_failures == 0
    assert [r.outcome for r in run_history("mkt")][:3] == ["up", "up", "down"]


def test_every_mirror_dead_is_down_at_once(site: Any, trawl_home: Path) -> None:
    record_run(site, run(1, ok=True))
    move = record_run(site, run(2, ok=False, dead=(A, B)))
    assert move is not None and move.new == "down" and "every mirror unreachable" in move.reason
    market = list_markets()[0]
    assert market.mirrors_dead == [A, B] and market.mirrors_alive == []


def test_runs_that_say_nothing_about_the_market_change_nothing(site: Any, trawl_home: Path) -> None:
    record_run(site, run(1, ok=True))
    local = {"run_id": "m-2", "status": "failed", "failure": "local failure: [Errno 28] No space left", "stats": {}}
    for n in range(2, 6):
        record_run(site, {**local, "run_id": f"m-{n}"})
    market = get_market("mkt")
    assert market is not None and market.status == "active" and market.consecutive_failures == 0
    assert alerts(trawl_home) == []


def test_seizure_banner_once_then_back(site: Any, trawl_home: Path) -> None:
    seized = run(1, ok=True, status="market_seized", **{"trawl/market/seized": "THIS HIDDEN SITE HAS BEEN SEIZED"})
    assert classify_run(seized, site.mirrors).kind == "seized"
    record_run(site, seized)
    record_run(site, {**seized, "run_id": "m-2"})
    record_run(site, run(3, ok=False, dead=(A, B)))  # a seized market going dark is no news
    assert get_market("mkt").status == "seized"  # type: ignore[union-attr]
    assert len(alerts(trawl_home, "market_seized")) == 1 and alerts(trawl_home, "market_down") == []


def test_exit_scam_from_banner_and_from_listing_collapse(site: Any, trawl_home: Path) -> None:
    for n in (1, 2, 3):
        record_run(site, run(n, ok=True, listings=120))
    record_run(site, run(4, ok=True, listings=10))
    market = get_market("mkt")
    assert market is not None and market.status == "exit_scam" and "collapsed: 10 seen, usually 120" in market.reason
    record_run(site, run(5, ok=True, listings=118))
    assert get_market("mkt").status == "active"  # type: ignore[union-attr]
    record_run(site, run(6, ok=True, **{"trawl/market/exit_scam": "Withdrawals are temporarily disabled"}))
    assert get_market("mkt").status == "exit_scam"  # type: ignore[union-attr]


def test_decide_and_collapse_are_pure() -> None:
    outcome = classify_run(run(1, ok=False, dead=(A,)), (A, B))
    assert outcome.kind == "down" and not outcome.all_dead
    assert decide("active", 1, outcome, down_after=2).new == "down"
    assert decide("active", 0, outcome, down_after=2).new == "active"
    assert decide("closed", 5, outcome, down_after=2).new == "closed"
    assert listing_collapse(5, [100, 90, 110]) and not listing_collapse(50, [100, 90, 110])
    assert not listing_collapse(1, [10, 12])  # too small a market to judge


def test_closed_market_reopens_with_one_back_alert(site: Any, trawl_home: Path) -> None:
    record_run(site, run(1, ok=True))
    close_market("mkt", "retired by its admins")
    assert get_market("mkt").status == "closed"  # type: ignore[union-attr]
    record_run(site, run(2, ok=True))
    assert get_market("mkt").status == "active"  # type: ignore[union-attr]
    assert [a["data"]["previous_status"] for a in alerts(trawl_home, "market_back")] == ["closed"]


def test_clone_flag_removes_a_yaml_mirror_from_crawls(site: Any, trawl_home: Path) -> None:
    from crawler.engine.markets import connect, put_mirror

    assert usable_mirrors("mkt", site.mirrors) == (A, B)  # no registry yet: the YAML's
    record_run(site, run(1, ok=True))
    with connect(write=True) as db:
        put_mirror(db, "mkt", B, source="candidate", state="clone", reason="other key")
        put_mirror(db, "mkt", "http://" + "c" * 56 + ".onion", source="signed-list", state="verified")
    assert usable_mirrors("mkt", site.mirrors) == (A, "http://" + "c" * 56 + ".onion")
