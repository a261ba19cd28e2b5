"""Real loopback crawls of a testbed market through its onion gateway: switched off and
on, seized, exit-scamming, and imitated by a clone onion with another PGP key."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import TrawlError
from tests.crawler.conftest import CrawlRun, crawl_env, trawl
from tests.markets.conftest import alerts, write_site

SITE = "vlife"
slow = pytest.mark.slow  # each crawl is a subprocess of ~10-25 s on a busy 2-core machine


@pytest.fixture(scope="module")
def testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


@pytest.fixture
def market(testbed: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A small vortex site (its primary onion only) with the market key and key page."""
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "vortex-market.asc").write_text(testbed.market_key("vortex"), encoding="utf-8")
    write_site(sites, SITE, [testbed.sites["vortex"].base_url], market=(
        "market:\n  pgp_key: vortex-market.asc\n"
        "  key_page: {url: /market-pgp, select: 'pre.market-pgp::text'}\n"))
    home = tmp_path / "home"
    env = crawl_env(home, {**testbed.env(), "TRAWL_SITES_DIR": str(sites)})
    yield {"home": home, "env": env}
    testbed.set_market("vortex", "on")


def crawl(market: dict[str, Any], *extra: str) -> CrawlRun:
    return trawl(["crawl", SITE, "--json", *extra], market["env"], timeout=120)


def registry(market: dict[str, Any]) -> dict[str, Any]:
    run = trawl(["markets", "--json"], market["env"])
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert [m["site"] for m in found] == [SITE]
    return found[0]  # type: ignore[no-any-return]


@slow
def test_market_off_for_three_runs_then_on(testbed: Any, market: dict[str, Any]) -> None:
    testbed.set_market("vortex", "off")
    for _ in range(3):
        off = crawl(market)
        assert off.returncode == 4, off.stderr[-2000:]  # every page failed
        assert registry(market)["status"] == "down"
    down = alerts(market["home"], "market_down")
    assert len(down) == 1 and down[0]["data"]["site"] == SITE and down[0]["data"]["status"] == "down"
    assert "every mirror unreachable" in down[0]["data"]["reason"]
    testbed.set_market("vortex", "on")
    again = crawl(market)
    assert again.returncode == 0, again.stderr[-2000:]
    state = registry(market)
    assert state["status"] == "active" and state["mirrors_alive"] == [testbed.sites["vortex"].base_url.rstrip("/")]
    assert len(alerts(market["home"], "market_back")) == 1 and len(alerts(market["home"], "market_down")) == 1
    show = trawl(["markets", "show", SITE], market["env"])
    assert show.returncode == 0 and "down -> active" in show.stdout and "unknown -> down" in show.stdout


@slow
def test_seizure_banner_stops_the_crawl_once(testbed: Any, market: dict[str, Any]) -> None:
    testbed.set_market("vortex", "seized")
    before = testbed.request_counters.get("vortex:200", 0)
    seized = crawl(market)
    assert seized.returncode == 4, seized.stderr[-2000:]
    assert json.loads(seized.stdout.strip().splitlines()[-1])["status"] == "market_seized"
    assert testbed.request_counters.get("vortex:200", 0) - before <= 2  # stopped at the banner, not crawled on
    state = registry(market)
    assert state["status"] == "seized" and "HAS BEEN SEIZED" in state["reason"]
    seizures = alerts(market["home"], "market_seized")
    assert len(seizures) == 1 and seizures[0]["data"]["status"] == "seized"
    assert alerts(market["home"], "market_down") == []


@slow
def test_withdrawals_disabled_banner_is_exit_scam_suspected(testbed: Any, market: dict[str, Any]) -> None:
    testbed.set_market("vortex", "exit_scam")
    run = crawl(market)
    assert run.returncode == 0, run.stderr[-2000:]
    state = registry(market)
    assert state["status"] == "exit_scam" and "Withdrawals are temporarily disabled" in state["reason"]


