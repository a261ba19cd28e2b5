"""enrich: which substance is this, is it controlled, is it new, who is behind it.

Public API (imported lazily so `import enrich` stays cheap):

    match(text, *, hint=None, lists=None) -> list[SubstanceMatch]   (relation: offered | mentioned)
    match_batch(texts, *, hints=None, lists=None) -> list[list[SubstanceMatch]]
    analyse(text, *, hint=None, lists=None) -> Analysis(matches, candidates)
    new_substance_candidates(text, *, lists=None) -> list[Candidate]
    extract_identifiers(text) -> dict[str, list[str]]
    parse_pgp_key(armored) -> PgpKeyInfo
    load_reference_lists(paths=None) -> ReferenceLists
    link_vendors(vendors, listings=()) -> list[VendorLink]
    estimate_sales(snapshots) -> list[SalesEstimate]
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "match": "enrich.matcher",
    "match_batch": "enrich.matcher",
    "match_reference": "enrich.matcher",
    "analyse": "enrich.matcher",
    "Analysis": "enrich.matcher",
    "SubstanceMatch": "enrich.matcher",
    "load_reference_lists": "enrich.lists",
    "ReferenceLists": "enrich.lists",
    "new_substance_candidates": "enrich.early_warning",
    "Candidate": "enrich.early_warning",
    "candidate_records": "enrich.early_warning",
    "alert_new_candidates": "enrich.alerts",
    "extract_identifiers": "enrich.identifiers",
    "parse_pgp_key": "enrich.pgp",
    "PgpKeyInfo": "enrich.pgp",
    "link_vendors": "enrich.vendors",
    "VendorLink": "enrich.vendors",
    "estimate_sales": "enrich.sales",
    "SalesEstimate": "enrich.sales",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'enrich' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
