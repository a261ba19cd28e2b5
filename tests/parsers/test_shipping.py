"""Shipping tables: origin, destinations (regions expanded), exclusions, worldwide flag."""
from __future__ import annotations

from typing import Any

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


# issue 14, class 9: real-looking strings written to show each rule class (not copied from the data)
ONE_STRING = [  # (ships-from cell, ships-to cell, origin, worldwide, destinations or a region name, excluded)
    "@labelled",
    (None, "Ships from: Belgium Ships to: Worldwide", "BE", True, [], []),
    (None, "Origin: Canada | Destination: Canada, USA", "CA", False, ["CA", "US"], []),
    (None, "Ships from Poland to EU", "PL", False, sorted(EU27), []),
    (None, "Ships from: 🇧🇪 Ships to: 🇫🇷 🇱🇺", "BE", False, ["FR", "LU"], []),
    ("Ships from: Slovakia", None, "SK", False, [], []),
    (None, "Ships from: Slovakia", "SK", False, [], []),
    "@agora-upper",
    (None, "NZ TO: WORLD WIDE", "NZ", True, [], []),
    (None, "/> CANADA TO: CANADA", "CA", False, ["CA"], []),
    (None, "UK TO UK  IRELAND  EUROPE", "GB", False, sorted(EUROPE), []),
]


@pytest.mark.parametrize(("frm", "to", "origin", "worldwide", "dests", "excluded"), grouped(ONE_STRING))
def test_one_string_forms_set_origin_and_destinations(frm: str | None, to: str | None, origin: str, worldwide: bool,
                                                      dests: list[str], excluded: list[str]) -> None:
    s = parse_shipping(frm, to)
    assert s.ok, s.error
    assert (s.origin, s.ships_worldwide, s.destinations, s.destinations_excluded) == (origin, worldwide, dests,
                                                                                       excluded)


FREE_TEXT = [  # (ships-to text, worldwide, destinations, excluded)
    "@no-separators",  # upper-case cells whose separators were lost
    ("CANADA  USA", False, ["CA", "US"], []),
    ("EU UK", False, sorted(EU27 | {"GB"}), []),
    ("USA CANADA AND UK", False, ["CA", "GB", "US"], []),
    ("DE AT", False, ["AT", "DE"], []),
    ("NL*BE*LU", False, ["BE", "LU", "NL"], []),
    ("GERMANY  SWISS", False, ["CH", "DE"], []),
    "@norway",  # NO in a list is Norway; after worldwide or a star it negates
    ("SE, NO, DK, FI", False, ["DK", "FI", "NO", "SE"], []),
    ("EU NO CH", False, sorted(EU27 | {"NO", "CH"}), []),
    ("WORLDWIDE NO AUS NO BRAZIL", True, [], ["AU", "BR"]),
    ("EUROPE *NO RUSSIA", False, sorted(EUROPE), ["RU"]),
    ("Worldwide / no Finland", True, [], ["FI"]),
    "@brackets",
    ("Europe (EU)", False, sorted(EUROPE), []),
    ("UK (free!) & EU", False, sorted(EU27 | {"GB"}), []),
    ("EU (ask for other countries)", False, EU, []),
    "@misspelt",
    ("worlwide", True, [], []),
    ("wolrdwide", True, [], []),
    ("wordwide", True, [], []),
    ("WORDLWIDE EXEPT CANADA", True, [], ["CA"]),
    ("W O R L D W I D E", True, [], []),
    ("EVERY WHERE", True, [], []),
    ("AUSTRAILA ONLY", False, ["AU"], []),
    ("NEW ZELAND", False, ["NZ"], []),
    ("CZECHREPUBLIC", False, ["CZ"], []),
    ("E.U.", False, EU, []),
    "@exclusions",
    ("WORLDWIDE EXCEPT USA NETHERLANDS AND AUSTRALIA", True, [], ["AU", "NL", "US"]),
    ("WORLD -AUSTRALIA", True, [], ["AU"]),
    ("we do not ship to USA / Canada", True, [], ["CA", "US"]),
    ("anywhere besides Canada", True, [], ["CA"]),
    ("USA only - not even Mexico", False, ["US"], ["MX"]),
    "@not-places",  # PM is a private message, DOM domestic, 'contact us' a pronoun
    ("Worldwide except USA/CA/DOM", True, [], ["CA", "US"]),
    ("UK - contact us for international", False, ["GB"], []),
    ("Worldwide except Germany (PM us for info)", True, [], ["DE"]),
    ("anywhere in Canada", False, ["CA"], []),
]


@pytest.mark.parametrize(("text", "worldwide", "dests", "excluded"), grouped(FREE_TEXT))
def test_free_text_destinations(text: str, worldwide: bool, dests: list[str], excluded: list[str]) -> None:
    s = parse_shipping(None, text)
    assert s.ok, s.error
    assert (s.ships_worldwide, s.destinations, s.destinations_excluded) == (worldwide, dests, excluded)


