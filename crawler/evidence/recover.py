"""Recovering a killed run's evidence before a resumed crawl writes more of it.

A SIGKILL leaves up to three loose ends: WARC records written but whose manifest lines
were still held for the group commit, a gzip member cut mid-write at the end of the
last WARC file, and half a manifest line.  Before the resumed segment writes anything:

* every complete record after the last manifest record of a WARC file, whose block and
  payload digests match its own WARC headers and which belongs to this run, is chained
  into the manifest as it stands (entry field `"recovered": true`).  Listings stored
  before the kill may cite such a record; now it is in the chain;
* whatever follows (a torn record) is moved to `quarantine/<warc name>@<offset>.torn`,
  the WARC file is cut back to the end of its last complete record, and a `torn-tail`
  entry records the quarantined bytes' length and SHA-256 and where they were;
* a manifest line without its newline is quarantined the same way.

The resumed segment then writes to a new WARC file, so no file is appended to after a
kill.  `trawl evidence verify` checks recovered records like any other and each
quarantined file against its torn-tail entry.
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.evidence.writer import WrittenRecord, sha256_hex

if TYPE_CHECKING:
    from crawler.evidence.writer import EvidenceWriter

logger = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"


@dataclass
class RecoveryReport:
    adopted: int = 0
    torn: list[str] = field(default_factory=list)  # "warc/x.warc.gz@123 (456 bytes)"
    removed_empty: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.adopted or self.torn or self.removed_empty)


def _next_member(data: bytes, start: int) -> tuple[bytes, bytes] | None:
    """(compressed member, decompressed bytes) of the gzip member at `start`, or None if torn."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        plain = inflater.decompress(memoryview(data)[start:])
    except zlib.error:
        return None
    if not inflater.eof:
        return None
    end = len(data) - len(inflater.unused_data)
    return data[start:end], plain


def _digest_hex(value: str) -> str:
    if not value.startswith("sha256:"):
        return ""
    try:
        return base64.b32decode(value.removeprefix("sha256:")).hex()
    except ValueError:
        return ""


def _intact_record(member: bytes, plain: bytes, run_id: str) -> tuple[Any, str] | None:
    """The parsed record and its payload digest, if the record is whole and this run's."""
    from warcio.archiveiterator import ArchiveIterator

    _warc_headers, sep, rest = plain.partition(b"\r\n\r\n")
    if not sep or not rest.endswith(b"\r\n\r\n"):
        return None
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        payload = record.raw_stream.read()
    except Exception:  # noqa: BLE001 - an unreadable record is a torn one
        return None
    headers = record.rec_headers
    block = _digest_hex(headers.get_header("WARC-Block-Digest") or "")
    if block and block != sha256_hex(rest[:-4]):
        return None
    stated = _digest_hex(headers.get_header("WARC-Payload-Digest") or "")
    if stated and stated != sha256_hex(payload):
        return None
    if record.rec_type != "warcinfo" and headers.get_header("WARC-Trawl-Run") != run_id:
        return None
    return record, stated


def _quarantine(writer: EvidenceWriter, source: Path, offset: int,
                report: RecoveryReport) -> dict[str, Any] | None:
    """Move source[offset:] into quarantine/ and cut source back to `offset`."""
    data = source.read_bytes()[offset:]
    if not data:
        return None
    directory = writer.run_dir / QUARANTINE_DIR
    directory.mkdir(exist_ok=True)
    target = directory / f"{source.name}@{offset}.torn"
    with target.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    with source.open("r+b") as fh:
        fh.truncate(offset)
        os.fsync(fh.fileno())
    relative = source.relative_to(writer.run_dir).as_posix()
    report.torn.append(f"{relative}@{offset} ({len(data)} bytes)")
    logger.warning("evidence recovery: %d torn bytes at %s offset %d quarantined as %s",
                   len(data), relative, offset, target.name)
    return {"type": "torn-tail", "warc_file": target.relative_to(writer.run_dir).as_posix(),
            "offset": 0, "length": len(data), "record_id": "", "target_uri": "",
            "payload_sha256": "", "record_sha256": hashlib.sha256(data).hexdigest(),
            "source_file": relative, "source_offset": offset}


def _manifest_torn_tail(writer: EvidenceWriter, report: RecoveryReport) -> dict[str, Any] | None:
    path = writer.manifest_path
    if not path.is_file():
        return None
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    return _quarantine(writer, path, cut, report) if cut < len(data) else None


