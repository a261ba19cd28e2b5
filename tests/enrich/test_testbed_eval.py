"""enrich.match against the testbed's ground truth (every listing of every site, day 0).

The testbed's truth names substances its own way ("mdma", "4-chloromethcathinone");
they are resolved through the reference lists.  Hashish counts as cannabis there.
"""
from __future__ import annotations

import pytest

from enrich import match_batch, new_substance_candidates
from enrich.lists import default_lists
from enrich.normalize import name_key

catalogue_mod = pytest.importorskip("testbed.catalogue")
SAME = {"cannabis resin": "cannabis"}


def test_testbed_titles_precision_recall_and_novel_substances() -> None:
    lists = default_lists()
    items = [item for items in catalogue_mod.catalogue(7, 0).listings.values() for item in items]
    results = match_batch([item["title"] for item in items])
    tp = fp = fn = 0
    misses = []
    for item, found in zip(items, results, strict=True):
        got = {SAME.get(m.canonical, m.canonical) for m in found}
        expected: set[str] = set()
        if item.get("substance") and not item.get("novel"):
            entry = lists.names.get(name_key(item["substance"]))
            assert entry is not None, f"testbed substance {item['substance']!r} is in no reference list"
            expected = {SAME.get(entry.canonical, entry.canonical)}
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        if got != expected:
            misses.append(f"  {item['title']!r}: expected {sorted(expected)}, got {sorted(got)}")
        if item.get("novel"):
            assert new_substance_candidates(item["title"]), f"novel substance not flagged: {item['title']!r}"
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\ntestbed: {len(items)} titles  TP={tp} FP={fp} FN={fn}  precision={precision:.4f} recall={recall:.4f}")
    print("\n".join(misses))
    assert precision >= 0.98 and recall >= 0.95
