"""Scheduled jobs: crawl sites and run other trawl commands on cron or interval triggers.

A jobs file is YAML (default `$TRAWL_HOME/schedule.yaml`)::

    jobs:
      - id: nightshade-6h
        site: nightshade          # shorthand for: command: [crawl, nightshade]
        every: 6h                 # or cron: "15 3 * * *"
        budget: 2000              # optional page budget for crawls
      - id: monthly-trends
        command: [export, trends, --format, csv, --out, trends.csv]
        cron: "0 4 1 * *"

Each job runs `trawl ...` in a subprocess so a crashing crawl can't take the
scheduler down, and Twisted's one-reactor-per-process rule is respected.
Every execution is appended to `$TRAWL_HOME/schedule-history.jsonl`.
"""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from crawler.engine.spawn import trawl_command

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_JOB_KEYS = {"id", "site", "command", "every", "cron", "budget", "timeout", "resume"}


class ScheduleError(TrawlError):
    pass


@dataclass(frozen=True)
class Job:
    id: str
    command: list[str]
    every_seconds: int | None = None
    cron: str | None = None
    timeout: int = 6 * 3600
    source: str = ""  # "FILE:LINE" for error messages

    def trigger(self) -> CronTrigger | IntervalTrigger:
        if self.cron:
            return CronTrigger.from_crontab(self.cron, timezone=timezone.utc)
        return IntervalTrigger(seconds=self.every_seconds or 0, timezone=timezone.utc)


@dataclass
class JobOutcome:
    job_id: str
    started: str
    finished: str
    exit_code: int
    output_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def default_jobs_file() -> Path:
    return trawl_home() / "schedule.yaml"


def parse_every(text: str) -> int:
    match = _EVERY.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not a duration like 30s, 15m, 6h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("duration must be positive")
    return seconds


