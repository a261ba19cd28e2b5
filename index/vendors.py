"""Vendors as the index knows them: the stored records named by a query, their per-market
statistics, and flat rows for `trawl export vendors`.

One function, `vendor_report`, answers both `GET /api/vendors/{name}` and
`trawl vendors show NAME --json`, so the two can never disagree.  Cross-market links need
enrich/ (which this package may not import): the caller passes a `linker`, e.g.

    from enrich.vendors import link_vendors, links_for
    vendor_report(index, "DutchGold",
                  linker=lambda name, everyone, listings: links_for(name, everyone, link_vendors(everyone, listings)))
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from core.records import Listing, Vendor, to_dict
from index.api import IndexBackend, SearchQuery
from index.facets import facet_counts

# (name, every vendor record, every listing) -> {"identities": [...], "links": [...], ...}
Linker = Callable[[str, list[Vendor], Iterable[Listing]], dict[str, Any]]
TOP_SUBSTANCES = 10


def market_stats(index: IndexBackend, vendor: Vendor) -> dict[str, Any]:
    """One market's view of a vendor: listings in the index, first/last seen, the market's own
    sales/rating/feedback figures, and the substances offered most."""
    mine = SearchQuery(vendor=vendor.vendor_id, limit=0)
    substances = facet_counts(index, mine, ["substance"], TOP_SUBSTANCES)["substance"]
    return {
        "vendor_id": vendor.vendor_id, "site": vendor.site, "name": vendor.name, "listings": index.search(mine).total,
        "first_seen": vendor.first_seen, "last_seen": vendor.last_seen, "sales": vendor.sales,
        "rating": vendor.rating, "feedback_count": vendor.feedback_count,
        "substances": [{"value": c.value, "count": c.count} for c in substances],
    }


def vendor_report(index: IndexBackend, name: str, linker: Linker | None = None) -> dict[str, Any] | None:
    """Every stored field of the vendor records `name` names (name on any market or vendor id),
    per-market statistics and, with a linker, identities linked across markets.  None: no such vendor."""
    records = index.vendors(name)
    if not records:
        return None
    identities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    if linker is not None:
        linked = linker(name, index.vendors(), index.iter_listings())
        identities, links = list(linked["identities"]), list(linked["links"])
    return {"query": name, "vendors": [to_dict(v) for v in records],
            "markets": [market_stats(index, v) for v in records], "identities": identities, "links": links}


# --- export ----------------------------------------------------------------------------------

@dataclass
class VendorQuery:
    """Which vendors `trawl export vendors` writes (the sidecar records it as the query)."""

    site: str | None = None
    name: str | None = None  # a name on any market or a vendor id, as `trawl vendors show`


# every stored field of core.records.Vendor; nested ones JSON-encoded in CSV/Parquet, native in JSONL
VENDOR_COLUMNS: list[tuple[str, str]] = [
    ("vendor_id", "str"), ("site", "str"), ("name", "str"), ("url", "str"), ("joined", "str"), ("sales", "int"),
    ("rating", "float"), ("feedback_count", "int"), ("pgp_fingerprints", "str"), ("pgp_key", "str"),
    ("aliases", "str"), ("identifiers", "json"), ("first_seen", "str"), ("last_seen", "str"),
    ("evidence_run_id", "str"), ("evidence_warc_file", "str"), ("evidence_warc_offset", "int"),
    ("evidence_payload_sha256", "str"),
]


def selected_vendors(index: IndexBackend, query: VendorQuery) -> Iterator[Vendor]:
    site = query.site.strip().lower() if query.site else None
    for vendor in index.vendors(query.name):
        if site is None or vendor.site == site:
            yield vendor


def vendor_row(vendor: Vendor) -> dict[str, Any]:
    """A flat row (CSV/Parquet): lists joined with ';', identifiers as JSON, the evidence spread out."""
    return {
        "vendor_id": vendor.vendor_id, "site": vendor.site, "name": vendor.name, "url": vendor.url,
        "joined": vendor.joined, "sales": vendor.sales, "rating": vendor.rating,
        "feedback_count": vendor.feedback_count, "pgp_fingerprints": ";".join(vendor.pgp_fingerprints),
        "pgp_key": vendor.pgp_key, "aliases": ";".join(vendor.aliases),
        "identifiers": json.dumps(vendor.identifiers, ensure_ascii=False, sort_keys=True),
        "first_seen": vendor.first_seen, "last_seen": vendor.last_seen,
        "evidence_run_id": vendor.evidence.run_id, "evidence_warc_file": vendor.evidence.warc_file,
        "evidence_warc_offset": vendor.evidence.warc_offset,
        "evidence_payload_sha256": vendor.evidence.payload_sha256,
    }


def export_vendors(index: IndexBackend, fmt: str, out: Path | str, query: VendorQuery | None = None,
                   command: str = "", *, force: bool = False, meta_path: Path | None = None,
                   stdout: BinaryIO | None = None) -> dict[str, Any]:
    """`trawl export vendors`: the vendor records to CSV/Parquet/JSONL with the sidecar every
    export writes (index.export: query, row count, SHA-256, software and list versions); the
    same target checks, staging and stdout rules as the other kinds."""
    from index.export import _Range, _write_export, _write_failed, checked_targets

    out, to_stdout, meta = checked_targets(fmt, out, meta_path, force)
    query = query or VendorQuery()
    flat = fmt != "jsonl"
    rows = (vendor_row(v) if flat else to_dict(v) for v in selected_vendors(index, query))
    try:
        return _write_export(index, "vendors", fmt, out, to_stdout, meta, rows, VENDOR_COLUMNS,
                             _Range(("first_seen", "last_seen")), flat, query, command, force, stdout)
    except OSError as exc:
        raise _write_failed(exc, to_stdout, out) from None
