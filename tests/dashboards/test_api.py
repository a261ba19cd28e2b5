"""The API (dashboards/api) over a real SQLite index of synthetic data, served by a real
uvicorn on 127.0.0.1 and spoken to with real HTTP: every endpoint, its numbers checked
against the index (and `trawl trends --json`), the roles, 422s, and the OpenAPI document."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import uvicorn

from core.audit import audit_path
from core.records import Evidence, Listing, Records, SubstanceRef, Vendor, snapshot_of
from dashboards.api import ApiSettings, create_app
from dashboards.api.app import listening_socket, server_config
from enrich.vocabulary import default_vocabulary
from index import open_index
from index.api import IndexBackend, SearchQuery
from testbed.synthetic_index import generate
from tests.dashboards.http_client import raw_request

ADMIN = "admin-token-for-tests-0123456789"
READ = "read-token-for-tests-9876543210"
REPO = Path(__file__).resolve().parents[2]
XSS_TITLE = '"><img src=x onerror=alert(1)><script>alert(2)</script> 3-MMC'
FINGERPRINT = "AAAA1111BBBB2222CCCC3333DDDD4444EEEE5555"


class LiveServer:
    """uvicorn in a thread on a socket bound to port 0."""

    def __init__(self, app: Any) -> None:
        self.app = app
        sock = listening_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(server_config(app))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "uvicorn did not start"

    def request(self, method: str, path: str, *, token: str | None = READ, host: str | None = None,
                body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return raw_request(self.port, method, path, token=token, host=host, body=body, headers=headers,
                           timeout=30)

    def json(self, path: str, expected: int = 200, **kwargs: Any) -> Any:
        status, _, body = self.request("GET", path, **kwargs)
        assert status == expected, (path, status, body[:300])
        return json.loads(body)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def _listing(native: str, site: str, vendor: str, title: str, destinations: list[str]) -> Listing:
    return Listing(
        listing_id=f"{site}:{native}", site=site, market_kind="darknet-market", url=f"http://{site}.onion/l/{native}",
        title=title, vendor=vendor, vendor_id=f"{site}:{vendor.lower()}",
        substances=[SubstanceRef(name="3-methylmethcathinone", substance_class="synthetic cathinone",
                                 controls=["nps-ews"])],
        quantity_amount=5.0, quantity_unit="g", price_amount=60.0, price_currency="USD", price_usd=60.0,
        usd_per_unit=12.0, origin="NL", destinations=destinations, first_seen="2026-08-03T12:00:00Z",
        last_seen="2026-08-04T12:00:00Z", crawled_at="2026-08-04T12:00:00Z",
        evidence=Evidence(run_id=f"{site}-20260804T120000Z-abcd", warc_file=f"runs/{site}/warc/00000.warc.gz",
                          warc_offset=1234, payload_sha256="ab" * 32),
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$TRAWL_HOME for the module: one local site file, one finished run, an alert log."""
    home = tmp_path_factory.mktemp("api-home")
    (home / "sites").mkdir()
    shipped = (REPO / "crawler" / "sites" / "vortex.yaml").read_text(encoding="utf-8")
    (home / "sites" / "localshop.yaml").write_text(shipped.replace("name: vortex", "name: localshop", 1),
                                                   encoding="utf-8")
    run_dir = home / "runs" / "vortex-20261129T101500Z-beef"
    run_dir.mkdir(parents=True)
    (run_dir / "stats.json").write_text(json.dumps({"run_id": run_dir.name, "site": "vortex", "status": "finished",
                                                    "pages": 42, "listings": 17}), encoding="utf-8")
    alerts = [{"kind": "new-substance", "time": "2026-11-01T00:00:00Z", "summary": "new token 'x-pvp'",
               "data": {"token": "x-pvp", "first_seen": "2026-11-01T00:00:00Z"}},
              {"kind": "site_paused", "time": "2026-11-02T00:00:00Z", "site": "vortex", "message": "gate <b>"}]
    (home / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAWL_HOME", str(home))
        patch.delenv("TRAWL_SITES_DIR", raising=False)
        patch.delenv("TRAWL_INDEX_URL", raising=False)
        yield home


@pytest.fixture(scope="module")
def index(home: Path) -> Iterator[IndexBackend]:
    data = generate(n_listings=120, days=60, step=5, seed=3)
    extra = [_listing("x1", "nightshade", "DutchGold", XSS_TITLE, ["DE", "FR"]),
             _listing("x2", "vortex", "DutchGoldNL", "3-MMC crystal 5g", ["FR"])]
    vendors = [Vendor(vendor_id="nightshade:dutchgold", site="nightshade", name="DutchGold", sales=120, rating=4.8,
                      pgp_fingerprints=[FINGERPRINT], first_seen="2026-08-03T12:00:00Z",
                      last_seen="2026-08-04T12:00:00Z"),
               Vendor(vendor_id="vortex:dutchgoldnl", site="vortex", name="DutchGoldNL",
                      pgp_fingerprints=[FINGERPRINT], first_seen="2026-08-03T12:00:00Z",
                      last_seen="2026-08-04T12:00:00Z")]
    backend = open_index(f"sqlite:///{home / 'index.sqlite'}", vocabulary=default_vocabulary())
    backend.write(Records(listings=[*data.listings, *extra], snapshots=[*data.snapshots, *(snapshot_of(x) for x in extra)],
                  vendors=[*data.vendors, *vendors], candidates=data.candidates))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def api(index: IndexBackend, home: Path) -> Iterator[LiveServer]:
    server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ), index=index))
    yield server
    server.stop()


