"""Processing jobs: what the crawl hands a processing worker instead of extracting a page itself.

A `PageJob` is small and picklable: where the page's bytes are preserved (`Evidence`), how
it was fetched (mirror, proxy, hash of the body as received), the frontier key it
completes, and for grid sites the card it was followed from (merged as the spider merges
it) or the cards the spider already read from a grid page (it needs them itself to decide
which listing pages to follow, so they travel as raw items; only parse, enrich and store
move).  `JobRunner` is the worker's side: it turns jobs into raw items exactly as the
spider would (`crawler.engine.offline.OfflineReader` on the page read back from its WARC,
or on the copy a local pool's job carries: see `PageJob.page`),
runs them through `pipeline.Pipeline` with the crawl's clock, and tells, per written batch,
which jobs (and so which frontier keys) are committed.  Used by the local process pool
(crawler.engine.workers) and by `trawl process` over Redis (crawler.engine.workers_redis).
"""
from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.items import RawItem, RawListing
from core.records import Evidence
from crawler.evidence.reader import ArchivedPage
from crawler.evidence.writer import RENDERED_CONTENT_TYPE

logger = logging.getLogger(__name__)

# counters of the worker side, summed into the run's stats by the crawl process
JOBS_DONE = "trawl/workers/jobs"
CPU_MS = "trawl/workers/cpu_ms"  # CPU the workers spent on jobs (start-up excluded)
READ_FAILED = "trawl/workers/evidence_unreadable"
READ_BACK = "trawl/workers/pages_read_back"  # jobs without a page copy, read from their WARC


@dataclass
class PageJob:
    """One page (or one grid page's cards) to process; see the module doc."""

    key: str  # frontier key the job completes ("" for a card whose page failed)
    kind: str  # "listing" | "vendor" (read the page back) | "cards" (items already read)
    evidence: Evidence | None = None
    mirror: str = ""
    proxy: str = ""
    page_sha256: str = ""
    replayed: bool = False
    card: dict[str, Any] | None = None  # the grid card a listing page was followed from
    items: list[RawItem] = field(default_factory=list)
    # the page as the spider received it: the bytes its WARC record was just written from, so
    # a local worker skips reading them back (0.6 ms of warcio parsing per page, ~10% of a
    # worker's CPU on the testbed).  Jobs that leave the machine (Redis) go without it: a
    # consumer there reads the record, as `trawl reprocess` always does
    page: ArchivedPage | None = None
    seq: int = 0  # the pool's number for it (acks name it)
    attempts: int = 0  # handed to a worker that then died this many times


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one crawl needs to start (picklable; the environment is inherited)."""

    site_name: str
    site_source: str  # the YAML file ("" = find the site by name)
    run_id: str
    clock: str  # the crawl's time stamp on every record, as in-process
    home: str
    batch_size: int = 50
    batch_seconds: float = 1.0


@dataclass
class Ack:
    """A written batch: the jobs it completed, the worker's counters since the last ack, and
    the listing ids whose own page was read (grid sites skip their cards from then on)."""

    seqs: list[int]
    keys: list[str]
    counters: dict[str, int]
    pages_read: list[str] = field(default_factory=list)


def cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_worker_site(spec: WorkerSpec) -> Any:
    from crawler.sitedef.siteconfig import load_site, load_site_file

    return load_site_file(spec.site_source) if spec.site_source else load_site(spec.site_name)


class JobRunner:
    """Raw items of a job -> pipeline, batched; `take()` returns what a written batch completed."""

    def __init__(self, spec: WorkerSpec, index: Any = None, *, freeze_heap: bool = False) -> None:
        from crawler.engine.offline import OfflineReader
        from crawler.sitedef.selectors import precompile
        from index import open_index
        from pipeline.processor import Pipeline
        from pipeline.stats import Tally
        from pipeline.version import extraction_version

        self.spec = spec
        self.home = Path(spec.home)
        self.site = load_worker_site(spec)
        precompile(self.site)  # before the first job, which is often at the crawl's close
        extraction_version(self.site)  # stamps come from this loaded site, not a second load by name
        self.tally = Tally()
        self.reader = OfflineReader(self.site, self.tally)
        self.index = index if index is not None else open_index()
        # size/age are decided by the caller (run loop): the writer only writes on flush()
        self.pipeline = Pipeline(self.index, clock=spec.clock, run_id=spec.run_id, stats=self.tally,
                                 batch_size=10**9, batch_seconds=float("inf"))
        self.seqs: list[int] = []
        self.keys: list[str] = []
        self.pages_read: list[str] = []
        if freeze_heap:  # a process of its own: what it loaded lives as long as it does
            from core.process import freeze_startup_heap

            freeze_startup_heap()
        self._cpu = cpu_seconds()  # start-up (lists, index, the freeze) is not the jobs' CPU

    def __len__(self) -> int:
        return len(self.seqs)

    def items_of(self, job: PageJob) -> list[RawItem]:
        """The raw items the spider would have yielded for this page."""
        if job.kind == "cards":
            return list(job.items)
        from crawler.engine.offline import SavedPage
        from crawler.evidence.reader import EvidenceReadError, read_evidence
        from crawler.sitedef.pages.grid import merge_card

        if job.evidence is None:
            return []
        try:
            page = job.page
            if page is None:
                page = read_evidence(job.evidence, self.home)
                self.tally.inc_value(READ_BACK)
        except EvidenceReadError as exc:
            # the page stays recorded as processed (its evidence is what is missing): counted, logged
            self.tally.inc_value(READ_FAILED)
            logger.error("job %s: %s", job.key, exc)
            return []
        read = self.reader.read(SavedPage(page, job.evidence, mirror=job.mirror, kind_hint=job.kind))
        items = []
        for item in read.items:
            # what the spider knows beyond the WARC: its frontier key and the hash of the body it saw
            item.fetch = dataclasses.replace(item.fetch, key="", mirror=job.mirror or item.fetch.mirror,
                                             proxy=job.proxy, page_sha256=job.page_sha256 or item.fetch.page_sha256,
                                             replayed=job.replayed)
            if isinstance(item, RawListing) and self.site.grid is not None:
                if item.native_id:
                    self.pages_read.append(item.native_id)
                if job.card:
                    item = merge_card(item, job.card.get("fields") or {}, job.card.get("hash", ""))
                else:
                    item.page_fields = dict(item.fields)  # as the spider's with_card
            items.append(item)
        return items

    def run(self, job: PageJob) -> None:
        """Process one job's items and buffer their records (written on `flush`)."""
        for item in self.items_of(job):
            self.pipeline.handle(item)
        self.tally.inc_value(JOBS_DONE)
        self.seqs.append(job.seq)
        if job.key:
            self.keys.append(job.key)

    def flush(self) -> Ack | None:
        """Write what is buffered (one transaction); the jobs are committed when this returns."""
        if not self.seqs:
            return None
        self.pipeline.flush()
        counters = dict(Counter(self.tally.values))
        now = cpu_seconds()
        counters[CPU_MS] = round(1000 * (now - self._cpu))
        self._cpu = now
        ack = Ack(self.seqs, self.keys, counters, self.pages_read)
        self.tally.values.clear()
        self.seqs, self.keys, self.pages_read = [], [], []
        return ack

    def close(self, *, tidy: bool = True) -> None:
        self.index.close(tidy=tidy)


