"""The fixed query suite on the embedded backend, checked against a plain-Python oracle."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Records
from enrich.vocabulary import default_vocabulary
from index.api import TrendQuery
from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import generate
from tests.index.query_suite import SEARCHES, TRENDS, run_suite

from . import oracle


@pytest.fixture(scope="module")
def data() -> Records:
    return generate()


@pytest.fixture(scope="module")
def backend(data: Records, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteBackend]:
    b = SqliteBackend(tmp_path_factory.mktemp("suite") / "index.sqlite", default_vocabulary())
    for start in range(0, len(data.listings), 100):  # the crawler's batch size
        b.write(Records(listings=data.listings[start : start + 100]))
    b.write(Records(snapshots=data.snapshots, vendors=data.vendors, candidates=data.candidates))
    yield b
    b.close()


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search_matches_oracle(backend: SqliteBackend, data: Records, name: str) -> None:
    query = SEARCHES[name]
    answer = run_suite_search(backend, name)
    total, expected = oracle.search_ids(data.listings, query)
    assert answer == {"total": total, "ids": expected}


def run_suite_search(backend: SqliteBackend, name: str) -> dict[str, object]:
    from tests.index.query_suite import _search_answer

    return _search_answer(backend, SEARCHES[name])


@pytest.mark.parametrize("name", sorted(n for n, q in TRENDS.items() if q.metric != "new_substances"))
def test_trend_matches_oracle(backend: SqliteBackend, data: Records, name: str) -> None:
    rows = backend.trends(TRENDS[name])
    assert rows, f"{name} returned nothing: the synthetic data should exercise it"
    assert rows == oracle.trend_rows(data.snapshots, TRENDS[name])


def test_suite_is_not_trivial(backend: SqliteBackend) -> None:
    answers = run_suite(backend)
    non_empty = [k for k, v in answers.items() if k.startswith("search:") and v["total"]]
    assert len(non_empty) >= len(SEARCHES) - 1  # only "no_match" is empty
    assert answers["counts"] == {"listings": 300, "snapshots": 4300, "vendors": 260, "candidates": 6}


def test_price_trend_by_hand(tmp_path: Path) -> None:
    from .records import LISTINGS, SNAPSHOTS

    b = SqliteBackend(tmp_path / "i.sqlite", default_vocabulary())
    b.write(Records(listings=LISTINGS, snapshots=SNAPSHOTS))
    month = b.trends(TrendQuery(substance="mephedrone"))
    # January values 12, 18, 20, 22, 24 -> type-7 quartiles 18 / 20 / 22
    assert [dataclasses.astuple(r) for r in month] == [("2026-01-01", {"substance": "mephedrone"}, 5, 20.0, 18.0, 22.0, None)]
    weeks = b.trends(TrendQuery(substance="4-mmc", interval="week", group_by=[]))
    assert [(r.period, r.count, r.median, r.q1, r.q3) for r in weeks] == [
        ("2026-01-05", 1, 18.0, 18.0, 18.0), ("2026-01-12", 2, 16.0, 14.0, 18.0),
        ("2026-01-19", 1, 22.0, 22.0, 22.0), ("2026-01-26", 1, 24.0, 24.0, 24.0),
    ]
    activity = b.trends(TrendQuery(metric="activity", site="nightshade", interval="month"))
    assert [(r.group["run_id"], r.count, r.delta) for r in activity] == [
        ("n5", 1, None), ("n12", 2, 1), ("n19", 1, -1), ("n26", 1, 0), ("n34", 1, 0)
    ]
    b.close()


@pytest.mark.parametrize("name", sorted(n for n, q in TRENDS.items() if q.metric == "usd_per_unit"))
def test_fast_price_path_equals_general_path(backend: SqliteBackend, name: str) -> None:
    from index.sqlite_trends import sqlite_trends

    vocabulary = backend.vocabulary
    assert sqlite_trends(backend.conn, TRENDS[name], vocabulary) == sqlite_trends(backend.conn, TRENDS[name], vocabulary, allow_fast=False)


def test_ranked_month_quantiles_edge_cases(tmp_path: Path) -> None:
    """Buckets of 1, 2 and 3 values, ties, and snapshots without a substance: ranks from
    either end of the index must give exactly what sorting all values gives."""
    import random

    from core.records import Snapshot
    from index.sqlite_trends import sqlite_trends

    rng = random.Random(5)
    snaps = []
    for month, n in (("01", 1), ("02", 2), ("03", 3), ("04", 50), ("05", 7)):
        for i in range(n):
            for substance in ("cocaine", None):
                snaps.append(Snapshot(listing_id=f"s:{month}{i}{substance}", crawled_at=f"2025-{month}-{1 + i % 28:02d}T00:00:00Z",
                                      site="s", usd_per_unit=float(rng.choice((10, 10, 11.5, 12.25, 30))), quantity_unit="g",
                                      substance=substance))
    b = SqliteBackend(tmp_path / "i.sqlite", default_vocabulary())
    b.write(Records(snapshots=snaps))
    for query in (TrendQuery(group_by=["substance"]), TrendQuery(substance="cocaine"),
                  TrendQuery(time_from="2025-02-15", time_to="2025-04-30")):
        fast = sqlite_trends(b.conn, query, b.vocabulary)
        assert fast == sqlite_trends(b.conn, query, b.vocabulary, allow_fast=False)
        assert fast == oracle.trend_rows(snaps, query)
    assert {r.count for r in sqlite_trends(b.conn, TrendQuery(), b.vocabulary)} == {1, 2, 3, 50, 7}
