"""`trawl testbed ...`: serve the synthetic range, print its ground truth."""
from __future__ import annotations

import json
import sys
import time

import click

from core.errors import TrawlError
from testbed.catalogue import SITE_ORDER, catalogue, truth_record, vendor_truth_record


@click.group()
def testbed() -> None:
    """The local range of synthetic marketplaces (five sites + onion SOCKS5 gateway).

    \b
    Example:
      trawl testbed serve --port 8700
      trawl testbed truth nightshade --json
    """


@testbed.command()
@click.option("--port", type=int, default=8700, show_default=True,
              help="SOCKS gateway port P; sites use P+1..P+5 (0 = ephemeral ports).")
@click.option("--day", type=int, default=0, show_default=True, help="Crawl day: prices drift, listings come and go.")
@click.option("--seed", type=int, default=1, show_default=True, help="Content seed.")
@click.option("--no-rate-limit", is_flag=True, help="Disable vortex's 429 rate limiting.")
@click.option("--no-faults", is_flag=True, help="Disable vortex's injected 5xx responses.")
def serve(port: int, day: int, seed: int, no_rate_limit: bool, no_faults: bool) -> None:
    """Serve every site on 127.0.0.1 until Ctrl-C and print how to reach them.

    \b
    Example:
      trawl testbed serve --port 8700 --day 2
      # in another shell, paste the printed export lines, then e.g.
      curl --socks5-hostname 127.0.0.1:8700 "$TRAWL_TESTBED_NIGHTSHADE_URL"
    """
    if port < 0 or port > 65530:
        raise TrawlError(f"--port must be between 0 and 65530, got {port}")
    from testbed.server import run_testbed  # the sites and their servers: only when serving

    with run_testbed(port=port, day=day, seed=seed, rate_limit=not no_rate_limit, faults=not no_faults) as tb:
        try:
            click.echo(f"trawl testbed (seed {seed}, day {day}) on 127.0.0.1")
            for name in SITE_ORDER:
                site = tb.sites[name]
                line = f"  {name:<11} {site.network:<9} {site.base_url}"
                if site.network == "tor":
                    line += f"  (loopback port {site.port})"
                click.echo(line)
                for mirror in site.mirrors:
                    state = "down" if mirror in site.down_mirrors else "up"
                    click.echo(f"  {'':<11} mirror    {mirror} ({state})")
            click.echo(f"  SOCKS5 gateway: {tb.socks_url}")
            click.echo(f"  nightshade login: analyst / {tb.password}")
            click.echo("")
            for key, value in tb.env().items():
                click.echo(f"export {key}={value}")
            click.echo("\nCtrl-C to stop.")
            sys.stdout.flush()  # when piped (tee, a test harness) the lines must show up now
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:  # Ctrl-C at any point is a clean stop
            click.echo("stopping")


@testbed.command()
@click.argument("site", type=click.Choice(SITE_ORDER))
@click.option("--day", type=int, default=0, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--vendors", is_flag=True, help="Print vendor truth instead of listings.")
@click.option("--json", "as_json", is_flag=True, help="JSON array (for scripts).")
def truth(site: str, day: int, seed: int, vendors: bool, as_json: bool) -> None:
    """Ground truth of one site for one day (URLs are paths on the site).

    \b
    Example:
      trawl testbed truth vortex --day 3 --json
      trawl testbed truth nightshade --vendors --json
    """
    if day < 0:
        raise TrawlError(f"--day must be >= 0, got {day}")
    cat = catalogue(seed, day)
    records = [vendor_truth_record(v) for v in cat.vendors[site]] if vendors else [truth_record(i) for i in cat.listings[site]]
    if as_json:
        click.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    for record in records:
        if vendors:
            click.echo(f"{record['name']:<24} sales={record['sales']} pgp={record['pgp_fingerprint']}")
        else:
            click.echo(f"{record['native_id']:<8} {record['price_amount']:>10} {record['price_currency']:<4} "
                       f"{record['substance']!s:<28} {record['title']}")
