"""Quantity tables: (text, amount, unit, count, dose_mg, purity_pct), grouped by where the
strings come from.  Amounts in g / ml / units; None means "must be None"."""
from __future__ import annotations

from typing import Any

import pytest

from parsers import parse_quantity
from tests.parsers.tables import grouped

OZ = 28.349523125

NIGHTSHADE: list[tuple[Any, ...]] = [  # testbed darknet market, USD; titles as its generator writes them
    ("0.5g of 2C-E | premium | escrow", 0.5, "g", None, None, None),
    ("★ gbl 250ml ★ premium", 250, "ml", None, None, None),
    ("4-FA (lab tested) 50 pills FREE SHIPPING", 50, "unit", 50, None, None),
    ("10 M30 pills Oxycodone best quality", 10, "unit", 10, None, None),
    ("Mephedrone (big rocks) 100g FREE SHIPPING", 100, "g", None, None, None),
    ("★ Mephedrone 10g ★ big rocks", 10, "g", None, None, None),
    ("1/4 oz Cocaine uncut", OZ / 4, "g", None, None, None),
    ("[NET] c0ca1ne 3.5g 90% pure", 3.5, "g", None, None, 90),
    ("Amnesia Haze QP indoor", 113.398, "g", None, None, None),
    ("10 x 250mg MDMA pink champagne", 10, "unit", 10, 250, None),
    ("x10 pills 220mg Dutch", 10, "unit", 10, 220, None),
    ("2C-B 20mg x10 lab tested", 10, "unit", 10, 20, None),
    ("100 PILLS X 2mg uncut", 100, "unit", 100, 2, None),
    ("LSD-25 (blotters) 10 tabs of 100ug FREE SHIPPING", 10, "unit", 10, 0.1, None),
    ("x10 blotters 150ug Hofmann design", 10, "unit", 10, 0.15, None),
    ("GBL 1 litre | lab tested | escrow", 1000, "ml", None, None, None),
    ("[Germany] Ketamine 1 oz needles", OZ, "g", None, None, None),
    ("Cocaine 10 G - Bolivian - NETHERLANDS stock", 10, "g", None, None, None),
    ("★ 3-MMC 50g ★ Dutch", 50, "g", None, None, None),
    ("k3tamine (shards) 1g FREE SHIPPING", 1, "g", None, None, None),
    ("Flubrotizolam 20 pellets - best quality - NET stock", 20, "unit", 20, None, None),
    ("500 bars Xanax lab tested", 500, "unit", 500, None, None),
    ("Heroin #4 5g", 5, "g", None, None, None),
    ("OC 80 30 pills premium", 30, "unit", 30, None, None),
]
VORTEX: list[tuple[Any, ...]] = [  # testbed darknet market, XMR first
    ("5g MDEA best quality", 5, "g", None, None, None),
    ("500 pills Valium lab tested", 500, "unit", 500, None, None),
    ("2C-B-FLY 1g - lab tested - GER stock", 1, "g", None, None, None),
    ("[China] vallies 500 pills lab tested", 500, "unit", 500, None, None),
    ("MDMA crystals (Dutch) 28g FREE SHIPPING", 28, "g", None, None, None),
    ("[UK] crystal meth 0.5g glass", 0.5, "g", None, None, None),
    ("Magic Mushrooms 14g premium", 14, "g", None, None, None),
    ("3-CMC (rocks) 25g FREE SHIPPING", 25, "g", None, None, None),
    ("alpha-PVP 0.5g | shards | escrow", 0.5, "g", None, None, None),
    ("N-pyrrolidino protonitazene 0.1g lab tested", 0.1, "g", None, None, None),
    ("Fentanyl 0.1g best quality", 0.1, "g", None, None, None),
    ("Clonazepam 30 pills", 30, "unit", 30, None, None),
    ("4-FMA 10g - premium - POL stock", 10, "g", None, None, None),
    ("100 M30 pills oxy", 100, "unit", 100, None, None),
    ("Bromonordiazolam 100 pellets", 100, "unit", 100, None, None),
    ("α-PVP 5g crystal", 5, "g", None, None, None),
]
RCSHOP: list[tuple[Any, ...]] = [  # testbed research-chemical shop, weight tiers as separate cells
    ("1g", 1, "g", None, None, None),
    ("5g", 5, "g", None, None, None),
    ("10g", 10, "g", None, None, None),
    ("25 g", 25, "g", None, None, None),
    ("100 grams", 100, "g", None, None, None),
    ("3-MMC crystal 1g / 5g / 10g", 1, "g", None, None, None),
    ("3-CMC 99.7% purity, 5 g", 5, "g", None, None, 99.7),
    ("2-FDCK >99% 10g", 10, "g", None, None, 99),
    ("4-FA pellets 100mg x 50", 50, "unit", 50, 100, None),
    ("1P-LSD blotters 150mcg x 10", 10, "unit", 10, 0.15, None),
    ("Flubrotizolam pellets 0.5mg (20 pcs)", 20, "unit", 20, 0.5, None),
]
CHEMTRADE: list[tuple[Any, ...]] = [  # testbed B2B chemical supplier, kilograms
    ("1 kg", 1000, "g", None, None, None),
    ("10 kg", 10000, "g", None, None, None),
    ("100 kg", 100000, "g", None, None, None),
    ("MOQ 5 kg", 5000, "g", None, None, None),
    ("BMK oil 25kg drum", 25000, "g", None, None, None),
    ("GBL (gamma-butyrolactone) 5 L", 5000, "ml", None, None, None),
    ("1,4-Butanediol 200 litres", 200000, "ml", None, None, None),
    ("Piperonal 99% 1kg", 1000, "g", None, None, 99),
    ("0.5 kg sample", 500, "g", None, None, None),
]
PILLHUB: list[tuple[Any, ...]] = [  # testbed online pharmacy, pack sizes, EUR
    ("30 x 40mg tablets", 30, "unit", 30, 40, None),
    ("90 x 50mg tablets", 90, "unit", 90, 50, None),
    ("180 x 0.5mg tablets", 180, "unit", 180, 0.5, None),
    ("60 x 2.5mg tablets", 60, "unit", 60, 2.5, None),
    ("pack of 90", 90, "unit", 90, None, None),
    ("Tramadol HCl 100mg - pack of 60", 60, "unit", 60, 100, None),
    ("Xanax (Alprazolam) 2mg, 90 tablets", 90, "unit", 90, 2, None),
    ("Modalert 200mg 10 strips", 10, "unit", 10, 200, None),
    ("Ambien 10 mg x 30 tabs", 30, "unit", 30, 10, None),
]
DREAM: list[tuple[Any, ...]] = [  # real Dream Market titles and vendor menu lines (early 2018)
    ("ECSTASY PILLS / MDMA 180mg: 10 Pills - 100 Pills", 10, "unit", 10, 180, None),
    ("LSD / ACID 180ug: 2 Blotter - 5000 Blotter", 2, "unit", 2, 0.18, None),
    ("COCAINE / COKE: 0,5g - 25g", 0.5, "g", None, None, None),
    ("PASTE AMPHETAMINE / SPEED: 50g - 1KG", 50, "g", None, None, None),
    ("☢100 PILLS X Soma 350mg $49☢", 100, "unit", 100, 350, None),
    ("Dry Speed / Amphetamine 15G 80+% Purity (Escrow)", 15, "g", None, None, 80),
]
EMPIRE: list[tuple[Any, ...]] = [  # real Empire Market titles (2019)
    ("1oz PAMP Veriscan Counterfeit Gold Bar", OZ, "g", None, None, None),
    ("[NL > EU] 2 GR DUTCH MDMA | FREE SHIPPING FROM THE NETHERLANDS", 2, "g", None, None, None),
    ("BUDGET Pineapple Weed - Grade B - 3 Gram", 3, "g", None, None, None),
    ("100 GRAM SPEEDPASTE HIGH QUALITY - SENT FROM GERMANY", 100, "g", None, None, None),
    ("28g - Sherbert - Hybrid - 26% THC", 28, "g", None, None, None),
    ("** 250G 90% MESSI SPECIAL COLOMBIAN COCAINE**  UK-NEXT DAY DELIVERY**", 250, "g", None, None, 90),
    ("* 100g * Lena's * GORILLA GLUE #4 * Bio Weed * (Hybrid)", 100, "g", None, None, None),
    ("From qty 250 to 499", 250, "unit", 250, None, None),
    ("From qty 10000 to 14999", 10000, "unit", 10000, None, None),
]
PUBLISHED: list[tuple[Any, ...]] = [  # forms from the issue and published listing examples
    ("100 x 2mg Xanax bars", 100, "unit", 100, 2, None),
    ("10 x 250mg", 10, "unit", 10, 250, None),
    ("1/4 oz", 7.087, "g", None, None, None),
    ("QP", 113.398, "g", None, None, None),
    ("eighth", 3.544, "g", None, None, None),
    ("an eighth of OG Kush", 3.544, "g", None, None, None),
    ("half oz", 14.175, "g", None, None, None),
    ("Half an ounce of White Widow", 14.175, "g", None, None, None),
    ("1/2 oz", 14.175, "g", None, None, None),
    ("1/8th", 3.544, "g", None, None, None),
    ("1 lb", 453.592, "g", None, None, None),
    ("2 lbs outdoor", 907.185, "g", None, None, None),
    ("1/2 lb", 226.796, "g", None, None, None),
    ("quarter pound", 113.398, "g", None, None, None),
    ("1 kilo", 1000, "g", None, None, None),
    ("3.5g (an eighth)", 3.5, "g", None, None, None),
    ("500mg", 0.5, "g", None, None, None),
    ("MDMA 500mg crystals", 0.5, "g", None, None, None),
    ("10 tabs of 100ug", 10, "unit", 10, 0.1, None),
    ("pack of 90", 90, "unit", 90, None, None),
    ("x10", 10, "unit", 10, None, None),
    ("10x", 10, "unit", 10, None, None),
    ("Netflix premium accounts x5 lifetime", 5, "unit", 5, None, None),
    ("5ml LSD liquid", 5, "ml", None, None, None),
    ("GHB 100 ml", 100, "ml", None, None, None),
    ("1,000 pills", 1000, "unit", 1000, None, None),
    ("1000 x 2mg", 1000, "unit", 1000, 2, None),
    ("Valium 10mg x 100", 100, "unit", 100, 10, None),
    ("5 x 1g bags", 5, "g", 5, None, None),
    ("10 x 10ml vials", 100, "ml", 10, None, None),
    ("MDMA 84% 1g", 1, "g", None, None, 84),
    ("cocaine 99.7% 1g", 1, "g", None, None, 99.7),
    ("Cocaine 90%+ 2g", 2, "g", None, None, 90),
    ("1,5g", 1.5, "g", None, None, None),
    ("0,5 g Kokain", 0.5, "g", None, None, None),
    ("1g-5g", 1, "g", None, None, None),
    ("25 blotters", 25, "unit", 25, None, None),
    ("60 caps 150mg", 60, "unit", 60, 150, None),
    ("20 capsules x 100mg", 20, "unit", 20, 100, None),
    ("3 hits", 3, "unit", 3, None, None),
    ("50 tablets", 50, "unit", 50, None, None),
    ("2 zips", 2 * OZ, "g", None, None, None),
    ("half gram", 0.5, "g", None, None, None),
    ("Half a gram of ketamine", 0.5, "g", None, None, None),
    ("8-ball of coke", 3.544, "g", None, None, None),
    ("an eightball", 3.544, "g", None, None, None),
]
CLEANUP_INPUT: list[tuple[Any, ...]] = [  # obfuscated or oddly encoded titles
    ("１０ｇ cocaine", 10, "g", None, None, None),  # full-width digits
    ("co\u200bcaine 5\u200bg", 5, "g", None, None, None),
    ("m\u0435phedrone 10g", 10, "g", None, None, None),
    ("🇳🇱 MDMA 5g", 5, "g", None, None, None),
    ("C0CA1NE 7G", 7, "g", None, None, None),
]

