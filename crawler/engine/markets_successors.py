"""Successor markets: where the vendors of a market that went away reappear.

A market that is down, seized, exit-scamming or closed has successors: other sites with
vendors seen there since it went away who are the same person by their vendor identity
(enrich.vendors): the same PGP fingerprint (strong), or the same normalised vendor name
(weak: names are cheap to take).  Refreshed after every run (the run's own vendors may be
the ones that moved) and stored in the registry, so readers never open the index.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from core.clock import utc_now_iso
from core.records import Vendor
from crawler.engine.markets import connect, registry_path
from enrich.vendors import normalise_vendor_name, vendor_fingerprints

logger = logging.getLogger(__name__)

GONE = ("down", "seized", "exit_scam", "closed")  # the statuses in refresh_successors' query


@dataclass
class SuccessorLink:
    successor: str
    vendors: list[str]
    strong: int


def find_successors(site: str, gone_since: str, vendors: list[Vendor]) -> list[SuccessorLink]:
    """Sites whose vendors, seen there at or after `gone_since`, are vendors of `site`."""
    own = [v for v in vendors if v.site == site]
    fingerprints = {fp for v in own for fp in vendor_fingerprints(v)}
    names = {normalise_vendor_name(v.name) for v in own}
    found: dict[str, dict[str, bool]] = defaultdict(dict)  # successor -> vendor name -> strong
    for vendor in vendors:
        if vendor.site == site or (vendor.last_seen and gone_since and vendor.last_seen < gone_since):
            continue
        strong = bool(vendor_fingerprints(vendor) & fingerprints)
        if strong or normalise_vendor_name(vendor.name) in names:
            found[vendor.site][vendor.name] = found[vendor.site].get(vendor.name, False) or strong
    links = [SuccessorLink(other, sorted(by_name), sum(by_name.values())) for other, by_name in found.items()]
    return sorted(links, key=lambda link: (-link.strong, -len(link.vendors), link.successor))


def refresh_successors() -> int:
    """Recompute the successors of every market that went away; returns how many links.
    Errors are logged, not raised (called at the end of crawl runs)."""
    if not registry_path().is_file():
        return 0
    with connect(write=False) as db:
        gone = {r["site"]: r["status_since"] or "" for r in db.execute(
            "SELECT site, status_since FROM markets WHERE status IN ('down', 'seized', 'exit_scam', 'closed')")}
    if not gone:
        return 0
    try:
        from index import open_index

        with open_index() as index:
            vendors = index.vendors()
    except Exception as exc:  # noqa: BLE001 - an unavailable index only delays the successors
        logger.warning("market registry: successors not refreshed, index unavailable: %s", exc)
        return 0
    total = 0
    now = utc_now_iso()
    with connect(write=True) as db:
        for site, since in gone.items():
            links = find_successors(site, since, vendors)
            db.execute("DELETE FROM successors WHERE site=?", (site,))
            for link in links:
                db.execute("INSERT INTO successors (site, successor, vendors, strong, found_at) VALUES (?, ?, ?, ?, ?)",
                           (site, link.successor, json.dumps(link.vendors), link.strong, now))
            total += len(links)
    return total
