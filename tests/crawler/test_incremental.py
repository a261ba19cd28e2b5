"""Incremental crawls: unchanged pages are recognised by content hash, every crawl adds a
snapshot, so price history accrues across testbed days."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.crawler.conftest import crawl_env, trawl


def test_price_history_accrues_and_unchanged_pages_detected(testbed: Any, tmp_path: Path) -> None:
    env = crawl_env(tmp_path / "home", testbed.env())
    truth = {t["native_id"]: t for t in testbed.truth("pillhub")}
    runs = []
    for day, clock in ((0, "2026-08-03T12:00:00Z"), (0, "2026-08-04T12:00:00Z"), (1, "2026-08-05T12:00:00Z")):
        testbed.set_day(day)
        run = trawl(["crawl", "pillhub", "--clock", clock, "--json"], env)
        assert run.returncode == 0, run.stderr[-2000:]
        runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert runs[0]["unchanged"] == 0
    assert runs[1]["unchanged"] == len(truth)  # same day, same pages: nothing re-parsed
    assert runs[2]["unchanged"] < len(testbed.truth("pillhub"))  # prices drifted on day 1

    from index.sqlite_backend import SqliteBackend

    backend = SqliteBackend(tmp_path / "home" / "index.sqlite")
    try:
        history: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
        for snap in backend.iter_snapshots():
            history[snap.listing_id].append((snap.crawled_at, snap.price_amount))
        day1 = {t["native_id"]: t for t in testbed.truth("pillhub", day=1)}
        for native_id, record in truth.items():
            points = sorted(history[f"pillhub:{native_id}"])
            if native_id in day1:
                assert len(points) == 3, points
                assert points[0][1] == record["price_amount"] and points[2][1] == day1[native_id]["price_amount"]
        listing = backend.get_listing(f"pillhub:{next(iter(truth))}")
        assert listing is not None and listing.first_seen.startswith("2026-08-03") and listing.last_seen.startswith("2026-08-05")
    finally:
        backend.close()
