"""`trawl markets ...`: the market lifecycle registry (crawler/engine/markets.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crawler.engine.markets import MarketInfo, close_market, get_market, list_markets, run_history, status_history


@click.group("markets", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of markets).")
@click.pass_context
def markets(ctx: click.Context, as_json: bool) -> None:
    """Markets and their lifecycle: active, down, seized, exit_scam, closed; mirrors
    alive/dead, first/last seen, the last run, successor markets.  Updated at the end of
    every crawl run; stored in $TRAWL_HOME/markets.sqlite.

    \b
    Example:
      trawl markets
      trawl markets --json
      trawl markets show vortex
      trawl markets mirrors import vortex mirrors.txt.asc
      trawl markets mirrors check vortex http://<56 chars>.onion
    """
    if ctx.invoked_subcommand is not None:
        return
    found = list_markets()
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in found], indent=1))
        return
    if not found:
        click.echo("no market recorded yet (the registry fills at the end of each crawl: trawl crawl SITE)")
        return
    click.echo(f"{'market':<14} {'status':<10} {'mirrors':<12} {'first seen':<21} {'last seen':<21} "
               f"{'last run':<9} successors")
    for m in found:
        mirrors = f"{len(m.mirrors_alive)} up/{len(m.mirrors_dead)} dead"
        successors = ", ".join(s.site for s in m.successors) or "-"
        click.echo(f"{m.site:<14} {m.status:<10} {mirrors:<12} {m.first_seen or '-':<21} {m.last_seen or '-':<21} "
                   f"{m.last_outcome or '-':<9} {successors}")


@markets.command("show")
@click.argument("site")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (market, runs, status history).")
def show(site: str, as_json: bool) -> None:
    """One market in full: status and why, mirrors, recent runs, status changes, successors.

    \b
    Example:
      trawl markets show vortex --json
    """
    market = _market(site)
    runs, history = run_history(site), status_history(site)
    if as_json:
        click.echo(json.dumps({**market.to_dict(), "runs": [r.__dict__ for r in runs], "history": history}, indent=1))
        return
    click.echo(f"{market.site}: {market.status} since {market.status_since or '-'}"
               + (f" ({market.reason})" if market.reason else ""))
    click.echo(f"  first seen {market.first_seen or '-'}, last seen {market.last_seen or '-'}, "
               f"last run {market.last_run_id or '-'} ({market.last_outcome or '-'}), "
               f"{market.consecutive_failures} failed runs in a row")
    click.echo("  mirrors:")
    for mirror in market.mirrors:
        state = mirror.state if mirror.state != "verified" else (mirror.last_run_state or "not tried")
        click.echo(f"    {mirror.url}  [{mirror.source}] {state}; up {mirror.last_up or '-'}, down "
                   f"{mirror.last_down or '-'}" + (f"; {mirror.reason}" if mirror.reason else ""))
    if market.successors:
        click.echo("  successors:")
        for successor in market.successors:
            click.echo(f"    {successor.site}: {len(successor.vendors)} vendors ({successor.strong} by PGP key): "
                       + ", ".join(successor.vendors[:10]))
    click.echo("  recent runs:")
    for run in runs[:10]:
        click.echo(f"    {run.at} {run.run_id} {run.outcome:<8} {run.pages} pages, {run.listings_seen} listings"
                   + (f"; dead: {', '.join(run.mirrors_dead)}" if run.mirrors_dead else ""))
    if history:
        click.echo("  status changes:")
        for change in history[:10]:
            click.echo(f"    {change['at']} {change['old_status']} -> {change['new_status']}: {change['reason']}")


@markets.command("close")
@click.argument("site")
@click.option("--reason", default="closed by its operators", show_default=True, help="Why (shown in the registry).")
def close(site: str, reason: str) -> None:
    """Mark SITE closed (an announced closure); a later successful crawl reopens it.

    \b
    Example:
      trawl markets close hansa --reason "retired by its admins"
    """
    from crawler.sitedef.siteconfig import load_site

    close_market(load_site(site).name, reason)
    click.echo(f"{site}: closed ({reason})")


@markets.group("mirrors")
def mirrors() -> None:
    """Add mirrors: from a PGP-signed mirror list, or a candidate onion checked for clones.

    \b
    Example:
      trawl markets mirrors import vortex mirrors.asc
      trawl markets mirrors check vortex http://<56 chars>.onion
    """


@mirrors.command("import")
@click.argument("site")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def mirrors_import(site: str, file: Path) -> None:
    """Verify FILE (a clear-signed mirror list) with SITE's key (site YAML market.pgp_key)
    and add its onions.  A bad or missing signature adds nothing, logs a market_clone
    alert (mirror_rejected) and exits 2.

    \b
    Example:
      trawl markets mirrors import vortex vortex-mirrors.txt
    """
    from crawler.engine.markets_mirrors import import_signed_list
    from crawler.sitedef.siteconfig import load_site

    added = import_signed_list(load_site(site), file)
    click.echo(f"{site}: signature valid; {len(added)} mirrors verified:")
    for url in added:
        click.echo(f"  {url}")


@mirrors.command("check")
@click.argument("site")
@click.argument("url")
def mirrors_check(site: str, url: str) -> None:
    """Fetch URL (a mirror candidate) and compare its PGP key and addresses with SITE's
    (market.key_page / market.address_page).  A match adds it as a verified mirror; a
    mismatch flags it as a clone (never used, one market_clone alert) and exits 1.

    \b
    Example:
      trawl markets mirrors check vortex http://abc...xyz.onion
    """
    from crawler.engine.markets_mirrors import check_candidate
    from crawler.sitedef.siteconfig import load_site

    result = check_candidate(load_site(site), url)
    click.echo(f"{result.url}: {result.state} ({result.reason})")
    if result.state == "clone":
        sys.exit(1)


def _market(site: str) -> MarketInfo:
    from core.errors import TrawlError

    market = get_market(site)
    if market is None:
        raise TrawlError(f"market {site!r}: not in the registry yet (it fills at the end of a crawl: trawl crawl {site})")
    return market
