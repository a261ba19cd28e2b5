"""Adapter tables: listing price (a USD amount the page states wins over any rate), price-tier
rows, page rate boxes and the stored origin ("XX" for a stated worldwide/unknown origin).

The rate table is the page's ticker on top of the built-in table, as the crawl builds it for a
vortex page; EUR and GBP (no ticker) come from the built-in table's 2026-01 level."""
from __future__ import annotations

import doctest
from typing import Any

import pytest

import parsers.adapters
from parsers import (
    RateTable,
    listing_price,
    listing_tier,
    offer_quantity,
    page_rate_table,
    parse_quantity,
    parse_shipping,
    tier_fields,
    usd_per_unit,
)
from tests.parsers.tables import grouped

WHEN = "2026-03-02"
TICKER = ["XMR/USD 160.12", "BTC/USD 64,233.10"]  # vortex's header rates, one entry per <li>
RATES = page_rate_table(TICKER, source="vortex")

PRICES = [  # (text, currency hint, amount, currency, usd, rate source)
    "@stated-usd",  # the page states the USD price itself: stored as is, whatever the rate says
    ("0.1234 XMR (USD 19.75)", None, 0.1234, "XMR", 19.75, "page:stated"),
    ("1.6175 XMR (USD 248.53)", None, 1.6175, "XMR", 248.53, "page:stated"),
    ("0.0021 BTC (≈ $85)", None, 0.0021, "BTC", 85.0, "page:stated"),
    ("0.01 BTC ($642.33)", None, 0.01, "BTC", 642.33, "page:stated"),
    ("Purchase price: 2.4646 XMR ≈ USD 380.74", None, 2.4646, "XMR", 380.74, "page:stated"),
    ("60.00 EUR (≈ USD 64.80)", None, 60.0, "EUR", 64.8, "page:stated"),
    "@ticker",  # no USD on the price: the page's own rate box converts
    ("0.1234 XMR", None, 0.1234, "XMR", 19.76, "page:vortex"),
    ("Price: 0.5 XMR", None, 0.5, "XMR", 80.06, "page:vortex"),
    ("0.00123456 BTC", None, 0.00123456, "BTC", 79.3, "page:vortex"),
    ("150 mBTC", None, 0.15, "BTC", 9634.97, "page:vortex"),
    "@usd",  # already USD: the stated amount, whatever else the text shows
    ("$1,234.56", None, 1234.56, "USD", 1234.56, "identity"),
    ("USD 19.75 / 0.1234 XMR", None, 19.75, "USD", 19.75, "identity"),
    ("19.99", "USD", 19.99, "USD", 19.99, "identity"),
    "@table",  # no ticker for the currency: the built-in table at the crawl date
    ("€ 1.189,00", None, 1189.0, "EUR", 1391.13, "table:default:2026-01"),
    ("12,50 €", None, 12.5, "EUR", 14.62, "table:default:2026-01"),
    ("£40.00", None, 40.0, "GBP", 53.2, "table:default:2026-01"),
]


@pytest.mark.parametrize(("text", "hint", "amount", "currency", "usd", "source"), grouped(PRICES))
def test_listing_price(text: str, hint: str | None, amount: float, currency: str, usd: float, source: str) -> None:
    price = listing_price(text, rates=RATES, when=WHEN, currency_hint=hint)
    assert price.raw == text and price.ok and price.error is None and price.usd_error is None
    assert price.to_listing_fields() == {"price_amount": pytest.approx(amount), "price_currency": currency,
                                         "price_usd": usd, "rate_source": source}


def test_stated_usd_beats_the_built_in_table_too() -> None:
    """The issue's example: without a ticker the table's 380 USD/XMR would give 46.89."""
    table_only = page_rate_table([], source="vortex")
    assert listing_price("0.1234 XMR", rates=table_only, when="2026-08-03").usd == 46.89
    stated = listing_price("0.1234 XMR (USD 19.75)", rates=table_only, when="2026-08-03")
    assert (stated.usd, stated.rate_source) == (19.75, "page:stated")


UNPRICED = [  # (text, hint, field with the reason, reason)
    ("ask vendor", None, "error", "no price found"),
    ("250 NOK", None, "usd_error", "no rate for NOK"),  # read, but no rate for NOK anywhere
]


