"""Coverage lists of issue 14 (class 5): strains, brands, imprints, street names, medicines, NPS.

The name-only files (instrument "other") point at substances defined elsewhere; these tests
keep them honest: every file validates, a name means one substance across all files, a name
file never changes a substance's class or controls, strains stay cannabis, "Green Crack" is a
strain and analogues keep their own names. Titles below are written for the tests (no real
listing text).
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from enrich.lists import DATA_DIR, check_file, default_lists
from enrich.matcher import match
from enrich.normalize import name_key

NAME_FIELDS = ("synonyms", "abbreviations", "street_names", "context_names", "descriptor_names")
NEW_FILES = ("cannabis_strains.yaml", "brands.yaml", "street_names.yaml", "medicines.yaml")
NAME_ONLY_FILES = ("cannabis_strains.yaml", "brands.yaml", "street_names.yaml")


def _docs() -> dict[str, dict]:
    docs = {}
    for path in sorted(DATA_DIR.glob("*.yaml")):
        doc, errors = check_file(path)
        assert errors == [], errors
        docs[path.name] = doc
    return docs


def _names(entry: dict) -> list[str]:
    return [entry["name"], *(n for f in NAME_FIELDS for n in entry.get(f, []))]


def test_new_files_validate_and_carry_sources() -> None:
    docs = _docs()
    assert set(NEW_FILES) <= set(docs)
    for name in NEW_FILES:
        doc = docs[name]
        assert doc["instrument"] == "other", name  # names only or uncontrolled: no control string of their own
        assert doc["source"].strip() and doc["source_url"].startswith("https://")
    for name in NAME_ONLY_FILES:
        # names-only files say per entry where the names come from
        assert all(isinstance(e.get("source"), str) and e["source"].strip() for e in docs[name]["entries"]), name


def test_a_name_means_one_substance_across_all_files() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    for file_name, doc in _docs().items():
        for entry in doc["entries"]:
            for text in _names(entry):
                owners[name_key(text)].add(entry["name"])
                where[name_key(text)].add(file_name)
    clashes = {key: (sorted(c), sorted(where[key])) for key, c in owners.items() if len(c) > 1}
    assert clashes == {}
    # and the loader agrees: no name skipped because an earlier file took it
    assert default_lists().warnings == []


def test_name_files_point_at_defined_substances_with_the_same_class() -> None:
    docs = _docs()
    defined: dict[str, str] = {}
    for file_name, doc in docs.items():
        if file_name in NAME_ONLY_FILES:
            continue
        for entry in doc["entries"]:
            defined.setdefault(entry["name"], entry["class"])
    for file_name in NAME_ONLY_FILES:
        for entry in docs[file_name]["entries"]:
            assert entry["name"] in defined, f"{file_name}:{entry['__line__']}: {entry['name']!r} is defined in no list"
            # the first file loaded sets the class: a name file must not change it
            assert entry["class"] == defined[entry["name"]], f"{file_name}:{entry['__line__']}"
            assert "schedule" not in entry and "year_added" not in entry and "cas" not in entry


def test_context_and_descriptor_names_keep_their_kind() -> None:
    """A word listed as context-only (or descriptor) anywhere stays so after merging: no solid twin."""
    lists = default_lists()
    for doc in _docs().values():
        for entry in doc["entries"]:
            for text in [*entry.get("context_names", []), *entry.get("descriptor_names", [])]:
                assert lists.names[name_key(text)].context_only, text
            for text in entry.get("descriptor_names", []):
                assert lists.names[name_key(text)].descriptor, text


@pytest.mark.parametrize(
    ("name", "controls"),
    [
        ("cannabis", ["1961:I"]),
        ("cannabis resin", ["1961:I"]),
        ("THC", ["1971:II"]),
        ("alprazolam", ["1971:IV"]),
        ("oxycodone", ["1961:I"]),
        ("TMA", ["1971:I"]),
        ("TMA-2", ["1971:I"]),
        ("4-CMA", ["nps-ews"]),
        ("dimethylone", ["nps-ews"]),
        ("fluorexetamine", ["nps-ews"]),
        ("tadalafil", []),
        ("testosterone", []),
    ],
)
def test_merged_controls(name: str, controls: list[str]) -> None:
    assert default_lists().substances[name].controls == controls


def test_strains_and_cannabis_products_map_to_cannabis() -> None:
    docs = _docs()
    canonicals = {e["name"] for e in docs["cannabis_strains.yaml"]["entries"]}
    assert canonicals == {"cannabis", "cannabis resin", "THC"}
    strains = [n for e in docs["cannabis_strains.yaml"]["entries"] if e["name"] == "cannabis"
               for f in NAME_FIELDS for n in e.get(f, [])]
    assert len(strains) >= 300
    lists = default_lists()
    for text in strains:
        assert lists.names[name_key(text)].canonical == "cannabis", text


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("7g Green Crack AAA indoor", ["cannabis"]),
        ("3.5g Jack Herer top shelf", ["cannabis"]),
        ("28g Blue Dream", ["cannabis"]),
        ("14g Girl Scout Cookies", ["cannabis"]),
        ("5g Zkittlez", ["cannabis"]),
        ("10g dry sift", ["cannabis resin"]),
        ("5g kief", ["cannabis resin"]),
        ("1g live resin", ["THC"]),
        ("10ml rick simpson oil", ["THC"]),
        ("Cialis 20mg 30 pills", ["tadalafil"]),
        ("Sustanon 250 10ml vial", ["testosterone"]),
        ("Anavar 10mg 100 tabs", ["oxandrolone"]),
        ("Nolvadex 20mg 30 tabs", ["tamoxifen"]),
        ("Cytotec 200mcg 28 tabs", ["misoprostol"]),
        ("Cenforce 100mg 50 pills", ["sildenafil"]),
        ("Co-Codamol 30/500 x 100", ["codeine"]),
        ("100x M30 pressed", ["oxycodone"]),
        ("50x S 90 3 bars", ["alprazolam"]),
        ("synthetic china white 1g", ["fentanyl"]),
        ("5F-AB-PINACA 1g", ["5F-AB-PINACA"]),
        ("ADB-PINACA 1g", ["ADB-PINACA"]),
        ("4F-ADB 10g", ["4F-MDMB-BINACA"]),
        ("JWH-073 5g", ["JWH-073"]),
        ("dimethylone 5g", ["dimethylone"]),
        ("dimethylbutylone 10g", ["dibutylone"]),
        ("5-MeO-DALT 1g", ["5-MeO-DALT"]),
        ("fluorexetamine 1g", ["fluorexetamine"]),
        ("FXE 1g", ["fluorexetamine"]),
        ("2F-DCK 1g", ["2-FDCK"]),
        ("3-Cl-PCP 1g", ["3-Cl-PCP"]),
        ("N-desethyl protonitazene 100mg", ["N-desethyl protonitazene"]),
    ],
)
def test_coverage_titles(title: str, expected: list[str]) -> None:
    assert [m.canonical for m in match(title)] == expected


@pytest.mark.parametrize(
    ("title", "not_expected"),
    [
        ("7g Green Crack AAA indoor", "cocaine"),
        ("FXE 1g", "2-FDCK"),
        ("fluorexetamine 1g", "2-FDCK"),
        ("5F-AB-PINACA 1g", "AB-PINACA"),
        ("ADB-PINACA 1g", "AB-PINACA"),
        ("dimethylbutylone 10g", "butylone"),
        ("5-MeO-MALT 1g", "5-MeO-DMT"),
        ("Tusi 1g pink", "2C-B"),  # tusi blends: no substance named (tests/data/README.md)
        ("China White 1g", "fentanyl"),  # ambiguous alone: heroin or fentanyl
        ("China White 1g", "heroin"),
    ],
)
def test_names_that_must_not_match(title: str, not_expected: str) -> None:
    assert not_expected not in [m.canonical for m in match(title)]


def test_crack_still_means_cocaine() -> None:
    assert [m.canonical for m in match("3.5g crack cocaine rocks")] == ["cocaine"]


def test_shipped_name_count_grew() -> None:
    """Guard against a file silently dropping out of the package data."""
    lists = default_lists()
    assert len(lists.names) >= 2500
    assert {"tadalafil", "JWH-073", "5Cl-AKB48", "mexedrone", "25B-NBOH", "escaline", "HDEP-28"} <= set(lists.substances)


@pytest.mark.parametrize(
    "title",
    [
        "Mastering Python networking ebook",  # 'masteron' is context-only: no fuzzy reading
        "Trados Studio 2022 license key",  # 'tradol'
        "SpellForce game key",  # 'cenforce'
        "Steezy Studio premium account",  # 'stiiizy'
        "Dezyred account with credits",  # 'desyrel'
        "aged account with cookies for login",  # a strain name must not be read out of ordinary words
        "autologger 1.6 private",  # 'autoflower'
    ],
)
def test_brand_and_strain_names_do_not_fuzz_into_ordinary_words(title: str) -> None:
    assert match(title) == []


@pytest.mark.parametrize(
    ("title", "not_expected"),
    [
        ("purest quality 5g", "methaqualone"),  # 'parest' (a historic brand) is not listed: it fuzzed 'purest'
        ("duloxetine 60mg x 28", "dapoxetine"),  # listed itself, so never read as its neighbour
        ("trestolone acetate 50mg", "testolone"),
        ("tamodex 20mg", "tramadol"),
        ("use cookies to log in, 1 account $5", "cannabis"),
    ],
)
def test_lookalike_words_keep_their_own_reading(title: str, not_expected: str) -> None:
    assert not_expected not in [m.canonical for m in match(title)]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("1G Bolivian Free Base 91%", ["cocaine"]),  # 'free base' alone: cocaine freebase
        ("DMT free base 1g", ["DMT"]),  # a descriptor of the named drug, not a second one
    ],
)
def test_free_base_is_a_descriptor(title: str, expected: list[str]) -> None:
    assert [m.canonical for m in match(title)] == expected


@pytest.mark.parametrize(
    "title",
    [
        "K9 proof smell proof bags 100 pcs",  # 'K9' (an oxycodone imprint) is a descriptor: not alone
        "Samsung Galaxy M30 unlocked $120",  # nor 'M30'
        "MENT account settings",  # 'MENT' (trestolone) is context-only
    ],
)
def test_ambiguous_imprints_need_drug_context(title: str) -> None:
    assert match(title) == []
