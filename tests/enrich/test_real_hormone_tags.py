"""Real pharmacy titles whose hormone class tags ("(progesterone) (estrogen)") follow the named
hormones: medrepro-2025 (../shared/real-data), rows referenced by number and fingerprint, the
text read back at test time (tests/gold_sets.py) and never stored here.  Expected values were
labelled by hand from the title before the matcher or the quantity parser was run on it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from enrich import match
from parsers import parse_quantity
from tests.gold_sets import source_market, source_title, text_sha

DATASET = "medrepro-2025"

# (row, title sha, market, offered, quantity (amount, unit, count, dose_mg))
ROWS: list[tuple[int, str, str, list[str], tuple[Any, ...]]] = [
    # the two-hormone vial: norethisterone + estradiol, 10 ml; "50 mg + 10 mg / 1mL" is a strength
    (1, "097b9615fb00", "Black Ops", ["estradiol", "norethisterone"], (10.0, "ml", None, None)),
    (14, "097b9615fb00", "Drug Hub", ["estradiol", "norethisterone"], (10.0, "ml", None, None)),
    # control: progesterone named as the product (brand in parentheses); "100mg tabs" has no count
    (0, "2d54a2f1f006", "Black Ops", ["progesterone"], (None, None, None, 100.0)),
]


@pytest.mark.parametrize(("row", "sha", "market", "offered", "quantity"),
                         [pytest.param(*r, id=f"{DATASET} row {r[0]} ({r[2]})") for r in ROWS])
def test_real_hormone_titles(real_data_dir: Path, row: int, sha: str, market: str, offered: list[str],
                             quantity: tuple[Any, ...]) -> None:
    title = source_title(real_data_dir, DATASET, row)
    assert text_sha(title) == sha and source_market(real_data_dir, DATASET, row) == market
    matches = match(title)
    assert sorted(m.canonical for m in matches if m.relation == "offered") == offered, title
    assert [m.canonical for m in matches if m.relation != "offered"] == [], title
    q = parse_quantity(title)
    assert (q.amount, q.unit, q.count, q.dose_mg) == quantity, title
