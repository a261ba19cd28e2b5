"""The API's index additions on Elasticsearch: facet counts and listing history identical to SQLite's.

Runs with `pytest -m es` when TRAWL_TEST_ES_URL points at a server (see tests/index/test_es_backend.py);
skipped otherwise.  Its own index prefix, deleted afterwards."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Records
from enrich.vocabulary import default_vocabulary
from index import es_admin, open_index
from index.api import SearchQuery
from index.es_backend import EsBackend
from index.facets import FACET_FIELDS, facet_counts
from index.history import listing_snapshots
from index.sqlite_backend import SqliteBackend
from testbed.synthetic_index import generate

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL, reason="TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)"),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqliteBackend, EsBackend]]:
    tmp = tmp_path_factory.mktemp("es-facets")
    data = generate(n_listings=150, days=40, step=5, seed=9)
    batch = Records(listings=data.listings, snapshots=data.snapshots, vendors=data.vendors, candidates=data.candidates)
    sqlite = SqliteBackend(tmp / "index.sqlite", default_vocabulary())
    elastic = open_index(ES_URL, prefix=f"trawltest-{uuid.uuid4().hex[:10]}", spool_dir=Path(tmp / "spool"),
                         replicas=0, vocabulary=default_vocabulary())
    assert isinstance(elastic, EsBackend)
    try:
        sqlite.write(batch)
        elastic.write(batch)
        yield sqlite, elastic
    finally:
        es_admin.delete_all(elastic)
        elastic.close()
        sqlite.close()


@pytest.mark.parametrize("query", [SearchQuery(), SearchQuery(text="cocaine"), SearchQuery(site="vortex"),
                                   SearchQuery(substance="mephedrone", destination="DE")],
                         ids=["all", "text", "site", "substance-destination"])
def test_facets_identical(pair: tuple[SqliteBackend, EsBackend], query: SearchQuery) -> None:
    sqlite, elastic = pair
    assert facet_counts(elastic, query, FACET_FIELDS, 50) == facet_counts(sqlite, query, FACET_FIELDS, 50)


def test_listing_history_identical(pair: tuple[SqliteBackend, EsBackend]) -> None:
    sqlite, elastic = pair
    listing_id = next(sqlite.iter_snapshots()).listing_id
    assert listing_snapshots(elastic, listing_id) == listing_snapshots(sqlite, listing_id) != []
