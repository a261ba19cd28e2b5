"""The scheduler's job store on a real SQLite file: leases, run state, missed runs, results."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from trawl.schedule import Job
from trawl.schedule_exec import Finished, classify, crawl_site, with_resume
from trawl.schedule_runner import missed_runs
from trawl.schedule_store import ScheduleStore, default_store_url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ScheduleStore]:
    opened = ScheduleStore(default_store_url(tmp_path))
    yield opened
    opened.close()


def test_lease_is_exclusive_until_it_expires(store: ScheduleStore, tmp_path: Path) -> None:
    other = ScheduleStore(default_store_url(tmp_path))  # a second connection, as a second process has
    try:
        # a long lease while exclusivity is checked (a busy machine may take seconds between calls)
        assert store.acquire("job", "A", ttl=60)
        assert not other.acquire("job", "B", ttl=60)
        assert not store.acquire("job", "A", ttl=60), "not re-entrant: one run per job, even in one process"
        assert store.renew("job", "A", ttl=0.3)  # A's last heartbeat, then it "crashed"
        time.sleep(0.4)
        assert other.acquire("job", "B", ttl=30)
        assert other.taken_over == {"job": "A"}
        assert not store.renew("job", "A", ttl=30), "the old holder must learn it lost the lease"
        store.release("job", "A")  # not A's any more: no effect
        assert other.leases()["job"]["holder"] == "B"
        other.release("job", "B")
        assert store.leases() == {}
    finally:
        other.close()


def test_state_survives_reopening(store: ScheduleStore, tmp_path: Path) -> None:
    store.set_paused("crawl-a", True)
    store.request_run("crawl-a")
    store.record_outcome("crawl-a", {"result": "timed_out", "exit_code": 130})
    store.add_misfires("crawl-a", 4)
    reopened = ScheduleStore(default_store_url(tmp_path))
    try:
        state = reopened.state("crawl-a")
        assert state.paused and state.runs == 1 and state.misfires == 4
        assert state.last == {"result": "timed_out", "exit_code": 130}
        assert state.run_requested is not None
        assert reopened.take_run_request("crawl-a", state.run_requested)
        assert not store.take_run_request("crawl-a", state.run_requested), "one process takes a request"
        assert reopened.state("crawl-a").run_requested is None
    finally:
        reopened.close()


def test_missed_runs_count_fire_times_since_the_previous_run() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
    every_minute = Job(id="j", command=["version"], every_seconds=60)
    ten_minutes_ago = (now - timedelta(minutes=10, seconds=30)).isoformat().replace("+00:00", "Z")
    assert missed_runs(every_minute, ten_minutes_ago, now) == 9  # 10 fire times, one run
    assert missed_runs(every_minute, None, now) == 0
    hourly_cron = Job(id="c", command=["version"], cron="0 * * * *")
    assert missed_runs(hourly_cron, "2026-11-30T09:30:00Z", now) == 2  # 10:00, 11:00, 12:00 -> one run


def test_results_come_from_the_exit_code_and_the_run_stats() -> None:
    assert classify(Finished(0, None, ""), {"status": "finished"}) == "ok"
    assert classify(Finished(0, None, ""), {"status": "failed"}) == "failed"
    assert classify(Finished(4, None, ""), None) == "failed"
    assert classify(Finished(5, None, ""), None) == "degraded"
    assert classify(Finished(130, "timed_out", ""), {"status": "shutdown"}) == "timed_out"
    assert classify(Finished(-9, None, ""), None) == "failed"


def test_crawl_commands() -> None:
    assert crawl_site(["crawl", "nightshade", "--budget", "5"]) == "nightshade"
    assert crawl_site(["crawl", "--budget", "5", "--", "-odd"]) == "-odd"
    assert crawl_site(["export", "trends"]) is None
    assert with_resume(["crawl", "nightshade"]) == ["crawl", "--resume", "nightshade"]
    assert json.dumps(with_resume(["crawl", "--resume", "x"])) == '["crawl", "--resume", "x"]'


def test_listings_gone_are_those_the_previous_run_saw_and_this_one_did_not(trawl_home: Path) -> None:
    from core.records import Records
    from index.sqlite_backend import SqliteBackend
    from tests.index.records import listing
    from trawl.schedule_exec import listings_gone

    previous, current = "2026-11-01T06:00:00Z", "2026-11-01T12:00:00Z"
    backend = SqliteBackend(trawl_home / "index.sqlite")
    try:
        backend.write(Records(listings=[
            listing("nightshade:1", last_seen=current),  # seen again
            listing("nightshade:2", last_seen=previous),  # gone since the previous run
            listing("nightshade:3", last_seen=previous),  # gone
            listing("nightshade:4", last_seen="2026-10-01T00:00:00Z"),  # gone long ago, not by this run
            listing("vortex:9", last_seen=previous),  # another site
        ]))
    finally:
        backend.close()
    assert listings_gone("nightshade", previous, current) == 2
    assert listings_gone("nightshade", current, current) == 0
