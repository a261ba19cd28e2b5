"""Shipping tables: origin, destinations (regions expanded), exclusions, worldwide flag."""
from __future__ import annotations

import pytest

from parsers import country_code, parse_shipping
from parsers.regions import EU27, EUROPE, SCHENGEN
from tests.parsers.tables import grouped

EU = sorted(EU27)

ORIGINS = [  # (ships-from text, alpha-2 or None)
    "@testbed",  # origin names the testbed sites print
    ("Netherlands", "NL"), ("United States", "US"), ("Germany", "DE"), ("United Kingdom", "GB"), ("China", "CN"),
    ("India", "IN"), ("Canada", "CA"), ("Spain", "ES"), ("Poland", "PL"), ("Australia", "AU"), ("France", "FR"),
    ("Belgium", "BE"), ("Czech Republic", "CZ"), ("Sweden", "SE"), ("Ships from: Netherlands", "NL"),
    "@dream",  # real, early 2018
    ("United States", "US"), ("Worldwide", None), ("China", "CN"), ("CHINA", "CN"), ("Germany", "DE"),
    "@empire",  # real, 2019: origin cells and the country dropdown's spellings
    ("World Wide", None), ("Latvia", "LV"), ("Trinidad and Tobago", "TT"), ("Russian Federation", "RU"),
    ("Korea", "KR"), ("Bosnia and Herzegowina", "BA"), ("Cote d'Ivoire", "CI"), ("Libyan Arab Jamahiriya", "LY"),
    ("Hong Kong", "HK"), ("Viet Nam", "VN"), ("Falkland Islands", "FK"),
    "@published",
    ("USA", "US"), ("U.S.A.", "US"), ("UK", "GB"), ("England", "GB"), ("Holland", "NL"), ("The Netherlands", "NL"),
    ("Deutschland", "DE"), ("Türkiye", "TR"), ("Turkey", "TR"), ("Österreich", "AT"), ("Schweiz", "CH"),
    ("España", "ES"), ("DEU", "DE"), ("NLD", "NL"), ("NL", "NL"), ("🇳🇱", "NL"), ("🇩🇪", "DE"), ("🇬🇧", "GB"),
    ("Origin country: Germany", "DE"), ("Czechia", "CZ"), ("Unknown", None), ("Undeclared", None), ("EU", None),
    ("Europe", None),
]


@pytest.mark.parametrize(("text", "code"), grouped(ORIGINS))
def test_origin(text: str, code: str | None) -> None:
    s = parse_shipping(text, None)
    assert s.origin == code
    if code is None:
        assert s.notes  # says why there is no origin
    else:
        assert s.ok


