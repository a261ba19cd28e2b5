"""The hand-labelled title gold sets (issue 14) are well-formed and point at real rows."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.gold_sets import (
    SOURCES,
    GoldSetError,
    TitleLabel,
    listed_substance_names,
    load_title_labels,
    source_category,
    source_market,
    source_title,
    text_sha,
)


@pytest.fixture(scope="module")
def labels() -> list[TitleLabel]:
    return load_title_labels()


def test_gold_sets_cover_enough_titles_and_markets(labels: list[TitleLabel]) -> None:
    assert len(labels) >= 1500
    assert len({label.dataset for label in labels}) >= 5
    per_dataset = Counter(label.dataset for label in labels)
    assert min(per_dataset.values()) >= 150, per_dataset
    random_per_dataset = Counter(label.dataset for label in labels if label.sample == "random")
    assert min(random_per_dataset.values()) >= 100, random_per_dataset
    # negatives and hard cases are both present
    assert sum(label.none for label in labels) >= 300
    assert sum(bool(label.mentioned) for label in labels) >= 20
    assert sum(label.sample == "targeted" for label in labels) >= 150


def test_unlisted_names_are_offered_names(labels: list[TitleLabel]) -> None:
    # `unlisted` records what was missing from the control lists when the label was written;
    # the lists grow afterwards, so it is checked for consistency with `offered`, not against
    # today's lists (bench/quality.py decides listed/unlisted from the current lists).
    listed = listed_substance_names()
    assert {"cannabis", "MDMA", "alprazolam"} <= listed
    for label in labels:
        assert set(label.unlisted) <= set(label.offered), (label.dataset, label.row)


def test_every_label_points_at_an_existing_row_with_the_same_text(real_data_dir: Path, labels: list[TitleLabel]) -> None:
    mismatches = []
    for label in labels:
        title = source_title(real_data_dir, label.dataset, label.row)
        assert title.strip(), (label.dataset, label.row)
        if text_sha(title) != label.text_sha:
            mismatches.append((label.dataset, label.row))
        assert source_market(real_data_dir, label.dataset, label.row) == label.market
        assert source_category(real_data_dir, label.dataset, label.row) == label.category
    assert not mismatches, f"source text changed for {mismatches[:5]}"


def test_source_files_are_the_ones_documented(real_data_dir: Path) -> None:
    for dataset, spec in SOURCES.items():
        assert (real_data_dir / dataset / spec.file).is_file(), dataset


def _write(tmp_path: Path, record: dict[str, object]) -> Path:
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "titles_x.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    return gold


GOOD = {
    "dataset": "torrez-2021", "file": "Product_dataset_new.csv.gz", "row": 3, "text_sha": "0" * 12,
    "market": "torrez", "category": "Hash", "offered": ["cannabis resin"], "mentioned": [],
    "unlisted": [], "none": False, "sample": "random",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"row": "3"}, "titles_x.jsonl:1: field 'row' must be int"),
        ({"sample": "handpicked"}, "titles_x.jsonl:1: field 'sample' must be one of"),
        ({"none": True}, "titles_x.jsonl:1: a listing with none=true offers no substance"),
        ({"unlisted": ["kief"]}, "titles_x.jsonl:1: field 'unlisted' must be a subset of 'offered'"),
        ({"file": "other.csv"}, "titles_x.jsonl:1: field 'file' must be"),
        ({"colour": "green"}, "titles_x.jsonl:1: unknown field(s) ['colour']"),
    ],
)
def test_malformed_labels_are_rejected_with_file_line_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    gold = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(GoldSetError) as raised:
        load_title_labels(gold)
    assert message in str(raised.value)


def test_a_row_labelled_twice_is_rejected(tmp_path: Path) -> None:
    gold = _write(tmp_path, GOOD)
    with (gold / "titles_x.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(GOOD) + "\n")
    with pytest.raises(GoldSetError, match=r"titles_x\.jsonl:2: row 3 already labelled"):
        load_title_labels(gold)


def test_a_well_formed_label_loads(tmp_path: Path) -> None:
    (label,) = load_title_labels(_write(tmp_path, GOOD))
    assert label.offered == ("cannabis resin",) and label.key == ("torrez-2021", "Product_dataset_new.csv.gz", 3)
