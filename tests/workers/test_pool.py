"""`trawl crawl --workers N`: pages extracted, parsed, enriched and stored by worker processes
fed with evidence references give the same index as the crawl process doing it itself."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import crawl_env, trawl
from tests.workers.conftest import CLOCK, snapshot_count, stored_listings


def _crawl(testbed: Any, home: Path, site: str, workers: int) -> dict[str, Any]:
    env = crawl_env(home, testbed.env())
    run = trawl(["crawl", site, "--json", "--clock", CLOCK, "--workers", str(workers)], env, timeout=240)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-3000:]}"
    summary = dict(json.loads(run.stdout.strip().splitlines()[-1]))
    summary["stats"] = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    return summary


@pytest.mark.parametrize("site", ["pillhub", pytest.param("pillhub-grid", marks=pytest.mark.slow)])
def test_workers_store_what_the_crawl_process_stores(testbed: Any, tmp_path: Path, site: str) -> None:
    inline = _crawl(testbed, tmp_path / "inline", site, 0)
    pooled = _crawl(testbed, tmp_path / "pooled", site, 1)
    expected = stored_listings(tmp_path / "inline", inline["site"])
    got = stored_listings(tmp_path / "pooled", pooled["site"])
    assert len(expected) >= 20
    assert sorted(got) == sorted(expected)
    differing = [lid for lid in expected if got[lid] != expected[lid]]
    assert not differing, {lid: {k: (expected[lid][k], got[lid][k]) for k in expected[lid]
                                 if expected[lid][k] != got[lid][k]} for lid in differing[:3]}
    assert snapshot_count(tmp_path / "pooled") == snapshot_count(tmp_path / "inline")
    stats = pooled["stats"]
    assert stats["trawl/workers/count"] == 1
    assert stats["trawl/workers/jobs"] == stats["trawl/workers/submitted"] > 0
    # a local worker reads the page copy its job carries, not the WARC record written from it
    assert stats.get("trawl/workers/pages_read_back", 0) == 0
    assert pooled["listings"] == inline["listings"]  # the workers' counters reach the run summary
    assert pooled["drops_by_reason"] == inline["drops_by_reason"]
    assert "trawl/workers/count" not in inline["stats"]
