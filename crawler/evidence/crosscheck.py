"""Index cross-check: what the index says a run's evidence is, against the run's chain.

Listings and vendors carry an evidence reference (`core.records.Evidence`: run id, WARC
file relative to $TRAWL_HOME, offset, payload SHA-256).  For every record of the index
whose reference names this run, the cited (file, offset) must be a chained manifest
entry and its payload digest must equal the stored one.  A rewritten WARC record (a
price changed, digests, chain and head recomputed) keeps its offset but not its payload
digest; the index, written as the crawl went, still holds the original.

Snapshots hold no evidence reference (only run id and content hash): they are covered
through their listing, which cites the newest run that saw it.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import load_config
from core.errors import TrawlError

if TYPE_CHECKING:
    from crawler.evidence.verify import VerifyReport


def _open(home: Path, index_url: str | None) -> Any:
    from index import open_index

    url = index_url or load_config().index_url.strip()
    if not url:
        path = home / "index.sqlite"
        if not path.is_file():
            return None
        url = str(path)
    return open_index(url)


def check_index_references(home: Path, index_url: str | None, chain: list[dict[str, Any]],
                           report: VerifyReport) -> None:
    from crawler.evidence.verify import RUN_ID
    from index.api import SearchQuery

    try:
        backend = _open(home, index_url)
    except (TrawlError, OSError) as exc:
        report.warnings.append(f"index: not checked ({exc})")
        return
    if backend is None:
        report.checks["index"] = f"no index at {home / 'index.sqlite'}: nothing cites this run"
        return
    by_place = {(Path(e["warc_file"]).name, e["offset"]): e for e in chain
                if e.get("type") != "torn-tail"}
    match = RUN_ID.match(report.run_id)
    query = SearchQuery(site=match.group("site")) if match else None
    cited = 0
    try:
        records: list[tuple[str, Any]] = [
            (f"listing {listing.listing_id}", listing.evidence)
            for listing in backend.iter_listings(query)]
        records += [(f"vendor {vendor.vendor_id}", vendor.evidence) for vendor in backend.vendors()]
    except Exception as exc:  # noqa: BLE001 - a backend down is reported, not a crash
        report.warnings.append(f"index: not checked ({type(exc).__name__}: {exc})")
        return
    finally:
        backend.close()
    for what, evidence in records:
        if evidence is None or evidence.run_id != report.run_id:
            continue
        cited += 1
        place = (Path(evidence.warc_file).name, evidence.warc_offset)
        entry = by_place.get(place)
        if entry is None:
            message = (f"index: {what} cites {evidence.warc_file} offset "
                       f"{evidence.warc_offset}, which is not a chained record")
            if report.state == "open":  # killed: recovery chains it if its bytes are whole
                report.warnings.append(message + " yet (chained when the run is resumed)")
            else:
                report.problems.append(message)
        elif entry.get("payload_sha256") != evidence.payload_sha256:
            report.problems.append(
                f"index: {what} stored payload sha256 {evidence.payload_sha256[:16]}…, the "
                f"record at {entry['warc_file']} offset {entry['offset']} has "
                f"{str(entry.get('payload_sha256'))[:16]}… (record rewritten)")
    if not any(p.startswith("index:") for p in report.problems):
        report.checks["index"] = f"ok ({cited} listings/vendors cite this run)"
