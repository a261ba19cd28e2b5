"""bench/quality.py: the precision/recall arithmetic on a hand-computed table, and a run on real gold labels."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import quality  # noqa: E402
from bench.quality_report import Counts, GoldRecord, collapse_kind, score_title  # noqa: E402
from enrich.lists import default_lists  # noqa: E402


def _record(title: str, market: str, offered: list[str], *, none: bool = False, mentioned: tuple[str, ...] = (),
            sample: str = "random") -> GoldRecord:
    rec = {"dataset": "alphabay-grams-2015", "market": market, "category": "", "offered": offered,
           "mentioned": list(mentioned), "none": none, "sample": sample}
    return GoldRecord(where=f"tiny:{title}", record=rec, texts={"title": title})


def test_counts_arithmetic() -> None:
    counts = Counts(tp=3, fp=1, fn=2, titles=4)
    assert counts.precision == pytest.approx(0.75)
    assert counts.recall == pytest.approx(0.6)
    assert counts.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert Counts().precision is None and Counts().recall is None and Counts().f1 is None
    total = Counts()
    total.add(counts)
    total.add(Counts(tp=1, fp=0, fn=0, titles=1))
    assert (total.tp, total.fp, total.fn, total.titles) == (4, 1, 2, 5)


def test_score_title_pairs_each_label_once() -> None:
    same = str.__eq__
    score = score_title(["a", "b"], ["a", "c", "a"], same)
    assert score.found == [("a", "a")] and score.invented == ["c"] and score.missed == ["b"]
    assert (score.counts.tp, score.counts.fp, score.counts.fn) == (1, 1, 1)


def test_collapse_rules() -> None:
    assert collapse_kind(["abpinaca"], "abpinaca", "5fabpinaca") == "contained"
    assert collapse_kind(["phencyclidine", "pcp"], "pcp", "3clpcp") == "contained"
    assert collapse_kind(["abpinaca"], "adbpinaca", "adbpinaca") == "whole name"
    assert collapse_kind(["5meodmt"], "5meo", "5meomalt") == "contained"
    # a street word elsewhere in the title is no collapse
    assert collapse_kind(["amphetamine"], "speed", "methamphetamine") is None


def test_tiny_table_by_hand() -> None:
    """Hand-computed: m1 all tp 3 fp 1 fn 1 (zorblaxine is not a list entry), listed-only fn 0;
    m2: the non-drug title predicts nothing, the random part of m1 excludes the targeted title."""
    records = [
        _record("mephedrone 5g", "m1", ["mephedrone"]),
        _record("4-MMC 10g crystals", "m1", ["4-MMC"]),  # label written as a synonym of the canonical name
        _record("cocaine 1g and ketamine 1g", "m1", ["cocaine"], sample="targeted"),
        _record("zorblaxine 5g", "m1", ["zorblaxine"]),
        _record("Netflix premium account lifetime", "m2", [], none=True),
    ]
    report = quality.substances(records, Path("/nonexistent"), category_hint=False, misses=10)
    m1 = report["markets"]["m1"]
    assert (m1["all"]["tp"], m1["all"]["fp"], m1["all"]["fn"]) == (3, 1, 1)
    assert m1["all"]["precision"] == pytest.approx(0.75) and m1["all"]["recall"] == pytest.approx(0.75)
    assert (m1["listed"]["tp"], m1["listed"]["fp"], m1["listed"]["fn"]) == (3, 1, 0)
    assert m1["listed"]["recall"] == pytest.approx(1.0)
    random_part = m1["all_random"]
    assert (random_part["tp"], random_part["fp"], random_part["fn"], random_part["titles"]) == (2, 0, 1, 3)
    m2 = report["markets"]["m2"]
    assert m2["non_drug"]["titles"] == 1 and m2["non_drug"]["with_fp"] == 0 and m2["non_drug"]["fp_rate"] == 0.0
    assert report["markets"]["TOTAL"]["all"]["titles"] == 5
    classes = {row["class"] for row in report["misses"]["m1"]}
    assert any(c.startswith("FN: unlisted code") or c.startswith("FN: unlisted named") for c in classes)
    assert any(c.startswith("FP:") for c in classes)


def test_names_compare_through_synonyms() -> None:
    names = quality.Names(default_lists())
    assert names.same("mephedrone", "4-MMC") and names.same("mephedrone", "mephedrone")
    assert not names.same("mephedrone", "3-MMC")
    assert names.is_listed("mephedrone") and not names.is_listed("zorblaxine")


def test_runs_on_real_gold_slice(real_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quality.main(["--dataset", "alphabay-grams-2015", "--json", "--misses", "2",
                         "--real-data", str(real_data_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    total = report["substances"]["markets"]["TOTAL"]["all"]
    per_market = [v["all"] for m, v in report["substances"]["markets"].items() if m != "TOTAL"]
    assert total["titles"] >= 200 and total["titles"] == sum(c["titles"] for c in per_market)
    assert total["tp"] == sum(c["tp"] for c in per_market) and total["tp"] > 0
    assert total["precision"] == pytest.approx(total["tp"] / (total["tp"] + total["fp"]), abs=1e-4)
    fields = report["fields"]["datasets"]
    assert set(fields) == {"alphabay-grams-2015", "TOTAL"}
    quantity = fields["alphabay-grams-2015"]["quantity"]
    assert quantity["n"] >= 50 and 0 <= quantity["correct"] <= quantity["n"]
    assert all(len(rows) <= 2 for rows in report["fields"]["misses"]["alphabay-grams-2015"].values())


def test_broken_label_exits_2(real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    label = {"dataset": "alphabay-grams-2015", "file": "Alpha.csv.gz", "row": 0, "text_sha": "000000000000",
             "market": "alphabay", "category": "", "offered": [], "mentioned": [], "unlisted": [], "none": True,
             "sample": "random"}
    (tmp_path / "titles_alphabay-grams-2015.jsonl").write_text(json.dumps(label) + "\n", encoding="utf-8")
    assert quality.main(["--gold-dir", str(tmp_path), "--real-data", str(real_data_dir), "--only", "substances"]) == 2
    err = capsys.readouterr().err
    assert "titles_alphabay-grams-2015.jsonl:1" in err and "text_sha" in err
