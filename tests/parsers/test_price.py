"""Price tables: (text, amount, currency, [(equivalent amount, currency), ...]) by source."""
from __future__ import annotations

from typing import Any

import pytest

from parsers import RateTable, parse_price, parse_price_tiers, parse_quantity, price_per_unit
from tests.parsers.tables import grouped

NIGHTSHADE: list[tuple[Any, ...]] = [  # USD first, BTC/XMR in brackets
    ("$85.40", 85.40, "USD", []),
    ("$1,189.00", 1189.0, "USD", []),
    ("$12.39 (0.00013212 BTC)", 12.39, "USD", [(0.00013212, "BTC")]),
    ("$2,057.48 (0.02194000 BTC / 13.1420 XMR)", 2057.48, "USD", [(0.02194, "BTC"), (13.142, "XMR")]),
    ("+$5.00", 5.0, "USD", []),
    ("$0.00", 0.0, "USD", []),
    ("US$ 406.00", 406.0, "USD", []),
]
VORTEX: list[tuple[Any, ...]] = [  # XMR first, USD secondary
    ("1.0485 XMR", 1.0485, "XMR", []),
    ("0.1898 XMR USD 28.44", 0.1898, "XMR", [(28.44, "USD")]),
    ("2.5475 XMR ≈ USD 382.10 / 0.004012 BTC", 2.5475, "XMR", [(382.10, "USD"), (0.004012, "BTC")]),
    ("XMR 0.45", 0.45, "XMR", []),
    ("ɱ 3.20", 3.20, "XMR", []),
    ("6.2504 XMR", 6.2504, "XMR", []),
]
RCSHOP: list[tuple[Any, ...]] = [  # EUR, JSON API numbers and European display
    ("14,04 €", 14.04, "EUR", []),
    ("€14.04", 14.04, "EUR", []),
    ("ab 12,54 €", 12.54, "EUR", []),
    ("+€7.50", 7.50, "EUR", []),
    ("EUR 119.90", 119.90, "EUR", []),
    ("1.234,50 €", 1234.50, "EUR", []),
]
CHEMTRADE: list[tuple[Any, ...]] = [  # B2B, US$ with per-kg prices
    ("US$ 406.00 / kg", 406.0, "USD", []),
    ("US$ 3,654.00", 3654.0, "USD", []),
    ("US$ 40,600.00", 40600.0, "USD", []),
    ("USD 1,200 per kg", 1200.0, "USD", []),
    ("Price: 842 USD/kg", 842.0, "USD", []),
]
PILLHUB: list[tuple[Any, ...]] = [  # European format EUR
    ("€ 189,00", 189.0, "EUR", []),
    ("€ 1.189,00", 1189.0, "EUR", []),
    ("from € 278,00", 278.0, "EUR", []),
    ("€ 3,09 per pill", 3.09, "EUR", []),
    ("+€15.00", 15.0, "EUR", []),
    ("€ 12.345,67", 12345.67, "EUR", []),
]
DREAM: list[tuple[Any, ...]] = [  # real Dream Market price cells (early 2018)
    ("$50.96", 50.96, "USD", []),
    ("฿0.000787 (€7.28)", 0.000787, "BTC", [(7.28, "EUR")]),
    ("฿0.000272 ($3.1096000000000004)", 0.000272, "BTC", [(3.1096, "USD")]),
    ("฿0.00271", 0.00271, "BTC", []),
    ("฿0.00387 ($41.6)", 0.00387, "BTC", [(41.6, "USD")]),
    ("฿0.01408 (€124.80000000000001)", 0.01408, "BTC", [(124.8, "EUR")]),
    ("$25", 25.0, "USD", []),
    ("฿0.00214", 0.00214, "BTC", []),
    ("฿0.00251 ($27)", 0.00251, "BTC", [(27.0, "USD")]),
    ("฿0.00344 ($37)", 0.00344, "BTC", [(37.0, "USD")]),
    ("฿0.00 ($0)", 0.0, "BTC", [(0.0, "USD")]),
    ("☢100 PILLS X Soma 350mg $49☢", 49.0, "USD", []),
]
EMPIRE: list[tuple[Any, ...]] = [  # real Empire Market price lines (2019)
    ("USD 2.00", 2.0, "USD", []),
    ("USD 1,106.71", 1106.71, "USD", []),
    ("USD 9,478.97", 9478.97, "USD", []),
    ("USD 200.00", 200.0, "USD", []),
    ("0.000213 BTC / 0.031343 XMR", 0.000213, "BTC", [(0.031343, "XMR")]),
    ("0.005749 BTC / 0.848923 LTC / 0.846262 XMR", 0.005749, "BTC", [(0.848923, "LTC"), (0.846262, "XMR")]),
    ("USD 1.30 0.00013823 BTC", 1.30, "USD", [(0.00013823, "BTC")]),
    ("0.00008506 BTC", 0.00008506, "BTC", []),
    ("0.015864 BTC", 0.015864, "BTC", []),
    ("USD + 5.00 / order", 5.0, "USD", []),
    ("EUR + 9.50 / item", 9.50, "EUR", []),
]
PUBLISHED: list[tuple[Any, ...]] = [  # forms from the issue
    ("85,40 €", 85.40, "EUR", []),
    ("0.0021 BTC (≈ $85)", 0.0021, "BTC", [(85.0, "USD")]),
    ("£1,250", 1250.0, "GBP", []),
    ("£ 45", 45.0, "GBP", []),
    ("45 GBP", 45.0, "GBP", []),
    ("AU$ 120", 120.0, "AUD", []),
    ("A$350.00", 350.0, "AUD", []),
    ("120 AUD", 120.0, "AUD", []),
    ("C$ 99.99", 99.99, "CAD", []),
    ("CAD 150", 150.0, "CAD", []),
    ("CHF 80.-", 80.0, "CHF", []),
    ("450 SEK", 450.0, "SEK", []),
    ("450 kr", 450.0, "SEK", []),
    ("1 234,50 zł", 1234.50, "PLN", []),
    ("PLN 99,99", 99.99, "PLN", []),
    ("₿0.0045", 0.0045, "BTC", []),
    ("0.0045 BTC", 0.0045, "BTC", []),
    ("0,0045 BTC", 0.0045, "BTC", []),
    ("5 mBTC", 0.005, "BTC", []),
    ("500 mBTC", 0.5, "BTC", []),
    ("25000 sats", 0.00025, "BTC", []),
    ("25,000 sats", 0.00025, "BTC", []),
    ("1.5 LTC", 1.5, "LTC", []),
    ("0.25 ETH", 0.25, "ETH", []),
    ("0.01 BCH", 0.01, "BCH", []),
    ("3 XMR ($450)", 3.0, "XMR", [(450.0, "USD")]),
    ("$1,234.56", 1234.56, "USD", []),
    ("1,234.56 USD", 1234.56, "USD", []),
    ("USD1234.56", 1234.56, "USD", []),
    ("$ 9 001.12", 9001.12, "USD", []),
    ("€1 234,50", 1234.50, "EUR", []),
    ("Price: $60", 60.0, "USD", []),
    ("1g - $60", 60.0, "USD", []),
    ("100 dollars", 100.0, "USD", []),
    ("20 euros", 20.0, "EUR", []),
    ("$30+ DAILY", 30.0, "USD", []),
    ("$1.2k", 1200.0, "USD", []),
    ("invest $2k or more", 2000.0, "USD", []),  # Dream (real) vendor terms
    ("5. Wikr support For above $1000 FE Orders.", 1000.0, "USD", []),
    ("2k EUR", 2000.0, "EUR", []),
]

