"""Pages back out of WARC files: ours (a run's evidence) or anyone's (wget, Heritrix, browsertrix).

A reprocess re-reads a run's pages by the manifest; an ingest reads a third-party WARC from
start to end; the processing workers read one record by the `Evidence` a crawl handed them.
All three get the same `ArchivedPage`: the URL, status, headers, the entity body with its
transfer and content encodings undone (what the page object parses), the capture time, and
where the record sits so the records built from it can cite it.
"""
from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from core.records import Evidence

MAX_MEMBER = 64 * 2**20  # one record's gzip member; crawled pages are far smaller
MAX_BODY = 20 * 2**20  # a page above this is not parsed (nor is it by the crawler's page objects)
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/json", "text/xml", "application/xml")


class EvidenceReadError(TrawlError):
    """A WARC record could not be read back (missing file, bad offset, torn or oversized record)."""


@dataclass
class ArchivedPage:
    """One archived HTTP response (or rendered-DOM resource) as a page object would see it."""

    url: str
    status: int
    body: bytes  # transfer/content encodings undone
    content_type: str = ""
    captured_at: str = ""  # WARC-Date, ISO-8601 UTC
    record_type: str = "response"  # or "resource" (a browser-rendered DOM)
    warc_file: str = ""  # the file it was read from (as given by the caller)
    offset: int = 0  # of the record's gzip member (0 for an uncompressed WARC's first record)
    payload_sha256: str = ""  # hex digest of the payload as stored (Content-Encoding kept)
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body decoded the way Scrapy decodes a response (header charset, BOM, meta, then guess)."""
        from w3lib.encoding import html_to_unicode

        _, text = html_to_unicode(self.content_type or None, self.body)
        return text

    @property
    def is_page(self) -> bool:
        """HTML or another text type a page object can read (not images, scripts, fonts...)."""
        kind = self.content_type.split(";")[0].strip().lower()
        return (not kind and self.body.lstrip()[:1] == b"<") or kind in PAGE_TYPES


def _page_of(record: Any, source: str, offset: int) -> ArchivedPage | None:
    """The page a warcio record holds, or None for records that are not one (request, metadata...)."""
    import hashlib

    if record.rec_type not in ("response", "resource"):
        return None
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    raw = record.raw_stream.read(MAX_BODY + 1)  # payload as stored: content encoding kept
    if len(raw) > MAX_BODY:
        return None
    status, content_type, headers = 200, "", []
    if record.http_headers is not None and record.rec_type == "response":
        status = int(record.http_headers.get_statuscode() or 0)
        content_type = record.http_headers.get_header("Content-Type") or ""
        headers = list(record.http_headers.headers)
    else:
        content_type = record.rec_headers.get_header("Content-Type") or ""
    body = _decode(raw, record.http_headers.get_header("Content-Encoding") if record.http_headers is not None else None)
    return ArchivedPage(url=url, status=status, body=body, content_type=content_type,
                        captured_at=_iso(record.rec_headers.get_header("WARC-Date") or ""),
                        record_type=record.rec_type, warc_file=source, offset=offset,
                        payload_sha256=hashlib.sha256(raw).hexdigest(), headers=headers)


def _decode(raw: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Encoding (gzip, deflate, br); a body that does not decode is kept as stored."""
    name = (encoding or "").strip().lower()
    try:
        if name in ("gzip", "x-gzip"):
            return zlib.decompress(raw, zlib.MAX_WBITS | 32, MAX_BODY)
        if name == "deflate":
            try:
                return zlib.decompress(raw, zlib.MAX_WBITS, MAX_BODY)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS, MAX_BODY)  # raw deflate, as some servers send
        if name == "br":
            import brotli  # type: ignore[import-untyped]

            return bytes(brotli.decompress(raw))
    except Exception:  # noqa: BLE001 - a mislabelled body is still worth parsing as is
        return raw
    return raw


def _iso(warc_date: str) -> str:
    """WARC-Date (`2017-06-01T12:00:00Z`, maybe with fractions) as the index's ISO-8601 UTC form."""
    value = warc_date.strip()
    if "." in value:
        value = value.split(".", 1)[0] + "Z"
    return value


