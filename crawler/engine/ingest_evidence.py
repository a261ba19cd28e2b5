"""The ingest run's own evidence: each page read is copied into the run's WARC (request +
response, dated by its capture) with `crawler.evidence.writer`, and each manifest line also
names the page's source (path, size, sha256, record offset, capture time)."""
from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

from crawler.evidence.reader import ArchivedPage
from crawler.evidence.writer import REDACTED, EvidenceWriter, WrittenRecord

DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}  # the copy holds the decoded body


class IngestEvidence(EvidenceWriter):
    """The run's WARC + manifest, each manifest line also naming the page's source."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.source: dict[str, Any] = {}  # set by copy_page before each exchange
        super().__init__(*args, **kwargs)

    def record_entry(self, record: Any, written: WrittenRecord, blob: bytes) -> dict[str, Any]:
        entry = super().record_entry(record, written, blob)
        return {**entry, **self.source} if record.rec_type in ("request", "response") else entry


def copy_page(writer: IngestEvidence, run_id: str, page: ArchivedPage, source: dict[str, Any]) -> WrittenRecord:
    """Write `page` into the run's WARC (request + response, dated by its capture)."""
    from warcio.statusandheaders import StatusAndHeaders

    parts = urlsplit(page.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    warc_headers = {"WARC-Date": page.captured_at, "WARC-Trawl-Run": run_id,
                    "WARC-Trawl-Ingest-Source": source["source_path"],
                    "WARC-Trawl-Ingest-Source-Sha256": source["source_sha256"]}
    if source.get("source_offset") is not None:
        warc_headers["WARC-Trawl-Ingest-Source-Offset"] = str(source["source_offset"])
    request = StatusAndHeaders(f"GET {path} HTTP/1.1", [("Host", parts.netloc)], protocol="HTTP/1.1",
                               is_http_request=True)
    headers = [(k, REDACTED if k.lower() == "set-cookie" else v) for k, v in page.headers
               if k.lower() not in DROP_HEADERS]
    if not page.headers:
        headers = [("Content-Type", page.content_type or "text/html")]
    headers.append(("Content-Length", str(len(page.body))))
    response = StatusAndHeaders(f"{page.status or 200} {'OK' if page.status in (0, 200) else 'Archived'}", headers,
                                protocol="HTTP/1.1")
    make = writer.writer.create_warc_record
    writer.source = {**source, "captured_at": page.captured_at}
    written = writer.write_exchange(
        page.url, make(page.url, "request", payload=io.BytesIO(b""), length=0, http_headers=request,
                       warc_headers_dict=dict(warc_headers)),
        make(page.url, "response", payload=io.BytesIO(page.body), length=len(page.body), http_headers=response,
             warc_headers_dict=dict(warc_headers)), [])
    return written[1]
