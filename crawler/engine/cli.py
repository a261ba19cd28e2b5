"""`trawl crawl`, `trawl sites ...`, `trawl runs`: thin click layers over crawler.engine.run,
crawler.sitedef.siteconfig, crawler.engine.session and crawler.engine.sitetest."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from core.errors import TrawlError
from crawler.engine.runstatus import EXIT_CODES_HELP


@click.command("crawl", epilog=EXIT_CODES_HELP)
@click.argument("site")
@click.option("--resume", is_flag=True, help="Continue the newest interrupted run of SITE (no page fetched twice).")
@click.option("--clock", metavar="ISO", help="Time recorded on listings/snapshots (default: now, UTC).")
@click.option("--budget", type=click.IntRange(min=1), help="Page budget for this run (default: the site YAML's).")
@click.option("--workers", type=click.IntRange(min=0), default=None, metavar="N",
              help="Page-processing worker processes (default: cores - 1, at least 1; 0: in the crawl process).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON line (no progress line).")
@click.option("-v", "--verbose", count=True,
              help="Log on stderr: -v info, -vv debug (default: warnings and errors only).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors; the exit code tells how it ended.")
@click.option("--progress/--no-progress", default=None,
              help="Live progress line on stderr (default: on a terminal, unless --json or --quiet).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help="Also write the log to PATH (appended; at least INFO, whatever -v/-q say).")
def crawl(site: str, resume: bool, clock: str | None, budget: int | None, as_json: bool, verbose: int, quiet: bool,
          progress: bool | None, log_file: Path | None, workers: int | None = None) -> None:
    """Crawl SITE (a site YAML name) into the index; prints a one-line summary.

    On a terminal a progress line (pages, listings, errors, pages/s, ETA against the page
    budget) shows on stderr while it runs; nothing else is printed unless something is
    wrong. Login secrets never reach a log. $TRAWL_LOG_LEVEL sets the console level when
    neither -v nor -q is given.

    \b
    Example:
      trawl crawl nightshade
      trawl crawl nightshade --resume
      trawl crawl vortex --clock 2026-08-03T12:00:00Z --budget 200 --json
      trawl crawl vortex --workers 2
      trawl crawl vortex -v --log-file vortex.log; echo "exit $?"
    """
    import sys

    from core.config import load_config
    from crawler.engine.logsetup import LogOptions
    from crawler.engine.run import run_crawl

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other")
    log = LogOptions(verbosity=-1 if quiet else verbose, log_file=log_file,
                     level_override=load_config().log_level or None)
    # a live line only makes sense on a terminal; --progress keeps it with --json (trawl demo)
    progress = sys.stderr.isatty() and (progress if progress is not None else not (as_json or quiet))
    result = run_crawl(site, resume=resume, clock=clock, page_budget=budget, log=log, progress=progress,
                       workers=workers)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True, default=str))
    elif not quiet:
        click.echo(result.summary_line())
    if result.exit_code:
        sys.exit(result.exit_code)  # the status in a form scripts read: see the exit codes below


@click.group("sites")
def sites() -> None:
    """Site definitions (YAML): list, check, test, cookies, pause, unpause.

    \b
    Example:
      trawl sites list
      trawl sites check crawler/sites/nightshade.yaml
    """


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sites_list(as_json: bool) -> None:
    """List the sites found on the search path ($TRAWL_SITES_DIR, $TRAWL_HOME/sites, shipped).

    \b
    Example:
      trawl sites list --json
    """
    from crawler.engine.session import paused_reason
    from crawler.sitedef.siteconfig import list_site_names

    rows = [{"site": name, "file": str(path), "paused": paused_reason(name)}
            for name, path in list_site_names().items()]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['site']:<14} {row['file']}" + (f"  [PAUSED: {row['paused']}]" if row["paused"] else ""))


@sites.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def sites_check(files: tuple[Path, ...]) -> None:
    """Validate site YAML FILES; every problem is printed as FILE:LINE: field: problem.

    Environment variables the YAML uses (${VAR}) must be set, or have a :-default.

    \b
    Example:
      trawl sites check crawler/sites/*.yaml
    """
    from crawler.sitedef.siteconfig import SiteConfigError, load_site_file

    problems: list[str] = []
    for file in files:
        try:
            site = load_site_file(file)
        except SiteConfigError as exc:
            problems.extend(exc.problems)
            continue
        click.echo(f"{file}: ok (site {site.name}, {site.kind}, {site.network}, "
                   f"{len(site.listing.fields)} listing fields)")
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise TrawlError(f"{len(problems)} problem(s) in site definitions")


@sites.command("test")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("url")
@click.option("--kind", type=click.Choice(["listing", "vendor", "grid", "nav"]),
              help="Treat the page as this kind (default: by url_pattern; a page with grid cards is a grid).")
@click.option("--url", "record_url", metavar="URL",
              help="With a saved WARC/WACZ: the record to show (default: its first page); "
                   "with a saved HTML file: the address it had.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sites_test(file: Path, url: str, kind: str | None, record_url: str | None, as_json: bool) -> None:
    """Fetch URL with the site in FILE and show each extracted field beside its HTML.

    URL may be absolute, a path on the first mirror (/listing/1), or a saved file: HTML,
    or a WARC/WARC.gz/WACZ (read as one, with no network).

    \b
    Example:
      trawl sites test crawler/sites/pillhub.yaml /product/xanax-2mg
      trawl sites test mysite.yaml saved-page.html --kind listing
      trawl sites test mysite.yaml run.warc.gz --url http://market.onion/listing/7
    """
    from crawler.engine.sitetest import extract_cards, extract_page, fetch_page, render_cards, render_report
    from crawler.sitedef.siteconfig import load_site_file

    site = load_site_file(file)
    page = fetch_page(site, url, record_url or "")
    cards = extract_cards(site, page, kind)
    page_kind, result, links = extract_page(site, page, "nav" if cards is not None else kind)
    page_kind = "grid" if cards is not None else page_kind
    if as_json:
        click.echo(json.dumps({"url": page.url, "status": page.status, "kind": page_kind,
                               "fields": result.fields if result else None,
                               "missing": result.missing if result else None,
                               "snippets": result.snippets if result else None, "links": links,
                               "cards": None if cards is None else [
                                   {"number": c.number, "link": c.link, "fields": c.result.fields,
                                    "missing": c.result.missing, "notes": c.notes} for c in cards]}, default=str))
    else:
        click.echo(render_report(site, page, page_kind, result, links))
        if cards is not None:
            click.echo(render_cards(cards))


@sites.group("cookies")
def cookies() -> None:
    """Session cookies of a site.

    \b
    Example:
      trawl sites cookies import nightshade cookies.txt
    """


@cookies.command("import")
@click.argument("site")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def cookies_import(site: str, file: Path) -> None:
    """Import cookies a human captured (e.g. after solving a captcha) for SITE.

    FILE is a Netscape cookies.txt or a JSON list of {name, value, domain, path, expires}.
    They are merged into $TRAWL_HOME/sessions/SITE.json (mode 0600) and used by the next crawl.

    \b
    Example:
      trawl sites cookies import nightshade ~/Downloads/cookies.txt
      trawl sites unpause nightshade && trawl crawl nightshade --resume
    """
    from crawler.engine.session import import_cookies, session_file
    from crawler.sitedef.siteconfig import load_site

    load_site(site)  # an unknown site is an error, not a stray cookie file
    count = import_cookies(site, file)
    click.echo(f"imported {count} cookie(s) into {session_file(site)}")


@sites.command("pause")
@click.argument("site")
@click.option("--reason", required=True, help="Why (shown by `trawl sites list` and the operations page).")
def sites_pause(site: str, reason: str) -> None:
    """Pause SITE by hand: its crawls refuse to start, as after a gate, until `trawl sites unpause`.

    \b
    Example:
      trawl sites pause vortex --reason "market under DDoS, wait a day"
    """
    from core.audit import append_audit, cli_actor
    from crawler.engine.session import pause_site, paused_reason
    from crawler.sitedef.siteconfig import load_site

    load_site(site)  # an unknown site is an error, not a stray pause file
    if not reason.strip():
        raise TrawlError("--reason: give a reason")
    current = paused_reason(site)
    if current is not None:
        raise TrawlError(f"{site}: already paused ({current})")
    pause_site(site, f"admin: {reason.strip()}")
    append_audit("site.pause", who=cli_actor(), via="cli", target=site, reason=reason.strip())
    click.echo(f"{site}: paused ({reason.strip()})")


@sites.command("unpause")
@click.argument("site")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
def sites_unpause(site: str, reason: str) -> None:
    """Clear the pause a gate/captcha or `trawl sites pause` put on SITE so it can be crawled again.

    \b
    Example:
      trawl sites unpause nightshade --reason "captcha solved, cookies imported"
    """
    from core.audit import append_audit, cli_actor
    from crawler.engine.session import paused_reason, unpause_site

    was = paused_reason(site)
    if was is None or not unpause_site(site):
        click.echo(f"{site}: was not paused")  # nothing changed, nothing audited
        return
    append_audit("site.resume", who=cli_actor(), via="cli", target=site, reason=reason.strip(), was=was)
    click.echo(f"{site}: unpaused")


@click.command("runs")
@click.option("--site", help="Only runs of this site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of run summaries).")
def runs(site: str | None, as_json: bool) -> None:
    """List crawl runs with their stats ($TRAWL_HOME/runs/<run_id>/stats.json) and the
    extraction version(s) of the records each wrote (docs/reprocess.md).

    \b
    Example:
      trawl runs
      trawl runs --site nightshade --json
    """
    from crawler.engine.run import list_runs

    rows = [_with_versions(r) for r in list_runs(site)]
    if as_json:
        click.echo(json.dumps(rows, default=str, sort_keys=True))
        return
    if not rows:
        click.echo("no runs yet (start one with: trawl crawl SITE)")
        return
    click.echo(f"{'run_id':<40} {'status':<15} {'pages':>6} {'listings':>8} {'drops':>5} {'errors':>6} "
               f"{'gates':>5} {'secs':>7}  versions")
    for r in rows:
        status = r.get("status") if r.get("kind") in (None, "crawl") else f"{r['kind']}:{r.get('status')}"  # ingest:finished
        click.echo(f"{r['run_id']:<40} {status!s:<15} {r.get('pages', 0):>6} {r.get('listings', 0):>8} "
                   f"{r.get('drops', 0):>5} {r.get('errors', 0):>6} {r.get('gate_hits', 0):>5} "
                   f"{r.get('duration_s', 0):>7.1f}  {_versions_cell(r)}")


def _with_versions(row: dict[str, Any]) -> dict[str, Any]:
    """The run row with {extraction version: listings and vendors written with it}, from its stats."""
    from crawler.engine.runstats import read_stats
    from pipeline.store import VERSION_STAT

    flat = (read_stats(Path(row["run_dir"])) or {}).get("stats") or {} if row.get("run_dir") else {}
    row["extraction_versions"] = {key[len(VERSION_STAT):]: n for key, n in flat.items() if key.startswith(VERSION_STAT)}
    return row


def _versions_cell(row: dict[str, Any]) -> str:
    cell = ",".join(sorted(row.get("extraction_versions") or {})) or "-"
    return cell + (f" (from {','.join(row['source_runs'])})" if row.get("source_runs") else "")
