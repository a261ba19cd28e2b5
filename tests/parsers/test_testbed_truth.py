"""Parsers against the testbed's ground truth: every quantity, tier, shipping option and
ships-to text the synthetic sites display, over several seeds (skips if testbed is absent)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from parsers import parse_price, parse_quantity, parse_shipping, parse_shipping_option

catalogue_mod = pytest.importorskip("testbed.catalogue", reason="testbed package not importable")
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def listings() -> list[dict[str, Any]]:
    out = []
    for seed in SEEDS:
        cat = catalogue_mod.catalogue(seed, 0)
        for site, items in cat.listings.items():
            out += [{**item, "_site": site} for item in items]
    assert len(out) > 300
    return out


def _same_amount(got: float | None, want: float) -> bool:
    return got is not None and abs(got - want) <= 1e-3 * max(1.0, want)


def test_every_tier_quantity_matches_truth(listings: list[dict[str, Any]]) -> None:
    wrong = []
    tiers = [t for item in listings if item["substance"] for t in item["price_tiers"]]
    for t in tiers:
        q = parse_quantity(t["text"])
        dose_ok = t.get("dose_mg") is None or not re.search(r"mg|ug", t["text"]) or q.dose_mg == pytest.approx(t["dose_mg"])
        if not (q.ok and _same_amount(q.amount, t["quantity_amount"]) and q.unit == t["quantity_unit"] and dose_ok):
            wrong.append((t["text"], q.amount, q.unit, q.dose_mg))
    assert len(tiers) > 1000 and wrong == []


def test_every_darknet_title_gives_the_first_tier(listings: list[dict[str, Any]]) -> None:
    titles = [i for i in listings if i["_site"] in ("nightshade", "vortex") and i["substance"]]
    wrong = []
    for item in titles:
        q, first = parse_quantity(item["title"]), item["price_tiers"][0]
        if not (q.ok and _same_amount(q.amount, first["quantity_amount"]) and q.unit == first["quantity_unit"]):
            wrong.append((item["title"], q.amount, q.unit, q.error))
    assert len(titles) > 250 and wrong == []


def test_every_shipping_option_matches_truth(listings: list[dict[str, Any]]) -> None:
    wrong = []
    options = [o for item in listings for o in item["shipping_options"]]
    for o in options:
        r = parse_shipping_option(o["text"])
        # clear-web truth keeps "(2-5 days)" in the method name; the parsed method is its prefix
        if not (r.ok and (r.days_min, r.days_max) == (o["days_min"], o["days_max"]) and r.cost == pytest.approx(o["cost"])
                and r.method and o["method"].startswith(r.method)):
            wrong.append((o["text"], r.method, r.cost, r.days_min, r.days_max))
    assert len(options) > 1000 and wrong == []


def test_every_origin_and_ships_to_matches_truth(listings: list[dict[str, Any]]) -> None:
    wrong = []
    for item in listings:
        s = parse_shipping(item.get("origin_name") or item["origin"], item["ships_to_text"])
        # stored form: a stated worldwide origin is the model's "XX" (one listing per darknet site)
        got = (s.to_listing_fields()["origin"], s.destinations, s.ships_worldwide, s.destinations_excluded)
        want = (item["origin"], sorted(item["destinations"]), item["ships_worldwide"], sorted(item["destinations_excluded"]))
        if got != want:
            wrong.append((item["ships_to_text"], got, want))
    assert wrong == []


def test_displayed_prices_match_truth(listings: list[dict[str, Any]]) -> None:
    """Prices as the sites render them (USD "$1,234.56", XMR "0.1234 XMR", EUR "€ 1.189,00")."""
    from testbed.catalogue import eur_european, usd

    checked = 0
    for item in listings:
        for t in item["price_tiers"]:
            if item["_site"] == "nightshade":
                text, want, cur = usd(t["price_usd"]), t["price_usd"], "USD"
            elif item["_site"] == "vortex" and "price_xmr" in t:
                text, want, cur = f"{t['price_xmr']:.4f} XMR", round(t["price_xmr"], 4), "XMR"
            elif item["_site"] == "pillhub":
                text, want, cur = eur_european(t["price_amount"]), t["price_amount"], "EUR"
            else:
                continue
            p = parse_price(text, site_locale="de" if cur == "EUR" else None)
            assert (p.amount, p.currency) == (pytest.approx(want, abs=0.006), cur), text
            checked += 1
    assert checked > 500


def test_escrow_labels_as_the_markets_print_them_match_truth(listings: list[dict[str, Any]]) -> None:
    from parsers import parse_escrow

    darknet = [i for i in listings if i["_site"] in ("nightshade", "vortex")]
    for item in darknet:
        escrow, fe = item["escrow"], item["finalize_early"]
        if item["_site"] == "vortex":  # one "Payment" cell
            label = "Escrow / FE allowed" if escrow and fe else "Escrow" if escrow else "FE (100% finalize early)"
            r = parse_escrow(label)
            assert r.escrow is escrow and r.finalize_early in ((True,) if fe else (None, False)), label
        else:  # two Yes/No fields
            assert parse_escrow(f"Escrow {'Yes' if escrow else 'No'}").escrow is escrow
            assert parse_escrow(f"Finalize early {'Yes' if fe else 'No'}").finalize_early is fe
    assert len(darknet) > 250


def test_vendor_join_dates_and_relative_listing_dates_match_truth() -> None:
    from datetime import date, datetime, timedelta, timezone

    from parsers import parse_date
    from testbed.generator import EPOCH
    from testbed.sites.vortex import relative_date

    crawl = datetime.combine(date.fromisoformat(str(EPOCH)), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=12)
    checked = 0
    for seed in SEEDS:
        cat = catalogue_mod.catalogue(seed, 0)
        for site in ("nightshade", "vortex"):
            for vendor in cat.vendors[site]:
                joined = date.fromisoformat(vendor["joined"])
                for text in (joined.strftime("%d/%m/%Y"), joined.strftime("%B %d, %Y")):  # nightshade, vortex
                    d = parse_date(text, now=crawl)
                    assert d.ok and d.value.date() == joined, text
                    checked += 1
    for days in range(0, 120):
        d = parse_date(relative_date(days), now=crawl)
        assert d.ok and d.relative
        # vortex rounds to weeks / months; the parsed date must lie within that rounding
        tolerance = 0 if days < 14 else 7 if days < 60 else 31
        assert abs((crawl.date() - d.value.date()).days - days) <= tolerance, relative_date(days)
    assert checked > 50
