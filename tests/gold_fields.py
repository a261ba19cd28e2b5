"""Hand-labelled real gold sets for the field parsers (issue 14): shipping, quantity and price.

The labels live in `tests/data/gold/shipping_<dataset>.jsonl` and
`tests/data/gold/quantity_price_<dataset>.jsonl`. Each label points at text in the
public real data (`../shared/real-data/`); no listing text is stored in the project.
`tests/data/README.md` ("Field gold sets") documents the format and labelling rules.

How a label finds its text:
- CSV datasets: `row` is the 0-based index of the data row as `csv.reader` yields it
  after the header row (file opened as text with `newline=""`, gzip decompressed,
  the dataset's encoding and delimiter from `SOURCES`); `refs` maps a role
  ("from", "to", "title", "price", ...) to a column name. The text is the cell, unchanged.
- HTML pages: `row` is null and `refs` maps a role to an XPath that selects exactly
  one element; the text is that element's text content with runs of whitespace
  collapsed to one space and the ends stripped (HTML whitespace carries no meaning).
- `text_sha` maps each role to the first 12 hex digits of the SHA-256 of that text's
  UTF-8 bytes, so a changed source file is detected.

Typical use (a bench or a test):

    for label, texts in labelled_shipping(real_data_dir):
        result = parse_shipping(texts.get("from"), texts.get("to"))
        ...compare with label.origin / label.destinations / label.excluded
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

GOLD_DIR = Path(__file__).resolve().parent / "data" / "gold"
SAMPLE_KINDS = ("random", "targeted")


@dataclass(frozen=True)
class CsvSource:
    encoding: str = "utf-8"
    delimiter: str = ","


# (dataset, file) -> how to read it; a file ending in .htm/.html or without a suffix under
# msc-darkweb-scraping is an HTML page (see `_is_html`).
SOURCES: dict[tuple[str, str], CsvSource] = {
    ("agora-shipping-strings", "destination_clean.csv"): CsvSource(delimiter=";"),
    ("agora-shipping-strings", "origin_clean.csv"): CsvSource(delimiter=";"),
    ("torrez-2021", "Product_dataset_new.csv.gz"): CsvSource(),
    ("darkmatter-2024", "Darkmarket.csv.gz"): CsvSource(),
    ("silkroad2-2014", "dump-09-27-2014.csv.gz"): CsvSource(),
    ("medrepro-2025", "filtered_medicines_llm.csv.gz"): CsvSource(),
    ("tochka-vape-2019", "tochka.csv"): CsvSource(encoding="cp1252"),  # not UTF-8 (stray 0xC4 bytes)
    ("alphabay-grams-2015", "Alpha.csv.gz"): CsvSource(),
    ("crc-dwdata-2020-2024", "listings_dedup.csv.gz"): CsvSource(),
}
HTML_DATASETS = ("hansa-2017-html", "msc-darkweb-scraping")

# Region codes used in `destinations` / `excluded` (and `origin_region`), with the key of
# parsers.regions.REGIONS that defines their members. Two-letter codes other than these
# are ISO 3166-1 alpha-2 countries.
REGION_KEYS: dict[str, str | None] = {
    "WW": None,  # worldwide: the parser's ships_worldwide
    "EU": "eu", "EEA": "eea", "SCHENGEN": "schengen", "EUROPE": "europe",
    "SCANDINAVIA": "scandinavia", "NORDICS": "nordics", "BENELUX": "benelux", "DACH": "dach",
    "BALKANS": "balkans", "NORTH_AMERICA": "north america", "SOUTH_AMERICA": "south america",
    "LATIN_AMERICA": "latin america", "CENTRAL_AMERICA": "central america", "ASIA": "asia",
    "AFRICA": "africa", "OCEANIA": "oceania", "MIDDLE_EAST": "middle east", "ANTARCTICA": "antarctica(c)",
}
MASS_UNITS_G: dict[str, float] = {"g": 1.0, "mg": 0.001, "ug": 0.000001, "kg": 1000.0, "oz": 28.35, "lb": 453.59}
QUANTITY_UNITS = (*MASS_UNITS_G, "ml", "l", "unit")
DOSE_UNITS = ("mg", "ug", "g", "mg/ml", "ug/ml", "%", "iu", "mcg")
CURRENCIES = ("USD", "EUR", "GBP", "BTC", "XMR", "AUD", "CAD", "CHF", "SEK", "PLN")
_ISO2 = re.compile(r"^[A-Z]{2}$")


class GoldFieldError(ValueError):
    """A label file breaks the format (message names file, line and field)."""


@dataclass(frozen=True)
class ShippingOptionLabel:
    method: str | None
    tracked: bool | None
    days_min: float | None
    days_max: float | None
    cost: float | None
    currency: str | None


@dataclass(frozen=True)
class ShippingLabel:
    """What a human read in a ships-from / ships-to pair, a one-string form or a shipping option."""

    dataset: str
    file: str
    row: int | None
    refs: dict[str, str]
    text_sha: dict[str, str]
    sample: str
    origin: str | None  # ISO alpha-2, "XX" (stated but worldwide/unknown/region) or None (not in the text)
    origin_region: str | None  # region code when the origin names a region
    destinations: tuple[str, ...] | None  # None: the text has no ships-to part
    excluded: tuple[str, ...]
    domestic_only: bool
    option: ShippingOptionLabel | None
    note: str | None

    @property
    def key(self) -> tuple[str, str, int | None, tuple[tuple[str, str], ...]]:
        return (self.dataset, self.file, self.row, tuple(sorted(self.refs.items())))

    @property
    def ships_worldwide(self) -> bool:
        return self.destinations is not None and "WW" in self.destinations


@dataclass(frozen=True)
class QuantityPriceLabel:
    """What a human read in a listing's title and price strings."""

    dataset: str
    file: str
    row: int | None
    refs: dict[str, str]
    text_sha: dict[str, str]
    sample: str
    quantity: dict[str, Any] | None  # value, unit, count, value_max, form
    dose: dict[str, Any] | None  # value, unit (strength per item or concentration)
    grams: float | None  # total mass of the (first) offer in grams
    price: dict[str, Any] | None  # amount, currency, amount_max
    per_unit: dict[str, Any] | None  # amount, currency, value, unit
    note: str | None

    @property
    def key(self) -> tuple[str, str, int | None, tuple[tuple[str, str], ...]]:
        return (self.dataset, self.file, self.row, tuple(sorted(self.refs.items())))


