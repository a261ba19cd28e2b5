"""The real saved Hansa market (../shared/real-data/hansa-2017-html: 5 category grids, 5
listing pages with their tabs, 5 vendors' pages) ingested as a directory with
docs/examples/hansa.yaml, no server and no network; values checked against the ones read
off the pages by hand (tests/crawler/test_grid_hansa.py's table).  Then the same directory
again: nothing changes.  Skips without the real data."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.crawler.conftest import REPO
from tests.crawler.test_grid_hansa import CARDS_PER_PAGE, DISTINCT_LISTINGS, EXPECTED

BASE = "http://hansamkt2rr6nfg3.onion"
YAML = str(REPO / "docs" / "examples" / "hansa.yaml")
PAGE_ONLY = {"24459", "80539", "42171"}  # listing pages saved whose listing is on none of the 5 grids
CLOCK = "2017-06-24T12:00:00Z"


def trawl(args: list[str], home: Path) -> Result:
    """The trawl command in this process (its lists load once for all these tests)."""
    from trawl.cli import cli

    return CliRunner().invoke(cli, args, env={"TRAWL_HOME": str(home), "TRAWL_PROFILE": "test"},
                              catch_exceptions=False)


def export(home: Path) -> dict[str, dict[str, Any]]:
    out = trawl(["export", "listings", "--site", "hansa", "--format", "jsonl", "--out", "-"], home)
    assert out.exit_code == 0, out.output[-2000:]
    return {json.loads(line)["listing_id"].split(":", 1)[1]: json.loads(line)
            for line in out.stdout.splitlines() if line.strip()}


def snapshot_count(home: Path) -> int:
    with sqlite3.connect(home / "index.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM snapshots WHERE site = 'hansa'").fetchone()[0])


@pytest.fixture(scope="module")
def ingested(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = real_data_dir / "hansa-2017-html"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    home = tmp_path_factory.mktemp("hansa-ingest") / "home"
    args = ["ingest", YAML, str(folder), "--base-url", BASE, "--flat-names", "--clock", CLOCK]
    first = trawl([*args, "--json"], home)
    assert first.exit_code == 0, first.output[-3000:]
    rows = export(home)
    snapshots = snapshot_count(home)
    again = trawl(args, home)
    return {"folder": folder, "home": home, "report": json.loads(first.stdout.strip().splitlines()[-1]),
            "rows": rows, "snapshots": snapshots, "again": again, "rows_again": export(home),
            "snapshots_again": snapshot_count(home)}


def test_every_file_read_and_counted(ingested: dict[str, Any]) -> None:
    report = ingested["report"]
    saved = sorted(p.name for p in ingested["folder"].glob("*.htm"))
    assert len(saved) == 35 and report["files"] == 35 and report["pages"] == 35
    # 5 grids + 5 listing pages read; the rest (tabs, vendor pages: no vendor section in the YAML) are navigation
    assert report["skipped_by_reason"] == {"navigation": 25, "not_a_page": 1}  # not_a_page: README.md
    assert report["drops"] == 0 and report["errors"] == 0 and report["captured_from"] == {"clock": 35}


def test_listing_count_from_cards_and_pages(ingested: dict[str, Any]) -> None:
    rows = ingested["rows"]
    from_cards = {i for i, row in rows.items() if "card" in row["field_sources"].values()}
    assert sum(CARDS_PER_PAGE.values()) == 164
    assert len(from_cards) == DISTINCT_LISTINGS
    assert set(rows) - from_cards == PAGE_ONLY
    assert len(rows) == DISTINCT_LISTINGS + len(PAGE_ONLY)
    assert all(row["title"] and row["vendor"] and row["price_usd"] for row in rows.values())
    assert {row["crawled_at"] for row in rows.values()} == {CLOCK}


@pytest.mark.parametrize("native_id", sorted(EXPECTED))
def test_values_read_off_the_pages(ingested: dict[str, Any], native_id: str) -> None:
    expected, row = EXPECTED[native_id], ingested["rows"][native_id]
    assert row["title"] == expected["title"] and row["vendor"] == expected["vendor"]
    assert row["price_usd"] == pytest.approx(expected["price_usd"]) and row["views"] == expected["views"]
    assert row["origin"] == expected["origin"]
    sources = row["field_sources"]
    if expected["merged"]:  # the listing page's price (fee included) wins; views only on the card
        assert sources["price"] == "page" and sources["views"] == "card"
        assert row["stock"] == expected["stock"] and row["ships_worldwide"] is expected["ships_worldwide"]
        assert row["url"] == f"{BASE}/listing/{native_id}/"
        if "shipping_options" in expected:
            assert len(row["shipping_options"]) == expected["shipping_options"]
    else:
        assert set(sources.values()) == {"card"}


def test_evidence_cites_the_ingest_run_and_the_source_file(ingested: dict[str, Any]) -> None:
    from core.records import Evidence
    from crawler.evidence.reader import read_evidence

    row, home = ingested["rows"]["56750"], ingested["home"]
    evidence = Evidence(**row["evidence"])
    assert evidence.run_id == ingested["report"]["run_id"]
    page = read_evidence(evidence, home)  # the copy in the run's own WARC, as the web app reads it
    original = ingested["folder"] / "listing_56750.htm"
    assert page.url == f"{BASE}/listing/56750/" and page.body == original.read_bytes()
    assert page.captured_at == CLOCK
    manifest = [json.loads(line) for line in (home / "runs" / evidence.run_id / "manifest.jsonl").read_text().splitlines()]
    entry = next(e for e in manifest if e["offset"] == evidence.warc_offset and e["type"] == "response")
    assert entry["source_path"] == str(original.resolve())
    assert entry["source_sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert entry["source_size"] == original.stat().st_size and entry["captured_at"] == CLOCK


def test_reingest_changes_nothing(ingested: dict[str, Any]) -> None:
    again, run_id = ingested["again"], ingested["report"]["run_id"]
    assert again.exit_code == 0, again.output[-2000:]
    assert f"35 files: already ingested (run {run_id})" in again.stdout
    assert ingested["rows_again"] == ingested["rows"]
    assert ingested["snapshots_again"] == ingested["snapshots"] == DISTINCT_LISTINGS + len(PAGE_ONLY)
    assert [p.name for p in (ingested["home"] / "runs").iterdir() if p.is_dir()] == [run_id]


def test_shows_in_runs_as_an_ingest(ingested: dict[str, Any]) -> None:
    runs = trawl(["runs", "--json"], ingested["home"])
    assert runs.exit_code == 0, runs.output
    (run,) = json.loads(runs.stdout)
    assert run["kind"] == "ingest" and run["status"] == "finished" and run["listings"] == 162
    assert "ingest:finished" in trawl(["runs"], ingested["home"]).stdout
