"""bench/parsers.py stays runnable (tiny time budget; the figures themselves are not asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_and_reports_every_parser_and_baselines() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "parsers.py"), "--seconds", "0.05", "--limit", "100",
                          "--json"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=True).stdout
    data = json.loads(out)
    names = {r["parser"] for r in data["results"]}
    assert {"quantity+price", "parse_shipping", "parse_date", "baseline price_parser.Price.fromstring"} <= names
    assert all(r["per_second"] > 0 and 0 < r["strings"] <= 100 for r in data["results"])
    assert data["ratio_vs_price_parser"] > 0 and data["source"]


def test_real_corpus_reads_the_shared_real_data(real_data_dir: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_parsers", ROOT / "bench" / "parsers.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    corpus = module.real_corpus(real_data_dir, limit=500)
    assert len(corpus["titles"]) == 500 and len(corpus["ships_to"]) > 900
    assert "1000 x 250ug LSD tabs (blotters)" in corpus["titles"]


def test_bench_imports_no_tests() -> None:
    import ast

    tree = ast.parse((ROOT / "bench" / "parsers.py").read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.split(".")[0] == "tests"}
