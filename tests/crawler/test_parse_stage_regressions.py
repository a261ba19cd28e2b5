"""Two parse-stage bugs (issue 13), each through the real pipeline: `trawl crawl vortex` (spider,
onion gateway, evidence, parse, enrich, store) against the testbed, then the SQLite index read.

1. A USD price the page states ("1.6175 XMR (USD 248.53)") was dropped for the rate conversion.
2. A listing shipping from "Worldwide" was stored without an origin instead of "XX".

The crawl uses the shipped vortex YAML (same field selectors); only its navigation is narrowed
to the two listings (start at their vendors' pages, follow just their links), so it takes
seconds instead of the whole site.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.crawler.conftest import REPO, crawl_env, trawl

CLOCK = "2026-03-02T12:00:00Z"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from index.api import SearchQuery
    from index.sqlite_backend import SqliteBackend
    from testbed.catalogue import catalogue
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        shown = catalogue(tb.seed, tb.day)
        stated = [i for i in shown.listings["vortex"] if i["usd_pegged"]]
        worldwide = [i for i in shown.listings["vortex"] if i["origin"] == "XX"]
        assert len(stated) == 1 and len(worldwide) == 1, "the testbed shows one of each on vortex"
        truth = {t["native_id"]: t for t in tb.truth("vortex")}

        site = yaml.safe_load((REPO / "crawler" / "sites" / "vortex.yaml").read_text(encoding="utf-8"))
        # start at the two vendors' pages (their listing tables) and follow only the two listings
        site["start_urls"] = sorted({stated[0]["vendor_url"], worldwide[0]["vendor_url"]})
        site["navigation"] = {"listing_links": [f'tr.listingRow[data-id="{i["native_id"]}"] td.lt-title a::attr(href)'
                                                for i in (stated[0], worldwide[0])]}
        site["throttle"] = {**site["throttle"], "delay": 0}
        sites = tmp_path_factory.mktemp("sites")
        (sites / "vortex.yaml").write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
        home = tmp_path_factory.mktemp("home")
        env = crawl_env(home, {**tb.env(), "TRAWL_SITES_DIR": str(sites)})
        run = trawl(["crawl", "vortex", "--json", "--clock", CLOCK], env, timeout=120)
        assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-3000:]}"
        summary = json.loads(run.stdout.strip().splitlines()[-1])

    backend = SqliteBackend(Path(home) / "index.sqlite")
    try:
        listings = {x.listing_id: x for x in backend.iter_listings(SearchQuery(site="vortex", limit=100))}
        snapshots = {s.listing_id: s for s in backend.iter_snapshots()}
    finally:
        backend.close()
    return {"stated": stated[0], "worldwide": worldwide[0], "truth": truth, "rates": shown.rates,
            "listings": listings, "snapshots": snapshots, "summary": summary}


def test_only_the_two_listings_were_crawled(crawled: dict[str, Any]) -> None:
    assert sorted(crawled["listings"]) == sorted(f"vortex:{crawled[k]['native_id']}" for k in ("stated", "worldwide"))


def test_price_the_page_states_in_usd_is_stored_not_the_rate_conversion(crawled: dict[str, Any]) -> None:
    item = crawled["stated"]
    truth = crawled["truth"][item["native_id"]]
    stored = crawled["listings"][f"vortex:{item['native_id']}"]
    # the XMR amount is what the buyer pays; the page's own USD figure is the price in USD
    assert (stored.price_amount, stored.price_currency) == (truth["price_amount"], "XMR")
    assert stored.price_usd == truth["price_usd"] == item["price_usd"]
    assert stored.rate_source == "page:stated"
    # what the bug stored: the XMR amount converted at the page's ticker rate (4% off here)
    converted = round(item["price_xmr"] * crawled["rates"].xmr_usd, 2)
    assert abs(converted - stored.price_usd) > 1.0, (converted, stored.price_usd)
    assert stored.usd_per_unit == round(truth["price_usd"] / truth["quantity_amount"], 4)
    assert not [e for e in stored.parse_errors if e.startswith("price")], stored.parse_errors
    assert crawled["snapshots"][stored.listing_id].price_usd == truth["price_usd"]


def test_listing_without_a_stated_usd_price_still_uses_the_page_ticker(crawled: dict[str, Any]) -> None:
    item = crawled["worldwide"]
    stored = crawled["listings"][f"vortex:{item['native_id']}"]
    assert stored.rate_source == "page:vortex"
    assert stored.price_usd == crawled["truth"][item["native_id"]]["price_usd"]


def test_worldwide_origin_is_stored_as_xx(crawled: dict[str, Any]) -> None:
    item = crawled["worldwide"]
    assert item["origin_name"] == "Worldwide" and crawled["truth"][item["native_id"]]["origin"] == "XX"
    stored = crawled["listings"][f"vortex:{item['native_id']}"]
    assert stored.origin == "XX"
    assert crawled["snapshots"][stored.listing_id].origin == "XX"
    assert not [e for e in stored.parse_errors if e.startswith("ships")], stored.parse_errors
    # the control: a listing with a country of origin keeps its ISO code
    other = crawled["stated"]
    assert crawled["listings"][f"vortex:{other['native_id']}"].origin == other["origin"] != "XX"
