"""The rendering browser never leaks past the proxy: no WebRTC datagrams, no local DNS of
hidden-service names, nothing but the SOCKS port — checked on real sockets (a UDP canary
on 127.0.0.1, strace of every socket call of the Chromium tree, see browser_probes), and
each detector shown to fire on a browser without the guards."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawler.net.browser import CHROMIUM_ARGS, browser_settings, chromium_executable
from crawler.net.browser_guard import WEBRTC_OFF_SCRIPT
from crawler.net.browser_netns import confine, launcher_script, netns_available
from testbed.onion import onion_address
from tests.crawler.browser_probes import (
    STRACE,
    HostilePages,
    SyscallRecorder,
    TcpCanary,
    UdpCanary,
    render_directly,
)
from tests.crawler.net_crawl import run_net_spider
from tests.crawler.net_servers import Socks5Gateway

pytestmark = pytest.mark.browser

HOSTILE_ONION = onion_address(11, "hostile")
ELSEWHERE_ONION = onion_address(12, "elsewhere")  # linked from pages; nobody serves it


@pytest.fixture(autouse=True)
def need_chromium_and_strace() -> None:
    exe = chromium_executable()
    if not exe or not os.path.exists(exe):
        pytest.skip("no Chromium: set TRAWL_CHROMIUM or run `playwright install chromium`")
    if not STRACE:
        pytest.skip("strace not installed (apt-get install strace): the leak detector needs it")


@pytest.fixture
def hostile() -> Iterator[HostilePages]:
    pages = HostilePages()
    yield pages
    pages.close()


@pytest.fixture
def gateway(hostile: HostilePages) -> Iterator[Socks5Gateway]:
    """A SOCKS5 proxy that knows one onion: the hostile site."""
    proxy = Socks5Gateway(routes={HOSTILE_ONION: ("127.0.0.1", hostile.port)})
    hostile.loop.run(proxy.start())
    yield proxy
    hostile.loop.run(proxy.stop())


def _stun_path(canary: UdpCanary, tcp: TcpCanary | None = None) -> str:
    return f"/stun?port={canary.port}&onion={ELSEWHERE_ONION}&tcp={tcp.port if tcp else 0}"


def _crawl(tmp_path: Path, site: dict, url: str,
           socks: str | None) -> tuple[list[str], dict, SyscallRecorder]:
    """A crawl of one page; Chromium (or the namespace launcher, when the settings use
    it) runs under the syscall recorder."""
    settings = browser_settings(SimpleNamespace(**site), socks)
    options = settings["PLAYWRIGHT_LAUNCH_OPTIONS"]
    recorder = SyscallRecorder(tmp_path, options["executable_path"])
    options["executable_path"] = str(recorder.executable)
    result = run_net_spider(tmp_path, {"start_urls": [url], "follow_css": "a.none::attr(href)",
                                       "settings": settings,
                                       "browser": {"site": site, "wait_for": ".done"}},
                            timeout=120)
    assert result.returncode == 0, result.log[-3000:]
    return [i["name"] for i in result.items], result.stats, recorder


# --- the detectors fire on a leaking browser ---------------------------------------

def test_detector_sees_local_dns_of_a_browser_without_proxy(tmp_path: Path) -> None:
    """Misconfigured: no proxy. Chromium asks the system resolver for the onion name."""
    recorder = SyscallRecorder(tmp_path, str(chromium_executable()))
    render_directly(str(recorder.executable), f"http://{HOSTILE_ONION}/", timeout_ms=10_000)
    log = recorder.read()
    assert HOSTILE_ONION in log.dns_names, log.leaks(None)
    assert f"dns {HOSTILE_ONION}" in log.leaks(None)


def test_detector_sees_a_request_that_bypasses_the_proxy(
        tmp_path: Path, hostile: HostilePages, gateway: Socks5Gateway) -> None:
    """Misconfigured: a proxy, but a bypass rule for the site's address."""
    recorder = SyscallRecorder(tmp_path, str(chromium_executable()))
    proxy = {"server": f"socks5://127.0.0.1:{gateway.port}", "bypass": "127.0.0.1"}
    dom = render_directly(str(recorder.executable), hostile.url("/plain"), proxy=proxy)
    assert "Plain product" in dom
    assert "127.0.0.1" not in {e["host"] for e in gateway.gateway_log}
    assert f"connect 127.0.0.1:{hostile.port}" in recorder.read().leaks(gateway.port)


@pytest.mark.parametrize("guard", ["none", pytest.param("flags", marks=pytest.mark.slow),
                                   pytest.param("script", marks=pytest.mark.slow)])
def test_webrtc_canary_and_the_guards_one_by_one(
        tmp_path: Path, hostile: HostilePages, gateway: Socks5Gateway, guard: str) -> None:
    """A proxied browser without the guards sends STUN straight to the canary; the
    launch flags alone and the init script alone each stop it (this Chromium)."""
    recorder = SyscallRecorder(tmp_path, str(chromium_executable()))
    proxy = {"server": f"socks5://127.0.0.1:{gateway.port}"}
    with UdpCanary() as canary:
        dom = render_directly(
            str(recorder.executable), f"http://{HOSTILE_ONION}{_stun_path(canary)}", proxy=proxy,
            args=[a for a in CHROMIUM_ARGS if "webrtc" in a] if guard == "flags" else [],
            init_script=WEBRTC_OFF_SCRIPT if guard == "script" else None, wait_for=".done")
    leaks = recorder.read().leaks(gateway.port)
    if guard == "none":
        assert "webrtc ran" in dom
        assert canary.received, "the canary heard nothing from an unguarded browser"
        assert f"sendto 127.0.0.1:{canary.port}" in leaks
        assert "sendto 224.0.0.251:5353" in leaks  # mDNS announcements of its candidates
    else:
        assert ("webrtc blocked" if guard == "script" else "webrtc ran") in dom
        assert canary.received == [], canary.received
        assert leaks == [], leaks


