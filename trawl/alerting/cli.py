"""`trawl alerts`: log, check, test, deliver, and new-substances (from trawl.enrich_cli)."""
from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType

import click

from core.alerts import AlertEvent, now_utc
from core.errors import TrawlError
from trawl.enrich_cli import new_substances


@click.group("alerts")
def alerts() -> None:
    """Alerts: the log, its delivery to webhooks, e-mail and MISP, and the watch rules.

    Alerts are lines of $TRAWL_HOME/alerts.jsonl (docs/alerts.md lists the kinds);
    watch rules: $TRAWL_HOME/watch.yaml; channels: $TRAWL_HOME/alert-channels.yaml.

    \b
    Example:
      trawl alerts log --kind market_down
      trawl alerts check
      trawl alerts test ops-webhook
      trawl alerts deliver --once
      trawl alerts new-substances --since 2026-01-01 --json
    """


alerts.add_command(new_substances)


@alerts.command("log")
@click.option("--kind", default=None, help="Only alerts of this kind (e.g. watch_listing, market_down).")
@click.option("--since", default=None, metavar="TIME", help="Only alerts raised on/after TIME (ISO).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON lines.")
def log_command(kind: str | None, since: str | None, as_json: bool) -> None:
    """List the alert log, oldest first.

    \b
    Example:
      trawl alerts log --kind watch_listing --since 2026-11-01
    """
    from dataclasses import asdict

    from core.alerts import read_alerts

    for event in read_alerts(kind=kind, since=since):
        click.echo(json.dumps(asdict(event), ensure_ascii=False) if as_json
                   else f"{event.time}  {event.kind:18} {event.summary}")

_CHANNELS = click.option("--channels", "channels_path", type=click.Path(dir_okay=False, path_type=Path),
                         default=None, help="Channels file (default: $TRAWL_HOME/alert-channels.yaml, "
                                            "or the alerts.channels_file setting).")


@alerts.command("deliver")
@_CHANNELS
@click.option("--once", is_flag=True, help="One pass over the new alerts, then exit (for the scheduler).")
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=10.0, show_default=True,
              help="Seconds between passes when running continuously.")
@click.option("--flush-digests", is_flag=True, help="Send held digests now instead of when their window ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the pass's counts as JSON.")
def deliver(channels_path: Path | None, once: bool, interval: float, flush_digests: bool, as_json: bool) -> None:
    """Deliver $TRAWL_HOME/alerts.jsonl to the configured channels (webhook, e-mail, MISP).

    Reads the log from a saved cursor: a restart neither loses nor repeats an alert.
    Without --once it keeps running until SIGTERM/Ctrl-C. A message no retry could deliver
    goes to the dead-letter file (exit code 1 with --once when that happened).

    \b
    Example:
      trawl alerts deliver --once
      trawl alerts deliver --interval 30
    schedule job:  {id: alerts, command: [alerts, deliver, --once], every: 1m}
    """
    from trawl.alerting.config import load_delivery_config
    from trawl.alerting.dispatcher import Dispatcher, run_forever

    config = load_delivery_config(channels_path)
    if not config.channels:
        click.echo("no alert channels configured (alerts stay in the log); see docs/alerts.md", err=True)
    dispatcher = Dispatcher(config)
    if once:
        report = dispatcher.deliver_once(flush_digests=flush_digests)
    else:
        stopping: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            report = run_forever(dispatcher, interval, lambda: bool(stopping))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        click.echo(f"{report.read} alerts read, {report.delivered} delivered, {report.dead} dead-lettered, "
                   f"{report.suppressed} repeats suppressed, {report.held} held for digests, {report.digests} digests")
    if once and report.dead:
        raise SystemExit(1)


@alerts.command("test")
@click.argument("channel_name", metavar="CHANNEL")
@_CHANNELS
def test_channel(channel_name: str, channels_path: Path | None) -> None:
    """Send one test alert to CHANNEL right now (with the configured retries); exit 1 if it fails.

    Nothing is written to the alert log or the delivery state.

    \b
    Example:
      trawl alerts test ops-webhook
    """
    from trawl.alerting.channels import Message
    from trawl.alerting.config import load_delivery_config
    from trawl.alerting.dispatcher import Dispatcher

    config = load_delivery_config(channels_path)
    channel = config.channels.get(channel_name)
    if channel is None:
        known = ", ".join(config.channels) or "none"
        raise TrawlError(f"{config.source or 'channels file'}: no channel {channel_name!r} (configured: {known})")
    event = AlertEvent("test", now_utc(), f"trawl test alert for channel {channel_name}", {"channel": channel_name})
    error = Dispatcher(config).attempt(channel, Message(f"test-{event.time}", [event]))
    if error is not None:
        click.echo(f"{channel_name}: failed after {error.attempts} attempt(s): {error}", err=True)
        raise SystemExit(1)
    click.echo(f"{channel_name}: delivered")


@alerts.command("check")
@click.option("--watch", "watch_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Watch rules file (default: $TRAWL_HOME/watch.yaml, or the alerts.watch_file setting).")
@_CHANNELS
def check(watch_path: Path | None, channels_path: Path | None) -> None:
    """Validate the watch rules and the channels files (errors name FILE:LINE).

    \b
    Example:
      trawl alerts check --watch watch.yaml --channels alert-channels.yaml
    """
    from crawler.sitedef.yamlnodes import SiteConfigError
    from pipeline.watch import load_watch_rules, watch_file
    from trawl.alerting.config import channels_file, load_delivery_config

    problems: list[str] = []
    try:
        rules = load_watch_rules(watch_path, required=watch_path is not None)
        click.echo(f"{watch_path or watch_file()}: " + ("ok" if rules.source else "absent (no watch rules)"))
    except SiteConfigError as exc:
        problems += exc.problems
    try:
        config = load_delivery_config(channels_path)
        names = ", ".join(f"{c.name} ({c.type})" for c in config.channels.values())
        click.echo(f"{channels_path or channels_file()}: " + (f"ok: {names}" if config.source else "absent (log only)"))
    except SiteConfigError as exc:
        problems += exc.problems
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise TrawlError(f"{len(problems)} problem(s) in the alert files")