def test_search_counts_every_facet_value_as_its_filter_does(api: LiveServer) -> None:
    everything = api.json("/api/search?limit=5&facet_size=50")
    assert everything["total"] == 122 and len(everything["hits"]) == 5
    assert set(everything["facets"]) == {"substance", "control", "class", "site", "vendor", "origin", "destination"}
    filters = {"substance": "substance", "site": "site", "vendor": "vendor", "origin": "origin", "class": "class",
               "control": "control"}
    checked = 0
    for facet, param in filters.items():
        values = everything["facets"][facet]
        assert values, facet
        assert [v["count"] for v in values] == sorted((v["count"] for v in values), reverse=True)
        for value in values[:3]:
            narrowed = api.json(f"/api/search?limit=0&facets=&{urlencode({param: value['value']})}")
            if facet == "control":  # "1971" also matches "1971:II": the filter count is at least the facet's
                assert narrowed["total"] >= value["count"] > 0
            else:
                assert narrowed["total"] == value["count"], (facet, value)
            checked += 1
    assert checked >= 12
    narrowed = api.json("/api/search?site=nightshade&facets=site,vendor")
    assert set(narrowed["facets"]) == {"site", "vendor"}
    assert narrowed["facets"]["site"] == [{"value": "nightshade", "count": narrowed["total"]}]


def test_search_filters_and_pages(api: LiveServer, index: IndexBackend) -> None:
    to_germany = api.json("/api/search?q=MMC&destination=DE&facets=")
    assert "nightshade:x1" in [h["listing"]["listing_id"] for h in to_germany["hits"]]
    assert "vortex:x2" not in [h["listing"]["listing_id"] for h in to_germany["hits"]]
    first = api.json("/api/search?sort=-usd_per_unit&limit=10&facets=")
    second = api.json("/api/search?sort=-usd_per_unit&limit=10&offset=10&facets=")
    expected = index.search(SearchQuery(sort="-usd_per_unit", limit=20))
    assert [h["listing"]["listing_id"] for h in first["hits"] + second["hits"]] == \
        [h.listing.listing_id for h in expected.hits]
    assert second["offset"] == 10 and second["total"] == expected.total


def test_xss_title_comes_back_escaped_json_never_html(api: LiveServer) -> None:
    status, headers, body = api.request("GET", "/api/search?q=onerror&facets=")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert b"<" not in body and b">" not in body and b"\\u003cscript\\u003e" in body
    assert json.loads(body)["hits"][0]["listing"]["title"] == XSS_TITLE
    status, headers, page = api.request("GET", "/?q=onerror")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<script>alert" not in page and b"<img src=x" not in page and b"&lt;script&gt;alert(2)" in page


