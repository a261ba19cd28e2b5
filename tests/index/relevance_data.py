"""A small corpus whose ranking is known, for the relevance and highlight checks on both backends.

Every listing offers mephedrone; only TITLE_HIT names it in its title, DESCRIPTION_HIT only in its
description, SUBSTANCE_ONLY nowhere in its text (only its substance list).  TIE_OLD and TIE_NEW
are identical but for last_seen: equal scores must put the more recently seen first.
"""
from __future__ import annotations

from typing import Any

from core.records import Listing, Records, SubstanceRef

TITLE_HIT = "relevance:title"
DESCRIPTION_HIT = "relevance:description"
SUBSTANCE_ONLY = "relevance:substance"
TIE_OLD = "relevance:tie-old"
TIE_NEW = "relevance:tie-new"
MENTIONS_FENTANYL = "relevance:no-fent"  # offers mephedrone, only mentions fentanyl ("no fent")
QUERY = "mephedrone"


def _listing(listing_id: str, title: str, description: str, last_seen: str, **extra: Any) -> Listing:
    return Listing(listing_id=listing_id, site="relevance", market_kind="darknet-market",
                   url=f"http://relevance.example/{listing_id}", title=title, description=description,
                   substances=[SubstanceRef(name="mephedrone", substance_class="synthetic cathinone")],
                   first_seen="2025-01-01T00:00:00Z", last_seen=last_seen, crawled_at=last_seen, **extra)


def corpus() -> Records:
    listings = [
        _listing(DESCRIPTION_HIT, "Party crystals 5g", "Lab tested mephedrone, shipped in a vacuum bag with tracking.",
                 "2025-03-01T00:00:00Z"),
        _listing(SUBSTANCE_ONLY, "Bath salts 5g", "Lab tested, shipped in a vacuum bag with tracking.", "2025-03-02T00:00:00Z"),
        _listing(TITLE_HIT, "Mephedrone 5g crystals", "Lab tested, shipped in a vacuum bag with tracking.",
                 "2025-02-01T00:00:00Z"),
        _listing(TIE_OLD, "Salts 10g", "Mephedrone, lab tested, shipped in a vacuum bag.", "2025-01-10T00:00:00Z"),
        _listing(TIE_NEW, "Salts 10g", "Mephedrone, lab tested, shipped in a vacuum bag.", "2025-04-10T00:00:00Z"),
        _listing(MENTIONS_FENTANYL, "Crystals 1g, NO FENT", "Mephedrone tested clean: no fent, no cuts.", "2025-04-01T00:00:00Z",
                 mentioned_substances=[SubstanceRef(name="fentanyl", relation="mentioned")]),
    ]
    return Records(listings=listings)
