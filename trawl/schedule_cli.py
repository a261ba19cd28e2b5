"""`trawl schedule`: check, list, run, pause/resume/run-now and status of scheduled jobs."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from trawl.schedule import default_history, default_jobs_file, load_jobs, next_runs

_FILE = click.option("--file", "jobs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Jobs file (default $TRAWL_HOME/schedule.yaml).")
_STORE = click.option("--store", "store_url", metavar="URL", default=None,
                      help="Job store (SQLAlchemy URL; default: the schedule.store_url setting, "
                           "else SQLite at $TRAWL_HOME/schedule.sqlite).")
_JOB = click.argument("job_id", metavar="JOB")
EXIT_DOCTOR_REFUSED = 3  # as `trawl doctor` exits when something needed is broken


@click.group()
def schedule() -> None:
    """Run crawls and exports on a schedule that survives restarts.

    The jobs file is the declared truth; run state (next/last run, paused, misfires,
    leases) lives in the job store, shared by every scheduler and command using it.

    \b
    Example:
      trawl schedule check --file jobs.yaml
      trawl schedule run --file jobs.yaml
      trawl schedule status --file jobs.yaml
      trawl schedule pause nightshade-6h --file jobs.yaml
    """


@schedule.command("check")
@_FILE
def check(jobs_file: Path | None) -> None:
    """Validate a jobs file; errors name the file, line and field.

    \b
    Example:
      trawl schedule check --file jobs.yaml
    """
    path = jobs_file or default_jobs_file()
    jobs = load_jobs(path)
    click.echo(f"{path}: {len(jobs)} job(s) OK")


@schedule.command("list")
@_FILE
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_jobs(jobs_file: Path | None, as_json: bool) -> None:
    """Show jobs with their triggers and next fire times (from the jobs file alone).

    \b
    Example:
      trawl schedule list --file jobs.yaml --json
    """
    rows = next_runs(load_jobs(jobs_file or default_jobs_file()))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:<24} {row['trigger']:<20} next {row['next_run']}  {row['command']}")


@schedule.command("run")
@_FILE
@_STORE
@click.option("--once", is_flag=True, help="Run every job once now, then exit.")
@click.option("--max-runs", type=click.IntRange(min=1), default=None,
              help="Stop after this process ran this many jobs (runs of other schedulers do not count).")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds a stopped or timed-out job gets after SIGTERM before SIGKILL.")
@click.option("--lease-seconds", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="A job's lease expires this long after the last heartbeat of a crashed holder.")
@click.option("--on-doctor-failure", type=click.Choice(["continue", "refuse"]), default="continue", show_default=True,
              help="When `trawl doctor` finds a needed part broken at start: alert and go on, or alert and exit 3.")
@click.option("--no-doctor", is_flag=True, help="Skip the start-up `trawl doctor` checks.")
def run(jobs_file: Path | None, store_url: str | None, once: bool, max_runs: int | None, grace: float,
        lease_seconds: float, on_doctor_failure: str, no_doctor: bool) -> None:
    """Run the scheduler in the foreground (Ctrl-C or SIGTERM stops it).

    Each job runs `trawl ...` in its own process group.  Several schedulers may share one
    store: a job's lease makes sure only one runs it at a time.  A job over its `timeout`
    gets SIGTERM, then SIGKILL after --grace, and is recorded as timed_out; the next run
    of a cut-short crawl continues it (--resume).  Stopping the scheduler stops running
    jobs the same way, and their history lines are written.  Outcomes go to the store and
    to $TRAWL_HOME/schedule-history.jsonl.  Exit 1 when a --once job did not succeed.

    \b
    Example:
      trawl schedule run --file jobs.yaml
      trawl schedule run --file jobs.yaml --once
      trawl schedule run --file jobs.yaml --store postgresql+psycopg://trawl@db/trawl --on-doctor-failure refuse
    """
    from trawl.schedule_runner import SchedulerProcess, preflight
    from trawl.schedule_store import open_store

    jobs = load_jobs(jobs_file or default_jobs_file())
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one "Running job" line per firing is noise
    if not no_doctor:
        failed = preflight(jobs)
        if failed:
            click.echo(f"doctor: {len(failed)} check(s) failed (alert raised): " + "; ".join(failed), err=True)
            if on_doctor_failure == "refuse":
                raise SystemExit(EXIT_DOCTOR_REFUSED)
    store = open_store(store_url)
    runner = SchedulerProcess(jobs, store, history=default_history(), lease_seconds=lease_seconds,
                              grace_seconds=grace, max_runs=max_runs,
                              on_outcome=lambda o: click.echo(f"{o.finished} {o.job_id}: {o.result} (exit {o.exit_code})"))
    if once:
        failures = 0
        for job_id, outcome in runner.run_each_once():
            if outcome is None:
                click.echo(f"{job_id}: skipped (another scheduler is running it)")
            failures += outcome is not None and outcome.result != "ok"
        if failures:
            raise SystemExit(1)
        return
    click.echo(f"scheduler started with {len(jobs)} job(s), store {store.url_for_humans()}; Ctrl-C to stop")
    runner.serve()


@schedule.command("status")
@_FILE
@_STORE
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(jobs_file: Path | None, store_url: str | None, as_json: bool) -> None:
    """Per job: next run, paused, running, and the last run's result, exit code, duration,
    pages and listings new/changed/gone.

    \b
    Example:
      trawl schedule status --file jobs.yaml
      trawl schedule status --file jobs.yaml --json
    """
    from trawl.schedule_status import status_line, status_rows
    from trawl.schedule_store import open_store

    jobs = load_jobs(jobs_file or default_jobs_file())
    store = open_store(store_url)
    try:
        rows = status_rows(jobs, store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        click.echo(status_line(row))


def _change(jobs_file: Path | None, store_url: str | None, job_id: str, action: str) -> None:
    from core.audit import append_audit, cli_actor
    from trawl.schedule_status import known_job
    from trawl.schedule_store import open_store

    known_job(load_jobs(jobs_file or default_jobs_file()), job_id)
    store = open_store(store_url)
    try:
        if action == "run-now":
            store.request_run(job_id)
        else:
            store.set_paused(job_id, action == "pause")
    finally:
        store.close()
    # the store URL is not recorded: a database URL may carry a password
    append_audit(f"schedule.{action}", who=cli_actor(), via="cli", target=job_id)


@schedule.command("pause")
@_FILE
@_STORE
@_JOB
def pause(jobs_file: Path | None, store_url: str | None, job_id: str) -> None:
    """Stop scheduling JOB (a run in progress finishes); kept across restarts.

    \b
    Example:
      trawl schedule pause nightshade-6h --file jobs.yaml
    """
    _change(jobs_file, store_url, job_id, "pause")
    click.echo(f"{job_id}: paused")


@schedule.command("resume")
@_FILE
@_STORE
@_JOB
def resume(jobs_file: Path | None, store_url: str | None, job_id: str) -> None:
    """Schedule JOB again after `trawl schedule pause`.

    \b
    Example:
      trawl schedule resume nightshade-6h --file jobs.yaml
    """
    _change(jobs_file, store_url, job_id, "resume")
    click.echo(f"{job_id}: resumed")


@schedule.command("run-now")
@_FILE
@_STORE
@_JOB
def run_now(jobs_file: Path | None, store_url: str | None, job_id: str) -> None:
    """Ask the running scheduler to run JOB at once (even when paused); it picks the
    request up within a second, or at its next start.

    \b
    Example:
      trawl schedule run-now nightshade-6h --file jobs.yaml
    """
    _change(jobs_file, store_url, job_id, "run-now")
    click.echo(f"{job_id}: run requested")
