"""The Elasticsearch write path: merge a batch with what the index holds (mget + index/merge.py),
then bulk-index it (index/es_bulk.py); what the server rejects comes back to be spooled.

Functions of an EsBackend (`self`), split out of index/es_backend.py.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from core.records import CandidateSubstance, Listing, Records, Snapshot, Vendor, from_dict, to_dict
from index import merge

if TYPE_CHECKING:
    from index.es_backend import EsBackend

log = logging.getLogger(__name__)
PAGE = 1000
_DATE_FIELDS = ("first_seen", "last_seen", "crawled_at")


def es_doc(record: Any) -> dict[str, Any]:
    """_source for a record: empty times become absent (ES `date` cannot hold "")."""
    # snapshots (most documents) are flat: a shallow copy equals dataclasses.asdict, without its deep copies
    doc = dict(record.__dict__) if isinstance(record, Snapshot) else to_dict(record)
    for f in _DATE_FIELDS:
        if f in doc and not doc[f]:
            del doc[f]
    if isinstance(record, Snapshot):
        doc["snapshot_id"] = record.snapshot_id
    return doc


def write_direct(self: EsBackend, batch: Records) -> Records:
    """Merge and bulk-index one normalised batch; returns the records the server rejected.

    Transport failures and an outdated layout raise TrawlError (the caller spools the batch)."""
    self._check_current()  # also guards `trawl index flush`, which replays straight through here
    from index.es_bulk import run_bulk

    by_id: dict[tuple[str, str], Any] = {}
    seen_of: dict[str, set[str]] = {}

    def action(kind: str, index: str, doc_id: str, record: Any, source: dict[str, Any]) -> dict[str, Any]:
        by_id[(kind, doc_id)] = record
        return {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source}

    def kind_of(index: str, doc_id: str) -> str:
        kind = next((k for k in Records.KINDS if f"-{k}-" in index), "")
        return kind if (kind, doc_id) in by_id else next(k for k in Records.KINDS if (k, doc_id) in by_id)

    def rebuild(index: str, doc_id: str) -> dict[str, Any] | None:
        """The action again, for a 429 retry (sources are never kept twice in memory)."""
        kind = kind_of(index, doc_id)
        record = by_id[(kind, doc_id)]
        source = es_doc(record)
        if kind == "candidates":
            source["seen_listing_ids"] = sorted(seen_of.get(doc_id, set()))
        return {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source}

    # merges need the stored records first (mget); after that, documents are generated
    # lazily so a large replayed batch never exists twice in memory
    listings = merged(self, batch.listings, "listings", Listing, "listing_id", merge.merge_listing)
    vendors = merged(self, batch.vendors, "vendors", Vendor, "vendor_id", merge.merge_vendor)
    candidates = merged_candidates(self, batch.candidates)

    def actions() -> Iterator[dict[str, Any]]:
        for x in listings:
            yield action("listings", self.names.write_alias("listings"), x.listing_id, x, es_doc(x))
        for snap in batch.snapshots:
            yield action("snapshots", self.names.snapshot_index(snap.crawled_at), snap.snapshot_id, snap, es_doc(snap))
        for v in vendors:
            yield action("vendors", self.names.write_alias("vendors"), v.vendor_id, v, es_doc(v))
        for c, seen in candidates:
            seen_of[c.token] = seen
            yield action("candidates", self.names.write_alias("candidates"), c.token, c,
                         {**es_doc(c), "seen_listing_ids": sorted(seen)})

    rejected = Records()

    def run() -> None:
        # every failed item comes back (raise_on_error False) and goes to spool/rejected: never swallowed
        for info in run_bulk(self.client, actions(), self.bulk, rebuild):
            doc_id = str(info.get("_id", ""))
            kind = kind_of(str(info.get("_index", "")), doc_id)
            getattr(rejected, kind).append(by_id[(kind, doc_id)])
            log.error("rejected %s %s: %s %s", kind, doc_id, info.get("status"), str(info.get("error"))[:300])

    if listings or batch.snapshots or vendors or candidates:
        self._call("bulk indexing", run)
        self._dirty = self.wrote = True
    return rejected


def mget(self: EsBackend, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), PAGE):
        resp = self._call(f"reading {kind}", self.client.mget, index=self.names.read_alias(kind), ids=ids[start : start + PAGE])
        for doc in resp["docs"]:
            if doc.get("found"):
                found[doc["_id"]] = doc["_source"]
    return found


def merged(self: EsBackend, records: list[Any], kind: str, cls: type, key: str, rule: Callable[[Any, Any], Any]) -> list[Any]:
    if not records:
        return []
    before: dict[str, Any] = {k: from_dict(cls, v) for k, v in mget(self, kind, sorted({getattr(r, key) for r in records})).items()}
    merged = dict(before)
    for record in records:
        merged[getattr(record, key)] = rule(merged.get(getattr(record, key)), record)
    return [v for k, v in merged.items() if before.get(k) != v]


def merged_candidates(self: EsBackend, records: list[CandidateSubstance]) -> list[tuple[CandidateSubstance, set[str]]]:
    if not records:
        return []
    docs = mget(self, "candidates", sorted({r.token for r in records}))
    state: dict[str, tuple[CandidateSubstance | None, set[str]]] = {
        k: (from_dict(CandidateSubstance, v), set(v.get("seen_listing_ids", []))) for k, v in docs.items()
    }
    before = {k: v[0] for k, v in state.items()}
    for record in records:
        existing, known = state.get(record.token, (None, set()))
        state[record.token] = merge.merge_candidate(existing, known, record)
    return [(c, seen) for k, (c, seen) in state.items() if c is not None and before.get(k) != c]
