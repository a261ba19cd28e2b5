"""The dashboard over a real SQLite index, spoken to over a real loopback socket."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from aiohttp import web

from core.records import Listing, Records, SubstanceRef
from dashboards.web import build_app, dashboard_token

TOKEN = "test-token-not-secret"


def listing(native: str, title: str, substance: str, ppu: float, destinations: list[str]) -> Listing:
    return Listing(
        listing_id=f"nightshade:{native}", site="nightshade", market_kind="darknet-market",
        url=f"http://x.onion/listing/{native}",
        title=title, vendor="DutchGold", substances=[SubstanceRef(name=substance, controls=["1971:II"])],
        quantity_amount=5.0, quantity_unit="g", price_amount=ppu * 5, price_currency="USD", price_usd=ppu * 5,
        usd_per_unit=ppu, origin="NL", destinations=destinations, first_seen="2026-08-03T12:00:00Z",
        last_seen="2026-08-03T12:00:00Z", crawled_at="2026-08-03T12:00:00Z",
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    from index import open_index

    index = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    index.write(Records(listings=[
        listing("1", "3-MMC crystal 5g", "3-methylmethcathinone", 12.0, ["DE", "FR"]),
        listing("2", "Mephedrone 4-MMC 5g", "mephedrone", 10.0, ["FR"]),
    ]))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(build_app(index, token=TOKEN))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    index.close()


def get_json(url: str) -> Any:
    with urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_search_api_filters_by_destination(server: str) -> None:
    everything = get_json(f"{server}/api/search?q=MMC")
    assert everything["total"] == 2
    to_germany = get_json(f"{server}/api/search?q=MMC&destination=DE")
    assert [h["listing"]["listing_id"] for h in to_germany["hits"]] == ["nightshade:1"]


def test_html_page_escapes_and_lists(server: str) -> None:
    with urlopen(f"{server}/?q=mephedrone", timeout=10) as response:
        page = response.read().decode()
    assert "Mephedrone 4-MMC 5g" in page and "1 listing(s)" in page


def test_bad_number_is_a_400(server: str) -> None:
    with pytest.raises(HTTPError) as info:
        urlopen(f"{server}/api/search?price_min=cheap", timeout=10)
    assert info.value.code == 400


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer "], ids=["no-token", "wrong-token", "empty-token"])
def test_state_change_needs_the_token(server: str, header: str | None) -> None:
    request = Request(f"{server}/api/crawl", data=b'{"site": "pillhub"}', method="POST",
                      headers={"Content-Type": "application/json"})
    if header:
        request.add_header("Authorization", header)
    with pytest.raises(HTTPError) as info:
        urlopen(request, timeout=10)
    assert info.value.code == 401


def test_token_file_is_private_and_stable(trawl_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAWL_DASHBOARD_TOKEN", raising=False)
    first = dashboard_token()
    assert len(first) >= 32 and first == dashboard_token()
    assert (trawl_home / "dashboard.token").stat().st_mode & 0o777 == 0o600