GROUPS: dict[str, list[tuple[Any, ...]]] = {"nightshade": NIGHTSHADE, "vortex": VORTEX, "rcshop": RCSHOP, "chemtrade": CHEMTRADE, "pillhub": PILLHUB,
          "dream": DREAM, "empire": EMPIRE, "published": PUBLISHED}
CASES = [pytest.param(*row, id=f"{group}: {row[0]}") for group, rows in GROUPS.items() for row in rows]


@pytest.mark.parametrize(("text", "amount", "currency", "equivalents"), CASES)
def test_price(text: str, amount: float, currency: str, equivalents: list[tuple[float, str]]) -> None:
    p = parse_price(text)
    assert p.ok, p.error
    assert p.amount == pytest.approx(amount)
    assert p.currency == currency
    assert [(e.currency, e.amount) for e in p.equivalents] == [(c, pytest.approx(a)) for a, c in equivalents]


AMBIGUOUS = [
    # (text, site_locale, currency_hint, amount): the locale hint decides "1.000" and the result says so
    ("1.000 €", "de", None, 1000.0),
    ("1.000 €", "en", None, 1.0),
    ("€ 1.000", "de_DE", None, 1000.0),
    ("$1.000", "en_US", None, 1.0),
    ("$1,000", "en_US", None, 1000.0),
    ("1,000 €", "fr", None, 1.0),
    ("1.000", "de", "EUR", 1000.0),
    ("1.000", "en", "USD", 1.0),
    ("1.000 €", None, None, 1000.0),  # EUR written after the amount: continental style
    ("$1.000", None, None, 1.0),
]


