"""bench/parsers.py stays runnable (tiny time budget; the figures themselves are not asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_and_reports_every_parser_and_baselines() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "parsers.py"), "--seconds", "0.05", "--json"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=True).stdout
    data = json.loads(out)
    names = {r["parser"] for r in data["results"]}
    assert {"quantity+price", "parse_shipping", "parse_date", "baseline price_parser.Price.fromstring"} <= names
    assert all(r["per_second"] > 0 and r["strings"] > 0 for r in data["results"])
    assert data["ratio_vs_price_parser"] > 0 and data["source"]


def test_fallback_corpus_from_test_tables() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_parsers", ROOT / "bench" / "parsers.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    corpus = module.table_corpus()
    assert len(corpus["titles"]) > 100 and len(corpus["prices"]) > 80 and corpus["dates"]
