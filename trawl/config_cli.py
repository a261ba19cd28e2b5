"""`trawl config show`: every effective setting and the layer it came from."""
from __future__ import annotations

import json

import click

from core.errors import TrawlError


@click.group("config")
def config_group() -> None:
    """Inspect trawl's configuration.

    Layers, each overriding the one before: built-in defaults, $TRAWL_HOME/trawl.toml,
    TRAWL_* environment variables, command-line flags.

    \b
    Example:
      trawl config show
      TRAWL_INDEX_URL=http://localhost:9200 trawl config show --json
    """


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--set", "flags", multiple=True, metavar="KEY=VALUE",
              help="Override a key as a command-line flag would (repeatable), e.g. index.prefix=test.")
def show(as_json: bool, flags: tuple[str, ...]) -> None:
    """Print every configuration key, its effective value and where it came from
    (default, file PATH:LINE, env VAR, flag).  Secrets are shown as ***.
    Reads only: a missing $TRAWL_HOME is not created.

    \b
    Example:
      trawl config show
      trawl config show --json --set index.prefix=staging
    """
    from core.config import CONFIG_FILE, load_config

    overrides: dict[str, str] = {}
    for item in flags:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise TrawlError(f"--set {item!r}: expected KEY=VALUE (e.g. index.prefix=staging)")
        overrides[name.strip()] = value
    config = load_config(overrides)
    rows = config.rows()
    if as_json:
        click.echo(json.dumps({"home": str(config.home_path), "file": str(config.file) if config.file else None,
                               "keys": rows}, indent=2))
        return
    click.echo(f"# home: {config.home_path}")
    absent = f"(none: {config.home_path / CONFIG_FILE} absent)"
    click.echo(f"# file: {config.file or absent}")
    width = max(len(row["key"]) for row in rows)
    value_width = min(40, max(len(_text(row["value"])) for row in rows))
    for row in rows:
        click.echo(f"{row['key']:<{width}}  {_text(row['value']):<{value_width}}  {row['source']}")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(unset)"
    return "''" if value == "" else str(value)
