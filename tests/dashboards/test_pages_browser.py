"""The analysts' pages in real headless Chromium against a real `trawl serve` subprocess
(uvicorn on 127.0.0.1, port 0) over a real SQLite index: synthetic listings, a hostile
listing whose evidence is a real WARC record, and a vendor known on two markets.

What is proved: a search narrows by a facet click to the facet's count; a listing's price
chart has one point per snapshot; its archived page renders inside the sandboxed frame
while no request leaves it (every request of the browser is logged by a route handler, and
a tripwire server on loopback counts hits); the vendor page shows both markets and the link
evidence; hostile titles stay text (no dialog, no injected element).  Screenshots are saved
under a temporary directory printed by each test (`-s` shows it)."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.records import Evidence, Listing, Records, Snapshot, SubstanceRef, Vendor
from enrich.vocabulary import default_vocabulary
from index import open_index
from testbed.synthetic_index import generate

pytestmark = pytest.mark.browser

ADMIN = "admin-token-for-page-tests-0123456789"
READ = "read-token-for-page-tests-9876543210"
REPO = Path(__file__).resolve().parents[2]
XSS_TITLE = '"><img src=x onerror=alert(1)><script>alert(2)</script> 3-MMC crystal'
FINGERPRINT = "AAAA1111BBBB2222CCCC3333DDDD4444EEEE5555"
RUN_ID = "nightshade-20260804T120000Z-abcd"
PRICES = [14.0, 12.5, 13.0, 11.0, 12.0]  # USD/g of the hostile listing's five snapshots


def need_chromium() -> str:
    from crawler.net.browser import chromium_executable

    executable = chromium_executable()
    if not executable or not os.path.exists(executable):
        pytest.skip("no Chromium: set TRAWL_CHROMIUM or install /usr/bin/chromium")
    return executable


class Tripwire:
    """An HTTP server on loopback that counts every request: the archived page points everything here."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_page(trap: str) -> bytes:
    """An archived page that tries every way a page can make a request or run a script."""
    return f"""<!doctype html><html><head><meta http-equiv="refresh" content="0;url={trap}/refresh">
<link rel="stylesheet" href="{trap}/css"><link rel="prefetch" href="{trap}/prefetch"><link rel="icon" href="{trap}/icon">
<style>body{{background:url({trap}/bg)}} @font-face{{font-family:x;src:url({trap}/font)}} h1{{font-family:x}}</style>
<script src="{trap}/script"></script><script>fetch("{trap}/fetch"); alert("archived script ran")</script>
<base href="{trap}/base/"></head><body><h1 id="archived-heading">Archived: 3-MMC crystal 5g</h1>
<img src="{trap}/img"><img src="relative.png"><img src="/api/search"><iframe src="{trap}/frame"></iframe>
<object data="{trap}/object"></object><video poster="{trap}/poster"></video><audio src="{trap}/audio"></audio>
<form action="{trap}/form"><input autofocus name="a"></form><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<svg><image href="{trap}/svgimage"/></svg><a id="away" href="{trap}/link">away</a></body></html>""".encode()


