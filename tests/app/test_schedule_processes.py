"""The scheduler as real `trawl schedule` processes on one SQLite job store: two schedulers
never run one job at once, state survives a restart, pause/resume/run-now from another
process, time budgets (SIGTERM then SIGKILL, output kept, the crawl resumed), a scheduler
SIGTERM that orphans no crawl, and the start-up doctor's alert."""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.conftest import REPO, crawl_env

PARSE_JOB = """\
jobs:
  - id: parse-job
    command: [parse, quantity, "100 x 2mg Xanax bars", --json]
    every: {every}
    timeout: 60
"""


def write_jobs(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def schedule(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trawl.cli", "schedule", *args], env=env, cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def start_scheduler(jobs: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "trawl.cli", "schedule", "run", "--file", str(jobs), *extra],
                            env=env, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"scheduler did not stop within {timeout}s:\n{out}\n{err[-3000:]}")
    return proc.returncode, out + err


def history(home: Path) -> list[dict[str, Any]]:
    path = home / "schedule-history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def status(jobs: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    result = schedule(["status", "--file", str(jobs), "--json"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def store_status(jobs: Path, home: Path) -> list[dict[str, Any]]:
    """`trawl schedule status --json` rows, read in this process (cheaper than a CLI call per poll)."""
    from trawl.schedule import load_jobs
    from trawl.schedule_status import status_rows
    from trawl.schedule_store import ScheduleStore, default_store_url

    store = ScheduleStore(default_store_url(home))
    try:
        return status_rows(load_jobs(jobs), store)
    finally:
        store.close()


def assert_one_at_a_time(runs: list[dict[str, Any]]) -> None:
    spans = sorted((r["started_ts"], r["finished_ts"], r["holder"]) for r in runs)
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        assert end <= start, f"runs overlap: {first} until {end}, {second} from {start}"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def two_schedulers_then_a_restart(tmp_path: Path, jobs: Path, env: dict[str, str], home: Path) -> list[dict[str, Any]]:
    """Schedulers A and B on one store, each stopping after one run of its own; then C."""
    first = [start_scheduler(jobs, env, "--no-doctor", "--max-runs", "1") for _ in range(2)]
    for proc in first:
        code, output = finish(proc)
        assert code == 0, output[-3000:]
    assert len(history(home)) == 2
    # C is down for a second at least, and starts once two fire times of the 1 s trigger have
    # passed since the last run started, so it has missed one however fast a machine starts it
    # (the second alone plus C's start-up was not always two fire times on a fast VM: misfires 0)
    last_started = max(run["started_ts"] for run in history(home))
    time.sleep(max(1.0, last_started + 2.2 - time.time()))
    code, output = finish(start_scheduler(jobs, env, "--no-doctor", "--max-runs", "1"))
    assert code == 0, output[-3000:]
    return history(home)


@pytest.mark.timeout(300)
def test_two_schedulers_one_store_run_a_job_once_at_a_time_across_a_restart(tmp_path: Path, trawl_home: Path) -> None:
    jobs = write_jobs(tmp_path, PARSE_JOB.format(every="1s"))
    env = crawl_env(trawl_home)
    runs = two_schedulers_then_a_restart(tmp_path, jobs, env, trawl_home)
    assert [r["result"] for r in runs] == ["ok"] * 3, runs
    assert len({r["holder"] for r in runs}) == 3, "A, B and the restarted scheduler each ran once"
    assert_one_at_a_time(runs)
    assert json.loads(runs[0]["output_tail"])["amount"] == 100
    assert runs[-1]["misfires"] >= 1, "fire times missed while down are coalesced into one run"
    [row] = status(jobs, env)
    assert row["runs"] == 3 and row["misfires"] >= 1 and row["last"]["result"] == "ok"
    assert row["next_run"] is not None and not row["running"]


@pytest.mark.timeout(300)
def test_pause_resume_and_run_now_from_another_process(tmp_path: Path, trawl_home: Path) -> None:
    jobs = write_jobs(tmp_path, PARSE_JOB.format(every="1h"))
    env = crawl_env(trawl_home)
    scheduler = start_scheduler(jobs, env, "--no-doctor")
    try:
        wait_for(lambda: len(history(trawl_home)) == 1, 90, "the first run (an interval job runs at start)")
        assert schedule(["pause", "parse-job", "--file", str(jobs)], env).returncode == 0
        row = wait_for(lambda: [r for r in store_status(jobs, trawl_home) if r["paused"] and r["next_run"] is None],
                       30, "the scheduler to apply the pause")[0]
        assert row["runs"] == 1
        assert schedule(["run-now", "parse-job", "--file", str(jobs)], env).returncode == 0
        wait_for(lambda: len(history(trawl_home)) == 2, 90, "the run-now run")
        assert history(trawl_home)[1]["extra"] == {"run_now": True}
        assert schedule(["resume", "parse-job", "--file", str(jobs)], env).returncode == 0
        wait_for(lambda: [r for r in store_status(jobs, trawl_home) if not r["paused"] and r["next_run"]], 30,
                 "the resume")
        unknown = schedule(["pause", "nope", "--file", str(jobs)], env)
        assert unknown.returncode == 2 and "unknown job 'nope'" in unknown.stderr
    finally:
        scheduler.send_signal(signal.SIGTERM)
        code, output = finish(scheduler, 60)
    assert code == 0, output[-3000:]
    assert len(history(trawl_home)) == 2, "paused and then an hourly trigger: no other run"


CRAWL_JOB = """\
jobs:
  - id: nightshade-crawl
    command: [crawl, nightshade, --budget, "400", -v]
    every: 1h
    timeout: {timeout}
"""


def running_crawl(home: Path) -> dict[str, Any] | None:
    for stats_file in (home / "runs").glob("nightshade-*/stats.json"):
        stats = json.loads(stats_file.read_text())
        if stats.get("status") == "running" and stats.get("pages", 0) >= 1 and alive(stats["pid"]):
            return stats
    return None


@pytest.mark.timeout(300)
def test_scheduler_sigterm_then_resume_then_time_budget(tmp_path: Path, trawl_home: Path, testbed: Any) -> None:
    """SIGTERM of the scheduler stops its running crawl (no orphan; the crawl checkpoints)
    and writes the history line; the next run continues that crawl (--resume); a run over
    its time budget is stopped and recorded as timed_out with its output kept."""
    env = crawl_env(trawl_home, testbed.env())
    jobs = write_jobs(tmp_path, CRAWL_JOB.format(timeout=600))
    scheduler = start_scheduler(jobs, env, "--no-doctor", "--grace", "20")
    try:
        crawl = wait_for(lambda: running_crawl(trawl_home), 90, "the scheduled crawl to fetch a page")
    finally:
        scheduler.send_signal(signal.SIGTERM)
    code, output = finish(scheduler, 90)
    assert code == 0, output[-3000:]
    assert not alive(crawl["pid"]), "the crawl must not outlive the scheduler"
    [first] = history(trawl_home)
    assert first["result"] == "interrupted" and first["exit_code"] == 130, first
    assert first["run_id"] == crawl["run_id"] and not first["resumed"]
    assert first["run_id"] in first["output_tail"], "the crawl's summary line, printed as it stopped"
    stats = json.loads((trawl_home / "runs" / first["run_id"] / "stats.json").read_text())
    assert stats["status"] in ("shutdown", "interrupted"), "SIGTERM let the crawl checkpoint"
    assert stats["frontier"].get("pending"), "pages left for --resume"

    # the same job with a 3 s budget: resumed, then stopped (SIGTERM, SIGKILL after the grace)
    budgeted = write_jobs(tmp_path, CRAWL_JOB.format(timeout=3))
    result = schedule(["run", "--file", str(budgeted), "--once", "--no-doctor", "--grace", "20"], env, timeout=180)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    first, second = history(trawl_home)
    assert second["result"] == "timed_out", second
    assert second["resumed"] and second["run_id"] == first["run_id"]
    assert second["command"][:2] == ["crawl", "--resume"]
    assert second["output_tail"].strip(), "the captured output of a killed job is kept"
    [row] = status(budgeted, env)
    assert row["last"]["result"] == "timed_out" and row["runs"] == 2 and not row["running"]


@pytest.mark.timeout(120)
def test_doctor_failure_alerts_and_refuses_when_asked(tmp_path: Path, trawl_home: Path) -> None:
    jobs = write_jobs(tmp_path, CRAWL_JOB.format(timeout=60))
    env = crawl_env(trawl_home, {"TRAWL_TOR_SOCKS": "socks5h://127.0.0.1:9"})  # nothing listens on port 9
    result = schedule(["run", "--file", str(jobs), "--on-doctor-failure", "refuse"], env)
    assert result.returncode == 3, result.stdout + result.stderr[-3000:]
    assert "doctor:" in result.stderr and "tor" in result.stderr
    alerts = [json.loads(line) for line in (trawl_home / "alerts.jsonl").read_text().splitlines()]
    [alert] = [a for a in alerts if a["kind"] == "doctor_failed"]
    assert any(check["name"].startswith("tor") for check in alert["data"]["checks"])
    assert alert["data"]["jobs"] == ["nightshade-crawl"]
    assert history(trawl_home) == [], "refused: no job ran"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_crawls_across_a_restart_with_two_schedulers(tmp_path: Path, trawl_home: Path, testbed: Any) -> None:
    """Must show (issue 18): a fast trigger crawling a testbed site three times across a
    scheduler restart, two scheduler processes on one store, exactly one crawl at a time."""
    jobs = write_jobs(tmp_path, "jobs:\n  - id: nightshade-fast\n    site: nightshade\n    budget: 3\n"
                                "    every: 1s\n    timeout: 120\n")
    env = crawl_env(trawl_home, testbed.env())
    runs = two_schedulers_then_a_restart(tmp_path, jobs, env, trawl_home)
    assert [r["result"] for r in runs] == ["ok"] * 3, runs
    assert len({r["run_id"] for r in runs}) == 3 and all(r["pages"] >= 1 for r in runs)
    assert_one_at_a_time(runs)
    # the crawls' own run stats agree: each started after the previous one finished
    spans = sorted((s["started_at"], s["finished_at"]) for s in
                   (json.loads((trawl_home / "runs" / r["run_id"] / "stats.json").read_text()) for r in runs))
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans
    assert len(list((trawl_home / "runs").glob("nightshade-*"))) == 3


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_crawl_where_every_page_failed_is_recorded_as_failed(tmp_path: Path, trawl_home: Path, testbed: Any) -> None:
    jobs = write_jobs(tmp_path, CRAWL_JOB.format(timeout=200))
    env = crawl_env(trawl_home, {**testbed.env(), "TRAWL_TOR_SOCKS": "socks5h://127.0.0.1:9"})  # proxy down
    result = schedule(["run", "--file", str(jobs), "--once"], env, timeout=240)  # doctor: alert, continue
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    [record] = history(trawl_home)
    assert record["result"] == "failed" and record["exit_code"] == 4, record
    assert "every page failed" in record["extra"]["failure"]
    kinds = [json.loads(line)["kind"] for line in (trawl_home / "alerts.jsonl").read_text().splitlines()]
    assert "doctor_failed" in kinds


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_killed_schedulers_crawl_stops_and_its_lease_is_taken_over(tmp_path: Path, trawl_home: Path,
                                                                       testbed: Any) -> None:
    """SIGKILL of a scheduler mid-crawl: the kernel stops its crawl (PR_SET_PDEATHSIG), the
    lease expires, and another scheduler takes the job over and continues the crawl."""
    env = crawl_env(trawl_home, testbed.env())
    jobs = write_jobs(tmp_path, CRAWL_JOB.format(timeout=600))
    first = start_scheduler(jobs, env, "--no-doctor", "--lease-seconds", "3")
    try:
        crawl = wait_for(lambda: running_crawl(trawl_home), 90, "the crawl to fetch a page")
    finally:
        first.kill()
    finish(first, 30)
    wait_for(lambda: not alive(crawl["pid"]), 60, "the orphaned crawl to stop")
    assert history(trawl_home) == [], "a SIGKILLed scheduler writes nothing"
    short = write_jobs(tmp_path, CRAWL_JOB.format(timeout=8))
    code, output = finish(start_scheduler(short, env, "--no-doctor", "--lease-seconds", "3", "--max-runs", "1",
                                          "--grace", "20"), 200)
    assert code == 0, output[-3000:]
    assert "took over the expired lease" in output
    [record] = history(trawl_home)
    assert record["resumed"] and record["run_id"] == crawl["run_id"], record


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_schedulers_on_a_postgresql_store(tmp_path: Path, trawl_home: Path, postgres_url: str) -> None:
    """The same guarantees with the store on PostgreSQL (schedule.store_url), as a team runs it."""
    jobs = write_jobs(tmp_path, PARSE_JOB.format(every="1s"))
    env = crawl_env(trawl_home, {"TRAWL_SCHEDULE_STORE": postgres_url})
    runs = two_schedulers_then_a_restart(tmp_path, jobs, env, trawl_home)
    assert [r["result"] for r in runs] == ["ok"] * 3, runs
    assert len({r["holder"] for r in runs}) == 3
    assert_one_at_a_time(runs)
    assert not (trawl_home / "schedule.sqlite").exists(), "the configured store, not the default"
    [row] = status(jobs, env)
    assert row["runs"] == 3 and row["misfires"] >= 1
