"""The README's commands exist, and every command has help with an example (sqlite-utils style)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trawl.cli import COMMANDS, cli

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"```(?:bash|sh|console|shell)?\n(.*?)```", re.S)


def readme_commands() -> list[str]:
    commands = []
    for block in _FENCE.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("trawl "):
                commands.append(line.split(" #")[0].strip())
    return commands


def all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(cli)

    def walk(prefix: str, command: click.Command) -> None:
        found.append((prefix, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{prefix} {name} listed but not loadable"
                walk(f"{prefix} {name}", sub)

    walk("trawl", cli)
    return found


def resolve(argv: list[str]) -> click.Command:
    """Follow the words of a command line down the group tree; fail on an unknown word."""
    command: click.Command = cli
    ctx = click.Context(cli)
    for word in argv:
        if not isinstance(command, click.Group) or word.startswith("-"):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            if command is cli:
                raise AssertionError(f"'trawl {word}' is not a command")
            break  # an argument, not a subcommand
        command = sub
    return command


def test_readme_has_the_two_quick_start_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_readme_lists_commands() -> None:
    assert len(readme_commands()) >= 10


@pytest.mark.parametrize("line", readme_commands(), ids=lambda line: line)
def test_readme_command_exists(line: str) -> None:
    argv = shlex.split(line)[1:]
    command = resolve(argv)
    # options the README uses must exist on that command
    params = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for word in argv:
        if word.startswith("--"):
            option = word.split("=")[0]
            assert option in params | {"--help"}, f"{line}: option {option} not accepted by that command"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_root_command_loads(name: str) -> None:
    assert resolve([name]) is not cli


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    missing = []
    for path, _command in all_commands():
        argv = path.split()[1:] + ["--help"]
        result = runner.invoke(cli, argv)
        assert result.exit_code == 0, f"{path} --help failed: {result.output}"
        if "Example" not in result.output:
            missing.append(path)
    assert not missing, f"commands whose help has no example: {missing}"


def test_listing_the_commands_loads_no_crawl_machinery() -> None:
    """`trawl --help` imports each command's module for its summary: those modules defer
    Scrapy, the testbed's servers, the evidence verifier and the ingest readers to the
    command's own run (the list took 1.5-1.9 s with them, 0.7 s without)."""
    import subprocess
    import sys

    heavy = ["scrapy", "twisted.internet.reactor", "testbed.server", "crawler.evidence.verify",
             "crawler.engine.ingest", "crawler.engine.offline"]
    probe = ("import sys\nfrom click.testing import CliRunner\nfrom trawl.cli import cli\n"
             "result = CliRunner().invoke(cli, ['--help'])\nassert result.exit_code == 0, result.output\n"
             "assert 'reprocess' in result.output and 'evidence' in result.output, result.output\n"
             f"print([name for name in {heavy!r} if name in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=README.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", proc.stdout
