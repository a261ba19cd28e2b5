"""`trawl evidence`: verify, inspect and export the WARC evidence of crawl runs."""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from crawler.evidence_verify import resolve_run, verify_run
from index.errors import TrawlError
from index.home import trawl_home


def _manifest_entries(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "manifest.jsonl"
    if not path.is_file():
        raise TrawlError(f"{path}: no manifest (not a trawl run directory?)")
    entries = []
    for line in path.read_bytes().splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def _summary(run_dir: Path) -> dict[str, Any]:
    entries = _manifest_entries(run_dir)
    types: dict[str, int] = {}
    for entry in entries:
        types[entry.get("type", "?")] = types.get(entry.get("type", "?"), 0) + 1
    head_path = run_dir / "manifest.head"
    head = json.loads(head_path.read_text()) if head_path.is_file() else None
    files = sorted({e.get("warc_file", "") for e in entries})
    return {"run_id": run_dir.name, "run_dir": str(run_dir), "records": len(entries),
            "types": types, "warc_files": files,
            "bytes": sum((run_dir / f).stat().st_size for f in files if (run_dir / f).is_file()),
            "closed": head is not None, "head": (head or {}).get("head", "")}


@click.group()
def evidence() -> None:
    """Verify and inspect the WARC evidence of crawl runs.

    \b
    Example:
      trawl evidence list
      trawl evidence verify 20261123T100000Z-nightshade
    """


@evidence.command("verify")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_cmd(run: str, as_json: bool) -> None:
    """Check every WARC record and payload digest, the manifest hash chain and its head.

    RUN is a run id (under $TRAWL_HOME/runs/) or a run directory. Exit code 1 when
    anything was tampered with or is missing.

    \b
    Example:
      trawl evidence verify 20261123T100000Z-nightshade
      trawl evidence verify ./trawl-data/runs/20261123T100000Z-nightshade --json
    """
    report = verify_run(run)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        status = "OK" if report.ok else "TAMPERED"
        click.echo(f"{status}: run {report.run_id}: {report.records} records, "
                   f"head {report.head[:16]}…")
        for problem in report.problems:
            click.echo(f"  problem: {problem}")
        for warning in report.warnings:
            click.echo(f"  warning: {warning}")
    if not report.ok:
        sys.exit(1)


@evidence.command("show")
@click.argument("run")
@click.option("--records", is_flag=True, help="List every record (offset, type, URI).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show_cmd(run: str, records: bool, as_json: bool) -> None:
    """Summarise one run's evidence: record counts, WARC files, manifest head.

    \b
    Example:
      trawl evidence show 20261123T100000Z-nightshade --records
    """
    run_dir = resolve_run(run)
    summary = _summary(run_dir)
    if records:
        summary["entries"] = [{k: e.get(k) for k in ("seq", "warc_file", "offset", "type",
                                                      "target_uri", "payload_sha256")}
                              for e in _manifest_entries(run_dir)]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"run {summary['run_id']} ({'closed' if summary['closed'] else 'NOT closed'})")
    click.echo(f"  records: {summary['records']} {summary['types']}")
    click.echo(f"  files:   {', '.join(summary['warc_files'])} ({summary['bytes']} bytes)")
    click.echo(f"  head:    {summary['head']}")
    for entry in summary.get("entries", []):
        click.echo(f"  {entry['seq']:>6} {entry['warc_file']}@{entry['offset']} "
                   f"{entry['type']:<9} {entry['target_uri']}")


@evidence.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_cmd(as_json: bool) -> None:
    """List runs under $TRAWL_HOME/runs that hold evidence.

    \b
    Example:
      trawl evidence list --json
    """
    runs_dir = trawl_home(create=False) / "runs"
    rows = [_summary(p) for p in sorted(runs_dir.glob("*/manifest.jsonl"))
            for p in [p.parent]] if runs_dir.is_dir() else []
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no runs with evidence under {runs_dir}")
    for row in rows:
        click.echo(f"{row['run_id']}  {row['records']:>6} records  {row['bytes']:>10} bytes  "
                   f"{'closed' if row['closed'] else 'NOT closed'}")


@evidence.command("export")
@click.argument("run")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory to copy the evidence package into (created).")
def export_cmd(run: str, out_dir: Path) -> None:
    """Copy a verified run's WARC files, manifest and head plus a SHA256SUMS file.

    Refuses (exit 1) when the run does not verify.

    \b
    Example:
      trawl evidence export 20261123T100000Z-nightshade --out ./case-4711
    """
    report = verify_run(run)
    if not report.ok:
        click.echo(f"refusing to export: run {report.run_id} does not verify "
                   f"({report.problems[0]})", err=True)
        sys.exit(1)
    run_dir = Path(report.run_dir)
    target = out_dir / run_dir.name
    target.mkdir(parents=True, exist_ok=True)
    names = ["manifest.jsonl", "manifest.head"] + sorted(
        p.relative_to(run_dir).as_posix() for p in (run_dir / "warc").glob("*.warc.gz"))
    sums = []
    for name in names:
        source = run_dir / name
        if not source.is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
        sums.append(f"{hashlib.sha256(source.read_bytes()).hexdigest()}  {name}")
    (target / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    click.echo(f"exported {len(sums)} files to {target}")