def text_sha(text: str) -> str:
    """Short fingerprint of a text: first 12 hex digits of SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _is_html(dataset: str) -> bool:
    return dataset in HTML_DATASETS


@lru_cache(maxsize=4)
def _iso2_codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}  # Kosovo: user-assigned, widely used


def _is_place(code: object) -> bool:
    return isinstance(code, str) and (code in REGION_KEYS or code in _iso2_codes())


# ---------------------------------------------------------------- reading the real data


@lru_cache(maxsize=12)
def read_csv_rows(real_data_dir: Path, dataset: str, file: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and data rows of a CSV source, exactly as `csv.reader` yields them."""
    spec = SOURCES[(dataset, file)]
    path = real_data_dir / dataset / file
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding=spec.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=spec.delimiter)
        header = tuple(next(reader))
        rows = tuple(tuple(row) for row in reader)
    return header, rows


@lru_cache(maxsize=16)
def _html_tree(real_data_dir: Path, dataset: str, file: str) -> Any:
    import lxml.html

    return lxml.html.parse(str(real_data_dir / dataset / file))


def source_texts(real_data_dir: Path, dataset: str, file: str, row: int | None,
                 refs: dict[str, str]) -> dict[str, str]:
    """Role -> text for one label (KeyError/IndexError/LookupError when the reference is gone)."""
    texts: dict[str, str] = {}
    if _is_html(dataset):
        tree = _html_tree(real_data_dir, dataset, file)
        for role, xpath in refs.items():
            found = tree.xpath(xpath)
            if len(found) != 1:
                raise LookupError(f"{dataset}/{file}: XPath {xpath!r} selects {len(found)} elements, not 1")
            texts[role] = " ".join(found[0].text_content().split())
        return texts
    header, rows = read_csv_rows(real_data_dir, dataset, file)
    assert row is not None
    for role, column in refs.items():
        # header.index: the first column of that name (medrepro repeats two names)
        texts[role] = rows[row][header.index(column)]
    return texts