@pytest.mark.parametrize(("text", "locale", "hint", "amount"), [pytest.param(*r, id=f"ambiguous: {r[0]} [{r[1]}]") for r in AMBIGUOUS])
def test_ambiguous_separator_uses_locale_and_says_so(text: str, locale: str | None, hint: str | None, amount: float) -> None:
    p = parse_price(text, site_locale=locale, currency_hint=hint)
    assert p.ok and p.amount == amount
    assert p.ambiguity and "ambiguous" in p.ambiguity
    assert (locale or "no locale hint") in p.ambiguity or "continental" in p.ambiguity


@pytest.mark.parametrize("text", ["85.40", "189", "Price: 12,50"])
def test_bare_number_needs_a_currency_hint(text: str) -> None:
    p = parse_price(text)
    assert not p.ok and p.currency is None and "currency" in (p.error or "")
    hinted = parse_price(text, currency_hint="EUR")
    assert hinted.ok and hinted.currency == "EUR"


NO_PRICE = ["", "Price on request", "PM for prices", "navicat v10 full", "10 pills", "3-MMC 5g", "USD", "$", "€ ,", "Free"]


@pytest.mark.parametrize("text", [pytest.param(t, id=f"none: {t!r}") for t in NO_PRICE])
def test_no_price(text: str) -> None:
    p = parse_price(text)
    assert not p.ok and p.error
    assert p.currency is None


def test_crypto_subunits_note_conversion() -> None:
    p = parse_price("125 mBTC")
    assert (p.amount, p.currency) == (0.125, "BTC") and any("mbtc" in n for n in p.notes)


TIERS = [
    ("1g - $60 | 5g - $250 | 10g - $450", [(1, "g", 60, "USD"), (5, "g", 250, "USD"), (10, "g", 450, "USD")]),
    (["1 g", "€ 60,00", "5 g", "€ 250,00"], [(1, "g", 60, "EUR"), (5, "g", 250, "EUR")]),
    ("1g: 0.004 BTC; 3.5g: 0.012 BTC", [(1, "g", 0.004, "BTC"), (3.5, "g", 0.012, "BTC")]),
    (["30 x 40mg tablets", "€ 278,00", "60 x 40mg tablets", "€ 520,00"], [(30, "unit", 278, "EUR"), (60, "unit", 520, "EUR")]),
    (["1 kg", "US$ 406.00", "10 kg", "US$ 3,654.00"], [(1000, "g", 406, "USD"), (10000, "g", 3654, "USD")]),
    ("100ml - 30 EUR\n250ml - 65 EUR\n1 litre - 220 EUR", [(100, "ml", 30, "EUR"), (250, "ml", 65, "EUR"), (1000, "ml", 220, "EUR")]),
    (["0.5g", "0.0842 XMR", "1g", "0.1601 XMR"], [(0.5, "g", 0.0842, "XMR"), (1, "g", 0.1601, "XMR")]),
    (["1g", "12,50", "5g", "55,00"], [(1, "g", 12.5, "EUR"), (5, "g", 55, "EUR")]),  # with currency_hint=EUR
    ("1g - $60, 5g - $250, 10g - $450", [(1, "g", 60, "USD"), (5, "g", 250, "USD"), (10, "g", 450, "USD")]),
    ("1g: €12,50, 5g: €55,00", [(1, "g", 12.5, "EUR"), (5, "g", 55, "EUR")]),
    ("1g $60 / 5g $250", [(1, "g", 60, "USD"), (5, "g", 250, "USD")]),
    ("10 pills $25\n50 pills $100", [(10, "unit", 25, "USD"), (50, "unit", 100, "USD")]),
    ("1g-$60|5g-$250", [(1, "g", 60, "USD"), (5, "g", 250, "USD")]),
    (["From qty 250 to 499", "USD 1.30", "0.00013823 BTC"], [(250, "unit", 1.3, "USD")]),  # Empire (real) bulk row
]


