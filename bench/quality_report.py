"""Helpers of bench/quality.py: read the hand-labelled gold sets, score substances, format tables.

The gold sets (`tests/data/gold/*.jsonl`, format in `tests/data/README.md`) reference rows
of the public real data by dataset, file and row; the text is read from there at run time.
This module reads them itself rather than importing `tests.gold_sets` / `tests.gold_fields`:
bench scripts should not depend on the test package (the same layering rule as product
code). The reading logic is deliberately minimal: the tests validate the label schema,
this module only checks that each referenced text still has its recorded fingerprint.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import TrawlError

# (dataset, file) -> (encoding, delimiter) for CSV sources whose reading differs from UTF-8 ","
CSV_READING: dict[tuple[str, str], tuple[str, str]] = {
    ("agora-shipping-strings", "destination_clean.csv"): ("utf-8", ";"),
    ("agora-shipping-strings", "origin_clean.csv"): ("utf-8", ";"),
    ("tochka-vape-2019", "tochka.csv"): ("cp1252", ","),  # not UTF-8 (stray 0xC4 bytes)
}
HTML_DATASETS = frozenset({"hansa-2017-html", "msc-darkweb-scraping"})
# title column of each title-gold dataset (the first column of that name: medrepro repeats two)
TITLE_COLUMNS = {"torrez-2021": "product", "darkmatter-2024": "Name", "alphabay-grams-2015": "name",
                 "crc-dwdata-2020-2024": "title", "medrepro-2025": "listing_title"}
# label region codes -> key of parsers.regions.REGIONS ("WW" is the worldwide flag)
REGION_KEYS: dict[str, str] = {
    "EU": "eu", "EEA": "eea", "SCHENGEN": "schengen", "EUROPE": "europe", "SCANDINAVIA": "scandinavia",
    "NORDICS": "nordics", "BENELUX": "benelux", "DACH": "dach", "BALKANS": "balkans",
    "NORTH_AMERICA": "north america", "SOUTH_AMERICA": "south america", "LATIN_AMERICA": "latin america",
    "CENTRAL_AMERICA": "central america", "ASIA": "asia", "AFRICA": "africa", "OCEANIA": "oceania",
    "MIDDLE_EAST": "middle east", "ANTARCTICA": "antarctica(c)",
}


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class GoldRecord:
    """One label line: its raw JSON object, where it came from and its texts by role."""

    where: str  # "file.jsonl:line"
    record: dict[str, Any]
    texts: dict[str, str]


def read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise TrawlError(f"{where}: not JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise TrawlError(f"{where}: a label must be a JSON object")
            yield where, record


@lru_cache(maxsize=16)
def csv_rows(real_data_dir: Path, dataset: str, file: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and rows exactly as csv.reader yields them (gzip decompressed, newline="")."""
    encoding, delimiter = CSV_READING.get((dataset, file), ("utf-8", ","))
    path = real_data_dir / dataset / file
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = tuple(next(reader))
            return header, tuple(tuple(row) for row in reader)
    except OSError as error:
        raise TrawlError(f"{path}: cannot read ({error})") from error


@lru_cache(maxsize=64)
def _html_tree(real_data_dir: Path, dataset: str, file: str) -> Any:
    import lxml.html

    path = real_data_dir / dataset / file
    if not path.is_file():
        raise TrawlError(f"{path}: file not found")
    return lxml.html.parse(str(path))


def cell(real_data_dir: Path, dataset: str, file: str, row: int, column: str) -> str:
    header, rows = csv_rows(real_data_dir, dataset, file)
    return rows[row][header.index(column)]


def _texts(real_data_dir: Path, record: dict[str, Any], where: str) -> dict[str, str]:
    """Role -> text of a field label (CSV columns or XPaths), fingerprints checked."""
    dataset, file, row = record["dataset"], record["file"], record.get("row")
    texts: dict[str, str] = {}
    for role, ref in record["refs"].items():
        try:
            if dataset in HTML_DATASETS:
                found = _html_tree(real_data_dir, dataset, file).xpath(ref)
                if len(found) != 1:
                    raise LookupError(f"XPath selects {len(found)} elements")
                texts[role] = " ".join(found[0].text_content().split())
            else:
                if not isinstance(row, int):
                    raise ValueError("a CSV label needs an integer 'row'")
                texts[role] = cell(real_data_dir, dataset, file, row, ref)
        except (LookupError, ValueError, TypeError) as error:
            raise TrawlError(f"{where}: {dataset}/{file} row {row} ref {role}={ref!r}: {error}") from error
        if text_sha(texts[role]) != record["text_sha"].get(role):
            raise TrawlError(f"{where}: field 'text_sha.{role}': the source text changed ({dataset}/{file} row {row})")
    return texts