# ---------------------------------------------------------------- validating labels


def _common(record: object, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise GoldFieldError(f"{where}: a label must be a JSON object")
    unknown = set(record) - allowed
    if unknown:
        raise GoldFieldError(f"{where}: unknown field(s) {sorted(unknown)}")
    for field in ("dataset", "file", "refs", "text_sha", "sample"):
        if field not in record:
            raise GoldFieldError(f"{where}: field {field!r} is missing")
    dataset, file = record["dataset"], record["file"]
    if not _is_html(dataset) and (dataset, file) not in SOURCES:
        raise GoldFieldError(f"{where}: field 'file': {dataset}/{file} is not a known source")
    row = record.get("row")
    if _is_html(dataset):
        if row is not None:
            raise GoldFieldError(f"{where}: field 'row' must be null for an HTML page (refs are XPaths)")
    elif not isinstance(row, int) or isinstance(row, bool) or row < 0:
        raise GoldFieldError(f"{where}: field 'row' must be an int >= 0, got {row!r}")
    refs, shas = record["refs"], record["text_sha"]
    if not isinstance(refs, dict) or not refs or not all(isinstance(v, str) and v for v in refs.values()):
        raise GoldFieldError(f"{where}: field 'refs' must map roles to column names / XPaths")
    if not isinstance(shas, dict) or set(shas) != set(refs):
        raise GoldFieldError(f"{where}: field 'text_sha' must have one entry per role of 'refs'")
    if not all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{12}", v) for v in shas.values()):
        raise GoldFieldError(f"{where}: field 'text_sha' values must be 12 lower-case hex digits")
    if record["sample"] not in SAMPLE_KINDS:
        raise GoldFieldError(f"{where}: field 'sample' must be one of {SAMPLE_KINDS}")
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        raise GoldFieldError(f"{where}: field 'note' must be a string")
    return record


def _number(value: object, where: str, field: str, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise GoldFieldError(f"{where}: field {field!r} must be a number >= 0, got {value!r}")
    return float(value)


_SHIP_FIELDS = {"dataset", "file", "row", "refs", "text_sha", "sample", "origin", "origin_region",
                "destinations", "excluded", "domestic_only", "option", "note"}
_OPTION_FIELDS = {"method", "tracked", "days_min", "days_max", "cost", "currency"}


def parse_shipping_label(record: object, where: str) -> ShippingLabel:
    rec = _common(record, where, _SHIP_FIELDS)
    roles = set(rec["refs"])
    if not roles <= {"from", "to", "option"}:
        raise GoldFieldError(f"{where}: field 'refs': shipping roles are 'from', 'to', 'option'")
    origin = rec.get("origin")
    if origin is not None and origin != "XX" and origin not in _iso2_codes():
        raise GoldFieldError(f"{where}: field 'origin' must be an ISO alpha-2 code, 'XX' or null, got {origin!r}")
    region = rec.get("origin_region")
    if region is not None and (origin != "XX" or region not in REGION_KEYS):
        raise GoldFieldError(f"{where}: field 'origin_region' needs origin 'XX' and a region code")
    destinations = rec.get("destinations")
    if destinations is not None and (not isinstance(destinations, list) or not all(map(_is_place, destinations))):
        raise GoldFieldError(f"{where}: field 'destinations' must be a list of ISO alpha-2 / region codes or null")
    excluded = rec.get("excluded", [])
    if not isinstance(excluded, list) or not all(map(_is_place, excluded)) or "WW" in excluded:
        raise GoldFieldError(f"{where}: field 'excluded' must be a list of ISO alpha-2 / region codes")
    if excluded and destinations is None:
        raise GoldFieldError(f"{where}: field 'excluded' needs 'destinations'")
    domestic = rec.get("domestic_only", False)
    if not isinstance(domestic, bool):
        raise GoldFieldError(f"{where}: field 'domestic_only' must be true/false")
    option_rec = rec.get("option")
    option = None
    if option_rec is not None:
        if "option" not in roles or not isinstance(option_rec, dict) or set(option_rec) - _OPTION_FIELDS:
            raise GoldFieldError(f"{where}: field 'option' must be an object with {sorted(_OPTION_FIELDS)}")
        tracked = option_rec.get("tracked")
        currency = option_rec.get("currency")
        if tracked is not None and not isinstance(tracked, bool):
            raise GoldFieldError(f"{where}: field 'option.tracked' must be true/false/null")
        if currency is not None and currency not in CURRENCIES:
            raise GoldFieldError(f"{where}: field 'option.currency' must be one of {CURRENCIES}")
        option = ShippingOptionLabel(
            method=option_rec.get("method"), tracked=tracked,
            days_min=_number(option_rec.get("days_min"), where, "option.days_min"),
            days_max=_number(option_rec.get("days_max"), where, "option.days_max"),
            cost=_number(option_rec.get("cost"), where, "option.cost"), currency=currency)
    elif "option" in roles:
        raise GoldFieldError(f"{where}: a label with an 'option' ref needs field 'option'")
    if "to" in roles and destinations is None:
        raise GoldFieldError(f"{where}: a label with a 'to' ref needs 'destinations' (a list, maybe empty)")
    return ShippingLabel(
        dataset=rec["dataset"], file=rec["file"], row=rec.get("row"), refs=dict(rec["refs"]),
        text_sha=dict(rec["text_sha"]), sample=rec["sample"], origin=origin, origin_region=region,
        destinations=None if destinations is None else tuple(destinations), excluded=tuple(excluded),
        domestic_only=domestic, option=option, note=rec.get("note"))


_QP_FIELDS = {"dataset", "file", "row", "refs", "text_sha", "sample", "quantity", "dose", "grams", "price",
              "per_unit", "note"}


def _check_money(value: object, where: str, field: str, extra: set[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - ({"amount", "currency"} | extra):
        raise GoldFieldError(f"{where}: field {field!r} must be an object with amount, currency")
    _number(value.get("amount"), where, f"{field}.amount", optional=False)
    if value.get("currency") not in CURRENCIES:
        raise GoldFieldError(f"{where}: field '{field}.currency' must be one of {CURRENCIES}")
    return value


def parse_quantity_price_label(record: object, where: str) -> QuantityPriceLabel:
    rec = _common(record, where, _QP_FIELDS)
    if not set(rec["refs"]) <= {"title", "price", "unit_price", "currency"}:
        raise GoldFieldError(f"{where}: field 'refs': roles are 'title', 'price', 'unit_price', 'currency'")
    quantity = rec.get("quantity")
    if quantity is not None:
        if not isinstance(quantity, dict) or set(quantity) - {"value", "unit", "count", "value_max", "form"}:
            raise GoldFieldError(f"{where}: field 'quantity' must be an object with value, unit, count")
        _number(quantity.get("value"), where, "quantity.value", optional=False)
        _number(quantity.get("value_max"), where, "quantity.value_max")
        if quantity.get("unit") not in QUANTITY_UNITS:
            raise GoldFieldError(f"{where}: field 'quantity.unit' must be one of {QUANTITY_UNITS}")
        count = quantity.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise GoldFieldError(f"{where}: field 'quantity.count' must be an int >= 1 or null")
        if quantity["unit"] == "unit" and count != quantity["value"]:
            raise GoldFieldError(f"{where}: countable quantity: 'count' must equal 'value'")
    dose = rec.get("dose")
    if dose is not None:
        if not isinstance(dose, dict) or set(dose) != {"value", "unit"} or dose["unit"] not in DOSE_UNITS:
            raise GoldFieldError(f"{where}: field 'dose' must be {{value, unit in {DOSE_UNITS}}}")
        _number(dose["value"], where, "dose.value", optional=False)
    grams = _number(rec.get("grams"), where, "grams")
    if quantity is not None and quantity["unit"] in MASS_UNITS_G:
        expected = quantity["value"] * MASS_UNITS_G[quantity["unit"]]
        if grams is None or abs(grams - expected) > 0.02 * expected + 1e-9:
            raise GoldFieldError(f"{where}: field 'grams' {grams!r} does not match quantity ({expected:g} g)")
    elif grams is not None:
        raise GoldFieldError(f"{where}: field 'grams' set but the quantity is not a mass")
    price = _check_money(rec.get("price"), where, "price", {"amount_max"})
    per_unit = _check_money(rec.get("per_unit"), where, "per_unit", {"value", "unit"})
    if per_unit is not None and per_unit.get("unit") not in QUANTITY_UNITS:
        raise GoldFieldError(f"{where}: field 'per_unit.unit' must be one of {QUANTITY_UNITS}")
    return QuantityPriceLabel(
        dataset=rec["dataset"], file=rec["file"], row=rec.get("row"), refs=dict(rec["refs"]),
        text_sha=dict(rec["text_sha"]), sample=rec["sample"], quantity=quantity, dose=dose, grams=grams,
        price=price, per_unit=per_unit, note=rec.get("note"))


# ---------------------------------------------------------------- loading


def _load(pattern: str, parse: Any, gold_dir: Path) -> list[Any]:
    labels: list[Any] = []
    seen: dict[Any, str] = {}
    for path in sorted(gold_dir.glob(pattern)):
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path.name}:{line_number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise GoldFieldError(f"{where}: not JSON ({error.msg})") from error
                label = parse(record, where)
                if label.key in seen:
                    raise GoldFieldError(f"{where}: the same text is already labelled at {seen[label.key]}")
                seen[label.key] = where
                labels.append(label)
    return labels


def load_shipping_labels(gold_dir: Path = GOLD_DIR) -> list[ShippingLabel]:
    """Every label of every `shipping_*.jsonl`, in file order (GoldFieldError on a bad one)."""
    return _load("shipping_*.jsonl", parse_shipping_label, gold_dir)


def load_quantity_price_labels(gold_dir: Path = GOLD_DIR) -> list[QuantityPriceLabel]:
    """Every label of every `quantity_price_*.jsonl`, in file order (GoldFieldError on a bad one)."""
    return _load("quantity_price_*.jsonl", parse_quantity_price_label, gold_dir)


def label_texts(real_data_dir: Path, label: ShippingLabel | QuantityPriceLabel) -> dict[str, str]:
    return source_texts(real_data_dir, label.dataset, label.file, label.row, label.refs)


def labelled_shipping(real_data_dir: Path, gold_dir: Path = GOLD_DIR) -> Iterator[tuple[ShippingLabel, dict[str, str]]]:
    """Each shipping label with its texts by role ("from", "to", "option")."""
    for label in load_shipping_labels(gold_dir):
        yield label, label_texts(real_data_dir, label)


def labelled_quantity_price(real_data_dir: Path,
                            gold_dir: Path = GOLD_DIR) -> Iterator[tuple[QuantityPriceLabel, dict[str, str]]]:
    """Each quantity/price label with its texts by role ("title", "price", "unit_price", "currency")."""
    for label in load_quantity_price_labels(gold_dir):
        yield label, label_texts(real_data_dir, label)


def expand_places(codes: tuple[str, ...] | list[str]) -> frozenset[str]:
    """ISO alpha-2 set named by label codes, regions expanded as parsers/regions.py defines them ("WW" dropped)."""
    from parsers.regions import REGIONS

    out: set[str] = set()
    for code in codes:
        if code in REGION_KEYS:
            key = REGION_KEYS[code]
            if key is not None:
                out |= REGIONS[key]
        else:
            out.add(code)
    return frozenset(out)
