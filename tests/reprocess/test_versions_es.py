"""Superseded extractions in Elasticsearch (mapping version 3): kept under their own id beside
the current snapshot, read back by exports and history, left out of trends.

Runs with `pytest -m es` when TRAWL_TEST_ES_URL points at a server (7.17 to 9.x); skipped here."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Listing, Records, Snapshot, snapshot_of
from index.es_backend import EsBackend

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL, reason="TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)"),
]


@pytest.fixture()
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EsBackend]:
    from enrich.vocabulary import default_vocabulary
    from index import es_admin, open_index

    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))
    es = open_index(ES_URL, prefix=f"trawl-test-{uuid.uuid4().hex[:8]}", spool_dir=tmp_path / "spool", replicas=0,
                    vocabulary=default_vocabulary())
    assert isinstance(es, EsBackend)
    es_admin.migrate(es)
    try:
        yield es
    finally:
        es.client.indices.delete(index=f"{es.names.prefix}-*")
        es.close()


def test_superseded_snapshot_kept_and_out_of_trends(backend: EsBackend) -> None:
    from index.api import TrendQuery
    from index.history import listing_snapshots

    listing = Listing("s:1", "s", "pharmacy", "http://s/1", "t", crawled_at="2026-01-01T00:00:00Z",
                      quantity_unit="g", usd_per_unit=10.0, price_usd=10.0, extraction_version="v1")
    first = snapshot_of(listing)
    current = Snapshot(**{**first.__dict__, "usd_per_unit": 20.0, "extraction_version": "v2"})
    backend.write(Records([listing], [first]))
    backend.write(Records(snapshots=[Snapshot(**{**first.__dict__, "superseded": True}), current]))
    everything = sorted((s.extraction_version, s.superseded, s.usd_per_unit)
                        for s in backend.iter_snapshots())
    assert everything == [("v1", True, 10.0), ("v2", False, 20.0)]
    assert sorted(s.extraction_version for s in listing_snapshots(backend, "s:1")) == ["v1", "v2"]
    rows = backend.trends(TrendQuery(metric="usd_per_unit", group_by=[]))
    assert [(r.count, r.median) for r in rows] == [(1, 20.0)]