GROUPS: dict[str, list[tuple[Any, ...]]] = {"nightshade": NIGHTSHADE, "vortex": VORTEX, "rcshop": RCSHOP, "chemtrade": CHEMTRADE, "pillhub": PILLHUB,
          "dream": DREAM, "empire": EMPIRE, "published": PUBLISHED, "cleanup": CLEANUP_INPUT}
CASES = [pytest.param(*row, id=f"{group}: {row[0]}") for group, rows in GROUPS.items() for row in rows]


@pytest.mark.parametrize(("text", "amount", "unit", "count", "dose_mg", "purity"), CASES)
def test_quantity(text: str, amount: float, unit: str, count: int | None, dose_mg: float | None, purity: float | None) -> None:
    q = parse_quantity(text)
    assert q.ok, q.error
    assert q.amount == pytest.approx(amount, rel=1e-3)
    assert q.unit == unit
    assert q.count == count
    assert q.dose_mg == (pytest.approx(dose_mg) if dose_mg is not None else None)
    assert q.purity_pct == (pytest.approx(purity) if purity is not None else None)


NO_QUANTITY = [
    "3-MMC", "2C-B", "MDMA 84%", "Top quality 2020", "Louis Vuitton Bracelet 48 AAA+", "navicat v10 full",
    "2019 Cream Of ONION 16,000+ UPDATED DEEPWEB LINKS", "50 selfies + ID both sides + utility bill",
    "♕ MOBILE SUCCESS || EARN $30+ DAILY ♕", "S.T.DUPONT LIGHTER FAKED", "LSD-25", "Heroin #4", "OC 80",
    "4-FA", "25I-NBOMe", "5-MeO-DMT", "1P-LSD", "", "   ", "$$$", "Reship 100%", "M30", "Top 10 vendor",
    # real description lines (Dream/Empire) and testbed description lines
    "▪City,State,Zip code", "Encrypt your address with my PGP key or the order gets cancelled.",
    "Reship policy 50% on first loss, 100% after that.", "Ships within 24h on working days.",
    "Oz stock, fast delivery", "TRUSTED MEMBER OF THE DARK NET SINCE 2015", "Same day dispatch if you order before 2pm CET.",
]


