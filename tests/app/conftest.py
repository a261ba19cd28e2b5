"""Application tests (trawl/): real `trawl` subprocesses against a testbed served here."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def testbed() -> Iterator[object]:
    from testbed.server import run_testbed

    with run_testbed(port=0, day=0, seed=1) as tb:
        yield tb
