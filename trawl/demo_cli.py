"""`trawl demo`: the end-to-end slice on the local testbed."""
from __future__ import annotations

import json
from pathlib import Path

import click

from core.home import trawl_home


@click.command()
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help="Data folder (default $TRAWL_HOME or ./trawl-data).")
@click.option("--no-revisit", is_flag=True, help="Crawl each site once (no later testbed days, so no multi-month trend).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON at the end.")
@click.option("--index-url", default=None, metavar="URL",
              help="Run the demo on this Elasticsearch (http(s)://host:9200) instead of $HOME/index.sqlite.")
def demo(home: Path | None, no_revisit: bool, as_json: bool, index_url: str | None) -> None:
    """Start the testbed, crawl all five sites, index them, show searches and a trend.

    Darknet sites are crawled only through the testbed's onion SOCKS5 gateway, the
    JavaScript shop through Chromium. The index stays under the data folder.

    \b
    Example:
      trawl demo
      trawl search "mephedrone" --json
      trawl demo --index-url http://localhost:9200
    """
    from trawl.demo import run_demo

    report = run_demo(home or trawl_home(), echo=click.echo, revisit=not no_revisit, index_url=index_url)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
