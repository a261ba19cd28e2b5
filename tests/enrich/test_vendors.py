"""Vendor linking across markets with evidence, sales estimates from feedback deltas."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from core.records import Listing, Records, Snapshot, SubstanceRef, Vendor
from enrich import estimate_sales, link_vendors
from enrich.sales import total_sales
from tests.enrich.test_crypto import GENESIS, XMR
from trawl.enrich_cli import vendors as vendors_cmd


def _vendor(site: str, name: str, **kw: object) -> Vendor:
    return Vendor(vendor_id=f"{site}:{name.lower()}", site=site, name=name, **kw)  # type: ignore[arg-type]


def _listing(site: str, vendor: str, substance: str, origin: str, n: int = 1) -> Listing:
    return Listing(listing_id=f"{site}:{vendor}:{n}", site=site, market_kind="darknet-market", url="", title=substance,
                   vendor=vendor, vendor_id=f"{site}:{vendor.lower()}", substances=[SubstanceRef(name=substance)], origin=origin)


def _world(real_key: str = "") -> tuple[list[Vendor], list[Listing]]:
    vendors = [
        _vendor("nightshade", "ChefRamsay", pgp_key=real_key),
        _vendor("vortex", "Chef_Ramsay_Official", pgp_fingerprints=["A3B3 D291 1307 854F F9F1 EF26 023A 9782 95E3 F02E"]),
        _vendor("rcshop", "chemking", identifiers={"btc": [GENESIS]}),
        _vendor("chemtrade", "ChemKingLabs", identifiers={"btc": [GENESIS], "xmr": [XMR]}),
        _vendor("nightshade", "DutchQuality"),
        _vendor("vortex", "DutchQualityNL"),
        _vendor("pillhub", "DutchQualityy"),  # similar name, nothing in common
    ]
    listings = [
        _listing("nightshade", "DutchQuality", "MDMA", "NL"), _listing("nightshade", "DutchQuality", "amphetamine", "NL", 2),
        _listing("vortex", "DutchQualityNL", "MDMA", "NL"), _listing("pillhub", "DutchQualityy", "tramadol", "IN"),
    ]
    return vendors, listings


def test_links_with_evidence(real_data_dir: Path) -> None:
    page = real_data_dir / "msc-darkweb-scraping" / "tests" / "dream" / "html_files" / "sellers" / "seller_3.html"
    vendors, listings = _world(page.read_text(encoding="utf-8", errors="replace"))
    links = {(link.a, link.b, link.kind): link for link in link_vendors(vendors, listings)}
    pgp = links[("nightshade:cheframsay", "vortex:chef_ramsay_official", "pgp")]
    assert pgp.strength == "strong" and "A3B3D2911307854FF9F1EF26023A978295E3F02E" in pgp.evidence[0]
    crypto = links[("chemtrade:chemkinglabs", "rcshop:chemking", "crypto")]
    assert crypto.strength == "strong" and GENESIS in crypto.evidence[0]
    weak = links[("nightshade:dutchquality", "vortex:dutchqualitynl", "name-profile")]
    assert weak.strength == "weak" and 0.6 <= weak.score < 1.0
    assert any("MDMA" in e for e in weak.evidence) and any("NL" in e for e in weak.evidence)
    assert not any("pillhub:dutchqualityy" in (a, b) for a, b, _ in links)  # name alone is no link


def test_cli_vendors_show_from_index(trawl_home: Path) -> None:
    from index import open_index

    vendors, listings = _world()
    url = f"sqlite://{trawl_home / 'index.sqlite'}"
    with open_index(url) as backend:
        backend.write(Records(listings=listings, vendors=vendors))
    result = CliRunner().invoke(vendors_cmd, ["show", "chemking", "--json", "--index-url", url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {i["vendor_id"] for i in data["identities"]} == {"rcshop:chemking", "chemtrade:chemkinglabs"}
    assert data["links"][0]["kind"] == "crypto"
    missing = CliRunner().invoke(vendors_cmd, ["show", "nobody", "--index-url", url])
    assert missing.exit_code != 0


def test_sales_from_feedback_deltas() -> None:
    snaps = [
        Snapshot("s:1", "2026-11-01T00:00:00Z", "s", feedback_count=10, price_usd=50.0, vendor_id="s:v", substance="MDMA"),
        Snapshot("s:1", "2026-11-02T00:00:00Z", "s", feedback_count=14, price_usd=50.0, vendor_id="s:v", substance="MDMA"),
        Snapshot("s:1", "2026-11-03T00:00:00Z", "s", feedback_count=12, price_usd=55.0, vendor_id="s:v", substance="MDMA"),
        Snapshot("s:1", "2026-11-04T00:00:00Z", "s", feedback_count=20, price_usd=55.0, vendor_id="s:v", substance="MDMA"),
        Snapshot("s:2", "2026-11-01T00:00:00Z", "s", feedback_count=None, price_usd=10.0),
    ]
    est = estimate_sales(reversed(snaps))
    assert [(e.feedback_delta, e.estimated_sales, e.estimated_revenue_usd) for e in est] == [(4, 4, 200.0), (-2, 0, 0.0), (8, 8, 440.0)]
    assert est[1].flag.startswith("feedback decreased")
    assert all(e.label == "estimate" and "Soska" in e.method for e in est)
    assert total_sales(est)["s:v"] == {"estimated_sales": 12, "estimated_revenue_usd": 640.0}
