"""Upsert rules shared by both backends, so re-indexing gives identical stores.

Every rule is idempotent: merging a record with itself (or with the result of
an earlier merge of the same input) changes nothing.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from core.records import CandidateSubstance, Listing, Records, Snapshot, Vendor
from core.timeutil import CANONICAL_TIME, norm_time

# stored candidates keep this many example listing ids; the full set is kept apart
MAX_EXAMPLES = 20


def _canonical(*times: str) -> bool:
    return all(CANONICAL_TIME.match(t) for t in times)


def _upper(codes: list[str]) -> bool:
    return all(c.isupper() for c in codes)


def normalise_listing(listing: Listing) -> Listing:
    # fast path: the crawler already writes canonical records; dataclasses.replace costs more than the insert
    if (_canonical(listing.first_seen, listing.last_seen, listing.crawled_at)
            and (listing.origin is None or listing.origin.isupper())
            and _upper(listing.destinations) and _upper(listing.destinations_excluded)):
        return listing
    return dataclasses.replace(
        listing,
        first_seen=norm_time(listing.first_seen or listing.crawled_at, f"{listing.listing_id}.first_seen"),
        last_seen=norm_time(listing.last_seen or listing.crawled_at, f"{listing.listing_id}.last_seen"),
        crawled_at=norm_time(listing.crawled_at, f"{listing.listing_id}.crawled_at"),
        origin=listing.origin.upper() if listing.origin else listing.origin,
        destinations=[d.upper() for d in listing.destinations],
        destinations_excluded=[d.upper() for d in listing.destinations_excluded],
    )


def normalise_snapshot(snapshot: Snapshot) -> Snapshot:
    if CANONICAL_TIME.match(snapshot.crawled_at) and (snapshot.origin is None or snapshot.origin.isupper()):
        return snapshot
    return dataclasses.replace(
        snapshot,
        crawled_at=norm_time(snapshot.crawled_at, f"{snapshot.listing_id}.crawled_at"),
        origin=snapshot.origin.upper() if snapshot.origin else snapshot.origin,
    )


def normalise_vendor(vendor: Vendor) -> Vendor:
    return dataclasses.replace(
        vendor,
        first_seen=norm_time(vendor.first_seen, f"{vendor.vendor_id}.first_seen"),
        last_seen=norm_time(vendor.last_seen, f"{vendor.vendor_id}.last_seen"),
    )


def normalise_candidate(candidate: CandidateSubstance) -> CandidateSubstance:
    return dataclasses.replace(
        candidate,
        token=candidate.token.strip().lower(),
        first_seen=norm_time(candidate.first_seen, f"candidate {candidate.token}.first_seen"),
        last_seen=norm_time(candidate.last_seen, f"candidate {candidate.token}.last_seen"),
    )


def normalise(records: Records) -> Records:
    """Every record of a batch in its stored form (canonical times, upper-case country codes...)."""
    return Records(
        listings=[normalise_listing(x) for x in records.listings],
        snapshots=[normalise_snapshot(x) for x in records.snapshots],
        vendors=[normalise_vendor(x) for x in records.vendors],
        candidates=[normalise_candidate(x) for x in records.candidates],
    )


def _min_time(a: str, b: str) -> str:
    return min(x for x in (a, b) if x) if (a or b) else ""


def _max_time(a: str, b: str) -> str:
    return max(a, b)


def merge_listing(existing: Listing | None, incoming: Listing) -> Listing:
    """Content from the most recent crawl; first_seen earliest, last_seen latest.

    Ties on crawled_at take the incoming record, which is the same content when
    a crawl is re-indexed, so the merge stays idempotent."""
    if existing is None:
        return incoming
    newer = incoming if incoming.crawled_at >= existing.crawled_at else existing
    return dataclasses.replace(
        newer,
        first_seen=_min_time(existing.first_seen, incoming.first_seen),
        last_seen=_max_time(existing.last_seen, incoming.last_seen),
    )


def _union(a: list[str], b: list[str]) -> list[str]:
    seen = dict.fromkeys(a)
    seen.update(dict.fromkeys(b))
    return list(seen)


def _union_map(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
    merged = {k: list(v) for k, v in a.items()}
    for key, values in b.items():
        merged[key] = _union(merged.get(key, []), values)
    return merged


def merge_vendor(existing: Vendor | None, incoming: Vendor) -> Vendor:
    """Identifiers, fingerprints and aliases accumulate; profile fields come from the latest sighting."""
    if existing is None:
        return incoming
    newer, older = (incoming, existing) if incoming.last_seen >= existing.last_seen else (existing, incoming)
    fields: dict[str, Any] = {}
    for f in ("url", "joined", "sales", "rating", "feedback_count", "pgp_key"):
        value = getattr(newer, f)
        fields[f] = value if value not in (None, "") else getattr(older, f)
    return dataclasses.replace(
        newer,
        **fields,
        pgp_fingerprints=_union(older.pgp_fingerprints, newer.pgp_fingerprints),
        aliases=_union(older.aliases, newer.aliases),
        identifiers=_union_map(older.identifiers, newer.identifiers),
        first_seen=_min_time(existing.first_seen, incoming.first_seen),
        last_seen=_max_time(existing.last_seen, incoming.last_seen),
    )


def merge_candidate(
    existing: CandidateSubstance | None, known_ids: set[str], incoming: CandidateSubstance
) -> tuple[CandidateSubstance, set[str]]:
    """Merge one candidate sighting; returns the record and the full set of listing ids seen.

    Occurrences count listings, not writes: an existing token only grows by the
    listing ids it has not seen before, so replaying a crawl adds nothing.  A
    sighting without listing ids can only raise the count to its own value."""
    incoming_ids = list(dict.fromkeys(incoming.example_listing_ids))
    if existing is None:
        occurrences = max(incoming.occurrences, len(incoming_ids))
        record = dataclasses.replace(incoming, example_listing_ids=incoming_ids[:MAX_EXAMPLES], occurrences=occurrences)
        return record, set(incoming_ids)
    new_ids = [i for i in incoming_ids if i not in known_ids]
    occurrences = existing.occurrences + len(new_ids) if incoming_ids else max(existing.occurrences, incoming.occurrences)
    examples = _union(existing.example_listing_ids, new_ids)[:MAX_EXAMPLES]
    record = dataclasses.replace(
        existing,
        first_seen=_min_time(existing.first_seen, incoming.first_seen),
        last_seen=_max_time(existing.last_seen, incoming.last_seen),
        example_listing_ids=examples,
        pattern=existing.pattern or incoming.pattern,
        occurrences=occurrences,
    )
    return record, known_ids | set(new_ids)