def load_gold(real_data_dir: Path, gold_dir: Path, pattern: str, *,
              datasets: set[str] | None = None) -> list[GoldRecord]:
    """Every label of the `pattern` files with its texts (TrawlError names file:line on a broken one)."""
    out: list[GoldRecord] = []
    for path in sorted(gold_dir.glob(pattern)):
        for where, record in read_jsonl(path):
            try:
                if datasets and record["dataset"] not in datasets:
                    continue
                if pattern.startswith("titles_"):
                    column = TITLE_COLUMNS[record["dataset"]]
                    title = cell(real_data_dir, record["dataset"], record["file"], record["row"], column)
                    if text_sha(title) != record["text_sha"]:
                        raise TrawlError(f"{where}: field 'text_sha': the source title changed (row {record['row']})")
                    texts = {"title": title}
                else:
                    texts = _texts(real_data_dir, record, where)
            except KeyError as error:
                raise TrawlError(f"{where}: field {error} missing or unknown dataset/column") from error
            except IndexError as error:
                raise TrawlError(f"{where}: row {record.get('row')} is not in {record.get('file')}") from error
            out.append(GoldRecord(where, record, texts))
    return out


# ---------------------------------------------------------------- substance scoring


@dataclass
class Counts:
    """Micro-averaged counts: substances found (tp), invented (fp), missed (fn)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    titles: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.titles += other.titles

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None

    def to_dict(self) -> dict[str, Any]:
        return {"titles": self.titles, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": _round(self.precision), "recall": _round(self.recall), "f1": _round(self.f1)}


@dataclass
class TitleScore:
    found: list[tuple[str, str]] = field(default_factory=list)  # (predicted, label) pairs
    invented: list[str] = field(default_factory=list)  # predicted, matching no offered label
    missed: list[str] = field(default_factory=list)  # offered labels no prediction matched

    @property
    def counts(self) -> Counts:
        return Counts(tp=len(self.found), fp=len(self.invented), fn=len(self.missed), titles=1)


def score_title(offered: Iterable[str], predicted: Iterable[str], same: Callable[[str, str], bool]) -> TitleScore:
    """Pair each predicted name with at most one offered label it names (`same(predicted, label)`)."""
    score = TitleScore()
    open_labels = list(dict.fromkeys(offered))
    for name in dict.fromkeys(predicted):
        hit = next((label for label in open_labels if same(name, label)), None)
        if hit is None:
            score.invented.append(name)
        else:
            open_labels.remove(hit)
            score.found.append((name, hit))
    score.missed = open_labels
    return score


_MODIFIER_PREFIX = re.compile(
    r"^(5f|4f|5cl|5br|4cl|3cl|2f|3f|5meo|4meo|3meo|4aco|4ho|5meo|nethyl|nmethyl|bk|di|tri|nor|\d+[a-z]?)")
_FAMILY_SUFFIX = re.compile(r"(pinaca|fubinaca|chminaca|butinaca|binaca|pica|inaca|ica|nbome|nbf|nboh|nitazene|"
                            r"zolam|zepam|lone|pentedrone|pvp|dmt|alt|amt|pcp|pce|ketamine|fentanyl)$")


def collapse_kind(parent_keys: Iterable[str], matched_key: str, analogue_key: str) -> str | None:
    """How a wrongly predicted substance relates to a labelled analogue in the same title, if it does.

    Keys are enrich.normalize.name_key values: `parent_keys` the prediction's names,
    `matched_key` the text it matched, `analogue_key` the labelled analogue.
    "whole name": the analogue's full name matched another substance (fuzzy "ADB-PINACA" ->
    AB-PINACA); "contained": the matched text is a piece of the analogue's code ("abpinaca" read inside
    "5fabpinaca", "pcp" inside "3clpcp", "methylone" inside "dimethylone"); "family": the
    matched text and the analogue share a modifier prefix or a family suffix ("5meomalt"
    read as 5-MeO-DMT, "adbpinaca" as AB-PINACA). A street word elsewhere in the title
    ("speed" -> amphetamine next to a methamphetamine label) is no collapse.
    """
    if not matched_key:
        return None
    if matched_key == analogue_key:
        return "whole name"  # the analogue's own name fuzzily read as another substance
    if len(matched_key) >= 3 and matched_key in analogue_key:
        return "contained"
    a_pre, a_suf = _MODIFIER_PREFIX.match(analogue_key), _FAMILY_SUFFIX.search(analogue_key)
    for key in {matched_key, *parent_keys}:
        if key == analogue_key:
            continue
        pre, suf = _MODIFIER_PREFIX.match(key), _FAMILY_SUFFIX.search(key)
        m_pre, m_suf = _MODIFIER_PREFIX.match(matched_key), _FAMILY_SUFFIX.search(matched_key)
        if a_pre and pre and m_pre and a_pre.group(0) == pre.group(0) == m_pre.group(0) and len(a_pre.group(0)) >= 2:
            return "family"
        if a_suf and suf and m_suf and a_suf.group(0) == suf.group(0) == m_suf.group(0) and len(a_suf.group(0)) >= 3:
            return "family"
    return None


# ---------------------------------------------------------------- formatting


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [header, *rows]]
    return "\n".join(lines)


def counts_row(name: str, counts: Counts) -> list[str]:
    return [name, str(counts.titles), str(counts.tp), str(counts.fp), str(counts.fn),
            pct(counts.precision), pct(counts.recall), pct(counts.f1)]


COUNTS_HEADER = ["", "titles", "tp", "fp", "fn", "prec", "recall", "F1"]
