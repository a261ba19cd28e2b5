"""Onion traffic leaves only through the configured SOCKS5 proxy, with remote DNS.

Real Scrapy crawls in subprocesses over real loopback sockets: a shop answering only to
its .onion Host, a SOCKS5 gateway that alone knows the onion name, a sitecustomize that
records every name lookup and every outgoing connect() of the crawl process.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.net.tor import tor_settings
from tests.crawler.net_crawl import run_net_spider
from tests.crawler.net_servers import free_port, onion_range


def _config(base_url: str, socks_url: str, isolation: str | None = "netshop") -> dict:
    return {
        "start_urls": [base_url],
        "follow_css": "a.page::attr(href)",
        "settings": tor_settings(socks_url, isolation=isolation)
        | {"DNS_RESOLVER": "sitecustomize.RecordingResolver"},
    }


def test_onion_crawl_goes_only_through_socks_with_remote_dns(tmp_path: Path) -> None:
    with onion_range(pages=3, per_page=4) as rng:
        result = run_net_spider(tmp_path, _config(rng.base_url, rng.gateway.url),
                                record_leaks=True)
        hits = list(rng.site.hits)
        gateway_log = list(rng.gateway.gateway_log)
        upstream = set(rng.gateway.upstream_ports)
        site_port, gw_port = rng.site.port, rng.gateway.port

    assert result.returncode == 0, result.log[-3000:]
    # the crawl really happened: every product of every page
    assert {i["name"] for i in result.items} == rng.site.product_names()
    # gateway saw the onion CONNECTs by name (ATYP=3), with the per-site isolation user
    onion_connects = [e for e in gateway_log if e["host"] == rng.onion]
    assert onion_connects and all(e["atyp"] == 3 and e["port"] == 80 for e in onion_connects)
    assert all(e["username"] == "netshop" for e in onion_connects)
    # no lookup of any .onion name (nor any other name) in the crawl process
    lookups = [line for line in result.leak_lines if line.startswith(("dns ", "resolver "))]
    assert not [line for line in lookups if ".onion" in line], lookups
    # the crawl process connected to the gateway only, never to the site port
    connects = [line.split() for line in result.leak_lines if line.startswith("connect ")]
    assert connects, "leak recorder saw no connections: it is not installed"
    assert {(c[1], int(c[2])) for c in connects} == {("127.0.0.1", gw_port)}
    assert all(int(c[2]) != site_port for c in connects)
    # and every connection the site received came from the gateway's upstream sockets
    assert hits and {h["peer_port"] for h in hits} <= upstream
    assert {h["host"] for h in hits} == {rng.onion}


def test_closed_proxy_fetches_nothing_and_says_why(tmp_path: Path) -> None:
    with onion_range(pages=2) as rng:
        closed = f"socks5h://127.0.0.1:{free_port()}"
        result = run_net_spider(tmp_path, _config(rng.base_url, closed), record_leaks=True)
        hits = list(rng.site.hits)
    assert result.items == []
    assert hits == [], "site was reached although the proxy is down: clear-net fallback"
    assert "unreachable" in result.log and "no direct fallback" in result.log
    assert result.stats.get("downloader/response_count", 0) == 0
    assert not [line for line in result.leak_lines if ".onion" in line]


def test_clearnet_site_never_fetches_onion_links(tmp_path: Path) -> None:
    """A clear-web crawl that meets an onion link refuses it (guard), counted in stats."""
    with onion_range(pages=1) as rng:
        config = {"start_urls": [rng.base_url], "settings": {
            "DNS_RESOLVER": "sitecustomize.RecordingResolver"}}
        result = run_net_spider(tmp_path, config, record_leaks=True)
        hits = list(rng.site.hits)
    assert hits == []
    assert result.stats.get("trawl/onion_guard/refused") == 1
    assert result.stats.get("trawl/onion_guard/refused/site_not_tor") == 1
    assert not [line for line in result.leak_lines if ".onion" in line]


def test_guard_refuses_when_tor_handler_not_active(tmp_path: Path) -> None:
    """network: tor but someone swapped the handler back to plain HTTP: refused."""
    with onion_range(pages=1) as rng:
        settings = tor_settings(rng.gateway.url) | {"DOWNLOAD_HANDLERS": {
            "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
            "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"}}
        result = run_net_spider(tmp_path, {"start_urls": [rng.base_url], "settings": settings})
    assert result.stats.get("trawl/onion_guard/refused/tor_handler_inactive") == 1
    assert result.items == []


@pytest.mark.parametrize("url", ["socks5://127.0.0.1:9050", "http://127.0.0.1:9050",
                                 "socks5h://127.0.0.1", "127.0.0.1:9050"])
def test_non_socks5h_urls_are_rejected(url: str) -> None:
    from core.errors import TrawlError

    with pytest.raises(TrawlError, match="TRAWL_TOR_SOCKS"):
        tor_settings(url)


def test_default_proxy_is_tor_default_socksport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_TOR_SOCKS", raising=False)
    assert tor_settings(None)["TRAWL_TOR_SOCKS_URL"] == "socks5h://127.0.0.1:9050"
    monkeypatch.setenv("TRAWL_TOR_SOCKS", "socks5h://user:secret@127.0.0.1:9150")
    settings = tor_settings(None)
    assert settings["TRAWL_PROXY"] == "socks5h://127.0.0.1:9150"  # no credentials


def test_https_onion_tls_inside_the_socks_tunnel(tmp_path: Path) -> None:
    with onion_range(pages=2, per_page=2, tls_dir=tmp_path) as rng:
        result = run_net_spider(tmp_path, _config(rng.base_url, rng.gateway.url),
                                record_leaks=True)
        gateway_log = list(rng.gateway.gateway_log)
        hits = list(rng.site.hits)
    assert result.returncode == 0, result.log[-3000:]
    assert rng.base_url.startswith("https://")
    assert {i["name"] for i in result.items} == rng.site.product_names()
    assert {(e["host"], e["port"]) for e in gateway_log} == {(rng.onion, 443)}
    assert len(hits) == 3
    assert not [line for line in result.leak_lines if ".onion" in line]


@pytest.mark.parametrize("site_name", ["vortex", "nightshade"])
def test_testbed_onion_site_only_via_gateway(tmp_path: Path, site_name: str) -> None:
    """The testbed's own SOCKS5 gateway (which alone resolves its onions)."""
    from testbed.server import run_testbed

    with run_testbed(rate_limit=False, faults=False) as tb:
        site = tb.sites[site_name]
        config = _config(site.base_url, tb.socks_url, isolation=site_name) | {
            "follow_css": "a::attr(href)", "deny_regex": r"logout|/cart|/order|/message",
            "item_css": "title::text"}
        config["settings"] |= {"CLOSESPIDER_PAGECOUNT": 40}
        result = run_net_spider(tmp_path, config, record_leaks=True)
        gateway = list(tb.gateway_log)
        requests = [r for r in tb.request_log if r[0] == site_name]
    assert result.returncode == 0, result.log[-3000:]
    assert requests, "nothing reached the site"
    assert result.stats.get("downloader/response_count", 0) >= 1
    connected = [g for g in gateway if g.outcome == "connected"]
    assert connected and {g.host for g in connected} <= {site.onion, *site.mirrors}
    assert all(g.username == site_name for g in connected)
    assert not [line for line in result.leak_lines if ".onion" in line], result.leak_lines
    connects = {tuple(line.split()[1:]) for line in result.leak_lines if line.startswith("connect")}
    assert connects == {("127.0.0.1", str(tb.socks_port))}


