"""Hand-labelled real gold sets (issue 14): load the labels and read their text back.

The labels in `tests/data/gold/titles_<dataset>.jsonl` reference rows of the
public real data in `../shared/real-data/` by dataset, file and row number; no
listing text is stored in the project. `tests/data/README.md` documents the
format and the labelling rules.

Row numbers: the 0-based index of the data row as Python's `csv.reader` yields it
after the header row, reading the file as UTF-8 text with `newline=""` (gzip
files decompressed first). The text is the cell of the dataset's title column,
unchanged (no stripping); `text_sha` is the first 12 hex digits of the SHA-256
of that cell's UTF-8 bytes, so a changed source file is detected.

Typical use (a bench or a test):

    for label, title in labelled_titles(real_data_dir):
        predicted = match(title)
        ...compare with label.offered / label.mentioned / label.none
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "data" / "gold"
CONTROL_LIST_DIR = Path(__file__).resolve().parents[1] / "enrich" / "data"

SAMPLE_KINDS = ("random", "targeted")


@dataclass(frozen=True)
class SourceSpec:
    """Where a dataset's titles live and which columns hold the title and market."""

    file: str
    title_column: str
    category_column: str | None
    market_column: str | None  # None: every row belongs to `market`
    market: str | None = None


# One entry per dataset folder in ../shared/real-data that the gold sets use.
SOURCES: dict[str, SourceSpec] = {
    "torrez-2021": SourceSpec("Product_dataset_new.csv.gz", "product", "highest_category", None, "torrez"),
    "darkmatter-2024": SourceSpec("Darkmarket.csv.gz", "Name", "Category", None, "darkmatter"),
    "alphabay-grams-2015": SourceSpec("Alpha.csv.gz", "name", None, None, "alphabay"),
    "crc-dwdata-2020-2024": SourceSpec("listings_dedup.csv.gz", "title", "category", "market"),
    "medrepro-2025": SourceSpec("filtered_medicines_llm.csv.gz", "listing_title", "category", "market_name"),
}

_LABEL_FIELDS = {
    "dataset": str,
    "file": str,
    "row": int,
    "text_sha": str,
    "market": str,
    "category": str,
    "offered": list,
    "mentioned": list,
    "unlisted": list,
    "none": bool,
    "sample": str,
}
_OPTIONAL_FIELDS = {"note": str}


class GoldSetError(ValueError):
    """A label file breaks the format (message names file, line and field)."""


@dataclass(frozen=True)
class TitleLabel:
    """What a human read in one listing title."""

    dataset: str
    file: str
    row: int
    text_sha: str
    market: str
    category: str
    offered: tuple[str, ...]
    mentioned: tuple[str, ...]
    unlisted: tuple[str, ...]
    none: bool
    sample: str
    note: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.dataset, self.file, self.row)