@pytest.mark.parametrize("text", [pytest.param(t, id=f"none: {t!r}") for t in NO_QUANTITY])
def test_no_quantity_is_reported_not_invented(text: str) -> None:
    q = parse_quantity(text)
    assert not q.ok
    assert q.amount is None and q.unit is None
    assert q.error


DOSE_ONLY = [
    ("High Quality Aprazolam 2mg White/Yellow Xanax Bars", 2.0),
    ("High Quality Alprazolam 2mg Yellow/White Xanax Bars (Bulk Listing 5k+)", 2.0),
    ("OxyContin (Oxycodone) 40mg", 40.0),
    ("Tramadol HCl 100mg", 100.0),
    ("LSD 100ug blotter", 0.1),
    ("Cialis 20mg", 20.0),  # Dream (real) vendor menu lines
    ("9. SOMA 350MG-/viewProduct?offer=332845.853310", 350.0),
    ("Super XANAX BARS 3MG IN STOCK WITH EXPRESS SHIPPING ORDER NOW!", 3.0),
    ("Modafinil 200mg", 200.0),
]


@pytest.mark.parametrize(("text", "dose"), [pytest.param(*r, id=f"dose-only: {r[0]}") for r in DOSE_ONLY])
def test_strength_without_count_keeps_dose_but_no_amount(text: str, dose: float) -> None:
    q = parse_quantity(text)
    assert not q.ok and q.amount is None
    assert q.dose_mg == pytest.approx(dose)
    assert "without a count" in (q.error or "")


