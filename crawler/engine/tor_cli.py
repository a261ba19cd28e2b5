"""`trawl tor`: start, stop and look at the pool of Tor clients (crawler.net.torpool)."""
from __future__ import annotations

import json
from dataclasses import asdict

import click

from core.config import load_config
from core.errors import TrawlError
from core.home import ensure_home, trawl_home
from crawler.net.torpool import (
    InstanceStatus,
    instance_for,
    instance_status,
    pool_instances,
    start_managed,
    stop_managed,
)


@click.group("tor")
def tor() -> None:
    """The Tor clients crawls use: a pool, each onion site pinned to one client.

    \b
    Example:
      trawl tor start --instances 3
      trawl tor status
      trawl tor stop
    """


@tor.command("start")
@click.option("--instances", type=click.IntRange(1, 32), default=2, show_default=True,
              help="how many tor processes to run (dead ones are restarted, extra ones stopped)")
@click.option("--torrc-option", "options", multiple=True, metavar="KEY=VALUE",
              help="extra torrc line for every instance, e.g. UseBridges=1 (repeatable)")
def start(instances: int, options: tuple[str, ...]) -> None:
    """Start managed tor processes (own DataDirectory, SocksPort, ControlPort, cookie auth).

    They keep running after this command returns; run it again to restart any that died.

    \b
    Example:
      trawl tor start --instances 2
      trawl tor start --instances 1 --torrc-option DisableNetwork=1   # a tor that never connects (tests)
    """
    extra = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip() or not key.strip().isalnum():
            raise TrawlError(f"--torrc-option {option!r}: expected KEY=VALUE")
        extra[key.strip()] = value.strip()
    home = ensure_home()
    for inst in start_managed(home, instances, options=extra):
        click.echo(f"{inst.name}  pid {inst.pid}  socks {inst.socks_url}  control {inst.control}")


@tor.command("stop")
def stop() -> None:
    """Stop every managed tor process.

    \b
    Example:
      trawl tor stop
    """
    stopped = stop_managed(trawl_home())
    click.echo(f"stopped {len(stopped)} managed tor instance(s)")


@tor.command("status")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="seconds per probe")
def status(as_json: bool, timeout: float) -> None:
    """Each Tor client: reachable, latency, bootstrap, and the onion sites pinned to it.

    Exit status 3 when a client is unhealthy (SOCKS or control port not answering, network
    disabled); a client still bootstrapping (no circuit yet) is shown as such.

    \b
    Example:
      trawl tor status --json
    """
    from crawler.sitedef.siteconfig import list_site_names, load_site

    config = load_config()
    home = trawl_home()
    instances = pool_instances(config.tor_pool, home)
    single = not instances
    if single:  # no pool: the one configured Tor
        from crawler.net.torpool import TorInstance

        instances = [TorInstance("default", config.tor_socks, config.tor_control, config.tor_control_cookie)]
    pinned: dict[str, list[str]] = {inst.name: [] for inst in instances}
    for name in list_site_names():
        try:
            site = load_site(name)
        except TrawlError:
            continue  # a broken YAML is `trawl sites check`'s business
        if site.network == "tor":
            pinned[instances[0].name if single else instance_for(site.name, instances).name].append(site.name)
    rows: list[InstanceStatus] = []
    for inst in instances:
        row = instance_status(inst, timeout)
        row.sites = tuple(pinned[inst.name])
        rows.append(row)
    if as_json:
        click.echo(json.dumps([{**asdict(r), "healthy": r.healthy} for r in rows], indent=1, default=str))
    else:
        for r in rows:
            state = "UNHEALTHY" if not r.healthy else "BOOTSTRAPPING" if r.circuit_established is False else "ok"
            click.echo(f"{r.instance.name:<8} {state:<13} socks {r.instance.socks_url} "
                       f"({f'{r.socks_ms:.1f} ms' if r.socks_ms is not None else 'unreachable'})"
                       + (f"  tor {r.version}, bootstrap {r.bootstrap}" if r.control_ok else "")
                       + ("  network DISABLED" if r.network_disabled else ""))
            if r.problem:
                click.echo(f"         problem: {r.problem}")
            click.echo(f"         sites: {', '.join(r.sites) or '(none)'}")
    if not all(r.healthy for r in rows):
        raise SystemExit(3)


__all__ = ["tor"]
