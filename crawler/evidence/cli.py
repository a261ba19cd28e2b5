"""`trawl evidence`: verify, inspect and export the WARC evidence of crawl runs."""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.errors import TrawlError
from core.home import trawl_home

if TYPE_CHECKING:
    from crawler.evidence.verify import VerifyReport


# the verifier (and the WARC, signing and index code under it) is imported when a command
# runs, not when `trawl --help` lists the commands
def resolve_run(run: str) -> Path:
    from crawler.evidence.verify import resolve_run as resolve

    return resolve(run)


def verify_run(run: str, **options: Any) -> VerifyReport:
    from crawler.evidence.verify import verify_run as verify

    return verify(run, **options)


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
            "closed": head is not None and head.get("state", "closed") == "closed",
            "head": (head or {}).get("head", "")}


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
@click.option("--heads", "heads_log", type=click.Path(dir_okay=False, path_type=Path),
              help="Heads log to check against (default: $TRAWL_EVIDENCE_HEADS_LOG or "
                   "$TRAWL_HOME/evidence/heads.jsonl).")
@click.option("--pubkey", "pubkeys", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Extra trusted Ed25519 public key (PEM); repeatable.")
@click.option("--index", "index_url", help="Index to cross-check (default: the configured one).")
@click.option("--no-index", is_flag=True, help="Skip the index cross-check.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_cmd(run: str, heads_log: Path | None, pubkeys: tuple[Path, ...],
               index_url: str | None, no_index: bool, as_json: bool) -> None:
    """Check records and digests, the hash chain, the signed head, the published heads
    log, the timestamp token and the index's evidence references of one run.

    RUN is a run id (under $TRAWL_HOME/runs/) or a run directory.  Prints OK, TAMPERED
    (with every problem found) or INTERRUPTED (killed, not resumed yet: resume it with
    `trawl crawl SITE --resume`).  Exit code 1 unless OK.

    \b
    Example:
      trawl evidence verify 20261123T100000Z-nightshade
      trawl evidence verify ./case-4711/RUN --heads /mnt/anchor/heads.jsonl --no-index
    """
    report = verify_run(run, heads_log=heads_log, pubkeys=list(pubkeys), index_url=index_url,
                        check_index=not no_index)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(f"{report.status}: run {report.run_id}: {report.records} records, "
                   f"head {report.head[:16]}… ({report.state})")
        for name, result in report.checks.items():
            click.echo(f"  {name}: {result}")
        if report.recovered or report.torn:
            click.echo(f"  recovered after a kill: {report.recovered} records chained, "
                       f"{report.torn} torn tails quarantined")
        for problem in report.problems:
            click.echo(f"  problem: {problem}")
        for warning in report.warnings:
            click.echo(f"  warning: {warning}")
    if not report.ok:
        sys.exit(1)


@evidence.command("publish")
@click.argument("run")
def publish_cmd(run: str) -> None:
    """Send RUN's signed head again to the heads log, webhook and TSA that missed it.

    For a sink that was down or misconfigured while the crawl ran (the run then fails
    verify with "never published").  The head is not re-signed; exit 1 if a sink still fails.

    \b
    Example:
      trawl evidence publish nightshade-20261123T100000Z-ab12
    """
    from crawler.evidence.anchor import AnchorConfig, HeadAnchor

    run_dir = resolve_run(run)
    anchor = HeadAnchor(AnchorConfig.from_env(trawl_home(create=False)), run_dir, run_dir.name)
    signed = anchor.republish()
    for failure in anchor.failures:
        click.echo(f"not published: {failure}", err=True)
    click.echo(f"{run_dir.name}: head {signed['head'][:16]}… ({signed['state']}, "
               f"{signed['entries']} entries) published to {anchor.config.heads_log}"
               + (", webhook" if anchor.config.webhook_url else "")
               + (", timestamp authority" if anchor.config.tsa_url else ""))
    if anchor.failures:
        sys.exit(1)


@evidence.group("keys")
def keys_group() -> None:
    """The Ed25519 key that signs evidence heads ($TRAWL_HOME/keys/).

    \b
    Example:
      trawl evidence keys show
      trawl evidence keys rotate
    """


@keys_group.command("show")
def keys_show() -> None:
    """Print the current key id and every trusted public key (PEM), creating the key if none.

    \b
    Example:
      trawl evidence keys show > evidence-keys.pem
    """
    from crawler.evidence.keys import PUBLIC_DIR, keys_dir, load_signing_key

    home = trawl_home()
    current = load_signing_key(home).key_id
    click.echo(f"# current signing key: {current}")
    for path in sorted((keys_dir(home) / PUBLIC_DIR).glob("*.pub")):
        click.echo(f"# ed25519:{path.stem}{'  (current)' if current.endswith(path.stem) else ''}")
        click.echo(path.read_text().rstrip())


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Replace the signing key; the old public key stays trusted for verification.

    \b
    Example:
      trawl evidence keys rotate
    """
    from core.audit import append_audit, cli_actor
    from crawler.evidence.keys import rotate_signing_key

    old, new = rotate_signing_key(trawl_home())
    # key ids only (public): the private key never leaves keys/
    append_audit("evidence.keys.rotate", who=cli_actor(), via="cli", target=new, was=old)
    click.echo(f"rotated: {old} -> {new} (publish the new public key: trawl evidence keys show)")


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

    Refuses (exit 1) when the run does not verify (tampered, or interrupted and not resumed).

    \b
    Example:
      trawl evidence export 20261123T100000Z-nightshade --out ./case-4711
    """
    report = verify_run(run)
    if not report.ok:
        why = report.problems[0] if report.problems else "interrupted: resume it to close it"
        click.echo(f"refusing to export: run {report.run_id} does not verify ({why})", err=True)
        sys.exit(1)
    run_dir = Path(report.run_dir)
    target = out_dir / run_dir.name
    target.mkdir(parents=True, exist_ok=True)
    names = ["manifest.jsonl", "manifest.head", "manifest.head.tsr"] + sorted(
        p.relative_to(run_dir).as_posix() for pattern in ("warc/*.warc.gz", "anchors/*",
                                                           "quarantine/*")
        for p in run_dir.glob(pattern))
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
