"""Verify a crawl run's evidence: every WARC record against the hash-chained manifest.

`verify_run` re-reads the stored bytes, recomputes record and payload digests, walks
the manifest's chain from the run's genesis hash to `manifest.head`, and reports each
problem with the file, offset or manifest line where it is.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.evidence import _b32_to_hex, canonical_entry_hash, genesis_hash, sha256_hex
from index.errors import TrawlError
from index.home import trawl_home


@dataclass
class VerifyReport:
    run_dir: str
    run_id: str
    records: int = 0
    head: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "run_id": self.run_id, "ok": self.ok,
                "records": self.records, "head": self.head, "problems": self.problems,
                "warnings": self.warnings}


def resolve_run(run: str | Path) -> Path:
    """A run directory path, or a run id under $TRAWL_HOME/runs/."""
    path = Path(run)
    if path.is_dir():
        return path.resolve()
    candidate = trawl_home(create=False) / "runs" / str(run)
    if candidate.is_dir():
        return candidate
    raise TrawlError(f"run {run!r}: no such run directory (looked at {path} and {candidate})")


def _read_manifest(path: Path, closed: bool, report: VerifyReport) -> list[tuple[int, dict]]:
    raw_lines = path.read_bytes().split(b"\n")
    entries: list[tuple[int, dict[str, Any]]] = []
    prev, prev_line = genesis_hash(report.run_id), 0
    for number, raw in enumerate(raw_lines, 1):
        if not raw:
            continue
        where = f"manifest.jsonl line {number}"
        try:
            entry = json.loads(raw)
        except ValueError:
            if number == len(raw_lines) and not closed:
                report.warnings.append(f"{where}: incomplete (crawl killed mid-write); ignored")
            else:
                report.problems.append(f"{where}: not valid JSON (truncated or edited)")
            continue
        if canonical_entry_hash(entry) != entry.get("entry_hash"):
            report.problems.append(f"{where}: entry_hash does not match its content "
                                   f"(entry edited)")
        if entry.get("prev_hash") != prev:
            after = (f"line {prev_line}" if prev_line else "the run's genesis hash")
            report.problems.append(f"{where}: prev_hash does not match {after} "
                                   f"(entry removed or reordered)")
        prev, prev_line = entry.get("entry_hash", ""), number
        entries.append((number, entry))
    report.head = prev
    return entries


def _check_record(run_dir: Path, number: int, entry: dict[str, Any],
                  report: VerifyReport) -> None:
    from warcio.archiveiterator import ArchiveIterator

    where = f"{entry['warc_file']} offset {entry['offset']}"
    ident = f"(record {entry.get('record_id')}, {entry.get('target_uri') or entry.get('type')})"
    path = run_dir / entry["warc_file"]
    if not path.is_file():
        report.problems.append(f"{where}: WARC file missing {ident}")
        return
    with path.open("rb") as fh:
        fh.seek(entry["offset"])
        blob = fh.read(entry["length"])
    if len(blob) < entry["length"]:
        report.problems.append(f"{where}: truncated, {len(blob)} of {entry['length']} bytes "
                               f"present {ident}")
        return
    if sha256_hex(blob) != entry["record_sha256"]:
        report.problems.append(f"{where}: record sha256 mismatch {ident}")
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(blob))))
        payload = record.raw_stream.read()
    except Exception as exc:  # any decode failure of tampered bytes is a finding
        report.problems.append(f"{where}: not a readable WARC record ({type(exc).__name__}) "
                               f"{ident}")
        return
    if record.rec_headers.get_header("WARC-Record-ID") != entry["record_id"]:
        report.problems.append(f"{where}: record id differs from manifest line {number} "
                               f"{ident}")
    if entry["payload_sha256"]:
        stated = _b32_to_hex(record.rec_headers.get_header("WARC-Payload-Digest") or "")
        if sha256_hex(payload) != entry["payload_sha256"] or stated != entry["payload_sha256"]:
            report.problems.append(f"{where}: payload sha256 mismatch {ident}")


def _check_tiling(run_dir: Path, entries: list[dict[str, Any]], report: VerifyReport) -> None:
    """Records of a file must cover it exactly: gaps are records missing from the manifest."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_file.setdefault(entry["warc_file"], []).append(entry)
    on_disk = {p.relative_to(run_dir).as_posix() for p in (run_dir / "warc").glob("*.warc.gz")}
    for name in sorted(on_disk - set(by_file)):
        report.problems.append(f"{name}: WARC file not referenced by the manifest (extra file)")
    for name, file_entries in by_file.items():
        path = run_dir / name
        if not path.is_file():
            continue
        size, position = path.stat().st_size, 0
        for entry in sorted(file_entries, key=lambda e: e["offset"]):
            if entry["offset"] > position:
                report.problems.append(f"{name} offset {position}: {entry['offset'] - position}"
                                       f" bytes not in the manifest (extra or unlisted record)")
            position = max(position, entry["offset"] + entry["length"])
        if size > position:
            message = (f"{name} offset {position}: {size - position} bytes after the last "
                       f"manifest record")
            closed = (run_dir / "manifest.head").exists()
            (report.problems if closed else report.warnings).append(
                message + ("" if closed else " (crawl killed mid-write?)"))


def verify_run(run: str | Path) -> VerifyReport:
    """Check a run's WARC files against its manifest chain and head."""
    run_dir = resolve_run(run)
    report = VerifyReport(str(run_dir), run_dir.name)
    manifest, head_path = run_dir / "manifest.jsonl", run_dir / "manifest.head"
    if not manifest.is_file():
        report.problems.append("manifest.jsonl missing")
        return report
    head: dict[str, Any] | None = None
    if head_path.is_file():
        try:
            head = json.loads(head_path.read_text())
        except ValueError:
            report.problems.append("manifest.head: not valid JSON")
    numbered = _read_manifest(manifest, head_path.is_file(), report)
    entries = [e for _, e in numbered]
    report.records = len(entries)
    if head is None and not head_path.is_file():
        report.warnings.append(f"manifest.head missing: run not closed cleanly; chain checked "
                               f"over {len(entries)} entries")
    elif head is not None and (head.get("head") != report.head
                               or head.get("entries") != len(entries)):
        report.problems.append(
            f"manifest.head: says {head.get('entries')} entries ending {str(head.get('head'))[:16]}"
            f"…, manifest.jsonl has {len(entries)} ending {report.head[:16]}… "
            f"(entries removed, added or edited)")
    for number, entry in numbered:
        try:
            _check_record(run_dir, number, entry, report)
        except KeyError as exc:
            report.problems.append(f"manifest.jsonl line {number}: field {exc} missing")
    try:
        _check_tiling(run_dir, entries, report)
    except KeyError:
        pass  # already reported per line
    return report