MULTI = [
    ("1g/5g/10g", [1, 5, 10], "g"),
    ("1/5/10g", [1, 5, 10], "g"),
    ("1g - 5g - 10g", [1, 5, 10], "g"),
    ("3-MMC crystal 1g / 5g / 10g", [1, 5, 10], "g"),
    ("c0ca1ne 1g/3.5g/7g 90%+", [1, 3.5, 7], "g"),
    ("GBL 100ml/250ml/1l", [100, 250, 1000], "ml"),
    ("1-5g", [1, 5], "g"),
    ("10-20 pills", [10, 20], "unit"),
    ("25/50/100 pills", [25, 50, 100], "unit"),
    ("ECSTASY PILLS / MDMA 180mg: 10 Pills - 100 Pills", [10, 100], "unit"),  # Dream (real) vendor menu
    ("MDMA 1g, 5g & 10g", [1, 5, 10], "g"),
    ("10g / 25g / 50g / 100g", [10, 25, 50, 100], "g"),
    ("500ml-1L", [500, 1000], "ml"),
]


@pytest.mark.parametrize(("text", "amounts", "unit"), [pytest.param(*r, id=f"multi: {r[0]}") for r in MULTI])
def test_multi_offers(text: str, amounts: list[float], unit: str) -> None:
    q = parse_quantity(text)
    assert q.ok and q.amount == amounts[0] and q.unit == unit
    assert [o.amount for o in q.offers] == pytest.approx(amounts)
    assert all(o.unit == unit for o in q.offers)