def load_jobs(path: Path) -> list[Job]:
    """Read and validate a jobs file; errors name the file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read jobs file: {exc.strerror}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ScheduleError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise ScheduleError(f"{path}:1: jobs: expected a top-level 'jobs:' list")
    job_nodes = _job_nodes(root)
    jobs: list[Job] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["jobs"]):
        line = job_nodes[index].start_mark.line + 1 if index < len(job_nodes) else 1
        where = f"{path}:{line}"
        jobs.append(_validate_job(raw, where, index, seen))
    return jobs


def _job_nodes(root: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "jobs" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _validate_job(raw: Any, where: str, index: int, seen: set[str]) -> Job:
    if not isinstance(raw, dict):
        raise ScheduleError(f"{where}: jobs[{index}]: expected a mapping with id, site/command and every/cron")
    unknown = sorted(set(raw) - _JOB_KEYS)
    if unknown:
        raise ScheduleError(f"{where}: jobs[{index}].{unknown[0]}: unknown field (allowed: {', '.join(sorted(_JOB_KEYS))})")
    job_id = raw.get("id")
    if not isinstance(job_id, str) or not job_id.strip():
        raise ScheduleError(f"{where}: jobs[{index}].id: required, a non-empty string")
    if job_id in seen:
        raise ScheduleError(f"{where}: jobs[{index}].id: duplicate job id '{job_id}'")
    seen.add(job_id)
    command = _job_command(raw, where, index)
    if ("every" in raw) == ("cron" in raw):
        raise ScheduleError(f"{where}: jobs[{index}]: give exactly one of 'every' or 'cron'")
    every = None
    if "every" in raw:
        try:
            every = parse_every(raw["every"])
        except ValueError as exc:
            raise ScheduleError(f"{where}: jobs[{index}].every: {exc}") from None
    cron = raw.get("cron")
    if cron is not None:
        try:
            CronTrigger.from_crontab(str(cron), timezone=timezone.utc)
        except ValueError as exc:
            raise ScheduleError(f"{where}: jobs[{index}].cron: {exc}") from None
    timeout = raw.get("timeout", 6 * 3600)
    if not isinstance(timeout, int) or timeout <= 0:
        raise ScheduleError(f"{where}: jobs[{index}].timeout: expected seconds as a positive integer")
    return Job(id=job_id, command=command, every_seconds=every, cron=str(cron) if cron else None, timeout=timeout, source=where)


def _job_command(raw: dict[str, Any], where: str, index: int) -> list[str]:
    if ("site" in raw) == ("command" in raw):
        raise ScheduleError(f"{where}: jobs[{index}]: give exactly one of 'site' (a crawl) or 'command'")
    if "site" in raw:
        if not isinstance(raw["site"], str):
            raise ScheduleError(f"{where}: jobs[{index}].site: expected a site name")
        command = ["crawl", raw["site"]]
        if raw.get("budget") is not None:
            if not isinstance(raw["budget"], int) or raw["budget"] <= 0:
                raise ScheduleError(f"{where}: jobs[{index}].budget: expected a positive integer")
            command += ["--budget", str(raw["budget"])]
        if raw.get("resume"):
            command.append("--resume")
        return command
    command = raw["command"]
    if not isinstance(command, list) or not command or not all(isinstance(c, (str, int, float)) for c in command):
        raise ScheduleError(f"{where}: jobs[{index}].command: expected a non-empty list of arguments, e.g. [export, trends, --out, t.csv]")
    if str(command[0]) in {"schedule", "demo", "testbed"}:
        raise ScheduleError(f"{where}: jobs[{index}].command: '{command[0]}' cannot be scheduled")
    return [str(c) for c in command]


def run_job(job: Job, *, history: Path | None = None) -> JobOutcome:
    """Run one job now, in a subprocess, and append the outcome to the history file."""
    started = _utcnow()
    argv = trawl_command(job.command)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=job.timeout, stdin=subprocess.DEVNULL)
        code, output = proc.returncode, (proc.stdout + proc.stderr)
    except subprocess.TimeoutExpired as exc:
        partial_output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        code, output = 124, f"timed out after {job.timeout}s: {partial_output}"
    outcome = JobOutcome(job_id=job.id, started=started, finished=_utcnow(), exit_code=code, output_tail=output[-2000:])
    history = history or ensure_home() / "schedule-history.jsonl"
    with history.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(outcome.__dict__, ensure_ascii=False) + "\n")
    return outcome


def build_scheduler(jobs: list[Job], *, history: Path | None = None) -> BlockingScheduler:
    # coalesce + max_instances=1: a crawl that overruns its interval is not started twice,
    # and missed runs after downtime collapse into one.
    scheduler = BlockingScheduler(timezone=timezone.utc, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    now = datetime.now(timezone.utc)
    for job in jobs:
        # interval jobs would first fire one interval from now; a fresh deployment should crawl at once
        first = {"next_run_time": now} if job.every_seconds else {}
        scheduler.add_job(run_job, trigger=job.trigger(), args=[job], kwargs={"history": history}, id=job.id, name=" ".join(job.command), **first)
    return scheduler


def next_runs(jobs: list[Job]) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    rows = []
    for job in jobs:
        upcoming = job.trigger().get_next_fire_time(None, now)
        rows.append({"id": job.id, "command": "trawl " + " ".join(job.command),
                     "trigger": job.cron or f"every {job.every_seconds}s",
                     "next_run": upcoming.isoformat() if upcoming else None})
    return rows


def run_scheduler(jobs: list[Job], *, max_runs: int | None = None, history: Path | None = None, on_outcome: Any = None) -> int:
    """Run until interrupted, or until `max_runs` job executions have finished."""
    scheduler = build_scheduler(jobs, history=history)
    finished = 0
    lock = threading.Lock()

    def listener(event: JobExecutionEvent) -> None:
        nonlocal finished
        if on_outcome and event.retval is not None:
            on_outcome(event.retval)
        with lock:
            finished += 1
            if max_runs is not None and finished >= max_runs:
                # shutdown from a worker thread must not wait for that same thread
                threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    time.sleep(0.05)
    return finished


def _utcnow() -> str:
    return utc_now_iso()
