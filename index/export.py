"""`trawl export`: listings, snapshots or trend rows to CSV / Parquet / JSONL, with a reproducibility sidecar.

Every export writes FILE and FILE.meta.json.  The sidecar records what is needed
to reproduce a published figure: the query and its non-default filters, the
time range the rows cover, software versions, reference-list versions, the row
count and the SHA-256 of FILE.  FILE and the sidecar are written to temporary
names and renamed (index/outfile.py), so a crashed export never leaves a file that
looks complete; existing files are replaced only with --force and non-regular
targets (devices, FIFOs, directories, links) are refused.  FILE "-" is stdout.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import os
import platform
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from core.errors import TrawlError
from core.records import SCHEMA_VERSION, Listing, Snapshot, to_dict
from core.timeutil import now_utc
from index.api import IndexBackend, SearchQuery, TrendQuery, TrendRow
from index.outfile import STDOUT, check_target, publish, staged

FORMATS = ("csv", "parquet", "jsonl")
KINDS = ("listings", "snapshots", "trends")

# flat columns (CSV/Parquet); nested fields are JSON-encoded strings there, native in JSONL
LISTING_COLUMNS: list[tuple[str, str]] = [
    ("listing_id", "str"), ("site", "str"), ("market_kind", "str"), ("url", "str"), ("title", "str"),
    ("vendor", "str"), ("vendor_id", "str"), ("category", "str"), ("substances", "json"), ("substance_names", "str"),
    ("controls", "str"), ("quantity_amount", "float"), ("quantity_unit", "str"), ("dose_mg", "float"),
    ("purity_pct", "float"), ("price_amount", "float"), ("price_currency", "str"), ("price_usd", "float"),
    ("usd_per_unit", "float"), ("rate_source", "str"), ("origin", "str"), ("destinations", "str"),
    ("destinations_excluded", "str"), ("ships_worldwide", "bool"), ("shipping_options", "json"), ("escrow", "bool"),
    ("stock", "int"), ("feedback_count", "int"), ("first_seen", "str"), ("last_seen", "str"), ("crawled_at", "str"),
    ("content_hash", "str"), ("evidence_run_id", "str"), ("evidence_warc_file", "str"), ("evidence_warc_offset", "int"),
    ("evidence_payload_sha256", "str"), ("description", "str"),
    ("sold_count", "int"), ("views", "int"), ("extra", "json"),  # grid sites (docs/sites.md)
    ("extraction_version", "str"),  # pipeline/version.py, docs/reprocess.md
]
SNAPSHOT_COLUMNS: list[tuple[str, str]] = [
    ("snapshot_id", "str"), ("listing_id", "str"), ("crawled_at", "str"), ("site", "str"), ("run_id", "str"),
    ("price_amount", "float"), ("price_currency", "str"), ("price_usd", "float"), ("usd_per_unit", "float"),
    ("quantity_unit", "str"), ("stock", "int"), ("feedback_count", "int"), ("substance", "str"),
    ("vendor_id", "str"), ("origin", "str"), ("content_hash", "str"),
    # every extraction of a capture: a reprocess that changed values keeps the earlier one, superseded
    ("extraction_version", "str"), ("superseded", "bool"),
]


_ENCODED_LISTING_FIELDS = ("substances", "shipping_options", "destinations", "destinations_excluded", "extra")


def listing_row(x: Listing) -> dict[str, Any]:
    return {
        **{k: getattr(x, k) for k, _ in LISTING_COLUMNS if hasattr(x, k) and k not in _ENCODED_LISTING_FIELDS},
        "substances": json.dumps([to_dict(s) for s in x.substances], ensure_ascii=False),
        "substance_names": ";".join(s.name for s in x.substances),
        "controls": ";".join(sorted({c for s in x.substances for c in s.controls})),
        "destinations": ";".join(x.destinations),
        "destinations_excluded": ";".join(x.destinations_excluded),
        "shipping_options": json.dumps([to_dict(s) for s in x.shipping_options], ensure_ascii=False),
        "extra": json.dumps(x.extra, ensure_ascii=False, sort_keys=True),
        "evidence_run_id": x.evidence.run_id, "evidence_warc_file": x.evidence.warc_file,
        "evidence_warc_offset": x.evidence.warc_offset, "evidence_payload_sha256": x.evidence.payload_sha256,
    }


def snapshot_row(s: Snapshot) -> dict[str, Any]:
    return {**to_dict(s), "snapshot_id": s.snapshot_id}


def trend_columns(query: TrendQuery) -> list[tuple[str, str]]:
    if query.metric == "activity":
        groups = ["site", "run_id"]
    elif query.metric == "new_substances":
        groups = ["site"] if "site" in query.group_by else []
    else:
        groups = list(query.group_by)
    return [("period", "str"), *((f"group_{g}", "str") for g in groups), ("count", "int"),
            ("median", "float"), ("q1", "float"), ("q3", "float"), ("delta", "int")]


def trend_row(r: TrendRow) -> dict[str, Any]:
    return {"period": r.period, **{f"group_{k}": v for k, v in r.group.items()}, "count": r.count,
            "median": r.median, "q1": r.q1, "q3": r.q3, "delta": r.delta}


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "schema": str(SCHEMA_VERSION)}
    for dist in ("trawl", "pyarrow", "elasticsearch"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _json_default(value: Any) -> Any:
    return to_dict(value) if dataclasses.is_dataclass(value) else str(value)


class _Sink:
    """Bytes to a binary stream (a temporary file or stdout), hashed as they go."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.stream.write(data)


