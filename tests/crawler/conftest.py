"""Crawls in tests run as subprocesses (Twisted's reactor cannot restart in-process)
against a testbed served by the test process."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CrawlRun:
    returncode: int
    stdout: str
    stderr: str


def crawl_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")}
    # page processing in the crawl process (--workers 0): the suite's many small crawls would each
    # start a worker process; tests/workers compares the two modes field by field
    env.update({"TRAWL_HOME": str(home), "TRAWL_PROFILE": "test", "PYTHONPATH": str(REPO), "TRAWL_WORKERS": "0"})
    env.update(extra or {})
    return env


def trawl(args: list[str], env: dict[str, str], timeout: float = 180) -> CrawlRun:
    proc = subprocess.run([sys.executable, "-m", "trawl.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return CrawlRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def testbed() -> Iterator[object]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1) as tb:
        yield tb
