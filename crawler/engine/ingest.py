"""`trawl ingest SITE PATH...`: saved pages (WARC, WACZ, mirror directories, HTML files) read
into the index through the offline road (`crawler.engine.offline.process_pages`), no network.

An ingest is a run of kind "ingest" in `$TRAWL_HOME/runs/<run_id>/`, laid out as a crawl's:
every page read is copied (the originals are never touched) into the run's own WARC by
`crawler.evidence.writer`, so each stored record's `Evidence` cites this run, the web app
shows the archived page, and `trawl reprocess RUN_ID` re-reads it like a crawl.  Each
manifest line also names where the page came from (source path, size, sha256, record offset
in a source WARC, capture time); `sources.jsonl` lists every input file ingested, which is
what makes a second ingest of the same bytes for the same site a no-op.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.clock import utc_now_iso
from core.errors import TrawlError
from core.records import Evidence
from crawler.engine import ingest_sources as sources
from crawler.engine.ingest_evidence import IngestEvidence, copy_page
from crawler.engine.offline import OfflineResult, SavedPage, process_pages
from crawler.evidence.reader import MAX_BODY, ArchivedPage
from crawler.sitedef.siteconfig import SiteConfig

SOURCES_FILE = "sources.jsonl"
SKIP_DUPLICATE = "duplicate_file"  # the same bytes given twice in one ingest
ProgressFn = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class IngestOptions:
    base_url: str = ""  # replaces the host part of mirror paths; with a single file: base + file name
    url: str = ""  # the URL of the one HTML file given
    date_pattern: str = ""  # --date-from-path
    clock: str = ""  # capture time of saved files without a date in their path
    flat_names: bool = False  # file names hold the URL path with '_' for '/'
    force: bool = False  # ingest again what was already ingested


@dataclass
class InputFile:
    path: Path
    kind: str  # warc | wacz | html
    group: str  # pages of one group are read together (cards merge with their listing pages)
    size: int = 0
    sha256: str = ""
    url: str = ""  # html only
    captured_at: str = ""  # html only
    captured_from: str = ""  # html only: path | clock | mtime


@dataclass
class IngestReport:
    site: str
    run_id: str = ""
    files: int = 0
    pages: int = 0
    vendors: int = 0
    novelty: dict[str, str] = field(default_factory=dict)  # listing id -> new | changed | unchanged
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    already: dict[str, list[str]] = field(default_factory=dict)  # earlier run id -> files
    errors: list[str] = field(default_factory=list)
    captured_from: Counter[str] = field(default_factory=Counter)  # warc | path | clock | mtime
    duration_s: float = 0.0

    @property
    def listings(self) -> int:
        """Distinct listings stored (a card shown on two grids, or beside its page, is one)."""
        return len(self.novelty)

    @property
    def new(self) -> int:
        return sum(1 for v in self.novelty.values() if v == "new")

    @property
    def changed(self) -> int:
        return sum(1 for v in self.novelty.values() if v == "changed")

    @property
    def unchanged(self) -> int:
        return sum(1 for v in self.novelty.values() if v == "unchanged")

    @property
    def exit_code(self) -> int:
        """0: all read; 1: some inputs failed; 2: nothing could be read."""
        if self.errors and not self.files and not self.already:
            return 2
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "ingest", "site": self.site, "run_id": self.run_id, "files": self.files, "pages": self.pages,
                "listings": self.listings, "new": self.new, "changed": self.changed, "unchanged": self.unchanged,
                "vendors_stored": self.vendors, "skipped_by_reason": dict(self.skipped),
                "drops": sum(self.dropped.values()), "drops_by_reason": dict(self.dropped),
                "already_ingested": self.already, "errors": len(self.errors), "error_lines": self.errors,
                "captured_from": dict(self.captured_from), "duration_s": round(self.duration_s, 3),
                "exit_code": self.exit_code}

    def summary_lines(self) -> list[str]:
        def by_reason(counts: Counter[str]) -> str:
            return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"

        lines = []
        if self.run_id:
            lines.append(f"{self.site}: ingest run {self.run_id}: {self.files} files, {self.pages} pages, "
                         f"{self.listings} listings ({self.new} new, {self.changed} changed, {self.unchanged} unchanged), "
                         f"{self.vendors} vendors, {self.duration_s:.1f}s")
            lines.append(f"  skipped: {by_reason(self.skipped)}; dropped: {by_reason(self.dropped)}")
            lines.append(f"  capture time from: {by_reason(self.captured_from)}")
        for run_id, files in sorted(self.already.items()):
            shown = files[0] if len(files) == 1 else f"{len(files)} files"
            lines.append(f"{self.site}: {shown}: already ingested (run {run_id}); --force ingests again")
        if not self.run_id and not self.already and not self.errors:
            lines.append(f"{self.site}: nothing to ingest")
        return lines


# --- inputs -------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discover(site: SiteConfig, paths: Iterable[Path], options: IngestOptions,
             report: IngestReport) -> list[InputFile]:
    """The input files under `paths`, recognised and dated; what cannot be read goes to
    `report.errors` (one line each) and the rest still counts."""
    for name, value in (("--base-url", options.base_url), ("--url", options.url)):
        if value and not (urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc):
            raise TrawlError(f"{name} {value!r}: expected an absolute URL like http://market.onion/")
    date_pattern = sources.compile_date_pattern(options.date_pattern) if options.date_pattern else None
    clock = sources.normalise_clock(options.clock) if options.clock else ""
    found: list[InputFile] = []

    def dated(item: InputFile) -> InputFile:
        when = sources.date_from_path(date_pattern, item.path) if date_pattern is not None else ""
        item.captured_at, item.captured_from = ((when, "path") if when else (clock, "clock") if clock
                                               else (sources.mtime_iso(item.path), "mtime"))
        return item

    for given in paths:
        try:
            if given.is_dir():
                found.extend(_directory_inputs(site, given, options, report, dated))
            elif not given.exists():
                raise sources.IngestInputError(f"{given}: no such file or directory")
            else:
                kind = sources.sniff(given)
                item = InputFile(given, kind, group=str(given) if kind != "html" else "files")
                if kind == "html":
                    item.url = options.url or (sources.mirror_url(site, given.parent, given, base_url=options.base_url,
                                                                  flat_names=options.flat_names)
                                               if options.base_url else "")
                    if not item.url:
                        raise sources.IngestInputError(f"{given}: a single HTML file needs --url (its address) "
                                                       f"or --base-url")
                    dated(item)
                found.append(item)
        except sources.IngestInputError as exc:
            report.errors.append(str(exc))
    if options.url and sum(1 for f in found if f.kind == "html") > 1:
        raise TrawlError("--url names the address of one HTML file; for several use --base-url or a directory")
    return found


def _directory_inputs(site: SiteConfig, root: Path, options: IngestOptions, report: IngestReport,
                      dated: Callable[[InputFile], InputFile]) -> Iterator[InputFile]:
    no_url: list[Path] = []  # pages whose URL the path cannot give: one line for them all
    for file, skip in sources.walk_directory(root):
        if skip:
            report.skipped[skip] += 1
        elif sources.is_archive_name(file):
            try:
                yield InputFile(file, sources.sniff(file), group=str(file))
            except sources.IngestInputError as exc:
                report.errors.append(str(exc))
        elif not sources.maybe_page(file):
            report.skipped[sources.SKIP_NOT_HTML] += 1
        else:
            try:
                kind = sources.sniff(file)
            except sources.IngestInputError:
                report.skipped[sources.SKIP_NOT_HTML] += 1  # a mirror's binary file with an odd name
                continue
            if kind != "html":
                yield InputFile(file, kind, group=str(file))
                continue
            try:
                url = sources.mirror_url(site, root, file, base_url=options.base_url, flat_names=options.flat_names)
            except sources.IngestInputError:
                no_url.append(file)
                continue
            yield dated(InputFile(file, "html", group=str(root), url=url))
    if no_url:
        report.errors.append(f"{root}: {len(no_url)} page(s) (e.g. {no_url[0].relative_to(root)}) with no host "
                             f"directory such as 'example.onion/' above them: give --base-url to say the site's address")


# --- what was ingested before ---------------------------------------------------------------

def ingested_before(runs: Path, site: str) -> dict[str, str]:
    """sha256 of every input file already ingested for `site` -> the run that ingested it."""
    seen: dict[str, str] = {}
    for ledger in sorted(runs.glob(f"{site}-*/{SOURCES_FILE}")):
        for line in ledger.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill: that file was not recorded, so it is ingested again
            if entry.get("site") == site and entry.get("sha256"):
                seen.setdefault(entry["sha256"], ledger.parent.name)
    return seen


def read_input(item: InputFile) -> list[ArchivedPage]:
    """The pages of one input file (a whole WARC/WACZ, or the one saved page)."""
    if item.kind == "warc":
        return sources.read_warc(item.path)
    if item.kind == "wacz":
        return sources.read_wacz(item.path)
    if item.size > MAX_BODY:
        raise sources.IngestInputError(f"{item.path}: larger than {MAX_BODY // 2**20} MB, not read as a page")
    try:
        body = item.path.read_bytes()
    except OSError as exc:
        raise sources.IngestInputError(f"{item.path}: cannot read ({exc.strerror or exc})") from None
    return [ArchivedPage(url=item.url, status=200, body=body, content_type="text/html",
                         captured_at=item.captured_at, warc_file=str(item.path))]


# --- the ingest ------------------------------------------------------------------------------

def ingest(site: SiteConfig, paths: list[Path], options: IngestOptions, *,
           progress: ProgressFn | None = None) -> IngestReport:
    """Ingest `paths` for `site` into the index; see the module docstring and docs/ingest.md."""
    from core.home import ensure_home
    from crawler.engine.run import new_run_id, runs_dir
    from crawler.engine.runstats import write_stats
    from crawler.evidence.anchor import AnchorConfig, HeadAnchor
    from index import open_index
    from pipeline.stats import Tally

    started = time.monotonic()
    tick = progress or (lambda phase, done, total: None)
    report = IngestReport(site=site.name)
    inputs = discover(site, paths, options, report)
    home = ensure_home().resolve()
    before = ingested_before(runs_dir(), site.name)
    todo: list[InputFile] = []
    seen_now: set[str] = set()
    for number, item in enumerate(inputs, start=1):
        tick("hashing", number, len(inputs))
        item.size, item.sha256 = item.path.stat().st_size, sha256_file(item.path)
        if item.sha256 in seen_now:
            report.skipped[SKIP_DUPLICATE] += 1
        elif item.sha256 in before and not options.force:
            report.already.setdefault(before[item.sha256], []).append(str(item.path))
        else:
            seen_now.add(item.sha256)
            todo.append(item)
    if not todo:
        report.duration_s = time.monotonic() - started
        return report

    run_id = new_run_id(site.name)
    run_dir = runs_dir() / run_id
    run_dir.mkdir(parents=True)
    # site_file: a reprocess of this run needs the YAML it was read with (a path here is allowed)
    stats_base = {"kind": "ingest", "run_id": run_id, "site": site.name, "site_file": str(site.source or ""),
                  "started_at": utc_now_iso(), "pid": os.getpid(), "inputs": [str(p) for p in paths]}
    write_stats(run_dir, {**stats_base, "status": "running"})
    report.run_id = run_id
    writer = IngestEvidence(run_dir, run_id, anchor=HeadAnchor(AnchorConfig.from_env(home), run_dir, run_id))
    tally = Tally()
    groups: dict[str, list[InputFile]] = {}
    for item in todo:
        groups.setdefault(item.group, []).append(item)
    status = "failed"
    try:
        with open_index() as index, (run_dir / SOURCES_FILE).open("a", encoding="utf-8") as ledger:
            for group in groups.values():
                saved, read_files = _copy_group(site, group, writer, run_id, home, report)
                writer.sync()  # the manifest lines the index will cite are on disk first
                result = process_pages(site, _counted(saved, tick), index, run_id=run_id, stats=tally)
                _add(report, result)
                for item, pages in read_files:
                    ledger.write(json.dumps({"site": site.name, "run_id": run_id, "path": str(item.path.resolve()),
                                             "size": item.size, "sha256": item.sha256, "kind": item.kind,
                                             "pages": pages, "captured_from": item.captured_from or "warc"},
                                            sort_keys=True) + "\n")
                ledger.flush()
        status = "finished"
    finally:
        writer.close()
        report.duration_s = time.monotonic() - started
        write_stats(run_dir, {**stats_base, **report.to_dict(), "status": status, "finished_at": utc_now_iso(),
                              "unchanged": report.unchanged, "gate_hits": report.skipped.get("gate", 0),
                              "stats": dict(tally.values)})
    return report


def _copy_group(site: SiteConfig, group: list[InputFile], writer: IngestEvidence, run_id: str, home: Path,
                report: IngestReport) -> tuple[list[SavedPage], list[tuple[InputFile, int]]]:
    """Read every file of a group and copy its pages into the run's WARC; unreadable files
    are reported and left out (nothing of them stored)."""
    saved: list[SavedPage] = []
    read_files: list[tuple[InputFile, int]] = []
    for item in group:
        try:
            pages = read_input(item)
        except sources.IngestInputError as exc:
            report.errors.append(str(exc))
            continue
        report.files += 1
        kept = 0
        for page in pages:
            if not page.is_page or not page.body.strip() or not page.url.startswith(("http://", "https://")):
                # (wget's own MANIFEST.txt and Heritrix's dns: records are text too, not pages of the site)
                report.skipped[sources.SKIP_NOT_HTML] += 1
                continue
            if not page.captured_at:  # a WARC record without WARC-Date: the file's own time
                page.captured_at = item.captured_at or sources.mtime_iso(item.path)
            member = page.warc_file.split("#", 1)[1] if "#" in page.warc_file else ""
            source = {"source_path": str(item.path.resolve()), "source_size": item.size,
                      "source_sha256": item.sha256, "source_kind": item.kind,
                      "source_offset": page.offset if item.kind != "html" else None}
            if member:
                source["source_member"] = member
            written = copy_page(writer, run_id, page, source)
            report.captured_from[item.captured_from or "warc"] += 1
            evidence = Evidence(run_id=run_id, warc_file=os.path.relpath(written.warc_file, home),
                                warc_offset=written.offset, payload_sha256=written.payload_sha256,
                                mirror=_origin(page.url))
            saved.append(SavedPage(page, evidence, mirror=_origin(page.url)))
            kept += 1
        read_files.append((item, kept))
    return saved, read_files


def _counted(pages: list[SavedPage], tick: ProgressFn) -> Iterator[SavedPage]:
    for number, page in enumerate(pages, start=1):
        tick("pages", number, len(pages))
        yield page


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _add(report: IngestReport, result: OfflineResult) -> None:
    report.pages += result.pages
    report.vendors += result.vendors
    for listing_id, novelty in result.listing_novelty.items():
        report.novelty.setdefault(listing_id, novelty)
    report.skipped.update(result.skipped)
    report.dropped.update(result.dropped)