def text_sha(text: str) -> str:
    """Short fingerprint of a title: first 12 hex digits of SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _parse_label(record: object, where: str) -> TitleLabel:
    if not isinstance(record, dict):
        raise GoldSetError(f"{where}: a label must be a JSON object")
    unknown = set(record) - set(_LABEL_FIELDS) - set(_OPTIONAL_FIELDS)
    if unknown:
        raise GoldSetError(f"{where}: unknown field(s) {sorted(unknown)}")
    for field, kind in _LABEL_FIELDS.items():
        if field not in record:
            raise GoldSetError(f"{where}: field {field!r} is missing")
        value = record[field]
        # bool is a subclass of int: a row number must not be true/false
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise GoldSetError(f"{where}: field {field!r} must be {kind.__name__}, got {value!r}")
    for field in ("offered", "mentioned", "unlisted"):
        if not all(isinstance(name, str) and name.strip() == name and name for name in record[field]):
            raise GoldSetError(f"{where}: field {field!r} must hold non-empty trimmed names")
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        raise GoldSetError(f"{where}: field 'note' must be str")
    if record["sample"] not in SAMPLE_KINDS:
        raise GoldSetError(f"{where}: field 'sample' must be one of {SAMPLE_KINDS}")
    if record["dataset"] not in SOURCES:
        raise GoldSetError(f"{where}: field 'dataset' {record['dataset']!r} is not one of {sorted(SOURCES)}")
    if record["file"] != SOURCES[record["dataset"]].file:
        raise GoldSetError(f"{where}: field 'file' must be {SOURCES[record['dataset']].file!r}")
    if record["row"] < 0:
        raise GoldSetError(f"{where}: field 'row' must be >= 0")
    if record["none"] and record["offered"]:
        raise GoldSetError(f"{where}: a listing with none=true offers no substance")
    if not set(record["unlisted"]) <= set(record["offered"]):
        raise GoldSetError(f"{where}: field 'unlisted' must be a subset of 'offered'")
    return TitleLabel(
        dataset=record["dataset"],
        file=record["file"],
        row=record["row"],
        text_sha=record["text_sha"],
        market=record["market"],
        category=record["category"],
        offered=tuple(record["offered"]),
        mentioned=tuple(record["mentioned"]),
        unlisted=tuple(record["unlisted"]),
        none=record["none"],
        sample=record["sample"],
        note=note,
    )


def load_title_labels(gold_dir: Path = GOLD_DIR) -> list[TitleLabel]:
    """Every title label of every `titles_*.jsonl` file, in file order.

    Raises GoldSetError naming file, line and field on a malformed label or on a
    row labelled twice.
    """
    labels: list[TitleLabel] = []
    seen: dict[tuple[str, str, int], str] = {}
    for path in sorted(gold_dir.glob("titles_*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path.name}:{line_number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise GoldSetError(f"{where}: not JSON ({error.msg})") from error
                label = _parse_label(record, where)
                if label.key in seen:
                    raise GoldSetError(f"{where}: row {label.row} already labelled at {seen[label.key]}")
                seen[label.key] = where
                labels.append(label)
    return labels


@lru_cache(maxsize=8)
def read_source_rows(real_data_dir: Path, dataset: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and data rows of a dataset's file, exactly as `csv.reader` yields them."""
    path = real_data_dir / dataset / SOURCES[dataset].file
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader))
        rows = tuple(tuple(row) for row in reader)
    return header, rows


def _cell(real_data_dir: Path, dataset: str, row: int, column: str) -> str:
    header, rows = read_source_rows(real_data_dir, dataset)
    # header.index: the first column of that name (medrepro repeats two names)
    return rows[row][header.index(column)]


def source_title(real_data_dir: Path, dataset: str, row: int) -> str:
    """The title text of one data row (IndexError when the row does not exist)."""
    return _cell(real_data_dir, dataset, row, SOURCES[dataset].title_column)


def source_category(real_data_dir: Path, dataset: str, row: int) -> str:
    spec = SOURCES[dataset]
    return _cell(real_data_dir, dataset, row, spec.category_column) if spec.category_column else ""


def source_market(real_data_dir: Path, dataset: str, row: int) -> str:
    spec = SOURCES[dataset]
    if spec.market_column is None:
        return spec.market or dataset
    return _cell(real_data_dir, dataset, row, spec.market_column)


def labelled_titles(real_data_dir: Path, gold_dir: Path = GOLD_DIR) -> Iterator[tuple[TitleLabel, str]]:
    """Each label with its title text read from the real data."""
    for label in load_title_labels(gold_dir):
        yield label, source_title(real_data_dir, label.dataset, label.row)


def listed_substance_names(list_dir: Path = CONTROL_LIST_DIR) -> frozenset[str]:
    """Canonical `name` of every entry of the control lists (enrich/data/*.yaml).

    A label's offered name is either one of these or also appears in `unlisted`.
    """
    import yaml  # local: only benches/tests that compare against the lists need it

    names: set[str] = set()
    for path in sorted(list_dir.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.update(str(entry["name"]) for entry in document.get("entries") or [])
    return frozenset(names)
