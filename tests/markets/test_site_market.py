"""The `market:` section of a site YAML: validation with FILE:LINE, and banner markers."""
from __future__ import annotations

from pathlib import Path

import pytest

from crawler.engine.markets_banners import detect_banner
from crawler.sitedef.siteconfig import SiteConfigError, load_site_file
from tests.markets.conftest import new_key, write_site

A = "http://" + "a" * 56 + ".onion"


def test_market_section_loads_key_file_markers_and_pages(tmp_path: Path) -> None:
    key = new_key("mkt")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "mkt.asc").write_text(str(key.pubkey), encoding="utf-8")
    path = write_site(tmp_path, "mkt", [A], market=(
        "market:\n  pgp_key: keys/mkt.asc\n  key_page: {url: /pgp, select: 'pre.key::text'}\n"
        "  addresses: [bc1qexample]\n  markers:\n    seized: ['text:beschlagnahmt']\n"
        "    exit_scam: ['css:div.wallet-frozen']\n  down_after: 5\n"))
    site = load_site_file(path)
    assert site.market.pgp_key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert site.market.key_page is not None and site.market.key_page.url == "/pgp"
    assert site.market.address_page == site.market.key_page and site.market.down_after == 5
    banner = detect_banner(site.market, text="<p>Diese Seite wurde BESCHLAGNAHMT</p>")
    assert banner is not None and banner.kind == "seized"
    banner = detect_banner(site.market, text='<html><body><div class="wallet-frozen">x</div></body></html>')
    assert banner is not None and banner.kind == "exit_scam"


@pytest.mark.parametrize(("market", "line", "message"), [
    ("market:\n  pgp_key: nowhere.asc\n", 19, "market.pgp_key: no such key file"),
    ("market:\n  pgp_key: 'just text'\n", 19, "market.pgp_key: no such key file"),
    ("market:\n  down_after: 0\n", 19, "market.down_after: expected an integer >= 1"),
    ("market:\n  key_page: {url: pgp, select: pre}\n", 19, "market.key_page.url: expected a path"),
    ("market:\n  key_page: {url: /pgp, select: pre}\n", 19, "market.key_page: key_page needs pgp_key"),
    ("market:\n  markers: {seized: ['css:::bad(']}\n", 19, "market.markers.seized[0]"),
    ("market:\n  pgp_keys: x\n", 19, "market.pgp_keys: unknown key (did you mean 'pgp_key'?)"),
])
def test_market_section_problems_name_file_and_line(tmp_path: Path, market: str, line: int, message: str) -> None:
    path = write_site(tmp_path, "mkt", [A], market=market)
    with pytest.raises(SiteConfigError) as err:
        load_site_file(path)
    assert f"{path}:{line}: {message}" in str(err.value)


def test_builtin_patterns_need_an_agency_or_the_site() -> None:
    from crawler.sitedef.marketnodes import MarketSpec

    spec = MarketSpec()
    for text in ("This hidden site has been seized", "The domain has been seized by the FBI and Europol",
                 "<b>seized by</b> the <i>Bundeskriminalamt</i>", "Europol took down this marketplace"):
        found = detect_banner(spec, text=text)
        assert found is not None and found.kind == "seized", text
    for text in ("my parcel got seized by customs, reship free", "Seized goods are reshipped once",
                 "withdraw your coins any time"):
        assert detect_banner(spec, text=text) is None, text
    found = detect_banner(spec, text="Note: withdrawals have been temporarily suspended")
    assert found is not None and found.kind == "exit_scam"


def test_listing_pages_and_forums_get_only_the_yaml_markers(tmp_path: Path) -> None:
    """A vendor's story of a seizure is not a seizure: built-ins are off there (builtin=False)."""
    site = load_site_file(write_site(tmp_path, "mkt", [A], market="market:\n  markers: {seized: ['css:div.takedown']}\n"))
    story = "<p>My old shop has been seized by the police, so I moved here.</p>"
    assert detect_banner(site.market, text=story) is not None  # on a navigation page it would count
    assert detect_banner(site.market, text=story, builtin=False) is None
    found = detect_banner(site.market, text='<div class="takedown">gone</div>', builtin=False)
    assert found is not None and found.kind == "seized" and found.evidence == "marker css:div.takedown"
