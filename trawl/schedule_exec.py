"""Run one scheduled job: `trawl ...` in its own process group, bounded, with an honest result.

- The output goes to a temporary file, not a pipe: a job that is killed still leaves its
  output tail for the history (a pipe's buffered text was lost on timeout before).
- The child is the leader of a new process group, so a time-out or a scheduler stop
  reaches the crawl and everything it started (a browser): SIGTERM first, which lets a
  crawl checkpoint (it exits 130 and `trawl crawl SITE --resume` continues it), then
  SIGKILL after a grace period.  On Linux the child also gets SIGTERM if the scheduler
  dies without cleaning up (PR_SET_PDEATHSIG), so no crawl is orphaned.
- The result comes from the exit code and, for a crawl, its run stats
  ($TRAWL_HOME/runs/<run_id>/stats.json): a crawl where every page failed exits 4 and is
  recorded as `failed`, never as success.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.clock import utc_now_iso
from crawler.engine.runstatus import EXIT_DEGRADED, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_PAUSED, EXIT_USAGE
from crawler.engine.spawn import trawl_command

logger = logging.getLogger("trawl.schedule")
OUTPUT_TAIL = 2000
RESULT_BY_EXIT = {EXIT_OK: "ok", EXIT_USAGE: "error", EXIT_PAUSED: "paused", EXIT_FAILED: "failed",
                  EXIT_DEGRADED: "degraded", EXIT_INTERRUPTED: "interrupted"}
# results after which the next run of a crawl job continues the cut-short run (--resume)
RESUMABLE_RESULTS = frozenset({"timed_out", "interrupted", "lease_lost"})
_CRAWL_VALUE_OPTIONS = frozenset({"--clock", "--budget", "--log-file"})
_PR_SET_PDEATHSIG = 1


@dataclass
class JobOutcome:
    job_id: str
    started: str
    finished: str
    exit_code: int
    result: str = "ok"  # ok, failed, degraded, paused, error, interrupted, timed_out, lease_lost, skipped
    duration_s: float = 0.0
    command: list[str] = field(default_factory=list)
    output_tail: str = ""
    run_id: str | None = None  # the crawl's run, when the job is a crawl
    resumed: bool = False
    pages: int | None = None
    listings_new: int | None = None
    listings_changed: int | None = None
    listings_unchanged: int | None = None
    listings_gone: int | None = None
    misfires: int = 0  # fire times since the previous run that got no run of their own (coalesced)
    started_ts: float = 0.0  # epoch seconds, finer than `started` (ordering runs of several schedulers)
    finished_ts: float = 0.0
    holder: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Finished:
    exit_code: int
    reason: str | None  # None: ended by itself; timed_out, interrupted or lease_lost: we stopped it
    output_tail: str


def crawl_site(command: list[str]) -> str | None:
    """The site of a `crawl` command (None for other commands)."""
    if not command or command[0] != "crawl":
        return None
    args = iter(command[1:])
    for arg in args:
        if arg == "--":
            return next(args, None)
        if arg in _CRAWL_VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def with_resume(command: list[str]) -> list[str]:
    return command if "--resume" in command else [command[0], "--resume", *command[1:]]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def run_process(argv: list[str], *, timeout: float, grace: float, should_stop: Callable[[], bool],
                heartbeat: Callable[[], bool], heartbeat_every: float, env: dict[str, str] | None = None,
                on_start: Callable[[subprocess.Popen[bytes]], None] | None = None) -> Finished:
    """Run argv to its end, or stop it (SIGTERM to its group, SIGKILL after `grace`) when it
    overruns `timeout`, when `should_stop()` turns true, or when `heartbeat()` fails."""
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent, env=env)
        if on_start:
            on_start(proc)
        started = time.monotonic()

        def beat() -> bool:
            try:
                return heartbeat()
            except Exception as exc:  # noqa: BLE001 - a busy store: try again; a lost lease shows as False later
                logger.warning("lease heartbeat failed: %s", exc)
                return True

        try:
            code, reason = _wait(proc, started, timeout, grace, should_stop, beat, heartbeat_every)
        except BaseException:
            _signal_group(proc.pid, signal.SIGKILL)  # whatever went wrong here, the job must not outlive it
            raise
        _signal_group(proc.pid, signal.SIGKILL)  # whatever the job left in its group (a browser)
        output.seek(0, os.SEEK_END)
        size = output.tell()
        output.seek(max(0, size - OUTPUT_TAIL * 4))
        tail = output.read().decode("utf-8", errors="replace")[-OUTPUT_TAIL:]
    return Finished(code, reason, tail)


def _wait(proc: subprocess.Popen[bytes], started: float, timeout: float, grace: float,
          should_stop: Callable[[], bool], heartbeat: Callable[[], bool],
          heartbeat_every: float) -> tuple[int, str | None]:
    """Wait for the job, stopping it when needed; (exit code, why we stopped it or None)."""
    last_beat = started
    reason: str | None = None
    term_sent: float | None = None
    while True:
        try:
            code = proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if reason is None:
            if now - started > timeout:
                reason = "timed_out"
            elif should_stop():
                reason = "interrupted"
            elif now - last_beat >= heartbeat_every:
                last_beat = now
                if not heartbeat():
                    reason = "lease_lost"  # another scheduler took the job over: stop ours
            if reason is not None:
                term_sent = now
                _signal_group(proc.pid, signal.SIGTERM)
        elif term_sent is not None and now - term_sent > grace:
            _signal_group(proc.pid, signal.SIGKILL)
            term_sent = None  # sent once; wait() returns soon
        if reason is not None and now - last_beat >= heartbeat_every:
            last_beat = now
            heartbeat()  # keep the lease while the crawl checkpoints
    return code, reason


def classify(finished: Finished, run_stats: dict[str, Any] | None) -> str:
    if finished.reason is not None:
        return finished.reason
    result = RESULT_BY_EXIT.get(finished.exit_code, "failed")
    if result == "ok" and run_stats and run_stats.get("status") not in (None, "finished", "budget_reached"):
        return "failed"  # the crawl says it did not finish, whatever its exit code
    return result


def crawl_figures(run_stats: dict[str, Any] | None) -> dict[str, Any]:
    """pages and listings new/changed/unchanged of a crawl, from its stats.json."""
    if not run_stats:
        return {}
    raw = run_stats.get("stats") or {}
    return {"pages": run_stats.get("pages"),
            "listings_new": int(raw.get("trawl/listings/new", 0)),
            "listings_changed": int(raw.get("trawl/listings/changed", 0)),
            "listings_unchanged": int(raw.get("trawl/listings/unchanged", 0))}


def listings_gone(site: str, previous_clock: str, clock: str) -> int | None:
    """Listings of `site` the previous run saw and this complete run did not: last seen at
    or after the previous run's clock, and before this run's.  None when unknown."""
    from datetime import timedelta

    from core.clock import iso_z
    from index import open_index
    from index.api import SearchQuery

    try:
        before = datetime.fromisoformat(clock.replace("Z", "+00:00")) - timedelta(seconds=1)
        index = open_index()
    except Exception:  # noqa: BLE001 - a bad clock or an index that is down: unknown, not zero
        return None
    try:
        query = SearchQuery(site=site, last_seen_from=previous_clock, last_seen_to=iso_z(before), limit=1)
        return index.search(query).total
    except Exception:  # noqa: BLE001 - see above
        return None
    finally:
        index.close()


def run_dirs(runs: Path, site: str) -> set[str]:
    return {p.name for p in runs.glob(f"{site}-*") if p.is_dir()} if runs.is_dir() else set()


def execute(job_id: str, command: list[str], *, timeout: float, grace: float, should_stop: Callable[[], bool],
            heartbeat: Callable[[], bool], heartbeat_every: float, resume_from: str | None, holder: str = "",
            previous_run_id: str | None = None,
            on_start: Callable[[subprocess.Popen[bytes]], None] | None = None) -> JobOutcome:
    """Run a job's command once (a crawl continues the run `resume_from` when given;
    `previous_run_id`, the crawl of the job's previous run, tells which listings are gone)."""
    from core.home import trawl_home
    from crawler.engine.runstats import read_stats

    runs = trawl_home() / "runs"  # as crawler.engine.run.runs_dir()
    site = crawl_site(command)
    if site and resume_from:
        command = with_resume(command)
    before = run_dirs(runs, site) if site else set()
    started, started_ts, clock = utc_now_iso(), time.time(), time.monotonic()
    finished = run_process(trawl_command(command), timeout=timeout, grace=grace, should_stop=should_stop,
                           heartbeat=heartbeat, heartbeat_every=heartbeat_every, on_start=on_start)
    duration = round(time.monotonic() - clock, 3)
    run_id: str | None = None
    stats: dict[str, Any] | None = None
    if site:
        new = sorted(run_dirs(runs, site) - before)
        run_id = new[-1] if new else resume_from
        stats = read_stats(runs / run_id) if run_id else None
    outcome = JobOutcome(job_id=job_id, started=started, finished=utc_now_iso(), exit_code=finished.exit_code,
                         result=classify(finished, stats), duration_s=duration, command=command,
                         output_tail=finished.output_tail, run_id=run_id, resumed=bool(site and resume_from),
                         holder=holder, started_ts=started_ts, finished_ts=time.time(), **crawl_figures(stats))
    if stats and stats.get("failure"):
        outcome.extra["failure"] = stats["failure"]
    if site and stats and stats.get("status") == "finished" and previous_run_id and previous_run_id != run_id:
        # only a complete crawl tells what is gone (a budget-limited one did not see everything)
        previous = read_stats(runs / previous_run_id) or {}
        if previous.get("clock") and stats.get("clock"):
            outcome.listings_gone = listings_gone(site, previous["clock"], stats["clock"])
    return outcome
