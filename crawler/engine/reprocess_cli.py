"""`trawl reprocess RUN_ID | --site SITE`: the click layer over crawler.engine.reprocess."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("reprocess")
@click.argument("run_id", required=False)
@click.option("--site", "site_name", metavar="SITE", help="Every run of SITE with evidence (or, with RUN_ID, "
              "the site YAML to read it with: a name or a file).")
@click.option("--since", metavar="DATE", help="With --site: only runs started at or after DATE (ISO-8601).")
@click.option("--dry-run", is_flag=True, help="Count what would change, per field; write nothing.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes that parse, enrich and write what this one reads back (0: this process; "
                   "each loads the substance lists, about a second: worth it for thousands of pages).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
def reprocess(run_id: str | None, site_name: str | None, since: str | None, dry_run: bool, workers: int,
              as_json: bool) -> None:
    """Re-extract stored evidence with the current site YAML, page objects, parsers and lists.

    No page is fetched: the pages are read back from the runs' WARCs.  A listing whose values
    change gets a new snapshot, dated at its original capture and stamped with the current
    extraction version; the earlier one stays in history and exports (superseded).  Listings
    whose values do not change write nothing.  The reprocess is a run of its own (trawl runs).
    See docs/reprocess.md.

    \b
    Example:
      trawl reprocess vortex-20260801T120000Z-ab12
      trawl reprocess --site vortex --since 2026-07-01 --dry-run
      trawl reprocess --site vortex --workers 2
    """
    from core.errors import TrawlError
    from core.home import ensure_home
    from crawler.engine.reprocess import find_source_runs
    from crawler.engine.reprocess import reprocess as run_reprocess
    from crawler.engine.run import runs_dir
    from crawler.engine.runstats import read_stats
    from index import open_index

    if not run_id and not site_name:
        raise click.UsageError("give a RUN_ID or --site SITE")
    if run_id and since:
        raise click.UsageError("--since applies to --site without a RUN_ID")
    home = ensure_home().resolve()
    runs = runs_dir()
    if not site_name:
        stats = read_stats(runs / run_id) if run_id and "/" not in run_id else None
        if not stats or not stats.get("site"):
            raise TrawlError(f"run {run_id!r}: no such run in {runs} (see: trawl runs)")
        site_name = str(stats["site"])
    site = _load_site(site_name)
    sources = find_source_runs(runs, site.name, run_id=run_id, since=since)
    if not sources:
        raise TrawlError(f"site {site.name}: no runs with evidence{' since ' + since if since else ''} in {runs}")
    with open_index() as index:
        result = run_reprocess(site, sources, index, home=home, runs_dir=runs, dry_run=dry_run, workers=workers)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    else:
        for line in result.summary_lines():
            click.echo(line)


def _load_site(site: str) -> Any:
    from crawler.sitedef.siteconfig import load_site, load_site_file

    candidate = Path(site)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return load_site_file(candidate)
    return load_site(site)