@pytest.mark.parametrize(("text", "hint", "field", "reason"), [pytest.param(*r, id=r[0]) for r in UNPRICED])
def test_listing_price_says_why_a_value_is_missing(text: str, hint: str | None, field: str, reason: str) -> None:
    price = listing_price(text, rates=RATES, when=WHEN, currency_hint=hint)
    assert getattr(price, field) == reason
    assert price.usd is None and price.rate_source is None


TIERS = [  # (row text, quantity, unit, amount, currency, usd, usd per unit, rate source)
    "@testbed",  # vortex bulk rows as the YAML cuts them, and nightshade's
    ("3.5g | 0.1234 XMR", 3.5, "g", 0.1234, "XMR", 19.76, 5.6454, "page:vortex"),
    ("10 x 2mg bars 0.0625 XMR", 10.0, "unit", 0.0625, "XMR", 10.01, 1.0008, "page:vortex"),
    ("1g - $60", 1.0, "g", 60.0, "USD", 60.0, 60.0, "identity"),
    "@stated-usd",
    ("5 g 0.4321 XMR (USD 69.00)", 5.0, "g", 0.4321, "XMR", 69.0, 13.8, "page:stated"),
    "@market-style",
    ("28g  0.0389 BTC", 28.0, "g", 0.0389, "BTC", 2498.67, 89.2381, "page:vortex"),
]


@pytest.mark.parametrize(("text", "qty", "unit", "amount", "currency", "usd", "per_unit", "source"), grouped(TIERS))
def test_listing_tier(text: str, qty: float, unit: str, amount: float, currency: str, usd: float, per_unit: float,
                      source: str) -> None:
    tier = listing_tier(text, rates=RATES, when=WHEN)
    assert tier.raw == text and tier.ok and tier.error is None and tier.rate_source == source
    assert tier_fields(tier) == {"quantity_amount": qty, "quantity_unit": unit, "price_amount": pytest.approx(amount),
                                 "price_currency": currency, "price_usd": usd, "usd_per_unit": per_unit}


@pytest.mark.parametrize(("text", "ok", "reason"), [
    pytest.param("5 g", False, "no price found", id="5 g"),
    pytest.param("0.4321 XMR", False, "no quantity found", id="0.4321 XMR"),
    pytest.param("100 pills 250 NOK", True, "no rate for NOK", id="100 pills 250 NOK"),
])
def test_listing_tier_says_why(text: str, ok: bool, reason: str) -> None:
    tier = listing_tier(text, rates=RATES, when=WHEN)
    assert (tier.ok, tier.error, tier.price_usd) == (ok, reason, None)


RATE_BOXES: list[Any] = [  # (texts of the rate box, currency, USD per unit)
    "@testbed",
    (TICKER, "XMR", 160.12),
    (TICKER, "BTC", 64233.1),
    "@market-style",
    (["1 BTC = 8,512.33 USD"], "BTC", 8512.33),
    ("XMR $142.10", "XMR", 142.1),
]


def _rate_box_cases() -> list[Any]:
    group, cases = "", []
    for row in RATE_BOXES:
        if isinstance(row, str):
            group = row[1:]
            continue
        texts, currency, usd = row
        shown = texts if isinstance(texts, str) else " | ".join(texts)
        cases.append(pytest.param(texts, currency, usd, id=f"{group}: {shown} -> {currency}"))
    return cases


@pytest.mark.parametrize(("texts", "currency", "usd"), _rate_box_cases())
def test_page_rate_table(texts: list[str] | str, currency: str, usd: float) -> None:
    rate = page_rate_table(texts, source="site").rate(currency)
    assert rate is not None and rate[:2] == (usd, "page:site")


def test_page_rate_table_without_rates_is_the_base_table() -> None:
    assert page_rate_table("", source="site").page_rates == {}
    rate = page_rate_table(["no rates today"], source="site").rate("XMR", None)
    assert rate is not None and rate[1].startswith("table:default:")


ORIGINS = [  # (ships-from text, stored origin)
    "@testbed",
    ("Worldwide", "XX"), ("Netherlands", "NL"),
    "@market-style",
    ("World Wide", "XX"), ("Ships from: Germany", "DE"), ("Unknown", "XX"), ("Undeclared", "XX"), ("EU", "XX"),
]


@pytest.mark.parametrize(("text", "origin"), grouped(ORIGINS))
def test_stored_origin(text: str, origin: str) -> None:
    shipping = parse_shipping(text, "Worldwide")
    assert shipping.ok and shipping.to_listing_fields()["origin"] == origin


def test_no_ships_from_stores_no_origin() -> None:
    assert parse_shipping("", "Worldwide").to_listing_fields()["origin"] is None
    assert parse_shipping(None, "Worldwide").to_listing_fields()["origin"] is None


