"""Two crawler processes share one Redis frontier: every page fetched exactly once."""
from __future__ import annotations

import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.engine.distributed import redis_settings, reset_frontier
from tests.commands import TRAWL
from tests.crawler.net_crawl import run_net_spider
from tests.redis_server import running_redis

pytestmark = pytest.mark.redis



@pytest.fixture
def redis_url(tmp_path: Path):
    with running_redis(tmp_path) as url:
        yield url


def test_two_workers_share_one_frontier(tmp_path: Path, redis_url: str) -> None:
    from testbed.server import run_testbed

    with run_testbed(rate_limit=False, faults=False) as tb:
        site = tb.sites["pillhub"]
        settings = redis_settings(redis_url, site="pillhub", frontier="t1") | {
            "TRAWL_REDIS_LINGER": 8, "CONCURRENT_REQUESTS": 4, "DOWNLOAD_DELAY": 0.02}
        config = {"start_urls": [site.base_url], "settings": settings,
                  "follow_css": "a::attr(href)", "deny_regex": r"/(cart|account)",
                  "item_url_regex": r"/product/", "item_css": "no-such-element::text"}
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(run_net_spider, tmp_path, config, None, 120, False, f"w{i}")
                       for i in range(2)]
            results = [f.result() for f in futures]
        log = [entry for entry in tb.request_log if entry[0] == "pillhub"]
        truth = {t["url"] for t in tb.truth("pillhub")}

    for result in results:
        assert result.returncode == 0, result.log[-3000:]
    fetched = Counter((method, path) for _, method, path, _ in log)
    assert fetched and max(fetched.values()) == 1, [k for k, v in fetched.items() if v > 1]
    items = [i["url"] for r in results for i in r.items]  # (pillhub: ?cur= variants too)
    assert len(items) == len(set(items)), "a product was scraped by both workers"
    assert {urlsplit(u).path for u in items} == truth
    # both workers really took part
    per_worker = [r.stats.get("downloader/response_count", 0) for r in results]
    assert all(n > 0 for n in per_worker), per_worker
    assert sum(per_worker) == len(log)
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.scard("trawl:pillhub:t1:dupefilter") == len(log)
    assert client.ttl("trawl:pillhub:t1:dupefilter") > 0  # an abandoned round expires
    assert reset_frontier(redis_url, "pillhub", "t1") >= 1
    assert not client.exists("trawl:pillhub:t1:dupefilter")