def test_clone_onion_is_flagged_and_a_genuine_mirror_verified(testbed: Any, market: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, through the SOCKS gateway: no crawl needed to judge a candidate."""
    from crawler.engine.markets import get_market, usable_mirrors
    from crawler.engine.markets_mirrors import check_candidate
    from crawler.sitedef.siteconfig import load_site

    for name, value in market["env"].items():
        if name.startswith("TRAWL_"):
            monkeypatch.setenv(name, value)
    site = load_site(SITE)
    clone = testbed.add_clone("vortex").rstrip("/")
    genuine = testbed.sites["vortex"].mirrors[0].rstrip("/")  # a real mirror the YAML does not list
    result = check_candidate(site, clone)
    assert result.state == "clone" and result.reason.startswith("serves PGP key ")
    assert check_candidate(site, clone).state == "clone"  # still a clone, no second alert
    assert check_candidate(site, genuine).state == "verified"
    clones = alerts(market["home"], "market_clone")
    assert len(clones) == 1 and clones[0]["data"]["mirror"] == clone and clones[0]["data"]["status"] == "clone"
    assert clones[0]["data"]["site"] == SITE and clones[0]["data"]["event"] == "clone_mirror"
    assert usable_mirrors(SITE, site.mirrors) == (testbed.sites["vortex"].base_url.rstrip("/"), genuine)
    state = get_market(SITE)
    assert state is not None and {m.url: m.state for m in state.mirrors} == {clone: "clone", genuine: "verified"}


@slow
def test_clone_onion_is_never_crawled(testbed: Any, market: dict[str, Any]) -> None:
    clone = testbed.add_clone("vortex").rstrip("/")
    genuine = testbed.sites["vortex"].mirrors[0].rstrip("/")
    check = trawl(["markets", "mirrors", "check", SITE, clone], market["env"])
    assert check.returncode == 1 and "clone (serves PGP key" in check.stdout, check.stderr
    ok = trawl(["markets", "mirrors", "check", SITE, genuine], market["env"])
    assert ok.returncode == 0 and "verified" in ok.stdout, ok.stdout + ok.stderr
    # the primary is down: the crawl must rotate to the verified mirror, never to the clone
    primary = testbed.sites["vortex"].base_url
    testbed.set_mirror_down(primary)
    try:
        seen = len(testbed.gateway_log)
        run = crawl(market)
    finally:
        testbed.set_mirror_down(primary, down=False)
    assert run.returncode == 0, run.stderr[-2000:]
    hosts = {record.host for record in testbed.gateway_log[seen:]}
    assert clone.removeprefix("http://") not in hosts and genuine.removeprefix("http://") in hosts
    mirrors = {m["url"]: m["state"] for m in registry(market)["mirrors"]}
    assert mirrors[clone] == "clone" and mirrors[genuine] == "verified"
    assert len(alerts(market["home"], "market_clone")) == 1


def test_testbed_switches_serve_banners_and_a_signed_mirror_list(testbed: Any, market: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The switches as a client through the gateway sees them (fast: no crawl)."""
    from crawler.engine.markets_banners import detect_banner
    from crawler.engine.markets_mirrors import fetch_page, verify_signed_list
    from crawler.sitedef.siteconfig import load_site

    for name, value in market["env"].items():
        if name.startswith("TRAWL_"):
            monkeypatch.setenv(name, value)
    site = load_site(SITE)
    base = testbed.sites["vortex"].base_url.rstrip("/")
    onions, why = verify_signed_list(site, fetch_page(site, base + "/mirrors.txt"))
    assert why == "" and onions == [base] + [m.rstrip("/") for m in testbed.sites["vortex"].mirrors]
    testbed.set_market("vortex", "seized")
    banner = detect_banner(site.market, text=fetch_page(site, base + "/c/stimulants"))
    assert banner is not None and banner.kind == "seized"
    testbed.set_market("vortex", "exit_scam")
    banner = detect_banner(site.market, text=fetch_page(site, base + "/"))
    assert banner is not None and banner.kind == "exit_scam"
    testbed.set_market("vortex", "error")
    with pytest.raises(TrawlError, match="503"):
        fetch_page(site, base + "/")
    testbed.set_market("vortex", "off")
    with pytest.raises(TrawlError, match="unreachable"):
        fetch_page(site, base + "/")
    testbed.set_market("vortex", "on")
    assert "Withdrawals" not in fetch_page(site, base + "/")
