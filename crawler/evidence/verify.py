"""Verify a crawl run's evidence: every WARC record against the hash-chained manifest,
the chain against its signed head, the head against where it was published, and the
index's evidence references against the records they cite.

Checks, each reporting problems with the file, offset or manifest line where they are:

* records: every manifest entry's bytes, record and payload digests; WARC files tiled
  exactly by their entries; quarantined torn tails against their `torn-tail` entries;
* chain: every entry links to the one before it, from the run's genesis hash;
* head: `manifest.head` exists (a missing head is a failure), is signed by a key in
  `$TRAWL_HOME/keys/evidence-public/` (or `--pubkey`), and matches the chain — all of it
  when the run is closed, a prefix of it while the run is open (interrupted);
* heads log: the last head the heads log holds for this run is exactly `manifest.head`;
  a run missing from the log is a failure;
* timestamp: `manifest.head.tsr`, when present, is a valid RFC 3161 token over the head;
* index: every listing and vendor the index stores with evidence from this run cites a
  chained record (WARC file and offset) whose payload digest equals the stored one.

A run with no problem whose head is `open` was interrupted (killed and not resumed yet):
status INTERRUPTED, not OK — `trawl crawl SITE --resume` recovers and closes it.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import TrawlError
from core.home import trawl_home
from crawler.evidence.anchor import (
    ANCHORS_DIR,
    HEAD_FILE,
    TOKEN_FILE,
    AnchorConfig,
    canonical,
    published_heads,
    statement_digest,
    statement_of,
)
from crawler.evidence.keys import trusted_public_keys, verify_signature
from crawler.evidence.recover import evidence_never_started
from crawler.evidence.writer import _b32_to_hex, canonical_entry_hash, genesis_hash, sha256_hex

RUN_ID = re.compile(r"^(?P<site>.+)-\d{8}T\d{6}Z-[0-9a-f]{4}$")


@dataclass
class VerifyReport:
    run_dir: str
    run_id: str
    records: int = 0
    head: str = ""
    state: str = "missing"  # of manifest.head: open | closed | missing
    recovered: int = 0  # records chained by a resume's recovery
    torn: int = 0  # quarantined torn tails
    checks: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.state == "closed"

    @property
    def status(self) -> str:
        if self.problems:
            return "TAMPERED"
        return "OK" if self.ok else "INTERRUPTED"

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "run_id": self.run_id, "ok": self.ok,
                "status": self.status, "state": self.state, "records": self.records,
                "head": self.head, "recovered": self.recovered, "torn": self.torn,
                "checks": self.checks, "problems": self.problems, "warnings": self.warnings}


def resolve_run(run: str | Path) -> Path:
    """A run directory path, or a run id under $TRAWL_HOME/runs/."""
    path = Path(run)
    if path.is_dir():
        return path.resolve()
    candidate = trawl_home(create=False) / "runs" / str(run)
    if candidate.is_dir():
        return candidate
    raise TrawlError(f"run {run!r}: no such run directory (looked at {path} and {candidate})")


def _read_manifest(path: Path, report: VerifyReport) -> list[tuple[int, dict]]:
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
            if number == len(raw_lines) and report.state == "open":
                report.warnings.append(f"{where}: incomplete (crawl killed mid-write); "
                                       f"quarantined when the run is resumed")
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


def _check_torn(run_dir: Path, number: int, entry: dict[str, Any], report: VerifyReport) -> None:
    path = run_dir / entry["warc_file"]
    where = f"{entry['warc_file']} (manifest.jsonl line {number}, torn tail of " \
            f"{entry.get('source_file')}@{entry.get('source_offset')})"
    if not path.is_file():
        report.problems.append(f"{where}: quarantined file missing")
    elif path.stat().st_size != entry["length"] or sha256_hex(path.read_bytes()) != \
            entry["record_sha256"]:
        report.problems.append(f"{where}: quarantined bytes differ from the manifest")
    report.torn += 1


def _check_record(run_dir: Path, number: int, entry: dict[str, Any],
                  report: VerifyReport) -> None:
    from warcio.archiveiterator import ArchiveIterator

    if entry.get("type") == "torn-tail":
        _check_torn(run_dir, number, entry, report)
        return
    report.recovered += bool(entry.get("recovered"))
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
    except Exception as exc:  # noqa: BLE001 - any decode failure of tampered bytes is a finding
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
    on_disk |= {p.relative_to(run_dir).as_posix() for p in (run_dir / "quarantine").glob("*")}
    for name in sorted(on_disk - set(by_file)):
        if report.state == "open":
            report.warnings.append(f"{name}: no record chained yet (crawl killed; chained or "
                                   f"quarantined when the run is resumed)")
        else:
            report.problems.append(f"{name}: file not referenced by the manifest (extra file)")
    for name, file_entries in by_file.items():
        path = run_dir / name
        if not path.is_file() or not name.startswith("warc/"):
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
            if report.state == "open":
                report.warnings.append(message + " (crawl killed; chained or quarantined "
                                       "when the run is resumed)")
            else:
                report.problems.append(message)


def _check_head(run_dir: Path, chain: list[dict[str, Any]], report: VerifyReport,
                keys: dict[str, Any]) -> dict[str, Any] | None:
    path = run_dir / HEAD_FILE
    if not path.is_file():
        report.problems.append("manifest.head missing: every run writes a signed head when it "
                               "opens and when it closes (deleted?)")
        return None
    try:
        head = json.loads(path.read_text())
        entries, head_hash, state = int(head["entries"]), str(head["head"]), head["state"]
    except (ValueError, KeyError, TypeError):
        report.problems.append("manifest.head: not a head record (edited?)")
        return None
    report.state = state if state in ("open", "closed") else "missing"
    if head.get("run_id") != report.run_id:
        report.problems.append(f"manifest.head: belongs to run {head.get('run_id')!r}")
    hashes = [genesis_hash(report.run_id)] + [e.get("entry_hash", "") for e in chain]
    if state == "closed" and (entries != len(chain) or head_hash != report.head):
        report.problems.append(
            f"manifest.head: says {entries} entries ending {head_hash[:16]}…, manifest.jsonl "
            f"has {len(chain)} ending {report.head[:16]}… (entries removed, added or edited)")
    elif state == "open":
        if entries > len(chain) or hashes[entries] != head_hash:
            report.problems.append(f"manifest.head: the open head ({entries} entries, "
                                   f"{head_hash[:16]}…) is not on the manifest chain")
        elif len(chain) > entries:
            report.warnings.append(f"run interrupted: {len(chain) - entries} entries after the "
                                   f"signed head, signed when the run is resumed and closed")
    signature, key_id = head.get("signature"), head.get("key_id")
    if not signature or not key_id:
        report.problems.append("signature: manifest.head is not signed")
    elif key_id not in keys:
        report.problems.append(f"signature: signed by unknown key {key_id} (not in keys/"
                               f"evidence-public; pass the public key with --pubkey)")
    elif not verify_signature(keys[key_id], canonical(statement_of(head)), signature):
        report.problems.append(f"signature: does not verify under {key_id} (head edited or "
                               f"re-signed with another key)")
    else:
        report.checks["signature"] = f"ok ({key_id})"
    return head


def _check_anchor_history(run_dir: Path, chain: list[dict[str, Any]], report: VerifyReport,
                          keys: dict[str, Any]) -> None:
    """Every head this run signed earlier must still be on its chain."""
    hashes = [genesis_hash(report.run_id)] + [e.get("entry_hash", "") for e in chain]
    path = run_dir / ANCHORS_DIR / "heads.jsonl"
    for number, raw in enumerate(path.read_bytes().splitlines() if path.is_file() else [], 1):
        where = f"{ANCHORS_DIR}/heads.jsonl line {number}"
        try:
            old = json.loads(raw)
            entries, key = int(old["entries"]), keys.get(old.get("key_id"))
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"{where}: not a head record")
            continue
        if key is None or not verify_signature(key, canonical(statement_of(old)),
                                               str(old.get("signature"))):
            report.problems.append(f"signature: {where} does not verify")
        elif entries >= len(hashes) or hashes[entries] != old.get("head"):
            report.problems.append(f"{where}: an earlier signed head ({entries} entries) is not "
                                   f"on the manifest chain (history rewritten)")


def _check_heads_log(head: dict[str, Any], heads_log: Path, report: VerifyReport) -> None:
    published = published_heads(heads_log, report.run_id)
    if not published:
        report.problems.append(f"heads log: run {report.run_id} was never published to "
                               f"{heads_log}")
        return
    last = published[-1]
    if canonical(last) != canonical(head):
        report.problems.append(
            f"heads log: the last head published for this run ({last.get('entries')} entries, "
            f"{last.get('state')}, {str(last.get('head'))[:16]}…, {last.get('signed_at')}) "
            f"differs from manifest.head ({head.get('entries')} entries, {head.get('state')}, "
            f"{str(head.get('head'))[:16]}…)")
    else:
        report.checks["heads_log"] = f"ok ({heads_log}, {len(published)} heads)"


def _check_timestamp(run_dir: Path, head: dict[str, Any], config: AnchorConfig,
                     report: VerifyReport) -> None:
    from crawler.evidence.tsa import TimestampError, verify_token

    path = run_dir / TOKEN_FILE
    if not path.is_file():
        if config.tsa_url:
            report.warnings.append("timestamp: no token beside manifest.head (the TSA did not "
                                   "answer when the head was made?)")
        return
    try:
        info = verify_token(path.read_bytes(), statement_digest(head), list(config.tsa_ca))
    except TimestampError as exc:
        report.problems.append(f"timestamp: {TOKEN_FILE}: {exc}")
        return
    trust = "CA checked" if config.tsa_ca else "no TSA CA configured: issuer not checked"
    report.checks["timestamp"] = f"ok ({info.gen_time.isoformat()}, {info.tsa_subject}; {trust})"


def verify_run(run: str | Path, *, home: Path | None = None, heads_log: Path | None = None,
               pubkeys: list[Path] | None = None, index_url: str | None = None,
               check_index: bool = True) -> VerifyReport:
    """Check a run's records, chain, signed head, published heads and index references."""
    run_dir = resolve_run(run)
    if home is None:
        home = run_dir.parent.parent if run_dir.parent.name == "runs" else trawl_home(create=False)
    config = AnchorConfig.from_env(home)
    heads_log = heads_log or config.heads_log
    report = VerifyReport(str(run_dir), run_dir.name)
    manifest = run_dir / "manifest.jsonl"
    if evidence_never_started(run_dir) and not published_heads(heads_log, report.run_id):
        report.warnings.append("no evidence written: the crawl was killed before it opened "
                               "(resume it with trawl crawl SITE --resume)")
        return report
    if not manifest.is_file():
        report.problems.append("manifest.jsonl missing")
        return report
    keys = trusted_public_keys(home, pubkeys)
    head_state = _peek_state(run_dir)
    report.state = head_state
    numbered = _read_manifest(manifest, report)
    chain = [e for _, e in numbered]
    report.records = len(chain)
    head = _check_head(run_dir, chain, report, keys)
    _check_anchor_history(run_dir, chain, report, keys)
    if head is not None:
        _check_heads_log(head, heads_log, report)
        _check_timestamp(run_dir, head, config, report)
    for number, entry in numbered:
        try:
            _check_record(run_dir, number, entry, report)
        except KeyError as exc:
            report.problems.append(f"manifest.jsonl line {number}: field {exc} missing")
    try:
        _check_tiling(run_dir, chain, report)
    except KeyError:
        pass  # already reported per line
    if check_index:
        from crawler.evidence.crosscheck import check_index_references

        check_index_references(home, index_url, chain, report)
    return report


def _peek_state(run_dir: Path) -> str:
    try:
        state = json.loads((run_dir / HEAD_FILE).read_text()).get("state")
    except (OSError, ValueError, AttributeError):
        return "missing"
    return state if state in ("open", "closed") else "missing"
