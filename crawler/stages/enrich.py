"""Enrich: substances (enrich.match), early-warning candidates, identifiers, PGP keys.

Substances are matched on the title and the page's substance hint first; the description
is used only when those name nothing (descriptions mention unrelated things)."""
from __future__ import annotations

from typing import Any

from crawler.stages import Stage
from index.model import CandidateSubstance, Listing, Vendor

try:
    import enrich
except ImportError:  # pragma: no cover - the package exists in the repo, its API may not yet
    enrich = None  # type: ignore[assignment]


def _fn(name: str) -> Any:
    # enrich resolves names lazily; a module still being written raises ImportError
    try:
        return getattr(enrich, name, None) if enrich is not None else None
    except ImportError:
        return None


def _merge_ids(target: dict[str, list[str]], found: Any) -> None:
    if not isinstance(found, dict):
        return
    for kind, values in found.items():
        bucket = target.setdefault(kind, [])
        for value in values or []:
            value = getattr(value, "value", value)
            if value not in bucket:
                bucket.append(str(value))


class EnrichStage(Stage):
    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        if item.get("unchanged") is not None:
            return item
        if item["type"] == "listing":
            self.enrich_listing(item, item["listing"])
        else:
            self.enrich_vendor(item, item["vendor_record"])
        return item

    def _missing(self, name: str, errors: list[str], field: str) -> Any:
        fn = _fn(name)
        if fn is None:
            errors.append(f"{field}: enrich.{name} not available")
            self.stats.inc_value(f"trawl/enrich_unavailable/{name}")
        return fn

    def enrich_listing(self, item: dict[str, Any], listing: Listing) -> None:
        hint = item["fields"].get("substance_hint") or ""
        hint = " ".join(hint) if isinstance(hint, list) else hint
        primary = f"{listing.title}\n{hint}".strip()
        match = self._missing("match", listing.parse_errors, "substances")
        if match is not None:
            found = match(primary) or match(listing.description)
            listing.substances = [m.to_ref() if hasattr(m, "to_ref") else m for m in found]
        candidates_fn = self._missing("new_substance_candidates", listing.parse_errors, "candidates")
        if candidates_fn is not None:
            item["candidates"] = [self._candidate(c, listing) for c in candidates_fn(f"{primary}\n{listing.description}")]
        ids = self._missing("extract_identifiers", listing.parse_errors, "identifiers")
        if ids is not None:
            _merge_ids(listing.identifiers, ids(f"{listing.description}"))

    def _candidate(self, found: Any, listing: Listing) -> CandidateSubstance:
        if isinstance(found, CandidateSubstance):
            found.site, found.first_seen, found.last_seen = listing.site, self.clock, self.clock
            found.example_listing_ids = found.example_listing_ids or [listing.listing_id]
            return found
        token = getattr(found, "token", found)
        return CandidateSubstance(token=str(token), first_seen=self.clock, last_seen=self.clock, site=listing.site,
                                  example_listing_ids=[listing.listing_id], pattern=str(getattr(found, "pattern", "")))

    def enrich_vendor(self, item: dict[str, Any], vendor: Vendor) -> None:
        errors: list[str] = item.setdefault("parse_errors", [])
        text = item["fields"].get("identifiers_text") or ""
        text = "\n".join(text) if isinstance(text, list) else text
        ids = self._missing("extract_identifiers", errors, "identifiers")
        if ids is not None:
            _merge_ids(vendor.identifiers, ids(f"{text}\n{vendor.pgp_key}"))
        if vendor.pgp_key:
            pgp = self._missing("parse_pgp_key", errors, "pgp_key")
            info = pgp(vendor.pgp_key) if pgp is not None else None
            fingerprint = getattr(info, "fingerprint", None) if info is not None else None
            if fingerprint:
                vendor.pgp_fingerprints = [fingerprint]
                vendor.identifiers.setdefault("pgp", [])
                if fingerprint not in vendor.identifiers["pgp"]:
                    vendor.identifiers["pgp"].append(fingerprint)
            elif info is not None:
                errors.append(f"pgp_key: {getattr(info, 'error', None) or 'no fingerprint'}")
