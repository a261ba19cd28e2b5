"""Local spool for batches Elasticsearch could not take.

Format (backend-neutral, one JSON object per line, one line per write batch): a
core.records.Records batch as `Records.to_json()` writes it, plus why it was spooled:
    {"listings": [...], "snapshots": [...], "vendors": [...], "candidates": [...], "reason": "..."}
Files are `$TRAWL_HOME/spool/<ns-timestamp>-<pid>.jsonl`; names sort in write order.
Each line is appended and fsync'ed before `write()` returns, so a batch the
caller saw accepted survives a crash.  Replay goes file by file, line by line;
`<file>.done` records how many lines of a file have been replayed so a replay
interrupted halfway resumes (and writes are idempotent anyway).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.home import trawl_home
from core.records import Records

log = logging.getLogger(__name__)


class Writer(Protocol):
    def write(self, records: Records) -> dict[str, int]: ...


@dataclass
class ReplayReport:
    files: int = 0
    batches: int = 0
    records: int = 0
    skipped_lines: int = 0  # torn last lines of a crashed append
    remaining_files: int = 0


def default_spool_dir() -> Path:
    return trawl_home() / "spool"


class Spool:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_spool_dir()
        self._file: Path | None = None

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.jsonl"))

    def pending(self) -> int:
        """Batches waiting to be replayed."""
        total = 0
        for path in self.files():
            total += max(0, _count_lines(path) - _done(path))
        return total

    def append(self, batch: Records, reason: str = "") -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._file is None:
            self._file = self.directory / f"{time.time_ns():020d}-{os.getpid()}.jsonl"
        line: dict[str, Any] = batch.to_json()
        line["reason"] = reason
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self._file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.directory)
        return self._file

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two `trawl index flush` must not replay the same file twice at once
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def replay(self, target: Writer) -> ReplayReport:
        """Write every spooled batch into `target`, oldest first; stops at the first failure (which propagates)."""
        report = ReplayReport()
        with self._locked():
            for path in self.files():
                if path == self._file:
                    self._file = None  # start a new file for anything spooled after this replay
                done = _done(path)
                for number, batch in enumerate(_read_batches(path, report)):
                    if number < done:
                        continue
                    counts = target.write(batch)
                    if counts.get("spooled"):
                        # the target spooled it again (still unreachable): stop, keep this file
                        report.remaining_files = len(self.files())
                        return report
                    report.batches += 1
                    report.records += len(batch)
                    _mark_done(path, number + 1)
                path.unlink()
                path.with_suffix(".jsonl.done").unlink(missing_ok=True)
                report.files += 1
        report.remaining_files = len(self.files())
        return report


def _read_batches(path: Path, report: ReplayReport) -> Iterator[Records]:
    with path.open("rb") as f:
        for raw in f:
            try:
                line = json.loads(raw)
            except ValueError:
                # only a crash mid-append produces this (the caller never got an ack for it)
                log.warning("spool %s: skipping a torn line", path.name)
                report.skipped_lines += 1
                continue
            yield Records.from_json(line)


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _done(path: Path) -> int:
    marker = path.with_suffix(".jsonl.done")
    try:
        return int(marker.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _mark_done(path: Path, lines: int) -> None:
    marker = path.with_suffix(".jsonl.done")
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(str(lines))
    os.replace(tmp, marker)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
