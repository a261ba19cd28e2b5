"""Hand-made records whose expected query results are obvious by reading them."""
from __future__ import annotations

from core.records import CandidateSubstance, Listing, Snapshot, SubstanceRef, Vendor


def listing(listing_id: str, **fields: object) -> Listing:
    site = listing_id.split(":")[0]
    base: dict[str, object] = dict(
        listing_id=listing_id, site=site, market_kind="darknet-market", url=f"http://{site}.test/{listing_id}",
        title="item", crawled_at="2026-01-10T00:00:00Z", first_seen="2026-01-10T00:00:00Z", last_seen="2026-01-10T00:00:00Z",
    )
    base.update(fields)
    return Listing(**base)  # type: ignore[arg-type]


MEPH = SubstanceRef(name="mephedrone", substance_class="synthetic cathinone", controls=["1971:II", "eu-nps"])
COKE = SubstanceRef(name="cocaine", substance_class="stimulant", controls=["1961:I"])
XAN = SubstanceRef(name="alprazolam", substance_class="benzodiazepine", controls=["1971:IV"])

LISTINGS = [
    listing("nightshade:1", title="5g 4-MMC crystal pure", description="Mephedrone shipped from the Netherlands",
            vendor="DutchChems", vendor_id="nightshade:dutchchems", substances=[MEPH], quantity_amount=5, quantity_unit="g",
            price_usd=100.0, usd_per_unit=20.0, origin="NL", destinations=["DE", "FR"]),
    listing("nightshade:2", title="Cocaine 1g fishscale", description="Peruvian, uncut", vendor="Royal",
            vendor_id="nightshade:royal", substances=[COKE], quantity_amount=1, quantity_unit="g", price_usd=90.0,
            usd_per_unit=90.0, origin="DE", ships_worldwide=True, destinations_excluded=["US"],
            first_seen="2025-12-01T00:00:00Z"),
    listing("vortex:7", title="Xanax bars 2mg x50", description="Pharma grade alprazolam", vendor="dutchchems",
            vendor_id="vortex:dutchchems", substances=[XAN], quantity_amount=50, quantity_unit="unit", price_usd=125.0,
            usd_per_unit=2.5, origin="GB", destinations=["GB"], last_seen="2026-02-01T00:00:00Z", crawled_at="2026-02-01T00:00:00Z"),
    listing("pillhub:3", title="Mephedrone 100g bulk", description="Wholesale 4-mmc", vendor=None, substances=[MEPH],
            quantity_amount=100, quantity_unit="g", price_usd=1200.0, usd_per_unit=12.0, origin="CN", ships_worldwide=True,
            market_kind="pharmacy"),
    listing("vortex:8", title="Mystery powder", description="no price stated", substances=[], origin=None),
]

SNAPSHOTS = [
    Snapshot(listing_id="nightshade:1", crawled_at=f"2026-01-{d:02d}T00:00:00Z", site="nightshade", run_id=f"n{d}",
             usd_per_unit=float(p), quantity_unit="g", substance="mephedrone", vendor_id="nightshade:dutchchems", origin="NL")
    for d, p in ((5, 18), (12, 20), (19, 22), (26, 24))
] + [
    Snapshot(listing_id="pillhub:3", crawled_at="2026-01-12T00:00:00Z", site="pillhub", run_id="p1", usd_per_unit=12.0,
             quantity_unit="g", substance="mephedrone", origin="CN"),
    Snapshot(listing_id="nightshade:2", crawled_at="2026-01-12T00:00:00Z", site="nightshade", run_id="n12", usd_per_unit=90.0,
             quantity_unit="g", substance="cocaine", vendor_id="nightshade:royal", origin="DE"),
    Snapshot(listing_id="nightshade:2", crawled_at="2026-02-03T00:00:00Z", site="nightshade", run_id="n34", usd_per_unit=80.0,
             quantity_unit="g", substance="cocaine", vendor_id="nightshade:royal", origin="DE"),
]

VENDORS = [
    Vendor(vendor_id="nightshade:dutchchems", site="nightshade", name="DutchChems", pgp_fingerprints=["AAAA"],
           identifiers={"btc": ["bc1qaaa"]}, first_seen="2026-01-05T00:00:00Z", last_seen="2026-01-05T00:00:00Z"),
]

CANDIDATES = [
    CandidateSubstance(token="3-CMC", first_seen="2026-01-05T00:00:00Z", last_seen="2026-01-05T00:00:00Z",
                       site="vortex", example_listing_ids=["vortex:8"], pattern="cathinone-like"),
]
