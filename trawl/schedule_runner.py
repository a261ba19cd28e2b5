"""The scheduler process: APScheduler over the job store, leases, polling, signals, doctor.

One `SchedulerProcess` per `trawl schedule run`.  Its APScheduler (BackgroundScheduler)
keeps each job's trigger and next run time in the store (`trawl.schedule_store`); a job
there is a textual reference to `execute_job` with the job id as its only argument, and
the job's command is read from the jobs YAML this process loaded (the declared truth).

The main thread polls the store every second: pause/resume/run-now written by another
process are applied, and APScheduler is woken so it sees next run times another
scheduler changed.  SIGTERM/SIGINT stop the process: running jobs get SIGTERM (a crawl
checkpoints), SIGKILL after the grace period, and their history lines are written.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from core.clock import utc_now_iso
from core.errors import TrawlError
from trawl.schedule import Job
from trawl.schedule_exec import RESUMABLE_RESULTS, JobOutcome, crawl_site, execute
from trawl.schedule_store import ScheduleStore, holder_id

logger = logging.getLogger("trawl.schedule")

EXECUTE_REF = "trawl.schedule_runner:execute_job"
EXECUTE_NOW_REF = "trawl.schedule_runner:execute_now"
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_GRACE_SECONDS = 30.0
POLL_SECONDS = 1.0
_MISSED_CAP = 100_000

_ACTIVE: SchedulerProcess | None = None  # the process's scheduler, for the module-level job functions


def execute_job(job_id: str) -> dict[str, Any] | None:
    """APScheduler's job function (stored by reference): one scheduled run of `job_id`."""
    runner = _ACTIVE
    outcome = runner.run_job(job_id) if runner is not None else None
    return outcome.as_dict() if outcome else None


def execute_now(job_id: str) -> dict[str, Any] | None:
    """A `trawl schedule run-now` request: runs even when the job is paused."""
    runner = _ACTIVE
    outcome = runner.run_job(job_id, forced=True) if runner is not None else None
    return outcome.as_dict() if outcome else None


def missed_runs(job: Job, last_started: str | None, now: datetime) -> int:
    """Fire times since the previous run that got no run of their own (coalesced into this one)."""
    if not last_started:
        return 0
    try:
        previous = datetime.fromisoformat(last_started.replace("Z", "+00:00"))
    except ValueError:
        return 0
    trigger, due, fire = job.trigger(), 0, previous
    while due < _MISSED_CAP:
        next_fire = trigger.get_next_fire_time(fire, now)
        if next_fire is None or next_fire > now or next_fire <= fire:
            break
        due, fire = due + 1, next_fire
    return max(0, due - 1)


