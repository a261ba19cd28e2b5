"""Elasticsearch backend against a real server: identical answers to SQLite on the fixed query suite.

Runs with `make test-es` / `pytest -m es` when TRAWL_TEST_ES_URL points at a server
(e.g. http://127.0.0.1:9200, or https://elastic:PASSWORD@host:9200 with
TRAWL_INDEX_CA_CERT for a secured one).  Every test uses its own index prefix and
deletes it afterwards.  No mock stands in for the server.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Records
from enrich.vocabulary import default_vocabulary
from index import es_admin, open_index
from index.api import SearchQuery, TrendQuery
from index.es_backend import EsBackend
from index.spool import Spool
from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import generate
from tests.index.query_suite import run_suite

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL, reason="TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)"),
]


@pytest.fixture(scope="module", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The backend remembers index generations under $TRAWL_HOME: never the working directory's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(tmp_path_factory.mktemp("home")))
        yield


def write_like_the_crawler(backend: object, data: Records) -> None:
    for start in range(0, len(data.listings), 100):
        chunk = data.listings[start : start + 100]
        ids = {x.listing_id for x in chunk}
        backend.write(Records(listings=chunk, snapshots=[s for s in data.snapshots if s.listing_id in ids]))  # type: ignore[attr-defined]
    backend.write(Records(vendors=data.vendors, candidates=data.candidates))  # type: ignore[attr-defined]


def es(prefix: str, spool_dir: Path, **options: object) -> EsBackend:
    backend = open_index(ES_URL, prefix=prefix, spool_dir=spool_dir, replicas=0, vocabulary=default_vocabulary(), **options)
    assert isinstance(backend, EsBackend)
    return backend


@pytest.fixture(scope="module")
def data() -> Records:
    return generate()


@pytest.fixture(scope="module")
def pair(data: Records, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteBackend, EsBackend]]:
    tmp = tmp_path_factory.mktemp("es")
    sqlite = SqliteBackend(tmp / "index.sqlite", default_vocabulary())
    elastic = es(f"trawltest-{uuid.uuid4().hex[:10]}", tmp / "spool")
    try:
        write_like_the_crawler(sqlite, data)
        write_like_the_crawler(elastic, data)
        yield sqlite, elastic
    finally:
        es_admin.delete_all(elastic)
        elastic.close()
        sqlite.close()


def test_query_suite_identical(pair: tuple[SqliteBackend, EsBackend]) -> None:
    sqlite, elastic = pair
    expected, got = run_suite(sqlite), run_suite(elastic)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], name


def test_records_round_trip(pair: tuple[SqliteBackend, EsBackend], data: Records) -> None:
    sqlite, elastic = pair
    assert elastic.get_listing(data.listings[5].listing_id) == sqlite.get_listing(data.listings[5].listing_id)
    assert elastic.get_listing("nope:0") is None
    assert list(elastic.iter_listings()) == list(sqlite.iter_listings())
    query = SearchQuery(substance="cocaine", crawled_from="2025-02-01", crawled_to="2025-03-15")
    assert list(elastic.iter_snapshots(query)) == list(sqlite.iter_snapshots(query))
    assert elastic.vendors() == sqlite.vendors() and elastic.candidates() == sqlite.candidates()
    assert elastic.vendors("dutchlabs3") == sqlite.vendors("dutchlabs3")


def test_rewrite_is_idempotent(pair: tuple[SqliteBackend, EsBackend], data: Records) -> None:
    _, elastic = pair
    before = run_suite(elastic)
    write_like_the_crawler(elastic, data)
    assert run_suite(elastic) == before
    assert elastic.candidates()[0].occurrences == data.candidates[0].occurrences


def test_highlight_and_server_version(pair: tuple[SqliteBackend, EsBackend]) -> None:
    _, elastic = pair
    hit = elastic.search(SearchQuery(text="premium")).hits[0]
    assert "[premium]" in hit.highlight.lower()
    assert elastic.server_major is not None and elastic.server_major >= 7


def test_spool_replays_into_es(tmp_path: Path, data: Records) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    prefix = f"trawltest-{uuid.uuid4().hex[:10]}"
    dead = open_index(f"http://127.0.0.1:{dead_port}", prefix=prefix, spool_dir=tmp_path / "spool", request_timeout=2)
    assert dead.write(Records(listings=data.listings[:50]))["spooled"] == 50
    dead.write(Records(listings=data.listings[50:80], snapshots=data.snapshots[:100]))
    assert Spool(tmp_path / "spool").pending() == 2
    live = es(prefix, tmp_path / "spool")
    try:
        assert Spool(tmp_path / "spool").pending() == 2  # opening replays nothing (flush and a crawl's start do)
        report = live.replay_spool()
        assert report is not None and (report.batches, report.records) == (2, 180)
        assert Spool(tmp_path / "spool").pending() == 0
        assert live.counts()["listings"] == 80 and live.counts()["snapshots"] == 100
    finally:
        es_admin.delete_all(live)


def test_rejected_documents_are_kept(tmp_path: Path, data: Records) -> None:
    backend = es(f"trawltest-{uuid.uuid4().hex[:10]}", tmp_path / "spool")
    try:
        bad = dataclasses.replace(data.listings[0], stock="plenty")  # type: ignore[arg-type]  # `stock` is mapped as long
        result = backend.write(Records(listings=[bad, data.listings[1]]))
        assert result["rejected"] == 1
        assert backend.counts()["listings"] == 1
        assert backend.rejected.pending() == 1
    finally:
        es_admin.delete_all(backend)


def test_migrate_to_new_mapping_version(tmp_path: Path, data: Records) -> None:
    prefix = f"trawltest-{uuid.uuid4().hex[:10]}"
    v1 = es(prefix, tmp_path / "spool", mapping_version=1)
    try:
        v1.write(Records(listings=data.listings[:40], snapshots=data.snapshots[:200], vendors=data.vendors[:5]))
        before = v1.search(SearchQuery(limit=100, sort="price_usd"))
        v2 = es(prefix, tmp_path / "spool", mapping_version=2)
        v2.ensure_ready()
        assert v2.outdated  # aliases still on v1: writes spool until the migration
        assert v2.write(Records(vendors=data.vendors[5:6])).get("spooled") == 1
        report = es_admin.migrate(v2)
        assert any(k.startswith(f"{prefix}-listings-v1") for k in report["reindexed"])
        aliases = v2.client.indices.get_alias(name=f"{prefix}-listings").body
        assert list(aliases) == [f"{prefix}-listings-v2"]
        v2._dirty = True
        after = v2.search(SearchQuery(limit=100, sort="price_usd"))
        assert [h.listing for h in after.hits] == [h.listing for h in before.hits]
        assert v2.counts() == v1.counts()
        assert v2.trends(TrendQuery(metric="listings", group_by=["site"])) == v1.trends(TrendQuery(metric="listings", group_by=["site"]))
    finally:
        es_admin.delete_all(v1)