def test_listing_detail_has_history_and_evidence(api: LiveServer, index: IndexBackend) -> None:
    every = list(index.iter_snapshots())
    listing_id = Counter(s.listing_id for s in every).most_common(1)[0][0]
    detail = api.json(f"/api/listings/{quote(listing_id, safe=':')}")
    stored = [asdict(s) for s in every if s.listing_id == listing_id]
    assert detail["listing"]["listing_id"] == listing_id and len(stored) >= 3
    assert detail["snapshots"] == stored  # every snapshot, oldest first
    assert api.json(f"/api/listings/{quote(listing_id, safe=':')}?history=2")["snapshots"] == stored[-2:]
    evidence = api.json("/api/listings/nightshade:x1")["evidence"]
    assert evidence["warc_offset"] == 1234 and evidence["payload_sha256"] == "ab" * 32
    assert api.request("GET", "/api/listings/nightshade:nope")[0] == 404


def test_trends_are_the_numbers_of_trawl_trends(api: LiveServer, home: Path) -> None:
    served = api.json("/api/trends?by=substance,site&interval=month")["rows"]
    env = {**os.environ, "TRAWL_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("TRAWL_INDEX_URL", None)
    cli = subprocess.run([sys.executable, "-m", "trawl.cli", "trends", "--by", "substance,site", "--json"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr[-1500:]
    assert served == json.loads(cli.stdout) and len(served) > 5
    listings = api.json("/api/trends?metric=listings&by=&interval=week")["rows"]
    assert listings and all(row["group"] == {} and row["count"] > 0 for row in listings)


def test_candidates_and_alerts(api: LiveServer, index: IndexBackend) -> None:
    candidates = api.json("/api/candidates")["candidates"]
    assert [c["token"] for c in candidates] == [c.token for c in index.candidates()] and candidates
    alerts = api.json("/api/alerts")
    assert alerts["total"] == 2 and [a["kind"] for a in alerts["alerts"]] == ["site_paused", "new-substance"]
    assert api.json("/api/alerts?kind=new-substance")["alerts"][0]["data"]["token"] == "x-pvp"


def test_vendors_list_detail_and_links(api: LiveServer, index: IndexBackend) -> None:
    listed = api.json("/api/vendors?limit=500")
    assert listed["total"] == len(index.vendors()) == len(listed["vendors"])
    assert api.json("/api/vendors?site=vortex&limit=1")["vendors"][0]["site"] == "vortex"
    detail = api.json("/api/vendors/DutchGold")
    assert [v["vendor_id"] for v in detail["vendors"]] == ["nightshade:dutchgold"]
    market = detail["markets"][0]
    assert market["listings"] == index.search(SearchQuery(vendor="nightshade:dutchgold", limit=0)).total == 1
    assert market["sales"] == 120 and market["substances"] == [{"value": "3-methylmethcathinone", "count": 1}]
    assert {i["vendor_id"] for i in detail["identities"]} == {"nightshade:dutchgold", "vortex:dutchgoldnl"}
    assert any(link["kind"] == "pgp" and link["strength"] == "strong" for link in detail["links"])
    assert api.request("GET", "/api/vendors/nobody-at-all")[0] == 404


def test_sites_and_runs(api: LiveServer) -> None:
    sites = {s["name"]: s for s in api.json("/api/sites")["sites"]}
    assert sites["localshop"]["origin"] == "local" and sites["vortex"]["origin"] == "shipped"
    assert sites["vortex"]["last_run"]["run_id"] == "vortex-20261129T101500Z-beef"
    assert sites["vortex"]["last_run"]["pages"] == 42 and sites["nightshade"]["last_run"] is None
    detail = api.json("/api/sites/vortex")
    assert detail["site"]["network"] and [r["status"] for r in detail["runs"]] == ["finished"]
    assert "run_dir" not in detail["runs"][0]
    assert api.json("/api/runs?site=vortex")["runs"][0]["listings"] == 17
    assert api.request("GET", "/api/sites/nosuchsite")[0] == 404


def test_match_and_whoami(api: LiveServer) -> None:
    found = api.json("/api/match?text=" + quote("5g 3-MMC crystal"))["matches"]
    assert any(m.get("canonical") == "3-methylmethcathinone" for m in found), found
    assert api.json("/api/whoami")["role"] == "read"
    assert api.json("/api/whoami", token=ADMIN)["role"] == "admin"


ROUTES = ["/api/search", "/api/listings/nightshade:x1", "/api/trends", "/api/match", "/api/vendors",
          "/api/vendors/DutchGold", "/api/sites", "/api/sites/vortex", "/api/runs", "/api/candidates", "/api/alerts",
          "/api/whoami", "/"]


@pytest.mark.parametrize("token", [None, "", "wrong-token-0123456789", READ + "x", READ[:-1]],
                         ids=["none", "empty", "wrong", "longer", "shorter"])
def test_every_route_needs_a_valid_token(api: LiveServer, token: str | None) -> None:
    for path in ROUTES:
        status, headers, body = api.request("GET", path, token=token)
        assert status == 401 and headers.get("www-authenticate") == "Bearer", (path, status, body[:200])
    status, _, _ = api.request("POST", "/api/crawl", token=token, body=b'{"site": "vortex"}',
                               headers={"Content-Type": "application/json"})
    assert status == 401


def test_analyst_token_cannot_start_a_crawl(api: LiveServer) -> None:
    status, _, body = api.request("POST", "/api/crawl", token=READ, body=b'{"site": "vortex"}',
                                  headers={"Content-Type": "application/json"})
    assert status == 403 and b"admin" in body


@pytest.mark.parametrize("path, field", [
    ("/api/search?limit=501", "limit"), ("/api/search?limit=-1", "limit"), ("/api/search?offset=x", "offset"),
    ("/api/search?price_min=nan", "price_min"), ("/api/search?ppu_max=inf", "ppu_max"),
    ("/api/search?sort=colour", "sort"), ("/api/search?destination=Germany", "destination"),
    ("/api/search?facets=colour", "facets"), ("/api/search?facet_size=0", "facet_size"),
    ("/api/search?first_seen_from=yesterday", "first_seen_from"), ("/api/search?market_kind=bazaar", "market_kind"),
    ("/api/trends?metric=bogus", "metric"), ("/api/trends?interval=year", "interval"), ("/api/trends?by=colour", "by"),
    ("/api/trends?unit=kg", "unit"), ("/api/trends?from=2026-13-45", "from"), ("/api/candidates?since=soon", "since"),
    ("/api/listings/nightshade:x1?history=0", "history"), ("/api/vendors?limit=100000", "limit"),
    ("/api/runs?site=--help", "site"), ("/api/alerts?limit=0", "limit"), ("/api/sites/Bad%20Name", "name"),
])
def test_bad_parameters_are_422_naming_the_field(api: LiveServer, path: str, field: str) -> None:
    status, _, body = api.request("GET", path)
    assert status == 422, (path, status, body[:300])
    detail = json.loads(body)["detail"]
    assert any(error["loc"][-1] == field and field in error["msg"] for error in detail), detail


def test_foreign_host_is_421_with_headers(api: LiveServer) -> None:
    status, headers, body = api.request("GET", "/api/search", host="attacker.example")
    assert status == 421 and b"nightshade" not in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_security_headers_on_every_kind_of_answer(api: LiveServer) -> None:
    for method, path, token in (("GET", "/api/search?limit=1", READ), ("GET", "/", READ), ("GET", "/nope", READ),
                                ("GET", "/api/search", None), ("GET", "/api/search?limit=x", READ),
                                ("DELETE", "/api/search", READ), ("GET", "/openapi.json", None)):
        _, headers, _ = api.request(method, path, token=token)
        csp = headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp, path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "no-referrer" and "server" not in headers, path


def _route_paths(routes: list[Any]) -> set[str]:
    """Paths of every route the app serves (routers included: FastAPI wraps them)."""
    paths: set[str] = set()
    for route in routes:
        if getattr(route, "path", None):
            paths.add(route.path.replace(":path}", "}"))  # OpenAPI writes {id} for {id:path}
        inner = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if inner is not None:
            paths |= _route_paths(list(getattr(inner, "routes", inner)))
    return paths


def test_openapi_lists_every_route(api: LiveServer) -> None:
    spec = api.json("/openapi.json", token=None)
    served = _route_paths(api.app.routes) - {"/openapi.json"}
    assert set(spec["paths"]) == served
    assert set(spec["paths"]) >= {"/api/search", "/api/listings/{listing_id}", "/api/trends", "/api/candidates",
                                  "/api/alerts", "/api/vendors", "/api/vendors/{vendor}", "/api/sites",
                                  "/api/sites/{name}", "/api/runs", "/api/crawl", "/api/match", "/api/whoami", "/"}
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "substance", "control", "class", "site", "vendor", "origin", "destination", "facets"} <= names
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert spec["paths"]["/api/crawl"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]


def argv_recorder(tmp_path: Path) -> tuple[Path, Path]:
    """An executable standing in for the crawl's Python, and the file where it writes its argv
    as JSON: written whole, then renamed, since a test polls for the file and must never read it
    half-written."""
    record = tmp_path / "argv.json"
    recorder = tmp_path / "record-argv"
    recorder.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                        f"open({str(record)!r} + '.tmp', 'w').write(json.dumps(sys.argv[1:]))\n"
                        f"os.replace({str(record)!r} + '.tmp', {str(record)!r})\n")
    recorder.chmod(0o755)
    return recorder, record

def test_admin_starts_a_crawl_of_a_known_site_after_double_dash(tmp_path: Path, index: IndexBackend) -> None:
    """A real subprocess records its argv: a validated site name, after "--", nothing else."""
    recorder, record = argv_recorder(tmp_path)
    server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ, python=str(recorder)), index=index))
    try:
        crawl = {"Content-Type": "application/json"}
        assert server.request("POST", "/api/crawl", token=ADMIN, body=b'{"site": "--help"}', headers=crawl)[0] == 422
        status, _, body = server.request("POST", "/api/crawl", token=ADMIN, body=b'{"site": "nightshade"}',
                                         headers=crawl)
        assert status == 202 and json.loads(body)["status"] == "started", body
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(record.read_text()) == ["-m", "trawl.cli", "crawl", "--", "nightshade"]
        # the refused "--help" start wrote nothing; the started one is in the audit log
        lines = audit_path().read_text().splitlines() if audit_path().exists() else []
        audited = [a for a in map(json.loads, lines) if a["action"] == "site.crawl"]
        assert [(a["who"], a["via"], a["target"]) for a in audited] == [("admin", "api", "nightshade")]
        assert audited[0]["pid"] > 0 and ADMIN not in audit_path().read_text()
    finally:
        server.stop()


