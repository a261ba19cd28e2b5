"""`trawl ingest` of a WARC written with warcio the way wget --warc-file writes one
(request + response records, gzip per record), of a WACZ packing it, and of a wget-style
mirror directory, all holding pages fetched once from the testbed's pillhub pharmacy (its
grid view and product pages); values checked against the testbed's own catalogue.  Then
re-ingest (a no-op), --force (no duplicate snapshots), broken inputs (one line each, the
others still ingested) and `trawl sites test` reading a WARC as a WARC."""
from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import sqlite3
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.crawler.conftest import REPO

SITE = "pillhub-grid"
WARC_DATE = "2026-11-02T10:00:00Z"
MIRROR_DAY = "2026-11-03"


@dataclass
class Fetched:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Saved:
    pages: list[Fetched]
    products: dict[str, str]  # product URL -> native id (data-sku of its card)
    truth: Any  # testbed catalogue of the day served
    host: str  # 127.0.0.1:PORT
    warc: Path
    folder: Path


def fetch(url: str) -> Fetched:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return Fetched(url, response.status, list(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Fetched(url, error.code, list(error.headers.items()), error.read())


def write_warc(path: Path, pages: list[Fetched], gzip_page: str) -> None:
    """As wget --warc-file does: warcinfo, then request + response per URL, each record gzipped."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "Wget/1.21 (linux-gnu)"}))
        for page in pages:
            target = re.sub(r"^https?://[^/]+", "", page.url)
            host = page.url.split("/")[2]
            request = StatusAndHeaders(f"GET {target} HTTP/1.1", [("Host", host), ("User-Agent", "Wget/1.21")],
                                       protocol="HTTP/1.1", is_http_request=True)
            writer.write_record(writer.create_warc_record(page.url, "request", payload=io.BytesIO(b""), length=0,
                                                          http_headers=request,
                                                          warc_headers_dict={"WARC-Date": WARC_DATE}))
            body, headers = page.body, [(k, v) for k, v in page.headers if k.lower() != "content-length"]
            if page.url == gzip_page:  # sent compressed: the reader must undo it
                body = gzip.compress(body)
                headers.append(("Content-Encoding", "gzip"))
            headers.append(("Content-Length", str(len(body))))
            reason = "OK" if page.status == 200 else "Not Found"
            http = StatusAndHeaders(f"{page.status} {reason}", headers, protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(page.url, "response", payload=io.BytesIO(body),
                                                          length=len(body), http_headers=http,
                                                          warc_headers_dict={"WARC-Date": WARC_DATE}))
        logo = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        png = b"\x89PNG\r\n\x1a\n" + bytes(64)
        writer.write_record(writer.create_warc_record(f"http://{pages[0].url.split('/')[2]}/logo.png", "response",
                                                      payload=io.BytesIO(png), length=len(png), http_headers=logo,
                                                      warc_headers_dict={"WARC-Date": WARC_DATE}))


def write_mirror(root: Path, pages: list[Fetched]) -> Path:
    """A wget -r -E layout under a dated folder (as the public archives keep them), with the
    stylesheet and robots.txt a mirror also holds."""
    site_dir = root / MIRROR_DAY / pages[0].url.split("/")[2]
    for page in pages:
        if page.status != 200:
            continue  # wget keeps no error pages
        path = re.sub(r"^https?://[^/]+", "", page.url)
        target = site_dir / "index.html" if path == "/" else site_dir / (path.lstrip("/") + ".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(page.body)
    (site_dir / "static").mkdir(exist_ok=True)
    (site_dir / "static" / "style.css").write_text("body { color: #333 }\n")
    (site_dir / "robots.txt").write_text("User-agent: *\nDisallow: /cart\n")
    return root


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Saved]:
    from testbed.catalogue import catalogue
    from testbed.server import run_testbed

    folder = tmp_path_factory.mktemp("saved")
    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as testbed:
        base = testbed.sites["pillhub"].base_url.rstrip("/")
        pages = [fetch(f"{base}/"), fetch(f"{base}/grid/painkillers"), fetch(f"{base}/grid/painkillers?page=2")]
        products: dict[str, str] = {}
        for grid in pages[1:]:
            for sku, href in re.findall(r'data-sku="([^"]+)".*?class="card-title" href="([^"]+)"',
                                        grid.body.decode(), flags=re.S):
                products[base + href] = sku
        product_urls = sorted(products)[:4]  # some cards get their product page, the others stay cards
        pages += [fetch(url) for url in product_urls] + [fetch(f"{base}/product/no-such-product")]
    assert len(products) >= 6 and pages[-1].status == 404
    warc = folder / "pillhub.warc.gz"
    write_warc(warc, pages, gzip_page=product_urls[0])
    yield Saved(pages, products, catalogue(1, 0), base.split("/")[2], warc, write_mirror(folder / "mirror", pages))


def invoke(home: Path, args: list[str]) -> Result:
    from trawl.cli import cli

    env = {"TRAWL_HOME": str(home), "TRAWL_PROFILE": "test"}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def report_of(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout.strip().splitlines()[-1])


def index_rows(home: Path) -> dict[str, dict[str, Any]]:
    """native id -> the stored listing (its JSON document) and its snapshot count."""
    from index import open_index
    from index.api import SearchQuery

    with open_index(f"sqlite:///{home / 'index.sqlite'}") as index:
        listings = {item.listing_id.split(":", 1)[1]: item for item in index.iter_listings(SearchQuery(site=SITE))}
    with sqlite3.connect(home / "index.sqlite") as db:
        counts = dict(db.execute("SELECT listing_id, count(*) FROM snapshots GROUP BY listing_id").fetchall())
    return {native: {"listing": item, "snapshots": counts.get(item.listing_id, 0)} for native, item in listings.items()}


def check_values(saved: Saved, rows: dict[str, dict[str, Any]], crawled_at: str) -> None:
    """Every card is a listing with the catalogue's title; the product pages saved beside the
    cards win for price (EUR, the page's) and keep the card's sold count/views."""
    assert set(rows) == set(saved.products.values())
    with_page = {saved.products[p.url] for p in saved.pages if "/product/" in p.url and p.status == 200}
    for native, row in rows.items():
        listing, truth = row["listing"], saved.truth.listing("pillhub", native)
        assert listing.title == truth["title"] and listing.crawled_at == crawled_at
        sources = listing.field_sources
        if native in with_page:
            assert sources["price"] == "page" and sources["views"] == "card"
            assert listing.price_currency == "EUR" and listing.price_amount == pytest.approx(truth["price_amount"])
        else:
            assert set(sources.values()) == {"card"} and listing.price_currency == "USD"


@pytest.fixture(scope="module")
def warc_home(saved: Saved, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("warc") / "home"
    first = invoke(home, ["ingest", SITE, str(saved.warc), "--json"])
    assert first.exit_code == 0, first.output
    return {"home": home, "report": report_of(first), "rows": index_rows(home)}


def test_warc_ingested(saved: Saved, warc_home: dict[str, Any]) -> None:
    report = warc_home["report"]
    html_responses = len(saved.pages)  # every page fetched, the 404 too; the png is not a page
    assert report["files"] == 1 and report["pages"] == html_responses
    assert report["skipped_by_reason"] == {"not_a_page": 1, "http_error": 1, "navigation": 1}
    assert report["listings"] == len(saved.products) == report["new"] and report["errors"] == 0
    assert report["captured_from"] == {"warc": html_responses}
    check_values(saved, warc_home["rows"], WARC_DATE)


def test_warc_evidence_cites_source_record(saved: Saved, warc_home: dict[str, Any]) -> None:
    from crawler.evidence.reader import read_evidence, read_record

    home = warc_home["home"]
    gzipped = next(p for p in saved.pages if "/product/" in p.url)  # sent with Content-Encoding: gzip
    listing = warc_home["rows"][saved.products[gzipped.url]]["listing"]
    copy = read_evidence(listing.evidence, home)
    assert copy.url == gzipped.url and copy.body == gzipped.body
    manifest = [json.loads(line) for line in
                (home / "runs" / listing.evidence.run_id / "manifest.jsonl").read_text().splitlines()]
    entry = next(e for e in manifest if e["offset"] == listing.evidence.warc_offset)
    assert entry["source_path"] == str(saved.warc.resolve()) and entry["captured_at"] == WARC_DATE
    original = read_record(saved.warc, entry["source_offset"])  # the original record, where the manifest says
    assert original.url == gzipped.url and original.body == gzipped.body


def test_reingest_is_a_noop_and_force_adds_no_snapshot(saved: Saved, warc_home: dict[str, Any]) -> None:
    home, run_id = warc_home["home"], warc_home["report"]["run_id"]
    again = invoke(home, ["ingest", SITE, str(saved.warc)])
    assert again.exit_code == 0, again.output
    assert f"{saved.warc}: already ingested (run {run_id})" in again.stdout
    assert index_rows(home) == warc_home["rows"]
    assert sorted(p.name for p in (home / "runs").iterdir()) == [run_id]
    forced = invoke(home, ["ingest", SITE, str(saved.warc), "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    report = report_of(forced)
    assert report["run_id"] != run_id and report["unchanged"] == len(saved.products) and report["new"] == 0
    assert {n: r["snapshots"] for n, r in index_rows(home).items()} == {n: 1 for n in saved.products.values()}
    runs = json.loads(invoke(home, ["runs", "--json"]).stdout)
    assert [(r["kind"], r["status"]) for r in runs] == [("ingest", "finished")] * 2


def test_wacz_read_from_the_zip(saved: Saved, tmp_path: Path) -> None:
    wacz = tmp_path / "capture.wacz"
    with zipfile.ZipFile(wacz, "w") as package:
        package.write(saved.warc, "archive/data.warc.gz", compress_type=zipfile.ZIP_STORED)
        package.writestr("datapackage.json", json.dumps({"profile": "data-package", "wacz_version": "1.1.1"}))
        package.writestr("pages/pages.jsonl", "")
    home = tmp_path / "home"
    result = invoke(home, ["ingest", SITE, str(wacz), "--json"])
    assert result.exit_code == 0, result.output
    assert report_of(result)["listings"] == len(saved.products)
    check_values(saved, index_rows(home), WARC_DATE)
    manifest = (home / "runs" / report_of(result)["run_id"] / "manifest.jsonl").read_text()
    assert '"source_member": "archive/data.warc.gz"' in manifest


def test_mirror_directory(saved: Saved, tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = invoke(home, ["ingest", SITE, str(saved.folder), "--date-from-path", r"/(\d{4}-\d{2}-\d{2})/", "--json"])
    assert result.exit_code == 0, result.output
    report = report_of(result)
    saved_pages = sum(1 for p in saved.pages if p.status == 200)
    assert report["files"] == report["pages"] == saved_pages
    assert report["skipped_by_reason"] == {"not_a_page": 2, "navigation": 1}  # style.css, robots.txt; the home page
    assert report["captured_from"] == {"path": saved_pages}
    rows = index_rows(home)
    check_values(saved, rows, f"{MIRROR_DAY}T00:00:00Z")
    urls = {row["listing"].url for row in rows.values()}
    assert urls == set(saved.products)  # product/x.html read back as /product/x, on the mirror's host
    again = invoke(home, ["ingest", SITE, str(saved.folder), "--date-from-path", r"/(\d{4}-\d{2}-\d{2})/"])
    assert f"{saved_pages} files: already ingested (run {report['run_id']})" in again.stdout


def test_httrack_project_files_are_not_pages(saved: Saved, tmp_path: Path) -> None:
    project = tmp_path / "httrack"
    shutil.copytree(saved.folder / MIRROR_DAY, project)
    (project / "hts-cache").mkdir()
    (project / "hts-cache" / "doit.log").write_text("-qwC2%Pns2u1%s%uN0%I0p3DaK0H0%kf2A25000%f#f\n")
    (project / "hts-cache" / "new.lst").write_text("<html>a cache listing</html>\n")
    (project / "index.html").write_text("<html><body>HTTrack Website Copier: mirror index</body></html>")
    (project / "backblue.gif").write_bytes(b"GIF89a" + bytes(16))
    result = invoke(tmp_path / "home", ["ingest", SITE, str(project), "--clock", "2026-11-04T08:00:00Z", "--json"])
    assert result.exit_code == 0, result.output
    report = report_of(result)
    assert report["skipped_by_reason"]["httrack_file"] == 4 and report["listings"] == len(saved.products)


def test_broken_files_one_line_each_others_ingested(saved: Saved, tmp_path: Path) -> None:
    not_gzip = tmp_path / "html-inside.warc.gz"
    not_gzip.write_bytes(saved.pages[1].body)
    torn = tmp_path / "torn.warc.gz"
    torn.write_bytes(saved.warc.read_bytes()[: saved.warc.stat().st_size // 2])
    plain_torn = tmp_path / "torn-plain.warc"
    plain = gzip.decompress(saved.warc.read_bytes())
    plain_torn.write_bytes(plain[: len(plain) * 2 // 3])
    plain_text = tmp_path / "notes.txt"
    plain_text.write_text("not a page at all\n")
    home = tmp_path / "home"
    result = invoke(home, ["ingest", SITE, str(not_gzip), str(torn), str(plain_torn), str(plain_text), str(saved.warc),
                           "--json"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and len(result.stderr.splitlines()) == 4  # one line per broken file, no traceback
    by_file = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in errors}
    assert by_file[str(not_gzip)].startswith("not a WARC (neither gzip nor 'WARC/'")
    assert by_file[str(torn)] == "not a readable WARC (cut short: its last gzip record is incomplete)"
    assert by_file[str(plain_torn)].startswith("not a readable WARC (cut short: the record at ")
    assert by_file[str(plain_text)].startswith("not HTML, WARC or WACZ")
    assert report_of(result)["listings"] == len(saved.products)
    nothing = invoke(tmp_path / "home2", ["ingest", SITE, str(not_gzip), str(plain_text)])
    assert nothing.exit_code == 2 and "nothing could be read" in nothing.stderr
    assert not (tmp_path / "home2" / "runs").exists() or not any((tmp_path / "home2" / "runs").iterdir())


def test_sites_test_reads_a_warc_as_a_warc(saved: Saved, tmp_path: Path) -> None:
    yaml = str(REPO / "crawler" / "sites" / "pillhub.yaml")
    product = next(p for p in saved.pages if "/product/" in p.url and p.status == 200)
    picked = invoke(tmp_path, ["sites", "test", yaml, str(saved.warc), "--url", product.url, "--json"])
    assert picked.exit_code == 0, picked.output
    shown = json.loads(picked.stdout)
    truth = saved.truth.listing("pillhub", saved.products[product.url])
    assert shown["kind"] == "listing" and shown["fields"]["title"] == truth["title"] and not shown["missing"]
    first = json.loads(invoke(tmp_path, ["sites", "test", yaml, str(saved.warc), "--json"]).stdout)
    assert first["url"] == saved.pages[0].url and first["kind"] == "nav"
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"<html>not a warc</html>")
    from trawl.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["sites", "test", yaml, str(broken)])
    assert ended.value.code == 2


@pytest.fixture(scope="module")
def wget_capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """A real `wget -r -E --warc-file` of the testbed's first pillhub grid page (loopback)."""
    import subprocess

    wget = shutil.which("wget")
    if wget is None:
        pytest.skip("wget not installed")
    from testbed.server import run_testbed

    folder = tmp_path_factory.mktemp("wget")
    with run_testbed(port=0, day=0, seed=1, rate_limit=False, faults=False) as testbed:
        base = testbed.sites["pillhub"].base_url.rstrip("/")
        done = subprocess.run([wget, "-r", "-l", "1", "-E", "-e", "robots=off", "--no-verbose", "--tries=1",
                               "--accept-regex", r"/(grid|product)/", f"--warc-file={folder / 'wget'}",
                               "-P", str(folder / "mirror"), f"{base}/grid/painkillers"],
                              capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    yield folder / "wget.warc.gz", folder / "mirror", base


def test_real_wget_warc_and_mirror_give_the_same_listings(wget_capture: tuple[Path, Path, str], tmp_path: Path) -> None:
    from testbed.catalogue import catalogue

    warc, mirror, base = wget_capture
    from_warc = invoke(tmp_path / "a", ["ingest", SITE, str(warc), "--json"])
    from_mirror = invoke(tmp_path / "b", ["ingest", SITE, str(mirror), "--clock", "2026-11-05T09:00:00Z", "--json"])
    assert from_warc.exit_code == 0 and from_mirror.exit_code == 0, from_warc.output + from_mirror.output
    # wget: 2 grid pages (8 cards) and the 4 product pages linked from the first; its MANIFEST.txt is no page
    assert report_of(from_warc)["pages"] == report_of(from_mirror)["pages"] == 6
    warc_rows, mirror_rows = index_rows(tmp_path / "a"), index_rows(tmp_path / "b")
    assert set(warc_rows) == set(mirror_rows) and len(warc_rows) == 8
    truth = catalogue(1, 0)
    for native, row in warc_rows.items():
        listing, twin, expected = row["listing"], mirror_rows[native]["listing"], truth.listing("pillhub", native)
        assert expected is not None and listing.title == twin.title == expected["title"]
        assert listing.url == twin.url and listing.url.startswith(f"{base}/product/")  # wget wrote <uri>; -E added .html
        assert listing.field_sources == twin.field_sources and listing.price_amount == twin.price_amount
    assert sum(1 for row in warc_rows.values() if row["listing"].field_sources.get("price") == "page") == 4
