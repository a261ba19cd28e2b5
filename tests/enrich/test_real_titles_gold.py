"""The matcher on the blind, hand-labelled real gold titles (tests/data/gold/titles_*.jsonl).

Floors, not the issue-14 targets: they hold what the matching rules reach today (see
docs/quality.md for the figures) so a regression in a rule class fails here. The real
text is read from ../shared/real-data at test time; the test skips without it."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import quality  # noqa: E402
from bench.quality_report import load_gold  # noqa: E402


@pytest.fixture(scope="module")
def reports(real_data_dir: Path) -> dict[str, Any]:
    records = load_gold(real_data_dir, quality.GOLD_DIR, "titles_*.jsonl")
    return {hint: quality.substances(records, real_data_dir, category_hint=hint, misses=0) for hint in (False, True)}


@pytest.mark.parametrize("hint", [False, True], ids=["title only", "category as hint"])
def test_precision_non_drug_and_collapses(reports: dict[str, Any], hint: bool) -> None:
    report = reports[hint]
    total = report["markets"]["TOTAL"]
    precision = total["all"]["tp"] / (total["all"]["tp"] + total["all"]["fp"])
    assert precision >= 0.975, precision
    assert total["non_drug"]["fp_rate"] <= 0.01  # issue-14 target: non-drug false positives <= 1 %
    assert report["collapses"] == []  # issue-14 target: zero analogue -> parent collapses
    assert len(report["mentioned_as_offered"]) <= 4


def test_category_hint_raises_recall(reports: dict[str, Any]) -> None:
    recall = {hint: r["markets"]["TOTAL"]["listed"]["tp"] / (r["markets"]["TOTAL"]["listed"]["tp"]
                                                             + r["markets"]["TOTAL"]["listed"]["fn"])
              for hint, r in reports.items()}
    assert recall[False] >= 0.85 and recall[True] >= recall[False]
