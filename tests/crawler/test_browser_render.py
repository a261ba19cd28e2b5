"""Real Chromium (scrapy-playwright) crawls: JS-rendered products, evidence, Tor routing."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence.verify import verify_run
from crawler.net.browser import browser_settings, chromium_executable, launch_options
from tests.crawler.browser_probes import STRACE, SyscallRecorder
from tests.crawler.net_crawl import run_net_spider
from tests.crawler.net_servers import onion_range

pytestmark = pytest.mark.browser

RC_SITE = {"name": "rcshop", "render": "browser", "network": "clearnet"}


@pytest.fixture(autouse=True)
def need_chromium() -> None:
    exe = chromium_executable()
    if not exe or not os.path.exists(exe):
        pytest.skip("no Chromium: set TRAWL_CHROMIUM or run `playwright install chromium`")


def _settings(site: dict) -> dict:
    from types import SimpleNamespace

    return browser_settings(SimpleNamespace(**site)) | {"CONCURRENT_REQUESTS": 4}


def test_browser_sees_products_plain_http_cannot(tmp_path: Path) -> None:
    from testbed.server import run_testbed

    home = tmp_path / "home"
    run_dir = home / "runs" / "20261123T100000Z-rcshop"
    run_dir.mkdir(parents=True)
    with run_testbed(rate_limit=False, faults=False) as tb:
        base = tb.sites["rcshop"].base_url
        truth = {t["title"] for t in tb.truth("rcshop")}
        common = {"start_urls": [base], "follow_css": "a.nothing::attr(href)",
                  "item_css": "h3.product-name::text"}
        plain = run_net_spider(tmp_path, common | {"settings": {}}, name="plain")
        evidence = {"TRAWL_RUN_ID": run_dir.name, "TRAWL_RUN_DIR": str(run_dir),
                    "TRAWL_HOME": str(home),
                    "DOWNLOADER_MIDDLEWARES": {"crawler.evidence.middleware.WarcEvidenceMiddleware": 950}}
        rendered = run_net_spider(
            tmp_path, common | {"settings": _settings(RC_SITE) | evidence,
                                "browser": {"site": RC_SITE, "wait_for": ".product-card",
                                            "screenshot": True}},
            name="browser", timeout=120)
    assert plain.returncode == 0 and plain.items == []  # the products need JavaScript
    assert rendered.returncode == 0, rendered.log[-3000:]
    names = {i["name"] for i in rendered.items}
    assert names == truth and len(truth) > 10
    assert rendered.stats.get("playwright/page_count", 0) >= 1
    # evidence: the rendered DOM and a PNG screenshot, both digested and chained
    records = []
    for path in (run_dir / "warc").glob("*.warc.gz"):
        with path.open("rb") as fh:
            records += [(r.rec_type, r.rec_headers.get_header("Content-Type"),
                         r.content_stream().read()) for r in ArchiveIterator(fh)]
    html = [body for kind, ctype, body in records if kind == "resource" and "html" in ctype]
    pngs = [body for kind, ctype, body in records if ctype == "image/png"]
    assert html and all(name.encode() in html[0] for name in truth)
    assert pngs and pngs[0].startswith(b"\x89PNG")
    report = verify_run(run_dir)
    assert report.ok, report.problems


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_tor_browser_goes_through_socks_only(tmp_path: Path, tls: bool) -> None:
    """The property, checked on what the Chromium process tree did (strace of every
    connect/send, see browser_probes): no name resolved on this machine, no connection
    or datagram to anything but the SOCKS proxy. test_browser_leaks shows the same
    detector catching a misconfigured browser."""
    if not STRACE:
        pytest.skip("strace not installed (apt-get install strace): the leak detector needs it")
    site = {"name": "netshop", "render": "browser", "network": "tor"}
    with onion_range(pages=2, per_page=2, tls_dir=tmp_path if tls else None) as rng:
        from types import SimpleNamespace

        settings = browser_settings(SimpleNamespace(**site), rng.gateway.url)
        options = settings["PLAYWRIGHT_LAUNCH_OPTIONS"]
        recorder = SyscallRecorder(tmp_path, options["executable_path"])
        options["executable_path"] = str(recorder.executable)
        net_log = tmp_path / "chromium-netlog.json"
        options["args"].append(f"--log-net-log={net_log}")
        result = run_net_spider(tmp_path, {
            "start_urls": [rng.base_url], "follow_css": "a.page::attr(href)",
            "settings": settings, "browser": {"site": site, "wait_for": "h1, .product"}},
            timeout=120)
        hits, log = list(rng.site.hits), list(rng.gateway.gateway_log)
        upstream = set(rng.gateway.upstream_ports)
    assert result.returncode == 0, result.log[-3000:]
    assert {i["name"] for i in result.items} == rng.site.product_names()
    assert result.stats.get("playwright/page_count", 0) >= 3
    onion = [e for e in log if e["host"] == rng.onion]
    assert onion and all(e["atyp"] == 3 for e in onion)  # by name: remote DNS
    assert hits and {h["peer_port"] for h in hits} <= upstream  # nothing direct
    # every socket of the Chromium tree: the proxy and nothing else, no DNS question
    syscalls = recorder.read()
    assert ("127.0.0.1", rng.gateway.port) in syscalls.inet(), "strace saw no proxy connection"
    leaks = syscalls.leaks(rng.gateway.port)
    assert leaks == [], leaks
    # Chromium's own account: every URL it requested is the onion or a .invalid service
    # name (its Google services are pointed there), every stream went via the proxy
    events = _net_log_events(net_log)
    hosts = {urlsplit(p["url"]).hostname for _, p in events if isinstance(p.get("url"), str)}
    assert rng.onion in hosts
    assert not {h for h in hosts if h and h != rng.onion and not h.endswith(".invalid")}, hosts
    chains = [p["proxy_chain"] for t, p in events if t.endswith("PROXY_SERVER_RESOLVED")]
    assert chains and set(chains) == {f"[socks5://127.0.0.1:{rng.gateway.port}]"}


def _net_log_events(path: Path) -> list[tuple[str, dict]]:
    """(event type, params) from a Chromium net-log; lines are read one by one because
    the file is not always closed cleanly when the browser is shut down."""
    lines = path.read_text().splitlines()
    constants = json.loads(lines[0].rstrip(",") + "}")["constants"]
    names = {number: name for name, number in constants["logEventTypes"].items()}
    events = []
    for line in lines[2:]:
        try:
            event = json.loads(line.rstrip(","))
        except ValueError:
            continue
        if isinstance(event.get("type"), int):
            events.append((names.get(event["type"], ""), event.get("params") or {}))
    return events


def test_launch_options_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAWL_CHROMIUM", "/opt/chrome/chrome")
    options = launch_options("socks5h://127.0.0.1:9050")
    assert options["executable_path"] == "/opt/chrome/chrome"
    assert options["proxy"] == {"server": "socks5://127.0.0.1:9050"}
    assert "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" in options["args"]
    assert "--disable-background-networking" in options["args"]
    assert "--webrtc-ip-handling-policy=disable_non_proxied_udp" in options["args"]
    clear = launch_options(None)["args"]
    assert "--host-resolver-rules=MAP *.onion ~NOTFOUND , MAP *.i2p ~NOTFOUND , " \
           "MAP *.exit ~NOTFOUND" in clear
    assert "--webrtc-ip-handling-policy=disable_non_proxied_udp" in clear
    from crawler.net.browser_guard import blocked_suffix

    assert blocked_suffix("http://abc.onion/x", tor=False) == "onion"
    assert blocked_suffix("http://ABC.ONION./x", tor=False) == "onion"
    assert blocked_suffix("http://abc.onion/x", tor=True) is None
    assert blocked_suffix("http://x.i2p/", tor=True) == "i2p"
    assert blocked_suffix("http://x.exit/", tor=True) == "exit"
    assert blocked_suffix("http://onion.example/", tor=False) is None
    from types import SimpleNamespace

    assert browser_settings(SimpleNamespace(render="http", network="tor")) == {}
    tor = browser_settings(SimpleNamespace(name="x", render="browser", network="tor"),
                           "socks5h://127.0.0.1:9050")
    assert tor["DOWNLOAD_HANDLERS"]["http"] == "crawler.net.browser.TorPlaywrightDownloadHandler"
    assert json.dumps(tor)  # plain data only


def test_guard_refuses_onion_render_when_chromium_not_proxied(tmp_path: Path) -> None:
    """Tor site, tor handler active, but someone dropped Chromium's proxy: refused."""
    from types import SimpleNamespace

    site = {"name": "netshop", "render": "browser", "network": "tor"}
    with onion_range(pages=1) as rng:
        settings = browser_settings(SimpleNamespace(**site), rng.gateway.url)
        settings["PLAYWRIGHT_LAUNCH_OPTIONS"] = launch_options(None)  # no proxy, local DNS
        result = run_net_spider(tmp_path, {"start_urls": [rng.base_url], "settings": settings,
                                           "browser": {"site": site}}, timeout=120)
        hits, log = list(rng.site.hits), list(rng.gateway.gateway_log)
    assert result.stats.get("trawl/onion_guard/refused/browser_not_proxied") == 1
    assert hits == [] and log == [] and result.items == []


@pytest.mark.slow
def test_trawl_crawl_rcshop_in_chromium(tmp_path: Path) -> None:
    """The whole pipeline on the JS-rendered shop: every product, rendered-DOM evidence."""
    import subprocess
    import sys

    from testbed.server import run_testbed

    with run_testbed(rate_limit=False, faults=False) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_HOME": str(tmp_path / "home"), "TRAWL_PROFILE": "test"}
        proc = subprocess.run([sys.executable, "-m", "trawl.cli", "crawl", "rcshop", "--json"],
                              env=env, capture_output=True, text=True, timeout=300)
        truth = tb.truth("rcshop")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["listings"] == len(truth) > 10
    run_dir = Path(summary["run_dir"])
    entries = [json.loads(x) for x in (run_dir / "manifest.jsonl").read_text().splitlines()]
    rendered = {e["target_uri"] for e in entries if e["type"] == "resource"}
    assert len(rendered) == summary["pages"]
    assert verify_run(run_dir).ok
