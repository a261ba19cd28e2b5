"""Extraction versions in the index: an existing SQLite file is upgraded in place (the new
column defaults to unversioned, superseded snapshots get their own table), a superseded
snapshot never replaces the current one nor counts in trends, and the version id is stable."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.records import Listing, Records, Snapshot, snapshot_of
from index.api import TrendQuery
from index.history import listing_snapshots
from index.sqlite_backend import SqliteBackend
from index.sqlite_schema import _SNAPSHOT_FIELDS_V4, _SNAPSHOTS_TABLE_V4, DDL, SCHEMA_VERSION

OLD_ROW = ("s:1", "2026-01-01T00:00:00Z", "s", "run-1", 10.0, "USD", 10.0, 10.0, "g", 3, 7, "mephedrone",
           "mephedrone", "s:v", "NL", "hash-1")


def old_database(path: Path, version: int) -> None:
    """A file as trawl wrote it at schema `version` (3: snapshots with a rowid, 6: the v4 layout)."""
    conn = sqlite3.connect(path)
    for statement in (s for s in DDL.split(";\n") if s.strip()):
        conn.execute(statement)
    table = _SNAPSHOTS_TABLE_V4 if version >= 4 else _SNAPSHOTS_TABLE_V4.replace(
        "PRIMARY KEY (crawled_at, listing_id)\n) WITHOUT ROWID", "UNIQUE (listing_id, crawled_at))")
    conn.execute(table)
    conn.execute(f"INSERT INTO snapshots ({_SNAPSHOT_FIELDS_V4}) VALUES ({','.join('?' * 16)})", OLD_ROW)
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [3, 6])
def test_an_existing_database_is_upgraded_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "index.sqlite"
    old_database(path, version)
    backend = SqliteBackend(path)
    try:
        (old,) = list(backend.iter_snapshots())
        assert (old.listing_id, old.price_amount, old.content_hash, old.extraction_version, old.superseded) == (
            "s:1", 10.0, "hash-1", "", False)
        newer = Snapshot("s:1", "2026-02-01T00:00:00Z", "s", price_amount=12.0, extraction_version="0.1.0-abc")
        backend.write(Records(snapshots=[newer]))
        assert [s.extraction_version for s in listing_snapshots(backend, "s:1")] == ["", "0.1.0-abc"]
    finally:
        backend.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_superseded_snapshot_stays_beside_the_current_one_and_out_of_trends(tmp_path: Path) -> None:
    listing = Listing("s:1", "s", "pharmacy", "http://s/1", "t", crawled_at="2026-01-01T00:00:00Z",
                      quantity_unit="g", usd_per_unit=10.0, price_usd=10.0, extraction_version="v1")
    first = snapshot_of(listing)
    current = Snapshot(**{**first.__dict__, "usd_per_unit": 20.0, "extraction_version": "v2"})
    backend = SqliteBackend(tmp_path / "index.sqlite")
    try:
        backend.write(Records([listing], [first]))
        backend.write(Records(snapshots=[Snapshot(**{**first.__dict__, "superseded": True}), current]))
        backend.write(Records(snapshots=[Snapshot(**{**first.__dict__, "superseded": True})]))  # again: no duplicate
        everything = list(backend.iter_snapshots())
        assert [(s.extraction_version, s.superseded, s.usd_per_unit) for s in everything] == [
            ("v1", True, 10.0), ("v2", False, 20.0)]
        assert backend.counts()["snapshots"] == 1
        rows = backend.trends(TrendQuery(metric="usd_per_unit", group_by=[]))
        assert [(r.count, r.median) for r in rows] == [(1, 20.0)]  # one capture, counted once, current value
    finally:
        backend.close()


def test_version_id_is_stable_across_processes_and_changes_with_the_yaml(tmp_path: Path) -> None:
    import subprocess
    import sys

    from crawler.sitedef.siteconfig import load_site_file
    from pipeline.version import extraction_version

    source = Path(__file__).resolve().parents[2] / "crawler" / "sites" / "pillhub-grid.yaml"
    yaml = tmp_path / "pillhub-grid.yaml"
    yaml.write_text(source.read_text())
    here = extraction_version(load_site_file(yaml))
    code = ("import sys; from crawler.sitedef.siteconfig import load_site_file; "
            "from pipeline.version import extraction_version; print(extraction_version(load_site_file(sys.argv[1])))")
    there = subprocess.run([sys.executable, "-c", code, str(yaml)], capture_output=True, text=True, timeout=120,
                           cwd=source.parents[2], check=True).stdout.strip()
    assert here == there and here.count("-") == 1
    yaml.write_text(source.read_text().replace("{default: USD}", "{default: EUR}"))
    assert extraction_version(load_site_file(yaml)) != here  # the site loaded again: its new YAML