def write_warc(path: Path, payload: bytes) -> int:
    """One warcinfo and one response record (gzip members, as the crawler writes them); the response's offset."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "trawl-test"}))
        offset = handle.tell()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("http://nightshade.onion/l/x1", "response",
                                                      payload=io.BytesIO(payload), http_headers=headers,
                                                      warc_headers_dict={"WARC-Trawl-Run": RUN_ID}))
    return offset


def hostile_listing(evidence: Evidence) -> tuple[Listing, list[Snapshot]]:
    listing = Listing(
        listing_id="nightshade:x1", site="nightshade", market_kind="darknet-market",
        url="http://nightshade.onion/l/x1", title=XSS_TITLE, vendor="DutchGold", vendor_id="nightshade:dutchgold",
        substances=[SubstanceRef(name="3-methylmethcathinone", substance_class="synthetic cathinone",
                                 controls=["nps-ews"], match_type="abbreviation", score=100.0, matched_text="3-MMC")],
        quantity_amount=5.0, quantity_unit="g", price_amount=60.0, price_currency="USD", price_usd=60.0,
        usd_per_unit=12.0, origin="NL", destinations=["DE", "FR"], first_seen="2026-08-03T12:00:00Z",
        last_seen="2026-10-03T12:00:00Z", crawled_at="2026-10-03T12:00:00Z", evidence=evidence)
    snapshots = [Snapshot(listing_id=listing.listing_id, crawled_at=f"2026-{8 + i // 2:02d}-{3 + 14 * (i % 2):02d}T12:00:00Z",
                          site="nightshade", price_usd=price * 5, usd_per_unit=price, quantity_unit="g", stock=20 - i,
                          feedback_count=10 + 3 * i, substance="3-methylmethcathinone",
                          vendor_id="nightshade:dutchgold", origin="NL") for i, price in enumerate(PRICES)]
    return listing, snapshots


@pytest.fixture(scope="module")
def tripwire() -> Iterator[Tripwire]:
    trap = Tripwire()
    yield trap
    trap.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tripwire: Tripwire) -> Iterator[str]:
    """`trawl serve --port 0` over $TRAWL_HOME with the index and one run's WARC; yields the base URL."""
    home = tmp_path_factory.mktemp("pages-home")
    payload = hostile_page(f"http://127.0.0.1:{tripwire.port}")
    warc_file = f"runs/{RUN_ID}/warc/00000.warc.gz"
    offset = write_warc(home / warc_file, payload)
    evidence = Evidence(run_id=RUN_ID, warc_file=warc_file, warc_offset=offset,
                        payload_sha256=hashlib.sha256(payload).hexdigest())
    listing, snapshots = hostile_listing(evidence)
    other = Listing(listing_id="vortex:x2", site="vortex", market_kind="darknet-market", url="http://vortex.onion/x2",
                    title="3-MMC crystal 5g", vendor="DutchGoldNL", vendor_id="vortex:dutchgoldnl",
                    substances=listing.substances, quantity_amount=5.0, quantity_unit="g", price_usd=55.0,
                    usd_per_unit=11.0, origin="NL", first_seen="2026-08-03T12:00:00Z", last_seen="2026-09-03T12:00:00Z")
    vendors = [Vendor(vendor_id="nightshade:dutchgold", site="nightshade", name="DutchGold", sales=120, rating=4.8,
                      pgp_fingerprints=[FINGERPRINT], first_seen="2026-08-03T12:00:00Z", last_seen="2026-10-03T12:00:00Z"),
               Vendor(vendor_id="vortex:dutchgoldnl", site="vortex", name="DutchGoldNL", pgp_fingerprints=[FINGERPRINT],
                      first_seen="2026-08-03T12:00:00Z", last_seen="2026-09-03T12:00:00Z")]
    data = generate(n_listings=80, days=90, step=6, seed=5)
    with open_index(f"sqlite:///{home / 'index.sqlite'}", vocabulary=default_vocabulary()) as index:
        index.write(Records(listings=[*data.listings, listing, other], snapshots=[*data.snapshots, *snapshots],
                            vendors=[*data.vendors, *vendors], candidates=data.candidates))
    env = {**os.environ, "TRAWL_HOME": str(home), "TRAWL_DASHBOARD_TOKEN": ADMIN, "TRAWL_DASHBOARD_READ_TOKEN": READ,
           "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("TRAWL_INDEX_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "trawl.cli", "serve", "--port", "0"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert "dashboard on http://127.0.0.1:" in first, first + (process.stdout.read() if process.poll() else "")
    threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()  # drain
    yield first.split(" on ", 1)[1].split()[0].removesuffix("ui/")
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module")
def browser(served: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = need_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page-screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


class Tab:
    """One browser tab with every request it makes logged (a route handler sees each one) and dialogs recorded."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._log)
        self.page = self.context.new_page()
        self.page.on("dialog", self._dialog)
        self.console_errors: list[str] = []  # a CSP violation by the pages themselves shows up here
        self.page.on("console", lambda message: self.console_errors.append(message.text)
                     if message.type == "error" else None)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _log(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url.startswith(self.base):
            route.continue_()
        else:  # nothing but this server is reachable; refused here so a stray request cannot hang
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(self.base + path.lstrip("/"))
        self.settle()

    def settle(self, url_glob: str | None = None) -> None:
        """Wait until the page has drawn (body[data-ready]); the CSP forbids eval, so no wait_for_function."""
        if url_glob is not None:
            self.page.wait_for_url(url_glob)
        self.page.wait_for_selector("body[data-ready]")
        assert self.page.get_attribute("body", "data-ready") == "yes", self.page.inner_text("#content")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any, served: str) -> Iterator[Tab]:
    opened = Tab(browser, served)
    yield opened
    opened.close()


def test_login_then_search_and_narrow_by_a_facet(tab: Tab, shots: Path) -> None:
    page = tab.page
    page.goto(tab.base + "ui/")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#token", "not-the-token-at-all-000")
    page.click("#login button")
    page.wait_for_selector("#login-error:has-text('not accepted')")
    page.fill("#token", READ)
    page.click("#login button")
    page.wait_for_selector("#search-form")
    assert page.inner_text("#who") == "analyst"
    assert tab.context.cookies() == []  # the token is never a cookie

    page.fill("#q", "3-MMC")
    page.click("#search-form button[type=submit]")
    tab.settle("**/ui/?q=3-MMC*")
    total = int(page.inner_text("#total").split()[0])
    site_facet = page.locator("[data-facet=site] li")
    assert total > 1 and site_facet.count() >= 2
    counts = {site_facet.nth(i).locator("a").inner_text(): int(site_facet.nth(i).locator(".count").inner_text())
              for i in range(site_facet.count())}
    assert sum(counts.values()) == total
    page.screenshot(path=str(shots / "search.png"), full_page=True)

    page.click("[data-facet=site] a[data-value=nightshade]")
    tab.settle("**site=nightshade*")
    assert int(page.inner_text("#total").split()[0]) == counts["nightshade"]
    rows = page.locator(".results tbody tr")
    assert rows.count() == min(counts["nightshade"], 25)
    assert {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())} == {"nightshade"}
    assert page.locator(".chip").inner_text().startswith("site: nightshade")
    page.screenshot(path=str(shots / "search-narrowed.png"), full_page=True)
    assert [e for e in tab.console_errors if "Content Security Policy" in e] == []

    tab.open("ui/?sort=-usd_per_unit")  # everything, dearest first: paging keeps the sort
    first_page = page.locator(".results tbody tr td:nth-child(6)").all_inner_texts()
    assert int(page.inner_text("#total").split()[0]) == 82 and len(first_page) == 25
    page.click("#next-page")
    tab.settle("**offset=25*")
    second_page = page.locator(".results tbody tr td:nth-child(6)").all_inner_texts()
    prices = [float(text.split("/")[0].lstrip("$").replace(",", "")) for text in first_page + second_page if text]
    assert len(second_page) == 25 and prices == sorted(prices, reverse=True)


def test_hostile_titles_are_text(tab: Tab, shots: Path) -> None:
    tab.open(f"ui/?q=onerror#token={READ}")
    page = tab.page
    assert "token=" not in page.url  # the fragment was moved into sessionStorage and dropped from the address bar
    link = page.locator(".results a.listing-link").first
    assert link.inner_text() == XSS_TITLE
    tab.open("ui/listing?id=nightshade:x1")
    assert page.inner_text("#title") == XSS_TITLE
    assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    assert tab.dialogs == []
    page.screenshot(path=str(shots / "xss-listing.png"), full_page=True)


def test_listing_chart_and_inert_archived_page(tab: Tab, tripwire: Tripwire, shots: Path) -> None:
    tab.open(f"ui/listing?id=nightshade:x1#token={READ}")
    page = tab.page
    chart = page.locator("#price-chart")
    assert chart.get_attribute("data-points") == str(len(PRICES))
    assert chart.locator("circle.point").count() == len(PRICES)
    assert chart.locator("polyline.line").count() == 1
    tooltips = [chart.locator("circle title").nth(i).text_content() or "" for i in range(len(PRICES))]
    assert [float(t.split(": ")[1].split()[0]) for t in tooltips] == PRICES
    assert "3-MMC" in page.inner_text("main table") and "nps-ews" in page.inner_text("main table")
    assert "ESTIMATE" in page.inner_text("#sales") and ": 12 over 4 interval" in page.inner_text("#sales")

    before = len(tab.requests)
    page.click("#show-archive")
    frame = page.frame_locator("#archive-frame")
    assert frame.locator("#archived-heading").inner_text() == "Archived: 3-MMC crystal 5g"
    box = frame.locator("#archived-heading").bounding_box()  # painted, not only parsed
    assert box is not None and box["height"] > 10 and box["width"] > 100
    assert page.inner_text("#archive-digest").startswith("payload sha256 matches")
    assert page.get_attribute("#archive-frame", "sandbox") == ""
    page.wait_for_timeout(1500)  # give the refresh, the lazy image and the autofocus their chance
    made = tab.requests[before:]
    assert [url.removeprefix(tab.base) for url in made] == ["api/evidence/nightshade%3Ax1"], made
    assert tripwire.hits == [] and tab.dialogs == []
    # the archived page's attempts were refused by the CSP (which is what the console listener catches)
    assert any("Content Security Policy" in e for e in tab.console_errors), tab.console_errors
    archive = page.query_selector("#archive-frame")
    assert archive is not None and archive.content_frame() is not None
    assert archive.content_frame().url == "about:srcdoc"  # the meta refresh did not navigate it away
    # its nested <iframe src=...> was refused by the CSP (an error page, no request: see above)
    assert all(f.url in ("about:srcdoc", "chrome-error://chromewebdata/") for f in archive.content_frame().child_frames)
    page.screenshot(path=str(shots / "listing-archived.png"), full_page=True)
    page.locator("#archive-frame").screenshot(path=str(shots / "archived-frame.png"))
    page.click("#verify-run")  # this hand-written WARC has no manifest: verify must say so, not OK
    page.wait_for_selector("#verify-status.error")
    assert page.inner_text("#verify-status").startswith("evidence verify: TAMPERED")


def test_vendor_across_markets(tab: Tab, shots: Path) -> None:
    tab.open(f"ui/listing?id=nightshade:x1#token={READ}")
    page = tab.page
    page.click("a.vendor-link")
    tab.settle("**/ui/vendor?*")
    assert page.inner_text("#vendor-name") == "DutchGold"
    markets = page.inner_text("#markets")
    assert "nightshade:dutchgold" in markets and "120" in markets
    assert "vortex:dutchgoldnl (strongly linked)" in markets  # the same PGP key on the other market
    assert page.locator("#markets tbody tr").count() == 2
    body = page.inner_text("main")
    assert "vortex:dutchgoldnl" in body and "pgp" in body.lower()
    assert "estimate" in page.inner_text("#sales").lower()
    assert XSS_TITLE in page.inner_text("#listings") and tab.dialogs == []
    page.screenshot(path=str(shots / "vendor.png"), full_page=True)
    assert [e for e in tab.console_errors if "Content Security Policy" in e] == []


def test_trends_candidates_and_operations_pages_draw(tab: Tab, shots: Path) -> None:
    tab.open(f"ui/trends?substance=3-methylmethcathinone#token={READ}")
    page = tab.page
    assert page.locator("figure.trend").count() >= 1
    first = page.locator("figure.trend svg").first
    assert int(first.get_attribute("data-points") or 0) >= 2 and first.locator("polygon.band").count() == 1
    assert int(page.get_attribute("#count-chart", "data-points") or 0) >= 2
    page.screenshot(path=str(shots / "trends.png"), full_page=True)
    with page.expect_download() as started:
        page.click("button.download[data-format=csv]")
    saved = shots / "trends.zip"
    started.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["trawl-trends.csv", "trawl-trends.csv.meta.json"]
        data = archive.read("trawl-trends.csv")
        sidecar = json.loads(archive.read("trawl-trends.csv.meta.json"))
    assert sidecar["kind"] == "trends" and sidecar["sha256"] == hashlib.sha256(data).hexdigest()
    assert sidecar["filters"]["substance"] == "3-methylmethcathinone"
    assert sidecar["row_count"] == len(data.decode().splitlines()) - 1 >= 2
    tab.open("ui/candidates")
    assert page.locator("main tbody tr").count() >= 1
    tab.open("ui/operations")
    assert "nightshade" in page.inner_text("#sites")
    page.screenshot(path=str(shots / "operations.png"), full_page=True)
    assert tab.dialogs == [] and all(url.startswith(tab.base) for url in tab.requests)
    assert [e for e in tab.console_errors if "Content Security Policy" in e] == []


def test_admin_runs_a_crawl_now_from_the_operations_page(browser: Any, tmp_path: Path, shots: Path) -> None:
    """An in-process server whose crawl interpreter records its argv: the button starts exactly
    `trawl crawl -- SITE`; the analyst sees no button at all."""
    from dashboards.api import ApiSettings, create_app
    from tests.dashboards.test_api import LiveServer, argv_recorder

    recorder, record = argv_recorder(tmp_path)  # written whole: the poll below never reads half a file
    with open_index(f"sqlite:///{tmp_path / 'index.sqlite'}") as index, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(tmp_path / "home"))
        server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ, python=str(recorder)),
                                       index=index))
        tab = Tab(browser, f"http://127.0.0.1:{server.port}/")
        try:
            tab.open(f"ui/operations#token={READ}")
            assert tab.page.locator("button.run-now").count() == 0  # analysts change nothing
            tab.close()  # a fresh tab (its own sessionStorage) for the admin
            tab = Tab(browser, f"http://127.0.0.1:{server.port}/")
            tab.open(f"ui/operations#token={ADMIN}")
            assert tab.page.inner_text("#who") == "admin"
            tab.page.click("button.run-now[data-site=vortex]")
            tab.page.wait_for_selector("span.run-status[data-site=vortex]:has-text('started')")
            tab.page.screenshot(path=str(shots / "operations-admin.png"), full_page=True)
            deadline = time.monotonic() + 30
            while not record.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert json.loads(record.read_text()) == ["-m", "trawl.cli", "crawl", "--", "vortex"]
            assert tab.context.cookies() == []
        finally:
            tab.close()
            server.stop()


def test_admin_pauses_and_resumes_a_site_analyst_cannot(browser: Any, tmp_path: Path, shots: Path) -> None:
    """The operations page's pause (with a reason) and resume buttons write and clear the gate pause
    file and the audit log; the analyst sees neither button and the API answers the analyst 403."""
    from core.audit import read_audit
    from crawler.engine.session import paused_reason
    from dashboards.api import ApiSettings, create_app
    from tests.dashboards.http_client import raw_request
    from tests.dashboards.test_api import LiveServer

    home = tmp_path / "home"
    with open_index(f"sqlite:///{tmp_path / 'index.sqlite'}") as index, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(home))
        server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
        base = f"http://127.0.0.1:{server.port}/"
        tab = Tab(browser, base)
        try:
            tab.open(f"ui/operations#token={READ}")
            assert tab.page.locator("button.pause, button.resume, input.pause-reason").count() == 0
            status, _, _ = raw_request(server.port, "POST", "/api/sites/vortex/pause", token=READ,
                                       body=b'{"reason": "analyst try"}', headers={"Content-Type": "application/json"})
            assert status == 403 and paused_reason("vortex") is None
            tab.close()
            tab = Tab(browser, base)  # a fresh tab (its own sessionStorage) for the admin
            tab.open(f"ui/operations#token={ADMIN}")
            page = tab.page
            page.click("button.pause[data-site=vortex]")  # no reason yet: refused on the page
            page.wait_for_selector("span.pause-status[data-site=vortex]:has-text('give a reason')")
            assert paused_reason("vortex") is None
            page.fill("input.pause-reason[data-site=vortex]", "market <b>under</b> DDoS")
            page.click("button.pause[data-site=vortex]")
            page.wait_for_selector("#paused-sites li[data-site=vortex]")
            assert page.inner_text("#paused-sites li[data-site=vortex]") == "vortex: admin: market <b>under</b> DDoS"
            assert page.locator("button.resume[data-site=vortex]").count() == 1
            assert paused_reason("vortex") == "admin: market <b>under</b> DDoS"
            page.screenshot(path=str(shots / "operations-paused.png"), full_page=True)
            page.click("button.resume[data-site=vortex]")
            page.wait_for_selector("p#paused-sites:has-text('No site is paused')")
            assert paused_reason("vortex") is None and page.locator("button.pause[data-site=vortex]").count() == 1
            trail = read_audit(home / "audit.jsonl")
            assert [(r["action"], r["who"], r["target"]) for r in trail] == [("site.pause", "admin", "vortex"),
                                                                             ("site.resume", "admin", "vortex")]
            assert trail[0]["reason"] == "market <b>under</b> DDoS" and tab.dialogs == []
            assert [e for e in tab.console_errors if "Content Security Policy" in e] == []
        finally:
            tab.close()
            server.stop()