def _chain_orphans(writer: EvidenceWriter, entries: list[dict[str, Any]],
                   report: RecoveryReport) -> None:
    """A quarantined file whose entry never reached the manifest (killed mid-recovery)."""
    chained = {e.get("warc_file") for e in entries} | {
        e.get("warc_file") for e in writer.pending_entries()}
    for path in sorted((writer.run_dir / QUARANTINE_DIR).glob("*.torn")):
        name = path.relative_to(writer.run_dir).as_posix()
        if name in chained:
            continue
        source, _, offset = path.name.removesuffix(".torn").rpartition("@")
        source = f"warc/{source}" if source.endswith(".warc.gz") else source
        data = path.read_bytes()
        report.torn.append(f"{name} (left by an interrupted recovery, {len(data)} bytes)")
        writer.chain_entry({"type": "torn-tail", "warc_file": name, "offset": 0,
                            "length": len(data), "record_id": "", "target_uri": "",
                            "payload_sha256": "", "record_sha256": hashlib.sha256(data).hexdigest(),
                            "source_file": source, "source_offset": int(offset or 0)})


def recover_evidence(writer: EvidenceWriter) -> RecoveryReport:
    """Bring a killed run's WARC files and manifest back to one consistent chain."""
    report = RecoveryReport()
    torn_manifest = _manifest_torn_tail(writer, report)
    entries = writer.read_manifest()
    if entries is None:  # a complete line that is not JSON: not a kill, tampering; verify says so
        logger.error("evidence recovery skipped: %s has an unreadable line", writer.manifest_path)
        return report
    writer.continue_chain(entries)
    if torn_manifest is not None:
        writer.chain_entry(torn_manifest)
    ends: dict[str, int] = {}
    for entry in entries:
        if entry.get("type") != "torn-tail":
            name = entry["warc_file"]
            ends[name] = max(ends.get(name, 0), entry["offset"] + entry["length"])
    for path in sorted(writer.warc_dir.glob(f"{writer.run_id}-*.warc.gz")):
        name = path.relative_to(writer.run_dir).as_posix()
        start, size = ends.get(name, 0), path.stat().st_size
        if 0 < size <= start:
            continue  # fully chained: the usual case, not read at all
        with path.open("rb") as fh:
            fh.seek(start)
            tail = fh.read()
        used = 0
        while used < len(tail):
            found = _next_member(tail, used)
            intact = _intact_record(*found, writer.run_id) if found else None
            if found is None or intact is None:
                break
            record, payload = intact
            member = found[0]
            written = WrittenRecord(path, start + used, len(member),
                                    record.rec_headers.get_header("WARC-Record-ID"), payload)
            writer.chain_entry(writer.record_entry(record, written, member) | {"recovered": True})
            report.adopted += 1
            used += len(member)
        position = start + used
        if position < size:
            torn = _quarantine(writer, path, position, report)
            if torn is not None:
                writer.chain_entry(torn)
        if path.stat().st_size == 0:  # opened, killed before its warcinfo record
            path.unlink()
            report.removed_empty.append(name)
    _chain_orphans(writer, entries, report)
    if report.adopted:
        logger.warning("evidence recovery: %d WARC records written before the kill chained "
                       "into the manifest", report.adopted)
    writer.sync()
    writer.continue_chain(writer.read_manifest() or [])  # bodies of adopted records too
    return report


def evidence_left_open(run_dir: Path) -> bool:
    """Whether a run was cut short as far as its evidence can tell: its last signed head is
    `open` (killed mid-segment, or between the stats and evidence close), or no evidence
    was written and the run never recorded an end (killed before the spider opened).
    Such a run is resumable."""
    import json

    try:
        state = json.loads((run_dir / "manifest.head").read_text()).get("state")
    except FileNotFoundError:
        if not evidence_never_started(run_dir):
            return False  # records but no head: not a kill (verify reports it)
        try:
            status = json.loads((run_dir / "stats.json").read_text()).get("status")
        except FileNotFoundError:
            return True
        except (OSError, ValueError, AttributeError):
            return False
        return status == "running"
    except (OSError, ValueError, AttributeError):
        return False
    return state == "open"


def evidence_never_started(run_dir: Path) -> bool:
    """No head, no record: the writer was killed before (or while) opening."""
    manifest = run_dir / "manifest.jsonl"
    return (not (run_dir / "manifest.head").exists()
            and (not manifest.exists() or manifest.stat().st_size == 0)
            and not any((run_dir / "warc").glob("*.warc.gz")))