# --- the spider's side: what it yields instead of extracting --------------------------------
def page_job(response: Any, kind: str) -> PageJob:
    """The job for a listing/vendor page the spider fetched (its evidence was just written)."""
    from crawler.evidence.middleware import received_sha256  # Scrapy's side: not loaded by a worker

    meta = response.meta
    evidence = meta.get("trawl_evidence")
    if not (evidence and evidence.warc_file):
        evidence = None
    page = None
    if evidence is not None:  # as its record reads back (crawler.evidence.reader)
        if meta.get("playwright"):  # a `resource` record of the rendered DOM
            status, content_type, record_type = 200, RENDERED_CONTENT_TYPE, "resource"
        else:
            status, record_type = response.status, "response"
            content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        page = ArchivedPage(url=response.url, status=status, body=response.body, content_type=content_type,
                            record_type=record_type, warc_file=evidence.warc_file, offset=evidence.warc_offset,
                            payload_sha256=evidence.payload_sha256)
    return PageJob(key=meta["trawl_key"], kind=kind, evidence=evidence,
                   mirror=meta.get("trawl_mirror", ""), proxy=meta.get("trawl_proxy", ""),
                   page_sha256=received_sha256(response, evidence), replayed="replayed" in response.flags,
                   card=meta.get("trawl_card"), page=page)


def cards_job(output: list[Any], key: str) -> list[Any]:
    """A grid page's output with its card items gathered into one job (one frontier key, so
    the page is done only when every card of it is committed, whichever worker takes it)."""
    cards: list[RawItem] = [item for item in output if isinstance(item, RawListing)]
    if not cards:
        return output
    for card in cards:
        card.fetch = dataclasses.replace(card.fetch, key="")
    rest = [item for item in output if not isinstance(item, RawListing)]
    return [*rest, PageJob(key=key, kind="cards", items=cards)]
