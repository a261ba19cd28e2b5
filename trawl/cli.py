"""The `trawl` command: a thin layer over library functions.

Each package owns its commands in its own `cli.py`; this root only assembles
them (loaded lazily, so `trawl parse` never pays for importing Scrapy) and
turns user errors into one clear line and a non-zero exit code.
"""
from __future__ import annotations

import importlib
import signal
import sys
from types import FrameType
from typing import Any

import click

from core.errors import TrawlError
from core.vocabulary import COMMAND_LINE_META, VOCABULARY_META, Vocabulary

# command name -> "module:attribute" of a click command or group
COMMANDS: dict[str, str] = {
    "config": "trawl.config_cli:config_group",
    "demo": "trawl.demo_cli:demo",
    "doctor": "trawl.doctor_cli:doctor",
    "schedule": "trawl.schedule_cli:schedule",
    "serve": "dashboards.web_cli:serve",
    "dashboards": "dashboards.web_cli:dashboards",
    "testbed": "testbed.cli:testbed",
    "crawl": "crawler.engine.cli:crawl",
    "sites": "crawler.engine.cli:sites",
    "runs": "crawler.engine.cli:runs",
    "process": "crawler.engine.workers_cli:process",
    "reprocess": "crawler.engine.reprocess_cli:reprocess",
    "ingest": "crawler.engine.ingest_cli:ingest",
    "tor": "crawler.engine.tor_cli:tor",
    "markets": "crawler.engine.markets_cli:markets",
    "evidence": "crawler.evidence.cli:evidence",
    "parse": "parsers.cli:parse",
    "match": "trawl.enrich_cli:match",
    "lists": "trawl.enrich_cli:lists",
    "alerts": "trawl.alerting.cli:alerts",
    "vendors": "trawl.enrich_cli:vendors",
    "search": "index.cli:search",
    "trends": "index.cli:trends",
    "export": "index.export_cli:export",
    "index": "index.cli:index_group",
}


class LazyGroup(click.Group):
    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        words = list(args)  # as given, before click consumes them: what an export's sidecar records
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        ctx.meta[COMMAND_LINE_META] = words
        return ctx

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trawl")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """trawl: monitor darknet and clear-web drug marketplaces.

    Data lives under $TRAWL_HOME (default ./trawl-data).

    \b
    Example:
      trawl demo
      trawl search "mephedrone" --json
    """
    # the substance vocabulary the index commands query with, built from enrich/'s lists on first use
    ctx.meta[VOCABULARY_META] = reference_vocabulary


def reference_vocabulary() -> Vocabulary:
    from enrich.vocabulary import default_vocabulary  # deferred: loading the lists takes about a second

    return default_vocabulary()


class Terminated(KeyboardInterrupt):
    """SIGTERM before a command installed its own handling (a crawl still importing Scrapy)."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    # Without this, a SIGTERM during start-up (the scheduler's time budget, a service stop)
    # ends the process silently: no line, no exit code of ours, finally-blocks skipped.
    # Commands that handle signals themselves (the crawl's reactor, the scheduler) replace it.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="trawl")
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort as exc:  # click turns a KeyboardInterrupt inside a command into Abort
        click.echo("terminated (SIGTERM)" if isinstance(exc.__cause__, Terminated) else "aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TrawlError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))  # 2: a user error; subclasses may say otherwise
    except KeyboardInterrupt as exc:
        click.echo("terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
