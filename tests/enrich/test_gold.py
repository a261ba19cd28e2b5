"""Precision/recall of enrich.match on the hand-labelled gold set (targets: P >= 0.98, R >= 0.95)."""
from __future__ import annotations

from pathlib import Path

import yaml

from enrich import match_batch

GOLD = Path(__file__).parent / "gold" / "listings.yaml"


def load_gold() -> list[tuple[str, set[str]]]:
    cases = yaml.safe_load(GOLD.read_text(encoding="utf-8"))["cases"]
    return [(text, {str(e) for e in expected}) for text, expected in cases]


def test_gold_set_is_big_enough_with_negatives() -> None:
    gold = load_gold()
    assert len(gold) >= 300
    assert sum(1 for _, expected in gold if not expected) >= 80


def test_gold_labels_name_reference_substances() -> None:
    from enrich.lists import default_lists

    known = set(default_lists().substances)
    unknown = {e for _, expected in load_gold() for e in expected} - known
    assert not unknown, f"gold labels not in the reference lists: {sorted(unknown)}"


def test_precision_and_recall_on_gold_set() -> None:
    gold = load_gold()
    results = match_batch([text for text, _ in gold])
    tp = fp = fn = 0
    errors = []
    for (text, expected), matches in zip(gold, results, strict=True):
        found = {m.canonical for m in matches}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        if found != expected:
            errors.append(f"  {text!r}: expected {sorted(expected)}, got {sorted(found)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"\ngold set: {len(gold)} texts, TP={tp} FP={fp} FN={fn}  precision={precision:.4f}  recall={recall:.4f}")
    if errors:
        print("mismatches:\n" + "\n".join(errors))
    assert precision >= 0.98, f"precision {precision:.4f} < 0.98"
    assert recall >= 0.95, f"recall {recall:.4f} < 0.95"
