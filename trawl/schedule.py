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

This module reads and validates the jobs file (the declared truth).  Running them:
`trawl.schedule_runner` (the scheduler process, APScheduler over the job store of
`trawl.schedule_store`: run state, leases) and `trawl.schedule_exec` (one run of a job
in a subprocess).  Every execution is appended to `$TRAWL_HOME/schedule-history.jsonl`.
See docs/scheduling.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.errors import TrawlError
from core.home import trawl_home

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


def default_jobs_file() -> Path:
    return trawl_home() / "schedule.yaml"


def default_history() -> Path:
    return trawl_home() / "schedule-history.jsonl"


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


def next_runs(jobs: list[Job]) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    rows = []
    for job in jobs:
        upcoming = job.trigger().get_next_fire_time(None, now)
        rows.append({"id": job.id, "command": "trawl " + " ".join(job.command),
                     "trigger": job.cron or f"every {job.every_seconds}s",
                     "next_run": upcoming.isoformat() if upcoming else None})
    return rows
