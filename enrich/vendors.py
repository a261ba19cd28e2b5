"""Link vendor identities across markets, with the evidence for every link.

- pgp (strong): the same OpenPGP fingerprint (declared, parsed from the published key,
  or found in identifiers).  Vendors prove identity across markets with their key.
- crypto (strong): the same validated cryptocurrency address on vendor or listing pages.
- name-profile (weak, scored): similar vendor names (or a declared alias) on different
  sites AND an overlapping profile (substances sold, shipping origins).  A similar name
  alone is not a link: common names ("TheDutchGuy") are reused by unrelated vendors.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

from rapidfuzz import fuzz

from core.records import Listing, Vendor
from enrich.pgp import parse_pgp_key

NAME_SIMILARITY_MIN = 85.0
WEAK_SCORE_MIN = 0.6
_NAME_NOISE = re.compile(r"(official|shop|store|market|labs?|direct|the|uk|eu|usa|us|nl|de)$")


@dataclass
class VendorLink:
    a: str  # vendor_id
    b: str
    kind: str  # pgp | crypto | name-profile
    strength: str  # strong | weak
    score: float
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def vendor_fingerprints(vendor: Vendor) -> set[str]:
    fps = {fp.replace(" ", "").upper() for fp in vendor.pgp_fingerprints if fp}
    fps |= {fp.upper() for fp in vendor.identifiers.get("pgp", [])}
    if vendor.pgp_key:
        info = parse_pgp_key(vendor.pgp_key)
        if info.ok:
            fps.add(info.fingerprint)
    return fps


def normalise_vendor_name(name: str) -> str:
    core = re.sub(r"[^a-z0-9]", "", name.lower())
    stripped = _NAME_NOISE.sub("", core)
    return stripped if len(stripped) >= 3 else core


def _profiles(vendors: list[Vendor], listings: Iterable[Listing]) -> dict[str, dict[str, set[str]]]:
    profile: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"substances": set(), "origins": set(), "addresses": set()})
    for vendor in vendors:
        for kind in ("btc", "xmr", "ltc"):
            profile[vendor.vendor_id]["addresses"] |= {f"{kind}:{a}" for a in vendor.identifiers.get(kind, [])}
    for listing in listings:
        if not listing.vendor_id:
            continue
        p = profile[listing.vendor_id]
        p["substances"] |= {s.name for s in listing.substances}
        if listing.origin and listing.origin != "XX":
            p["origins"].add(listing.origin)
        for kind in ("btc", "xmr", "ltc"):
            p["addresses"] |= {f"{kind}:{a}" for a in listing.identifiers.get(kind, [])}
    return profile


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def link_vendors(vendors: Iterable[Vendor], listings: Iterable[Listing] = ()) -> list[VendorLink]:
    vendors = list(vendors)
    profiles = _profiles(vendors, listings)
    links: list[VendorLink] = []
    by_fp: dict[str, list[str]] = defaultdict(list)
    by_addr: dict[str, list[str]] = defaultdict(list)
    for vendor in vendors:
        for fp in vendor_fingerprints(vendor):
            by_fp[fp].append(vendor.vendor_id)
        for addr in profiles[vendor.vendor_id]["addresses"]:
            by_addr[addr].append(vendor.vendor_id)
    for fp, ids in sorted(by_fp.items()):
        for a, b in combinations(sorted(set(ids)), 2):
            links.append(VendorLink(a, b, "pgp", "strong", 1.0, [f"same PGP fingerprint {fp}"]))
    for addr, ids in sorted(by_addr.items()):
        for a, b in combinations(sorted(set(ids)), 2):
            links.append(VendorLink(a, b, "crypto", "strong", 0.95, [f"same {addr.split(':')[0]} address {addr.split(':', 1)[1]}"]))
    links.extend(_name_profile_links(vendors, profiles))
    return links


def _name_profile_links(vendors: list[Vendor], profiles: dict[str, dict[str, set[str]]]) -> list[VendorLink]:
    links = []
    for va, vb in combinations(sorted(vendors, key=lambda v: v.vendor_id), 2):
        if va.site == vb.site:
            continue
        declared = vb.name.lower() in {x.lower() for x in va.aliases} or va.name.lower() in {x.lower() for x in vb.aliases}
        similarity = fuzz.ratio(normalise_vendor_name(va.name), normalise_vendor_name(vb.name))
        if similarity < NAME_SIMILARITY_MIN and not declared:
            continue
        pa, pb = profiles[va.vendor_id], profiles[vb.vendor_id]
        substance_overlap = _jaccard(pa["substances"], pb["substances"])
        origin_overlap = _jaccard(pa["origins"], pb["origins"])
        name_part = 1.0 if declared else similarity / 100.0
        score = round(0.5 * name_part + 0.3 * substance_overlap + 0.2 * origin_overlap, 3)
        if score < WEAK_SCORE_MIN or (substance_overlap == 0 and origin_overlap == 0):
            continue
        evidence = [f"alias declared: {va.name!r} / {vb.name!r}" if declared else f"similar names {va.name!r} ~ {vb.name!r} ({similarity:.0f}/100)"]
        if substance_overlap:
            evidence.append(f"shared substances: {', '.join(sorted(pa['substances'] & pb['substances']))} (Jaccard {substance_overlap:.2f})")
        if origin_overlap:
            evidence.append(f"shared origins: {', '.join(sorted(pa['origins'] & pb['origins']))}")
        links.append(VendorLink(va.vendor_id, vb.vendor_id, "name-profile", "weak", score, evidence))
    return links


def links_for(name: str, vendors: list[Vendor], links: list[VendorLink]) -> dict[str, Any]:
    """The identities linked to vendor `name` (any site), transitively over strong links."""
    wanted = {v.vendor_id for v in vendors if v.name.lower() == name.lower() or v.vendor_id.lower() == name.lower()}
    cluster = set(wanted)
    changed = True
    while changed:  # follow strong links: A=B by key and B=C by address -> A=C
        changed = False
        for link in links:
            if link.strength == "strong" and (link.a in cluster) != (link.b in cluster):
                cluster |= {link.a, link.b}
                changed = True
    relevant = [link for link in links if link.a in cluster or link.b in cluster]
    for link in relevant:
        cluster |= {link.a, link.b}
    by_id = {v.vendor_id: v for v in vendors}
    identities = [
        {"vendor_id": vid, "site": by_id[vid].site, "name": by_id[vid].name, "url": by_id[vid].url,
         "pgp_fingerprints": sorted(vendor_fingerprints(by_id[vid]))}
        for vid in sorted(cluster) if vid in by_id
    ]
    return {"query": name, "matched": sorted(wanted), "identities": identities, "links": [link.to_dict() for link in relevant]}
