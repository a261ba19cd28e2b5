"""The command line that runs trawl (a crawl, or any `trawl` command) in a new process.

A crawl runs in a process of its own because Twisted's reactor starts once per process.
The web dashboard, the scheduler and the demo all start crawls; they build the argument
list here and run it their own way (asyncio, subprocess with a timeout, ...).  The module
lives in crawler.engine, not in the trawl application package, because the dashboard
may not import the application; it names the application's entry point only as a string.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

# `python -m trawl.cli` needs no `trawl` script on PATH and runs the same interpreter
CLI_MODULE = "trawl.cli"


def trawl_command(args: Sequence[str], *, python: str | None = None) -> list[str]:
    """argv for `trawl ARGS...` run by `python` (default: this interpreter)."""
    return [python or sys.executable, "-m", CLI_MODULE, *args]


def crawl_args(site: str, *, clock: str | None = None, budget: int | None = None, resume: bool = False,
               json_summary: bool = False, progress: bool = False) -> list[str]:
    """The arguments of `trawl crawl` for one site.  The site name comes after `--`, so
    even a name starting with "-" (from a web request, say) is never read as an option."""
    args = ["crawl"]
    if clock is not None:
        args += ["--clock", clock]
    if budget is not None:
        args += ["--budget", str(budget)]
    if resume:
        args.append("--resume")
    if json_summary:
        args.append("--json")
    if progress:
        args.append("--progress")
    return [*args, "--", site]


def crawl_command(site: str, *, python: str | None = None, clock: str | None = None, budget: int | None = None,
                  resume: bool = False, json_summary: bool = False, progress: bool = False) -> list[str]:
    """argv that crawls `site` in a new process, e.g.
    `crawl_command("vortex", clock="2026-08-03T12:00:00Z", json_summary=True)`."""
    return trawl_command(crawl_args(site, clock=clock, budget=budget, resume=resume, json_summary=json_summary,
                                    progress=progress), python=python)