DESTINATIONS = [
    "@testbed",  # nightshade, vortex, rcshop, pillhub, chemtrade write these
    ("Worldwide", True, [], []),
    ("Worldwide except USA, Australia", True, [], ["AU", "US"]),
    ("Worldwide except Australia, New Zealand", True, [], ["AU", "NZ"]),
    ("EU", False, EU, []),
    ("European Union", False, EU, []),
    ("United States", False, ["US"], []),
    ("United States, Canada", False, ["CA", "US"], []),
    ("United Kingdom", False, ["GB"], []),
    ("Germany, Austria, Switzerland", False, ["AT", "CH", "DE"], []),
    ("Netherlands, Belgium", False, ["BE", "NL"], []),
    "@dream",  # real, early 2018
    ("United States, Worldwide", True, [], []),
    ("Worldwide, Worldwide", True, [], []),
    ("Europe", False, sorted(EUROPE), []),
    "@empire",  # real, 2019
    ("World Wide", True, [], []),
    ("Austria, Belgium, Finland, France, Germany", False, ["AT", "BE", "DE", "FI", "FR"], []),
    ("World Wide, United States, Asia, Africa, Antarctica(c)", True, [], []),
    ("Trinidad and Tobago", False, ["TT"], []),
    "@published",
    ("Schengen", False, sorted(SCHENGEN), []),
    ("Scandinavia", False, ["DK", "NO", "SE"], []),
    ("Nordics", False, ["DK", "FI", "IS", "NO", "SE"], []),
    ("Benelux", False, ["BE", "LU", "NL"], []),
    ("North America", False, ["CA", "MX", "US"], []),
    ("USA only", False, ["US"], []),
    ("UK only", False, ["GB"], []),
    ("Germany & Austria", False, ["AT", "DE"], []),
    ("Germany and Austria", False, ["AT", "DE"], []),
    ("Antigua and Barbuda", False, ["AG"], []),
    ("Bosnia and Herzegovina", False, ["BA"], []),
    ("EU except Germany", False, sorted(EU27 - {"DE"}), ["DE"]),
    ("Europe (except UK)", False, sorted(EUROPE - {"GB"}), ["GB"]),
    ("Worldwide (no USA)", True, [], ["US"]),
    ("Everywhere except USA, Canada and Australia", True, [], ["AU", "CA", "US"]),
    ("Worldwide excluding Scandinavia", True, [], ["DK", "NO", "SE"]),
    ("EU, UK, Switzerland", False, sorted(EU27 | {"GB", "CH"}), []),
    ("🇩🇪🇦🇹🇨🇭", False, ["AT", "CH", "DE"], []),
    ("Ships to: Canada", False, ["CA"], []),
    ("USA / Canada", False, ["CA", "US"], []),
    ("US; CA; MX", False, ["CA", "MX", "US"], []),
    ("all countries except USA", True, [], ["US"]),
    ("WW", True, [], []),
    ("Deutschland, Österreich, Schweiz", False, ["AT", "CH", "DE"], []),
    ("Holland", False, ["NL"], []),
]


@pytest.mark.parametrize(("text", "worldwide", "dests", "excluded"), grouped(DESTINATIONS))
def test_destinations(text: str, worldwide: bool, dests: list[str], excluded: list[str]) -> None:
    s = parse_shipping(None, text)
    assert s.ok, s.error
    assert s.ships_worldwide is worldwide
    assert s.destinations == dests
    assert s.destinations_excluded == excluded


def test_region_sizes_are_documented_sets() -> None:
    assert len(EU27) == 27 and "GB" not in EU27
    assert {"IS", "NO", "CH", "LI"} <= SCHENGEN and not {"IE", "CY"} & SCHENGEN and len(SCHENGEN) == 29
    assert EU27 < EUROPE and {"GB", "CH", "NO", "RS"} <= EUROPE and "RU" not in EUROPE


@pytest.mark.parametrize(("frm", "to"), [("Mars", "Narnia"), ("", ""), ("Gondor", "Mordor, Rohan")])
def test_garbage_is_unparsed_with_reason(frm: str, to: str) -> None:
    s = parse_shipping(frm, to)
    assert not s.ok and s.origin is None and s.destinations == [] and not s.ships_worldwide
    assert s.error or not (frm.strip() or to.strip())


def test_partly_unknown_keeps_known_and_lists_the_rest() -> None:
    s = parse_shipping("Germany", "Germany, Atlantis, France")
    assert s.ok and s.destinations == ["DE", "FR"] and s.unresolved == ["Atlantis"]


def test_none_fields_and_type_errors() -> None:
    s = parse_shipping(None, None)
    assert not s.ok and s.origin is None
    with pytest.raises(TypeError):
        parse_shipping(3, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "code"), [("Vatican City State", "VA"), ("Virgin Islands (British)", "VG"),
                                            ("St. Helena", "SH"), ("Macau", "MO"), ("Swaziland", "SZ"), ("atlantis", None)])
def test_country_code_of_market_dropdown_names(name: str, code: str | None) -> None:
    assert country_code(name) == code


def test_listing_fields_use_xx_for_stated_unknown_origin() -> None:
    assert parse_shipping("Worldwide", "EU").to_listing_fields()["origin"] == "XX"
    assert parse_shipping(None, "EU").to_listing_fields()["origin"] is None
    fields = parse_shipping("Holland", "Worldwide except USA").to_listing_fields()
    assert fields == {"origin": "NL", "destinations": [], "destinations_excluded": ["US"], "ships_worldwide": True}