class SchedulerProcess:
    def __init__(self, jobs: list[Job], store: ScheduleStore, *, history: Path, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 grace_seconds: float = DEFAULT_GRACE_SECONDS, max_runs: int | None = None,
                 on_outcome: Callable[[JobOutcome], None] | None = None) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.store = store
        self.history = history
        self.lease_seconds = lease_seconds
        self.grace_seconds = grace_seconds
        self.max_runs = max_runs
        self.on_outcome = on_outcome
        self.holder = holder_id()
        self.stop_event = threading.Event()  # stop now: running jobs get SIGTERM
        self.done_event = threading.Event()  # start nothing new (max_runs reached, or stopping)
        self.finished = 0
        self._lock = threading.Lock()
        self._running: set[str] = set()  # job ids running in this process
        self._scheduler: Any = None

    # --- one run -------------------------------------------------------------------------

    def run_job(self, job_id: str, *, forced: bool = False) -> JobOutcome | None:
        """Run `job_id` once if this process can take its lease; None when skipped."""
        job = self.jobs.get(job_id)
        if job is None or self.done_event.is_set():
            return None  # no longer in the jobs file, or stopping
        if not forced and self.store.state(job_id).paused:
            return None  # paused by another process since APScheduler last looked
        with self._lock:
            if job_id in self._running:
                return None  # a scheduled firing, a run-now or a recovery of one job: one at a time
            self._running.add(job_id)
        try:
            return self._run_leased(job, forced)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _run_leased(self, job: Job, forced: bool) -> JobOutcome | None:
        job_id = job.id
        if not self.store.acquire(job_id, self.holder, self.lease_seconds):
            logger.info("%s: skipped, another scheduler holds its lease", job_id)
            return None
        try:
            if self.done_event.is_set():
                return None
            state = self.store.state(job_id)  # read under the lease: the previous run is final
            last = state.last or {}
            crashed_holder = self.store.taken_over.pop(job_id, None)
            if crashed_holder:
                logger.warning("%s: took over the expired lease of %s (crashed or stalled mid-run)", job_id, crashed_holder)
            resume_from = self._resumable_run(job, last, after_crash=bool(crashed_holder))
            try:
                outcome = execute(job_id, job.command, timeout=job.timeout, grace=self.grace_seconds,
                                  should_stop=self.stop_event.is_set,
                                  heartbeat=lambda: self.store.renew(job_id, self.holder, self.lease_seconds),
                                  heartbeat_every=max(0.5, self.lease_seconds / 4), resume_from=resume_from,
                                  holder=self.holder, previous_run_id=last.get("run_id"))
            except Exception as exc:  # the scheduler's own failure: a failed run, shown, not a silent loop
                logger.exception("%s: could not run", job_id)
                now = utc_now_iso()
                outcome = JobOutcome(job_id=job_id, started=now, finished=now, exit_code=-1, result="failed",
                                     command=job.command, holder=self.holder, started_ts=time.time(),
                                     finished_ts=time.time(), extra={"failure": f"scheduler: {type(exc).__name__}: {exc}"})
            outcome.misfires = missed_runs(job, last.get("started"), datetime.now(timezone.utc))
            if forced:
                outcome.extra["run_now"] = True
            self._record(outcome)
        finally:
            self.store.release(job_id, self.holder)
        with self._lock:
            self.finished += 1
            if self.max_runs is not None and self.finished >= self.max_runs:
                self.done_event.set()  # running jobs of other ids finish; nothing new starts
        if self.on_outcome:
            self.on_outcome(outcome)
        return outcome

    def _resumable_run(self, job: Job, last: dict[str, Any], *, after_crash: bool) -> str | None:
        """The cut-short run to continue, when the previous run of this crawl job was stopped
        (or its scheduler died mid-run, recording nothing)."""
        site = crawl_site(job.command)
        if not site or not (after_crash or last.get("result") in RESUMABLE_RESULTS):
            return None
        from crawler.engine.run import list_runs, resumable_run

        if after_crash:
            # the dead scheduler's crawl got SIGTERM from the kernel and may still be
            # checkpointing: let it finish before continuing its run (bounded by the grace)
            deadline = time.monotonic() + self.grace_seconds
            while any(run.get("status") == "running" for run in list_runs(site)) and time.monotonic() < deadline:
                time.sleep(0.5)
        try:
            return resumable_run(site).name
        except TrawlError:
            return None  # nothing left to continue (e.g. killed before its run dir existed)

    def _record(self, outcome: JobOutcome) -> None:
        record = outcome.as_dict()
        self.history.parent.mkdir(parents=True, exist_ok=True)
        with self.history.open("a", encoding="utf-8") as fh:  # first: the line survives a store outage
            fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        try:
            self.store.record_outcome(outcome.job_id, record)
            if outcome.misfires:
                self.store.add_misfires(outcome.job_id, outcome.misfires)
        except Exception as exc:  # noqa: BLE001 - the history line has it; status shows the previous run
            logger.error("%s: could not record the outcome in the store: %s", outcome.job_id, exc)
        logger.info("%s: %s (exit %s) in %.1fs", outcome.job_id, outcome.result, outcome.exit_code, outcome.duration_s)

    # --- the scheduler -------------------------------------------------------------------

    def start_scheduler(self) -> None:
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        global _ACTIVE
        _ACTIVE = self
        # coalesce: runs missed while down collapse into one; no grace limit: however late,
        # that one run happens; max_instances=1: an overrunning job is not started again here
        # (the lease stops other processes)
        scheduler = BackgroundScheduler(
            timezone=timezone.utc, jobstores={"default": self.store.jobstore(), "local": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        scheduler.start(paused=True)
        self._scheduler = scheduler
        self._sync_jobs()
        scheduler.resume()

    def _sync_jobs(self) -> None:
        """Make the store's jobs match the jobs file; keep next run times of unchanged jobs
        (a run missed while down is then due at once, coalesced into one)."""
        scheduler = self._scheduler
        stored = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
        now = datetime.now(timezone.utc)
        for job in self.jobs.values():
            self.store.ensure(job.id)
            trigger = job.trigger()
            existing = stored.get(job.id)
            if existing is not None and str(existing.trigger) == str(trigger):
                continue
            if existing is not None:
                scheduler.reschedule_job(job.id, jobstore="default", trigger=trigger)
                continue
            # a new interval job runs at once; a cron job at its next fire time
            first = {"next_run_time": now} if job.every_seconds else {}
            scheduler.add_job(EXECUTE_REF, trigger=trigger, args=[job.id], id=job.id, name=" ".join(job.command),
                              jobstore="default", replace_existing=True, **first)
        for job_id in set(stored) - set(self.jobs):
            logger.info("%s: no longer in the jobs file, removed from the store", job_id)
            scheduler.remove_job(job_id, jobstore="default")
        self.poll()

    def poll(self) -> None:
        """Apply pause/resume/run-now written by any process; wake APScheduler."""
        scheduler = self._scheduler
        for job_id, state in self.store.states().items():
            if job_id not in self.jobs:
                continue
            aps_job = scheduler.get_job(job_id, jobstore="default")
            if aps_job is not None:
                if state.paused and aps_job.next_run_time is not None:
                    scheduler.pause_job(job_id, jobstore="default")
                elif not state.paused and aps_job.next_run_time is None:
                    scheduler.resume_job(job_id, jobstore="default")
            if state.run_requested is not None and self.store.take_run_request(job_id, state.run_requested):
                scheduler.add_job(EXECUTE_NOW_REF, args=[job_id], id=f"{job_id}@now-{state.run_requested}",
                                  jobstore="local", misfire_grace_time=None)
        now = time.time()
        for job_id, lease in self.store.leases().items():
            if job_id in self.jobs and lease["expires_at"] < now and job_id not in self._running:
                # its holder died mid-run (nothing recorded): run it again now, continuing the crawl
                scheduler.add_job(EXECUTE_REF, args=[job_id], id=f"{job_id}@recover", jobstore="local",
                                  misfire_grace_time=None, replace_existing=True)
        scheduler.wakeup()  # re-read next run times: another process may have changed them

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT or max_runs; returns the number of runs this process made."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start_scheduler()
            while not self.done_event.wait(POLL_SECONDS):
                try:
                    self.poll()
                except Exception as exc:  # noqa: BLE001 - a store hiccup must not stop the scheduler
                    logger.warning("schedule store poll failed: %s", exc)
        except BaseException:
            self.stop_event.set()  # a crash of the scheduler itself: stop the jobs too, never orphan them
            raise
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.finished

    def run_each_once(self) -> list[tuple[str, JobOutcome | None]]:
        """Every job once, now, one after the other (None: another scheduler holds its lease)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return [(job_id, self.run_job(job_id, forced=True)) for job_id in list(self.jobs)
                    if not self.done_event.is_set()]
        finally:
            self.store.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        logger.warning("%s: stopping; running jobs get SIGTERM, SIGKILL after %gs",
                       signal.Signals(signum).name, self.grace_seconds)
        self.stop_event.set()
        self.done_event.set()

    def stop(self) -> None:
        """Start nothing new and wait for running jobs: to their end after max_runs, or after a
        signal until they stopped (SIGTERM, SIGKILL after the grace) and wrote their history."""
        global _ACTIVE
        self.done_event.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.store.close()
        if _ACTIVE is self:
            _ACTIVE = None


def preflight(jobs: list[Job], *, timeout: float = 10.0) -> list[str]:
    """`trawl doctor` for the parts the jobs need; each broken part is logged and alerted
    (kind `doctor_failed`).  Returns the failed checks as "name: detail" lines."""
    from core.alerts import append_alert
    from core.config import load_config
    from trawl.doctor import run_doctor

    sites = tuple(sorted({site for job in jobs if (site := crawl_site(job.command))}))
    report = run_doctor(load_config(), sites=sites or None, timeout=timeout)
    failed = [result for result in report.results if result.status == "fail"]
    for result in failed:
        logger.error("doctor: %s: %s%s", result.name, result.detail, f" (fix: {result.fix})" if result.fix else "")
    if failed:
        append_alert({"kind": "doctor_failed",
                      "message": f"scheduler start: {len(failed)} check(s) failed: "
                                 + ", ".join(result.name for result in failed),
                      "checks": [result.as_dict() for result in failed], "jobs": sorted(job.id for job in jobs)})
    return [f"{result.name}: {result.detail}" for result in failed]
