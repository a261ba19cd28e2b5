"""The CLI and the API give the same vendor data: `trawl vendors show NAME --json` prints the
document GET /api/vendors/NAME answers (one library function, index.vendors.vendor_report),
and `trawl export vendors` writes every stored field with the export sidecar."""
from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from core.records import Records, Vendor, to_dict
from dashboards.api import ApiSettings, create_app
from index import open_index
from testbed.synthetic_index import generate
from tests.dashboards.test_api import ADMIN, FINGERPRINT, READ, LiveServer, _listing

VENDORS = [Vendor(vendor_id="nightshade:dutchgold", site="nightshade", name="DutchGold", url="http://n.onion/v/dg",
                  joined="2025-02-01", sales=120, rating=4.8, feedback_count=77, pgp_fingerprints=[FINGERPRINT],
                  pgp_key="-----BEGIN PGP PUBLIC KEY BLOCK-----\nxyz\n-----END PGP PUBLIC KEY BLOCK-----",
                  aliases=["DutchGoldNL"], identifiers={"btc": ["bc1qexample"]}, first_seen="2026-08-03T12:00:00Z",
                  last_seen="2026-08-04T12:00:00Z"),
           Vendor(vendor_id="vortex:dutchgoldnl", site="vortex", name="DutchGoldNL", pgp_fingerprints=[FINGERPRINT],
                  first_seen="2026-08-03T12:00:00Z", last_seen="2026-08-04T12:00:00Z")]


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("parity-home")
    data = generate(n_listings=60, days=30, step=10, seed=4)
    url = f"sqlite:///{home / 'index.sqlite'}"
    with open_index(url) as backend:
        backend.write(Records(listings=[*data.listings, _listing("x1", "nightshade", "DutchGold", "3-MMC 5g", ["DE"]),
                                        _listing("x2", "vortex", "DutchGoldNL", "3-MMC crystal 5g", ["FR"])],
                              vendors=[*data.vendors, *VENDORS]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(home))
        patch.delenv("TRAWL_INDEX_URL", raising=False)
        yield url


@pytest.fixture(scope="module")
def api(index_url: str) -> Iterator[LiveServer]:
    with open_index(index_url) as index:
        server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
        yield server
        server.stop()


def trawl(*args: str) -> Result:
    from trawl.cli import cli

    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.mark.parametrize("name", ["DutchGold", "vortex:dutchgoldnl"])
def test_vendors_show_json_is_the_api_document(api: LiveServer, index_url: str, name: str) -> None:
    printed = json.loads(trawl("vendors", "show", name, "--json", "--index-url", index_url).output)
    assert printed == api.json(f"/api/vendors/{name}")
    unlinked = json.loads(trawl("vendors", "show", name, "--json", "--no-links", "--index-url", index_url).output)
    assert unlinked == api.json(f"/api/vendors/{name}?links=false") and unlinked["links"] == []


def test_vendors_show_has_every_stored_field_and_market_stats(index_url: str) -> None:
    report = json.loads(trawl("vendors", "show", "DutchGold", "--json", "--index-url", index_url).output)
    assert report["vendors"] == [to_dict(VENDORS[0])]  # every field, pgp_key, identifiers and evidence included
    market = report["markets"][0]
    assert (market["listings"], market["sales"], market["rating"], market["feedback_count"]) == (1, 120, 4.8, 77)
    assert market["substances"] == [{"value": "3-methylmethcathinone", "count": 1}]
    assert {i["vendor_id"] for i in report["identities"]} == {"nightshade:dutchgold", "vortex:dutchgoldnl"}
    text = trawl("vendors", "show", "DutchGold", "--index-url", index_url).output
    assert "joined 2025-02-01" in text and "listings 1" in text and "sales 120" in text


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_vendors_with_the_sidecar(index_url: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"vendors.{fmt}"
    trawl("export", "vendors", "--format", fmt, "--out", str(out), "--site", "nightshade", "--index-url", index_url)
    meta = json.loads((tmp_path / f"vendors.{fmt}.meta.json").read_text())
    with open_index(index_url) as backend:
        expected = [v for v in backend.vendors() if v.site == "nightshade"]
    assert meta["kind"] == "vendors" and meta["format"] == fmt and meta["row_count"] == len(expected) >= 2
    assert meta["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["filters"] == {"site": "nightshade"} and meta["query"] == {"site": "nightshade", "name": None}
    assert meta["software"]["schema"] and "reference_lists" in meta and meta["command"].startswith("trawl export")
    assert meta["time_range"]["from"] <= meta["time_range"]["to"]
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert to_dict(VENDORS[0]) in rows
    else:
        if fmt == "csv":
            rows = list(csv.DictReader(out.open(encoding="utf-8")))
        else:
            import pyarrow.parquet as pq

            rows = pq.read_table(out).to_pylist()
        mine = next(r for r in rows if r["vendor_id"] == "nightshade:dutchgold")
        assert str(mine["sales"]) == "120" and mine["joined"] == "2025-02-01" and mine["pgp_key"].startswith("-----")
        assert json.loads(mine["identifiers"]) == {"btc": ["bc1qexample"]} and mine["aliases"] == "DutchGoldNL"
        assert set(meta["columns"]) == set(mine)


def test_export_vendors_refuses_an_existing_file_without_force(index_url: str, tmp_path: Path) -> None:
    from core.errors import TrawlError
    from trawl.cli import cli

    out = tmp_path / "v.csv"
    out.write_text("keep me")
    result = CliRunner().invoke(cli, ["export", "vendors", "--out", str(out), "--index-url", index_url])
    assert isinstance(result.exception, TrawlError) and out.read_text() == "keep me"


def test_old_export_kinds_still_work(index_url: str, tmp_path: Path, api: LiveServer) -> None:
    out = tmp_path / "l.jsonl"
    trawl("export", "listings", "--format", "jsonl", "--out", str(out), "--index-url", index_url)
    assert json.loads((tmp_path / "l.jsonl.meta.json").read_text())["row_count"] == 62 == len(out.read_text().splitlines())


