"""Shipping options (method, cost, currency, days, tracked, stealth) and escrow / FE flags."""
from __future__ import annotations

import pytest

from parsers import parse_escrow, parse_shipping_option
from tests.parsers.tables import grouped

OPTIONS = [
    # (text, method, cost, currency, days_min, days_max, tracked, stealth)
    "@testbed-darknet",
    ("Standard (5-10 days) +$5.00", "Standard", 5.0, "USD", 5, 10, None, None),
    ("Express tracked (2-4 days) +$25.00", "Express tracked", 25.0, "USD", 2, 4, True, None),
    ("Free shipping (7-14 days) +$0.00", "Free shipping", 0.0, "USD", 7, 14, None, None),
    ("Registered mail (4-8 days) +$12.00", "Registered mail", 12.0, "USD", 4, 8, True, None),
    ("Next day (1 day) +$35.00", "Next day", 35.0, "USD", 1, 1, None, None),
    ("Stealth Standard (6-12 days) +$8.00", "Stealth Standard", 8.0, "USD", 6, 12, None, True),
    ("Standard - 5-10 days - USD + 5.00", "Standard", 5.0, "USD", 5, 10, None, None),
    "@testbed-clearweb",
    ("DHL Parcel (2-5 days) +€7.50", "DHL Parcel", 7.5, "EUR", 2, 5, None, None),
    ("Registered letter (3-7 days) +€4.90", "Registered letter", 4.9, "EUR", 3, 7, True, None),
    ("Standard airmail (10-21 days) +€15.00", "Standard airmail", 15.0, "EUR", 10, 21, None, None),
    ("EMS express tracked (5-9 days) +€30.00", "EMS express tracked", 30.0, "EUR", 5, 9, True, None),
    ("EMS / TNT express (4-7 days) +$150.00", "EMS / TNT express", 150.0, "USD", 4, 7, None, None),
    "@empire",  # real, 2019
    ("default - 1 day - USD + 0.00", "default", 0.0, "USD", 1, 1, None, None),
    ("airmail  -  8 days  - USD + 5.00 / order", "airmail", 5.0, "USD", 8, 8, None, None),
    ("UK  -  1 days  - USD + 0.00 / order", "UK", 0.0, "USD", 1, 1, None, None),
    ("WW  -  14 days  - USD + 0.00 / order", "WW", 0.0, "USD", 14, 14, None, None),
    ("priority  -  3 days  - USD + 8.00 / order", "priority", 8.0, "USD", 3, 3, None, None),
    ("USPS 2 DAY PRIORITY  -  2 days  - USD + 15.00 / order", "USPS 2 DAY PRIORITY", 15.0, "USD", 2, 2, None, None),
    ("USPS Overnight  -  1 days  - USD + 45.00 / order", "USPS Overnight", 45.0, "USD", 1, 1, None, None),
    ("free  -  0.01 days  - USD + 0.00 / order", "free", 0.0, "USD", 0, 0, None, None),
    ("Germany Tracking EinwurfEinschreiben  -  2 days  - USD + 16.40 / order", "Germany Tracking EinwurfEinschreiben", 16.4, "USD", 2, 2, True, None),
    ("POSTAL SERVICES  FROM GERMANY TO EUROPE WITHOUT TRACK  -  8 days  - EUR + 10.50 / item",
     "POSTAL SERVICES FROM GERMANY TO EUROPE WITHOUT TRACK", 10.5, "EUR", 8, 8, False, None),
    ("7 Day Maximum Tracked post Uk To World Wide  -  7 days  - USD + 19.20 / order",
     "7 Day Maximum Tracked post Uk To World Wide", 19.2, "USD", None, 7, True, None),  # a maximum: no minimum
    ("FREE SHIPPING WITHIN EUROPE  -  7 days  - USD + 0.00 / item", "FREE SHIPPING WITHIN EUROPE", 0.0, "USD", 7, 7, None, None),
    "@dream",  # real: cost cell + label
    ("$25 EMS-12 to 14 Working Days", "EMS", 25.0, "USD", 12, 14, None, None),
    ("฿0.00214 DHL or EMS (Leave phone number for delivery company)", "DHL or EMS", 0.00214, "BTC", None, None, None, None),
    ("฿0.00251 ($27) EXPRESS TRACKED TO EUROPE", "EXPRESS TRACKED TO EUROPE", 0.00251, "BTC", None, None, True, None),
    ("฿0.00344 ($37) EXPRESS TRACKED TO USA AND REST OF THE WORLD", "EXPRESS TRACKED TO USA AND REST OF THE WORLD",
     0.00344, "BTC", None, None, True, None),
    ("฿0.00 ($0) Private Message", "Private Message", 0.0, "BTC", None, None, None, None),
    "@published",  # issue examples and other published forms
    ("Next day tracked - 15 USD", "Next day tracked", 15.0, "USD", 1, 1, True, None),
    ("EMS 7-14 days, free", "EMS", 0.0, None, 7, 14, None, None),
    ("Express stealth shipping 2-3 days +0.0003 BTC", "Express stealth shipping", 0.0003, "BTC", 2, 3, None, True),
    ("Untracked letter 3-5 working days £3", "Untracked letter", 3.0, "GBP", 3, 5, False, None),
    ("Royal Mail Special Delivery (signed for) next day £8.50", "Royal Mail Special Delivery", 8.5, "GBP", 1, 1, True, None),
    ("Overnight +$45", "Overnight", 45.0, "USD", 1, 1, None, None),
    ("Same day courier €25", "Same day courier", 25.0, "EUR", 0, 0, None, None),
    ("Worldwide 2-3 weeks $20", "Worldwide", 20.0, "USD", 14, 21, None, None),
    ("Priority Mail 48h $12", "Priority Mail", 12.0, "USD", 2, 2, None, None),
    ("Standard post, no stealth, 5 days, 2 EUR", "Standard post", 2.0, "EUR", 5, 5, None, False),
]


