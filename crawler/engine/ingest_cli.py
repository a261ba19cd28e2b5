"""`trawl ingest SITE PATH...`: the click layer over crawler.engine.ingest."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the ingest machinery loads when the command runs, not for `trawl --help`
    from crawler.engine.ingest import ProgressFn

EXIT_HELP = "Exit codes: 0 all inputs read (or already ingested); 1 some inputs could not be read; 2 none could."


@click.command("ingest", epilog=EXIT_HELP)
@click.argument("site")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--base-url", metavar="URL", help="Site address for saved files: replaces the host directory of a "
              "mirror; a single file's URL is URL/FILENAME.")
@click.option("--url", metavar="URL", help="The address of the one HTML file given.")
@click.option("--date-from-path", "date_pattern", metavar="REGEX",
              help="Capture date of saved files from their path: the group 'date' (or the first group) "
                   "gives YYYY-MM-DD, e.g. '(\\d{4}-\\d{2}-\\d{2})'.")
@click.option("--clock", metavar="ISO", help="Capture time of saved files whose path gives none (default: "
              "the file's modification time). WARC records keep their WARC-Date.")
@click.option("--flat-names", is_flag=True, help="File names hold the URL path with '_' for '/' (a browser's "
              "'Save Page As', e.g. 'http _host_listing_7_.htm' or 'listing_7.htm').")
@click.option("--force", is_flag=True, help="Ingest again files already ingested for SITE.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
def ingest(site: str, paths: tuple[Path, ...], base_url: str | None, url: str | None, date_pattern: str | None,
           clock: str | None, flat_names: bool, force: bool, as_json: bool, progress: bool | None) -> None:
    """Read saved pages of SITE into the index, with no network: WARC/WARC.gz files (ours,
    wget --warc-file, Heritrix, browsertrix), WACZ, mirror directories (wget/HTTrack) and
    single HTML files.

    SITE is a site name or a site YAML file.  The originals are never modified: pages are
    copied into the ingest run's own WARC ($TRAWL_HOME/runs/RUN_ID/), each manifest line
    naming its source file, sha256 and record offset.  Ingesting the same file again for the
    same site does nothing ("already ingested"). See docs/ingest.md.

    \b
    Example:
      trawl ingest hansa crawl.warc.gz archive.wacz
      trawl ingest hansa mirror/ --base-url http://hansamkt2rr6nfg3.onion
      trawl ingest agora archives/agora/ --date-from-path '(\\d{4}-\\d{2}-\\d{2})'
      trawl ingest hansa saved.html --url http://hansamkt2rr6nfg3.onion/listing/56750/ --clock 2017-06-24T12:00:00Z
    """
    from crawler.engine.ingest import IngestOptions
    from crawler.engine.ingest import ingest as run_ingest

    site_config = _load_site(site)
    options = IngestOptions(base_url=base_url or "", url=url or "", date_pattern=date_pattern or "",
                            clock=clock or "", flat_names=flat_names, force=force)
    show = sys.stderr.isatty() and (progress if progress is not None else not as_json)
    with _progress_bar(site_config.name, show) as tick:
        report = run_ingest(site_config, list(paths), options, progress=tick)
    for line in report.errors:
        click.echo(f"error: {line}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_dict(), sort_keys=True))
    else:
        for line in report.summary_lines():
            click.echo(line)
    if report.exit_code == 2:
        click.echo(f"error: nothing could be read from {' '.join(map(str, paths))}", err=True)
    sys.exit(report.exit_code)


def _load_site(site: str) -> Any:
    from crawler.sitedef.siteconfig import load_site, load_site_file

    candidate = Path(site)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return load_site_file(candidate)
    return load_site(site)


@contextmanager
def _progress_bar(label: str, show: bool) -> Iterator[ProgressFn | None]:
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                   TextColumn("{task.fields[phase]}"), console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=None, phase="")

    def tick(phase: str, done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, phase="files hashed" if phase == "hashing" else "pages read")

    with bar:
        yield tick
