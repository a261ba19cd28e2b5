"""Reference lists: shipped files validate; schema errors name file/line/field; national lists merge."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import TrawlError
from enrich.lists import DATA_DIR, cas_is_valid, check_file, default_lists, load_reference_lists
from enrich.matcher import match

SHIPPED = sorted(DATA_DIR.glob("*.yaml"))


def test_shipped_files_validate_with_headers() -> None:
    assert {p.name for p in SHIPPED} >= {"un_1961.yaml", "un_1971.yaml", "un_1988.yaml", "incb_issl.yaml", "nps_ews.yaml"}
    for path in SHIPPED:
        doc, errors = check_file(path)
        assert errors == [], errors
        assert doc["source"] and doc["source_url"].startswith("https://") and doc["as_of"][:2] == "20"


@pytest.mark.parametrize(
    ("name", "controls", "year"),
    [
        ("mephedrone", ["1971:II"], 2015),
        ("3-methylmethcathinone", ["1971:II"], 2023),
        ("MDMA", ["1971:I"], 1985),
        ("heroin", ["1961:I", "1961:IV"], 1961),
        ("isotonitazene", ["1961:I"], 2021),
        ("etizolam", ["1971:IV"], 2020),
        ("APAAN", ["1988:I"], 2014),
        ("acetone", ["1988:II"], 1988),
        ("GBL", ["issl"], None),
        ("4-FMC", ["nps-ews"], None),
        ("ketamine", [], None),
        ("tramadol", [], None),
    ],
)
def test_known_controls(name: str, controls: list[str], year: int | None) -> None:
    sub = default_lists().substances[name]
    assert sub.controls == controls
    assert sub.year_added == year


def test_cas_check_digit() -> None:
    assert cas_is_valid("50-36-2")  # cocaine
    assert cas_is_valid("7732-18-5")  # water
    assert not cas_is_valid("50-36-3")
    assert not cas_is_valid("50362")
    # every shipped CAS passes its check digit (the loader refuses otherwise)
    assert all(cas_is_valid(s.cas) for s in default_lists().substances.values() if s.cas)


def test_cas_cross_check_with_drugbank(real_data_dir: Path) -> None:
    """Our CAS numbers agree with DrugBank's open vocabulary wherever both name the substance."""
    import csv

    path = real_data_dir / "DrugBank-vocabulary" / "drugbank_vocabulary.csv"
    rows = list(csv.reader(path.open(encoding="utf-8"), delimiter=";"))[2:]
    by_name = {r[2].lower(): r[3] for r in rows if r[3]}
    checked = 0
    for name in ("cocaine", "morphine", "codeine", "methadone", "fentanyl", "diazepam", "alprazolam", "ketamine", "ephedrine", "tramadol"):
        sub = default_lists().substances[name]
        assert sub.cas == by_name[name], name
        checked += 1
    assert checked == 10


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


HEADER = 'source: "test"\nsource_url: "https://example.org"\nas_of: "2025-01-01"\nversion: "1"\n'


def test_schema_errors_name_file_line_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", HEADER + 'instrument: "1971"\nentries:\n'
                 '  - {name: ok-one, class: x, schedule: II}\n'
                 '  - {name: bad-cas, class: x, schedule: II, cas: "50-36-3"}\n'
                 '  - {name: bad-schedule, class: x, schedule: V}\n'
                 '  - {name: split, class: x, schedule: I, synonyms: [3,4-mdxx]}\n'
                 '  - {name: typo, class: x, schedule: I, synonym: [a]}\n')
    _, errors = check_file(path)
    text = "\n".join(errors)
    assert f"{path}:8: field 'cas'" in text
    assert f"{path}:9: field 'schedule'" in text
    assert f"{path}:10: field 'synonyms'" in text
    assert f"{path}:11: unknown field(s) ['synonym']" in text
    with pytest.raises(TrawlError, match=r"bad\.yaml:8"):
        load_reference_lists([path])


def test_ambiguous_name_within_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "amb.yaml", HEADER + 'instrument: "xx"\nentries:\n'
                 '  - {name: alpha, class: x, synonyms: [zz-1]}\n'
                 '  - {name: beta, class: x, synonyms: [ZZ 1]}\n')
    _, errors = check_file(path)
    assert any("also belongs to 'alpha'" in e and ":8:" in e for e in errors)


def test_national_list_via_env_adds_controls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    national = write(tmp_path, "de_btmg.yaml", HEADER + 'instrument: "de-btmg"\nentries:\n'
                     '  - {name: ketamine, class: dissociative, schedule: III, synonyms: [ketamin-hydrochlorid]}\n'
                     '  - {name: tramadol, class: opioid, schedule: II}\n')
    monkeypatch.setenv("TRAWL_CONTROL_LISTS", str(national))
    lists = default_lists()
    assert lists.substances["ketamine"].controls == ["de-btmg:III"]
    assert any(info.instrument == "de-btmg" for info in lists.lists)
    found = match("Ketamin-Hydrochlorid 5g", lists=lists)
    assert [(m.canonical, m.controls) for m in found] == [("ketamine", ["de-btmg:III"])]


def test_missing_env_path_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_CONTROL_LISTS", "/nonexistent/list.yaml")
    with pytest.raises(TrawlError, match=r"/nonexistent/list\.yaml"):
        default_lists()


def test_cross_file_name_conflict_is_a_warning_not_a_takeover(tmp_path: Path) -> None:
    national = write(tmp_path, "x.yaml", HEADER + 'instrument: "xx"\nentries:\n  - {name: something-else, class: x, synonyms: [mephedrone]}\n')
    lists = load_reference_lists([DATA_DIR, national])
    assert lists.names["mephedrone"].canonical == "mephedrone"
    assert any("x.yaml:7" in w and "mephedrone" in w for w in lists.warnings)


def test_combination_brand_with_unknown_co_active_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "combo.yaml", HEADER + 'instrument: "other"\nentries:\n'
                 '  - {name: alpha, class: x}\n'
                 '  - {name: beta, class: x, combinations: {brandx: [alpha], brandy: [gamma]}}\n'
                 '  - {name: delta, class: x, combinations: {brandz: nope}}\n')
    _, errors = check_file(path)
    assert any(":9: field 'combinations'" in e for e in errors)
    good = write(tmp_path, "combo2.yaml", HEADER + 'instrument: "other"\nentries:\n'
                 '  - {name: alpha, class: x}\n'
                 '  - {name: beta, class: x, combinations: {brandx: [alpha], brandy: [gamma]}}\n')
    with pytest.raises(TrawlError, match=r"combo2\.yaml:8: field 'combinations': 'brandy' names \['gamma'\]"):
        load_reference_lists([good])
    lists = load_reference_lists([write(tmp_path, "combo3.yaml", HEADER + 'instrument: "other"\nentries:\n'
                                        '  - {name: alpha, class: x}\n'
                                        '  - {name: beta, class: x, combinations: {brandx: [alpha]}}\n')])
    assert lists.co_actives == {"brandx": ["alpha"]}
    assert lists.names["brandx"].canonical == "beta"