def test_two_trawl_crawl_processes_share_the_site(tmp_path: Path, redis_url: str) -> None:
    """Two real `trawl crawl pillhub` workers (spider, pipelines, evidence) on one frontier."""
    import json
    import os

    from testbed.server import run_testbed

    with run_testbed(rate_limit=False, faults=False) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_PROFILE": "test", "TRAWL_REDIS_URL": redis_url,
                "TRAWL_REDIS_FRONTIER": "round-1"}
        procs = [subprocess.Popen([*TRAWL, "crawl", "pillhub", "--json"],
                                  env=env | {"TRAWL_HOME": str(tmp_path / f"w{i}")},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        outputs = [p.communicate(timeout=180) for p in procs]
        log = [entry for entry in tb.request_log if entry[0] == "pillhub"]
        truth = {t["url"] for t in tb.truth("pillhub")}
    summaries = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    fetched = Counter((method, path) for _, method, path, _ in log)
    assert max(fetched.values()) == 1, [k for k, v in fetched.items() if v > 1]
    # per worker: the product pages it preserved (WARC manifest of its own run)
    products: list[set[str]] = []
    for summary in summaries:
        manifest = Path(summary["run_dir"]) / "manifest.jsonl"
        uris = {urlsplit(json.loads(line)["target_uri"]).path
                for line in manifest.read_text().splitlines()
                if json.loads(line)["type"] == "response"}
        products.append({u for u in uris if u.startswith("/product/")})
    assert products[0] and products[1], "one worker did nothing"
    assert not products[0] & products[1]
    assert products[0] | products[1] == truth
    assert sum(s["listings"] for s in summaries) == len(truth)


def _frontier_status(home: Path) -> dict[str, str]:
    import sqlite3

    runs = list((home / "runs").glob("pillhub-*"))
    if not runs or not (runs[0] / "frontier.sqlite").is_file():
        return {}
    try:
        with sqlite3.connect(f"file:{runs[0] / 'frontier.sqlite'}?mode=ro", uri=True, timeout=1) as conn:
            return dict(conn.execute("SELECT key, status FROM frontier").fetchall())
    except sqlite3.Error:
        return {}


def _stored_ids(home: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(home / "index.sqlite") as conn:
        return {row[0] for row in conn.execute("SELECT listing_id FROM listings")}


def test_killed_worker_resumes_only_the_pages_it_had_taken(tmp_path: Path, redis_url: str) -> None:
    """SIGKILL one of two workers mid-crawl, `--resume` it: every listing stored by exactly
    one worker, and the only pages fetched twice are ones the killed worker had in flight."""
    import json
    import os
    import signal

    from testbed.server import run_testbed
    from tests.crawler.net_crawl import REPO

    homes = [tmp_path / "w0", tmp_path / "w1"]
    # the shipped pillhub, slowed down so worker 0 is reliably killed mid-crawl
    sites = tmp_path / "sites"
    sites.mkdir()
    shipped = (REPO / "crawler/sites/pillhub.yaml").read_text()
    assert "  delay: 0.1\n" in shipped
    (sites / "pillhub.yaml").write_text(shipped.replace("  delay: 0.1\n", "  delay: 0.3\n"))
    with run_testbed(rate_limit=False, faults=False) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_PROFILE": "test", "TRAWL_REDIS_URL": redis_url, "TRAWL_REDIS_FRONTIER": "round-kill",
                "TRAWL_SITES_DIR": str(sites)}
        command = [*TRAWL, "crawl", "pillhub", "--json"]
        procs = [subprocess.Popen(command, env=env | {"TRAWL_HOME": str(home)}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for home in homes]
        deadline = time.monotonic() + 60
        try:
            while sum(1 for key, status in _frontier_status(homes[0]).items()
                      if key.startswith("/product/") and status in ("fetched", "done")) < 3:
                assert procs[0].poll() is None, "worker 0 finished before it could be killed"
                assert time.monotonic() < deadline, "worker 0 fetched too little in time"
                time.sleep(0.02)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(timeout=10)
        finally:
            for proc in procs[:1]:
                if proc.poll() is None:
                    proc.kill()
        at_kill = _frontier_status(homes[0])
        log_at_kill = len(tb.request_log)
        resumed = subprocess.run([*command, "--resume"], env=env | {"TRAWL_HOME": str(homes[0])},
                                 capture_output=True, text=True, timeout=120)
        _, err = procs[1].communicate(timeout=120)
        log = [entry for entry in tb.request_log if entry[0] == "pillhub"]
        resume_log = [entry for entry in tb.request_log[log_at_kill:] if entry[0] == "pillhub"]
        truth = {f"pillhub:{t['native_id']}" for t in tb.truth("pillhub")}

    assert procs[0].returncode == -signal.SIGKILL
    assert procs[1].returncode == 0, err[-3000:]
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == "finished"
    stored = [_stored_ids(home) for home in homes]
    paths = {f"pillhub:{t['native_id']}": t["url"] for t in tb.truth("pillhub")}
    missing = truth - (stored[0] | stored[1])
    assert not missing, [(m, paths[m], at_kill.get(paths[m]), [e for e in log if e[2] == paths[m]],
                          _frontier_status(homes[0]).get(paths[m]), _frontier_status(homes[1]).get(paths[m]))
                         for m in missing]
    assert stored[0] | stored[1] == truth
    assert not stored[0] & stored[1], "a listing was stored by both workers"
    # nothing the killed worker had fetched or finished is fetched again
    settled = {key for key, status in at_kill.items() if status in ("fetched", "done")}
    refetched = {path for _, method, path, _ in resume_log if method == "GET"} & settled
    assert not refetched, sorted(refetched)
    # a page fetched twice was in flight in the killed worker (taken, response never stored)
    fetched = Counter(path for _, method, path, _ in log if method == "GET")
    twice = {path for path, n in fetched.items() if n > 1}
    assert twice <= {key for key, status in at_kill.items() if status == "claimed"}, sorted(twice)
    print(f"\nkilled worker: {len(settled)} pages settled, "
          f"{sum(1 for s in at_kill.values() if s == 'claimed')} in flight; fetched twice: {len(twice)}")


def test_worker_killed_between_take_and_claim_redoes_the_page_on_resume(tmp_path: Path, redis_url: str) -> None:
    """The window the processing list covers: a real SIGKILL (test hook) right after the
    worker took a page from the shared queue, before it claimed it in its own frontier.
    The page waits in Redis under the worker's id and `--resume` fetches it: nothing lost."""
    import json
    import os
    import pickle
    import signal

    import redis

    from crawler.engine.distributed import KILL_AFTER_TAKE_ENV
    from testbed.server import run_testbed
    from tests.crawler.net_crawl import REPO

    home = tmp_path / "w0"
    # the shipped pillhub without its politeness delay: the kill point is a count, not a time
    sites = tmp_path / "sites"
    sites.mkdir()
    shipped = (REPO / "crawler/sites/pillhub.yaml").read_text()
    assert "  delay: 0.1\n" in shipped
    (sites / "pillhub.yaml").write_text(shipped.replace("  delay: 0.1\n", "  delay: 0\n"))
    with run_testbed(rate_limit=False, faults=False) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_PROFILE": "test", "TRAWL_REDIS_URL": redis_url, "TRAWL_REDIS_FRONTIER": "round-take",
                "TRAWL_HOME": str(home), "TRAWL_SITES_DIR": str(sites)}
        command = [*TRAWL, "crawl", "pillhub", "--json"]
        killed = subprocess.run(command, env=env | {KILL_AFTER_TAKE_ENV: "6"},
                                capture_output=True, text=True, timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        client = redis.Redis.from_url(redis_url)
        processing = list(client.scan_iter(match="trawl:pillhub:round-take:processing:*"))
        assert len(processing) == 1, processing
        # (the test's own loopback redis-server, written by scrapy-redis's pickle serializer)
        taken = [pickle.loads(data) for data in client.lrange(processing[0], 0, -1)]  # noqa: S301
        assert len(taken) == 1, taken  # the page it was killed holding
        taken_key = taken[0]["meta"]["trawl_key"]
        at_kill = _frontier_status(home)
        assert at_kill.get(taken_key) in (None, "pending"), at_kill.get(taken_key)  # not claimed
        log_at_kill = len(tb.request_log)

        resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=120)
        resume_log = [entry for entry in tb.request_log[log_at_kill:] if entry[0] == "pillhub"]
        truth = {f"pillhub:{t['native_id']}" for t in tb.truth("pillhub")}

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == "finished"
    assert (taken_key.split("?")[0] in {path.split("?")[0] for _, method, path, _ in resume_log
                                        if method == "GET"}), taken_key
    assert _frontier_status(home)[taken_key] == "done"
    assert not client.exists(processing[0])  # drained
    assert _stored_ids(home) == truth