def test_active_mg_is_count_times_strength() -> None:
    q = parse_quantity("100 x 2mg Xanax bars")
    assert (q.unit, q.amount, q.dose_mg, q.active_mg) == ("unit", 100, 2.0, 200.0)
    assert q.to_dict()["active_mg"] == 200.0
    ug = parse_quantity("10 tabs of 100ug")
    assert ug.dose_unit == "ug" and ug.dose_value == 100 and ug.active_mg == pytest.approx(1.0)


def test_matched_span_points_at_the_quantity() -> None:
    q = parse_quantity("Cocaine 10 G - Bolivian")
    assert q.matched == "10 G" and q.span == (8, 12)


@pytest.mark.parametrize(("text", "unit", "amount"), [
    pytest.param("5", "g", 5.0, id="default-unit: 5 g"), pytest.param("250", "ml", 250.0, id="default-unit: 250 ml"),
    pytest.param("30", "unit", 30.0, id="default-unit: 30 units"), pytest.param("2,5", "g", 2.5, id="default-unit: 2,5 g"),
])
def test_default_unit_for_bare_numbers(text: str, unit: str, amount: float) -> None:
    q = parse_quantity(text, default_unit=unit)
    assert q.ok and q.unit == unit and q.amount == amount
    assert not parse_quantity(text).ok  # without the hint a bare number is no quantity


KNOWN_FAILURES = [
    # a scale's precision is not an offer size; telling them apart needs the category
    ("Digital scale 0.01g precision", None, None),
    # "100 pills" of MDMA at 200 mg each: the strength is only in the description
    ("MDMA 100 pills", 100, 200.0),
    # "5k+" means a minimum order of 5000 units, not a quantity of 5 kg
    ("Xanax Bars (Bulk Listing 5k+)", 5000, None),
    # slang and spelled-out numbers are not read yet
    ("Two grams", 2.0, None),
    # a count separated from its count word by three or more words
    ("100 Pfizer Xanax 2mg bars", 100, 2.0),
    # the offer counts boxes, the inner "28 x 30mg" is the box content
    ("3 boxes of DHC 28 x 30mg", 3, 30.0),
    # punctuation stripped by the market: "3 5g" is 3.5 g
    ("3 5g Peruvian flake", 3.5, None),
]


@pytest.mark.parametrize(("text", "amount", "dose"),
                         [pytest.param(*r, id=f"xfail: {r[0]}", marks=pytest.mark.xfail(strict=True))
                          for r in KNOWN_FAILURES])
