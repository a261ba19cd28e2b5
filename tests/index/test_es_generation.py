"""Issue 16 items 3 and 4 against a real Elasticsearch: the index knows its generation and
says loudly when a populated index comes back empty; a spool is replayed (and reported) by
`replay_spool()`, which a crawl calls at its start, never by opening the backend.

Runs with `pytest -m es` when TRAWL_TEST_ES_URL points at a server; each test uses its
own prefix and deletes it afterwards."""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Records
from index import es_admin, open_index
from index.api import SearchQuery
from index.es_backend import EsBackend
from index.es_generation import read_local, read_marker
from index.spool import Spool

from .records import CANDIDATES, LISTINGS, SNAPSHOTS, VENDORS

ES_URL = os.environ.get("TRAWL_TEST_ES_URL", "")
pytestmark = [
    pytest.mark.es,
    pytest.mark.skipif(not ES_URL, reason="TRAWL_TEST_ES_URL not set: Elasticsearch tests need a server (see README)"),
]
ALL = Records(listings=LISTINGS, snapshots=SNAPSHOTS, vendors=VENDORS, candidates=CANDIDATES)


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))
    name = f"trawltest-gen-{uuid.uuid4().hex[:8]}"
    yield name
    backend = es(name, tmp_path / "cleanup-spool")
    backend.ensure_ready()
    es_admin.delete_all(backend)
    backend.close()


def es(prefix: str, spool_dir: Path) -> EsBackend:
    backend = open_index(ES_URL, prefix=prefix, spool_dir=spool_dir)
    assert isinstance(backend, EsBackend)
    return backend


def test_populated_index_that_comes_back_empty_is_loud(prefix: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    first = es(prefix, tmp_path / "spool")
    assert "spooled" not in first.write(ALL)
    first.close()  # records the counts at last write: on the server and in $TRAWL_HOME
    healthy = es(prefix, tmp_path / "spool")
    healthy.ensure_ready()  # also pins the compatibility header the raw marker read below needs
    assert healthy.generation_warning is None
    marker = read_marker(healthy)
    assert marker is not None and marker["counts"]["listings"] == len(LISTINGS)
    es_admin.delete_all(healthy)  # the server "loses its data": indices, aliases, templates, marker
    healthy.close()

    with caplog.at_level(logging.ERROR, logger="index.es_backend"):
        wiped = es(prefix, tmp_path / "spool")
        assert wiped.search(SearchQuery(text="mephedrone")).total == 0
    assert wiped.generation_warning is not None and f"held {len(ALL)} documents" in wiped.generation_warning
    assert "lost its data" in wiped.generation_warning
    assert any("lost its data" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    new_marker = read_marker(wiped)
    assert new_marker is not None and new_marker["generation"] != marker["generation"]
    wiped.close()

    # the marker says populated, the indices are empty (emptied in place): also loud
    refill = es(prefix, tmp_path / "spool")
    refill.write(ALL)
    refill.close()
    emptier = es(prefix, tmp_path / "spool")
    emptier.ensure_ready()
    for kind in Records.KINDS:
        emptier.client.delete_by_query(index=emptier.names.read_alias(kind), query={"match_all": {}}, refresh=True)
    emptier.close()
    emptied = es(prefix, tmp_path / "spool")
    emptied.ensure_ready()
    assert emptied.generation_warning is not None and "is empty now" in emptied.generation_warning
    local = read_local(emptied)
    assert local is not None and local["generation"] == read_marker(emptied)["generation"]  # type: ignore[index]
    emptied.close()


def test_spool_replayed_at_crawl_start_not_at_open(prefix: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append(Records(listings=LISTINGS[:2], snapshots=SNAPSHOTS[:2]), reason="server was down")
    spool.append(Records(listings=LISTINGS[2:]), reason="server was down")
    backend = es(prefix, tmp_path / "spool")
    assert spool.pending() == 2  # opening replayed nothing
    report = backend.replay_spool()  # what the crawl's item pipeline calls when the spider opens
    assert report is not None and (report.batches, report.records, report.remaining_files) == (2, 7, 0)
    assert backend.counts()["listings"] == len(LISTINGS) and spool.pending() == 0
    assert backend.replay_spool() is None  # nothing waits
    backend.close()
