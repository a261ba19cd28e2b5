"""Evidence: every fetched response preserved in WARC files, with a hash-chained manifest.

Layout of a run (`$TRAWL_HOME/runs/<run_id>/`):

    warc/<run_id>-00000.warc.gz   gzip-per-record WARC 1.1, rotated at TRAWL_WARC_MAX_BYTES
    manifest.jsonl                one line per WARC record, hash-chained (see chain_entry)
    manifest.head                 the latest signed head {"run_id", "entries", "head",
                                  "state": open|closed, ...}, see crawler.evidence.anchor
    manifest.head.tsr             its RFC 3161 timestamp token, when a TSA is configured
    anchors/heads.jsonl           every head this run signed (one per segment start/close)
    quarantine/*.torn             torn bytes a kill left, see crawler.evidence.recover

Checking a run is `crawler.evidence.verify.verify_run`.  Before the store stage writes a
batch it calls `make_evidence_durable`: the manifest lines of every record the batch
cites are on disk before the index refers to them.  The worker pool hands pages out after
`start_evidence_barrier` instead: the same syncs, run by the writer's own thread in order
(`EvidenceWriter.sync_in_background`), so the crawl's reactor does not wait on fsync.

Digests: WARC-Payload-Digest and WARC-Block-Digest are `sha256:<BASE32>` (warcio's
notation: RFC 4648 base32 of the raw 32-byte digest); the manifest and
`response.meta["trawl_evidence"].payload_sha256` carry the same payload digest as
lowercase hex. The payload is the HTTP entity as received (Content-Encoding kept;
Transfer-Encoding already removed by the client, so that header is not stored).

What is stored per response: a `request` record (method, path, headers, body with login
secrets replaced by `[REDACTED]`) and a `response` record (status, headers, raw body),
linked by WARC-Concurrent-To. Header values of Authorization, Cookie and
Proxy-Authorization (requests) and Set-Cookie (responses) are stored as `[REDACTED]`:
they are session credentials, and the body digest does not cover headers anyway.
Browser-rendered pages (request.meta["playwright"]) have no raw server bytes available:
they get a `resource` record of the rendered DOM as HTML (`WARC-Trawl-Rendered:
chromium`, Content-Type text/html) and, when a screenshot page method ran, a `resource`
record of the PNG; both concurrent-to the request record.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from isal import isal_zlib

from core.redact import redact_records
from crawler.evidence.records import Sha256WARCWriter, serialize_record

if TYPE_CHECKING:

    from crawler.evidence.anchor import HeadAnchor
    from crawler.evidence.recover import RecoveryReport

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
# a browser-rendered page's `resource` record: the DOM as Chromium serialised it, UTF-8
RENDERED_CONTENT_TYPE = "text/html; charset=utf-8"
# Each record is its own gzip member, compressed by ISA-L (python-isal): any gzip reader reads
# it.  Level 2 of ISA-L's 0-3 takes about a quarter of zlib level 6's CPU (a 6 kB page: 87 ->
# 23 us) for members 0.8% larger (57 saved real market pages); the crawl process compresses
# every request and response it keeps, on the thread that also drives the crawl.
MEMBER_LEVEL = 2


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- writer -------------------------------------------------------------------------

@dataclass
class WrittenRecord:
    warc_file: Path
    offset: int
    length: int
    record_id: str
    payload_sha256: str


class EvidenceWriter:
    """Appends WARC records and their manifest entries.

    Group commit: WARC bytes go to the OS at once (a killed process loses nothing
    written); manifest lines are held until the WARC is fsync'ed, then written and
    fsync'ed, at most `sync_interval` seconds later (0 = every exchange). So even after
    a power loss every manifest line on disk points at WARC bytes on disk, and a killed
    crawl leaves a valid prefix (its last records show up as trailing WARC bytes)."""

    def __init__(self, run_dir: Path, run_id: str, max_bytes: int = 100 * 2**20,
                 fsync: bool = True, sync_interval: float = 0.0,
                 anchor: HeadAnchor | None = None) -> None:
        self.run_dir, self.run_id = run_dir, run_id
        self.max_bytes, self.fsync, self.sync_interval = max_bytes, fsync, sync_interval
        self.anchor = anchor
        self._last_sync = time.monotonic()
        # the sync interval runs from the first record: counted from start-up (a crawl opens its
        # writer a second or more before its first response), the first record was synced at
        # once, two fsyncs on the crawl's reactor in the moments only it is working
        self._appended = False
        self.warc_dir = run_dir / "warc"
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        self.manifest_path = run_dir / "manifest.jsonl"
        self.seq, self.head = 0, genesis_hash(run_id)
        self.captured: dict[str, tuple[Path, int, str]] = {}
        # a resumed segment writes a new WARC file: nothing is appended after a kill
        self.file_no = self._next_file_number()
        self._warc_path: tuple[int, Path] = (-1, self.warc_dir)
        self._relative_path: tuple[Path | None, str] = (None, "")
        self._warc: IO[bytes] | None = None
        self._pending_manifest: list[dict[str, Any]] = []
        # the crawl appends to it while a background sync takes lines off its head
        self._pending_lock = threading.Lock()
        self._manifest = self.manifest_path.open("ab")
        self._syncer: ThreadPoolExecutor | None = None  # one thread: background syncs run in order
        self._background: Future[None] | None = None  # the latest background sync
        # records are serialised plain and gzipped here, one member each (what warcio's
        # gzip=True does too), at level 6: level 9 costs ~2x the CPU for ~1% smaller files
        self.writer = Sha256WARCWriter(None, gzip=False, warc_version="1.1")
        self.recovery: RecoveryReport | None = None
        if self.manifest_path.stat().st_size or any(self.warc_dir.iterdir()):
            from crawler.evidence.recover import recover_evidence

            self.recovery = recover_evidence(self)
        if self.anchor is not None:  # a signed "open" head marks where this segment starts
            self.anchor.publish(self.seq, self.head, "open")

    def read_manifest(self) -> list[dict[str, Any]] | None:
        """The manifest's entries (complete lines), or None if a line is not JSON."""
        entries = []
        for line in self.manifest_path.read_bytes().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                return None
        return entries

    def continue_chain(self, entries: list[dict[str, Any]]) -> None:
        """Continue the chain after `entries`, remembering where each URL's body is
        (a resumed crawl points frontier-replayed responses at it)."""
        previous_type = ""
        for entry in entries:
            self.seq, self.head = entry["seq"] + 1, entry["entry_hash"]
            if previous_type == "request":  # write order: request, main record, extras
                self.captured[entry["target_uri"]] = (self.run_dir / entry["warc_file"],
                                                      entry["offset"], entry["payload_sha256"])
            previous_type = entry["type"]

    def _next_file_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.warc_dir.glob(f"{self.run_id}-*.warc.gz")
                   if (m := re.search(r"-(\d{5})\.warc\.gz$", p.name))]
        return max(numbers) + 1 if numbers else 0

    @property
    def warc_path(self) -> Path:
        # asked for every record: built once per file (Path joins were 7% of appending one)
        if self._warc_path[0] != self.file_no:
            self._warc_path = (self.file_no, self.warc_dir / f"{self.run_id}-{self.file_no:05d}.warc.gz")
        return self._warc_path[1]

    def _relative(self, warc_file: Path) -> str:
        """The manifest's `warc_file`: relative to the run directory, once per file."""
        if self._relative_path[0] != warc_file:
            self._relative_path = (warc_file, warc_file.relative_to(self.run_dir).as_posix())
        return self._relative_path[1]

    def _open_warc(self, incoming: int) -> IO[bytes]:
        if self._warc is not None and self._warc.tell() + incoming > self.max_bytes \
                and self._warc.tell() > 0:
            self._sync_warc()  # pending manifest lines may point into this file
            self._warc.close()
            self._warc = None
            self.file_no += 1
        if self._warc is None:
            self._warc = self.warc_path.open("ab")
            if self._warc.tell() == 0:
                self._write_warcinfo()
        return self._warc

    def _write_warcinfo(self) -> None:
        info = {"software": "trawl (read-only monitoring crawler)", "format": "WARC 1.1",
                "trawl-run": self.run_id}
        record = self.writer.create_warcinfo_record(self.warc_path.name, info)
        self._append([record])

    def _serialize(self, record: Any) -> bytes:
        member = isal_zlib.compressobj(MEMBER_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
        return member.compress(serialize_record(record)) + member.flush()  # warcio's bytes (records.py)

    def _append(self, records: list[Any]) -> list[WrittenRecord]:
        if not self._appended:
            self._appended = True
            self._last_sync = time.monotonic()
        blobs = [self._serialize(r) for r in records]
        warc = self._open_warc(sum(map(len, blobs)))
        written: list[WrittenRecord] = []
        for record, blob in zip(records, blobs, strict=True):
            offset = warc.tell()
            warc.write(blob)
            payload = record.rec_headers.get_header("WARC-Payload-Digest") or ""
            written.append(WrittenRecord(self.warc_path, offset, len(blob),
                                         record.rec_headers.get_header("WARC-Record-ID"),
                                         _b32_to_hex(payload)))
            self.chain_entry(self.record_entry(record, written[-1], blob))
        warc.flush()
        if not self.fsync or time.monotonic() - self._last_sync >= self.sync_interval:
            self.sync()
        return written

    @property
    def pending(self) -> int:
        return len(self._pending_manifest)

    def pending_entries(self) -> list[dict[str, Any]]:
        with self._pending_lock:
            return list(self._pending_manifest)

    def _sync_warc(self) -> None:
        if self._warc is not None:
            self._warc.flush()
            if self.fsync:
                os.fsync(self._warc.fileno())

    def sync(self) -> None:
        """Make the WARC durable, then the manifest lines that point into it (after a
        background sync still running: lines reach the manifest in chain order)."""
        if self._background is not None:
            wait_for([self._background])  # its error, if any, went to whoever started it
        self._last_sync = time.monotonic()
        last_seq = self._last_pending_seq()
        if last_seq is None:
            return
        self._sync_warc()
        self._write_manifest(last_seq)

    def _last_pending_seq(self) -> int | None:
        """The seq of the newest line not on disk yet (None: none is pending)."""
        with self._pending_lock:  # a background sync may be taking lines off the head
            return self._pending_manifest[-1]["seq"] if self._pending_manifest else None

    def sync_in_background(self) -> Future[None] | None:
        """`sync` with its fsyncs on a thread of its own, so the crawl's reactor keeps fetching
        (each sync pair took 2-3 ms of it: 4-7% of a testbed crawl).  The WARC bytes reach the
        OS here; the future is done once every manifest line pending now is on disk (None:
        nothing is pending).  A failure stays in the future and the lines stay pending."""
        self._last_sync = time.monotonic()
        last_seq = self._last_pending_seq()
        if last_seq is None:
            return self._background  # lines an earlier call took may still be on their way
        warc_fd = None
        if self._warc is not None:
            self._warc.flush()
            warc_fd = os.dup(self._warc.fileno())  # this file's bytes, even if it rotates meanwhile
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(1, thread_name_prefix="trawl-evidence-sync")
        self._background = self._syncer.submit(self._sync_from_thread, warc_fd, last_seq)
        return self._background

    def _sync_from_thread(self, warc_fd: int | None, last_seq: int) -> None:
        try:
            if warc_fd is not None and self.fsync:
                os.fsync(warc_fd)
        finally:
            if warc_fd is not None:
                os.close(warc_fd)
        self._write_manifest(last_seq)

    def _write_manifest(self, last_seq: int) -> None:
        """Write the pending lines up to `last_seq` (their WARC bytes are durable), then fsync.
        Lines chained meanwhile stay pending: their records may not be durable yet."""
        with self._pending_lock:
            count = 0
            for entry in self._pending_manifest:
                if entry["seq"] > last_seq:
                    break
                count += 1
            if not count:
                return
            self._manifest.write(b"".join(_MANIFEST_JSON.encode(e).encode() + b"\n"
                                          for e in self._pending_manifest[:count]))
            del self._pending_manifest[:count]  # written: a failed fsync below is not retried, as before
        self._manifest.flush()
        if self.fsync:
            os.fsync(self._manifest.fileno())

    def record_entry(self, record: Any, written: WrittenRecord, blob: bytes) -> dict[str, Any]:
        return {
            "warc_file": self._relative(written.warc_file),
            "offset": written.offset,
            "length": written.length,
            "record_id": written.record_id,
            "type": record.rec_type,
            "target_uri": record.rec_headers.get_header("WARC-Target-URI") or "",
            "payload_sha256": written.payload_sha256,
            "record_sha256": sha256_hex(blob),
        }

    def chain_entry(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Give `fields` the next seq and link it to the head; queued for the next sync."""
        entry = {**fields, "seq": self.seq, "prev_hash": self.head}
        entry["entry_hash"] = canonical_entry_hash(entry)
        self.seq, self.head = self.seq + 1, entry["entry_hash"]
        with self._pending_lock:
            self._pending_manifest.append(entry)
        return entry

    def write_exchange(self, url: str, request_record: Any, main_record: Any,
                       extra: list[Any]) -> list[WrittenRecord]:
        """Request + response (or rendered resource) + extras, concurrent-to linked."""
        main_id = main_record.rec_headers.get_header("WARC-Record-ID")
        for record in [request_record, *extra]:
            record.rec_headers.add_header("WARC-Concurrent-To", main_id)
        redact_records([request_record, main_record, *extra])  # login secrets in URLs/headers
        written = self._append([request_record, main_record, *extra])
        main = written[1]
        self.captured[url] = (main.warc_file, main.offset, main.payload_sha256)
        return written

    def close(self) -> str:
        self.sync()
        if self._syncer is not None:
            self._syncer.shutdown()
        if self._warc is not None:
            self._warc.close()
        self._manifest.close()
        if self.anchor is not None:
            self.anchor.publish(self.seq, self.head, "closed")
        else:  # unsigned (tools and tests): `trawl evidence verify` refuses it
            head = {"run_id": self.run_id, "entries": self.seq, "head": self.head,
                    "state": "closed"}
            tmp = self.run_dir / "manifest.head.tmp"
            with tmp.open("w") as fh:
                fh.write(json.dumps(head) + "\n")
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.run_dir / "manifest.head")
        return self.head


@lru_cache(maxsize=64)  # every GET request's empty body has the same one
def _b32_to_hex(digest: str) -> str:
    if not digest.startswith("sha256:"):
        return ""
    return base64.b32decode(digest.removeprefix("sha256:")).hex()


# --- middleware ----------------------------------------------------------------------

# Sent by the store stage before it writes a batch (`make_evidence_durable`): every record
# a stored item cites must be in the manifest chain first, so a kill can never leave a
# listing pointing at a record the chain does not vouch for.
evidence_barrier = object()


# The same, for a caller that can wait without blocking the reactor (the worker pool hands a
# round of jobs out once it is done): receivers return the future of a background sync.
evidence_barrier_background = object()


def make_evidence_durable(crawler: Any) -> None:
    """Sync the evidence manifest now; raises if that failed (the batch must not be stored)."""
    _send_barrier(crawler, evidence_barrier)


def start_evidence_barrier(crawler: Any) -> list[Future[None]]:
    """`make_evidence_durable` without waiting: the evidence is durable once every returned
    future is done without error (none returned: nothing was pending, or evidence is off)."""
    return [future for future in _send_barrier(crawler, evidence_barrier_background) if future is not None]


def _send_barrier(crawler: Any, signal: object) -> list[Any]:
    from twisted.python.failure import Failure

    results = []
    for _receiver, result in crawler.signals.send_catch_log(signal=signal):
        if isinstance(result, Failure):
            result.raiseException()
        results.append(result)
    return results


# --- verification --------------------------------------------------------------------

GENESIS_PREFIX = "trawl-manifest-v1:"


def genesis_hash(run_id: str) -> str:
    """prev_hash of entry 0: binds the chain to its run id."""
    return sha256_hex((GENESIS_PREFIX + run_id).encode())


# json.dumps with these arguments builds an encoder each call; one kept gives the same text
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_MANIFEST_JSON = json.JSONEncoder(sort_keys=True)


def canonical_entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    return sha256_hex(_CANONICAL_JSON.encode(body).encode())