# --- the crawl's browser does not leak ----------------------------------------------

@pytest.mark.parametrize("netns", ["off", "auto"])
def test_tor_site_page_with_webrtc_sends_nothing_outside_the_proxy(
        tmp_path: Path, hostile: HostilePages, gateway: Socks5Gateway, netns: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the namespace off, the flags and guards alone; with it (where the kernel
    allows), everything together."""
    monkeypatch.setenv("TRAWL_BROWSER_NETNS", netns)
    site = {"name": "hostile", "render": "browser", "network": "tor"}
    with UdpCanary() as canary, TcpCanary() as tcp:
        names, stats, recorder = _crawl(
            tmp_path, site, f"http://{HOSTILE_ONION}{_stun_path(canary, tcp)}", gateway.url)
    assert names == ["webrtc blocked"]  # the page ran, without RTCPeerConnection
    assert tcp.accepted == []  # its <img> of 127.0.0.1:<canary> went to the proxy
    assert stats.get("trawl/browser/netns") == int(netns == "auto" and netns_available())
    assert canary.received == []
    log = recorder.read()
    assert ("127.0.0.1", gateway.port) in log.inet()
    assert log.leaks(gateway.port) == []  # no UDP, no mDNS, no DNS, no direct TCP
    # both onions and the loopback image went to the proxy (besides Chromium's .invalid
    # services); only the onion it knows was served
    hosts = {e["host"] for e in gateway.gateway_log}
    assert {HOSTILE_ONION, ELSEWHERE_ONION, "127.0.0.1"} <= hosts
    assert all(h.endswith((".onion", ".invalid")) or h == "127.0.0.1" for h in hosts), hosts
    assert hostile.hits == ["/stun"]


def test_clearnet_page_never_resolves_hidden_service_names(
        tmp_path: Path, hostile: HostilePages) -> None:
    site = {"name": "clearshop", "render": "browser", "network": "clearnet"}
    with UdpCanary() as canary:
        names, stats, recorder = _crawl(tmp_path, site, hostile.url(_stun_path(canary)), None)
    assert names == ["webrtc blocked"]
    assert stats.get("trawl/browser/blocked/onion") == 1
    log = recorder.read()
    assert not [n for n in log.dns_names if n.endswith((".onion", ".i2p", ".exit"))], log.dns_names
    assert not [e for e in log.events if "onion" in e.host]
    assert canary.received == []


def test_unguarded_clearnet_browser_does_resolve_the_onion_image(
        tmp_path: Path, hostile: HostilePages) -> None:
    """The control for the test above: same page, Chromium without the resolver rule."""
    recorder = SyscallRecorder(tmp_path, str(chromium_executable()))
    with UdpCanary() as canary:
        render_directly(str(recorder.executable), hostile.url(_stun_path(canary)),
                        init_script=WEBRTC_OFF_SCRIPT, wait_for=".done")
    assert ELSEWHERE_ONION in recorder.read().dns_names


# --- the network namespace: only the proxy is reachable --------------------------------

def test_namespace_confines_even_an_unguarded_browser(
        tmp_path: Path, hostile: HostilePages, gateway: Socks5Gateway) -> None:
    """Chromium without any of the flags or scripts, started by the namespace launcher:
    WebRTC runs but its datagrams have nowhere to go, and a direct request to a port on
    the host's loopback finds nothing; the proxy (through the bridge) still works."""
    if not netns_available():
        pytest.skip("no network namespaces here (container without CAP_SYS_ADMIN/userns)")
    launcher = str(launcher_script(str(chromium_executable()), "127.0.0.1", gateway.port))
    proxy = {"server": f"socks5://127.0.0.1:{gateway.port}"}
    with UdpCanary() as canary:
        dom = render_directly(launcher, f"http://{HOSTILE_ONION}{_stun_path(canary)}",
                              proxy=proxy, wait_for=".done")
        direct = render_directly(launcher, hostile.url("/plain"), timeout_ms=10_000)
    assert "webrtc ran" in dom and hostile.hits[0] == "/stun"
    assert canary.received == []
    assert direct.startswith("error:") and "/plain" not in hostile.hits, direct


def test_namespace_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import TrawlError

    chromium = {"executable_path": str(chromium_executable())}
    monkeypatch.setenv("TRAWL_BROWSER_NETNS", "off")
    assert confine(dict(chromium), "127.0.0.1", 9050) is False
    monkeypatch.setenv("TRAWL_BROWSER_NETNS", "sometimes")
    with pytest.raises(TrawlError, match="TRAWL_BROWSER_NETNS='sometimes'"):
        confine(dict(chromium), "127.0.0.1", 9050)
    monkeypatch.setenv("TRAWL_BROWSER_NETNS", "require")
    with pytest.raises(TrawlError, match="not on this machine's loopback"):
        confine(dict(chromium), "192.0.2.7", 9050)
    monkeypatch.setenv("TRAWL_BROWSER_NETNS", "auto")
    options = dict(chromium)
    assert confine(options, "192.0.2.7", 9050) is False and options == chromium
    if netns_available():
        assert confine(options, "127.0.0.1", 9050) is True
        assert "chromium-netns-" in options["executable_path"]
