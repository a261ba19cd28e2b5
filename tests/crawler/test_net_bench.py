"""bench/crawl.py runs end to end and reports comparable numbers (slow)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.crawler.net_crawl import REPO


@pytest.mark.slow
def test_bench_crawl_runs() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench/crawl.py"),
                           "--repeat", "1", "--sites", "pillhub,vortex", "--json"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["sites"] == ["pillhub", "vortex"]
    for kind in ("trawl", "fetch", "net", "bare"):
        assert result[kind]["pages"] > 50 and result[kind]["pages_per_s"] > 0
        assert result[kind]["peak_rss_mb"] > 20
    # same URLs: page counts agree within a few (redirect/login bookkeeping)
    assert abs(result["trawl"]["pages"] - result["bare"]["pages"]) <= 5
    assert 0 < result["ratio_pages_per_s"] and 0 < result["net_ratio_pages_per_s"]
