"""Price trends: Elasticsearch's native TDigest percentiles by default, exact quantiles with --exact.

Default suite (SQLite): `--exact` is accepted by `trawl trends` and `trawl export trends`, changes
nothing (SQLite is always exact) and the export sidecar says "quantiles": "exact".
`es` marker (TRAWL_TEST_ES_URL): on the synthetic demo data, every native row has the exact
row's period, group and count, and q1/median/q3 within the stated tolerance of the exact
quantiles (es_trends.within_tolerance: one rank and 1% in probability); --exact equals SQLite.
"""
from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.records import Records, Snapshot
from core.timeutil import bound_from, bound_to, period_start
from enrich.vocabulary import default_vocabulary
from index import es_admin, merge, open_index
from index.api import TrendQuery
from index.es_trends import QUANTILE_TOLERANCE, within_tolerance
from index.querytext import synonyms
from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import generate
from tests.index.query_suite import TRENDS
from trawl.cli import cli

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
PRICE_TRENDS = {name: q for name, q in TRENDS.items() if q.metric == "usd_per_unit"}


@pytest.fixture
def home(trawl_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TRAWL_INDEX_URL", raising=False)
    data = generate(n_listings=120, days=60)
    with open_index() as b:
        b.write(Records(listings=data.listings, snapshots=data.snapshots, vendors=data.vendors, candidates=data.candidates))
    return trawl_home


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_sqlite_is_exact_with_or_without_the_flag(home: Path, tmp_path: Path) -> None:
    plain = json.loads(run("trends", "--substance", "ketamine", "--interval", "week", "--json"))
    exact = json.loads(run("trends", "--substance", "ketamine", "--interval", "week", "--json", "--exact"))
    assert plain and plain == exact and all(r["median"] is not None for r in plain)
    for flag in ([], ["--exact"]):
        out = tmp_path / f"t{len(flag)}.csv"
        run("export", "trends", "--format", "csv", "--out", str(out), "--substance", "ketamine", *flag)
        meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
        assert meta["quantiles"] == "exact" and meta["query"]["exact"] is bool(flag)
    listings = tmp_path / "l.csv"
    run("export", "listings", "--format", "csv", "--out", str(listings))
    assert "quantiles" not in json.loads(listings.with_name("l.csv.meta.json").read_text())  # trends only


def exact_values(snapshots: list[Snapshot], q: TrendQuery) -> dict[tuple[str, tuple[object, ...]], list[float]]:
    """Every value per (period, group) the way the oracle filters them (tests/index/oracle.py), sorted."""
    low, high = bound_from(q.time_from), bound_to(q.time_to)
    names = set(synonyms(q.substance, default_vocabulary())) if q.substance else None
    values: dict[tuple[str, tuple[object, ...]], list[float]] = defaultdict(list)
    for s in map(merge.normalise_snapshot, snapshots):
        if names is not None and (s.substance or "").lower() not in names:
            continue
        if (q.site and s.site != q.site) or (q.origin and s.origin != q.origin) or (low and s.crawled_at < low) \
                or (high and s.crawled_at > high) or s.usd_per_unit is None or (q.unit and s.quantity_unit != q.unit):
            continue
        group = tuple((s.substance or "").lower() or None if g == "substance" else getattr(s, g) for g in q.group_by)
        values[(period_start(s.crawled_at, q.interval), group)].append(s.usd_per_unit)
    return {k: sorted(v) for k, v in values.items()}


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteBackend, object, Records]]:
    if not ES_URL:
        pytest.skip("TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)")
    from index.es_backend import EsBackend

    tmp = tmp_path_factory.mktemp("native")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(tmp / "home"))
        data = generate()
        sqlite = SqliteBackend(tmp / "index.sqlite", default_vocabulary())
        elastic = open_index(ES_URL, prefix=f"trawltest-{uuid.uuid4().hex[:10]}", spool_dir=tmp / "spool", replicas=0,
                             vocabulary=default_vocabulary())
        assert isinstance(elastic, EsBackend)
        try:
            for backend in (sqlite, elastic):
                with backend.bulk_mode():
                    backend.write(data)
            assert not elastic.spool.pending()
            yield sqlite, elastic, data
        finally:
            es_admin.delete_all(elastic)
            elastic.close()
            sqlite.close()


@pytest.mark.es
@pytest.mark.parametrize("name", sorted(PRICE_TRENDS))
def test_tdigest_within_tolerance_of_exact(backends: tuple[SqliteBackend, object, Records], name: str) -> None:
    sqlite, elastic, data = backends
    query = PRICE_TRENDS[name]
    native = elastic.trends(query)  # type: ignore[attr-defined]
    exact = sqlite.trends(query)
    assert exact, name
    # counts, periods and groups are identical; only the quantiles are estimates
    assert [(r.period, r.group, r.count) for r in native] == [(r.period, r.group, r.count) for r in exact]
    values = exact_values(data.snapshots, query)
    for row in native:
        ordered = values[(row.period, tuple(row.group.values()))]
        assert len(ordered) == row.count
        for p, estimate in ((0.25, row.q1), (0.5, row.median), (0.75, row.q3)):
            assert estimate is not None and within_tolerance(ordered, p, estimate, QUANTILE_TOLERANCE), \
                (name, row, p, ordered)
    # --exact: equal to SQLite, value for value
    assert elastic.trends(dataclasses.replace(query, exact=True)) == exact  # type: ignore[attr-defined]


@pytest.mark.es
def test_es_sidecar_records_the_quantile_method(backends: tuple[SqliteBackend, object, Records], tmp_path: Path) -> None:
    from index.export import export

    _, elastic, _ = backends
    query = PRICE_TRENDS["ppu_month_mephedrone"]
    native = export(elastic, "trends", "csv", tmp_path / "n.csv", trend=query)  # type: ignore[arg-type]
    exact = export(elastic, "trends", "csv", tmp_path / "e.csv", trend=dataclasses.replace(query, exact=True))  # type: ignore[arg-type]
    assert native["quantiles"] == "tdigest(compression=200)" and exact["quantiles"] == "exact"
    assert native["row_count"] == exact["row_count"] > 0
