"""Property tests: no parser raises on any text, and format -> parse round trips hold."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import (
    clean_text,
    format_price,
    normalize_text,
    parse_date,
    parse_escrow,
    parse_int,
    parse_page_rates,
    parse_price,
    parse_price_tiers,
    parse_quantity,
    parse_shipping,
    parse_shipping_option,
)
from parsers._base import fmt_num

settings.register_profile("default", max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# text that looks like listing fields: digits, units, currency signs, separators, odd Unicode
LISTING_ALPHABET = st.sampled_from(list("0123456789 .,/-x×%+$€£₿฿()|:gGmlLkKozbtcsupi")
                                   + ["mg", "ug", "oz", "BTC", "XMR", "EUR", "days", "ago", "\u200b", "е", "🇳🇱",
                                      "\u00a0", "1/4", "QP", "except", "Worldwide"])
listing_text = st.lists(LISTING_ALPHABET, max_size=30).map("".join)
any_text = st.one_of(st.text(max_size=80), listing_text)
locales = st.sampled_from([None, "de", "en", "en_US", "fr_FR", "xx", ""])
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@given(any_text, locales, st.sampled_from([None, "EUR", "usd", "BTC", "zzz"]))
def test_price_never_raises(text: str, locale: str | None, hint: str | None) -> None:
    p = parse_price(text, site_locale=locale, currency_hint=hint)
    assert p.ok == (p.amount is not None and p.currency is not None) or not p.ok
    if p.ok:
        assert p.amount is not None and p.amount >= 0 and p.currency
    p.to_dict()


@given(any_text, st.sampled_from([None, "g", "ml", "unit"]))
def test_quantity_never_raises_and_ok_means_an_amount(text: str, unit: str | None) -> None:
    q = parse_quantity(text, default_unit=unit)
    if q.ok:
        assert q.amount is not None and q.amount >= 0 and q.unit in ("g", "ml", "unit")
    else:
        assert q.amount is None and q.error
    if q.active_mg is not None:
        assert q.active_mg == pytest.approx((q.count or 0) * (q.dose_mg or 0))
    q.to_dict()


@given(any_text, any_text)
def test_shipping_never_raises(frm: str, to: str) -> None:
    s = parse_shipping(frm, to)
    assert all(len(c) == 2 and c.isupper() for c in s.destinations + s.destinations_excluded)
    assert not (s.ships_worldwide and s.destinations)
    s.to_dict()


@given(any_text, locales)
def test_other_parsers_never_raise(text: str, locale: str | None) -> None:
    parse_shipping_option(text, currency_hint="EUR").to_dict()
    parse_escrow(text).to_dict()
    parse_int(text).to_dict()
    d = parse_date(text, now=NOW, site_locale=locale)
    assert d.value is None or d.value.tzinfo is not None
    assert isinstance(parse_page_rates(text), dict)
    parse_price_tiers(text)
    normalize_text(text).to_dict()


@given(any_text)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


amounts = st.decimals(min_value="0.01", max_value="9999999.99", places=2).map(float)


@given(amounts, st.sampled_from(["USD", "EUR", "GBP", "AUD", "CAD", "CHF", "SEK", "PLN"]), st.booleans())
def test_price_round_trip_fiat(amount: float, currency: str, decimal_comma: bool) -> None:
    text = format_price(amount, currency, decimal_comma=decimal_comma)
    p = parse_price(text, site_locale="de" if decimal_comma else "en")
    assert (p.amount, p.currency) == (pytest.approx(amount), currency), text


@given(st.decimals(min_value="0.00000001", max_value="999.99999999", places=8).map(float), st.sampled_from(["BTC", "XMR", "LTC", "ETH"]))
def test_price_round_trip_crypto(amount: float, currency: str) -> None:
    text = format_price(amount, currency)
    p = parse_price(text, site_locale="en")
    assert (p.amount, p.currency) == (pytest.approx(amount, rel=1e-9), currency), text


@given(st.decimals(min_value="0.1", max_value="5000", places=1).map(float), st.sampled_from(["g", "kg", "ml", "mg"]), st.sampled_from(["", " "]))
def test_quantity_round_trip_mass_volume(value: float, unit: str, space: str) -> None:
    q = parse_quantity(f"{fmt_num(value)}{space}{unit}")
    factor = {"g": 1, "kg": 1000, "ml": 1, "mg": 0.001}[unit]
    assert q.ok and q.amount == pytest.approx(value * factor) and q.unit == ("ml" if unit == "ml" else "g")


@given(st.integers(min_value=1, max_value=10000), st.decimals(min_value="0.1", max_value="2000", places=1).map(float),
       st.sampled_from(["{n} x {d}mg", "{n}x{d}mg", "{d}mg x{n}", "{n} pills x {d}mg", "{n} tabs of {d}mg", "x{n} pills {d}mg"]))
def test_quantity_round_trip_count_dose(n: int, dose: float, template: str) -> None:
    q = parse_quantity(template.format(n=n, d=fmt_num(dose)) + " Xanax bars")
    assert (q.unit, q.count, q.amount) == ("unit", n, float(n))
    assert q.dose_mg == pytest.approx(dose)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)).map(lambda d: d.replace(microsecond=0, tzinfo=timezone.utc)),
       st.sampled_from(["iso", "%b %d, %Y %H:%M:%S", "%d %B %Y", "%Y-%m-%d"]))
def test_date_round_trip(value: datetime, fmt: str) -> None:
    text = value.isoformat() if fmt == "iso" else value.strftime(fmt)
    d = parse_date(text, now=NOW)
    expected = value if "%H" in fmt or fmt == "iso" else value.replace(hour=0, minute=0, second=0)
    assert d.ok and d.value == expected, text


@given(st.integers(min_value=0, max_value=400), st.sampled_from(["days", "hours", "weeks"]))
def test_relative_date_round_trip(n: int, unit: str) -> None:
    d = parse_date(f"{n} {unit} ago", now=NOW)
    delta = {"days": timedelta(days=n), "hours": timedelta(hours=n), "weeks": timedelta(weeks=n)}[unit]
    expected = NOW - delta
    expected = expected.replace(minute=0, second=0) if unit == "hours" else expected.replace(hour=0, minute=0, second=0)
    assert d.relative and d.value == expected


COUNTRIES = sorted(pycountry.countries, key=lambda c: c.alpha_2)


@given(st.sampled_from(COUNTRIES), st.sampled_from(["name", "alpha_3", "alpha_2", "flag"]))
def test_country_round_trip(country: object, form: str) -> None:
    code = country.alpha_2  # type: ignore[attr-defined]
    text = "".join(chr(0x1F1E6 + ord(c) - 65) for c in code) if form == "flag" else getattr(country, form)
    assert parse_shipping(text, None).origin == code or (form == "alpha_2" and code in ("NA",)), text


PATHOLOGICAL = {
    "number list": "1,000/" * 25 + "x", "grouped list": "1,000,000-" * 25 + "zz", "digits": "1" * 5000,
    "dotted": "1.2.3." * 2000, "spaced thousands": "1 000 " * 2000, "masses": "10g/" * 2000, "x counts": "x1 " * 3000,
    "count words": "1 a b pills " * 1000, "ago": "1 day, " * 2000 + "ago", "dollars": "$1 " * 3000,
    "countries": "Germany, " * 3000, "fractions": "1/2/" * 3000, "dashes": "1-" * 4000, "flags": "🇳🇱" * 3000,
    "rates": "1 BTC = " * 2000, "invisible": "\u200b1" * 4000, "letters": "a" * 10000, "day ranges": "1-2-3-" * 2000 + "days",
}


@pytest.mark.parametrize("text", [pytest.param(v, id=f"pathological: {k}") for k, v in PATHOLOGICAL.items()])
def test_pathological_inputs_finish_quickly(text: str) -> None:
    """Long hostile strings must not make any regex backtrack for seconds (each call < 1 s
    even on a loaded machine; typical figures are a few milliseconds)."""
    import time

    for call in (parse_quantity, parse_price, lambda t: parse_shipping(t, t), parse_shipping_option,
                 lambda t: parse_date(t, now=NOW), normalize_text, parse_page_rates, parse_int, parse_escrow):
        start = time.process_time()
        call(text)
        assert time.process_time() - start < 1.0