def iter_warc_pages(path: Path, *, label: str = "") -> Iterator[ArchivedPage]:
    """Every response/resource record of a WARC or WARC.gz file, in file order (any producer)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    source = label or str(path)
    try:
        with path.open("rb") as handle:
            iterator = ArchiveIterator(handle)
            for record in iterator:
                # the body first: asking warcio for the offset reads the record to its end
                page = _page_of(record, source, 0)
                if page is not None:
                    page.offset = iterator.get_record_offset()
                    yield page
    except ArchiveLoadFailed as exc:
        raise EvidenceReadError(f"{path}: not a readable WARC ({exc})") from exc


# A record's member is read in steps that double from FIRST_READ up to LAST_READ: a page's
# member is a few kB, and reading (and copying) 256 kB for each one, as a fixed step did, was
# about a third of reading a record back (reprocess, the dashboard's evidence view).
FIRST_READ = 32 * 1024
LAST_READ = 1024 * 1024


def read_member(path: Path, offset: int) -> bytes:
    """The gzip member (one WARC record) starting at `offset` in `path`."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    chunks: list[bytes] = []
    size = inflated = 0
    step = FIRST_READ
    with path.open("rb") as handle:
        handle.seek(offset)
        while not inflater.eof and size < MAX_MEMBER:
            chunk = handle.read(step)
            if not chunk:
                break
            step = min(2 * step, LAST_READ)
            try:
                inflated += len(inflater.decompress(chunk, MAX_BODY))
            except zlib.error as exc:
                raise EvidenceReadError(f"{path}@{offset}: not the start of a gzip record ({exc})") from exc
            if inflater.unconsumed_tail or inflated > MAX_BODY + 2**20:  # a gzip bomb stops here
                raise EvidenceReadError(f"{path}@{offset}: record larger than {MAX_BODY} bytes")
            chunks.append(chunk)
            size += len(chunk)
    if not inflater.eof:
        raise EvidenceReadError(f"{path}@{offset}: record cut short (torn or truncated file)")
    return b"".join(chunks)[:size - len(inflater.unused_data)]


def read_record(path: Path, offset: int, *, label: str = "") -> ArchivedPage:
    """The page in the record at `offset` of a gzip-per-record WARC (what `Evidence` points at)."""
    from warcio.archiveiterator import ArchiveIterator

    member = read_member(path, offset)
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
    except Exception as exc:  # any parse failure is the same answer: not a record
        raise EvidenceReadError(f"{path}@{offset}: not a WARC record ({exc})") from exc
    page = _page_of(record, label or str(path), offset)
    if page is None:
        raise EvidenceReadError(f"{path}@{offset}: a {record.rec_type} record, not a response")
    return page


def evidence_path(evidence: Evidence, home: Path) -> Path:
    """The WARC file an `Evidence` names; it must sit under its own run's directory."""
    if not evidence.run_id or not evidence.warc_file:
        raise EvidenceReadError("no evidence stored for this record (crawled with evidence off?)")
    run_dir = _run_dir(home, evidence.run_id)
    candidate = (home / evidence.warc_file).resolve()  # each time: the file itself may since be a symlink
    if not candidate.is_relative_to(run_dir):
        raise EvidenceReadError(f"{evidence.warc_file}: outside its run directory {run_dir}")
    if not candidate.is_file():
        raise EvidenceReadError(f"{candidate}: evidence file missing")
    return candidate


@lru_cache(maxsize=256)
def _run_dir(home: Path, run_id: str) -> Path:
    # a worker reads thousands of records of one run: its directory is resolved once (if it
    # were swapped for a symlink later, files under the new target would fail the check:
    # refused, never let out)
    return (home / "runs" / run_id).resolve()


def read_evidence(evidence: Evidence, home: Path) -> ArchivedPage:
    """The page an `Evidence` reference names, read back from its run's WARC."""
    return read_record(evidence_path(evidence, home), evidence.warc_offset, label=evidence.warc_file)


@dataclass(frozen=True)
class RecordRef:
    """One response (or rendered resource) record a run's manifest lists: where to read it."""

    run_dir: Path
    warc: Path
    offset: int
    label: str  # the WARC file relative to $TRAWL_HOME, as evidence names it
    payload_sha256: str


def run_records(run_dir: Path, home: Path) -> Iterator[RecordRef]:
    """The response and resource records of a run, in capture order, by its manifest (so only
    records the hash chain covers count); nothing is read from the WARCs yet."""
    import json

    manifest = run_dir / "manifest.jsonl"
    if not manifest.is_file():
        raise EvidenceReadError(f"{run_dir}: no manifest.jsonl (not a run directory, or crawled with evidence off)")
    labels: dict[str, str] = {}
    with manifest.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise EvidenceReadError(f"{manifest}:{number}: not JSON ({exc})") from exc
            if entry.get("type") not in ("response", "resource"):
                continue
            warc = run_dir / entry["warc_file"]
            if entry["warc_file"] not in labels:  # one resolve per WARC file, not per record
                labels[entry["warc_file"]] = warc.resolve().relative_to(home.resolve()).as_posix()
            yield RecordRef(run_dir, warc, int(entry["offset"]), labels[entry["warc_file"]],
                            entry.get("payload_sha256") or "")


def read_run_record(ref: RecordRef) -> tuple[ArchivedPage, Evidence] | None:
    """The page a `run_records` entry holds, with the `Evidence` that cites it (None: not a page)."""
    page = read_record(ref.warc, ref.offset, label=ref.label)
    if not page.is_page:
        return None
    return page, Evidence(run_id=ref.run_dir.name, warc_file=page.warc_file, warc_offset=page.offset,
                          payload_sha256=ref.payload_sha256 or page.payload_sha256)


def run_pages(run_dir: Path, home: Path) -> Iterator[tuple[ArchivedPage, Evidence]]:
    """Every page a run preserved, in capture order, with the `Evidence` that cites it.

    Read by the run's manifest (so only records the hash chain covers count); the run id is
    the directory's name."""
    for ref in run_records(run_dir, home):
        read = read_run_record(ref)
        if read is not None:
            yield read
