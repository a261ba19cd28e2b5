"""`trawl schedule`: check, list and run scheduled crawl jobs (APScheduler)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from trawl.schedule import default_jobs_file, load_jobs, next_runs, run_job, run_scheduler

_FILE = click.option("--file", "jobs_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Jobs file (default $TRAWL_HOME/schedule.yaml).")


@click.group()
def schedule() -> None:
    """Run crawls and exports on a schedule.

    \b
    Example:
      trawl schedule check --file jobs.yaml
      trawl schedule list --file jobs.yaml --json
      trawl schedule run --file jobs.yaml
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
    """Show jobs with their triggers and next run times.

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
@click.option("--once", is_flag=True, help="Run every job once now, then exit.")
@click.option("--max-runs", type=click.IntRange(min=1), default=None, help="Stop after this many job executions.")
def run(jobs_file: Path | None, once: bool, max_runs: int | None) -> None:
    """Run the scheduler in the foreground (Ctrl-C stops it).

    Each job runs `trawl ...` in a subprocess; outcomes go to
    $TRAWL_HOME/schedule-history.jsonl.

    \b
    Example:
      trawl schedule run --file jobs.yaml
      trawl schedule run --file jobs.yaml --once
    """
    jobs = load_jobs(jobs_file or default_jobs_file())
    failures = 0
    if once:
        for job in jobs:
            outcome = run_job(job)
            failures += outcome.exit_code != 0
            click.echo(f"{job.id}: exit {outcome.exit_code}")
    else:
        click.echo(f"scheduler started with {len(jobs)} job(s); Ctrl-C to stop")
        run_scheduler(jobs, max_runs=max_runs, on_outcome=lambda o: click.echo(f"{o.finished} {o.job_id}: exit {o.exit_code}"))
    if failures:
        raise SystemExit(1)
