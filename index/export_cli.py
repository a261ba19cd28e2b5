"""`trawl export listings|snapshots|trends|vendors`: files for analysis with a reproducibility sidecar.

The writing lives in index/export.py (listings, snapshots, trends) and index/vendors.py
(vendors); this is the click layer, moved out of index/cli.py.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from core.vocabulary import COMMAND_LINE_META
from index import open_index
from index.cli import (
    EXACT_OPTION,
    build_search_query,
    build_trend_query,
    checked_time,
    filter_options,
    index_option,
    vocabulary,
)


@click.command("export")
@click.argument("kind", type=click.Choice(["listings", "snapshots", "trends", "vendors"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, allow_dash=True), required=True,
              help="Output file (FILE.meta.json is written beside it); - writes csv/jsonl to stdout.")
@click.option("--force", is_flag=True, help="Replace an existing output file (and sidecar).")
@click.option("--meta", "meta_path", type=click.Path(path_type=Path), default=None,
              help="Sidecar path (default FILE.meta.json; with --out - no sidecar unless given).")
@click.option("--text", default="", help="Full-text filter for listings/snapshots.")
@filter_options
@click.option("--crawled-from", default=None, help="Snapshots: crawl time on/after.", callback=checked_time)
@click.option("--crawled-to", default=None, help="Snapshots: crawl time on/before.", callback=checked_time)
@click.option("--metric", default="usd_per_unit", help="Trends: metric.",
              type=click.Choice(["usd_per_unit", "listings", "vendors", "new_substances", "activity"]))
@click.option("--interval", default="month", type=click.Choice(["day", "week", "month"]), help="Trends: period.")
@click.option("--by", "group_by", default="substance", help="Trends: groups (substance,site,origin).")
@click.option("--unit", default="g", type=click.Choice(["g", "ml", "unit"]), help="Trends: quantity unit.")
@click.option("--from", "time_from", default=None, help="Trends: crawl time on/after.", callback=checked_time)
@click.option("--to", "time_to", default=None, help="Trends: crawl time on/before.", callback=checked_time)
@EXACT_OPTION
@index_option
def export(kind: str, fmt: str, out: Path, force: bool, meta_path: Path | None, text: str, crawled_from: str | None,
           crawled_to: str | None, metric: str, interval: str, group_by: str, unit: str, time_from: str | None,
           time_to: str | None, exact: bool, index_url: str | None, **filters: Any) -> None:
    """Export listings, snapshots, trend rows or vendors for analysis, with a reproducibility sidecar.

    FILE.meta.json records the query, filters, time range, software and
    reference-list versions, row count and the SHA-256 of FILE (trends: and how the
    quantiles were computed, "exact" or "tdigest(compression=200)": --exact).  For trends,
    --substance/--site/--origin filter the trend; for vendors, --site and
    --vendor (a name on any market or a vendor id) select the records, every
    stored field is written.  An existing FILE is only
    replaced with --force; devices, FIFOs, directories and links are refused.

    \b
    Example:
      trawl export listings --format parquet --out listings.parquet --substance mephedrone
      trawl export snapshots --format csv --out snaps.csv --site vortex --crawled-from 2026-01-01
      trawl export trends --format csv --out meph.csv --substance mephedrone --interval week
      trawl export listings --format jsonl --out - --meta listings.meta.json | gzip > listings.jsonl.gz
      trawl export vendors --format parquet --out vendors.parquet --site nightshade
    """
    from index.export import export as run_export
    from index.vendors import VendorQuery, export_vendors

    query = build_search_query(text, crawled_from=crawled_from, crawled_to=crawled_to, **filters)
    trend = build_trend_query(metric, interval, group_by, filters.get("substance"), filters.get("site"),
                              filters.get("origin"), unit, time_from, time_to, exact)
    words = click.get_current_context().meta.get(COMMAND_LINE_META)  # set by the root `trawl` command
    command = "trawl " + " ".join(shlex.quote(w) for w in words) if words else ""
    with open_index(index_url, vocabulary=vocabulary()) as backend:
        if kind == "vendors":
            meta = export_vendors(backend, fmt, out, VendorQuery(site=filters.get("site"), name=filters.get("vendor")),
                                  command, force=force, meta_path=meta_path)
        else:
            meta = run_export(backend, kind, fmt, out, query=query, trend=trend, command=command, force=force,
                              meta_path=meta_path)
    to_stdout = str(out) == "-"
    sidecar = meta_path or (None if to_stdout else out.with_name(out.name + ".meta.json"))
    # with --out - the rows own stdout, so the summary goes to stderr
    click.echo(f"wrote {meta['row_count']} rows to {'stdout' if to_stdout else out} (sha256 {meta['sha256'][:12]}…, "
               f"{f'sidecar {sidecar}' if sidecar else 'no sidecar: add --meta FILE'})", err=to_stdout)
