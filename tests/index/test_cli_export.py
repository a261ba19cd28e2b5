from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from core.records import Records
from index import open_index
from testbed.synthetic_index import generate
from trawl.cli import cli


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


def test_search_outputs(home: Path) -> None:
    table = run("search", "--substance", "cocaine", "--sort", "usd_per_unit", "--limit", "3")
    assert table.splitlines()[0].split()[:4] == ["TITLE", "VENDOR", "SITE", "PRICE"]
    data = json.loads(run("search", "--substance", "cocaine", "--sort", "usd_per_unit", "--json"))
    ppu = [h["listing"]["usd_per_unit"] for h in data["hits"]]
    assert ppu == sorted(ppu) and data["total"] >= len(ppu) > 0
    rows = list(csv.DictReader(run("search", "coke", "--csv", "--limit", "100").splitlines()))
    assert rows and all("cocaine" in r["substances"] for r in rows)
    assert all("[" in r["highlight"] for r in rows)


def test_trends_outputs(home: Path) -> None:
    rows = json.loads(run("trends", "--substance", "mephedrone", "--interval", "week", "--json"))
    assert rows and all(r["q1"] <= r["median"] <= r["q3"] for r in rows)
    assert [r["period"] for r in rows] == sorted(r["period"] for r in rows)
    text = run("trends", "--metric", "listings", "--by", "site", "--csv")
    assert text.splitlines()[0] == "period,site,count"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_with_sidecar(home: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"listings.{fmt}"
    run("export", "listings", "--format", fmt, "--out", str(out), "--substance", "cocaine", "--destination", "DE")
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text())
    assert meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["filters"] == {"substance": "cocaine", "destination": "DE"}
    if fmt == "csv":
        n = len(list(csv.DictReader(out.open())))
    elif fmt == "parquet":
        n = pq.read_table(out).num_rows
    else:
        n = len(out.read_text().splitlines())
    with open_index() as b:
        from index.api import SearchQuery

        expected = b.search(SearchQuery(substance="cocaine", destination="DE")).total
    assert meta["row_count"] == n == expected > 0
    assert meta["time_range"]["from"] <= meta["time_range"]["to"]
    assert meta["software"]["trawl"] and "reference_lists" in meta


def test_export_trends_and_snapshots(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    run("export", "trends", "--format", "csv", "--out", str(out), "--substance", "ketamine", "--interval", "week")
    rows = list(csv.DictReader(out.open()))
    assert rows and set(rows[0]) >= {"period", "group_substance", "count", "median", "q1", "q3"}
    snaps = tmp_path / "s.parquet"
    run("export", "snapshots", "--format", "parquet", "--out", str(snaps), "--site", "vortex",
        "--crawled-from", "2025-02-01")
    table = pq.read_table(snaps).to_pylist()
    assert table and all(r["site"] == "vortex" and r["crawled_at"] >= "2025-02-01" for r in table)


def test_user_errors_are_one_line(home: Path) -> None:
    from trawl.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--sort", "colour"])
    assert exit_info.value.code == 2
    result = CliRunner().invoke(cli, ["export", "listings", "--out", "/nonexistent/dir/x.csv"])
    assert result.exit_code != 0


def test_stats_and_flush(home: Path) -> None:
    stats = json.loads(run("index", "stats", "--json"))
    assert stats["counts"]["listings"] == 120
    assert "replayed 0 batches" in run("index", "flush")
    assert "up to date" in run("index", "migrate")
