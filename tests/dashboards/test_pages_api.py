"""The routes the pages added (without a browser): page shells and static files, the archived
page of a listing (path confinement, digest check, its own CSP) and sales estimates, over a
real uvicorn and a real SQLite index."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.records import Evidence, Listing, Records, Snapshot
from dashboards.api import ApiSettings, create_app
from dashboards.api.security import ARCHIVE_CSP, PAGES_CSP
from dashboards.pages import PAGES
from index import open_index
from tests.dashboards.test_api import ADMIN, READ, LiveServer
from tests.dashboards.test_pages_browser import RUN_ID, write_warc

PAYLOAD = b"<html><body><h1>archived</h1><script>alert(1)</script></body></html>"


def _listing(native: str, evidence: Evidence) -> Listing:
    return Listing(listing_id=f"nightshade:{native}", site="nightshade", market_kind="darknet-market",
                   url=f"http://n.onion/{native}", title=f"listing {native}", vendor="DutchGold",
                   vendor_id="nightshade:dutchgold", evidence=evidence, first_seen="2026-08-01T00:00:00Z",
                   last_seen="2026-08-01T00:00:00Z")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("pages-api-home")
    warc = f"runs/{RUN_ID}/warc/00000.warc.gz"
    offset = write_warc(home / warc, PAYLOAD)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    outside = home / "secret.warc.gz"
    outside.write_bytes((home / warc).read_bytes())  # a real WARC, but not under the run's directory
    (home / "runs" / RUN_ID / "warc" / "link.warc.gz").symlink_to(outside)
    other_run = "vortex-20260804T120000Z-beef"
    evidences = {
        "good": Evidence(run_id=RUN_ID, warc_file=warc, warc_offset=offset, payload_sha256=digest),
        "tampered": Evidence(run_id=RUN_ID, warc_file=warc, warc_offset=offset, payload_sha256="00" * 32),
        "dotdot": Evidence(run_id=RUN_ID, warc_file=f"runs/{RUN_ID}/../../secret.warc.gz", warc_offset=offset),
        "absolute": Evidence(run_id=RUN_ID, warc_file=str(outside), warc_offset=offset),
        "symlink": Evidence(run_id=RUN_ID, warc_file=f"runs/{RUN_ID}/warc/link.warc.gz", warc_offset=offset),
        "otherrun": Evidence(run_id=other_run, warc_file=warc, warc_offset=offset),
        "badrun": Evidence(run_id="../..", warc_file=warc, warc_offset=offset),
        "offset": Evidence(run_id=RUN_ID, warc_file=warc, warc_offset=offset + 7),
        "none": Evidence(),
    }
    snaps = [Snapshot(listing_id="nightshade:good", crawled_at=f"2026-08-0{day}T00:00:00Z", site="nightshade",
                      price_usd=50.0, feedback_count=count, vendor_id="nightshade:dutchgold")
             for day, count in ((1, 10), (2, 14), (3, 12), (4, 15))]
    index = open_index(f"sqlite:///{home / 'index.sqlite'}")
    index.write(Records(listings=[_listing(name, ev) for name, ev in evidences.items()], snapshots=snaps))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(home))
        server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
        yield server
        server.stop()
    index.close()


def test_page_shells_need_no_token_and_carry_the_pages_csp(api: LiveServer) -> None:
    for path, _ in PAGES.values():
        status, headers, body = api.request("GET", f"/ui/{path}", token=None)
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert headers["content-security-policy"] == PAGES_CSP and "'unsafe-inline'" not in PAGES_CSP
        assert b"<script>" not in body and b'<script src="/static/app.js" defer>' in body
        assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = api.request("GET", "/static/app.js", token=None)
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"sessionStorage" in body
    assert b"document.cookie" not in body and b"innerHTML" not in body
    for bad in ("/static/..%2Fpages.py", "/static/pages.py", "/static/%2e%2e/api/security.py", "/static/"):
        assert api.request("GET", bad, token=None)[0] == 404, bad


def test_archived_page_is_served_with_its_own_csp_and_digest(api: LiveServer) -> None:
    status, headers, body = api.request("GET", "/api/evidence/nightshade:good")
    assert status == 200 and body == PAYLOAD
    assert headers["content-security-policy"] == ARCHIVE_CSP and "sandbox" in ARCHIVE_CSP
    assert headers["x-payload-match"] == "yes" and headers["x-payload-sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert headers["x-archived-content-type"] == "text/html" and headers["x-frame-options"] == "DENY"
    status, headers, _ = api.request("GET", "/api/evidence/nightshade:tampered")
    assert status == 200 and headers["x-payload-match"] == "no"
    assert api.request("GET", "/api/evidence/nightshade:good", token=None)[0] == 401


@pytest.mark.parametrize("name", ["dotdot", "absolute", "symlink", "otherrun", "badrun", "offset", "none", "nope"])
def test_evidence_outside_its_run_or_not_a_record_is_404(api: LiveServer, name: str) -> None:
    status, _, body = api.request("GET", f"/api/evidence/nightshade:{name}")
    assert status == 404, (name, body[:200])
    assert b"<h1>" not in body and b"alert" not in body


def test_sales_estimates_are_labelled_and_add_up(api: LiveServer) -> None:
    by_listing = api.json("/api/sales?listing_id=nightshade:good")
    # feedback 10 -> 14 -> 12 -> 15: +4, a decrease (not counted), +3
    assert by_listing["label"] == "estimate" and by_listing["estimated_sales"] == 7 and by_listing["intervals"] == 3
    assert by_listing["estimated_revenue_usd"] == 350.0
    by_vendor = api.json("/api/sales?vendor_id=nightshade:dutchgold")
    assert by_vendor["estimated_sales"] == 7 and by_vendor["by_listing"][0]["listing_id"] == "nightshade:good"
    status, _, body = api.request("GET", "/api/sales")
    assert status == 422 and json.loads(body)["detail"][0]["loc"][-1] == "vendor_id"


def test_verify_a_run_from_the_api(api: LiveServer) -> None:
    report = api.json(f"/api/runs/{RUN_ID}/verify")
    # this run has WARC bytes but no manifest: what `trawl evidence verify` calls tampered
    assert report["status"] == "TAMPERED" and report["problems"] == ["manifest.jsonl missing"]
    assert "run_dir" not in report and not report["ok"]
    assert api.request("GET", "/api/runs/vortex-20990101T000000Z-0000/verify")[0] == 404
    status, _, body = api.request("GET", "/api/runs/..%2F..%2Fetc/verify")
    assert status in (404, 422), body
    assert api.request("GET", "/api/runs/not-a-run/verify")[0] == 422


def test_export_download_is_the_cli_export_with_its_sidecar(api: LiveServer) -> None:
    import io
    import zipfile

    status, headers, body = api.request("GET", "/api/export/listings?format=jsonl&vendor=nightshade:dutchgold&limit=2")
    assert status == 200 and headers["content-type"] == "application/zip"
    assert headers["content-disposition"] == 'attachment; filename="trawl-listings.zip"'
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        rows = archive.read("trawl-listings.jsonl").decode().splitlines()
        sidecar = json.loads(archive.read("trawl-listings.jsonl.meta.json"))
    total = api.json("/api/search?vendor=nightshade:dutchgold&facets=&limit=0")["total"]
    assert len(rows) == total == sidecar["row_count"] == 9  # every match, not the page size asked
    assert sidecar["filters"] == {"vendor": "nightshade:dutchgold"}  # the page size asked is not an export filter
    assert api.request("GET", "/api/export/trends?format=xlsx")[0] == 422
    assert api.request("GET", "/api/export/trends", token=None)[0] == 401


def test_a_gzip_bomb_in_a_warc_is_refused_without_inflating_it(tmp_path: Path) -> None:
    import gzip

    from dashboards.api.routes_evidence import MAX_PAYLOAD, read_member

    bomb = tmp_path / "bomb.warc.gz"
    bomb.write_bytes(b"x" * 10 + gzip.compress(b"\0" * (MAX_PAYLOAD + 4 * 2**20)))
    assert read_member(bomb, 10) is None
    fine = tmp_path / "fine.warc.gz"
    member = gzip.compress(b"WARC/1.1\r\n")
    fine.write_bytes(b"junk" + member + b"trailing")
    assert read_member(fine, 4) == member
    assert read_member(fine, 0) is None  # not a gzip member at that offset
