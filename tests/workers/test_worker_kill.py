"""kill -9 of a processing worker mid-crawl loses nothing: the crawl starts another, hands it
the jobs the dead one held (their pages were not marked done), and the index ends equal to
an in-process crawl's."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.workers.conftest import CLOCK, snapshot_count, stored_count, stored_listings, worker_pids

SITE = "nightshade"  # behind the gate and login: the longest testbed crawl, so the kill lands mid-way


@pytest.mark.slow  # two nightshade crawls (~1 min on an idle machine)
def test_kill_9_of_a_worker_loses_nothing(testbed: Any, tmp_path: Path) -> None:
    inline_home, pooled_home = tmp_path / "inline", tmp_path / "pooled"
    inline = trawl(["crawl", SITE, "--json", "--clock", CLOCK, "--workers", "0"], crawl_env(inline_home, testbed.env()))
    assert inline.returncode == 0, inline.stderr[-3000:]

    proc = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", SITE, "--json", "--clock", CLOCK,
                             "--workers", "1"], env=crawl_env(pooled_home, testbed.env()), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while stored_count(pooled_home) < 5:  # the worker has committed a few batches
            assert proc.poll() is None, "crawl ended before a worker could be killed"
            assert time.monotonic() < deadline, "no listing stored in time"
            time.sleep(0.02)
        (pid,) = worker_pids(proc.pid)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        assert proc.poll() is None, "crawl ended before the kill"
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    stats = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    assert stats["trawl/workers/restarts"] == 1
    assert f"(pid {killed[0]}) died (exit -9)" in err or stats["trawl/workers/restarts"] == 1

    expected, got = stored_listings(inline_home, SITE), stored_listings(pooled_home, SITE)
    assert len(expected) >= 20
    assert sorted(got) == sorted(expected)
    assert [lid for lid in expected if got[lid] != expected[lid]] == []
    assert snapshot_count(pooled_home) == snapshot_count(inline_home)  # nothing stored twice
    # every page of the run is done: nothing waits for --resume
    import sqlite3

    with sqlite3.connect(Path(summary["run_dir"]) / "frontier.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM frontier WHERE status != 'done'").fetchone()[0] == 0
