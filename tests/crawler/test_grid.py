"""Grid pages: a category page's cards are read as listings (crawler/sitedef/pages/grid.py),
`follow_listings` decides which listing pages are fetched, and a card and its page merge
(the page's values win, `field_sources` tells which came from where).  Against the
testbed's pillhub "quick order" grid (testbed/sites/pillhub_grid.py) and its ground truth."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.catalogue import catalogue
from testbed.sites.pillhub_grid import grid_truth
from tests.crawler.conftest import REPO, crawl_env, trawl

SHIPPED = (REPO / "crawler" / "sites" / "pillhub-grid.yaml").read_text()
TRUTH = {card["native_id"]: card for card in grid_truth(catalogue(1, 0))}


@pytest.fixture(scope="module")
def quiet_testbed() -> Iterator[Any]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        yield tb


def site_env(tb: Any, tmp_path: Path, follow: str) -> dict[str, str]:
    sites = tmp_path / "sites"
    sites.mkdir(exist_ok=True)
    (sites / "pillhub-grid.yaml").write_text(SHIPPED.replace("follow_listings: new", f"follow_listings: {follow}"))
    return crawl_env(tmp_path / "home", {**tb.env(), "TRAWL_SITES_DIR": str(sites)})


def crawl(tb: Any, env: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Run stats and the paths the crawl asked the testbed for."""
    start = len(tb.request_log)
    run = trawl(["crawl", "pillhub-grid", "--json"], env)
    assert run.returncode == 0, run.stderr[-3000:]
    paths = [path for site, _, path, _ in tb.request_log[start:] if site == "pillhub"]
    return json.loads(run.stdout.strip().splitlines()[-1]), paths