def test_pm_alone_is_no_destination() -> None:
    s = parse_shipping(None, "PM")
    assert s.destinations == [] and not s.ships_worldwide


SPELLED_ORIGINS = [
    "@agora-upper",
    ("GERMAN", "DE"), ("Dutch", "NL"), ("NEWZEALAND", "NZ"), ("THENETHERLANDS", "NL"), ("UK UK", "GB"),
    ("FRANCEFRANCE", "FR"), ("<img class=flag src=/images/flag/w13/can.png", "CA"), ("Korea North", "KP"),
    ("Europe (EU)", None),
]


@pytest.mark.parametrize(("text", "code"), grouped(SPELLED_ORIGINS))
def test_glued_repeated_and_demonym_origins(text: str, code: str | None) -> None:
    s = parse_shipping(text, None)
    assert s.ok and s.origin == code
    assert s.to_listing_fields()["origin"] == (code or "XX")


PARTIAL = [  # one unreadable part never discards the other
    "@partial",
    ("France", "United States and 43 more", "FR", ["US"]),
    ("Germany", "Undeclared", "DE", []),
    ("Canada", "and 2 more", "CA", []),
    ("Germany", "Domestic only", "DE", ["DE"]),
    ("Spain", "Gondor", "ES", []),
]


@pytest.mark.parametrize(("frm", "to", "origin", "dests"), grouped(PARTIAL))
def test_partial_results_are_kept(frm: str, to: str, origin: str, dests: list[str]) -> None:
    s = parse_shipping(frm, to)
    assert s.ok and s.origin == origin and s.destinations == dests
    assert s.notes  # says what was not read


@pytest.mark.parametrize("to", ["76", "From:", "N/A"])
def test_cells_that_state_nothing_store_nothing(to: str) -> None:
    s = parse_shipping("From:", to)
    assert s.ok and s.to_listing_fields() == {"origin": None, "destinations": [], "destinations_excluded": [],
                                              "ships_worldwide": False}


@pytest.mark.parametrize(("text", "excluded"), [
    pytest.param("NO DELIVERY TO RUSSIA AND USA", ["RU", "US"], id="negated: NO DELIVERY TO RUSSIA AND USA"),
    pytest.param("Worldwide, no to Finland", ["FI"], id="negated: Worldwide, no to Finland"),
    pytest.param("not shipping to Canada", ["CA"], id="negated: not shipping to Canada"),
])
def test_negated_shipping_phrase_is_an_exclusion_not_an_origin(text: str, excluded: list[str]) -> None:
    s = parse_shipping(None, text)
    assert s.ok and s.origin is None and s.ships_worldwide and s.destinations_excluded == excluded


def test_misspelt_undeclared_origin_is_stated_unknown() -> None:
    s = parse_shipping("UNDECLAERD", None)
    assert s.ok and s.origin is None and s.to_listing_fields()["origin"] == "XX"


KNOWN_SHIPPING_FAILURES: list[tuple[Any, ...]] = [  # (ships-from, ships-to, origin, worldwide, destinations or None for "any")
    # a city names its country
    ("BANGKOK", None, "TH", False, []),
    # a truncated name shorter than five letters
    ("HONG", None, "HK", False, []),
    # 'outside X = FE' means worldwide with finalize-early, read today as X only
    (None, "ALL OF EU/OUTSIDE EU = FE", None, True, []),
    # 'S.AM' (South America) abbreviation
    (None, "WW EXCEPT RU & S.AM", None, True, []),
]


@pytest.mark.parametrize(("frm", "to", "origin", "worldwide", "dests"),
                         [pytest.param(*r, id=f"xfail: {r[0] or r[1]}", marks=pytest.mark.xfail(strict=True))
                          for r in KNOWN_SHIPPING_FAILURES])
def test_known_shipping_failures(frm: str | None, to: str | None, origin: str | None, worldwide: bool,
                                 dests: list[str]) -> None:
    s = parse_shipping(frm, to)
    assert s.ok and s.origin == origin and s.ships_worldwide is worldwide and s.destinations == dests
    if to and "S.AM" in to:
        assert "BR" in s.destinations_excluded


@pytest.mark.parametrize("text", [pytest.param(t, id=f"not-one-origin: {t}") for t in [
    "EXCEPT CANADA", "CANADAUS", "FRANCEGERMANY SPAIN", "GERMANY MARS & JUPITER"]])
def test_an_origin_is_one_country_read_whole(text: str) -> None:
    """A ships-from cell naming several places, or a place among other words, is no single origin."""
    assert parse_shipping(text, None).origin is None


def test_anywhere_spelt_apart_is_worldwide() -> None:
    assert parse_shipping(None, "ANY WHERE").ships_worldwide
