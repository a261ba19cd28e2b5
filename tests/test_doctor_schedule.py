"""`trawl doctor`'s job-store check (trawl/doctor_schedule.py) on real SQLite stores written by
the real ScheduleStore and APScheduler: counts, lease holders, a corrupt file named in a
failure, a fresh home reported as "no job store yet", and nothing created by the check."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from core.config import load_config
from tests.commands import TRAWL
from trawl.doctor import EXIT_BROKEN, CheckResult, DoctorContext
from trawl.doctor_schedule import check_job_store
from trawl.schedule_store import STORE_FILE, ScheduleStore, default_store_url


def store_check(home: Path) -> CheckResult:
    [result] = check_job_store(DoctorContext(config=load_config(), timeout=10))
    assert result.name == "schedule.store"
    return result


def listing(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir())


def fill_store(home: Path) -> ScheduleStore:
    """Two APScheduler jobs written through a real (paused) scheduler, one of them paused."""
    from datetime import timezone

    from apscheduler.schedulers.background import BackgroundScheduler

    store = ScheduleStore(default_store_url(home))
    scheduler = BackgroundScheduler(timezone=timezone.utc, jobstores={"default": store.jobstore()})
    scheduler.start(paused=True)
    for job_id in ("nightshade-6h", "export-daily"):
        scheduler.add_job("builtins:print", trigger="interval", hours=6, id=job_id, args=[job_id])
    scheduler.shutdown(wait=False)
    store.set_paused("export-daily", True)
    return store


def test_fresh_home_has_no_job_store_yet_and_the_check_creates_nothing(trawl_home: Path) -> None:
    result = store_check(trawl_home)
    assert result.status == "ok"
    assert result.detail == f"{trawl_home / STORE_FILE}: no job store yet (`trawl schedule run` creates it)"
    assert listing(trawl_home) == []


def test_counts_jobs_and_names_the_lease_holder_without_creating_files(trawl_home: Path) -> None:
    store = fill_store(trawl_home)
    assert store.acquire("nightshade-6h", "host-a:4242:abc123", ttl=600)  # a scheduler running that job
    # the store still open: its -wal exists and the check reads through it
    live = store_check(trawl_home)
    assert live.status == "ok", live
    assert "readable, 2 job(s) scheduled, 1 paused" in live.detail
    assert "running now: nightshade-6h on host-a:4242:abc123 (lease until " in live.detail
    store.release("nightshade-6h", "host-a:4242:abc123")
    store.close()

    # closed cleanly: no -wal left; the check must not create one (nor -shm)
    before = listing(trawl_home)
    assert before == [STORE_FILE]
    idle = store_check(trawl_home)
    assert idle.status == "ok" and idle.detail.endswith("2 job(s) scheduled, 1 paused; no job running (no lease held)")
    assert listing(trawl_home) == before


def test_an_expired_lease_warns(trawl_home: Path) -> None:
    store = fill_store(trawl_home)
    assert store.acquire("export-daily", "host-b:99:dead00", ttl=-1)  # its holder died mid-run
    store.close()
    result = store_check(trawl_home)
    assert result.status == "warn"
    assert "expired lease(s): export-daily (held by host-b:99:dead00)" in result.detail


def test_a_sqlite_file_of_something_else_warns(trawl_home: Path) -> None:
    import sqlite3

    with sqlite3.connect(trawl_home / STORE_FILE) as other:
        other.execute("CREATE TABLE notes (text)")
    other.close()
    result = store_check(trawl_home)
    assert result.status == "warn" and "tables missing: apscheduler_jobs, trawl_schedule_state" in result.detail


@pytest.mark.parametrize("garbage", [b"garbage " * 512, b""], ids=["garbage", "empty"])
def test_garbage_store_fails_naming_the_file(trawl_home: Path, garbage: bytes) -> None:
    path = trawl_home / STORE_FILE
    path.write_bytes(garbage)
    result = store_check(trawl_home)
    if not garbage:  # an empty file is an empty SQLite database: the scheduler fills it
        assert result.status == "ok" and "no tables yet" in result.detail
        return
    assert result.status == "fail"
    assert result.detail.startswith(f"{path}: job store unreadable (file is not a database)")
    assert result.fix.startswith(f"mv {path} {path}.broken")
    assert listing(trawl_home) == [STORE_FILE]


def test_doctor_command_fails_on_a_corrupt_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = fill_store(home)
    store.close()
    path = home / STORE_FILE
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page's content overwritten: schema unreadable
    path.write_bytes(bytes(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | {"TRAWL_HOME": str(home)}
    result = subprocess.run([*TRAWL, "doctor", "--json", "--site", "chemtrade"], env=env, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == EXIT_BROKEN, result.stdout + result.stderr
    check = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["schedule.store"]
    assert check["status"] == "fail" and check["detail"].startswith(f"{path}: job store unreadable (")
