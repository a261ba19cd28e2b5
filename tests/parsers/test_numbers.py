"""Counts on pages (feedback, sales, stock)."""
from __future__ import annotations

import pytest

from parsers import parse_int

INTS = [
    ("(1,234)", 1234), ("1.2k", 1200), ("Sold 532", 532), ("1067 sold since March 22, 2019", 1067), ("1900 (4.85)", 1900),
    ("(1000)", 1000), ("(14500)", 14500), ("(60)", 60), ("8", 8), ("12 345", 12345), ("1.234", 1234), ("3M", 3000000),
    ("Quantity Left: 12", 12), ("Stock: 873 units", 873), ("2.5k sales", 2500), ("Feedback: 4,401", 4401), ("866/41/20", 866),
]


@pytest.mark.parametrize(("text", "value"), [pytest.param(*r, id=f"int: {r[0]}") for r in INTS])
def test_parse_int(text: str, value: int) -> None:
    r = parse_int(text)
    assert r.ok and r.value == value


@pytest.mark.parametrize("text", ["Unlimited", "", "4.85", "n/a", "∞"])
def test_not_a_count(text: str) -> None:
    r = parse_int(text)
    assert not r.ok and r.value is None and r.error
