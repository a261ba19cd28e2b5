"""The enrich stage stores offered and mentioned substances apart and reads the category hint."""
from __future__ import annotations

from typing import Any

from core.items import RawListing
from core.records import Listing, Records
from index import open_index
from index.api import SearchQuery
from pipeline.enrich import enrich_listing


def enriched(title: str, hint: str = "", description: str = "") -> Listing:
    listing = Listing(listing_id=f"vortex:{abs(hash(title))}", site="vortex", market_kind="darknet-market", url="",
                      title=title, description=description, crawled_at="2026-11-29T12:00:00Z",
                      first_seen="2026-11-29T12:00:00Z", last_seen="2026-11-29T12:00:00Z")
    raw = RawListing(site="vortex", market_kind="darknet-market", url="", fields={"substance_hint": hint})
    enrich_listing(raw, listing, "2026-11-29T12:00:00Z")
    return listing


def test_mentioned_is_stored_apart_and_not_found_by_the_substance_filter(tmp_path: Any) -> None:
    oxy = enriched("Oxycodone M30 x10 NON Fentanyl pills")
    assert [(s.name, s.relation) for s in oxy.substances] == [("oxycodone", "offered")]
    assert [(s.name, s.relation) for s in oxy.mentioned_substances] == [("fentanyl", "mentioned")]
    with open_index(f"sqlite://{tmp_path / 'index.sqlite'}") as backend:
        backend.write(Records(listings=[oxy]))
        assert backend.search(SearchQuery(substance="fentanyl")).total == 0
        hits = backend.search(SearchQuery(substance="oxycodone")).hits
        assert [h.listing.mentioned_substances[0].name for h in hits] == ["fentanyl"]  # kept in the record
        flagged = backend.search(SearchQuery(substance="fentanyl", include_mentioned=True)).hits
        assert [h.listing.listing_id for h in flagged] == [oxy.listing_id]


def test_category_hint_names_the_substance_and_gives_context() -> None:
    assert [s.name for s in enriched("thai weed special", hint="Weed").substances] == ["cannabis"]
    assert [s.name for s in enriched("Special offer 10 pieces", hint="Benzos > Xanax").substances] == ["alprazolam"]
    hinted = enriched("Special offer 10 pieces", hint="Benzos > Xanax").substances[0]
    assert hinted.match_type == "hint" and hinted.score <= 0.6


def test_description_only_when_the_title_offers_nothing() -> None:
    assert [s.name for s in enriched("Fresh batch", description="MDMA crystals 84%").substances] == ["MDMA"]
    assert [s.name for s in enriched("Ketamine 5g", description="also MDMA soon").substances] == ["ketamine"]