def _write_failed(exc: OSError, to_stdout: bool, out: Path) -> TrawlError:
    """One line for a full disk or a closed pipe (`trawl export --out - | head`)."""
    if to_stdout and isinstance(exc, BrokenPipeError):
        # stdout is gone: point it at /dev/null so the interpreter's final flush stays quiet
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return TrawlError("--out -: the reader closed stdout before the export finished")
    return TrawlError(f"--out {'-' if to_stdout else out}: cannot write: {exc.strerror or exc}")


def _write_csv(sink: _Sink, columns: list[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=[c for c, _ in columns], extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        n += 1
        if n % 1000 == 0:  # bounded memory on million-row exports
            sink.write(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()
    sink.write(buf.getvalue().encode("utf-8"))
    return n


def _write_jsonl(sink: _Sink, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        sink.write((json.dumps(row, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8"))
        n += 1
    return n


def _write_parquet(path: Path, columns: list[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "json": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in columns])
    n = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 10_000:  # bounded memory on million-row exports
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Range:
    """Tracks the min/max time the exported rows cover."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.low: str | None = None
        self.high: str | None = None

    def watch(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            for f in self.fields:
                value = row.get(f)
                if value:
                    self.low = value if self.low is None or value < self.low else self.low
                    self.high = value if self.high is None or value > self.high else self.high
            yield row



def checked_targets(fmt: str, out: str | Path, meta_path: str | Path | None,
                    force: bool) -> tuple[Path, bool, Path | None]:
    """(out, to stdout?, sidecar path or None) once both targets are checked, before any row
    is read: a refused export does no work."""
    if fmt not in FORMATS:
        raise TrawlError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    to_stdout = str(out) == STDOUT
    if to_stdout and fmt == "parquet":
        raise TrawlError("--out -: parquet cannot be streamed to stdout (its footer is written last); "
                         "give --out FILE.parquet")
    out = Path(out)
    if not to_stdout:
        check_target(out, "--out", force=force)
    meta = Path(meta_path) if meta_path is not None else None if to_stdout else out.with_name(out.name + ".meta.json")
    if meta is not None:
        if not to_stdout and os.path.abspath(meta) == os.path.abspath(out):
            raise TrawlError(f"--meta {meta}: is the --out file itself; give the sidecar another name")
        check_target(meta, "--meta", force=force)
    return out, to_stdout, meta

def export(backend: IndexBackend, kind: str, fmt: str, out: Path | str, query: SearchQuery | None = None,
           trend: TrendQuery | None = None, command: str = "", *, force: bool = False,
           meta_path: Path | None = None, stdout: BinaryIO | None = None) -> dict[str, Any]:
    """Write the export and its sidecar; returns the sidecar content.

    `out` "-" streams csv/jsonl to `stdout` (default sys.stdout) and writes a sidecar only
    to `meta_path`; a file `out` gets its sidecar at `meta_path` or FILE.meta.json.  Existing
    files are replaced only with `force`; non-regular targets are refused (index.outfile)."""
    if kind not in KINDS:
        raise TrawlError(f"export: {kind!r} is not one of {', '.join(KINDS)}")
    out, to_stdout, meta = checked_targets(fmt, out, meta_path, force)
    query = query or SearchQuery()
    flat = fmt != "jsonl"
    rows: Iterable[dict[str, Any]]
    if kind == "listings":
        columns, span = LISTING_COLUMNS, _Range(("first_seen", "last_seen"))
        rows = (listing_row(x) if flat else to_dict(x) for x in backend.iter_listings(query))
    elif kind == "snapshots":
        columns, span = SNAPSHOT_COLUMNS, _Range(("crawled_at",))
        rows = (snapshot_row(s) for s in backend.iter_snapshots(query))
    else:
        trend = trend or TrendQuery()
        columns, span = trend_columns(trend), _Range(("period",))
        rows = (trend_row(r) if flat else dataclasses.asdict(r) for r in backend.trends(trend))
    try:
        return _write_export(backend, kind, fmt, out, to_stdout, meta, rows, columns, span, flat,
                             trend if kind == "trends" else query, command, force, stdout)
    except OSError as exc:
        raise _write_failed(exc, to_stdout, out) from None


def _write_export(backend: IndexBackend, kind: str, fmt: str, out: Path, to_stdout: bool, meta: Path | None,
                  rows: Iterable[dict[str, Any]], columns: list[tuple[str, str]], span: _Range, flat: bool,
                  source: Any, command: str, force: bool, stdout: BinaryIO | None) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        tmp = None if to_stdout else stack.enter_context(staged(out, "--out", force=force))
        watched = span.watch(rows)
        if tmp is not None and fmt == "parquet":
            count = _write_parquet(tmp, columns, watched)
            sha256 = _sha256(tmp)
        else:
            stream = stack.enter_context(tmp.open("wb")) if tmp is not None else (stdout or sys.stdout.buffer)
            sink = _Sink(stream)
            count = _write_csv(sink, columns, watched) if fmt == "csv" else _write_jsonl(sink, watched)
            stream.flush()
            sha256 = sink.digest.hexdigest()
        sidecar = _sidecar(backend, kind, fmt, STDOUT if to_stdout else out.name, command, source, span, count,
                           sha256, columns, flat)
        meta_tmp = stack.enter_context(staged(meta, "--meta", force=force)) if meta is not None else None
        if meta_tmp is not None:
            meta_tmp.write_text(json.dumps(sidecar, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        if tmp is not None:
            publish(tmp, out, "--out", force=force)
        if meta is not None and meta_tmp is not None:
            publish(meta_tmp, meta, "--meta", force=force)
    return sidecar


def _sidecar(backend: IndexBackend, kind: str, fmt: str, file: str, command: str, source: Any, span: _Range,
             count: int, sha256: str, columns: list[tuple[str, str]], flat: bool) -> dict[str, Any]:
    defaults = type(source)()
    return {
        "kind": kind,
        "format": fmt,
        "file": file,
        "command": command,
        "query": dataclasses.asdict(source),
        "filters": {k: v for k, v in dataclasses.asdict(source).items() if v != getattr(defaults, k)},
        "time_range": {"from": span.low, "to": span.high},
        "row_count": count,
        "sha256": sha256,
        "columns": [c for c, _ in columns] if flat else "nested (JSON Lines of the record model)",
        "backend": getattr(backend, "describe", lambda: backend.name)(),
        "software": software_versions(),
        # versions of the control lists behind the backend's vocabulary ("unavailable: why" if none)
        "reference_lists": backend.vocabulary.provenance(),
        # trends: how quantiles were computed ("exact" type-7, or e.g. "tdigest(compression=200)")
        **({"quantiles": backend.quantile_method(source)} if kind == "trends" else {}),
        "created_at": now_utc(),
    }
