"""Distributed processing: a crawl feeds a Redis stream, two `trawl process` consumers take
the jobs, one is killed -9 while it holds some; the other takes those over.  Nothing is lost
(the index equals an in-process crawl's) and nothing is stored twice (same snapshot count)."""
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

from crawler.engine.workers_redis import GROUP, jobs_key
from tests.crawler.conftest import REPO, crawl_env, trawl
from tests.redis_server import running_redis
from tests.workers.conftest import CLOCK, snapshot_count, stored_listings

SITE = "pillhub"


def _consumer(env: dict[str, str], url: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "trawl.cli", "process", "--redis", url, "--name", name,
                             "--batch", "5", "--claim-idle", "1"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # two crawls and two consumers (~1 min)
def test_two_consumers_one_killed_lose_nothing(testbed: Any, tmp_path: Path) -> None:
    import redis

    inline_home, fed_home = tmp_path / "inline", tmp_path / "fed"
    inline = trawl(["crawl", SITE, "--json", "--clock", CLOCK, "--workers", "0"], crawl_env(inline_home, testbed.env()))
    assert inline.returncode == 0, inline.stderr[-3000:]

    with running_redis(tmp_path) as url:
        client = redis.Redis.from_url(url)
        env = crawl_env(fed_home, {**testbed.env(), "TRAWL_WORKERS_FEED": url})
        consumers = {name: _consumer(env, url, name) for name in ("first", "second")}
        crawl = subprocess.Popen([sys.executable, "-m", "trawl.cli", "crawl", SITE, "--json", "--clock", CLOCK],
                                 env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            held = 0
            while not held:  # kill "first" while it holds jobs it has not acked
                assert crawl.poll() is None, "crawl ended before a consumer could be killed"
                assert time.monotonic() < deadline, "consumer 'first' never held a job"
                try:
                    held = len(client.xpending_range(jobs_key(), GROUP, "-", "+", 100, consumername="first"))
                except redis.ResponseError:
                    held = 0  # the group does not exist yet
            os.kill(consumers["first"].pid, signal.SIGKILL)
            out, err = crawl.communicate(timeout=240)
            assert crawl.returncode == 0, err[-3000:]
        finally:
            for proc in (crawl, *consumers.values()):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in (crawl, *consumers.values()):
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        assert consumers["first"].returncode == -signal.SIGKILL
        second_log = consumers["second"].stderr.read() if consumers["second"].stderr else ""
        assert "took over" in second_log, second_log[-2000:]
        assert client.xlen(jobs_key()) == 0  # every job acked and deleted
        assert client.xpending(jobs_key(), GROUP)["pending"] == 0

    summary = json.loads(out.strip().splitlines()[-1])
    stats = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
    assert stats["trawl/workers/submitted"] > 0
    assert stats["trawl/workers/pages_read_back"] > 0  # a consumer reads each page from the evidence store
    expected, got = stored_listings(inline_home, SITE), stored_listings(fed_home, SITE)
    assert len(expected) >= 20
    assert sorted(got) == sorted(expected)
    assert [lid for lid in expected if got[lid] != expected[lid]] == []
    assert snapshot_count(fed_home) == snapshot_count(inline_home)
    import sqlite3

    with sqlite3.connect(Path(summary["run_dir"]) / "frontier.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM frontier WHERE status != 'done'").fetchone()[0] == 0
