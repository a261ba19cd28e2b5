"""bench/crawl.py runs end to end and reports comparable numbers (slow)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.crawler.net_crawl import REPO


@pytest.mark.slow
def test_bench_crawl_runs() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench/crawl.py"), "--repeat", "1", "--sites", "pillhub,nightshade",
                           "--workers", "0,1", "--latency-site", "", "--json"],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["sites"] == ["pillhub", "nightshade"]
    for kind in ("trawl-w0", "trawl-w1", "fetch", "net", "crawl", "bare", "bare-uvloop"):
        assert result[kind]["pages"] > 50 and result[kind]["pages_per_s"] > 0, kind
        assert result[kind]["peak_rss_mb"] > 20
    # same URLs: page counts agree within a few (redirect/login bookkeeping); the discovering
    # bare crawl fetches the same set (what it cannot reach by links it requests at the end)
    for kind in ("trawl-w1", "net", "crawl", "bare", "bare-uvloop"):
        assert abs(result["trawl-w0"]["pages"] - result[kind]["pages"]) <= 5, kind
    assert result["event_loop"] == "uvloop.Loop"  # crawl.event_loop = auto, uvloop a dependency here
    # and the same pages: nightshade answers a request without its gate and login cookies
    # with its DDoS page; the bare spiders carry trawl's session, so their bytes match
    trawl_bytes = result["trawl-w0"]["bytes"]
    for kind in ("net", "crawl", "bare", "bare-uvloop"):
        assert abs(result[kind]["bytes"] - trawl_bytes) < 0.05 * trawl_bytes, (kind, result[kind]["bytes"], trawl_bytes)
    assert all(0 < ratio for ratio in result["ratio_pages_per_s"].values())
    assert set(result["ratio_to_crawl"]) == {"trawl-w0", "trawl-w1"}
    # trawl's CPU per page covers more work than the bare spider's
    assert result["cpu_ms_per_page"]["trawl-w0"] > result["cpu_ms_per_page"]["bare"] > 0
    # the crawl process's own share: all of it without workers, part of it with one
    cpu, own = result["cpu_ms_per_page"], result["crawl_process_cpu_ms_per_page"]
    assert own["trawl-w0"] == cpu["trawl-w0"] and 0 < own["trawl-w1"] < cpu["trawl-w1"]
    assert own["bare"] == cpu["bare"]
    for kind in ("trawl-w1", "bare"):
        assert result["one_core_ceiling_pages_per_s"][kind] == pytest.approx(1000 / own[kind], rel=0.01)
        # all the run's processes on all cores: no higher than cores x the one thread's ceiling
        together = cpu[kind] + result["testbed_cpu_ms_per_page"][kind]
        assert result["all_cores_ceiling_pages_per_s"][kind] == pytest.approx(result["cpu_count"] * 1000 / together, rel=0.01)
        assert result["all_cores_ceiling_pages_per_s"][kind] <= result["cpu_count"] * result["one_core_ceiling_pages_per_s"][kind]