def stored(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    export = trawl(["export", "listings", "--site", "pillhub-grid", "--format", "jsonl", "--out", "-"], env)
    assert export.returncode == 0, export.stderr[-2000:]
    rows = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    return {row["listing_id"].split(":", 1)[1]: row for row in rows}


def test_truth_has_several_pages_of_cards() -> None:
    assert len(TRUTH) >= 10 and any("badge" in c["extra"] for c in TRUTH.values())


def test_sites_test_shows_every_card(quiet_testbed: Any, tmp_path: Path) -> None:
    env = site_env(quiet_testbed, tmp_path, "never")
    category = max({c["category"] for c in TRUTH.values()}, key=lambda s: sum(c["category"] == s for c in TRUTH.values()))
    expected = [c for c in grid_truth(catalogue(1, 0)) if c["category"] == category][:4]
    yaml = str(tmp_path / "sites" / "pillhub-grid.yaml")
    shown = trawl(["sites", "test", yaml, f"/grid/{category}", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["kind"] == "grid" and len(report["cards"]) == len(expected) >= 2
    for card, truth in zip(report["cards"], expected, strict=True):
        fields = card["fields"]
        assert fields["native_id"] == truth["native_id"] and fields["title"] == truth["title"]
        assert float(fields["price"]) == truth["price_usd"] and fields["currency"] == "USD"
        assert fields["sold_count"] == f"{truth['sold_count']:,} sold" and fields["extra"] == truth["extra"]
        assert card["link"].endswith(truth["url"]) and card["missing"] == []
    text = trawl(["sites", "test", yaml, f"/grid/{category}"], env).stdout
    assert f"grid page: {len(expected)} card(s)" in text
    assert all(f"id {c['native_id']} ->" in text for c in expected)


def test_follow_never_stores_every_card_without_listing_pages(quiet_testbed: Any, tmp_path: Path) -> None:
    env = site_env(quiet_testbed, tmp_path, "never")
    stats, paths = crawl(quiet_testbed, env)
    assert not [p for p in paths if p.startswith("/product/")]
    assert stats["listings"] == len(TRUTH)
    rows = stored(env)
    assert sorted(rows) == sorted(TRUTH)
    for native, truth in TRUTH.items():
        row = rows[native]
        assert row["title"] == truth["title"] and row["price_amount"] == truth["price_usd"]
        assert row["price_currency"] == "USD" and row["price_usd"] == truth["price_usd"]
        assert (row["sold_count"], row["views"], row["stock"]) == (truth["sold_count"], truth["views"], truth["stock"])
        assert row["extra"] == truth["extra"] and row["description"] == ""
        assert set(row["field_sources"].values()) == {"card"}


def test_follow_always_merges_card_and_page(quiet_testbed: Any, tmp_path: Path) -> None:
    env = site_env(quiet_testbed, tmp_path, "always")
    stats, paths = crawl(quiet_testbed, env)
    products = [p for p in paths if p.startswith("/product/")]
    assert len(products) == len(set(products)) == len(TRUTH)  # each listing page once
    assert stats["listings"] == len(TRUTH)
    for native, row in stored(env).items():
        truth = TRUTH[native]
        sources = row["field_sources"]
        # the page's values win (EUR price, its title), the card adds what the page lacks
        assert row["price_currency"] == "EUR" and sources["price"] == sources["title"] == "page"
        assert row["description"] and sources["description"] == "page"
        assert (row["sold_count"], row["views"]) == (truth["sold_count"], truth["views"])
        assert sources["sold_count"] == sources["views"] == sources["extra"] == "card" and row["extra"] == truth["extra"]


def test_new_then_changed_fetch_pages_only_when_needed(quiet_testbed: Any, tmp_path: Path) -> None:
    env = site_env(quiet_testbed, tmp_path, "new")
    _, first = crawl(quiet_testbed, env)
    assert len([p for p in first if p.startswith("/product/")]) == len(TRUTH)  # all new
    (tmp_path / "sites" / "pillhub-grid.yaml").write_text(SHIPPED.replace("follow_listings: new", "follow_listings: changed"))
    stats, second = crawl(quiet_testbed, env)
    assert not [p for p in second if p.startswith("/product/")]  # no card changed: no listing page
    assert stats["listings"] == len(TRUTH)
    for native, row in stored(env).items():
        # the card is current; what only the page showed is kept from the first crawl
        assert row["description"] and row["field_sources"]["description"].startswith("page@")
        assert row["field_sources"]["sold_count"] == "card" and row["sold_count"] == TRUTH[native]["sold_count"]


@pytest.mark.parametrize(("change", "expected"), [
    (("  items: \"div.card\"\n", ""), "grid: missing required key 'items'"),
    (("follow_listings: new", "follow_listings: sometimes"), "follow_listings: must be one of always, new, changed, never"),
    (("    native_id: \"xpath:@data-sku\"          # the card element's own attribute\n", ""),
     "grid: a card needs an id"),
    (("    currency: {default: USD}", "    currency: {default: [USD]}"), "grid.fields.currency: default: expected a literal"),
    (("    badge: \"span.badge\"", "    Badge: \"span.badge\""), "grid.extra.Badge: extra names are lowercase"),
])
def test_grid_yaml_errors_name_file_line_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in SHIPPED
    bad = tmp_path / "pillhub-grid.yaml"
    bad.write_text(SHIPPED.replace(*change))
    check = trawl(["sites", "check", str(bad)], crawl_env(tmp_path / "home"))
    assert check.returncode == 2, check.stdout
    assert f"{bad}:" in check.stderr and expected in check.stderr, check.stderr


# two testbed days (~18 s): `make test-slow`; the default suite keeps `new` then `changed`
# within one day (test_new_then_changed_fetch_pages_only_when_needed)
@pytest.mark.slow
def test_changed_follows_only_cards_that_changed(tmp_path: Path) -> None:
    """Day 0 with `new` reads every page; on day 1 `changed` fetches the pages of the new
    cards and of the cards that show something else (testbed prices move), and no other."""
    from testbed.server import run_testbed

    shown = ("title", "url", "price_usd", "sold_count", "views", "stock", "extra")
    day0 = {c["native_id"]: c for c in grid_truth(catalogue(1, 0))}
    day1 = {c["native_id"]: c for c in grid_truth(catalogue(1, 1))}
    expected = {native for native, card in day1.items()
                if native not in day0 or any(card[k] != day0[native][k] for k in shown)}
    assert 0 < len(expected) < len(day1)
    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as tb:
        env = site_env(tb, tmp_path, "new")
        crawl(tb, env)
        tb.set_day(1)
        (tmp_path / "sites" / "pillhub-grid.yaml").write_text(SHIPPED.replace("follow_listings: new", "follow_listings: changed"))
        _, paths = crawl(tb, env)
    fetched = {p.removeprefix("/product/") for p in paths if p.startswith("/product/")}
    assert fetched == {day1[native]["url"].removeprefix("/product/") for native in expected}
    rows = stored(env)
    for native in day1:
        # a refetched page is merged again ("page"); the others keep the day-0 page's fields ("page@...")
        source = rows[native]["field_sources"]["description"]
        assert source == "page" if native in expected else source.startswith("page@"), (native, source)
