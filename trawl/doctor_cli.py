"""`trawl doctor`: is every component the configuration uses working?"""
from __future__ import annotations

import json
import sys

import click

from core.config import load_config
from core.errors import TrawlError
from trawl.doctor import DEFAULT_TIMEOUT, EXIT_BROKEN, CheckResult, Report, run_doctor


@click.command("doctor", epilog=f"Exit codes: 0 nothing needed is broken (warnings allowed); "
                                 f"{EXIT_BROKEN} something the configuration needs is broken; 2 a usage error.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {ok, exit_code, counts, checks: [...]}.")
@click.option("--site", "sites", multiple=True, metavar="NAME",
              help="Check only what these sites need (repeatable; default: every site on the search path).")
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds each check may take.")
def doctor(as_json: bool, sites: tuple[str, ...], timeout: float) -> None:
    """Check Tor (SOCKS, remote DNS, ControlPort), Chromium, Redis, the index, disk space,
    the evidence store, site YAMLs, the schedule and the clock.

    Each line says ok, or what is wrong and the one command that fixes it.  Parts no
    configured site needs (Tor without onion sites, Chromium without browser sites) only
    warn.  Only loopback and the configured endpoints are contacted.

    \b
    Example:
      trawl doctor
      trawl doctor --site nightshade --json
    """
    try:
        config = load_config()
    except TrawlError as exc:
        location = str(exc).split(": ", 1)[0]
        variable = location.split("=", 1)[0]
        fix = f"unset {variable}  # or set it to a valid value" if variable.startswith("TRAWL_") else f"edit {location}"
        report = Report([CheckResult("config", "fail", str(exc), fix)])
    else:
        report = run_doctor(config, sites or None, timeout)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(report.text())
    sys.exit(report.exit_code)
