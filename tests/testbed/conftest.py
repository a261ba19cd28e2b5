"""Fixtures: one running testbed per module (starting one takes ~20 ms)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.server import Testbed, run_testbed


@pytest.fixture(scope="module")
def tb() -> Iterator[Testbed]:
    """Faults and rate limiting off, so content tests are not disturbed by them."""
    with run_testbed(seed=1, rate_limit=False, faults=False) as running:
        yield running


@pytest.fixture
def fresh_tb() -> Iterator[Testbed]:
    """Default settings (rate limit + faults on); per test, so counters start at zero."""
    with run_testbed(seed=1) as running:
        yield running
