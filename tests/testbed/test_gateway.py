"""The SOCKS5 gateway: onion-only, proper reply codes, every CONNECT recorded."""
from __future__ import annotations

import pytest

from core.errors import TrawlError
from testbed.onion import onion_address
from tests.testbed.socks_http import SocksRefused, http_over, socks_connect


def _refusal(tb, host: str, **kwargs) -> int:
    with pytest.raises(SocksRefused) as info:
        socks_connect(tb.socks_port, host, **kwargs)
    return info.value.code


def test_refuses_clearnet_domain_and_ip_literals(tb) -> None:
    assert _refusal(tb, "example.com") == 0x02
    assert _refusal(tb, "127.0.0.1", atyp=1) == 0x02
    assert _refusal(tb, "::1", atyp=4) == 0x02
    outcomes = {(r.host, r.outcome) for r in tb.gateway_log}
    assert ("example.com", "not-allowed") in outcomes
    assert ("127.0.0.1", "not-allowed") in outcomes


def test_refuses_unknown_and_down_onions(tb) -> None:
    unknown = onion_address(999, "elsewhere")
    assert _refusal(tb, unknown) == 0x04
    down = tb.sites["nightshade"].down_mirrors[0].removeprefix("http://").rstrip("/")
    assert _refusal(tb, down) == 0x04
    assert tb.gateway_counters["unknown-onion"] >= 1 and tb.gateway_counters["mirror-down"] >= 1


def test_refuses_other_commands_and_ports(tb) -> None:
    onion = tb.sites["vortex"].onion
    assert _refusal(tb, onion, command=2) == 0x07  # BIND
    assert _refusal(tb, onion, port=443) == 0x05


def test_primary_and_live_mirror_connect_with_username_auth(tb) -> None:
    for url in (tb.sites["vortex"].base_url, *tb.sites["vortex"].mirrors):
        host = url.removeprefix("http://").rstrip("/")
        sock = socks_connect(tb.socks_port, host, username="circuit-7")
        response = http_over(sock, "GET", host, "/")
        assert response.status == 200 and "VORTEX MARKET" in response.text
    record = tb.gateway_log[-1]
    assert record.outcome == "connected" and record.username == "circuit-7" and record.site == "vortex"
    assert tb.gateway_counters["bytes_down"] > 1000


def test_onion_site_refuses_non_onion_host(tb) -> None:
    import socket

    for site in ("nightshade", "vortex"):
        sock = socket.create_connection(("127.0.0.1", tb.sites[site].port), timeout=5)
        response = http_over(sock, "GET", f"127.0.0.1:{tb.sites[site].port}", "/")
        assert response.status == 421 and "onion-only" in response.text


def test_mirror_can_be_taken_down_and_restored(tb) -> None:
    primary = tb.sites["vortex"].base_url
    host = tb.sites["vortex"].onion
    tb.set_mirror_down(primary)
    try:
        assert _refusal(tb, host) == 0x04
        assert tb.sites["vortex"].down_mirrors == [primary]
        mirror = tb.sites["vortex"].mirrors[0].removeprefix("http://").rstrip("/")
        response = http_over(socks_connect(tb.socks_port, mirror), "GET", mirror, "/")
        assert response.status == 200
    finally:
        tb.set_mirror_down(primary, down=False)
    assert tb.sites["vortex"].down_mirrors == []
    socks_connect(tb.socks_port, host).close()
    with pytest.raises(TrawlError, match="not an onion address of this testbed"):
        tb.set_mirror_down("http://example.com/")