def test_full_trawl_crawl_of_onion_site_does_not_leak(tmp_path: Path) -> None:
    """`trawl crawl vortex` (the real spider, pipelines, evidence) under the leak recorder."""
    import os
    import shutil
    import subprocess
    import sys

    from crawler.evidence.verify import verify_run
    from testbed.server import run_testbed
    from tests.crawler.net_crawl import HERE, REPO

    if not (REPO / "crawler" / "sites" / "vortex.yaml").exists():
        pytest.skip("crawler/sites/vortex.yaml not there yet")
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    shutil.copy(HERE / "net_sitecustomize.py", site_dir / "sitecustomize.py")
    leak_log = tmp_path / "leaks.log"
    leak_log.write_text("")
    with run_testbed(rate_limit=False, faults=False) as tb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_")} | tb.env()
        env |= {"TRAWL_HOME": str(tmp_path / "home"), "TRAWL_PROFILE": "test",
                "TRAWL_NET_LEAK_LOG": str(leak_log),
                "PYTHONPATH": os.pathsep.join([str(site_dir), str(REPO)])}
        proc = subprocess.run([sys.executable, "-m", "trawl.cli", "crawl", "vortex", "--json",
                               "--budget", "40"],
                              env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
        gateway = [g for g in tb.gateway_log if g.outcome == "connected"]
        served = [r for r in tb.request_log if r[0] == "vortex"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["pages"] >= 10 and served
    lines = leak_log.read_text().splitlines()
    assert not [line for line in lines if ".onion" in line]
    connects = {tuple(line.split()[1:]) for line in lines if line.startswith("connect ")}
    assert connects == {("127.0.0.1", str(tb.socks_port))}, connects
    assert gateway and all(g.username == "vortex" for g in gateway)
    assert verify_run(summary["run_dir"]).ok


def test_silent_proxy_times_out_and_releases_the_socket(tmp_path: Path) -> None:
    """A proxy that accepts and never answers: requests time out, their proxy sockets are
    closed at the timeout (not left open), nothing goes direct."""
    import socket
    import threading
    import time

    events: list[tuple[str, int, float]] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(30)

    def hold(conn: socket.socket, number: int) -> None:
        conn.settimeout(30)
        try:
            while conn.recv(1024):
                pass
        except OSError:
            pass
        events.append(("closed", number, time.monotonic()))

    def black_hole() -> None:
        for number in range(2):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            events.append(("accepted", number, time.monotonic()))
            threading.Thread(target=hold, args=(conn, number), daemon=True).start()

    thread = threading.Thread(target=black_hole, daemon=True)
    thread.start()
    with onion_range(pages=1) as rng:
        proxy = f"socks5h://127.0.0.1:{server.getsockname()[1]}"
        config = _config(rng.base_url, proxy)
        config["start_urls"] = [rng.base_url, rng.base_url + "page/1"]
        config["settings"] |= {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 0,
                               "CONCURRENT_REQUESTS": 1}
        result = run_net_spider(tmp_path, config, timeout=60, record_leaks=True)
        hits = list(rng.site.hits)
    thread.join(10)
    time.sleep(0.2)
    server.close()
    assert hits == [] and result.items == []
    assert result.stats.get("downloader/exception_count", 0) == 2, result.stats
    times = {(kind, number): at for kind, number, at in events}
    # the first proxy socket was closed by the timeout, before the second one was opened
    assert times[("closed", 0)] <= times[("accepted", 1)] + 0.05, events
    assert not [line for line in result.leak_lines if ".onion" in line]


def test_gateway_refusal_is_reported_not_bypassed(tmp_path: Path) -> None:
    """An onion the gateway does not know: SOCKS reply 'host unreachable', no fallback."""
    from testbed.onion import onion_address

    with onion_range(pages=1) as rng:
        unknown = onion_address(99, "nowhere")
        result = run_net_spider(tmp_path, _config(f"http://{unknown}/", rng.gateway.url)
                                | {"settings": _config("", rng.gateway.url)["settings"]
                                   | {"RETRY_TIMES": 0}}, record_leaks=True)
        log = list(rng.gateway.gateway_log)
    assert [(e["host"], e["accepted"]) for e in log] == [(unknown, False)]
    assert "host unreachable" in result.log and result.items == []
    assert not [line for line in result.leak_lines if ".onion" in line]
