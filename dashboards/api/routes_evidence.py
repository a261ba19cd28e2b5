"""The archived page behind a listing (its WARC record) and sales estimates.

`GET /api/evidence/{listing_id}` answers the payload of the WARC record the listing's
stored evidence names: the URL names a *listing*, never a file, so no request can point
the server at a path of its choosing.  The stored `warc_file` (relative to $TRAWL_HOME)
must still resolve, symlinks followed, to a `*.warc.gz` file under
`$TRAWL_HOME/runs/<the evidence's run id>/`; anything else is a 404.  The payload is
served with a CSP of its own (`sandbox`, `default-src 'none'`, images only from data:),
and its SHA-256 is compared with the stored digest (header `X-Payload-Match`).

`GET /api/runs/{run_id}/verify` runs `trawl evidence verify` on one run (records, chain,
signed head; the index cross-check is left to the CLI), for the listing page's badge.

`GET /api/sales` gives the feedback-delta sales estimates of enrich.sales (labelled as
estimates, with their method) for one vendor id or one listing.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from core.home import trawl_home
from core.records import Evidence
from dashboards.api.deps import index_of
from dashboards.api.models import SalesOut, VerifyOut
from dashboards.api.security import ARCHIVE_CSP, require_read
from index.api import IndexBackend, SearchQuery

router = APIRouter(prefix="/api", tags=["evidence"], dependencies=[Depends(require_read)])
Index = Annotated[IndexBackend, Depends(index_of)]
MAX_PAYLOAD = 20 * 2**20
_RUN_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_TZ")


def warc_path(evidence: Evidence, home: FsPath) -> FsPath | None:
    """The WARC file `evidence` names, if it is a .warc.gz under its run's directory; else None."""
    run_id = evidence.run_id
    if not run_id or not set(run_id) <= _RUN_ID_CHARS or not evidence.warc_file.endswith(".warc.gz"):
        return None
    if evidence.warc_offset < 0:
        return None
    run_dir = (home / "runs" / run_id).resolve()
    candidate = (home / evidence.warc_file).resolve()
    if not candidate.is_relative_to(run_dir) or not candidate.is_file():
        return None
    return candidate


def read_member(path: FsPath, offset: int) -> bytes | None:
    """The gzip member (one WARC record) starting at `offset`, or None if there is none whole
    (torn, not a record start, or a gzip bomb: crawler.evidence.reader bounds the inflation)."""
    from crawler.evidence.reader import EvidenceReadError
    from crawler.evidence.reader import read_member as read_record_member

    try:
        return read_record_member(path, offset)
    except (EvidenceReadError, OSError):
        return None


def archived_payload(member: bytes) -> tuple[bytes, str, str] | None:
    """(payload, content type, target URI) of the WARC record in `member`."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        payload = record.raw_stream.read(MAX_PAYLOAD + 1)
    except Exception:  # noqa: BLE001 - an unreadable record is not served
        return None
    if len(payload) > MAX_PAYLOAD:
        return None
    http = record.http_headers
    content_type = (http.get_header("Content-Type") if http is not None else None) or "application/octet-stream"
    return payload, content_type, record.rec_headers.get_header("WARC-Target-URI") or ""


@router.get("/evidence/{listing_id:path}", summary="The archived page a listing was parsed from (inert, sandboxed)",
            responses={200: {"content": {"text/html": {}}, "description": "the WARC record's payload"}})
def evidence(listing_id: Annotated[str, Path(min_length=3, max_length=300)], index: Index) -> Response:
    found = index.get_listing(listing_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"listing_id: no listing {listing_id[:80]!r}")
    path = warc_path(found.evidence, trawl_home(create=False))
    member = read_member(path, found.evidence.warc_offset) if path is not None else None
    archived = archived_payload(member) if member is not None else None
    if archived is None:
        raise HTTPException(status_code=404, detail="evidence: the archived record is not available on this server")
    payload, content_type, target = archived
    digest = hashlib.sha256(payload).hexdigest()
    kind = content_type.split(";")[0].strip().lower()
    # HTML and text are served as text (the page decides how to show them); anything else as bytes
    media = content_type if kind.startswith("text/") or kind == "application/xhtml+xml" else "application/octet-stream"
    headers = {"content-security-policy": ARCHIVE_CSP, "x-payload-sha256": digest,
               "x-payload-match": "yes" if digest == found.evidence.payload_sha256 else "no",
               "x-archived-content-type": kind[:100], "x-archived-url": target[:2000].encode("ascii", "replace")
               .decode("ascii"), "content-disposition": "inline; filename=archived"}
    return Response(payload, media_type=media, headers=headers)


@router.get("/sales", response_model=SalesOut, summary="Sales ESTIMATES from feedback deltas (enrich.sales)")
def sales(index: Index, vendor_id: Annotated[str | None, Query(min_length=3, max_length=200)] = None,
          listing_id: Annotated[str | None, Query(min_length=3, max_length=300)] = None) -> SalesOut:
    from enrich.sales import LABEL, METHOD, estimate_sales

    if (vendor_id is None) == (listing_id is None):
        raise HTTPException(status_code=422, detail=[{"loc": ["query", "vendor_id"], "type": "value_error",
                                                      "msg": "vendor_id: give exactly one of vendor_id, listing_id"}])
    if vendor_id is not None:
        snapshots = [s for s in index.iter_snapshots(SearchQuery(vendor=vendor_id))
                     if s.vendor_id == vendor_id]
    else:
        from index.history import MAX_HISTORY, listing_snapshots

        snapshots = listing_snapshots(index, str(listing_id), MAX_HISTORY)
    estimates = estimate_sales(snapshots)
    by_listing: dict[str, dict[str, Any]] = {}
    for est in estimates:
        row = by_listing.setdefault(est.listing_id, {"listing_id": est.listing_id, "estimated_sales": 0,
                                                     "estimated_revenue_usd": 0.0})
        row["estimated_sales"] += est.estimated_sales
        row["estimated_revenue_usd"] = round(row["estimated_revenue_usd"] + (est.estimated_revenue_usd or 0.0), 2)
    return SalesOut(label=LABEL, method=METHOD, estimated_sales=sum(e.estimated_sales for e in estimates),
                    estimated_revenue_usd=round(sum(e.estimated_revenue_usd or 0.0 for e in estimates), 2),
                    intervals=len(estimates), by_listing=sorted(by_listing.values(),
                                                                key=lambda r: -r["estimated_sales"]))


RUN_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,40}-\d{8}T\d{6}Z-[0-9a-f]{4}$"


@router.get("/runs/{run_id}/verify", response_model=VerifyOut,
            summary="`trawl evidence verify RUN` on a run's records, chain and signed head (index cross-check off)")
def verify(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> VerifyOut:
    from crawler.evidence.verify import verify_run

    home = trawl_home(create=False)
    runs = (home / "runs").resolve()
    run_dir = (runs / run_id).resolve()
    if not run_dir.is_relative_to(runs) or not run_dir.is_dir():
        raise HTTPException(status_code=404, detail=f"run_id: no run {run_id!r} on this server")
    # the index cross-check is `trawl evidence verify`'s job: it reads every reference of the run
    report = verify_run(run_dir, home=home, check_index=False).to_dict()
    report.pop("run_dir", None)  # server paths stay on the server
    return VerifyOut(**report)
