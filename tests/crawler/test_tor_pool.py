"""The Tor client pool (crawler.net.torpool): pinning, real managed tor processes, and a real
crawl through the pool instance its site is pinned to.

The managed tors run with one bridge, a dead loopback port, as their only way out: they
start, open SocksPort and ControlPort and answer NEWNYM, and never reach past this machine.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import TrawlError
from crawler.net.tor import renew_circuit
from crawler.net.torpool import (
    TorInstance,
    instance_for,
    instance_status,
    parse_pool,
    read_managed,
    socks_greeting,
    start_managed,
    stop_managed,
)
from tests.crawler.conftest import crawl_env, trawl

TOR = shutil.which("tor") or "/usr/sbin/tor"
LOOPBACK_ONLY = {"UseBridges": "1", "Bridge": "127.0.0.1:1"}  # the one way out is a dead loopback port


@pytest.mark.parametrize(("text", "error"), [
    ("127.0.0.1:9050", "is not socks5h://HOST:PORT"),
    ("socks5://127.0.0.1:9050", "resolves names locally"),
    ("socks5h://127.0.0.1:9050 control", "unknown option 'control'"),
    ("socks5h://127.0.0.1:9050; socks5h://127.0.0.1", "entry 2"),
], ids=lambda v: str(v))
def test_pool_setting_errors_name_the_entry(text: str, error: str) -> None:
    with pytest.raises(TrawlError, match=error):
        parse_pool(text)


def test_pool_setting_reads_controls_and_cookies() -> None:
    pool = parse_pool(" socks5h://127.0.0.1:9050 control=127.0.0.1:9051 cookie=/run/tor/c ;"
                      "socks5h://10.1.2.3:9150 ")
    assert [(i.name, i.socks_url, i.control, i.cookie) for i in pool] == [
        ("ext-0", "socks5h://127.0.0.1:9050", "127.0.0.1:9051", "/run/tor/c"),
        ("ext-1", "socks5h://10.1.2.3:9150", "", "")]


def test_sites_are_pinned_stably_and_a_removed_instance_moves_only_its_own_sites() -> None:
    pool = [TorInstance(f"tor-{n}", f"socks5h://127.0.0.1:{9050 + n}") for n in range(3)]
    sites = [f"market-{n}" for n in range(300)]
    pinned = {site: instance_for(site, pool).name for site in sites}
    counts = {inst.name: list(pinned.values()).count(inst.name) for inst in pool}
    assert all(count >= 60 for count in counts.values()), counts  # spread, not all on one
    assert pinned == {site: instance_for(site, list(reversed(pool))).name for site in sites}  # order-free
    smaller = pool[:2]
    moved = [site for site in sites if pinned[site] != "tor-2" and instance_for(site, smaller).name != pinned[site]]
    assert moved == []
    with pytest.raises(TrawlError, match="pool is empty"):
        instance_for("x", [])


@pytest.fixture
def tor_home(tmp_path: Path) -> Iterator[Path]:
    if not Path(TOR).exists():
        pytest.skip("tor not installed (/usr/sbin/tor; apt-get install tor)")
    home = tmp_path / "home"
    home.mkdir()
    yield home
    stop_managed(home)


def test_managed_pool_starts_real_tors_restarts_the_dead_and_stops(tor_home: Path) -> None:
    first = start_managed(tor_home, 2, options=LOOPBACK_ONLY)

    assert [i.name for i in first] == ["tor-0", "tor-1"] and len({i.socks_url for i in first}) == 2
    assert read_managed(tor_home) == first
    for inst in first:
        assert socks_greeting(inst.socks_url) >= 0
        status = instance_status(inst)
        assert status.healthy and status.control_ok and status.version.startswith("0.")
        assert status.circuit_established is False  # never bootstraps: the only bridge is dead
        assert renew_circuit(inst.control, cookie_path=inst.cookie) > 0  # NEWNYM answered
    # NEWNYM reached tor: a second one within 10 s is rate-limited, and tor logs that
    renew_circuit(first[0].control, cookie_path=first[0].cookie)
    log = Path(first[0].data_dir) / "tor.log"
    deadline = time.monotonic() + 10
    while "Rate limiting NEWNYM" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Rate limiting NEWNYM" in log.read_text()

    assert start_managed(tor_home, 2, options=LOOPBACK_ONLY) == first  # running ones are kept
    os.kill(first[1].pid, signal.SIGKILL)
    os.waitpid(first[1].pid, 0)
    again = start_managed(tor_home, 2, options=LOOPBACK_ONLY)
    assert again[0] == first[0] and again[1].pid != first[1].pid  # only the dead one restarted

    stopped = stop_managed(tor_home)
    assert [i.pid for i in stopped] == [i.pid for i in again] and read_managed(tor_home) == []
    for inst in again:
        with pytest.raises(OSError):
            socks_greeting(inst.socks_url, timeout=2)


def test_status_command_lists_each_instance_and_its_sites(tor_home: Path) -> None:
    pool = start_managed(tor_home, 2, options=LOOPBACK_ONLY)
    run = trawl(["tor", "status", "--json"], crawl_env(tor_home))
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(run.stdout)
    assert [r["instance"]["name"] for r in rows] == ["tor-0", "tor-1"] and all(r["healthy"] for r in rows)
    pinned = {site for r in rows for site in r["sites"]}
    assert {"vortex", "nightshade"} <= pinned  # the shipped onion sites, each on its instance
    for row in rows:
        assert all(instance_for(site, pool).name == row["instance"]["name"] for site in row["sites"])


class SecondGateway:
    """Another testbed SOCKS gateway (same onion routes) on its own loop: a second 'Tor'."""

    def __init__(self, testbed: Any) -> None:
        from testbed.socks import SocksGateway

        self.gateway = SocksGateway(routes=dict(testbed.gateway.routes))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.gateway.start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.gateway.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_crawl_goes_through_the_instance_its_site_is_pinned_to(testbed: Any, tmp_path: Path) -> None:
    other = SecondGateway(testbed)
    try:
        pool_text = f"{testbed.socks_url}; socks5h://127.0.0.1:{other.port}"
        pinned = instance_for("vortex", parse_pool(pool_text))
        chosen, unused = ((testbed.gateway, other.gateway) if pinned.name == "ext-0"
                          else (other.gateway, testbed.gateway))
        before = len([r for r in unused.log if r.outcome == "connected"])
        env = crawl_env(tmp_path / "home", {**testbed.env(), "TRAWL_TOR_POOL": pool_text})
        run = trawl(["crawl", "vortex", "--budget", "2", "--json"], env)
        assert run.returncode == 0, run.stderr[-3000:]
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        stats = json.loads((Path(summary["run_dir"]) / "stats.json").read_text())["stats"]
        assert stats["trawl/tor/instance"] == pinned.name
        used = [r for r in chosen.log if r.outcome == "connected" and r.username == "vortex"]
        assert len(used) >= 1  # remote DNS through the pinned client, isolated by the site's name
        assert len([r for r in unused.log if r.outcome == "connected"]) == before
    finally:
        other.close()


def test_doctor_checks_every_pool_client(tor_home: Path) -> None:
    start_managed(tor_home, 1, options=LOOPBACK_ONLY)
    dead = "socks5h://127.0.0.1:1"  # nothing listens on port 1
    run = trawl(["doctor", "--site", "vortex", "--json"], crawl_env(tor_home, {"TRAWL_TOR_POOL": dead}))
    checks = {c["name"]: c for c in json.loads(run.stdout)["checks"]}

    assert run.returncode == 3
    assert checks["tor.pool.ext-0"]["status"] == "fail" and "Connection refused" in checks["tor.pool.ext-0"]["detail"]
    managed = checks["tor.pool.tor-0"]
    assert managed["status"] == "warn" and "bootstrapping" in managed["detail"] and managed["fix"].startswith("trawl tor")
    assert "tor.socks" not in checks  # the pool replaces the single tor.socks check
