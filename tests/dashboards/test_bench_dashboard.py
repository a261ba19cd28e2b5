"""bench/dashboard.py works end to end on a tiny index (synthetic only): it fills the index,
starts `trawl serve`, asks every typical search with facets and prints p50/p95.  No timing is
asserted (the figures come from the 1M run, see docs/web.md); this only proves the script runs.
Marked slow: starting the server subprocess takes several seconds on a busy machine."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dashboard_bench_runs_on_a_tiny_index(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "dashboard.py"), "--no-demo", "--snapshots", "1500",
                           "--repeat", "1", "--json", "--dir", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["snapshots"] == 1500 and figures["listings"] > 0
    assert figures["requests"] == 12 and 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert "target p95 < 150 ms:" in done.stdout and "q=mephedrone&destination=DE" in done.stdout