@pytest.mark.parametrize(("text", "method", "cost", "currency", "dmin", "dmax", "tracked", "stealth"),
                         grouped(OPTIONS))
def test_shipping_option(text: str, method: str, cost: float | None, currency: str | None, dmin: int | None,
                         dmax: int | None, tracked: bool | None, stealth: bool | None) -> None:
    o = parse_shipping_option(text)
    assert o.ok, o.error
    assert o.method == method
    assert o.cost == (pytest.approx(cost) if cost is not None else None)
    assert o.currency == currency
    assert (o.days_min, o.days_max) == (dmin, dmax)
    assert o.tracked is tracked
    assert o.stealth is stealth


def test_free_uses_currency_hint_and_per_order() -> None:
    o = parse_shipping_option("EMS 7-14 days, free", currency_hint="usd")
    assert (o.cost, o.currency) == (0.0, "USD")
    assert parse_shipping_option("airmail - 8 days - USD + 5.00 / order").per == "order"
    kwargs = parse_shipping_option("Standard (5-10 days) +$5.00").to_model_kwargs()
    assert kwargs["method"] == "Standard" and kwargs["days_max"] == 10


@pytest.mark.parametrize("text", ["", "   ", "-", "???"])
def test_empty_option_is_unparsed(text: str) -> None:
    o = parse_shipping_option(text)
    assert not o.ok and o.error and o.cost is None


ESCROW = [
    # (text, escrow, finalize_early)
    ("Escrow", True, None), ("Escrow: Yes", True, None), ("Escrow Yes", True, None), ("Escrow | Yes", True, None),
    ("Escrow No", False, None), ("Escrow: no", False, None), ("No escrow", False, None), ("Without escrow", False, None),
    ("FE 100%", False, True), ("100% FE", False, True), ("FE only", False, True), ("FE", None, True),
    ("Finalize Early allowed", None, True), ("Finalise early", None, True), ("No FE", None, False),
    ("FE: not allowed", None, False), ("Multisig", True, None), ("MultiSig", True, None), ("2-of-3 multisig escrow", True, None),
    ("Escrow, no FE", True, False), ("Escrow or FE (50%)", True, True),
    ("FULL ESCROW ON TUTORIALS", True, None),
    ("FE only for vendors with 500+ sales, escrow for everybody else.", True, True),
    ("(Escrow)", True, None),
    "@testbed",  # vortex "Payment" cell, nightshade Yes/No fields
    ("FE (100% finalize early)", False, True), ("Escrow / FE allowed", True, True), ("FE Yes", None, True),
    ("FE No", None, False), ("Finalize early No", None, False), ("FE enabled No", None, False),
    ("FE enabled Yes", None, True), ("Escrow enabled: No", False, None),
]


@pytest.mark.parametrize(("text", "escrow", "fe"), grouped(ESCROW))
def test_escrow(text: str, escrow: bool | None, fe: bool | None) -> None:
    r = parse_escrow(text)
    assert r.ok
    assert (r.escrow, r.finalize_early) == (escrow, fe)


@pytest.mark.parametrize("text", ["", "Payment: Bitcoin", "feedback 100%", "free shipping", "coffee"])
def test_no_escrow_terms(text: str) -> None:
    r = parse_escrow(text)
    assert not r.ok and r.escrow is None and r.finalize_early is None


# issue 14, class 9 (options): strings written to show each rule class
ISSUE14_OPTIONS = [  # (text, method, cost, currency, days_min, days_max, tracked)
    "@other-languages",
    ("(DE) Inland nur (KEIN Tracking), 1-3 Tage (3.90 EUR)", "(DE) Inland nur", 3.9, "EUR", 1, 3, False),
    ("Einschreiben 2-3 Tage 6 EUR", "Einschreiben", 6.0, "EUR", 2, 3, True),
    "@destination-tag",  # a leading country tag is part of the method, not the method
    ("US- (Domestic) Free Shipping - 4 Day/s", "US- (Domestic) Free Shipping", 0.0, None, 4, 4, None),
    "@day-codes",  # NDD = next-day delivery, 3DD = third day: the name's range wins over the market's field
    ("[UK] 2nd Class Non-Registered (NDD-3DD) [5 days] [+ USD 2.50]", "[UK] 2nd Class Non-Registered", 2.5, "USD", 1, 3,
     False),
    ("[EU] Airmail Tracked (3DD-10DD) [7 days] [+ USD 12.00]", "[EU] Airmail Tracked", 12.0, "USD", 3, 10, True),
    ("priority next day or in 48hrs max [4 days] [+ USD 15.00]", "priority next day or in 48hrs max", 15.0, "USD", 1, 2,
     None),
    "@maximum",
    ("Tracked post - 10 days max - USD + 9.00 / order", "Tracked post", 9.0, "USD", None, 10, True),
]


@pytest.mark.parametrize(("text", "method", "cost", "currency", "dmin", "dmax", "tracked"), grouped(ISSUE14_OPTIONS))
def test_issue14_option_classes(text: str, method: str, cost: float, currency: str | None, dmin: int | None,
                                dmax: int, tracked: bool | None) -> None:
    o = parse_shipping_option(text)
    assert o.ok, o.error
    assert (o.method, o.cost, o.currency) == (method, pytest.approx(cost), currency)
    assert (o.days_min, o.days_max, o.tracked) == (dmin, dmax, tracked)
