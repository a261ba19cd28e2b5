"""`trawl schedule status`: the jobs file joined with the store's run state, per job."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from core.clock import iso_z
from core.errors import TrawlError
from trawl.schedule import Job
from trawl.schedule_store import ScheduleStore

LAST_FIELDS = ("result", "exit_code", "started", "finished", "duration_s", "run_id", "resumed", "pages",
               "listings_new", "listings_changed", "listings_unchanged", "listings_gone", "misfires")


def _iso(timestamp: float | None) -> str | None:
    return iso_z(datetime.fromtimestamp(timestamp, timezone.utc)) if timestamp is not None else None


def known_job(jobs: list[Job], job_id: str) -> Job:
    for job in jobs:
        if job.id == job_id:
            return job
    raise TrawlError(f"unknown job {job_id!r} (jobs: {', '.join(j.id for j in jobs) or 'none'})")


def status_rows(jobs: list[Job], store: ScheduleStore) -> list[dict[str, Any]]:
    states = store.states()
    next_times = store.next_run_times()
    leases = store.leases()
    now = time.time()
    rows = []
    for job in jobs:
        state = states.get(job.id)
        lease = leases.get(job.id)
        last = (state.last if state else None) or {}
        rows.append({
            "id": job.id,
            "command": "trawl " + " ".join(job.command),
            "trigger": job.cron or f"every {job.every_seconds}s",
            "timeout_s": job.timeout,
            "paused": bool(state and state.paused),
            "next_run": _iso(next_times.get(job.id)),  # None: paused, or no scheduler started yet
            "run_requested": _iso(state.run_requested) if state else None,
            "running": bool(lease and lease["expires_at"] >= now),
            "running_on": lease["holder"] if lease and lease["expires_at"] >= now else None,
            "runs": state.runs if state else 0,
            "misfires": state.misfires if state else 0,
            "last": {name: last.get(name) for name in LAST_FIELDS} if last else None,
            "last_output_tail": last.get("output_tail") if last else None,
        })
    return rows


def status_line(row: dict[str, Any]) -> str:
    last = row["last"] or {}
    when = "paused" if row["paused"] else f"next {row['next_run'] or '-'}"
    if row["running"]:
        when += f", running on {row['running_on']}"
    if not last:
        return f"{row['id']:<24} {row['trigger']:<14} {when}; never run"
    figures = ""
    if last.get("pages") is not None:
        gone = last.get("listings_gone")
        figures = (f", {last['pages']} pages, listings {last.get('listings_new', 0)} new/"
                   f"{last.get('listings_changed', 0)} changed/{'-' if gone is None else gone} gone")
    return (f"{row['id']:<24} {row['trigger']:<14} {when}; last {last.get('result')} (exit {last.get('exit_code')}) "
            f"{last.get('finished')} in {last.get('duration_s', 0):.1f}s{figures}; "
            f"{row['runs']} run(s), {row['misfires']} misfire(s) coalesced")