def test_token_files_are_private_stable_and_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRAWL_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("TRAWL_DASHBOARD_READ_TOKEN", raising=False)
    first = ApiSettings.from_config()
    again = ApiSettings.from_config()
    assert len(first.admin_token) >= 32 and first.admin_token == again.admin_token
    assert first.read_token == again.read_token != first.admin_token
    for name in ("dashboard.token", "dashboard-read.token"):
        assert (tmp_path / "home" / name).stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("TRAWL_DASHBOARD_TOKEN", "same-token-for-both-roles")
    monkeypatch.setenv("TRAWL_DASHBOARD_READ_TOKEN", "same-token-for-both-roles")
    with pytest.raises(Exception, match="must differ"):
        ApiSettings.from_config()


# search text is words, never FTS5 syntax (tests/index/test_query_input.py): through the API too, with
# every sort and the facet counts (which reuse the search's SQL), and on the HTML page
HOSTILE = ['"', "*", "(", "NEAR(coke cocaine)", "x OR y", "col:val", "{title description}: cocaine", 'a"b',
           "\u202e", "\x00", "x" * 3000, " ".join(f"w{i}" for i in range(300)), '"cocaine', "cocaine*", "^cocaine"]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:16]) for t in HOSTILE])
def test_hostile_text_is_words_never_syntax(api: LiveServer, index: IndexBackend, text: str) -> None:
    expected = index.search(SearchQuery(text=text, limit=0)).total
    for sort in ("relevance", "-usd_per_unit"):
        found = api.json(f"/api/search?{urlencode({'q': text, 'sort': sort, 'facets': 'site,substance'})}")
        assert found["total"] == expected
        assert sum(v["count"] for v in found["facets"]["site"]) == expected
    status, _, page = api.request("GET", f"/?{urlencode({'q': text})}")
    assert status == 200 and f"{expected} listing(s)".encode() in page


def test_an_internal_error_is_a_bare_500_with_the_headers(tmp_path: Path, index: IndexBackend) -> None:
    """A real failure (the alert log path is a directory): 500, no traceback, security headers still on."""
    server = LiveServer(create_app(ApiSettings(admin_token=ADMIN, read_token=READ, alerts_path=tmp_path), index=index))
    try:
        status, headers, body = server.request("GET", "/api/alerts")
    finally:
        server.stop()
    assert status == 500 and json.loads(body) == {"detail": "internal error"}
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