def test_known_failures(text: str, amount: float | None, dose: float | None) -> None:
    q = parse_quantity(text)
    assert q.amount == amount and q.dose_mg == dose


# issue 14, class 10: strings written to show each rule class (not copied from the real data)
ISSUE14: list[Any] = [  # (text, amount, unit, count, dose_mg) rows and "@section" markers
    "@offer-prefix",  # a market writes its own offer size before the title
    ("25-400pls x Lorazepam 2,5mg GENERIC", 25, "unit", 25, 2.5),
    ("60tb x sertraline 50mg (generic zoloft)", 60, "unit", 60, 50),
    ("7gr x 7 Grams Amnesia Haze", 7, "g", None, None),
    ("10-250ml x GBL pure", 10, "ml", None, None),
    ("x90pls Tadalafil 20mg Tadacip-20", 90, "unit", 90, 20),
    "@counts",
    ("25 qty. Oxycodone 15 MG", 25, "unit", 25, 15),
    ("(500) 10mg Valium Roche", 500, "unit", 500, 10),
    ("(14) grams Lemon Haze", 14, "g", None, None),
    ("Pregabalin 150mg 84 cap", 84, "unit", 84, 150),
    ("CBD oil 30 drops", 30, "unit", 30, None),
    ("5 joints pre-rolled", 5, "unit", 5, None),
    ("10 tabs 1P-LSD", 10, "unit", 10, None),
    ("20 Percocet 10/325 pills", 20, "unit", 20, None),
    "@units",
    ("3 gm Moroccan hash", 3, "g", None, None),
    ("SPEED PASTE 1GRM", 1, "g", None, None),
    ("Ice 99% -5gr-", 5, "g", None, None),
    "@prices-are-not-sizes",  # a price before a size is not a list of sizes; "$12 per pill" is no count
    ("$250 - 2 Oz Penis Envy", 2 * OZ, "g", None, None),
    ("$90 - 28g Blue Meanies", 28, "g", None, None),
    ("200 x MDMA 150mg pills x 1.20EU", 200, "unit", 200, 150),
    "@concentration",  # mg/ml is a strength, the vial's ml the amount
    ("Test Cyp 250mg/ml 10ml vial", 10, "ml", None, None),
    "@hormone-class-tags",  # "(progesterone) (estrogen)" after named hormones (medrepro-2025 rows 1, 14)
    ("Norethisterone 50 mg + Estradiol 10 mg / 1mL 10 mL Vial (progesterone) (estrogen)", 10, "ml", None, None),
    ("Estradiol Valerate 10mg/ml 5ml vial (estrogen)", 5, "ml", None, None),
    ("Medroxyprogesterone 150mg x 10 tabs (progesterone)", 10, "unit", 10, 150),
    ("Ethinyl estradiol 0.03mg 21 tabs (estrogen) (progesterone)", 21, "unit", 21, 0.03),
]


@pytest.mark.parametrize(("text", "amount", "unit", "count", "dose_mg"), grouped(ISSUE14))
def test_issue14_quantity_classes(text: str, amount: float, unit: str, count: int | None, dose_mg: float | None) -> None:
    q = parse_quantity(text)
    assert q.ok, q.error
    assert (q.amount, q.unit, q.count) == (pytest.approx(amount, rel=1e-3), unit, count)
    assert q.dose_mg == (pytest.approx(dose_mg) if dose_mg is not None else None)


@pytest.mark.parametrize("text", [pytest.param(t, id=f"none: {t}") for t in [
    "Trenbolone 200mg/ml", "Oxy 30mg only $12 per pill", "Roxy 30 mg - $25 each pill",
    "CLEARANCE Blue Dream only 40 grams left"]])
def test_concentration_and_unit_prices_are_not_amounts(text: str) -> None:
    q = parse_quantity(text)
    assert not q.ok and q.amount is None


def test_offer_prefix_range_keeps_both_offers() -> None:
    q = parse_quantity("10-500pls x Zopiclone 7.5mg")
    assert [o.amount for o in q.offers] == [10, 500] and q.dose_mg == 7.5
