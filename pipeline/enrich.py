"""Enrich: substances (enrich.match), early-warning candidates, identifiers, PGP keys.

Substances are matched on the title with the page's substance hint (its category) first;
the description is used only when those offer nothing (descriptions mention unrelated
things). Offered substances go to `Listing.substances` (what search facets and trends
count), mentioned ones ("no fent", "like Xanax") to `Listing.mentioned_substances`."""
from __future__ import annotations

from typing import Any

from core.items import RawListing, RawVendor
from core.records import CandidateSubstance, Listing, Vendor
from enrich import extract_identifiers, match, parse_pgp_key
from enrich.early_warning import unique_candidates
from enrich.matcher import get_matcher

# not a valid key: enough to load PGPy and run its armour parser once
WARM_UP_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF0AAAA=\n-----END PGP PUBLIC KEY BLOCK-----"


def warm_up() -> None:
    """Load the reference lists, the matcher and its lazily loaded parts (dictionary, numpy,
    PGPy) now, at start-up, not on the first page: a broken list file then fails the run
    before anything is fetched, and page timings stay even."""
    get_matcher()
    match("warm-up: mephedrone 5g, metamfetamine 1g, methylphenidatte")  # exact, synonym, fuzzy
    extract_identifiers("warm-up bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    parse_pgp_key(WARM_UP_KEY)


def _merge_ids(target: dict[str, list[str]], found: dict[str, Any]) -> None:
    for kind, values in found.items():
        bucket = target.setdefault(kind, [])
        for value in values or []:
            value = getattr(value, "value", value)
            if value not in bucket:
                bucket.append(str(value))


def enrich_listing(raw: RawListing, listing: Listing, when: str) -> list[CandidateSubstance]:
    """Fills the listing's substances and identifiers in place; returns the substance-like
    tokens no reference list knows (early-warning candidates), stamped `when`."""
    # each text is read once: the title with the hint (the site's category: drug context, and
    # the substance when the title names none), the description, and all three joined for
    # early warning (enrich.match_listing); a `mentioned` substance ("NO FENT", "like Xanax")
    # is kept apart
    analysis = get_matcher().analyse_listing(listing.title, raw.substance_hint, listing.description)
    found = list(analysis.title.matches)
    if not any(m.relation == "offered" for m in found):
        found += [m for m in analysis.description().matches if m.relation == "offered"]
    listing.substances = [m.to_ref() for m in found if m.relation == "offered"]
    listing.mentioned_substances = [m.to_ref() for m in found if m.relation == "mentioned"]
    _merge_ids(listing.identifiers, extract_identifiers(listing.description))
    return [_candidate(c, listing, when) for c in unique_candidates(analysis.candidates)]


def _candidate(found: Any, listing: Listing, when: str) -> CandidateSubstance:
    if isinstance(found, CandidateSubstance):
        found.site, found.first_seen, found.last_seen = listing.site, when, when
        found.example_listing_ids = found.example_listing_ids or [listing.listing_id]
        return found
    token = getattr(found, "token", found)
    return CandidateSubstance(token=str(token), first_seen=when, last_seen=when, site=listing.site,
                              example_listing_ids=[listing.listing_id], pattern=str(getattr(found, "pattern", "")))


def enrich_vendor(raw: RawVendor, vendor: Vendor) -> list[str]:
    """Fills the vendor's identifiers and PGP fingerprint in place; returns "field: reason"
    lines for what could not be read (an unreadable PGP key)."""
    errors: list[str] = []
    text = raw.fields.get("identifiers_text") or ""
    text = "\n".join(text) if isinstance(text, list) else text
    _merge_ids(vendor.identifiers, extract_identifiers(f"{text}\n{vendor.pgp_key}"))
    if vendor.pgp_key:
        info = parse_pgp_key(vendor.pgp_key)
        if info.fingerprint:
            vendor.pgp_fingerprints = [info.fingerprint]
            pgp = vendor.identifiers.setdefault("pgp", [])
            if info.fingerprint not in pgp:
                pgp.append(info.fingerprint)
        else:
            errors.append(f"pgp_key: {info.error or 'no fingerprint'}")
    return errors