@pytest.mark.parametrize(("rows", "expected"), [pytest.param(*r, id=f"tiers: {r[0]!s:.40}") for r in TIERS])
def test_price_tiers(rows: list[str] | str, expected: list[tuple[float, str, float, str]]) -> None:
    tiers = parse_price_tiers(rows, currency_hint="EUR")
    got = [(t.quantity.amount, t.quantity.unit, t.price.amount, t.price.currency) for t in tiers]
    assert got == [(pytest.approx(a), u, pytest.approx(p), c) for a, u, p, c in expected]


def test_tiers_with_rates_fill_usd_and_price_per_gram() -> None:
    table = RateTable.default().with_page_rates({"EUR": 1.10}, source="rcshop")
    tiers = parse_price_tiers("1g - 12,00 € | 5g - 50,00 €", rates=table, when="2024-05-01")
    assert [t.price_usd for t in tiers] == [pytest.approx(13.2), pytest.approx(55.0)]
    assert [t.usd_per_unit for t in tiers] == [pytest.approx(13.2), pytest.approx(11.0)]
    assert all(t.rate_source == "page:rcshop" for t in tiers)
    assert tiers[1].to_listing_dict() == {"quantity_amount": 5.0, "quantity_unit": "g", "price_amount": 50.0,
                                          "price_currency": "EUR", "price_usd": pytest.approx(55.0), "usd_per_unit": pytest.approx(11.0)}


def test_price_per_unit() -> None:
    assert price_per_unit(100.0, parse_quantity("1/4 oz")) == pytest.approx(100 / 7.087381, rel=1e-5)
    assert price_per_unit(49.0, parse_quantity("100 PILLS X Soma 350mg")) == pytest.approx(0.49)
    assert price_per_unit(None, parse_quantity("5g")) is None
    assert price_per_unit(10.0, parse_quantity("MDMA 84%")) is None


KNOWN_FAILURES = [
    # "฿" is also the Thai baht sign; on darknet pages it means BTC, on a Thai shop it would not
    ("฿350 ค่าส่ง", 350.0, "THB"),
    # two prices for two pack sizes in one cell: only the first is the primary, the second is no equivalent
    ("1g $60 or 2g for $100", None, None),
]


@pytest.mark.parametrize(("text", "amount", "currency"),
                         [pytest.param(*r, id=f"xfail: {r[0]}", marks=pytest.mark.xfail(strict=True))
                          for r in KNOWN_FAILURES])
def test_known_failures(text: str, amount: float | None, currency: str | None) -> None:
    p = parse_price(text)
    if amount is None:
        assert not p.equivalents
    else:
        assert (p.amount, p.currency) == (amount, currency)


# issue 14, class 11: strings written to show each rule class (not copied from the real data)
ISSUE14_PRICES = [  # (text, currency_hint, amount, amount_max, currency)
    "@eu-suffix",  # "EU" right after a number is the euro
    ("75EU/gr", None, 75.0, None, "EUR"),
    ("150eu/5gr", None, 150.0, None, "EUR"),
    ("45eu", None, 45.0, None, "EUR"),
    "@scientific",  # BTC amounts exported as floats
    ("3.2e-05 BTC", None, 3.2e-05, None, "BTC"),
    ("7.1e-4", "BTC", 0.00071, None, "BTC"),
    "@ranges",  # a range price is its lower amount; the upper one is kept
    ("14-120 EUR", None, 14.0, 120.0, "EUR"),
    ("9.5-310 GBP / from 6 GBP for 1gr", None, 9.5, 310.0, "GBP"),
    ("$140.00 - $60.00", None, 60.0, 140.0, "USD"),
    "@thousands",
    ("15.000$", None, 15000.0, None, "USD"),
]


@pytest.mark.parametrize(("text", "hint", "amount", "amount_max", "currency"), grouped(ISSUE14_PRICES))
def test_issue14_price_classes(text: str, hint: str | None, amount: float, amount_max: float | None,
                               currency: str) -> None:
    p = parse_price(text, currency_hint=hint)
    assert p.ok, p.error
    assert (p.amount, p.currency) == (pytest.approx(amount), currency)
    assert p.amount_max == (pytest.approx(amount_max) if amount_max is not None else None)


def test_eu_before_a_number_is_not_a_price() -> None:
    assert not parse_price("Ships EU 2-3 days").ok
    assert not parse_price("1g flake 94% DE2EU").ok  # Germany to the EU