def test_doctest_examples_hold() -> None:
    result = doctest.testmod(parsers.adapters, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


# issue 14, class 10: a unit price buys its own unit, whatever size the title names
UNIT_PRICES = [  # (price cell, title, stored amount, unit, usd per unit)
    "@unit-price",
    ("3.10 USD/gram", "Super Lemon Haze 1 OZ", 1.0, "g", 3.1),
    ("$40/5g", "Golden Teacher shrooms 28g", 5.0, "g", 8.0),
    ("$2.50 each", "Xanax 2mg bars 100 pills", 1.0, "unit", 2.5),
    ("$12 per pill", "Oxy 30mg", 1.0, "unit", 12.0),
    "@plain-price",  # no unit in the price: the title's size stays
    ("$90", "Amnesia 1 OZ", 28.349523, "g", 3.1747),
]


@pytest.mark.parametrize(("cell", "title", "amount", "unit", "per_unit"), grouped(UNIT_PRICES))
def test_unit_price_sets_the_offer_size(cell: str, title: str, amount: float, unit: str, per_unit: float) -> None:
    price = listing_price(cell, rates=RateTable.default())
    qty = offer_quantity(price, parse_quantity(title))
    assert qty is not None and qty.ok
    assert (qty.amount, qty.unit) == (pytest.approx(amount), unit)
    assert usd_per_unit(price.usd, qty) == pytest.approx(per_unit, rel=1e-3)


def test_unit_price_keeps_the_title_strength() -> None:
    qty = offer_quantity(listing_price("$3 each", rates=RateTable.default()), parse_quantity("Xanax 2mg"))
    assert qty is not None and qty.dose_mg == 2.0 and qty.count == 1


def _stage_listing(**fields: Any) -> Any:
    """One listing through the crawl's parse stage, as the pipeline calls it."""
    from core.items import RawListing
    from pipeline.parse import parse_listing

    raw = RawListing(site="testsite", market_kind="darknet", url="http://x.onion/l/1", fields={"native_id": "1", **fields})
    return parse_listing(raw, "2026-03-02T12:00:00Z")


def test_stage_stores_what_the_adapters_decide() -> None:
    # a unit price buys its own unit, not the title's ounce
    listing = _stage_listing(title="Lemon Haze 1 OZ", price="3.10 USD/gram")
    assert (listing.quantity_amount, listing.quantity_unit, listing.usd_per_unit) == (1.0, "g", 3.1)
    # a strength without a count still stores the dose
    listing = _stage_listing(title="Xanax 2mg bars", price="$4")
    assert listing.dose_mg == 2.0 and listing.quantity_amount is None and listing.usd_per_unit is None
    # an unreadable ships-to part keeps the origin that was read
    listing = _stage_listing(title="Speed 5g", price="$20", ships_from="France", ships_to="United States and 43 more")
    assert listing.origin == "FR" and listing.destinations == ["US"]
    # a ships-from cell holding only its label states no origin
    listing = _stage_listing(title="Speed 5g", price="$20", ships_from="From:", ships_to="Worldwide")
    assert listing.origin is None and listing.ships_worldwide


def test_stage_parses_a_repeated_shipping_text_once_and_listings_do_not_share_its_lists() -> None:
    from pipeline.parse import _parse_shipping, _parse_shipping_option

    fields = {"title": "Speed 5g", "price": "$20", "ships_from": "Germany", "ships_to": "EU, Switzerland",
              "shipping_options": ["DHL tracked 3-5 days $12", "Letter 5-7 days +$5"]}
    first = _stage_listing(**fields)
    hits = _parse_shipping.cache_info().hits, _parse_shipping_option.cache_info().hits
    first.destinations.append("XX")
    first.shipping_options[0].cost = 999.0
    second = _stage_listing(**fields)
    assert (_parse_shipping.cache_info().hits, _parse_shipping_option.cache_info().hits) == (hits[0] + 1, hits[1] + 2)
    assert "XX" not in second.destinations and second.destinations == [d for d in first.destinations if d != "XX"]
    assert second.origin == "DE" and "CH" in second.destinations
    assert [o.cost for o in second.shipping_options] == [12.0, 5.0]


@pytest.mark.parametrize("module", ["parsers.shipping", "parsers.places", "parsers.price", "parsers.quantity",
                                    "enrich.identifiers"])
def test_module_doctests_hold(module: str) -> None:
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
