"""Spool: a real dead Elasticsearch (a closed port on 127.0.0.1), replayed into the real SQLite backend."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from core.errors import TrawlError
from core.records import Records
from index import open_index
from index.es_backend import EsBackend
from index.spool import Spool
from index.sqlite_backend import SqliteBackend

from .records import CANDIDATES, LISTINGS, SNAPSHOTS, VENDORS


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: connections are refused


@pytest.fixture
def dead_es(tmp_path: Path) -> EsBackend:
    backend = open_index(f"http://elastic:s3cret@127.0.0.1:{closed_port()}", spool_dir=tmp_path / "spool", request_timeout=2)
    assert isinstance(backend, EsBackend)
    return backend


@pytest.mark.timeout(120)  # a refused connection must fail fast, not retry for long
def test_dead_server_spools_writes_and_fails_reads_clearly(dead_es: EsBackend, tmp_path: Path) -> None:
    first = dead_es.write(Records(listings=LISTINGS[:3], snapshots=SNAPSHOTS[:2]))
    second = dead_es.write(Records(listings=LISTINGS[3:], snapshots=SNAPSHOTS[2:], vendors=VENDORS, candidates=CANDIDATES))
    assert first["spooled"] == 5 and second["spooled"] == 2 + 5 + 1 + 1
    files = Spool(tmp_path / "spool").files()
    assert len(files) == 1
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [[x["listing_id"] for x in line["listings"]] for line in lines] == [
        [x.listing_id for x in LISTINGS[:3]], [x.listing_id for x in LISTINGS[3:]]
    ]
    assert "unreachable" in lines[0]["reason"] and "s3cret" not in files[0].read_text()
    with pytest.raises(TrawlError) as err:
        dead_es.search(__import__("index.api", fromlist=["SearchQuery"]).SearchQuery(text="x"))
    message = str(err.value)
    assert "unreachable" in message and "127.0.0.1" in message and "\n" not in message and "s3cret" not in message


def test_replay_into_sqlite_in_order(dead_es: EsBackend, tmp_path: Path) -> None:
    import dataclasses

    newer = dataclasses.replace(LISTINGS[0], title="renamed later", crawled_at="2026-03-01T00:00:00Z", last_seen="2026-03-01T00:00:00Z")
    dead_es.write(Records(listings=LISTINGS, snapshots=SNAPSHOTS, vendors=VENDORS, candidates=CANDIDATES))
    dead_es.write(Records(listings=[newer]))
    spool = Spool(tmp_path / "spool")
    assert spool.pending() == 2
    target = SqliteBackend(tmp_path / "replayed.sqlite")
    report = spool.replay(target)
    assert (report.files, report.batches, report.records) == (1, 2, 15)
    assert spool.files() == [] and spool.pending() == 0
    assert target.counts() == {"listings": 5, "snapshots": 7, "vendors": 1, "candidates": 1}
    got = target.get_listing(LISTINGS[0].listing_id)
    assert got is not None and got.title == "renamed later" and got.first_seen == LISTINGS[0].first_seen
    assert spool.replay(target).batches == 0  # nothing left, nothing doubled
    assert target.counts()["snapshots"] == 7


def test_torn_line_and_resume(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    path = spool.append(Records(listings=LISTINGS[:1]))
    spool.append(Records(listings=LISTINGS[1:2]))
    with path.open("ab") as f:
        f.write(b'{"listings": [{"listing_id": "torn')  # a crash mid-append
    path.with_suffix(".jsonl.done").write_text("1")  # first batch already replayed before a crash
    target = SqliteBackend(tmp_path / "t.sqlite")
    report = spool.replay(target)
    assert (report.batches, report.skipped_lines) == (1, 1)
    assert [x.listing_id for x in target.iter_listings()] == [LISTINGS[1].listing_id]


def test_bad_es_url_is_a_clear_error() -> None:
    with pytest.raises(TrawlError, match="no host"):
        open_index("http://")
